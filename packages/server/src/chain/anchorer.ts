import { ledgerAnchorAbi } from "@patron/contracts";
import {
  encodeFunctionData,
  type Hex,
  keccak256,
  TransactionReceiptNotFoundError,
  type TransactionSerializable,
  toHex,
} from "viem";
import type { Queryable } from "../db/database.js";
import type { Head } from "../ledger/sequencer.js";
import {
  type AnchorRow,
  anchoredWithin,
  highestAnchoredSize,
  inflightAnchor,
  insertAnchor,
  updateAnchor,
} from "./anchors.js";
import type { ChainLink } from "./client.js";
import { anchoredLatestSize } from "./verify.js";

const FOLLOW_POLL_MS = 500;

export interface AnchorerOptions {
  intervalMs: number;
  /** Blocks (including the transaction's own) before an anchor counts as confirmed. */
  confirmations: number;
  log?: (s: string) => void;
}

/**
 * Anchors the latest checkpoint on the chain every interval, one transaction in flight at a time.
 * Each anchor goes through an outbox row: the transaction is signed, stored (hash, nonce, raw
 * bytes), and only then sent, so a crash at any point resends the very same transaction. Sent
 * transactions are followed until they have enough confirmations; one that vanishes (dropped,
 * or mined in a block that a reorganisation removed) is sent again, and a mined anchor whose
 * block changes is re-counted from its new block.
 */
export class Anchorer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private stopped = false;
  private skippedAt: bigint | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly chain: ChainLink,
    private readonly head: () => Head,
    private readonly opts: AnchorerOptions,
  ) {}

  start(): void {
    const loop = (delay: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(async () => {
        const busy = await this.tick({ paced: true }).catch((err) => {
          this.opts.log?.(`anchoring: ${(err as Error).message}`);
          return false;
        });
        // While a transaction is in flight its receipt is polled sooner than the interval, so
        // an anchor is confirmed about a block time after it is mined, not an interval later.
        loop(busy ? Math.min(this.opts.intervalMs, FOLLOW_POLL_MS) : this.opts.intervalMs);
      }, delay);
    };
    loop(this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /**
   * One round: follow the transaction in flight, or anchor the latest checkpoint if it is new.
   * `paced` (the timer's rounds) sends at most one anchor per interval, however busy the log;
   * an unpaced call (tests, an operator's nudge) may send at once. Resolves to whether an
   * anchor transaction is in flight afterwards.
   */
  tick(opts: { paced?: boolean } = {}): Promise<boolean> {
    this.running ??= this.round(opts.paced ?? false).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(paced: boolean): Promise<boolean> {
    const inflight = await inflightAnchor(this.db);
    if (inflight) {
      await this.follow(inflight);
      if (await inflightAnchor(this.db)) return true;
    }
    if (paced && (await anchoredWithin(this.db, this.opts.intervalMs))) return false;
    const head = this.head();
    if (head.size === 0n || head.size <= (await highestAnchoredSize(this.db))) return false;
    // Sizes strictly increase on the contract: a size anchored by another writer of this key
    // (a second node, a manual call) cannot be anchored again, only a larger one.
    const onChain = await anchoredLatestSize(this.chain.publicClient, this.chain.contract);
    if (head.size <= onChain) {
      if (this.skippedAt !== onChain) {
        this.skippedAt = onChain;
        this.opts.log?.(
          `anchoring: the contract is already at size ${onChain}, past this log's ${head.size}; waiting for the log to grow`,
        );
      }
      return false;
    }
    await this.send(head);
    return true;
  }

  private async send(head: Head): Promise<void> {
    const { walletClient, publicClient, account, contract, chainId } = this.chain;
    const nonce = await publicClient.getTransactionCount({
      address: account.address,
      blockTag: "pending",
    });
    const request = await walletClient.prepareTransactionRequest({
      account,
      chain: walletClient.chain,
      to: contract,
      data: encodeFunctionData({
        abi: ledgerAnchorAbi,
        functionName: "anchor",
        args: [head.size, toHex(head.root)],
      }),
      nonce,
    });
    const rawTx = await account.signTransaction(request as TransactionSerializable);
    const txHash = keccak256(rawTx);
    const id = await insertAnchor(this.db, {
      size: head.size,
      root: head.root,
      chainId,
      contract,
      nonce,
      txHash,
      rawTx,
    });
    await this.broadcast({ id, rawTx, attempts: 0 });
    this.opts.log?.(`anchoring size ${head.size} in ${txHash}`);
  }

  private async broadcast(a: { id: bigint; rawTx: string; attempts: number }): Promise<void> {
    try {
      await this.chain.publicClient.sendRawTransaction({ serializedTransaction: a.rawTx as Hex });
    } catch (err) {
      // Already in the pool or mined: following the hash will tell.
      const msg = (err as Error).message;
      if (!/already known|known transaction|nonce too low|already imported/i.test(msg)) {
        await updateAnchor(this.db, a.id, { attempts: a.attempts + 1, error: msg.slice(0, 500) });
        throw err;
      }
    }
    await updateAnchor(this.db, a.id, {
      status: "sent",
      sentAt: new Date(),
      attempts: a.attempts + 1,
    });
  }

  private async follow(a: AnchorRow): Promise<void> {
    const { publicClient } = this.chain;
    if (a.status === "signed" && a.rawTx) {
      // Signed and stored, but the node stopped before (or while) sending it.
      await this.broadcast({ id: a.id, rawTx: a.rawTx, attempts: a.attempts });
      return;
    }
    const hash = a.txHash as Hex;
    const receipt = await publicClient.getTransactionReceipt({ hash }).catch((err) => {
      if (err instanceof TransactionReceiptNotFoundError) return undefined;
      throw err;
    });
    if (!receipt) {
      // Not mined. Still in the pool, or gone (dropped, or its block was reorganised away).
      const known = await publicClient.getTransaction({ hash }).catch(() => undefined);
      if (!known) {
        const used = await publicClient.getTransactionCount({
          address: this.chain.account.address,
        });
        if (a.nonce !== null && used > a.nonce) {
          // Our nonce went to another transaction of this key: anchor again with a fresh one.
          await updateAnchor(this.db, a.id, {
            status: "failed",
            error: `nonce ${a.nonce} was used by another transaction`,
          });
          return;
        }
        if (a.rawTx) await this.broadcast({ id: a.id, rawTx: a.rawTx, attempts: a.attempts });
      }
      if (a.blockHash)
        await updateAnchor(this.db, a.id, { blockNumber: null, blockHash: null, confirmations: 0 });
      return;
    }
    if (receipt.status === "reverted") {
      await updateAnchor(this.db, a.id, {
        status: "failed",
        error: "the anchor transaction reverted",
        blockNumber: receipt.blockNumber,
        blockHash: receipt.blockHash,
      });
      this.opts.log?.(`anchoring: transaction ${hash} for size ${a.size} reverted`);
      return;
    }
    const latest = await publicClient.getBlockNumber({ cacheTime: 0 });
    const confirmations = Number(latest - receipt.blockNumber + 1n);
    const confirmed = confirmations >= this.opts.confirmations;
    await updateAnchor(this.db, a.id, {
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      confirmations,
      error: null,
      ...(confirmed ? { status: "confirmed" as const, confirmedAt: new Date() } : {}),
    });
    if (confirmed) this.opts.log?.(`anchored size ${a.size} in block ${receipt.blockNumber}`);
  }
}

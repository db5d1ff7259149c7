import { ledgerAnchorAbi } from "@patron/contracts";
import { type Checkpoint, verifyConsistency } from "@patron/ledger";
import { type Address, createPublicClient, type Hex, http, type PublicClient, toHex } from "viem";
import { AnchorConflict, type ChainAnchor, MirrorError } from "../mirror/errors.js";

/**
 * Checks signed checkpoints against the LedgerAnchor contract, trusting only the chain: a
 * checkpoint is anchored when the contract holds its root at its size, or holds a root at a
 * larger size that a consistency proof joins to it.
 */

export const anchorReader = (rpcUrl: string) =>
  createPublicClient({ transport: http(rpcUrl, { retryCount: 2 }) }) as PublicClient;

export async function anchoredRoot(
  client: PublicClient,
  contract: Address,
  size: bigint,
): Promise<Hex | undefined> {
  const root = (await client.readContract({
    address: contract,
    abi: ledgerAnchorAbi,
    functionName: "rootAt",
    args: [size],
  })) as Hex;
  return /^0x0+$/.test(root) ? undefined : root;
}

export async function anchoredLatestSize(client: PublicClient, contract: Address): Promise<bigint> {
  return BigInt(
    (await client.readContract({
      address: contract,
      abi: ledgerAnchorAbi,
      functionName: "latestSize",
    })) as bigint,
  );
}

export class ChainVerificationError extends Error {}

export interface ChainVerification {
  anchoredSize: bigint;
  anchoredRoot: Hex;
  /** "exact": the chain holds this checkpoint's root; "consistency": a later one, proven to extend it. */
  how: "exact" | "consistency";
}

/**
 * `consistency` fetches a proof from `size` to a larger anchored size (from a node; it need
 * not be trusted, the proof is checked against the chain's root).
 */
export async function verifyCheckpointOnChain(
  client: PublicClient,
  contract: Address,
  cp: Checkpoint,
  consistency?: (from: bigint, to: bigint) => Promise<Uint8Array[]>,
): Promise<ChainVerification> {
  const exact = await anchoredRoot(client, contract, cp.size);
  if (exact) {
    if (exact.toLowerCase() !== toHex(cp.root).toLowerCase()) {
      throw new ChainVerificationError(
        `the chain anchors a different root at size ${cp.size}: ${exact} (the log forked or the checkpoint is forged)`,
      );
    }
    return { anchoredSize: cp.size, anchoredRoot: exact, how: "exact" };
  }
  const latest = await anchoredLatestSize(client, contract);
  if (latest < cp.size) {
    throw new ChainVerificationError(
      `not anchored yet: the chain's latest anchor is at size ${latest}, the checkpoint is at ${cp.size}`,
    );
  }
  const root = await anchoredRoot(client, contract, latest);
  if (!root)
    throw new ChainVerificationError(
      `the contract reports size ${latest} but holds no root for it`,
    );
  if (!consistency) {
    throw new ChainVerificationError(
      `size ${cp.size} is not anchored itself; a consistency proof to the anchored size ${latest} is needed (pass --node)`,
    );
  }
  const proof = await consistency(cp.size, latest);
  const anchored = new Uint8Array(Buffer.from(root.slice(2), "hex"));
  if (!verifyConsistency(cp.size, latest, proof, cp.root, anchored)) {
    throw new ChainVerificationError(
      `the checkpoint at size ${cp.size} is not consistent with the root anchored at size ${latest}`,
    );
  }
  return { anchoredSize: latest, anchoredRoot: root, how: "consistency" };
}

/** Every Anchored event of the contract, oldest first. */
export async function anchoredEvents(client: PublicClient, contract: Address) {
  const logs = await client.getContractEvents({
    address: contract,
    abi: ledgerAnchorAbi,
    eventName: "Anchored",
    fromBlock: 0n,
    toBlock: "latest",
  });
  return logs.map((l) => {
    const args = l.args as { size: bigint; root: Hex };
    return {
      size: BigInt(args.size),
      root: args.root,
      txHash: l.transactionHash,
      blockNumber: l.blockNumber,
    };
  });
}

/** A consistency proof fetched from a node's public API; the caller verifies it. */
export async function fetchConsistency(
  nodeUrl: string,
  from: bigint,
  to: bigint,
): Promise<Uint8Array[]> {
  const url = `${nodeUrl.replace(/\/+$/, "")}/v1/ledger/proofs/consistency?from=${from}&to=${to}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new ChainVerificationError(`GET ${url} answered ${res.status}`);
  const body = (await res.json()) as { proof?: unknown };
  if (
    !Array.isArray(body.proof) ||
    !body.proof.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/i.test(h))
  ) {
    throw new ChainVerificationError(`GET ${url}: not a consistency proof`);
  }
  return body.proof.map((h: string) => new Uint8Array(Buffer.from(h, "hex")));
}

/**
 * The mirror's anchor check (`patron mirror --chain --contract`), trusting only the chain. For
 * each checkpoint the mirror is about to keep:
 * - the contract must be a LedgerAnchor for the checkpoint's origin;
 * - when the chain anchors the checkpoint's size, the root must be the same;
 * - when the chain's latest anchor is larger, the source must prove the checkpoint consistent
 *   with it; when it is smaller, the source must prove it a prefix of the checkpoint.
 * A contradiction throws AnchorConflict (the mirror keeps the evidence and raises an alarm); a
 * chain that cannot be read, or a contract of another log, throws MirrorError `chain`. A
 * checkpoint newer than every anchor is not an alarm: it is checked against the latest anchor.
 */
export function mirrorAnchorCheck(rpcUrl: string, contract: Address, log: (line: string) => void) {
  const client = anchorReader(rpcUrl);
  let chain: Promise<{ chainId: number; origin: string }> | undefined;
  let lastLine = "";
  // In --follow mode the check runs at every poll: say only what changed.
  const say = (line: string) => {
    if (line !== lastLine) log(line);
    lastLine = line;
  };
  const read = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      const e = err as { shortMessage?: string; message?: string };
      throw new MirrorError(
        "chain",
        `cannot read ${what} of the LedgerAnchor ${contract} from ${rpcUrl}: ${e.shortMessage ?? e.message}`,
        { cause: err },
      );
    }
  };
  const identify = async () => {
    const chainId = await read("the chain id", () => client.getChainId());
    const code = await read("the code", () => client.getCode({ address: contract }));
    if (!code || code === "0x") {
      throw new MirrorError("chain", `there is no contract at ${contract} on chain ${chainId}`);
    }
    const origin = await read("the origin", async () =>
      String(
        await client.readContract({
          address: contract,
          abi: ledgerAnchorAbi,
          functionName: "origin",
        }),
      ),
    );
    return { chainId, origin };
  };
  /** The chain's record of an anchor, with its transaction when the event can be found. */
  const anchorAt = async (chainId: number, size: bigint, root: Hex): Promise<ChainAnchor> => {
    const found: ChainAnchor = { chainId, contract, size, root };
    try {
      const [event] = await client.getContractEvents({
        address: contract,
        abi: ledgerAnchorAbi,
        eventName: "Anchored",
        args: { size },
        fromBlock: 0n,
        toBlock: "latest",
      });
      if (event) {
        found.txHash = event.transactionHash;
        found.blockNumber = event.blockNumber;
      }
    } catch {
      // The root is the evidence; the transaction only helps to find it.
    }
    return found;
  };
  const rootOf = async (size: bigint) => {
    const root = await read(`rootAt(${size})`, () => anchoredRoot(client, contract, size));
    if (!root) {
      throw new MirrorError(
        "chain",
        `the LedgerAnchor ${contract} reports size ${size} as anchored but holds no root for it`,
      );
    }
    return root;
  };

  return async (
    cp: Checkpoint,
    ctx: { consistency(from: bigint, to: bigint): Promise<Uint8Array[]> },
  ) => {
    chain ??= identify();
    let id: { chainId: number; origin: string };
    try {
      id = await chain;
    } catch (err) {
      chain = undefined; // try again at the next poll
      throw err;
    }
    if (id.origin !== cp.origin) {
      throw new MirrorError(
        "chain",
        `the LedgerAnchor ${contract} on chain ${id.chainId} anchors the log "${id.origin}", not "${cp.origin}": check --contract (GET /v1/ledger/anchors names the log's contract)`,
      );
    }
    if (cp.size === 0n) return; // the empty tree: nothing the chain could contradict
    const cpRoot = toHex(cp.root);
    const latest = await read("latestSize", () => anchoredLatestSize(client, contract));
    if (latest === 0n) {
      say(`anchors: nothing anchored on chain ${id.chainId} yet`);
      return;
    }
    if (latest >= cp.size) {
      const exact = await read(`rootAt(${cp.size})`, () => anchoredRoot(client, contract, cp.size));
      if (exact) {
        if (exact.toLowerCase() !== cpRoot.toLowerCase()) {
          throw new AnchorConflict(
            `the chain anchors root ${exact} at size ${cp.size}, but the log's signed checkpoint of that size has root ${cpRoot}.`,
            await anchorAt(id.chainId, cp.size, exact),
          );
        }
        say(`anchors: checkpoint ${cp.size} is anchored on chain ${id.chainId} (same root)`);
        return;
      }
    }
    // Compare with the latest anchor through a consistency proof from the source, which is
    // checked against the chain's root and the signed checkpoint, so it need not be trusted.
    const root = await rootOf(latest);
    const anchored = new Uint8Array(Buffer.from(root.slice(2), "hex"));
    const [from, to] = latest < cp.size ? [latest, cp.size] : [cp.size, latest];
    const proof = await ctx.consistency(from, to);
    const ok =
      latest < cp.size
        ? verifyConsistency(latest, cp.size, proof, anchored, cp.root)
        : verifyConsistency(cp.size, latest, proof, cp.root, anchored);
    if (!ok) {
      throw new AnchorConflict(
        latest < cp.size
          ? `the chain anchors root ${root} at size ${latest}, and the source cannot prove that its signed checkpoint of size ${cp.size} (root ${cpRoot}) extends it: the consistency proof does not verify.`
          : `the chain anchors root ${root} at size ${latest}, and the source cannot prove that it extends the log's signed checkpoint of size ${cp.size} (root ${cpRoot}): the consistency proof does not verify.`,
        await anchorAt(id.chainId, latest, root),
        { from, to, hashes: proof },
      );
    }
    say(
      latest < cp.size
        ? `anchors: checkpoint ${cp.size} extends the chain's latest anchor (size ${latest}) on chain ${id.chainId}`
        : `anchors: checkpoint ${cp.size} is consistent with the chain's anchor at size ${latest} on chain ${id.chainId}`,
    );
  };
}

/**
 * Baseline for Patron's benchmark: what a user might pick instead of Patron's ledger — points as
 * an ERC-20 token on a local anvil node, one transaction per operation.
 *
 * Everything here is real: a fresh anvil (from the `@foundry-rs/anvil` npm package, started with
 * `startAnvil` from @patron/contracts) runs with its default settings (automine: every
 * transaction is mined as soon as it arrives, the best case for latency), the token
 * (`contracts/PointsToken.sol`) is compiled at run time with solc-js and deployed with viem, and
 * every operation is a locally signed `transfer` transaction that counts as done only once its
 * receipt shows it mined successfully. Every sender keeps one transaction in flight (no nonce
 * waits between operations), and the balances are checked on chain at the end.
 */
import { pbkdf2Sync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { startAnvil } from "@patron/contracts";
import solc from "solc";
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  slice,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
  toHex,
  type WalletClient,
} from "viem";
import { type HDAccount, HDKey, hdKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { now, percentile, sleep, summarize, type Throughput } from "./lib.js";

export interface Erc20Result extends Throughput {
  /** Gas used by one transfer (median over the run). */
  gasPerTransfer: number;
  /** Blocks mined during the run (automine: one per transaction). */
  blocks: number;
  client: string;
}

/** The mnemonic of anvil's default, pre-funded dev accounts (public; local use only). */
const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
/** anvil funds accounts 0..9 of that mnemonic by default; account 0 deploys and mints. */
const FUNDED_ACCOUNTS = 10;
/** Recipients ("customers") are cycled through a pool of this many distinct addresses. */
const CUSTOMERS = 1_000;
/** Points awarded by each operation. */
const POINTS_PER_OP = 10n;
/** How long one transaction may take to be mined before the run is abandoned. */
const RECEIPT_TIMEOUT_MS = 30_000;
/** Receipt polling interval: short, so that polling adds little to the measured latency. */
const POLL_MS = 10;

interface Compiled {
  abi: Abi;
  bytecode: Hex;
  compilerVersion: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: Abi; evm: { bytecode: { object: string } } } | undefined> | undefined
  >;
}

/** Compiles `contracts/PointsToken.sol` with solc-js (optimizer on). */
export async function compilePointsToken(): Promise<Compiled> {
  const source = await readFile(new URL("./contracts/PointsToken.sol", import.meta.url), "utf8");
  const input = {
    language: "Solidity",
    sources: { "PointsToken.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Pinned so that the bytecode runs on any current anvil hardfork.
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  const contract = output.contracts?.["PointsToken.sol"]?.PointsToken;
  if (contract === undefined || contract.evm.bytecode.object === "") {
    throw new Error("solc produced no bytecode for PointsToken");
  }
  return {
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    compilerVersion: String(solc.version()),
  };
}

/** A deterministic, distinct address for customer `i`. */
function customerAddress(i: number): Address {
  return slice(keccak256(toHex(`patron-bench-customer-${i}`)), 12);
}

/** anvil's dev accounts: BIP-39 seed of the test mnemonic, BIP-44 path m/44'/60'/0'/0/i. */
function devAccounts(count: number): HDAccount[] {
  const seed = pbkdf2Sync(ANVIL_MNEMONIC.normalize("NFKD"), "mnemonic", 2048, 64, "sha512");
  const root = HDKey.fromMasterSeed(seed);
  return Array.from({ length: count }, (_, i) => hdKeyToAccount(root, { addressIndex: i }));
}

interface Sender {
  account: HDAccount;
  /** The next nonce; each sender has at most one transaction in flight. */
  nonce: number;
}

/** How an operation learns that its transaction was mined. */
export type Erc20Confirm = "sync" | "poll";

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/**
 * Signs `tx` locally as `sender` (with the sender's next nonce, and gas and fees given, so viem
 * makes no other request first), sends it, and resolves with its receipt once it is mined.
 */
async function sendAndConfirm(
  wallet: WalletClient,
  client: PublicClient,
  sender: Sender,
  tx: { to?: Address; data?: Hex; value?: bigint; gas: bigint },
  fees: Fees,
  confirm: Erc20Confirm,
): Promise<TransactionReceipt> {
  const request = {
    account: sender.account,
    chain: foundry,
    to: tx.to ?? null,
    data: tx.data,
    value: tx.value,
    gas: tx.gas,
    nonce: sender.nonce++,
    type: "eip1559",
    ...fees,
  } as const;
  let receipt: TransactionReceipt;
  if (confirm === "sync") {
    // eth_sendRawTransactionSync (EIP-7966): anvil answers with the receipt once mined. No
    // `timeout` is passed: viem would send it as a second parameter, which anvil 1.7 rejects
    // ("invalid type: integer"); the HTTP transport's timeout bounds the wait instead.
    receipt = await wallet.sendTransactionSync(request);
  } else {
    // eth_sendRawTransaction, then eth_getTransactionReceipt every POLL_MS until it is there.
    // (Not viem's waitForTransactionReceipt: its block watcher is shared between concurrent
    // waiters, and a waiter that joins just after the block holding its transaction was seen
    // waits for the next block, which at the end of a run never comes.)
    const hash = await wallet.sendTransaction(request);
    const deadline = now() + RECEIPT_TIMEOUT_MS;
    for (;;) {
      const found = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
        if (error instanceof TransactionReceiptNotFoundError) return undefined;
        throw error;
      });
      if (found !== undefined) {
        receipt = found;
        break;
      }
      if (now() > deadline) throw new Error(`transaction ${hash} was not mined`);
      await sleep(POLL_MS);
    }
  }
  if (receipt.status !== "success") {
    throw new Error(`transaction ${receipt.transactionHash} reverted`);
  }
  return receipt;
}

export async function benchErc20(opts: {
  ops: number;
  concurrency: number;
  log?: (s: string) => void;
  /**
   * How an operation learns that its transaction was mined: "sync" (default) sends it with
   * `eth_sendRawTransactionSync` (EIP-7966), which anvil answers with the receipt once the
   * transaction is mined; "poll" sends it with `eth_sendRawTransaction` and polls
   * `eth_getTransactionReceipt` every 10 ms, as a client of a node without that method would.
   */
  confirm?: Erc20Confirm;
}): Promise<Erc20Result> {
  const log = opts.log ?? (() => {});
  const confirm = opts.confirm ?? "sync";
  const ops = Math.floor(opts.ops);
  if (!(ops > 0)) throw new Error("ops must be a positive integer");
  const concurrency = Math.max(1, Math.min(Math.floor(opts.concurrency) || 1, ops));

  const compiled = await compilePointsToken();
  log(`erc20: compiled PointsToken with solc ${compiled.compilerVersion}`);

  const anvil = await startAnvil();
  try {
    const transport = http(anvil.rpcUrl, { retryCount: 0, timeout: RECEIPT_TIMEOUT_MS });
    const client = createPublicClient({ chain: foundry, transport, pollingInterval: POLL_MS });
    const wallet = createWalletClient({ chain: foundry, transport });
    const chainId = await client.getChainId();
    if (chainId !== foundry.id) throw new Error(`anvil reports chain id ${chainId}`);
    const version = await client.request({ method: "web3_clientVersion" });
    log(`erc20: ${version} answering at ${anvil.rpcUrl}`);

    // One sender per concurrent operation, each with one transaction in flight, so that
    // operations never wait on one another's nonces. Account 0 is also the token's owner.
    const accounts = devAccounts(Math.max(concurrency, 1));
    const senders: Sender[] = [];
    for (const account of accounts) {
      const nonce = await client.getTransactionCount({
        address: account.address,
        blockTag: "pending",
      });
      senders.push({ account, nonce });
    }
    const owner = senders[0];
    if (owner === undefined) throw new Error("no sender accounts");

    // Fees: blocks stay far below the gas target, so the base fee only falls during the run.
    const block = await client.getBlock({ blockTag: "latest" });
    const baseFee = block.baseFeePerGas ?? 1_000_000_000n;
    const fees: Fees = { maxPriorityFeePerGas: 1n, maxFeePerGas: baseFee * 2n + 1n };

    // anvil funds only its first ten accounts; give any further sender some ether for gas.
    for (const sender of senders.slice(FUNDED_ACCOUNTS)) {
      const value = 10n ** 18n;
      await sendAndConfirm(
        wallet,
        client,
        owner,
        { to: sender.account.address, value, gas: 21_000n },
        fees,
        confirm,
      );
    }

    const deployData = encodeDeployData({
      abi: compiled.abi,
      bytecode: compiled.bytecode,
      args: ["Patron Points", "PTS"],
    });
    const deployGas = await client.estimateGas({ account: owner.account, data: deployData });
    const deployed = await sendAndConfirm(
      wallet,
      client,
      owner,
      { data: deployData, gas: (deployGas * 12n) / 10n },
      fees,
      confirm,
    );
    const token = deployed.contractAddress;
    if (token === null || token === undefined) throw new Error("deployment returned no address");
    log(`erc20: PointsToken deployed at ${token} (gas ${deployed.gasUsed})`);

    // Mint every sender enough points to make all of the transfers by itself.
    const minted = BigInt(ops) * POINTS_PER_OP;
    for (const sender of senders) {
      const data = encodeFunctionData({
        abi: compiled.abi,
        functionName: "mint",
        args: [sender.account.address, minted],
      });
      await sendAndConfirm(
        wallet,
        client,
        owner,
        { to: token, data, gas: 150_000n },
        fees,
        confirm,
      );
    }
    log(`erc20: minted ${minted} points to each of ${senders.length} senders`);

    // Gas limit for a transfer: the costliest case (a first award to a new customer) plus margin.
    const transferGas =
      ((await client.estimateGas({
        account: owner.account,
        to: token,
        data: encodeFunctionData({
          abi: compiled.abi,
          functionName: "transfer",
          args: [customerAddress(CUSTOMERS + 1), POINTS_PER_OP],
        }),
      })) *
        13n) /
      10n;

    const startBlock = await client.getBlockNumber();
    log(
      `erc20: ${ops} transfers, ${concurrency} in flight from ${senders.length} senders, ` +
        `receipts by ${confirm === "sync" ? "eth_sendRawTransactionSync" : "polling"}`,
    );

    const latencies: number[] = new Array(ops);
    const gasUsed: number[] = new Array(ops);
    let next = 0;
    let done = 0;
    let failed = false;
    const progressEvery = Math.max(1, Math.floor(ops / 10));
    const started = now();

    const worker = async (sender: Sender) => {
      while (!failed && next < ops) {
        const i = next++;
        const t0 = now();
        const data = encodeFunctionData({
          abi: compiled.abi,
          functionName: "transfer",
          args: [customerAddress(i % CUSTOMERS), POINTS_PER_OP],
        });
        try {
          const receipt = await sendAndConfirm(
            wallet,
            client,
            sender,
            { to: token, data, gas: transferGas },
            fees,
            confirm,
          );
          latencies[i] = now() - t0;
          gasUsed[i] = Number(receipt.gasUsed);
        } catch (error) {
          failed = true;
          throw error;
        }
        done++;
        if (done % progressEvery === 0 && done < ops) {
          const elapsed = (now() - started) / 1000;
          log(`erc20: ${done}/${ops} mined, ${Math.round(done / elapsed)} ops/s so far`);
        }
      }
    };
    const outcomes = await Promise.allSettled(senders.map(worker));
    const seconds = (now() - started) / 1000;
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (rejected !== undefined) throw rejected.reason;

    // Check that the operations really happened on chain: the senders hold exactly what they
    // were minted less what they sent, and customer 0 got its share.
    const endBlock = await client.getBlockNumber();
    const balanceOf = async (account: Address) => {
      const value = await client.readContract({
        address: token,
        abi: compiled.abi,
        functionName: "balanceOf",
        args: [account],
      });
      if (typeof value !== "bigint") throw new Error("balanceOf returned no uint256");
      return value;
    };
    let held = 0n;
    for (const sender of senders) held += await balanceOf(sender.account.address);
    const expectedHeld = minted * BigInt(senders.length) - BigInt(ops) * POINTS_PER_OP;
    if (held !== expectedHeld) {
      throw new Error(`senders hold ${held} points; expected ${expectedHeld}`);
    }
    const expected = BigInt(Math.ceil(ops / CUSTOMERS)) * POINTS_PER_OP;
    const customer0 = await balanceOf(customerAddress(0));
    if (customer0 !== expected) {
      throw new Error(`customer 0 holds ${customer0} points, expected ${expected}`);
    }

    const gasSorted = [...gasUsed].sort((a, b) => a - b);
    const result: Erc20Result = {
      ...summarize(latencies, seconds),
      gasPerTransfer: percentile(gasSorted, 50),
      blocks: Number(endBlock - startBlock),
      client: String(version),
    };
    log(
      `erc20: ${ops} transfers in ${result.seconds.toFixed(2)} s = ${result.opsPerSec.toFixed(1)} ops/s, ` +
        `p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ` +
        `${result.gasPerTransfer} gas/transfer (median), ${result.blocks} blocks mined`,
    );
    return result;
  } finally {
    await anvil.stop();
  }
}

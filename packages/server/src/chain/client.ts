import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ANVIL_DEV_KEY, deployLedgerAnchor, ledgerAnchorAbi, startAnvil } from "@patron/contracts";
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainConfig } from "../config.js";
import type { Queryable } from "../db/database.js";
import { getMeta, setMeta } from "../ledger/store.js";

/** Clients for one chain, signing with the anchoring key. */
export interface ChainClients {
  account: PrivateKeyAccount;
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, PrivateKeyAccount>;
}

/** A connection to the chain the ledger is anchored on, with the anchoring contract. */
export interface ChainLink extends ChainClients {
  chainId: number;
  contract: Address;
  rpcUrl: string;
  /** Stops the embedded node, if this link started one. */
  stop(): Promise<void>;
}

export function clientsFor(rpcUrl: string, chainId: number, key: Hex): ChainClients {
  const transport = http(rpcUrl, { retryCount: 2, timeout: 15_000 });
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const account = privateKeyToAccount(key);
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: 250,
  }) as PublicClient;
  const walletClient = createWalletClient({ account, chain, transport });
  return { account, publicClient, walletClient };
}

/** Where the embedded node keeps its state, and advertises its RPC URL while it runs. */
export const embeddedChainDir = (dataDir: string) => join(dataDir, "chain");
const rpcUrlFile = (dataDir: string) => join(embeddedChainDir(dataDir), "rpc-url");

/**
 * Connects to the configured chain (starting the embedded anvil node when asked) and finds or
 * deploys the log's LedgerAnchor contract. The contract address and chain id are remembered in
 * the database; a node pointed at a different chain or contract refuses to start.
 */
export async function connectChain(
  config: ChainConfig,
  db: Queryable,
  opts: { dataDir: string; origin: string; log?: (s: string) => void },
): Promise<ChainLink> {
  const log = opts.log ?? (() => {});
  let rpcUrl = config.rpcUrl ?? "";
  let stop = async () => {};
  if (config.mode === "embedded") {
    const dir = embeddedChainDir(opts.dataDir);
    mkdirSync(dir, { recursive: true });
    // Also dumped every 10 s while running, so that even a lost machine loses at most that much
    // chain history (a killed node's anvil still saves on exit); the outbox re-sends any anchor
    // the restored chain no longer holds.
    const anvil = await startAnvil({
      stateFile: join(dir, "anvil-state.json"),
      stateInterval: 10,
    });
    rpcUrl = anvil.rpcUrl;
    writeFileSync(rpcUrlFile(opts.dataDir), `${rpcUrl}\n`);
    stop = async () => {
      rmSync(rpcUrlFile(opts.dataDir), { force: true });
      await anvil.stop();
    };
  }
  try {
    const key = (config.key ?? (config.mode === "embedded" ? ANVIL_DEV_KEY : undefined)) as
      | Hex
      | undefined;
    if (!key) throw new Error("anchoring needs PATRON_CHAIN_KEY");
    const probe = createPublicClient({ transport: http(rpcUrl) });
    const chainId = await probe.getChainId().catch((err: { shortMessage?: string }) => {
      throw new Error(
        `cannot reach the EVM chain at ${rpcUrl}${config.mode === "rpc" ? " (PATRON_CHAIN_RPC_URL)" : ""}: ${err.shortMessage ?? String(err)}`,
      );
    });
    const clients = clientsFor(rpcUrl, chainId, key);

    const storedChain = await getMeta(db, "anchor_chain_id");
    const storedContract = (await getMeta(db, "anchor_contract")) as Address | undefined;
    let contract = (config.contract as Address | undefined) ?? storedContract;
    if (storedChain && Number(storedChain) !== chainId && config.mode !== "embedded") {
      throw new Error(
        `this ledger is anchored on chain ${storedChain}, but the RPC endpoint is chain ${chainId}`,
      );
    }
    if (
      storedContract &&
      config.contract &&
      storedContract.toLowerCase() !== config.contract.toLowerCase()
    ) {
      throw new Error(
        `this ledger is anchored at ${storedContract}, not at PATRON_ANCHOR_CONTRACT ${config.contract}`,
      );
    }
    if (contract) {
      const code = await clients.publicClient.getCode({ address: contract });
      if (!code || code === "0x") {
        if (config.mode !== "embedded")
          throw new Error(`no contract at ${contract} on chain ${chainId}`);
        // The embedded chain's state was lost (deleted data): start a new anchor contract.
        log(`embedded chain has no contract at ${contract} (state lost?); deploying a new one`);
        contract = undefined;
      }
    }
    if (contract) {
      const anchorer = await clients.publicClient.readContract({
        address: contract,
        abi: ledgerAnchorAbi,
        functionName: "anchorer",
      });
      if ((anchorer as string).toLowerCase() !== clients.account.address.toLowerCase()) {
        throw new Error(
          `the anchoring key ${clients.account.address} is not the anchorer ${anchorer} of ${contract}`,
        );
      }
      const anchoredOrigin = await clients.publicClient.readContract({
        address: contract,
        abi: ledgerAnchorAbi,
        functionName: "origin",
      });
      if (anchoredOrigin !== opts.origin) {
        throw new Error(
          `${contract} anchors the log "${anchoredOrigin}", not this log "${opts.origin}"`,
        );
      }
    } else {
      const deployed = await deployLedgerAnchor(clients.walletClient, clients.publicClient, {
        anchorer: clients.account.address,
        origin: opts.origin,
      });
      contract = deployed.address;
      log(`deployed LedgerAnchor at ${contract} on chain ${chainId} (tx ${deployed.txHash})`);
    }
    await setMeta(db, "anchor_chain_id", String(chainId));
    await setMeta(db, "anchor_contract", contract);
    return { chainId, contract, rpcUrl, ...clients, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The RPC URL of a running embedded node, so `patron audit` can reach it beside a live node. */
export function runningEmbeddedRpc(dataDir: string): string | undefined {
  const f = rpcUrlFile(dataDir);
  if (!existsSync(f)) return undefined;
  return readFileSync(f, "utf8").trim() || undefined;
}

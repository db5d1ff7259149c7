import { decodeHex, verifyConsistency } from "@patron/ledger";
import type { VerifiedCheckpoint } from "../../lib/verify.js";

// Whether a customer's history is anchored on chain, read from the chain itself (ARCHITECTURE
// decision 3): the node only says where to look (GET /v1/ledger/anchors: the chain id, the
// LedgerAnchor contract and a JSON-RPC URL browsers may call); the page asks the contract, by
// JSON-RPC, which root it holds. The same rules as `patron verify --chain`
// (packages/server/src/chain/verify.ts): the checkpoint is anchored when the contract holds its
// root at its size, or holds a root at a larger size that a consistency proof (fetched from the
// node, checked here) joins to it. One more, for a history: a root at a smaller size that still
// holds every entry of the customer's, and that the checkpoint extends, anchors their history.
//
// Nothing here does I/O: the reader and the proof are injected, so the tests feed answers.

/** The contract, as read from the chain. Every call may throw (the endpoint not reachable). */
export interface AnchorReader {
  /** eth_chainId of the endpoint. */
  chainId(): Promise<number>;
  /** The log the contract anchors; undefined when there is no contract at the address. */
  origin(): Promise<string | undefined>;
  /** The largest size anchored (0: none). */
  latestSize(): Promise<number>;
  /** The root held at `size` as the chain returns it (0x…, all zeros when none). */
  rootAt(size: number): Promise<string>;
}

/** What the node says about its anchoring (GET /v1/ledger/anchors), as far as it matters here. */
export interface NodeAnchors {
  enabled: boolean;
  chainId: number | null;
  contract: string | null;
  rpcUrl: string | null;
  anchors: readonly {
    size: number;
    root: string;
    txHash: string | null;
    blockNumber: number | null;
    status: string;
  }[];
}

export type ConsistencyFetch = (
  from: number,
  to: number,
) => Promise<{ from: number; to: number; proof: string[] }>;

/** Where the page read the chain: the endpoint's host, the chain and the contract. */
export interface ChainSource {
  host: string;
  chainId: number;
  contract: string;
}

export type ChainAnchor =
  /** The node has no anchoring API. */
  | { kind: "unavailable" }
  /** The node does not anchor, and names no contract. */
  | { kind: "off" }
  /** The node publishes no JSON-RPC URL for browsers: the chain cannot be read from here. */
  | { kind: "noRpc"; chainId: number | null; contract: string }
  /** The endpoint did not answer (or answered nonsense); `detail` is the reader's words. */
  | { kind: "unreachable"; host: string; detail: string }
  /** The node did not give the consistency proof the chain's root needs. */
  | { kind: "proofError"; source: ChainSource; detail: string }
  /**
   * The contract holds no root yet that covers the newest entry: its latest anchored size is
   * `latest`, the checkpoint's `size` (normal for a few seconds after a write). `nodeFailing`
   * when the node's own list says its last attempt failed.
   */
  | { kind: "pending"; source: ChainSource; latest: number; size: number; nodeFailing: boolean }
  | {
      kind: "anchored";
      source: ChainSource;
      /**
       * exact: the contract holds this checkpoint's root at its size; later: a root at a larger
       * size that extends it; earlier: a root at a smaller size, holding all of the customer's
       * entries, that the checkpoint extends.
       */
      how: "exact" | "later" | "earlier";
      /** The size the contract holds a root at. */
      size: number;
      /** The checkpoint's size. */
      checkpoint: number;
      /** The anchoring transaction, when the node lists one for that size with that root. */
      txHash: string | null;
      blockNumber: number | null;
    }
  /** The chain contradicts the node or the log: a red alert. */
  | { kind: "mismatch"; source: ChainSource; problem: ChainMismatch };

export type ChainMismatch =
  /** The endpoint is on another chain than the node says. */
  | { what: "chain"; nodeChainId: number }
  /** There is no contract at the address the node names. */
  | { what: "noContract" }
  /** The contract anchors another log. */
  | { what: "origin"; contractOrigin: string; logOrigin: string }
  /** The contract holds another root at the checkpoint's size. */
  | { what: "root"; size: number; root: string }
  /** The root the contract holds at `size` is not one history with the checkpoint. */
  | { what: "consistency"; size: number; root: string }
  /** The contract reports a latest size but holds no root for it. */
  | { what: "noRoot"; size: number };

/** A root as the chain returns it: lowercase hex without 0x, undefined for none (all zeros). */
export function chainRoot(raw: string): string | undefined {
  const hex = raw.toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`the chain returned "${raw}", not a root`);
  return /^0+$/.test(hex) ? undefined : hex;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const reason = (err: unknown) => {
  const e = err as { shortMessage?: unknown; message?: unknown };
  return String(e?.shortMessage ?? e?.message ?? err);
};

/**
 * Whether the history whose newest entry is `newest`, proven in `head`, is anchored, by what
 * the chain itself says. Never "anchored" unless the contract, read through `reader`, holds a
 * root that is this checkpoint's or one history with it.
 */
export async function checkAnchorOnChain(input: {
  list: NodeAnchors | undefined;
  head: VerifiedCheckpoint;
  newest: number;
  /** Made from the node's rpcUrl and contract; not called when the node publishes neither. */
  reader: (rpcUrl: string, contract: string) => AnchorReader;
  consistency: ConsistencyFetch;
}): Promise<ChainAnchor> {
  const { list, head, newest } = input;
  if (!list) return { kind: "unavailable" };
  if (!list.contract) return { kind: "off" };
  if (!list.rpcUrl) return { kind: "noRpc", chainId: list.chainId, contract: list.contract };
  const host = hostOf(list.rpcUrl);
  const contract = list.contract;
  let reader: AnchorReader;
  try {
    reader = input.reader(list.rpcUrl, contract);
  } catch (err) {
    return { kind: "unreachable", host, detail: reason(err) };
  }
  let failure = "";
  const read = async <T>(f: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
    try {
      return { ok: true, value: await f() };
    } catch (err) {
      failure = reason(err);
      return { ok: false };
    }
  };
  const unreachable = (): ChainAnchor => ({ kind: "unreachable", host, detail: failure });

  const id = await read(() => reader.chainId());
  if (!id.ok) return unreachable();
  const source: ChainSource = { host, chainId: id.value, contract };
  const mismatch = (problem: ChainMismatch): ChainAnchor => ({ kind: "mismatch", source, problem });
  if (list.chainId !== null && id.value !== list.chainId) {
    return mismatch({ what: "chain", nodeChainId: list.chainId });
  }
  const origin = await read(() => reader.origin());
  if (!origin.ok) return unreachable();
  if (origin.value === undefined) return mismatch({ what: "noContract" });
  const logOrigin = head.checkpoint.origin;
  if (origin.value !== logOrigin) {
    return mismatch({ what: "origin", contractOrigin: origin.value, logOrigin });
  }
  const rootAt = (size: number) => read(async () => chainRoot(await reader.rootAt(size)));

  const anchored = (how: "exact" | "later" | "earlier", size: number, root: string) => {
    const listed = list.anchors.find((a) => a.size === size && a.root.toLowerCase() === root);
    return {
      kind: "anchored" as const,
      source,
      how,
      size,
      checkpoint: head.size,
      txHash: listed?.txHash ?? null,
      blockNumber: listed?.blockNumber ?? null,
    };
  };

  const exact = await rootAt(head.size);
  if (!exact.ok) return unreachable();
  if (exact.value !== undefined) {
    if (exact.value !== head.rootHex) {
      return mismatch({ what: "root", size: head.size, root: exact.value });
    }
    return anchored("exact", head.size, exact.value);
  }
  const latest = await read(() => reader.latestSize());
  if (!latest.ok) return unreachable();
  const size = latest.value;
  if (size <= newest) {
    // No root on chain holds the newest entry yet.
    const nodeFailing = list.anchors[0]?.status === "failed";
    return { kind: "pending", source, latest: size, size: head.size, nodeFailing };
  }
  const root = await rootAt(size);
  if (!root.ok) return unreachable();
  if (root.value === undefined) return mismatch({ what: "noRoot", size });
  // The contract holds a root at another size than the checkpoint's: one history only if a
  // consistency proof from the smaller tree to the larger verifies, with the chain's root.
  const [from, to] = size > head.size ? [head.size, size] : [size, head.size];
  let proof: { from: number; to: number; proof: string[] };
  try {
    proof = await input.consistency(from, to);
  } catch (err) {
    return { kind: "proofError", source, detail: reason(err) };
  }
  let hashes: Uint8Array[];
  let chainRootBytes: Uint8Array;
  try {
    hashes = proof.proof.map(decodeHex);
    chainRootBytes = decodeHex(root.value);
  } catch {
    return mismatch({ what: "consistency", size, root: root.value });
  }
  const joined =
    proof.from === from &&
    proof.to === to &&
    (size > head.size
      ? verifyConsistency(from, to, hashes, head.root, chainRootBytes)
      : verifyConsistency(from, to, hashes, chainRootBytes, head.root));
  if (!joined) return mismatch({ what: "consistency", size, root: root.value });
  return anchored(size > head.size ? "later" : "earlier", size, root.value);
}

/** Whether to ask the chain again soon: the anchor is to come, or the endpoint may come back. */
export function settled(state: ChainAnchor | undefined): boolean {
  if (!state) return false;
  return !(state.kind === "pending" || state.kind === "unreachable" || state.kind === "proofError");
}

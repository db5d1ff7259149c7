import {
  anchorFor,
  consistencyNeeded,
  sameHistory,
  type Tree,
  type VerifiedCheckpoint,
} from "../../lib/verify.js";
import type { Anchors } from "./schemas.js";

// Whether the checkpoint a history was proven in is anchored on chain, as far as the browser
// can tell, by the explorer's rules (lib/verify.ts): the node lists its anchors; one counts only
// once its root is tied to the checkpoint verified here (the same root at the same size, or a
// consistency proof that verifies). The browser does not query the chain itself: the block and
// transaction are shown so that anyone can look them up, and `patron verify --chain` reads the
// contract.

export type HistoryAnchor =
  /** The node has no anchoring API. */
  | { kind: "unavailable" }
  /** Anchoring is turned off on this node, and no anchor covers the history. */
  | { kind: "off" }
  /** No confirmed anchor covers the newest entry yet; `inFlight` while one is being sent. */
  | { kind: "waiting"; inFlight: boolean }
  /** The node's latest attempt to write an anchor failed: it could not reach the chain. */
  | { kind: "failed" }
  | {
      kind: "anchored";
      size: number;
      blockNumber: number | null;
      txHash: string | null;
      chainId: number | null;
      contract: string | null;
    }
  /** The node lists an anchored root that is not the history of the verified checkpoint. */
  | { kind: "mismatch"; size: number };

/** The consistency proof to ask for, if the covering anchor's tree is not the checkpoint's. */
export function anchorProofNeeded(list: Anchors, newest: number, head: Tree) {
  const anchor = anchorFor(newest, list.anchors);
  return anchor ? consistencyNeeded(head, anchor.size) : undefined;
}

/** What the anchors say about a history whose newest entry is `newest`, proven in `head`. */
export function historyAnchor(
  list: Anchors | undefined,
  newest: number,
  head: VerifiedCheckpoint,
  proof?: { from: number; to: number; proof: string[] },
): HistoryAnchor {
  if (!list) return { kind: "unavailable" };
  const anchor = anchorFor(newest, list.anchors);
  if (!anchor) {
    if (!list.enabled) return { kind: "off" };
    const inFlight = list.anchors.some(
      (a) => a.size > newest && (a.status === "pending" || a.status === "sent"),
    );
    if (!inFlight && list.anchors[0]?.status === "failed") return { kind: "failed" };
    return { kind: "waiting", inFlight };
  }
  if (!sameHistory(head, anchor.size, anchor.root, proof)) {
    return { kind: "mismatch", size: anchor.size };
  }
  return {
    kind: "anchored",
    size: anchor.size,
    blockNumber: anchor.blockNumber,
    txHash: anchor.txHash,
    chainId: list.chainId,
    contract: list.contract,
  };
}

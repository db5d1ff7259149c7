import { type Anchor, api } from "../lib/api.js";
import { type Async, useAsync } from "../lib/hooks.js";
import { anchorFor, consistencyNeeded, sameHistory, type Tree } from "../lib/verify.js";
import { Anchor as AnchorIcon, Check, Clock, Cross, Info } from "./icons.js";
import { formatCount, Hash, Pill, Spinner } from "./ui.js";

// Whether an entry is anchored on chain, as far as this browser can tell: the node lists its
// anchors (size, root, transaction); the browser accepts one only after tying its root to a tree
// it verified itself (equal roots at equal sizes, otherwise a consistency proof that verifies).
// The browser does not query the chain: the transaction is shown so anyone can look it up.

export type AnchorStatus =
  /** The node has no anchoring API. */
  | { kind: "unavailable" }
  /** Anchoring is turned off and nothing covers the entry. */
  | { kind: "off" }
  /** No confirmed anchor covers the entry yet; `inFlight` when one is being sent. */
  | { kind: "waiting"; inFlight: boolean }
  | { kind: "anchored"; anchor: Anchor; chainId: number | null; contract: string | null }
  /** The node lists an anchored root that is not the history of the verified tree. */
  | { kind: "mismatch"; anchor: Anchor; chainId: number | null; contract: string | null };

const POLL_MS = 2_500;

async function loadStatus(index: number, tree: Tree): Promise<AnchorStatus> {
  const list = await api.anchors();
  if (!list) return { kind: "unavailable" };
  const anchor = anchorFor(index, list.anchors);
  if (!anchor) {
    if (!list.enabled) return { kind: "off" };
    const inFlight = list.anchors.some(
      (a) => a.size > index && (a.status === "pending" || a.status === "sent"),
    );
    return { kind: "waiting", inFlight };
  }
  const need = consistencyNeeded(tree, anchor.size);
  const proof = need ? await api.consistency(need.from, need.to) : undefined;
  const where = { anchor, chainId: list.chainId, contract: list.contract };
  return sameHistory(tree, anchor.size, anchor.root, proof)
    ? { kind: "anchored", ...where }
    : { kind: "mismatch", ...where };
}

/** Polls until a confirmed anchor covers entry `index`, then checks it against `tree`. */
export function useAnchorStatus(
  index: number,
  tree: Tree & { rootHex: string },
): Async<AnchorStatus> {
  return useAsync(() => loadStatus(index, tree), [index, tree.size, tree.rootHex], {
    pollMs: POLL_MS,
    // Until settled; an error (the node restarting) keeps polling too.
    pollWhile: (s) => s === undefined || s.kind === "waiting",
    keepPrevious: true,
  });
}

/** The short form, next to a verdict. */
export function AnchorBadge({ status }: { status: Async<AnchorStatus> }) {
  const s = status.data;
  if (!s) return null;
  switch (s.kind) {
    case "anchored":
      return (
        <Pill
          tone="ok"
          icon={<AnchorIcon size={12} />}
          title={`Anchored on chain with the tree of ${formatCount(s.anchor.size)} entries; its root was checked against the verified checkpoint in this browser.`}
        >
          <span data-testid="anchored">Anchored on chain</span>
        </Pill>
      );
    case "mismatch":
      return (
        <Pill tone="bad" icon={<AnchorIcon size={12} />}>
          <span data-testid="anchor-mismatch">Anchor inconsistent</span>
        </Pill>
      );
    case "waiting":
      return (
        <Pill tone="neutral" icon={<Clock size={12} />}>
          <span data-testid="anchor-waiting">
            {s.inFlight ? "Anchoring in progress" : "Not anchored yet"}
          </span>
        </Pill>
      );
    default:
      return null;
  }
}

/** One line of a verdict's checks: where the entry is anchored, or why it is not (yet). */
export function AnchorCheckRow({ status }: { status: Async<AnchorStatus> }) {
  const s = status.data;
  if (!s) {
    if (status.state === "error") return null;
    return (
      <li className="check-skip">
        <Spinner />
        <span className="check-label">Anchored on chain</span>
        <span className="check-detail">looking for an anchor that covers this entry…</span>
      </li>
    );
  }
  switch (s.kind) {
    case "anchored":
      return (
        <li className="check-ok" data-testid="anchor-check">
          <Check size={14} />
          <span className="check-label">Anchored on chain</span>
          <span className="check-detail">
            <AnchorWhere s={s} /> — its root is consistent with this checkpoint
          </span>
        </li>
      );
    case "mismatch":
      return (
        <li className="check-bad" data-testid="anchor-check">
          <Cross size={14} />
          <span className="check-label">Anchored on chain</span>
          <span className="check-detail">
            the node lists the tree of {formatCount(s.anchor.size)} entries as anchored, but its
            root is not consistent with this checkpoint
          </span>
        </li>
      );
    case "waiting":
      return (
        <li className="check-skip" data-testid="anchor-check">
          <Clock size={14} />
          <span className="check-label">Anchored on chain</span>
          <span className="check-detail">
            {s.inFlight
              ? "a checkpoint that covers this entry is being anchored; this updates by itself"
              : "not yet: the node anchors its latest checkpoint periodically; this updates by itself"}
          </span>
        </li>
      );
    case "off":
      return (
        <li className="check-skip">
          <Info size={14} />
          <span className="check-label">Anchored on chain</span>
          <span className="check-detail">anchoring is turned off on this node</span>
        </li>
      );
    default:
      return null;
  }
}

function AnchorWhere({ s }: { s: Extract<AnchorStatus, { kind: "anchored" }> }) {
  const a = s.anchor;
  return (
    <span className="anchor-where">
      tree of {formatCount(a.size)} entries
      {a.blockNumber === null ? null : <>, block {formatCount(a.blockNumber)}</>}
      {s.chainId === null ? null : <>, chain {s.chainId}</>}
      {a.txHash ? (
        <>
          , transaction <Hash value={a.txHash} label="transaction hash" keep={6} />
        </>
      ) : null}
    </span>
  );
}

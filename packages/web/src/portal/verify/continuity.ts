import { decodeHex, verifyConsistency } from "@patron/ledger";
import { z } from "zod";
import type { VerifiedCheckpoint } from "../../lib/verify.js";

// The last head this browser verified, and what the next check says of it (ARCHITECTURE
// decision 7). After a history verifies, the portal keeps its checkpoint (size and root), the
// newest entry and the count. The next check proves, in the browser, that the log did not
// rewrite what was verified (a consistency proof from the old checkpoint to the new one, fetched
// from the node and checked against both roots) and that the walk from the new head still
// reaches the remembered head (no entry of the customer's was taken out of their chain).
//
// Nothing here does I/O: storage.ts keeps the record, hooks.ts fetches the proof.

/** What is remembered after a history verified. No secret: sizes, a root, indexes, a date. */
export const VerifiedHead = z.object({
  /** The log's origin line, from the checkpoint. */
  origin: z.string(),
  /** The checkpoint's size and root (hex). */
  size: z.number().int().positive(),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  /** The index of the customer's newest entry, and how many entries the chain had. */
  head: z.number().int().nonnegative(),
  entries: z.number().int().positive(),
  /** When it was verified (ISO 8601). */
  at: z.string(),
});
export type VerifiedHead = z.infer<typeof VerifiedHead>;

export function headToRemember(
  head: VerifiedCheckpoint,
  entries: readonly { index: number }[],
  now: Date,
): VerifiedHead {
  return {
    origin: head.checkpoint.origin,
    size: head.size,
    root: head.rootHex,
    head: entries[0]?.index ?? 0,
    entries: entries.length,
    at: now.toISOString(),
  };
}

export type Continuity =
  /** Nothing remembered: this is the first check in this browser. */
  | { kind: "first" }
  /** The log still holds what was verified last time, and the chain still reaches its head. */
  | { kind: "consistent"; last: VerifiedHead }
  /**
   * The node served an older checkpoint than the one verified last time. It is consistent with
   * it (a prefix of it), but it says nothing of what came since: the last check is kept.
   */
  | { kind: "behind"; last: VerifiedHead }
  /** The consistency proof could not be had from the node: the last check is kept. */
  | { kind: "unchecked"; last: VerifiedHead; detail: string }
  /** The log no longer holds the tree verified last time: its history was rewritten. */
  | { kind: "rewritten"; last: VerifiedHead }
  /** The remembered head is not on the customer's chain any more: an entry was taken out. */
  | { kind: "headLost"; last: VerifiedHead }
  /** The last check was of another log (another origin). */
  | { kind: "otherLog"; last: VerifiedHead };

/** The consistency proof to ask the node for, if the remembered tree is not this one. */
export function continuityProofNeeded(
  last: VerifiedHead | undefined,
  head: VerifiedCheckpoint,
): { from: number; to: number } | undefined {
  if (!last || last.origin !== head.checkpoint.origin || last.size === head.size) return undefined;
  return last.size < head.size
    ? { from: last.size, to: head.size }
    : { from: head.size, to: last.size };
}

/**
 * What the verified history `entries` (newest first, every one on the chain from the newest),
 * proven in `head`, says of the last verified head. `proof` is the node's answer to
 * continuityProofNeeded, or why there is none.
 */
export function checkContinuity(
  last: VerifiedHead | undefined,
  head: VerifiedCheckpoint,
  entries: readonly { index: number }[],
  proof?: { from: number; to: number; proof: string[] } | { error: string },
): Continuity {
  if (!last) return { kind: "first" };
  if (last.origin !== head.checkpoint.origin) return { kind: "otherLog", last };
  const need = continuityProofNeeded(last, head);
  if (!need) {
    if (last.root !== head.rootHex) return { kind: "rewritten", last };
  } else {
    if (!proof) return { kind: "unchecked", last, detail: "no consistency proof" };
    if ("error" in proof) return { kind: "unchecked", last, detail: proof.error };
    let ok = false;
    try {
      const hashes = proof.proof.map(decodeHex);
      const lastRoot = decodeHex(last.root);
      ok =
        proof.from === need.from &&
        proof.to === need.to &&
        (last.size < head.size
          ? verifyConsistency(need.from, need.to, hashes, lastRoot, head.root)
          : verifyConsistency(need.from, need.to, hashes, head.root, lastRoot));
    } catch {
      ok = false;
    }
    if (!ok) return { kind: "rewritten", last };
    if (last.size > head.size) return { kind: "behind", last };
  }
  // The log holds the remembered tree unchanged, so the entry at the remembered head is the one
  // verified then: the walk from the new head must reach it.
  if (!entries.some((e) => e.index === last.head)) return { kind: "headLost", last };
  return { kind: "consistent", last };
}

/** Whether the check becomes the one to remember: only one that agrees with the last. */
export const remembers = (c: Continuity) => c.kind === "first" || c.kind === "consistent";

/** Whether it is a contradiction: a red alert, the history shown as not verified. */
export const contradicts = (c: Continuity) =>
  c.kind === "rewritten" || c.kind === "headLost" || c.kind === "otherLog";

import {
  consistencyProof,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  rootFromLeafHashes,
  signCheckpoint,
} from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { openCheckpoint } from "../../lib/verify.js";
import {
  checkContinuity,
  continuityProofNeeded,
  contradicts,
  headToRemember,
  remembers,
  VerifiedHead,
} from "./continuity.js";

// The last verified head against the next check: a log of 12 leaves, checked at 6 then at 10;
// the customer's chain is entries 1, 3, 5 at first, then 1, 3, 5, 8.

const ORIGIN = "test.example/log";
const keys = generateNoteKeys(ORIGIN);
const leaves = Array.from({ length: 12 }, (_, i) => hashLeaf(new Uint8Array([i])));
const checkpointAt = (n: number, l = leaves, origin = ORIGIN) => {
  const k = origin === ORIGIN ? keys : generateNoteKeys(origin);
  return openCheckpoint(
    signCheckpoint(
      { origin, size: BigInt(n), root: rootFromLeafHashes(l.slice(0, n)), extensions: [] },
      k.signerKey,
    ),
    k.verifierKey,
  );
};
const at = (...indexes: number[]) => indexes.map((index) => ({ index }));
const first = checkpointAt(6);
const last = headToRemember(first, at(5, 3, 1), new Date("2026-06-01T12:00:00Z"));
const proof = (from: number, to: number, l = leaves) => ({
  from,
  to,
  proof: consistencyProof(l.slice(0, to), from).map(encodeHex),
});

describe("the last verified head", () => {
  it("is what a verified history leaves behind, and reads back only when well formed", () => {
    expect(last).toEqual({
      origin: ORIGIN,
      size: 6,
      root: first.rootHex,
      head: 5,
      entries: 3,
      at: "2026-06-01T12:00:00.000Z",
    });
    expect(VerifiedHead.safeParse(last).success).toBe(true);
    expect(VerifiedHead.safeParse({ ...last, root: "zz" }).success).toBe(false);
  });

  it("says a first check is the first, and one that agrees is consistent", () => {
    const now = checkpointAt(10);
    expect(checkContinuity(undefined, now, at(8, 5, 3, 1))).toEqual({ kind: "first" });
    expect(continuityProofNeeded(last, now)).toEqual({ from: 6, to: 10 });
    const grown = checkContinuity(last, now, at(8, 5, 3, 1), proof(6, 10));
    expect(grown).toEqual({ kind: "consistent", last });
    expect(remembers(grown)).toBe(true);
    // The same checkpoint again: no proof needed, the same root.
    expect(continuityProofNeeded(last, first)).toBeUndefined();
    expect(checkContinuity(last, first, at(5, 3, 1))).toEqual({ kind: "consistent", last });
  });

  it("catches a log that rewrote what was verified", () => {
    const rewritten = [...leaves.slice(0, 2), hashLeaf(new Uint8Array([42])), ...leaves.slice(3)];
    const now = checkpointAt(10, rewritten);
    const c = checkContinuity(last, now, at(8, 5, 3, 1), proof(6, 10, rewritten));
    expect(c).toEqual({ kind: "rewritten", last });
    expect(contradicts(c)).toBe(true);
    expect(remembers(c)).toBe(false);
    // At the same size, another root.
    expect(checkContinuity({ ...last, root: "ab".repeat(32) }, first, at(5, 3, 1)).kind).toBe(
      "rewritten",
    );
    // A proof for other sizes, or hashes that are not hex, prove nothing.
    const now2 = checkpointAt(10);
    expect(checkContinuity(last, now2, at(8, 5, 3, 1), proof(5, 10)).kind).toBe("rewritten");
    expect(
      checkContinuity(last, now2, at(8, 5, 3, 1), { from: 6, to: 10, proof: ["zz"] }).kind,
    ).toBe("rewritten");
  });

  it("catches a chain that no longer reaches the last verified entry", () => {
    const c = checkContinuity(last, checkpointAt(10), at(8, 3, 1), proof(6, 10));
    expect(c).toEqual({ kind: "headLost", last });
    expect(contradicts(c)).toBe(true);
  });

  it("keeps the last check when it cannot compare: an older checkpoint, no proof, another log", () => {
    const later = headToRemember(checkpointAt(10), at(8, 5, 3, 1), new Date());
    const older = checkContinuity(later, first, at(5, 3, 1), proof(6, 10));
    expect(older).toEqual({ kind: "behind", last: later });
    expect(remembers(older) || contradicts(older)).toBe(false);
    const none = checkContinuity(last, checkpointAt(10), at(8, 5, 3, 1), { error: "503" });
    expect(none).toEqual({ kind: "unchecked", last, detail: "503" });
    expect(remembers(none)).toBe(false);
    const other = checkContinuity(last, checkpointAt(10, leaves, "other.example/log"), at(8));
    expect(other).toEqual({ kind: "otherLog", last });
    expect(contradicts(other)).toBe(true);
  });
});

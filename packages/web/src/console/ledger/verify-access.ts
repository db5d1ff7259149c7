import { canonicalBytes, decodeHex, hashLeaf, verifyInclusion } from "@patron/ledger";
import type { AccessRecord } from "../api/schemas.js";

// An access record is proved in two steps: the record's leaf against its batch's Merkle root
// (here), and that root against the sealed access.recorded entry the signed tree includes
// (the entry verification the explorer runs). Nothing here does I/O.

export type AccessProof =
  | { state: "pending" }
  | { state: "verified" }
  | { state: "failed"; reason: string };

/** SHA-256(0x00 ‖ JCS(record without its batch)), as the node hashed it. */
export function accessLeaf(record: AccessRecord): Uint8Array {
  const { batch: _batch, ...committed } = record;
  return hashLeaf(canonicalBytes(committed));
}

/** Whether the record is the leaf its proof says, under the batch root it names. */
export function verifyAccessRecord(record: AccessRecord): AccessProof {
  const batch = record.batch;
  if (!batch) return { state: "pending" };
  try {
    const ok = verifyInclusion(
      batch.leafIndex,
      batch.size,
      accessLeaf(record),
      batch.proof.map(decodeHex),
      decodeHex(batch.root),
    );
    return ok
      ? { state: "verified" }
      : { state: "failed", reason: "the proof does not lead from this record to the batch root" };
  } catch (err) {
    return { state: "failed", reason: err instanceof Error ? err.message : String(err) };
  }
}

/** The root an access.recorded entry commits, if the entry is one. */
export function committedRoot(entry: unknown): string | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { type, payload } = entry as { type?: unknown; payload?: unknown };
  if (type !== "access.recorded" || typeof payload !== "object" || payload === null) {
    return undefined;
  }
  const root = (payload as { root?: unknown }).root;
  return typeof root === "string" ? root.toLowerCase() : undefined;
}

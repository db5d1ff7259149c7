import {
  canonicalBytes,
  encodeHex,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
} from "@patron/ledger";
import { describe, expect, it } from "vitest";
import type { AccessRecord } from "../api/schemas.js";
import { accessLeaf, committedRoot, verifyAccessRecord } from "./verify-access.js";

// Batches built here the way the node builds them (privacy/access-log.ts): leaves are
// SHA-256(0x00 ‖ JCS(record)), the root is RFC 9162's over them.

const record = (n: number): Omit<AccessRecord, "batch"> => ({
  id: `acc_${n}`,
  merchantId: "m_demo",
  customerId: `c_${n % 3}`,
  at: new Date(Date.UTC(2026, 11, 7, 1, 0, n)).toISOString(),
  role: "owner",
  purpose: "customer_service",
  basis: "contract",
  categories: ["contact", "demographics"],
  action: "read",
});

function batch(count: number): AccessRecord[] {
  const records = Array.from({ length: count }, (_, i) => record(i));
  const leaves = records.map((r) => hashLeaf(canonicalBytes(r)));
  const root = encodeHex(rootFromLeafHashes(leaves));
  return records.map((r, i) => ({
    ...r,
    batch: {
      entryIndex: 42,
      leafIndex: i,
      size: count,
      root,
      proof: inclusionProof(leaves, i).map(encodeHex),
    },
  }));
}

describe("access record proofs", () => {
  it("verify every record of batches of several sizes", () => {
    for (const size of [1, 2, 3, 7, 16]) {
      for (const r of batch(size)) expect(verifyAccessRecord(r)).toEqual({ state: "verified" });
    }
  });

  it("hash the record without its batch", () => {
    const [r] = batch(1);
    const { batch: _batch, ...committed } = r as AccessRecord;
    expect(accessLeaf(r as AccessRecord)).toEqual(hashLeaf(canonicalBytes(committed)));
  });

  it("are pending until the batch is committed", () => {
    expect(verifyAccessRecord({ ...record(1), batch: null })).toEqual({ state: "pending" });
  });

  it("fail for a changed record, another leaf's position, a changed root or a bad hash", () => {
    const records = batch(5);
    const r = records[3] as AccessRecord;
    const b = r.batch as NonNullable<AccessRecord["batch"]>;
    const failed = (x: AccessRecord) => verifyAccessRecord(x).state === "failed";
    expect(failed({ ...r, purpose: "marketing" })).toBe(true);
    expect(failed({ ...r, role: "staff" })).toBe(true);
    expect(failed({ ...r, batch: { ...b, leafIndex: 2 } })).toBe(true);
    expect(failed({ ...r, batch: { ...b, root: "00".repeat(32) } })).toBe(true);
    expect(failed({ ...r, batch: { ...b, proof: ["zz"] } })).toBe(true);
    expect(failed({ ...r, batch: { ...b, size: 4 } })).toBe(true);
  });

  it("read the root an access.recorded entry commits, and nothing from other entries", () => {
    expect(committedRoot({ type: "access.recorded", payload: { root: "AB" } })).toBe("ab");
    expect(committedRoot({ type: "customer.created", payload: { root: "ab" } })).toBeUndefined();
    expect(committedRoot({ type: "access.recorded", payload: { root: 1 } })).toBeUndefined();
    expect(committedRoot(undefined)).toBeUndefined();
  });
});

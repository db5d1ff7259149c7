import { randomBytes } from "node:crypto";
import { commitment, hashChildren, hashLeaf } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { hashChildrenNative, hashLeafNative, saltedDigestNative } from "../src/ledger/hash.js";

describe("the server's native RFC 9162 hashes", () => {
  it("equal the library's for leaves and interior nodes of every size", () => {
    for (let n = 0; n < 600; n += 7) {
      const data = new Uint8Array(randomBytes(n));
      expect(Buffer.from(hashLeafNative(data))).toEqual(Buffer.from(hashLeaf(data)));
    }
    for (let i = 0; i < 50; i++) {
      const l = new Uint8Array(randomBytes(32));
      const r = new Uint8Array(randomBytes(32));
      const both = new Uint8Array(64);
      both.set(l);
      both.set(r, 32);
      expect(Buffer.from(hashChildrenNative(both))).toEqual(Buffer.from(hashChildren(l, r)));
    }
  });

  it("give the library's vault commitments", () => {
    for (let n = 0; n < 40; n++) {
      const salt = new Uint8Array(randomBytes(16 + (n % 5)));
      const v = {
        customer: `c_${n}`,
        field: n % 2 ? "name" : `interaction/i_${n}`,
        version: n * 7919,
        value: { summary: "Bought running shoes ✓".repeat(n % 4), n },
      };
      expect(Buffer.from(commitment(salt, v, saltedDigestNative))).toEqual(
        Buffer.from(commitment(salt, v)),
      );
    }
  });
});

import { ed25519 } from "@noble/curves/ed25519.js";
import { ed25519Verify } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { nativeEd25519Verify } from "./verify.js";

/** The group order L of Ed25519, little-endian, as a signature's S must stay below. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const fromLe = (b: Uint8Array) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);

describe("nativeEd25519Verify", () => {
  it("answers as the library's strict check does, valid and forged alike", () => {
    for (let i = 0; i < 200; i++) {
      const secret = ed25519.utils.randomSecretKey();
      const pub = ed25519.getPublicKey(secret);
      const msg = new TextEncoder().encode(`command ${i}`);
      const sig = ed25519.sign(msg, secret);
      const variants: [Uint8Array, Uint8Array, Uint8Array][] = [
        [sig, msg, pub],
        [sig.map((b, j) => (j === i % 64 ? b ^ 1 : b)), msg, pub],
        [sig, msg.map((b, j) => (j === 0 ? b ^ 1 : b)), pub],
        // S + L: the same point equation, refused as non-canonical by both.
        [new Uint8Array([...sig.slice(0, 32), ...le(fromLe(sig.slice(32)) + L)]), msg, pub],
        [sig.slice(0, 63), msg, pub],
      ];
      for (const [s, m, p] of variants) {
        expect(nativeEd25519Verify(s, m, p)).toBe(ed25519Verify(s, m, p));
      }
      expect(nativeEd25519Verify(sig, msg, pub)).toBe(true);
    }
  });

  it("never throws on a key that is not a point", () => {
    const junk = new Uint8Array(32).fill(0xff);
    expect(nativeEd25519Verify(new Uint8Array(64), new Uint8Array(1), junk)).toBe(
      ed25519Verify(new Uint8Array(64), new Uint8Array(1), junk),
    );
  });
});

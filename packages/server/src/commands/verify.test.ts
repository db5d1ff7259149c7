import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { ed25519Verify } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { nativeEd25519Verify, nativeEs256Verify } from "./verify.js";

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

describe("nativeEs256Verify", () => {
  const N = p256.Point.CURVE().n;
  const nobleEs256 = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => {
    try {
      return p256.verify(sig, msg, pub, { prehash: true, format: "der", lowS: false });
    } catch {
      return false;
    }
  };
  it("answers as the library's check does, both halves of S accepted", () => {
    for (let i = 0; i < 100; i++) {
      const secret = p256.utils.randomSecretKey();
      const pub = p256.getPublicKey(secret, true);
      const msg = new TextEncoder().encode(`assertion ${i}`);
      const sig = p256.Signature.fromBytes(p256.sign(msg, secret, { prehash: true }), "compact");
      const low = sig.toBytes("der");
      // The same signature with S in the upper half, as some authenticators emit it.
      const high = new p256.Signature(sig.r, N - sig.s).toBytes("der");
      const variants: [Uint8Array, Uint8Array][] = [
        [low, msg],
        [high, msg],
        [low, msg.map((b, j) => (j === 0 ? b ^ 1 : b))],
        [low.map((b, j) => (j === low.length - 1 ? b ^ 1 : b)), msg],
        [low.slice(0, 10), msg],
      ];
      for (const [s, m] of variants)
        expect(nativeEs256Verify(s, m, pub)).toBe(nobleEs256(s, m, pub));
      expect(nativeEs256Verify(high, msg, pub)).toBe(true);
    }
  });
});

import { generateKeyPairSync } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { ed25519DidKey } from "./canonical.js";
import { type DidKey, decodeDidKey, encodeDidKey } from "./did-key.js";
import { encodeBase58 } from "./encoding.js";
import { DidKeyError } from "./errors.js";

const ED = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"; // seed of zeros
const P256 = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv";

const did = (...bytes: number[][]) => `did:key:z${encodeBase58(new Uint8Array(bytes.flat()))}`;
const fill = (n: number, v = 7) => new Array<number>(n).fill(v);

function didKeyError(fn: () => unknown): DidKeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DidKeyError);
    return err as DidKeyError;
  }
  throw new Error("expected a DidKeyError");
}

describe("encodeDidKey / decodeDidKey", () => {
  it("round-trip fresh keys of every type", () => {
    const keys: DidKey[] = [
      { type: "Ed25519", publicKey: ed25519.getPublicKey(ed25519.utils.randomSecretKey()) },
      { type: "P-256", publicKey: p256.getPublicKey(p256.utils.randomSecretKey()) },
    ];
    for (const curve of ["P-384", "P-521"] as const) {
      const name = curve === "P-384" ? "secp384r1" : "secp521r1";
      const { publicKey } = generateKeyPairSync("ec", { namedCurve: name });
      const raw = publicKey.export({ format: "der", type: "spki" });
      // An uncompressed point ends the SPKI; decodeDidKey gives it back compressed.
      const len = curve === "P-384" ? 97 : 133;
      keys.push({ type: curve, publicKey: new Uint8Array(raw.subarray(raw.length - len)) });
    }
    // The multicodec varints make these the well-known DID prefixes.
    const prefixes = { Ed25519: "z6Mk", "P-256": "zDna", "P-384": "z82L", "P-521": "z2J9" };
    for (const key of keys) {
      const s = encodeDidKey(key);
      expect(s.startsWith(`did:key:${prefixes[key.type]}`)).toBe(true);
      const back = decodeDidKey(s);
      expect(back.type).toBe(key.type);
      expect(encodeDidKey(back)).toBe(s);
      if (key.publicKey.length < 65) expect(back.publicKey).toEqual(key.publicKey);
    }
  });

  it("compress an uncompressed P-256 key", () => {
    const sk = p256.utils.randomSecretKey();
    const compressed = p256.getPublicKey(sk, true);
    const uncompressed = p256.getPublicKey(sk, false);
    expect(uncompressed).toHaveLength(65);
    const s = encodeDidKey({ type: "P-256", publicKey: uncompressed });
    expect(s).toBe(encodeDidKey({ type: "P-256", publicKey: compressed }));
    expect(decodeDidKey(s).publicKey).toEqual(compressed);
  });

  it("ed25519DidKey is encodeDidKey for Ed25519", () => {
    const pk = ed25519.getPublicKey(new Uint8Array(32));
    expect(ed25519DidKey(pk)).toBe(ED);
    expect(decodeDidKey(ED)).toEqual({ type: "Ed25519", publicKey: pk });
  });

  it("decodeDidKey refuses malformed DIDs", () => {
    const ed = [0xed, 0x01];
    const p = [0x80, 0x24];
    const offCurve = [0x02, ...fill(31, 0), 1]; // x = 1: x³ − 3x + b has no square root mod p
    const cases: [string, string][] = [
      ["did:web:example.com", "not did:key"],
      ["DID:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "upper-case scheme"],
      [ED.replace("did:key:z", "did:key:"), "no multibase prefix"],
      [ED.replace("did:key:z", "did:key:m"), "base64 multibase"],
      ["did:key:z", "empty"],
      ["did:key:z6Mk0OIl", "not base58btc"],
      [`${ED} `, "trailing space"],
      [` ${ED}`, "leading space"],
      [`${ED}#${ED.slice(8)}`, "fragment"],
      [`${ED}?service=x`, "query"],
      [`${ED}/path`, "path"],
      [`${ED}x`, "trailing garbage"],
      ["did:key:zTjsVPtY", "too short for any key"],
      [did(ed, fill(31)), "Ed25519 key of 31 bytes"],
      [did(ed, fill(33)), "Ed25519 key of 33 bytes"],
      [did(ed, fill(32, 0xff)), "Ed25519 y not reduced"],
      [did(p, fill(32, 2)), "P-256 key of 32 bytes"],
      [did(p, offCurve), "P-256 point not on the curve"],
      [did(p, [0x02], fill(32, 0xff)), "P-256 x not below p"],
      [did(p, [0x05], fill(32)), "P-256 bad SEC1 tag"],
      [did(p, [...p256.getPublicKey(new Uint8Array(32).fill(1), false)]), "uncompressed point"],
      [did([0xed, 0x81, 0x00], fill(32)), "non-minimal varint"],
      [did([0x80]), "truncated varint"],
      [did([0x99, 0x01], fill(32)), "unknown multicodec"],
      [did([0x00], fill(32)), "identity multicodec (leading 1)"],
      [`did:key:z${"2".repeat(200)}`, "far too long"],
    ];
    for (const [s, why] of cases) {
      expect(didKeyError(() => decodeDidKey(s)).code, why).toBe("malformed");
    }
    expect(didKeyError(() => decodeDidKey(42 as never)).code).toBe("malformed");
  });

  it("decodeDidKey says unsupported for key types it does not know", () => {
    const secp256k1 = did([0xe7, 0x01], [0x02], fill(32));
    const x25519 = "did:key:z6LSfHfAMAopsuBxaBzvp51GXrPf38Az13j2fmwqadbwwrzJ";
    for (const s of [secp256k1, x25519]) {
      expect(didKeyError(() => decodeDidKey(s)).code, s).toBe("unsupported");
    }
    expect(didKeyError(() => decodeDidKey(secp256k1)).message).toMatch(/secp256k1/);
  });

  it("encodeDidKey refuses bad keys", () => {
    const bad: [DidKey, string][] = [
      [{ type: "Ed25519", publicKey: new Uint8Array(31) }, "malformed"],
      [{ type: "Ed25519", publicKey: new Uint8Array(32).fill(0xff) }, "malformed"],
      [{ type: "P-256", publicKey: new Uint8Array([0x02, ...fill(31, 0), 1]) }, "malformed"],
      [{ type: "P-256", publicKey: new Uint8Array(64) }, "malformed"],
      [{ type: "P-384", publicKey: new Uint8Array(33) }, "malformed"],
      [{ type: "Ed25519", publicKey: [1, 2] as never }, "malformed"],
      [{ type: "secp256k1" as never, publicKey: new Uint8Array(33) }, "unsupported"],
    ];
    for (const [key, code] of bad) expect(didKeyError(() => encodeDidKey(key)).code).toBe(code);
    expect(() => ed25519DidKey(new Uint8Array(31))).toThrow(DidKeyError);
  });

  it("decoded keys are copies", () => {
    const a = decodeDidKey(P256);
    const first = a.publicKey.slice();
    a.publicKey.fill(0);
    expect(decodeDidKey(P256).publicKey).toEqual(first);
    const pk = ed25519.getPublicKey(new Uint8Array(32));
    const b = decodeDidKey(encodeDidKey({ type: "Ed25519", publicKey: pk }));
    b.publicKey.fill(0);
    expect(pk).toEqual(ed25519.getPublicKey(new Uint8Array(32)));
  });
});

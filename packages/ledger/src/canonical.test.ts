import { ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalBytes,
  canonicalJson,
  decodeEntry,
  type Entry,
  ed25519DidKey,
  encodeEntry,
  entrySigningBytes,
  publicKeyFromEntryKey,
  signEntry,
  verifyEntrySignature,
} from "./canonical.js";
import { EntryFormatError } from "./errors.js";
import { generateNoteKeys, parseSignerKey, parseVerifierKey } from "./note.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("canonicalJson (RFC 8785)", () => {
  it("matches the RFC 8785 §3.2.2 example", () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50,
                  2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)", () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("formats numbers like ECMAScript (RFC 8785 Appendix B samples)", () => {
    const cases: [number, string][] = [
      [0, "0"],
      [-0, "0"],
      [5e-324, "5e-324"],
      [-5e-324, "-5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [-1.7976931348623157e308, "-1.7976931348623157e+308"],
      [9007199254740992, "9007199254740992"],
      [-9007199254740992, "-9007199254740992"],
      [295147905179352830000, "295147905179352830000"],
      [9.999999999999997e22, "9.999999999999997e+22"],
      [1e23, "1e+23"],
      [1e21, "1e+21"],
      [999999999999999700000, "999999999999999700000"],
      [0.000001, "0.000001"],
      [1e-7, "1e-7"],
      [4.5, "4.5"],
    ];
    for (const [n, s] of cases) expect(canonicalJson(n)).toBe(s);
  });

  it("escapes strings minimally", () => {
    expect(canonicalJson('a\u0000\u001f\u007f\u2028é"\\/')).toBe(
      '"a\\u0000\\u001f\u007f\u2028é\\"\\\\/"',
    );
  });

  it("accepts null-prototype objects and nested arrays", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = [1, [true, null], { z: "x", a: -1.5 }];
    o.a = "";
    expect(canonicalJson(o)).toBe('{"a":"","b":[1,[true,null],{"a":-1.5,"z":"x"}]}');
    expect(canonicalBytes({ k: "€" })).toEqual(utf8('{"k":"€"}'));
  });

  it("refuses anything that is not plain JSON with a TypeError", () => {
    class Point {
      x = 1;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: unknown[] = [
      undefined,
      { a: undefined },
      [1, undefined],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      [1, , 3],
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { x: Number.NEGATIVE_INFINITY },
      1n,
      () => 1,
      Symbol("s"),
      new Date(0),
      new Map(),
      new Point(),
      new Uint8Array(2),
      { toJSON: () => "x" },
      cyclic,
      "\ud800",
      { "\udc00": 1 },
      { [Symbol("k")]: 1 },
    ];
    for (const v of bad) expect(() => canonicalJson(v), String(v)).toThrow(TypeError);
  });

  it("allows the same object twice when it is not a cycle", () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });

  it("is a fixed point: parsing and re-canonicalizing gives the same text", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

const base: Entry = {
  v: 1,
  type: "loyalty.points.earned",
  actor: "merchant:acme",
  time: "2025-03-04T05:06:07.089Z",
  payload: { customer: "c-42", points: 120, tags: ["spring", "promo"], note: null },
};

describe("entries", () => {
  it("encode to canonical JSON and decode back", () => {
    const bytes = encodeEntry(base);
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"actor":"merchant:acme","payload":{"customer":"c-42","note":null,"points":120,"tags":["spring","promo"]},"time":"2025-03-04T05:06:07.089Z","type":"loyalty.points.earned","v":1}',
    );
    expect(decodeEntry(bytes)).toEqual(base);
  });

  it("treat signature: undefined as unsigned", () => {
    expect(encodeEntry({ ...base, signature: undefined })).toEqual(encodeEntry(base));
  });

  it("decodeEntry rejects bytes that are not the canonical encoding", () => {
    const canonical = new TextDecoder().decode(encodeEntry(base));
    const variants = [
      ` ${canonical}`,
      `${canonical}\n`,
      canonical.replace('"actor":', '"actor" :'),
      canonical
        .replace('{"actor":"merchant:acme",', "{")
        .replace('"v":1}', '"v":1,"actor":"merchant:acme"}'),
      canonical.replace('"points":120', '"points":120.0'),
      canonical.replace('"points":120', '"points":1.2e2'),
      canonical.replace('"c-42"', '"\\u0063-42"'),
      canonical.replace('"v":1}', '"v":1,"v":1}'),
      `\ufeff${canonical}`,
    ];
    for (const text of variants) {
      expect(() => decodeEntry(utf8(text)), text).toThrow(EntryFormatError);
    }
    try {
      decodeEntry(utf8(canonical.replace('"points":120', '"points":120.0')));
    } catch (err) {
      expect((err as EntryFormatError).code).toBe("not_canonical");
    }
  });

  it("decodeEntry rejects invalid UTF-8, non-JSON and wrong shapes", () => {
    const bad: (Uint8Array | string)[] = [
      new Uint8Array([0x7b, 0xff, 0x7d]),
      new Uint8Array([0xed, 0xa0, 0x80]), // UTF-8-encoded lone surrogate
      "",
      "{",
      "[]",
      "null",
      '"entry"',
      '{"actor":"a","payload":1,"time":"2025-03-04T05:06:07Z","type":"t"}',
      '{"actor":"a","payload":1,"time":"2025-03-04T05:06:07Z","type":"t","v":2}',
      '{"actor":"a","payload":1,"time":"2025-03-04T05:06:07Z","type":"t","v":"1"}',
      '{"actor":"a","time":"2025-03-04T05:06:07Z","type":"t","v":1}',
      '{"actor":"","payload":1,"time":"2025-03-04T05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"time":"2025-03-04T05:06:07Z","type":"","v":1}',
      '{"actor":"a","extra":1,"payload":1,"time":"2025-03-04T05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"time":"2025-03-04T05:06:07+01:00","type":"t","v":1}',
      '{"actor":"a","payload":1,"time":"2025-02-30T05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"time":"2025-03-04 05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"time":"2025-03-04T24:00:00Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"signature":{"alg":"RS256","key":"k","sig":""},"time":"2025-03-04T05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":1,"signature":{"alg":"Ed25519","key":"k","sig":"AAAA"},"time":"2025-03-04T05:06:07Z","type":"t","v":1}',
      '{"actor":"a","payload":"\\ud800","time":"2025-03-04T05:06:07Z","type":"t","v":1}',
    ];
    for (const b of bad) {
      expect(() => decodeEntry(typeof b === "string" ? utf8(b) : b), String(b)).toThrow(
        EntryFormatError,
      );
    }
    expect(() => decodeEntry("{}" as never)).toThrow(EntryFormatError);
  });

  it("accept leap days, fractional seconds and an empty-string payload, refuse Feb 29 of common years", () => {
    for (const time of ["2024-02-29T23:59:59Z", "2025-12-31T00:00:00.123456789Z"]) {
      const e: Entry = { ...base, time, payload: "" };
      expect(decodeEntry(encodeEntry(e))).toEqual(e);
    }
    expect(() => encodeEntry({ ...base, time: "2025-02-29T00:00:00Z" })).toThrow(EntryFormatError);
    expect(() => encodeEntry({ ...base, time: "2025-03-04T05:06:07.Z" })).toThrow(EntryFormatError);
  });

  it("encodeEntry rejects invalid entries with EntryFormatError", () => {
    const bad = [
      { ...base, v: 2 },
      { ...base, payload: undefined },
      { ...base, payload: { when: new Date(0) } },
      { ...base, payload: Number.NaN },
      { ...base, actor: 7 },
      { ...base, extra: true },
      { ...base, signature: { alg: "Ed25519", key: "k" } },
    ];
    for (const e of bad) expect(() => encodeEntry(e as never)).toThrow(EntryFormatError);
  });

  it("round-trip for arbitrary JSON payloads", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ minLength: 1 }), (payload, actor) => {
        const e = { ...base, actor, payload: JSON.parse(JSON.stringify(payload)) } as Entry;
        expect(decodeEntry(encodeEntry(e))).toEqual(e);
      }),
      { numRuns: 200 },
    );
  });
});

describe("entry signatures", () => {
  const keys = generateNoteKeys("patron.example/actors/acme");
  const signer = parseSignerKey(keys.signerKey);
  const verifier = parseVerifierKey(keys.verifierKey);

  it("sign with a note signer key and verify with its public key", () => {
    const signed = signEntry(base, keys.signerKey);
    expect(signed.signature?.alg).toBe("Ed25519");
    expect(signed.signature?.key).toBe(keys.verifierKey);
    expect(verifyEntrySignature(signed, verifier.publicKey)).toBe(true);
    // The signature covers the entry without its signature, and survives encoding.
    const decoded = decodeEntry(encodeEntry(signed));
    expect(decoded).toEqual(signed);
    expect(verifyEntrySignature(decoded, verifier.publicKey)).toBe(true);
    const sig = Uint8Array.from(atob(signed.signature?.sig ?? ""), (c) => c.charCodeAt(0));
    expect(ed25519.verify(sig, entrySigningBytes(base), verifier.publicKey)).toBe(true);
    expect(signEntry(base, signer)).toEqual(signed); // Ed25519 is deterministic
  });

  it("sign with a raw secret key, named by did:key", () => {
    const sk = ed25519.utils.randomSecretKey();
    const pk = ed25519.getPublicKey(sk);
    const signed = signEntry(base, sk);
    expect(signed.signature?.key).toBe(ed25519DidKey(pk));
    expect(signed.signature?.key.startsWith("did:key:z6Mk")).toBe(true);
    expect(publicKeyFromEntryKey(signed.signature?.key ?? "")).toEqual(pk);
    expect(verifyEntrySignature(signed, pk)).toBe(true);
    expect(signEntry(base, sk, "urn:actor:acme").signature?.key).toBe("urn:actor:acme");
    expect(verifyEntrySignature(signEntry(base, sk, "urn:actor:acme"), pk)).toBe(true);
  });

  it("did:key encoding matches the did:key spec test vector", () => {
    // From the W3C did:key test vectors (Ed25519, seed of zeros has public key 3b6a27bc...).
    const pk = ed25519.getPublicKey(new Uint8Array(32));
    expect(ed25519DidKey(pk)).toBe("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
  });

  it("reject tampering, wrong keys and missing signatures", () => {
    const signed = signEntry(base, keys.signerKey);
    const other = parseVerifierKey(generateNoteKeys("other").verifierKey);
    const sig = signed.signature as NonNullable<Entry["signature"]>;
    const flipped = sig.sig.startsWith("A") ? `B${sig.sig.slice(1)}` : `A${sig.sig.slice(1)}`;
    const tampered: Entry[] = [
      { ...signed, payload: { ...(base.payload as object), points: 121 } },
      { ...signed, type: "loyalty.points.spent" },
      { ...signed, actor: "merchant:evil" },
      { ...signed, time: "2025-03-04T05:06:07.090Z" },
      { ...signed, signature: { ...sig, sig: flipped } },
      { ...signed, signature: { ...sig, sig: "" } },
      { ...signed, signature: { ...sig, alg: "EdDSA" as "Ed25519" } },
      { ...signed, signature: { ...sig, key: generateNoteKeys("someone-else").verifierKey } },
      base,
    ];
    for (const e of tampered) expect(verifyEntrySignature(e, verifier.publicKey)).toBe(false);
    expect(verifyEntrySignature(signed, other.publicKey)).toBe(false);
    expect(verifyEntrySignature(signed, new Uint8Array(31))).toBe(false);
    expect(verifyEntrySignature(null as never, verifier.publicKey)).toBe(false);
  });

  it("entrySigningBytes ignores the signature", () => {
    const signed = signEntry(base, keys.signerKey);
    expect(entrySigningBytes(signed)).toEqual(encodeEntry(base));
  });
});

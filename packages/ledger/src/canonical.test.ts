import { ed25519 } from "@noble/curves/ed25519.js";
import canonicalizeModule from "canonicalize";
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
  isSealed,
  newSalt,
  publicKeyFromEntryKey,
  signEntry,
  verifyEntrySignature,
} from "./canonical.js";
import { type Command, signCommand, verifyCommand } from "./command.js";
import { EntryFormatError } from "./errors.js";
import { isCanonicalText, type JsonValue } from "./json.js";
import { generateNoteKeys, parseSignerKey, parseVerifierKey } from "./note.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
// The library the one-pass writer must agree with (CommonJS: the function itself, or its default).
const canonicalizeAny: unknown = canonicalizeModule;
const canonicalizeLibrary = (
  typeof canonicalizeAny === "function"
    ? canonicalizeAny
    : (canonicalizeAny as { default: unknown }).default
) as (v: JsonValue) => string;

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

  it("writes what the canonicalize library writes, for any JSON value (its one-pass writer against the library)", () => {
    // Keys that V8 orders apart (integer-like), that sort by UTF-16 code units unlike by code
    // points, and ordinary ones; values nested past the one-pass writer's depth too.
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.constantFrom('a"b', "a\\b", "\u0000", "\u001f", "\u007f", "\u2028", "😀", "\ud83d\ude00x"),
    );
    const key = fc.oneof(
      text,
      fc.constantFrom(
        "0",
        "1",
        "2",
        "10",
        "-1",
        "01",
        "4294967295",
        "€",
        "\ud83d\ude00",
        "\uff61",
        "toJSON",
      ),
    );
    const value = fc.letrec((tie) => ({
      json: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue(),
        text,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.array(tie("json")),
        fc.dictionary(key, tie("json")),
      ),
    })).json;
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { k: deep, a: i };
    const library = (v: unknown) => canonicalizeLibrary(v as JsonValue);
    expect(canonicalJson(deep)).toBe(library(deep));
    const wide: Record<string, number> = {};
    for (let i = 0; i < 40; i++) wide[`${(i * 7919) % 41}${i % 3 ? "k" : ""}`] = i;
    expect(canonicalJson(wide)).toBe(library(wide));
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(library(v));
      }),
      { numRuns: 2000 },
    );
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

describe("isCanonicalText (the check decodeEntry makes)", () => {
  // The reference: canonicalize the parsed value and compare the text.
  const reference = (text: string) => canonicalJson(JSON.parse(text)) === text;

  it("agrees with canonicalizing, on canonical, unsorted, spaced and escaped texts", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const canonical = canonicalJson(v);
        for (const text of [canonical, JSON.stringify(v), JSON.stringify(v, null, 1)]) {
          expect(isCanonicalText(JSON.parse(text), text), text).toBe(reference(text));
        }
        expect(isCanonicalText(JSON.parse(canonical), canonical)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("takes integer-like keys, which V8 holds out of JCS order, the slow way", () => {
    // JCS orders "10" before "9" (UTF-16 code units); V8 lists integer keys numerically.
    expect(isCanonicalText(JSON.parse('{"10":1,"9":2}'), '{"10":1,"9":2}')).toBe(true);
    expect(isCanonicalText(JSON.parse('{"9":2,"10":1}'), '{"9":2,"10":1}')).toBe(false);
    expect(isCanonicalText(JSON.parse('{"b":1,"a":2}'), '{"b":1,"a":2}')).toBe(false);
  });

  it("refuses what JCS cannot serialise, and non-canonical spellings of the same value", () => {
    expect(isCanonicalText(JSON.parse('["\\ud800"]'), '["\\ud800"]')).toBe("invalid");
    expect(isCanonicalText(JSON.parse('{"\\udc00":1}'), '{"\\udc00":1}')).toBe("invalid");
    expect(isCanonicalText(JSON.parse("[1e400]"), "[1e400]")).toBe("invalid");
    for (const text of ['"\\u0041"', "1.0", "1E2", "-0", '{"a":1,"a":1}', "[ 1]", '"\\/"']) {
      expect(isCanonicalText(JSON.parse(text), text), text).toBe(false);
    }
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

describe("entries with subjects, salt and a signed command", () => {
  const seed = new Uint8Array(32).fill(0x01);
  const command: Command = {
    v: 1,
    type: "customer.join",
    ledger: "patron.example/ledger",
    actor: ed25519DidKey(ed25519.getPublicKey(seed)),
    merchant: "m_acme",
    nonce: "AAECAwQFBgcICQoLDA0ODw",
    expires: "2026-01-02T03:04:05Z",
    payload: { programme: "default", terms: "v3" },
  };
  const signed = signCommand(command, seed);
  const full: Entry = {
    ...base,
    type: "customer.joined",
    actor: command.actor,
    payload: { customer: "c_42" },
    subjects: [
      { customer: "c_42", prev: null },
      { merchant: "m_acme", prev: 40 },
    ],
    salt: "AAECAwQFBgcICQoLDA0ODw",
    signed,
  };

  it("keep the bytes of entries that have none of the new fields", () => {
    // The leaf of `base`, as entries were encoded before subjects, salt and signed existed.
    const before =
      '{"actor":"merchant:acme","payload":{"customer":"c-42","note":null,"points":120,"tags":["spring","promo"]},"time":"2025-03-04T05:06:07.089Z","type":"loyalty.points.earned","v":1}';
    expect(new TextDecoder().decode(encodeEntry(base))).toBe(before);
    const undefinedFields = { ...base, subjects: undefined, salt: undefined, signed: undefined };
    expect(encodeEntry(undefinedFields)).toEqual(encodeEntry(base));
    expect(isSealed(base)).toBe(false);
  });

  it("encode the new fields canonically and decode them back", () => {
    const bytes = encodeEntry(full);
    const text = new TextDecoder().decode(bytes);
    expect(text).toBe(
      `{"actor":"${command.actor}","payload":{"customer":"c_42"},"salt":"AAECAwQFBgcICQoLDA0ODw",` +
        `"signed":{"command":${canonicalJson(command)},"signature":"${(signed as { signature: string }).signature}"},` +
        '"subjects":[{"customer":"c_42","prev":null},{"merchant":"m_acme","prev":40}],' +
        '"time":"2025-03-04T05:06:07.089Z","type":"customer.joined","v":1}',
    );
    const decoded = decodeEntry(bytes);
    expect(decoded).toEqual(full);
    expect(isSealed(decoded)).toBe(true);
    // The entry keeps the command as signed: its signature still verifies after the round trip.
    expect(verifyCommand(decoded.signed as NonNullable<Entry["signed"]>)).toEqual(command);
  });

  it("accept each new field alone", () => {
    for (const e of [
      { ...base, subjects: [{ merchant: "m_x", prev: 0 }] },
      {
        ...base,
        subjects: [
          { customer: "c_a", prev: 9007199254740991 },
          { customer: "c_b", prev: 3 },
        ],
      },
      {
        ...base,
        subjects: [
          { customer: "c_x", prev: 1 },
          { merchant: "m_x", prev: 1 },
        ],
      },
      { ...base, salt: newSalt() },
      { ...base, signed },
    ] as Entry[]) {
      expect(decodeEntry(encodeEntry(e))).toEqual(e);
    }
  });

  it("newSalt gives 16 fresh random bytes in base64url", () => {
    const salts = new Set(Array.from({ length: 50 }, () => newSalt()));
    expect(salts.size).toBe(50);
    for (const s of salts) {
      expect(s).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(s, "base64url")).toHaveLength(16);
    }
  });

  it("refuse malformed new fields, naming the field", () => {
    const webauthn = { authenticatorData: "AAAA", clientDataJSON: "e30", signature: "MAYCAQECAQE" };
    const sig = signEntry(base, ed25519.utils.randomSecretKey()).signature;
    const cases: [unknown, RegExp][] = [
      [{ ...base, subjects: [] }, /^entry\.subjects must be a non-empty array/],
      [{ ...base, subjects: {} }, /^entry\.subjects must be a non-empty array/],
      [{ ...base, subjects: null }, /^entry\.subjects must be a non-empty array/],
      [{ ...base, subjects: ["c_1"] }, /^entry\.subjects\[0\] must be an object/],
      [{ ...base, subjects: [{ prev: null }] }, /^entry\.subjects\[0\] must name exactly one/],
      [
        { ...base, subjects: [{ customer: "c_1", merchant: "m_1", prev: null }] },
        /^entry\.subjects\[0\] must name exactly one/,
      ],
      [{ ...base, subjects: [{ customer: "c_1" }] }, /^entry\.subjects\[0\]\.prev is missing/],
      [
        { ...base, subjects: [{ customer: "c_1", prev: null, extra: 1 }] },
        /^entry\.subjects\[0\] has unknown field "extra"/,
      ],
      [{ ...base, subjects: [{ customer: "c_1", prev: -1 }] }, /^entry\.subjects\[0\]\.prev/],
      [{ ...base, subjects: [{ customer: "c_1", prev: 1.5 }] }, /^entry\.subjects\[0\]\.prev/],
      [{ ...base, subjects: [{ customer: "c_1", prev: "1" }] }, /^entry\.subjects\[0\]\.prev/],
      [{ ...base, subjects: [{ customer: "c_1", prev: 2 ** 53 }] }, /^entry\.subjects\[0\]\.prev/],
      [{ ...base, subjects: [{ customer: "m_1", prev: null }] }, /^entry\.subjects\[0\]\.customer/],
      [{ ...base, subjects: [{ customer: "c_", prev: null }] }, /^entry\.subjects\[0\]\.customer/],
      [{ ...base, subjects: [{ customer: 1, prev: null }] }, /^entry\.subjects\[0\]\.customer/],
      [{ ...base, subjects: [{ merchant: "c_1", prev: null }] }, /^entry\.subjects\[0\]\.merchant/],
      [
        {
          ...base,
          subjects: [
            { customer: "c_1", prev: 1 },
            { customer: "c_1", prev: 2 },
          ],
        },
        /^entry\.subjects\[1\] names c_1 a second time/,
      ],
      [
        {
          ...base,
          subjects: [
            { merchant: "m_1", prev: 1 },
            { customer: "c_2", prev: null },
            { merchant: "m_1", prev: 1 },
          ],
        },
        /^entry\.subjects\[2\] names m_1/,
      ],
      [{ ...base, salt: "AAECAwQFBgcICQoLDA0O" }, /^entry\.salt/],
      [{ ...base, salt: "AAECAwQFBgcICQoLDA0ODw==" }, /^entry\.salt/],
      [{ ...base, salt: "AAECAwQFBgcICQoLDA0ODwAQ" }, /^entry\.salt/],
      [{ ...base, salt: "AAECAwQFBgcICQoLDA0ODx" }, /^entry\.salt/],
      [{ ...base, salt: 16 }, /^entry\.salt/],
      [{ ...base, signed: "x" }, /^entry\.signed must be a JSON object/],
      [{ ...base, signed: { command } }, /^entry\.signed must hold "command" and exactly one/],
      [{ ...base, signed: { ...signed, webauthn } }, /^entry\.signed must hold/],
      [{ ...base, signed: { ...signed, at: 1 } }, /^entry\.signed has unknown field "at"/],
      [
        { ...base, signed: { ...signed, command: { ...command, nonce: "AAAA" } } },
        /^entry\.signed\.command\.nonce/,
      ],
      [
        { ...base, signed: { ...signed, command: { ...command, v: 2 } } },
        /^entry\.signed\.command\.v/,
      ],
      [{ ...base, signed: { command, signature: "AAAA" } }, /^entry\.signed\.signature/],
      [
        { ...base, signed: { command, webauthn: { ...webauthn, x: "" } } },
        /^entry\.signed\.webauthn has unknown field "x"/,
      ],
      [
        { ...base, signed, signature: sig },
        /^entry\.signature and entry\.signed cannot both be present/,
      ],
    ];
    for (const [e, message] of cases) {
      let err: unknown;
      try {
        encodeEntry(e as Entry);
      } catch (x) {
        err = x;
      }
      expect(err, String(message)).toBeInstanceOf(EntryFormatError);
      expect((err as EntryFormatError).code).toBe("malformed");
      expect((err as Error).message).toMatch(message);
      // decodeEntry applies the same rules to leaf bytes.
      if (e !== null && JSON.stringify(e) !== undefined) {
        expect(() => decodeEntry(canonicalBytes(JSON.parse(JSON.stringify(e))))).toThrow(
          EntryFormatError,
        );
      }
    }
  });

  it("decodeEntry still refuses a non-canonical encoding of an entry with the new fields", () => {
    const text = new TextDecoder().decode(encodeEntry(full));
    const variants = [
      text.replace('"prev":40', '"prev":40.0'),
      text.replace('{"customer":"c_42","prev":null}', '{"prev":null,"customer":"c_42"}'),
      text.replace('"salt":', ' "salt":'),
    ];
    for (const v of variants) expect(() => decodeEntry(utf8(v)), v).toThrow(EntryFormatError);
  });

  it("old entry signatures still verify, and signEntry will not sign an entry with a command", () => {
    const sk = ed25519.utils.randomSecretKey();
    const old = signEntry(base, sk);
    expect(verifyEntrySignature(decodeEntry(encodeEntry(old)), ed25519.getPublicKey(sk))).toBe(
      true,
    );
    expect(() => signEntry({ ...base, signed }, sk)).toThrow(EntryFormatError);
  });
});

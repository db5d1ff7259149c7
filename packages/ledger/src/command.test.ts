import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import {
  type Command,
  commandChallenge,
  commandExpiry,
  commandSigningBytes,
  parseCommand,
  parseSignedCommand,
  type SignedCommand,
  signCommand,
  verifyCommand,
} from "./command.js";
import { encodeDidKey } from "./did-key.js";
import { CommandError } from "./errors.js";

// The worked example of docs/ledger.md ("Signed commands"): these constants are the doc's.
const DOC_SEED = new Uint8Array(32).fill(0x01);
const DOC_DID = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX";
const DOC_COMMAND: Command = {
  v: 1,
  type: "customer.join",
  ledger: "patron.example/ledger",
  actor: DOC_DID,
  merchant: "m_acme",
  nonce: "AAECAwQFBgcICQoLDA0ODw",
  expires: "2026-01-02T03:04:05Z",
  payload: { programme: "default", terms: "v3" },
};
const DOC_SIGNING_TEXT =
  'patron-command/v1\n{"actor":"did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX",' +
  '"expires":"2026-01-02T03:04:05Z","ledger":"patron.example/ledger","merchant":"m_acme",' +
  '"nonce":"AAECAwQFBgcICQoLDA0ODw","payload":{"programme":"default","terms":"v3"},' +
  '"type":"customer.join","v":1}';
const DOC_SIGNING_HEX_START = "706174726f6e2d636f6d6d616e642f76310a7b226163746f72223a22";
const DOC_PUBLIC_KEY_HEX = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const DOC_SIGNING_LENGTH = 281;
const DOC_CHALLENGE = "Yage76NAtMFlv9LdqSjU1QtRfpelHsrjc8EmV0Hx5_g";
const DOC_SIGNATURE =
  "seEoGw2EYp6OOsN3Ki1j45zMXU7l6sSL1G_wL3iz4eO4Vjf0QxHwLeYV3ZgM9rjbWaprC0N4O1Q2wU0NbI4TBA";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

function commandError(fn: () => unknown): CommandError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    return err as CommandError;
  }
  throw new Error("expected a CommandError");
}

describe("the signing bytes", () => {
  it("are the prefix and the JCS of the documented example, byte for byte", () => {
    const bytes = commandSigningBytes(DOC_COMMAND);
    expect(hex(bytes.subarray(0, 18))).toBe(
      ["70617472", "6f6e2d63", "6f6d6d61", "6e642f76", "310a"].join(""),
    );
    expect(Buffer.from(bytes).toString("utf8")).toBe(DOC_SIGNING_TEXT);
    expect(hex(bytes).startsWith(DOC_SIGNING_HEX_START)).toBe(true);
    expect(bytes).toHaveLength(DOC_SIGNING_LENGTH);
    expect(b64url(commandChallenge(DOC_COMMAND))).toBe(DOC_CHALLENGE);
    expect(bytes).toEqual(new Uint8Array(Buffer.from(DOC_SIGNING_TEXT, "utf8")));
  });

  it("give the documented did:key and signature for the documented seed", () => {
    const publicKey = ed25519.getPublicKey(DOC_SEED);
    expect(hex(publicKey)).toBe(DOC_PUBLIC_KEY_HEX);
    expect(encodeDidKey({ type: "Ed25519", publicKey })).toBe(DOC_DID);
    const signed = signCommand(DOC_COMMAND, DOC_SEED);
    expect(signed).toEqual({ command: DOC_COMMAND, signature: DOC_SIGNATURE });
    expect(verifyCommand(signed)).toEqual(DOC_COMMAND);
  });

  it("do not depend on member order, and the challenge is their SHA-256", () => {
    const reordered = Object.fromEntries(Object.entries(DOC_COMMAND).reverse()) as Command;
    expect(commandSigningBytes(reordered)).toEqual(commandSigningBytes(DOC_COMMAND));
    expect(hex(commandChallenge(DOC_COMMAND))).toBe(
      hex(createHash("sha256").update(DOC_SIGNING_TEXT).digest()),
    );
  });
});

// Everything below up to verifyCommand is written without the library: its own canonical JSON
// (enough for ASCII text, integers and plain objects), node:crypto's Ed25519 and base58.
function tinyJcs(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(tinyJcs).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${tinyJcs(o[k])}`)
    .join(",")}}`;
}

function tinyBase58(bytes: Uint8Array): string {
  const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  let n = BigInt(`0x${hex(bytes)}`);
  let out = "";
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out;
    n /= 58n;
  }
  return out; // the multicodec prefix 0xed is not a zero byte, so no leading "1"s
}

describe("independence: a command built and signed without the library", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const rawPublic = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const actor = `did:key:z${tinyBase58(new Uint8Array([0xed, 0x01, ...rawPublic]))}`;
  const command: Command = {
    v: 1,
    type: "loyalty.transfer",
    ledger: "patron.example/ledger",
    actor,
    merchant: "m_acme",
    nonce: "c2l4dGVlbi1ieXRlcy1ub25jZQ",
    expires: "2026-05-06T07:08:09.123Z",
    payload: { to: "c_bob", points: 250, memo: null, tags: ["gift", "birthday"] },
  };
  const message = Buffer.from(`patron-command/v1\n${tinyJcs(command)}`, "utf8");
  const signature = sign(null, message, privateKey);
  const signed = { command, signature: signature.toString("base64url") };

  it("is accepted, and the library computes the same bytes", () => {
    expect(verifyCommand(signed)).toEqual(command);
    expect(commandSigningBytes(signed.command)).toEqual(new Uint8Array(message));
  });

  it("is refused after flipping any single bit of the signature", () => {
    for (let bit = 0; bit < signature.length * 8; bit++) {
      const s = Buffer.from(signature);
      s[bit >> 3] = (s[bit >> 3] as number) ^ (1 << (bit & 7));
      const err = commandError(() =>
        verifyCommand({ command, signature: s.toString("base64url") }),
      );
      expect(err.code).toBe("bad_signature");
    }
  });

  it("is refused after flipping any single bit of the signed bytes", () => {
    const prefixLength = "patron-command/v1\n".length;
    let commands = 0;
    for (let bit = 0; bit < message.length * 8; bit++) {
      const m = Buffer.from(message);
      m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
      if (bit >> 3 < prefixLength) {
        // The library signs a fixed prefix: a changed prefix is never what it verifies.
        expect(hex(commandSigningBytes(command).subarray(0, prefixLength))).not.toBe(
          hex(m.subarray(0, prefixLength)),
        );
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(
          new TextDecoder("utf-8", { fatal: true }).decode(m.subarray(prefixLength)),
        );
      } catch {
        continue; // no longer JSON: there is no command to present
      }
      commands++;
      expect(() =>
        verifyCommand({ command: parsed as Command, signature: signed.signature } as SignedCommand),
      ).toThrow(CommandError);
    }
    expect(commands).toBeGreaterThan(message.length * 4);
  });
});

describe("parseCommand", () => {
  const sk = ed25519.utils.randomSecretKey();
  const actor = encodeDidKey({ type: "Ed25519", publicKey: ed25519.getPublicKey(sk) });
  const good: Command = { ...DOC_COMMAND, actor };
  const with_ = (patch: Record<string, unknown>) => ({ ...good, ...patch });
  const without = (k: string) => {
    const c: Record<string, unknown> = { ...good };
    delete c[k];
    return c;
  };

  it("accepts a well-formed command and returns a copy of exactly its fields", () => {
    const c = parseCommand(good);
    expect(c).toEqual(good);
    expect(c).not.toBe(good);
    for (const nonce of [b64url(new Uint8Array(16)), b64url(new Uint8Array(64))]) {
      expect(parseCommand(with_({ nonce })).nonce).toBe(nonce);
    }
    for (const expires of ["2026-01-02T03:04:05.123456789Z", "2028-02-29T23:59:59Z"]) {
      expect(parseCommand(with_({ expires })).expires).toBe(expires);
    }
    for (const type of ["customer.join", "a.b.c", "loyalty.points_2.spend"]) {
      expect(parseCommand(with_({ type })).type).toBe(type);
    }
    for (const payload of [null, 0, "", [], {}, { deep: [{ x: [1.5, true] }] }]) {
      expect(parseCommand(with_({ payload })).payload).toEqual(payload);
    }
    const p256Actor = encodeDidKey({
      type: "P-256",
      publicKey: p256.getPublicKey(p256.utils.randomSecretKey()),
    });
    expect(parseCommand(with_({ actor: p256Actor })).actor).toBe(p256Actor);
  });

  it("refuses each malformed field, naming it", () => {
    const cases: [unknown, RegExp][] = [
      [null, /^command must be a JSON object/],
      [[good], /^command must be a JSON object/],
      ["command", /^command must be a JSON object/],
      [with_({ extra: 1 }), /command has unknown field "extra"/],
      [with_({ signature: "x" }), /command has unknown field "signature"/],
      ...["v", "type", "ledger", "actor", "merchant", "nonce", "expires", "payload"].map(
        (k): [unknown, RegExp] => [without(k), new RegExp(`^command\\.${k} is missing`)],
      ),
      [with_({ v: 2 }), /^command\.v must be 1/],
      [with_({ v: "1" }), /^command\.v must be 1/],
      [with_({ type: "customer" }), /^command\.type/],
      [with_({ type: "Customer.join" }), /^command\.type/],
      [with_({ type: "customer..join" }), /^command\.type/],
      [with_({ type: "customer.join." }), /^command\.type/],
      [with_({ type: "customer.1join" }), /^command\.type/],
      [with_({ type: 7 }), /^command\.type/],
      [with_({ ledger: "" }), /^command\.ledger/],
      [with_({ ledger: ["patron.example"] }), /^command\.ledger/],
      [with_({ actor: "merchant:m_acme" }), /^command\.actor is not a valid did:key/],
      [with_({ actor: `${actor}#key-1` }), /^command\.actor is not a valid did:key/],
      [with_({ actor: "did:key:zTjsVPtY" }), /^command\.actor/],
      [with_({ actor: 1 }), /^command\.actor/],
      [with_({ merchant: "acme" }), /^command\.merchant/],
      [with_({ merchant: "m_" }), /^command\.merchant/],
      [with_({ merchant: `m_${"a".repeat(65)}` }), /^command\.merchant/],
      [with_({ merchant: "m_ac me" }), /^command\.merchant/],
      [with_({ merchant: "c_acme" }), /^command\.merchant/],
      [with_({ nonce: b64url(new Uint8Array(15)) }), /^command\.nonce/],
      [with_({ nonce: b64url(new Uint8Array(65)) }), /^command\.nonce/],
      [with_({ nonce: `${b64url(new Uint8Array(16))}==` }), /^command\.nonce/],
      [
        with_({ nonce: Buffer.from(new Uint8Array(16).fill(0xfb)).toString("base64") }),
        /^command\.nonce/,
      ],
      [with_({ nonce: "AAECAwQFBgcICQoLDA0ODx" }), /^command\.nonce/], // non-zero trailing bits
      [with_({ nonce: 16 }), /^command\.nonce/],
      [with_({ expires: "2026-01-02T03:04:05+00:00" }), /^command\.expires/],
      [with_({ expires: "2026-01-02T03:04:05z" }), /^command\.expires/],
      [with_({ expires: "2026-01-02 03:04:05Z" }), /^command\.expires/],
      [with_({ expires: "2026-02-29T00:00:00Z" }), /^command\.expires/],
      [with_({ expires: "2026-01-02T03:04:60Z" }), /^command\.expires/],
      [with_({ expires: "2026-01-02T03:04:05.1234567891Z" }), /^command\.expires/],
      [with_({ expires: "2026-01-02T03:04:05.Z" }), /^command\.expires/],
      [with_({ expires: 1767323045000 }), /^command\.expires/],
      [with_({ payload: undefined }), /^command\.payload: undefined/],
      [with_({ payload: { when: new Date(0) } }), /^command\.payload\.when: Date/],
      [with_({ payload: [1, Number.NaN] }), /^command\.payload\[1\]: NaN/],
      [with_({ payload: "\ud800" }), /^command\.payload: string has a lone surrogate/],
      [with_({ ledger: "\udc00" }), /^command\.ledger: string has a lone surrogate/],
    ];
    for (const [x, message] of cases) {
      const err = commandError(() => parseCommand(x));
      expect(err.code, String(message)).toBe("malformed");
      expect(err.message).toMatch(message);
    }
  });

  it("refuses actors whose key type cannot sign commands with unsupported_key", () => {
    const p384Actor = encodeDidKey({
      type: "P-384",
      publicKey: p384.getPublicKey(p384.utils.randomSecretKey()),
    });
    const secp256k1 = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
    for (const a of [p384Actor, secp256k1]) {
      const err = commandError(() => parseCommand(with_({ actor: a })));
      expect(err.code).toBe("unsupported_key");
      expect(err.message).toMatch(/^command\.actor/);
    }
  });
});

describe("parseSignedCommand", () => {
  const signed = signCommand(DOC_COMMAND, DOC_SEED) as { command: Command; signature: string };
  const webauthn = { authenticatorData: "AAAA", clientDataJSON: "e30", signature: "MAYCAQECAQE" };

  it("accepts both forms", () => {
    expect(parseSignedCommand(signed)).toEqual(signed);
    expect(parseSignedCommand({ command: DOC_COMMAND, webauthn })).toEqual({
      command: DOC_COMMAND,
      webauthn,
    });
  });

  it("refuses malformed envelopes, naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [null, /^signed command must be a JSON object/],
      [{ command: DOC_COMMAND }, /exactly one of "signature" or "webauthn"/],
      [{ ...signed, webauthn }, /exactly one of "signature" or "webauthn"/],
      [{ ...signed, extra: 1 }, /^signed command has unknown field "extra"/],
      [{ signature: signed.signature }, /^command is missing/],
      [{ ...signed, command: { ...DOC_COMMAND, nonce: "x" } }, /^command\.nonce/],
      [
        { ...signed, signature: Buffer.from(signed.signature, "base64url").toString("base64") },
        /^signature/,
      ],
      [{ ...signed, signature: b64url(new Uint8Array(63)) }, /^signature/],
      [{ ...signed, signature: `${signed.signature}==` }, /^signature/],
      [{ ...signed, signature: 5 }, /^signature/],
      [{ command: DOC_COMMAND, webauthn: "proof" }, /^webauthn must be a JSON object/],
      [
        { command: DOC_COMMAND, webauthn: { ...webauthn, userHandle: "" } },
        /^webauthn has unknown field "userHandle"/,
      ],
      [
        { command: DOC_COMMAND, webauthn: { ...webauthn, signature: undefined } },
        /^webauthn\.signature/,
      ],
      [
        { command: DOC_COMMAND, webauthn: { authenticatorData: "AAAA", clientDataJSON: "e30" } },
        /^webauthn\.signature is missing/,
      ],
      [
        { command: DOC_COMMAND, webauthn: { ...webauthn, clientDataJSON: "e30=" } },
        /^webauthn\.clientDataJSON/,
      ],
      [
        { command: DOC_COMMAND, webauthn: { ...webauthn, authenticatorData: "" } },
        /^webauthn\.authenticatorData/,
      ],
    ];
    for (const [x, message] of cases) {
      const err = commandError(() => parseSignedCommand(x));
      expect(err.code, String(message)).toBe("malformed");
      expect(err.message).toMatch(message);
    }
  });
});

describe("signCommand and verifyCommand", () => {
  it("sign only as the actor's own key", () => {
    const other = ed25519.utils.randomSecretKey();
    const err = commandError(() => signCommand(DOC_COMMAND, other));
    expect(err.code).toBe("malformed");
    expect(err.message).toMatch(/command\.actor is not the did:key of this secret key/);
    expect(() => signCommand(DOC_COMMAND, new Uint8Array(31))).toThrow(TypeError);
    expect(() => signCommand({ ...DOC_COMMAND, v: 2 } as never, DOC_SEED)).toThrow(CommandError);
  });

  it("refuse a signature by another key, or over another command", () => {
    const signed = signCommand(DOC_COMMAND, DOC_SEED) as { command: Command; signature: string };
    const other = ed25519.utils.randomSecretKey();
    const otherActor = encodeDidKey({ type: "Ed25519", publicKey: ed25519.getPublicKey(other) });
    const tampered: SignedCommand[] = [
      { ...signed, command: { ...DOC_COMMAND, actor: otherActor } },
      { ...signed, command: { ...DOC_COMMAND, ledger: "patron.example/other" } },
      { ...signed, command: { ...DOC_COMMAND, merchant: "m_other" } },
      { ...signed, command: { ...DOC_COMMAND, expires: "2026-01-02T03:04:06Z" } },
      { ...signed, command: { ...DOC_COMMAND, payload: { programme: "default", terms: "v4" } } },
      { ...signed, signature: b64url(new Uint8Array(64)) },
    ];
    for (const s of tampered)
      expect(commandError(() => verifyCommand(s)).code).toBe("bad_signature");
  });

  it("refuse an Ed25519 actor presenting a WebAuthn proof", () => {
    const webauthn = { authenticatorData: "AAAA", clientDataJSON: "e30", signature: "MAYCAQECAQE" };
    const err = commandError(() => verifyCommand({ command: DOC_COMMAND, webauthn }));
    expect(err.code).toBe("bad_signature");
    expect(err.message).toMatch(/Ed25519 did:key: it signs with `signature`, not `webauthn`/);
  });

  it("refuse malformed input as malformed", () => {
    expect(commandError(() => verifyCommand(null as never)).code).toBe("malformed");
    expect(commandError(() => verifyCommand({ command: DOC_COMMAND } as never)).code).toBe(
      "malformed",
    );
  });
});

describe("commandExpiry", () => {
  const at = (expires: string) => commandExpiry({ ...DOC_COMMAND, expires });

  it("reads RFC 3339 UTC to the millisecond", () => {
    expect(at("2026-01-02T03:04:05Z")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(at("2026-01-02T03:04:05.5Z")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 500));
    expect(at("2026-01-02T03:04:05.123Z")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
    expect(at("2026-01-02T03:04:05.123000000Z")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
    expect(at("1970-01-01T00:00:00Z")).toBe(0);
    expect(at("0099-12-31T23:59:59Z")).toBe(new Date("0099-12-31T23:59:59Z").getTime());
  });

  it("rounds a sub-millisecond fraction up, so `now >= expiry` means expired", () => {
    const base = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(at("2026-01-02T03:04:05.123000001Z")).toBe(base + 124);
    expect(at("2026-01-02T03:04:05.0001Z")).toBe(base + 1);
    expect(at("2026-01-02T03:04:05.9999Z")).toBe(base + 1000);
  });

  it("refuses what is not an RFC 3339 UTC time", () => {
    for (const e of ["2026-01-02T03:04:05+01:00", "2026-13-01T00:00:00Z", "tomorrow"]) {
      expect(commandError(() => at(e)).code).toBe("malformed");
    }
  });
});

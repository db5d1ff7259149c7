import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Command, commandChallenge, verifyCommand } from "./command.js";
import { encodeDidKey } from "./did-key.js";
import { CommandError } from "./errors.js";
import { verifyWebAuthn, type WebAuthnProof } from "./webauthn.js";

// A software authenticator built from node:crypto alone, so that what is checked here is the
// library against WebAuthn's byte layout, not the library against itself.

const RP_ID = "portal.patron.example";
const ORIGIN = "https://portal.patron.example";
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // P-256 order

const sha256 = (b: Uint8Array | string) => new Uint8Array(createHash("sha256").update(b).digest());
const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

interface Authenticator {
  privateKey: KeyObject;
  /** Uncompressed SEC1 point. */
  publicKey: Uint8Array;
}

function authenticator(): Authenticator {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x as string, "base64url"),
    Buffer.from(jwk.y as string, "base64url"),
  ]);
  return { privateKey, publicKey: new Uint8Array(point) };
}

interface Ceremony {
  challenge: Uint8Array;
  type?: string;
  /** The challenge as written into clientDataJSON, when it should differ from base64url. */
  challengeText?: string;
  origin?: string;
  crossOrigin?: boolean;
  rpId?: string;
  flags?: number;
  counter?: number;
  extensions?: Uint8Array;
}

const UP = 0x01;
const UV = 0x04;

function assertion(a: Authenticator, c: Ceremony): WebAuthnProof {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(c.counter ?? 7);
  const authData = Buffer.concat([
    sha256(c.rpId ?? RP_ID),
    Buffer.from([c.flags ?? UP | UV]),
    counter,
    c.extensions ?? new Uint8Array(0),
  ]);
  // Browsers put the members in this order; the library must not care.
  const clientData = Buffer.from(
    JSON.stringify({
      type: c.type ?? "webauthn.get",
      challenge: c.challengeText ?? b64url(c.challenge),
      origin: c.origin ?? ORIGIN,
      crossOrigin: c.crossOrigin ?? false,
    }),
  );
  const signed = Buffer.concat([authData, sha256(clientData)]);
  const signature = sign("sha256", signed, { key: a.privateKey, dsaEncoding: "der" });
  return {
    authenticatorData: b64url(authData),
    clientDataJSON: b64url(clientData),
    signature: b64url(signature),
  };
}

// Minimal DER for SEQUENCE { INTEGER r, INTEGER s } with short lengths (enough for P-256).
function derDecode(der: Uint8Array): { r: bigint; s: bigint } {
  const int = (at: number) => {
    const len = der[at + 1] as number;
    const bytes = der.subarray(at + 2, at + 2 + len);
    return { value: BigInt(`0x${Buffer.from(bytes).toString("hex")}`), end: at + 2 + len };
  };
  const r = int(2);
  return { r: r.value, s: int(r.end).value };
}

function derEncode(r: bigint, s: bigint): Uint8Array {
  const int = (n: bigint) => {
    let hex = n.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, "hex");
    if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

/** The same signature with s replaced by n − s: equally valid ECDSA, opposite half. */
function flipS(proof: WebAuthnProof): WebAuthnProof {
  const { r, s } = derDecode(Buffer.from(proof.signature, "base64url"));
  return { ...proof, signature: b64url(derEncode(r, N - s)) };
}

function isHighS(proof: WebAuthnProof): boolean {
  return derDecode(Buffer.from(proof.signature, "base64url")).s > N / 2n;
}

function refusal(fn: () => unknown): CommandError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe("bad_signature");
    return err as CommandError;
  }
  throw new Error("expected the assertion to be refused");
}

const flip = (b64: string, byte: number, bit = 0) => {
  const b = Buffer.from(b64, "base64url");
  b[byte] = (b[byte] as number) ^ (1 << bit);
  return b64url(b);
};

describe("verifyWebAuthn", () => {
  const a = authenticator();
  const challenge = new Uint8Array(randomBytes(32));
  const opts = { publicKey: a.publicKey, challenge, origins: [ORIGIN], rpId: RP_ID };

  it("accepts a genuine assertion, with either key encoding and without optional checks", () => {
    const proof = assertion(a, { challenge });
    verifyWebAuthn(proof, opts);
    verifyWebAuthn(proof, { ...opts, requireUserVerification: true });
    verifyWebAuthn(proof, { publicKey: a.publicKey, challenge });
    const compressed = new Uint8Array([
      0x02 | ((a.publicKey[64] as number) & 1),
      ...a.publicKey.subarray(1, 33),
    ]);
    verifyWebAuthn(proof, { ...opts, publicKey: compressed });
  });

  it("accepts authenticatorData with extensions after the 37 fixed bytes", () => {
    const ext = new Uint8Array([0xa1, 0x64, 0x74, 0x65, 0x73, 0x74, 0xf5]); // CBOR {"test": true}
    verifyWebAuthn(assertion(a, { challenge, flags: UP | 0x80, extensions: ext }), opts);
  });

  it("accepts high-S signatures, as authenticators emit them", () => {
    const proof = assertion(a, { challenge });
    const high = isHighS(proof) ? proof : flipS(proof);
    const low = isHighS(proof) ? flipS(proof) : proof;
    expect(isHighS(high)).toBe(true);
    verifyWebAuthn(high, opts);
    verifyWebAuthn(low, opts);
  });

  it("refuses a registration (webauthn.create) or any other type", () => {
    for (const type of ["webauthn.create", "payment.get", ""]) {
      expect(
        refusal(() => verifyWebAuthn(assertion(a, { challenge, type }), opts)).message,
      ).toMatch(/clientDataJSON\.type/);
    }
  });

  it("refuses another challenge, or this one spelt another way", () => {
    const other = new Uint8Array(randomBytes(32));
    const std = Buffer.from(challenge).toString("base64");
    for (const c of [
      { challenge: other },
      { challenge, challengeText: std },
      { challenge, challengeText: `${b64url(challenge)}=` },
      { challenge, challengeText: b64url(challenge).slice(0, -1) },
    ]) {
      expect(refusal(() => verifyWebAuthn(assertion(a, c), opts)).message).toMatch(/challenge/);
    }
  });

  it("refuses an origin not in the list", () => {
    for (const origin of ["https://evil.example", "http://portal.patron.example", `${ORIGIN}/`]) {
      expect(
        refusal(() => verifyWebAuthn(assertion(a, { challenge, origin }), opts)).message,
      ).toMatch(/origin/);
    }
    const proof = assertion(a, { challenge, origin: "https://evil.example" });
    verifyWebAuthn(proof, { ...opts, origins: undefined }); // origins not given: not checked
    refusal(() => verifyWebAuthn(proof, { ...opts, origins: [] }));
  });

  it("refuses a ceremony in a cross-origin iframe unless allowed", () => {
    const proof = assertion(a, { challenge, crossOrigin: true });
    expect(refusal(() => verifyWebAuthn(proof, opts)).message).toMatch(/cross-origin/);
    verifyWebAuthn(proof, { ...opts, allowCrossOrigin: true });
  });

  it("refuses authenticatorData for another relying party", () => {
    const proof = assertion(a, { challenge, rpId: "evil.example" });
    expect(refusal(() => verifyWebAuthn(proof, opts)).message).toMatch(/relying party/);
    expect(
      refusal(() =>
        verifyWebAuthn(assertion(a, { challenge }), { ...opts, rpId: "patron.example" }),
      ).message,
    ).toMatch(/relying party/);
  });

  it("refuses an assertion without user presence", () => {
    const proof = assertion(a, { challenge, flags: UV });
    expect(refusal(() => verifyWebAuthn(proof, opts)).message).toMatch(/\(UP\)/);
  });

  it("refuses an assertion without user verification only when it is required", () => {
    const proof = assertion(a, { challenge, flags: UP });
    verifyWebAuthn(proof, opts);
    const err = refusal(() => verifyWebAuthn(proof, { ...opts, requireUserVerification: true }));
    expect(err.message).toMatch(/\(UV\)/);
  });

  it("refuses short authenticatorData", () => {
    const proof = assertion(a, { challenge });
    const short = b64url(Buffer.from(proof.authenticatorData, "base64url").subarray(0, 36));
    expect(
      refusal(() => verifyWebAuthn({ ...proof, authenticatorData: short }, opts)).message,
    ).toMatch(/shorter than 37/);
  });

  it("refuses any tampered byte of authenticatorData, clientDataJSON or the signature", () => {
    const proof = assertion(a, { challenge, flags: UP | UV });
    // The counter (bytes 33-36) and the UV flag are covered only by the signature.
    for (const byte of [33, 34, 35, 36]) {
      const p = { ...proof, authenticatorData: flip(proof.authenticatorData, byte) };
      expect(refusal(() => verifyWebAuthn(p, opts)).message).toMatch(/signature/);
    }
    const noUv = { ...proof, authenticatorData: flip(proof.authenticatorData, 32, 2) };
    expect(refusal(() => verifyWebAuthn(noUv, opts)).message).toMatch(/signature/);
    const clientData = Buffer.from(proof.clientDataJSON, "base64url").toString();
    const spaced = b64url(Buffer.from(clientData.replace(",", ", ")));
    expect(
      refusal(() => verifyWebAuthn({ ...proof, clientDataJSON: spaced }, opts)).message,
    ).toMatch(/signature/);
    const sigLength = Buffer.from(proof.signature, "base64url").length;
    for (let byte = 4; byte < sigLength; byte += 5) {
      const p = { ...proof, signature: flip(proof.signature, byte) };
      refusal(() => verifyWebAuthn(p, opts));
    }
    const { r, s } = derDecode(Buffer.from(proof.signature, "base64url"));
    const compact = Buffer.concat([
      Buffer.from(r.toString(16).padStart(64, "0"), "hex"),
      Buffer.from(s.toString(16).padStart(64, "0"), "hex"),
    ]);
    refusal(() => verifyWebAuthn({ ...proof, signature: b64url(compact) }, opts)); // not DER
    refusal(() => verifyWebAuthn({ ...proof, signature: b64url(derEncode(s, r)) }, opts));
  });

  it("refuses a signature by another key and malformed inputs", () => {
    const proof = assertion(a, { challenge });
    const other = authenticator();
    refusal(() => verifyWebAuthn(proof, { ...opts, publicKey: other.publicKey }));
    refusal(() => verifyWebAuthn(proof, { ...opts, publicKey: new Uint8Array(64) }));
    refusal(() => verifyWebAuthn(proof, { ...opts, publicKey: new Uint8Array(33).fill(2) }));
    refusal(() => verifyWebAuthn({ ...proof, signature: `${proof.signature}=` }, opts));
    refusal(() => verifyWebAuthn({ ...proof, clientDataJSON: b64url(Buffer.from("[1]")) }, opts));
    refusal(() => verifyWebAuthn({ ...proof, clientDataJSON: b64url(Buffer.from([0xff])) }, opts));
    refusal(() => verifyWebAuthn(null as never, opts));
  });
});

describe("commands signed with a passkey", () => {
  const a = authenticator();
  const actor = encodeDidKey({ type: "P-256", publicKey: a.publicKey });
  const command: Command = {
    v: 1,
    type: "consent.grant",
    ledger: "patron.example/ledger",
    actor,
    merchant: "m_acme",
    nonce: b64url(randomBytes(16)),
    expires: "2026-01-02T03:04:05.5Z",
    payload: { purpose: "marketing", until: "2026-06-30" },
  };
  const webauthn = assertion(a, { challenge: commandChallenge(command) });

  it("verify with the command's challenge", () => {
    expect(actor.startsWith("did:key:zDna")).toBe(true);
    expect(verifyCommand({ command, webauthn }, { origins: [ORIGIN], rpId: RP_ID })).toEqual(
      command,
    );
    expect(verifyCommand({ command, webauthn }, { requireUserVerification: true })).toEqual(
      command,
    );
  });

  it("are refused when the command changes or the options are not met", () => {
    const changed = { ...command, payload: { purpose: "profiling", until: "2026-06-30" } };
    refusal(() => verifyCommand({ command: changed, webauthn }));
    refusal(() => verifyCommand({ command: { ...command, merchant: "m_other" }, webauthn }));
    refusal(() => verifyCommand({ command, webauthn }, { origins: ["https://other.example"] }));
    refusal(() => verifyCommand({ command, webauthn }, { rpId: "other.example" }));
    const noUv = assertion(a, { challenge: commandChallenge(command), flags: UP });
    refusal(() => verifyCommand({ command, webauthn: noUv }, { requireUserVerification: true }));
  });

  it("are refused with an Ed25519-style signature", () => {
    const err = refusal(() => verifyCommand({ command, signature: b64url(new Uint8Array(64)) }));
    expect(err.message).toMatch(/P-256.*webauthn/);
  });
});

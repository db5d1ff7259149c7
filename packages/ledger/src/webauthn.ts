import { p256 } from "@noble/curves/nist.js";
import {
  bytesEqual,
  concatBytes,
  encodeBase64Url,
  tryDecodeBase64Url,
  utf8Decode,
  utf8Encode,
} from "./encoding.js";
import { CommandError } from "./errors.js";
import { isBytes, sha256 } from "./hash.js";
import { isPlainObject } from "./json.js";

/** A WebAuthn assertion as the browser returns it, each member base64url without padding. */
export interface WebAuthnProof {
  authenticatorData: string;
  clientDataJSON: string;
  /** The DER-encoded ECDSA (ES256) signature. */
  signature: string;
}

export interface WebAuthnOptions {
  /** The credential's P-256 public key, SEC1 compressed (33 bytes) or uncompressed (65). */
  publicKey: Uint8Array;
  /** The challenge the assertion must answer, compared as base64url of these bytes. */
  challenge: Uint8Array;
  /** Origins the ceremony may have run on; any origin when omitted. */
  origins?: readonly string[];
  /** The relying party id whose SHA-256 authenticatorData must start with; unchecked when omitted. */
  rpId?: string;
  /** Require the UV flag (PIN or biometric), not only user presence. */
  requireUserVerification?: boolean;
  /**
   * An ES256 verifier to use instead of @noble's (the server passes node:crypto's): DER
   * signature, the signed bytes (hashed with SHA-256 by the verifier), the compressed key. It
   * must accept either half of the S range, as authenticators emit both, and never throw.
   */
  es256?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
  /**
   * Accept assertions made inside a cross-origin iframe (clientData `crossOrigin: true`). Off by
   * default: Patron's portal is a top-level page, so a framed ceremony is someone else's page.
   */
  allowCrossOrigin?: boolean;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
// rpIdHash (32) ‖ flags (1) ‖ signCount (4), before any extensions.
const MIN_AUTH_DATA = 37;

function refuse(message: string): never {
  throw new CommandError("bad_signature", `WebAuthn assertion refused: ${message}`);
}

function field(proof: WebAuthnProof, name: keyof WebAuthnProof): Uint8Array {
  const value = (proof as unknown as Record<string, unknown>)[name];
  const bytes = typeof value === "string" ? tryDecodeBase64Url(value) : undefined;
  if (!bytes) refuse(`${name} is not base64url without padding`);
  return bytes;
}

/** Keys already checked to be on the curve (hex → compressed): a passkey signs many times. */
const points = new Map<string, Uint8Array>();

function publicPoint(key: Uint8Array): Uint8Array {
  if (!isBytes(key) || (key.length !== 33 && key.length !== 65)) {
    refuse("the public key is not a 33- or 65-byte P-256 point");
  }
  const id = encodeBase64Url(key);
  const known = points.get(id);
  if (known) return known.slice();
  let point: Uint8Array;
  try {
    point = p256.Point.fromBytes(key).toBytes(true);
  } catch {
    refuse("the public key is not a point on P-256");
  }
  if (points.size >= 4096) points.delete(points.keys().next().value as string);
  points.set(id, point.slice());
  return point;
}

/**
 * Verifies a WebAuthn assertion (W3C WebAuthn Level 3 §7.2, the steps a relying party can check
 * without stored state) for an ES256 credential. Throws CommandError "bad_signature" naming the
 * first check that failed. The signature counter and credential id are the caller's business.
 */
export function verifyWebAuthn(proof: WebAuthnProof, opts: WebAuthnOptions): void {
  if (!isPlainObject(proof)) refuse("the proof is not an object");
  if (!isBytes(opts?.challenge)) refuse("no challenge to check the assertion against");
  const publicKey = publicPoint(opts.publicKey);
  const authData = field(proof, "authenticatorData");
  const clientDataBytes = field(proof, "clientDataJSON");
  const signature = field(proof, "signature");

  let clientData: unknown;
  try {
    clientData = JSON.parse(utf8Decode(clientDataBytes));
  } catch {
    refuse("clientDataJSON is not UTF-8 JSON");
  }
  if (!isPlainObject(clientData)) refuse("clientDataJSON is not a JSON object");
  if (clientData.type !== "webauthn.get") {
    refuse(`clientDataJSON.type is ${JSON.stringify(clientData.type)}, not "webauthn.get"`);
  }
  // Exact string comparison: the challenge has one base64url spelling, and any other is not ours.
  if (clientData.challenge !== encodeBase64Url(opts.challenge)) {
    refuse("clientDataJSON.challenge is not this command's challenge");
  }
  if (typeof clientData.origin !== "string") refuse("clientDataJSON.origin is missing");
  if (opts.origins && !opts.origins.includes(clientData.origin)) {
    refuse(`origin ${JSON.stringify(clientData.origin)} is not an allowed origin`);
  }
  if (clientData.crossOrigin === true && !opts.allowCrossOrigin) {
    refuse("the assertion was made in a cross-origin iframe");
  }

  if (authData.length < MIN_AUTH_DATA) {
    refuse(`authenticatorData is ${authData.length} bytes, shorter than ${MIN_AUTH_DATA}`);
  }
  if (opts.rpId !== undefined) {
    if (!bytesEqual(authData.subarray(0, 32), sha256(utf8Encode(opts.rpId)))) {
      refuse(`authenticatorData is for another relying party than ${JSON.stringify(opts.rpId)}`);
    }
  }
  const flags = authData[32] as number;
  if ((flags & FLAG_UP) === 0) refuse("the user-present flag (UP) is not set");
  if (opts.requireUserVerification && (flags & FLAG_UV) === 0) {
    refuse("the user-verified flag (UV) is required but not set");
  }

  const signed = concatBytes(authData, sha256(clientDataBytes));
  let ok = false;
  try {
    // lowS: false because authenticators emit either half of the S range; prehash: ES256 signs
    // SHA-256 of the data, which noble computes.
    ok = opts.es256
      ? opts.es256(signature, signed, publicKey)
      : p256.verify(signature, signed, publicKey, { prehash: true, format: "der", lowS: false });
  } catch {
    ok = false;
  }
  if (!ok)
    refuse(
      "the ES256 signature over authenticatorData and the clientDataJSON hash does not verify",
    );
}

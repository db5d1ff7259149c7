import { createPublicKey, type KeyObject, verify as nodeVerify } from "node:crypto";
import {
  CommandError,
  commandExpiry,
  parseSignedCommand,
  type SignedCommand,
  verifyCommand,
} from "@patron/ledger";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import { MAX_COMMAND_LIFETIME_MS } from "../ledger/sequencer.js";

export interface SignatureSettings {
  /** The log's origin line: what a command's `ledger` must be. */
  origin: string;
  clock: Clock;
  /** Origins a passkey assertion may come from (the portal's, the node's own). */
  webauthnOrigins: () => readonly string[];
  /** The relying party id passkeys are registered under; default: the assertion origin's host. */
  rpId?: string;
}

/** A refusal of the ledger library, as the API answers it. */
export function fromCommandError(err: unknown): never {
  if (err instanceof CommandError) {
    const status = err.code === "bad_signature" ? 401 : 400;
    const code =
      err.code === "bad_signature"
        ? "invalid_signature"
        : err.code === "unsupported_key"
          ? "unsupported_key"
          : "malformed_command";
    throw new ApiError(status, code, err.message);
  }
  throw err;
}

/**
 * Checks what a signed command proves by itself, before any state is read: its form, its
 * signature (Ed25519, or a user-verified passkey assertion), its ledger and its lifetime.
 * `POST /v1/commands`, portal sign-in and commands nested in a payload all go through it.
 */
export class SignatureChecker {
  constructor(private readonly s: SignatureSettings) {}

  check(body: unknown): SignedCommand {
    let signed: SignedCommand;
    try {
      signed = parseSignedCommand(body);
    } catch (err) {
      return fromCommandError(err);
    }
    const passkeyOrigin = "webauthn" in signed ? clientOrigin(signed) : undefined;
    try {
      // Passkeys sign money and consent: the authenticator must have verified the user.
      const rpId = this.s.rpId ?? passkeyOrigin;
      verifyCommand(signed, {
        ed25519: nativeEd25519Verify,
        es256: nativeEs256Verify,
        origins: this.s.webauthnOrigins(),
        requireUserVerification: true,
        ...(rpId ? { rpId } : {}),
      });
    } catch (err) {
      fromCommandError(err);
    }
    const command = signed.command;
    if (command.ledger !== this.s.origin) {
      throw new ApiError(
        400,
        "wrong_ledger",
        `the command is for ledger "${command.ledger}", this is "${this.s.origin}"`,
      );
    }
    const now = this.s.clock.now();
    const expires = commandExpiry(command);
    if (expires <= now) throw new ApiError(400, "command_expired", "the command has expired");
    if (expires > now + MAX_COMMAND_LIFETIME_MS) {
      throw new ApiError(400, "expires_too_far", "a command may expire at most 24 h ahead");
    }
    return signed;
  }
}

/** DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 bytes (RFC 8410). */
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
const publicKeys = new Map<string, KeyObject>();

/**
 * Ed25519 verification by node:crypto (OpenSSL), about ten times @noble's speed. It agrees with
 * the library's strict RFC 8032 check on what reaches it: OpenSSL refuses S ≥ L and compares R
 * by its canonical encoding, and the public key comes from a did:key the library already
 * decoded and re-encoded canonically. A test holds the two to the same answers.
 */
export function nativeEd25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const id = Buffer.from(publicKey).toString("hex");
  let key = publicKeys.get(id);
  try {
    if (!key) {
      key = createPublicKey({
        key: Buffer.concat([SPKI_ED25519, publicKey]),
        format: "der",
        type: "spki",
      });
      if (publicKeys.size >= 4096) publicKeys.delete(publicKeys.keys().next().value as string);
      publicKeys.set(id, key);
    }
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** DER SubjectPublicKeyInfo of a compressed P-256 key, before its 33 bytes (RFC 5480). */
const SPKI_P256 = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");

/**
 * ES256 (ECDSA P-256 over SHA-256, DER signature) by node:crypto, for passkey assertions. Like
 * the library's check it accepts either half of the S range (OpenSSL does not normalise S), and
 * the key is one the library already checked is on the curve.
 */
export function nativeEs256Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (publicKey.length !== 33) return false;
  const id = `p256:${Buffer.from(publicKey).toString("hex")}`;
  let key = publicKeys.get(id);
  try {
    if (!key) {
      key = createPublicKey({
        key: Buffer.concat([SPKI_P256, publicKey]),
        format: "der",
        type: "spki",
      });
      if (publicKeys.size >= 4096) publicKeys.delete(publicKeys.keys().next().value as string);
      publicKeys.set(id, key);
    }
    return nodeVerify("sha256", message, { key, dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}

/** The host a passkey assertion says it came from: its relying party id is checked against it. */
function clientOrigin(signed: SignedCommand): string | undefined {
  if (!("webauthn" in signed)) return undefined;
  try {
    const json = JSON.parse(Buffer.from(signed.webauthn.clientDataJSON, "base64url").toString());
    return typeof json.origin === "string" ? new URL(json.origin).hostname : undefined;
  } catch {
    return undefined;
  }
}

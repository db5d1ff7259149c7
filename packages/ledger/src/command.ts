import { ed25519 } from "@noble/curves/ed25519.js";
import { type DidKey, decodeDidKey, encodeDidKey } from "./did-key.js";
import { concatBytes, encodeBase64Url, tryDecodeBase64Url, utf8Encode } from "./encoding.js";
import { CommandError, DidKeyError } from "./errors.js";
import { isBytes, sha256 } from "./hash.js";
import {
  assertJson,
  canonicalizeChecked,
  isPlainObject,
  type JsonValue,
  rfc3339UtcMillis,
} from "./json.js";
import { ed25519Verify } from "./note.js";
import { verifyWebAuthn, type WebAuthnProof } from "./webauthn.js";

/**
 * What a customer signs (ARCHITECTURE decision 5). `ledger` is the log's origin line and
 * `merchant` the merchant addressed, so a signature cannot be replayed on another log or to
 * another merchant; `nonce` and `expires` bound it in time (the server checks both).
 */
export interface Command {
  v: 1;
  type: string;
  ledger: string;
  /** did:key of the customer's Ed25519 key or P-256 passkey for this merchant. */
  actor: string;
  merchant: string;
  /** 16 to 64 random bytes, base64url without padding. */
  nonce: string;
  /** RFC 3339 UTC (`Z`); the command is expired from this instant on. */
  expires: string;
  payload: JsonValue;
}

/** A command and its proof, as `POST /v1/commands` takes it and an entry's `signed` keeps it. */
export type SignedCommand =
  | { command: Command /** base64url of the 64-byte Ed25519 signature. */; signature: string }
  | { command: Command; webauthn: WebAuthnProof };

export interface VerifyCommandOptions {
  /** Origins a passkey ceremony may have run on (WebAuthn only). */
  origins?: readonly string[];
  /** The WebAuthn relying party id (WebAuthn only). */
  rpId?: string;
  /** Require the passkey's user-verified flag (WebAuthn only). */
  requireUserVerification?: boolean;
  /** Accept a passkey ceremony run in a cross-origin iframe (WebAuthn only; off by default). */
  allowCrossOrigin?: boolean;
  /**
   * An Ed25519 verifier to use instead of @noble's (the server passes node:crypto's, an order of
   * magnitude faster). It must be RFC 8032 strict, as ed25519Verify is, and never throw.
   */
  ed25519?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
  /** An ES256 verifier instead of @noble's, for passkey assertions (see WebAuthnOptions.es256). */
  es256?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
}

const COMMAND_FIELDS = ["v", "type", "ledger", "actor", "merchant", "nonce", "expires", "payload"];
const WEBAUTHN_FIELDS: readonly (keyof WebAuthnProof)[] = [
  "authenticatorData",
  "clientDataJSON",
  "signature",
];
const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MERCHANT = /^m_[A-Za-z0-9_-]{1,64}$/;
const SIGNING_PREFIX = utf8Encode("patron-command/v1\n");

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

function malformed(message: string): never {
  throw new CommandError("malformed", message);
}

/** Refuses anything but exactly `fields` (all present) in `x`, naming the first offender. */
function exactFields(x: Record<string, unknown>, fields: readonly string[], path: string): void {
  for (const k of Object.keys(x)) {
    if (!fields.includes(k)) malformed(`${path || "signed command"} has unknown field "${k}"`);
  }
  for (const k of fields) if (!(k in x)) malformed(`${join(path, k)} is missing`);
}

function readActor(actor: unknown, path: string): DidKey {
  if (typeof actor !== "string") malformed(`${path} must be a did:key string`);
  let key: DidKey;
  try {
    key = decodeDidKey(actor);
  } catch (err) {
    if (err instanceof DidKeyError && err.code === "unsupported") {
      throw new CommandError("unsupported_key", `${path}: ${err.message}`, { cause: err });
    }
    const reason = (err as Error).message;
    throw new CommandError("malformed", `${path} is not a valid did:key: ${reason}`, {
      cause: err,
    });
  }
  if (key.type !== "Ed25519" && key.type !== "P-256") {
    throw new CommandError(
      "unsupported_key",
      `${path} is a ${key.type} did:key; commands are signed with Ed25519 or a P-256 passkey`,
    );
  }
  return key;
}

/**
 * Checks a command's shape and returns a copy holding only its fields. `path` names the command
 * in messages ("command", or "entry.signed.command" when an entry is decoded); the package
 * exports parseCommand, not this.
 */
export function readCommand(x: unknown, path: string): Command {
  if (!isPlainObject(x)) malformed(`${path} must be a JSON object`);
  exactFields(x, COMMAND_FIELDS, path);
  for (const k of COMMAND_FIELDS) {
    try {
      assertJson(x[k], join(path, k));
    } catch (err) {
      malformed((err as Error).message);
    }
  }
  const { v, type, ledger, actor, merchant, nonce, expires } = x;
  if (v !== 1) malformed(`${join(path, "v")} must be 1`);
  if (typeof type !== "string" || !TYPE.test(type)) {
    malformed(`${join(path, "type")} must be dotted lower-case words such as "customer.join"`);
  }
  if (typeof ledger !== "string" || ledger === "") {
    malformed(`${join(path, "ledger")} must be the ledger's origin line`);
  }
  readActor(actor, join(path, "actor"));
  if (typeof merchant !== "string" || !MERCHANT.test(merchant)) {
    malformed(`${join(path, "merchant")} must be a merchant id such as "m_abc123"`);
  }
  const nonceBytes = typeof nonce === "string" ? tryDecodeBase64Url(nonce) : undefined;
  if (!nonceBytes || nonceBytes.length < 16 || nonceBytes.length > 64) {
    malformed(`${join(path, "nonce")} must be 16 to 64 random bytes in base64url without padding`);
  }
  if (typeof expires !== "string" || rfc3339UtcMillis(expires) === undefined) {
    malformed(`${join(path, "expires")} must be an RFC 3339 UTC time such as 2026-01-02T03:04:05Z`);
  }
  return {
    v: 1,
    type,
    ledger,
    actor: actor as string,
    merchant,
    nonce: nonce as string,
    expires,
    payload: x.payload as JsonValue,
  };
}

function readWebAuthn(x: unknown, path: string): WebAuthnProof {
  if (!isPlainObject(x)) malformed(`${path} must be a JSON object`);
  exactFields(x, WEBAUTHN_FIELDS, path);
  const member = (k: keyof WebAuthnProof): string => {
    const value = x[k];
    if (typeof value !== "string" || value === "" || !tryDecodeBase64Url(value)) {
      malformed(`${join(path, k)} must be base64url without padding`);
    }
    return value;
  };
  return {
    authenticatorData: member("authenticatorData"),
    clientDataJSON: member("clientDataJSON"),
    signature: member("signature"),
  };
}

/**
 * Checks a signed command's shape (not its signature); `path` prefixes every message ("" for
 * the body of `POST /v1/commands`, "entry.signed" in an entry). Exported as parseSignedCommand.
 */
export function readSignedCommand(x: unknown, path: string): SignedCommand {
  const what = path === "" ? "signed command" : path;
  if (!isPlainObject(x)) malformed(`${what} must be a JSON object`);
  const hasSignature = "signature" in x;
  const hasWebAuthn = "webauthn" in x;
  if (hasSignature === hasWebAuthn) {
    malformed(`${what} must hold "command" and exactly one of "signature" or "webauthn"`);
  }
  exactFields(x, ["command", hasSignature ? "signature" : "webauthn"], path);
  const command = readCommand(x.command, join(path, "command"));
  if (hasSignature) {
    const s = x.signature;
    if (typeof s !== "string" || tryDecodeBase64Url(s)?.length !== 64) {
      malformed(`${join(path, "signature")} must be a 64-byte Ed25519 signature in base64url`);
    }
    return { command, signature: s };
  }
  return { command, webauthn: readWebAuthn(x.webauthn, join(path, "webauthn")) };
}

/** Checks a command's exact field set and every field's form; throws CommandError. */
export function parseCommand(x: unknown): Command {
  return readCommand(x, "command");
}

/**
 * Checks `{command, signature}` or `{command, webauthn}` (the body of `POST /v1/commands`), not
 * the signature itself; throws CommandError "malformed" naming the field.
 */
export function parseSignedCommand(x: unknown): SignedCommand {
  return readSignedCommand(x, "");
}

/** What is signed: UTF-8("patron-command/v1\n") ‖ JCS(command). */
export function commandSigningBytes(command: Command): Uint8Array {
  return signingBytesOf(parseCommand(command));
}

/** The signing bytes of a command already parsed. */
function signingBytesOf(command: Command): Uint8Array {
  // The prefix keeps a command signature from ever being valid as any other Patron signature.
  return concatBytes(SIGNING_PREFIX, utf8Encode(canonicalizeChecked(command)));
}

/** The WebAuthn challenge for a command: SHA-256(commandSigningBytes(command)). */
export function commandChallenge(command: Command): Uint8Array {
  return sha256(commandSigningBytes(command));
}

/**
 * Signs a command with a 32-byte Ed25519 secret key. The command's actor must already be the
 * did:key of that key, so that a signature never names someone else.
 */
export function signCommand(command: Command, secretKey: Uint8Array): SignedCommand {
  if (!isBytes(secretKey) || secretKey.length !== 32) {
    throw new TypeError("Ed25519 secret key must be 32 bytes");
  }
  const bytes = commandSigningBytes(command);
  const actor = encodeDidKey({ type: "Ed25519", publicKey: ed25519.getPublicKey(secretKey) });
  if (command.actor !== actor) {
    malformed(`command.actor is not the did:key of this secret key (${actor})`);
  }
  return {
    command: parseCommand(command),
    signature: encodeBase64Url(ed25519.sign(bytes, secretKey)),
  };
}

/**
 * Verifies a signed command and returns the command. An Ed25519 actor must have signed
 * commandSigningBytes; a P-256 actor must have made a WebAuthn assertion whose challenge is
 * commandChallenge. Expiry, nonce reuse, the ledger origin and whether the key is bound to a
 * customer are the server's checks, not this function's.
 */
export function verifyCommand(signed: SignedCommand, opts: VerifyCommandOptions = {}): Command {
  const parsed = parseSignedCommand(signed);
  const { command } = parsed;
  const key = readActor(command.actor, "command.actor");
  if (key.type === "Ed25519") {
    if (!("signature" in parsed)) {
      throw new CommandError(
        "bad_signature",
        "command.actor is an Ed25519 did:key: it signs with `signature`, not `webauthn`",
      );
    }
    const sig = tryDecodeBase64Url(parsed.signature) as Uint8Array;
    const verify = opts.ed25519 ?? ed25519Verify;
    if (!verify(sig, signingBytesOf(command), key.publicKey)) {
      throw new CommandError(
        "bad_signature",
        "the Ed25519 signature does not verify for command.actor",
      );
    }
    return command;
  }
  if (!("webauthn" in parsed)) {
    throw new CommandError(
      "bad_signature",
      "command.actor is a P-256 (passkey) did:key: it signs with `webauthn`, not `signature`",
    );
  }
  verifyWebAuthn(parsed.webauthn, {
    publicKey: key.publicKey,
    challenge: sha256(signingBytesOf(command)),
    origins: opts.origins,
    rpId: opts.rpId,
    requireUserVerification: opts.requireUserVerification,
    allowCrossOrigin: opts.allowCrossOrigin,
    ...(opts.es256 ? { es256: opts.es256 } : {}),
  });
  return command;
}

/**
 * `expires` in milliseconds since the epoch. A fraction finer than a millisecond rounds up, so
 * `now >= commandExpiry(c)` is exactly "expires is at or before now" for a millisecond clock.
 */
export function commandExpiry(command: Command): number {
  const ms = rfc3339UtcMillis(command?.expires);
  if (ms === undefined) {
    malformed("command.expires must be an RFC 3339 UTC time such as 2026-01-02T03:04:05Z");
  }
  return ms;
}

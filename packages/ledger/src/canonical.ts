import { ed25519 } from "@noble/curves/ed25519.js";
import { readSignedCommand, type SignedCommand } from "./command.js";
import { decodeDidKey, encodeDidKey } from "./did-key.js";
import {
  encodeBase64,
  encodeBase64Url,
  tryDecodeBase64,
  tryDecodeBase64Url,
  utf8Decode,
} from "./encoding.js";
import { CommandError, EntryFormatError } from "./errors.js";
import { isBytes } from "./hash.js";
import {
  assertJson,
  canonicalBytes,
  canonicalizeChecked,
  isCanonicalText,
  isPlainObject,
  isRfc3339Utc,
  type JsonValue,
} from "./json.js";
import {
  ed25519Verify,
  formatVerifierKey,
  type NoteSigner,
  parseSignerKey,
  parseVerifierKey,
} from "./note.js";

export { canonicalBytes, canonicalJson, type JsonValue } from "./json.js";

export interface EntrySignature {
  alg: "Ed25519";
  /** The signer's key: a note verifier key string, a did:key, or another identifier. */
  key: string;
  /** base64 Ed25519 signature over entrySigningBytes(entry). */
  sig: string;
}

/** A party an entry concerns, and the index of that party's previous entry (null: the first). */
export type Subject =
  | { customer: string; prev: number | null }
  | { merchant: string; prev: number | null };

/** A ledger entry. Its canonical JSON bytes are the Merkle leaf data. */
export interface Entry {
  v: 1;
  type: string;
  actor: string;
  /** RFC 3339, UTC ("Z"), e.g. 2025-01-02T03:04:05.678Z. */
  time: string;
  payload: JsonValue;
  /** Each customer and merchant the entry concerns, with the index of its previous entry. */
  subjects?: Subject[];
  /** 16 random bytes (base64url): present exactly when the entry is sealed. */
  salt?: string;
  /** The customer's signed command this entry records, kept as it was signed. */
  signed?: SignedCommand;
  /** @deprecated entries written before signed commands; decoded and verified, never written by new code */
  signature?: EntrySignature;
}

const ENTRY_FIELDS = new Set([
  "v",
  "type",
  "actor",
  "time",
  "payload",
  "subjects",
  "salt",
  "signed",
  "signature",
]);
// A member set to undefined counts as absent, as `signature: undefined` always has.
const OPTIONAL_FIELDS = new Set(["subjects", "salt", "signed", "signature"]);
const SIGNATURE_FIELDS = new Set(["alg", "key", "sig"]);
const CUSTOMER_ID = /^c_[A-Za-z0-9_-]{1,64}$/;
const MERCHANT_ID = /^m_[A-Za-z0-9_-]{1,64}$/;
const SALT_BYTES = 16;

function fail(message: string): never {
  throw new EntryFormatError("malformed", message);
}

/** Checks the shape of an entry and returns a copy holding only its fields. */
function checkEntry(x: unknown, withSignature: boolean, plainJson = false): Entry {
  if (!isPlainObject(x)) fail("entry is not a JSON object");
  for (const k of Object.keys(x)) {
    if (!ENTRY_FIELDS.has(k)) fail(`entry has unknown field "${k}"`);
  }
  const has = (k: string) => x[k] !== undefined;
  try {
    // plainJson: the caller has checked the whole value is JSON that JCS accepts.
    if (!plainJson) {
      for (const [k, v] of Object.entries(x)) {
        if (!(OPTIONAL_FIELDS.has(k) && v === undefined)) assertJson(v, `entry.${k}`);
      }
    }
  } catch (err) {
    fail((err as Error).message);
  }
  if (x.v !== 1) fail("entry.v must be 1");
  if (typeof x.type !== "string" || x.type === "") fail("entry.type must be a non-empty string");
  if (typeof x.actor !== "string" || x.actor === "") fail("entry.actor must be a non-empty string");
  if (typeof x.time !== "string" || !isRfc3339Utc(x.time)) {
    fail("entry.time must be an RFC 3339 UTC timestamp such as 2025-01-02T03:04:05Z");
  }
  if (!("payload" in x)) fail("entry.payload is missing");
  const entry: Entry = {
    v: 1,
    type: x.type,
    actor: x.actor,
    time: x.time,
    payload: x.payload as JsonValue,
  };
  if (has("subjects")) entry.subjects = checkSubjects(x.subjects);
  if (has("salt")) entry.salt = checkSalt(x.salt);
  if (has("signed")) entry.signed = checkSigned(x.signed);
  if (withSignature && has("signature")) {
    // An entry is authorised one way: a command signature, or (before those) an entry signature.
    if (entry.signed) fail("entry.signature and entry.signed cannot both be present");
    entry.signature = checkSignature(x.signature);
  }
  return entry;
}

function checkSubjects(x: unknown): Subject[] {
  if (!Array.isArray(x) || x.length === 0) fail("entry.subjects must be a non-empty array");
  const seen = new Set<string>();
  return x.map((s: unknown, i): Subject => {
    const path = `entry.subjects[${i}]`;
    if (!isPlainObject(s)) fail(`${path} must be an object`);
    const keys = Object.keys(s);
    const party = keys.filter((k) => k === "customer" || k === "merchant");
    if (party.length !== 1) fail(`${path} must name exactly one of "customer" or "merchant"`);
    for (const k of keys) {
      if (k !== "prev" && k !== party[0]) fail(`${path} has unknown field "${k}"`);
    }
    if (!("prev" in s)) fail(`${path}.prev is missing`);
    const prev = s.prev;
    if (prev !== null && !(Number.isSafeInteger(prev) && (prev as number) >= 0)) {
      fail(`${path}.prev must be null or the index of the party's previous entry`);
    }
    const p = prev as number | null;
    let subject: Subject;
    if (party[0] === "customer") {
      if (typeof s.customer !== "string" || !CUSTOMER_ID.test(s.customer)) {
        fail(`${path}.customer must be a customer id such as "c_abc123"`);
      }
      subject = { customer: s.customer, prev: p };
    } else {
      if (typeof s.merchant !== "string" || !MERCHANT_ID.test(s.merchant)) {
        fail(`${path}.merchant must be a merchant id such as "m_abc123"`);
      }
      subject = { merchant: s.merchant, prev: p };
    }
    const id = "customer" in subject ? subject.customer : subject.merchant;
    if (seen.has(id)) fail(`${path} names ${id} a second time`);
    seen.add(id);
    return subject;
  });
}

function checkSalt(x: unknown): string {
  if (typeof x !== "string" || tryDecodeBase64Url(x)?.length !== SALT_BYTES) {
    fail(`entry.salt must be ${SALT_BYTES} random bytes in base64url without padding`);
  }
  return x;
}

function checkSigned(x: unknown): SignedCommand {
  try {
    return readSignedCommand(x, "entry.signed");
  } catch (err) {
    if (err instanceof CommandError) {
      throw new EntryFormatError("malformed", err.message, { cause: err });
    }
    throw err;
  }
}

function checkSignature(s: unknown): EntrySignature {
  if (!isPlainObject(s)) fail("entry.signature must be an object");
  for (const k of Object.keys(s)) {
    if (!SIGNATURE_FIELDS.has(k)) fail(`entry.signature has unknown field "${k}"`);
  }
  if (s.alg !== "Ed25519") fail('entry.signature.alg must be "Ed25519"');
  if (typeof s.key !== "string" || s.key === "")
    fail("entry.signature.key must be a non-empty string");
  if (typeof s.sig !== "string" || tryDecodeBase64(s.sig)?.length !== 64) {
    fail("entry.signature.sig must be a base64 Ed25519 signature (64 bytes)");
  }
  return { alg: "Ed25519", key: s.key, sig: s.sig };
}

/**
 * Canonical bytes of a valid entry: the leaf data. Throws EntryFormatError for an invalid one.
 * A `signature: undefined` member counts as no signature.
 */
export function encodeEntry(entry: Entry): Uint8Array {
  return canonicalBytes(checkEntry(entry, true));
}

/**
 * Parses leaf data. Only the canonical encoding of a valid entry is accepted, so each entry has
 * exactly one leaf hash.
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (!isBytes(bytes)) fail("entry data is not a Uint8Array");
  let text: string;
  try {
    text = utf8Decode(bytes);
  } catch {
    fail("entry is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail("entry is not valid JSON");
  }
  const canonical = isCanonicalText(parsed, text);
  // A value JCS refuses is named, with its path, by checkEntry's full check of every field.
  const entry = checkEntry(parsed, true, canonical !== "invalid");
  if (canonical === false || (canonical === "invalid" && canonicalizeChecked(parsed) !== text)) {
    throw new EntryFormatError("not_canonical", "entry is not in canonical form (RFC 8785 JSON)");
  }
  return entry;
}

/** What an entry signature covers: the canonical bytes of the entry without `signature`. */
export function entrySigningBytes(entry: Entry): Uint8Array {
  return canonicalBytes(checkEntry(entry, false));
}

/** did:key identifier of an Ed25519 public key (encodeDidKey for the common case). */
export function ed25519DidKey(publicKey: Uint8Array): string {
  return encodeDidKey({ type: "Ed25519", publicKey });
}

/**
 * The Ed25519 public key named by an entry signature's `key` (a note verifier key or an Ed25519
 * did:key), or undefined when it names a key some other way.
 */
export function publicKeyFromEntryKey(key: string): Uint8Array | undefined {
  if (typeof key !== "string") return undefined;
  if (key.startsWith("did:key:")) {
    try {
      const did = decodeDidKey(key);
      return did.type === "Ed25519" ? did.publicKey : undefined;
    } catch {
      // not a did:key we can read
      return undefined;
    }
  }
  try {
    return parseVerifierKey(key).publicKey;
  } catch {
    return undefined;
  }
}

/** True exactly when the entry is sealed: it carries a salt, so its leaf hash cannot be guessed. */
export function isSealed(entry: Entry): boolean {
  return entry.salt !== undefined;
}

/** A fresh salt for a sealed entry: 16 bytes from the platform's CSPRNG, base64url. */
export function newSalt(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(SALT_BYTES)));
}

/**
 * Signs an entry with a note signer key (string or parsed) or a raw 32-byte Ed25519 secret key.
 * `key` defaults to the signer's verifier key string, or the did:key for a raw secret key.
 * Returns a new entry; any previous signature is replaced.
 *
 * @deprecated Entry signatures predate signed commands: a customer signs a Command
 * (signCommand) and the entry keeps it in `signed`. This stays so that old entries can be
 * reproduced in tests; new code never writes `signature`.
 */
export function signEntry(
  entry: Entry,
  signer: string | NoteSigner | Uint8Array,
  key?: string,
): Entry {
  const unsigned = checkEntry(entry, false);
  if (unsigned.signed) fail("entry.signature and entry.signed cannot both be present");
  let secretKey: Uint8Array;
  let defaultKey: string;
  if (isBytes(signer)) {
    if (signer.length !== 32) throw new TypeError("Ed25519 secret key must be 32 bytes");
    secretKey = signer;
    defaultKey = ed25519DidKey(ed25519.getPublicKey(signer));
  } else {
    const s = typeof signer === "string" ? parseSignerKey(signer) : signer;
    secretKey = s.secretKey;
    defaultKey = formatVerifierKey(s.name, s.publicKey);
  }
  const sig = ed25519.sign(canonicalBytes(unsigned), secretKey);
  return {
    ...unsigned,
    signature: { alg: "Ed25519", key: key ?? defaultKey, sig: encodeBase64(sig) },
  };
}

/**
 * True when `entry.signature` is a valid Ed25519 signature by `publicKey`. The caller chooses
 * the key to trust; if the signature's `key` field names a key (verifier key or did:key), it
 * must be that same key. Never throws.
 */
export function verifyEntrySignature(entry: Entry, publicKey: Uint8Array): boolean {
  try {
    if (!isBytes(publicKey) || publicKey.length !== 32) return false;
    const s = entry.signature;
    if (s?.alg !== "Ed25519" || typeof s.sig !== "string") return false;
    const sig = tryDecodeBase64(s.sig);
    if (sig?.length !== 64) return false;
    const named = publicKeyFromEntryKey(s.key);
    if (named && encodeBase64(named) !== encodeBase64(publicKey)) return false;
    return ed25519Verify(sig, entrySigningBytes(entry), publicKey);
  } catch {
    return false;
  }
}

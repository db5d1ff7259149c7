import { ed25519 } from "@noble/curves/ed25519.js";
import canonicalizeModule from "canonicalize";
import {
  concatBytes,
  decodeBase58,
  encodeBase58,
  encodeBase64,
  isWellFormedUnicode,
  tryDecodeBase64,
  utf8Decode,
  utf8Encode,
} from "./encoding.js";
import { EntryFormatError } from "./errors.js";
import { isBytes } from "./hash.js";
import {
  ed25519Verify,
  formatVerifierKey,
  type NoteSigner,
  parseSignerKey,
  parseVerifierKey,
} from "./note.js";

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

type Canonicalize = (input: unknown) => string | undefined;
// canonicalize is CommonJS typed as if it had a default export: Node gives ESM the function
// itself, while some bundlers give a namespace whose `default` is the function.
const canonicalizeAny: unknown = canonicalizeModule;
const canonicalize = (
  typeof canonicalizeAny === "function"
    ? canonicalizeAny
    : (canonicalizeAny as { default: unknown }).default
) as Canonicalize;

// canonicalize quietly drops undefined members, turns undefined array items into null, calls
// toJSON (Date, ...) and serializes class instances by their own keys. A signed or hashed value
// must mean exactly what the caller passed, so anything that is not plain JSON is refused first.
function assertJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case "boolean":
      return;
    case "string":
      // RFC 8785 §3.2.2.2: lone surrogates must be an error.
      if (!isWellFormedUnicode(value)) throw new TypeError(`${path}: string has a lone surrogate`);
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a JSON number`);
      return;
    case "object": {
      if (value === null) return;
      if (ancestors.has(value)) throw new TypeError(`${path}: circular reference`);
      ancestors.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new TypeError(`${path}[${i}]: array hole`);
          assertJson(value[i], `${path}[${i}]`, ancestors);
        }
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const kind = (value as object).constructor?.name ?? "object";
          throw new TypeError(`${path}: ${kind} is not a plain JSON object`);
        }
        if (Object.getOwnPropertySymbols(value).length > 0) {
          throw new TypeError(`${path}: symbol keys are not JSON`);
        }
        for (const [k, v] of Object.entries(value)) {
          if (!isWellFormedUnicode(k)) throw new TypeError(`${path}: key has a lone surrogate`);
          assertJson(v, `${path}.${k}`, ancestors);
        }
      }
      ancestors.delete(value);
      return;
    }
    default:
      throw new TypeError(`${path}: ${typeof value} is not a JSON value`);
  }
}

/** RFC 8785 (JCS) serialization. Throws TypeError on anything that is not plain JSON data. */
export function canonicalJson(value: unknown): string {
  assertJson(value, "$", new Set());
  return canonicalize(value) as string;
}

/** UTF-8 bytes of canonicalJson(value). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalJson(value));
}

export interface EntrySignature {
  alg: "Ed25519";
  /** The signer's key: a note verifier key string, a did:key, or another identifier. */
  key: string;
  /** base64 Ed25519 signature over entrySigningBytes(entry). */
  sig: string;
}

/** A ledger entry. Its canonical JSON bytes are the Merkle leaf data. */
export interface Entry {
  v: 1;
  type: string;
  actor: string;
  /** RFC 3339, UTC ("Z"), e.g. 2025-01-02T03:04:05.678Z. */
  time: string;
  payload: JsonValue;
  signature?: EntrySignature;
}

const ENTRY_FIELDS = new Set(["v", "type", "actor", "time", "payload", "signature"]);
const SIGNATURE_FIELDS = new Set(["alg", "key", "sig"]);
const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

// Leap seconds (":60") are refused: JavaScript dates cannot represent them.
function isRfc3339Utc(s: string): boolean {
  const m = RFC3339_UTC.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  if (month === undefined || month < 1 || month > 12 || day === undefined || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year as number, month, 0)).getUTCDate();
  return (
    day <= daysInMonth &&
    (hour as number) <= 23 &&
    (minute as number) <= 59 &&
    (second as number) <= 59
  );
}

function fail(message: string): never {
  throw new EntryFormatError("malformed", message);
}

/** Checks the shape of an entry and returns a copy holding only its fields. */
function checkEntry(x: unknown, withSignature: boolean): Entry {
  if (!isPlainObject(x)) fail("entry is not a JSON object");
  for (const k of Object.keys(x)) {
    if (!ENTRY_FIELDS.has(k)) fail(`entry has unknown field "${k}"`);
  }
  try {
    for (const [k, v] of Object.entries(x)) {
      if (!(k === "signature" && v === undefined)) assertJson(v, `entry.${k}`, new Set());
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
  if (withSignature && x.signature !== undefined) entry.signature = checkSignature(x.signature);
  return entry;
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
  const entry = checkEntry(parsed, true);
  // checkEntry has already checked every field is plain JSON: serialise without checking again.
  if (canonicalize(parsed) !== text) {
    throw new EntryFormatError("not_canonical", "entry is not in canonical form (RFC 8785 JSON)");
  }
  return entry;
}

/** What an entry signature covers: the canonical bytes of the entry without `signature`. */
export function entrySigningBytes(entry: Entry): Uint8Array {
  return canonicalBytes(checkEntry(entry, false));
}

const DID_KEY_PREFIX = "did:key:z";
const ED25519_MULTICODEC = new Uint8Array([0xed, 0x01]);

/** did:key identifier of an Ed25519 public key. */
export function ed25519DidKey(publicKey: Uint8Array): string {
  if (!isBytes(publicKey) || publicKey.length !== 32)
    throw new TypeError("Ed25519 public key must be 32 bytes");
  return DID_KEY_PREFIX + encodeBase58(concatBytes(ED25519_MULTICODEC, publicKey));
}

/**
 * The Ed25519 public key named by an entry signature's `key` (a note verifier key or an Ed25519
 * did:key), or undefined when it names a key some other way.
 */
export function publicKeyFromEntryKey(key: string): Uint8Array | undefined {
  if (typeof key !== "string") return undefined;
  if (key.startsWith(DID_KEY_PREFIX)) {
    try {
      const raw = decodeBase58(key.slice(DID_KEY_PREFIX.length));
      if (raw.length === 34 && raw[0] === 0xed && raw[1] === 0x01) return raw.slice(2);
    } catch {
      // not base58: not a key we can read
    }
    return undefined;
  }
  try {
    return parseVerifierKey(key).publicKey;
  } catch {
    return undefined;
  }
}

/**
 * Signs an entry with a note signer key (string or parsed) or a raw 32-byte Ed25519 secret key.
 * `key` defaults to the signer's verifier key string, or the did:key for a raw secret key.
 * Returns a new entry; any previous signature is replaced.
 */
export function signEntry(
  entry: Entry,
  signer: string | NoteSigner | Uint8Array,
  key?: string,
): Entry {
  const unsigned = checkEntry(entry, false);
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

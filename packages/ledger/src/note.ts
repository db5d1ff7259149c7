import { ed25519 } from "@noble/curves/ed25519.js";
import {
  concatBytes,
  encodeBase64,
  isWellFormedUnicode,
  tryDecodeBase64,
  utf8Encode,
} from "./encoding.js";
import { NoteError } from "./errors.js";
import { isBytes, sha256 } from "./hash.js";

// Signed notes as defined by golang.org/x/mod/sumdb/note (and C2SP signed-note), so that Go
// verifiers, witnesses and monitors accept Patron's checkpoints unchanged.

/** A parsed signer key. `secretKey` is the 32-byte Ed25519 seed. */
export interface NoteSigner {
  name: string;
  keyId: number;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /**
   * Signs with this key another way (a server's native Ed25519, a hardware key); Ed25519 is
   * deterministic, so the signature is the same bytes. Without it, @noble/curves signs.
   */
  sign?: (message: Uint8Array) => Uint8Array;
}

/** A parsed verifier key. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Uint8Array;
  /**
   * Verifies with this key another way (a server's native Ed25519); without it, @noble/curves
   * verifies, strictly (RFC 8032).
   */
  verify?: (signature: Uint8Array, message: Uint8Array) => boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
}

export interface OpenedNote {
  text: string;
  /** Verified signatures, in note order (signatures by unknown keys are ignored). */
  signatures: NoteSignature[];
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = "\u2014 "; // em dash, space
const MAX_SIGNATURES = 100; // Go's limit: bounds the work a hostile note can cause

// Go's unicode.IsSpace: ASCII whitespace, U+0085, U+00A0 and the rest of Unicode White_Space.
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f]/;

/** Why `name` is not a valid key name, or undefined if it is. */
function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name === "") return "key name is empty";
  if (!isWellFormedUnicode(name)) return "key name is not well-formed Unicode";
  if (name.includes("+")) return `key name "${name}" contains "+"`;
  if (GO_SPACE.test(name)) return `key name "${name}" contains whitespace`;
  // Go accepts these in names, but no note signed under such a name could ever be opened.
  if (CONTROL.test(name)) return `key name "${name}" contains control characters`;
  return undefined;
}

/** Go's keyHash: first 4 bytes, big-endian, of SHA-256(name ‖ "\n" ‖ 0x01 ‖ publicKey). */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const h = sha256(concatBytes(utf8Encode(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey));
  return readUint32(h);
}

function readUint32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}

function hexId(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

/** Go's chop: split at the first `sep`; without one, everything is `before`. */
function chop(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + sep.length)];
}

function parseKeyBody(name: string, hex: string, b64: string, kind: string): Uint8Array {
  const problem = nameProblem(name);
  if (problem) throw new NoteError("invalid_key", `malformed ${kind} key: ${problem}`);
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) {
    throw new NoteError("invalid_key", `malformed ${kind} key: key id is not 8 hex digits`);
  }
  const key = tryDecodeBase64(b64);
  if (!key || key.length === 0) {
    throw new NoteError("invalid_key", `malformed ${kind} key: key data is not base64`);
  }
  if (key[0] !== ALG_ED25519) {
    throw new NoteError("invalid_key", `${kind} key uses unknown algorithm ${key[0]}`);
  }
  if (key.length !== 33) {
    throw new NoteError("invalid_key", `malformed ${kind} key: Ed25519 key is not 32 bytes`);
  }
  return key.subarray(1);
}

export function parseVerifierKey(s: string): NoteVerifier {
  if (typeof s !== "string") throw new NoteError("invalid_key", "verifier key is not a string");
  const [name, rest] = chop(s, "+");
  const [hex, b64] = chop(rest, "+");
  const publicKey = parseKeyBody(name, hex, b64, "verifier");
  const keyId = Number.parseInt(hex, 16);
  if (keyId !== noteKeyId(name, publicKey)) {
    throw new NoteError(
      "invalid_key",
      `verifier key ${name}+${hex}: key id does not match the key`,
    );
  }
  return { name, keyId, publicKey: publicKey.slice() };
}

// Messages about signer keys never quote the key: it is a secret.
export function parseSignerKey(s: string): NoteSigner {
  if (typeof s !== "string") throw new NoteError("invalid_key", "signer key is not a string");
  const [priv, rest1] = chop(s, "+");
  const [key, rest2] = chop(rest1, "+");
  if (priv !== "PRIVATE" || key !== "KEY") {
    throw new NoteError("invalid_key", 'malformed signer key: it must start with "PRIVATE+KEY+"');
  }
  const [name, rest3] = chop(rest2, "+");
  const [hex, b64] = chop(rest3, "+");
  const secretKey = parseKeyBody(name, hex, b64, "signer").slice();
  const publicKey = ed25519.getPublicKey(secretKey);
  const keyId = Number.parseInt(hex, 16);
  // The id hashes the public key, so it can only be checked after deriving it.
  if (keyId !== noteKeyId(name, publicKey)) {
    throw new NoteError("invalid_key", `signer key for ${name}: key id does not match the key`);
  }
  return { name, keyId, secretKey, publicKey };
}

/** `<name>+<hex id>+<base64(0x01 ‖ publicKey)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const problem = nameProblem(name);
  if (problem) throw new NoteError("invalid_key", problem);
  if (!isBytes(publicKey) || publicKey.length !== 32) {
    throw new NoteError("invalid_key", "Ed25519 public key must be 32 bytes");
  }
  const body = encodeBase64(concatBytes(new Uint8Array([ALG_ED25519]), publicKey));
  return `${name}+${hexId(noteKeyId(name, publicKey))}+${body}`;
}

function formatSignerKey(name: string, seed: Uint8Array, publicKey: Uint8Array): string {
  const body = encodeBase64(concatBytes(new Uint8Array([ALG_ED25519]), seed));
  return `PRIVATE+KEY+${name}+${hexId(noteKeyId(name, publicKey))}+${body}`;
}

export function generateNoteKeys(name: string): { signerKey: string; verifierKey: string } {
  const problem = nameProblem(name);
  if (problem) throw new NoteError("invalid_key", problem);
  const seed = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(seed);
  return {
    signerKey: formatSignerKey(name, seed, publicKey),
    verifierKey: formatVerifierKey(name, publicKey),
  };
}

export function verifierKeyFromSigner(signerKey: string | NoteSigner): string {
  const s = typeof signerKey === "string" ? parseSignerKey(signerKey) : signerKey;
  return formatVerifierKey(s.name, s.publicKey);
}

/** Go's Open rule for the whole note: valid UTF-8, no ASCII control characters but newline. */
function noteCharsProblem(s: string): string | undefined {
  if (!isWellFormedUnicode(s)) return "it is not well-formed Unicode";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a)
      return `it contains control character U+${c.toString(16).padStart(4, "0")}`;
  }
  return undefined;
}

/** Ed25519 verification that never throws (noble throws on some malformed inputs). */
export function ed25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  try {
    // zip215: false is RFC 8032 strict verification, close to Go's crypto/ed25519.
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Signs `text` (which must end in a newline) and returns the signed note:
 * text, a blank line, and `— <name> <base64(keyId ‖ signature)>`.
 */
export function signNote(text: string, signerKey: string | NoteSigner): string {
  if (typeof text !== "string" || !text.endsWith("\n")) {
    throw new NoteError("malformed", "note text must end with a newline");
  }
  const problem = noteCharsProblem(text);
  if (problem) throw new NoteError("malformed", `invalid note text: ${problem}`);
  const signer = typeof signerKey === "string" ? parseSignerKey(signerKey) : signerKey;
  const nameErr = nameProblem(signer.name);
  if (nameErr) throw new NoteError("invalid_key", nameErr);
  const message = utf8Encode(text);
  const sig = signer.sign ? signer.sign(message) : ed25519.sign(message, signer.secretKey);
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, signer.keyId);
  return `${text}\n${SIG_PREFIX}${signer.name} ${encodeBase64(concatBytes(id, sig))}\n`;
}

function verifierTable(keys: readonly (string | NoteVerifier)[]): Map<string, NoteVerifier> {
  const table = new Map<string, NoteVerifier>();
  for (const k of keys) {
    const v = typeof k === "string" ? parseVerifierKey(k) : k;
    const slot = `${v.keyId}:${v.name}`;
    const prev = table.get(slot);
    if (prev && encodeBase64(prev.publicKey) !== encodeBase64(v.publicKey)) {
      // Same name and id but different keys: whoever supplied the list is confused or hostile.
      throw new NoteError("ambiguous_key", `ambiguous verifier key ${v.name}+${hexId(v.keyId)}`);
    }
    table.set(slot, v);
  }
  return table;
}

/**
 * Opens a signed note: checks its format and the signatures by the given keys. Signatures by
 * other keys are ignored (they may be witnesses' cosignatures), but at least one known key must
 * have signed, and a known key's signature that does not verify is an error.
 */
export function openNote(
  note: string,
  verifierKeys: readonly (string | NoteVerifier)[],
): OpenedNote {
  const known = verifierTable(verifierKeys);
  if (typeof note !== "string") throw new NoteError("malformed", "malformed note: not a string");
  const problem = noteCharsProblem(note);
  if (problem) throw new NoteError("malformed", `malformed note: ${problem}`);
  const split = note.lastIndexOf("\n\n");
  if (split < 0)
    throw new NoteError("malformed", "malformed note: no blank line before signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === "" || !block.endsWith("\n")) {
    throw new NoteError("malformed", "malformed note: signature block must end with a newline");
  }
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) {
    throw new NoteError("malformed", `malformed note: more than ${MAX_SIGNATURES} signatures`);
  }
  const message = utf8Encode(text);
  const seen = new Set<string>();
  const signatures: NoteSignature[] = [];
  const unknown: string[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) {
      throw new NoteError("malformed", "malformed note: signature line must start with an em dash");
    }
    const [name, b64] = chop(line.slice(SIG_PREFIX.length), " ");
    const raw = b64 === "" ? undefined : tryDecodeBase64(b64);
    if (!raw || raw.length < 5 || nameProblem(name) !== undefined) {
      throw new NoteError("malformed", "malformed note: bad signature line");
    }
    const keyId = readUint32(raw);
    const slot = `${keyId}:${name}`;
    const v = known.get(slot);
    if (!v) {
      unknown.push(`${name}+${hexId(keyId)}`);
      continue;
    }
    // Like Go, a repeated signature by one key is skipped, not checked again.
    if (seen.has(slot)) continue;
    seen.add(slot);
    const signature = raw.subarray(4);
    const valid = v.verify
      ? v.verify(signature, message)
      : ed25519Verify(signature, message, v.publicKey);
    if (!valid) {
      throw new NoteError("bad_signature", `invalid signature for key ${name}+${hexId(keyId)}`);
    }
    signatures.push({ name, keyId });
  }
  if (signatures.length === 0) {
    const by = unknown.length > 0 ? ` (signed by ${unknown.join(", ")})` : "";
    throw new NoteError("unknown_key", `note has no signature from a known key${by}`);
  }
  return { text, signatures };
}

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { concatBytes, decodeBase58, encodeBase58 } from "./encoding.js";
import { DidKeyError } from "./errors.js";
import { isBytes } from "./hash.js";

// did:key (W3C CCG "The did:key Method"): "did:key:z" + base58btc(multicodec varint ‖ key).

export type DidKeyType = "Ed25519" | "P-256" | "P-384" | "P-521";

/** Ed25519: the 32-byte key. NIST curves: the compressed SEC1 point (33, 49 or 67 bytes). */
export interface DidKey {
  type: DidKeyType;
  publicKey: Uint8Array;
}

interface PointCodec {
  fromBytes(bytes: Uint8Array): { toBytes(compressed?: boolean): Uint8Array };
}

interface Codec {
  type: DidKeyType;
  /** Multicodec code, written as an unsigned varint before the key. */
  code: number;
  /** Length of the key as did:key carries it. */
  length: number;
  /** Length of an uncompressed SEC1 point, which encodeDidKey also accepts. */
  uncompressed?: number;
  point: PointCodec;
}

const CODECS: readonly Codec[] = [
  { type: "Ed25519", code: 0xed, length: 32, point: ed25519.Point },
  { type: "P-256", code: 0x1200, length: 33, uncompressed: 65, point: p256.Point },
  { type: "P-384", code: 0x1201, length: 49, uncompressed: 97, point: p384.Point },
  { type: "P-521", code: 0x1202, length: 67, uncompressed: 133, point: p521.Point },
];

// Public-key types the multicodec table registers that this library does not implement: a DID
// using one is well formed but "unsupported". Any other code is "malformed", which is also what
// a corrupted or padded DID usually decodes to.
const OTHER_KEY_CODECS = new Map<number, string>([
  [0xe7, "secp256k1-pub"],
  [0xea, "bls12_381-g1-pub"],
  [0xeb, "bls12_381-g2-pub"],
  [0xec, "x25519-pub"],
  [0xee, "bls12_381-g1g2-pub"],
  [0xef, "sr25519-pub"],
  [0x1203, "ed448-pub"],
  [0x1204, "x448-pub"],
  [0x1205, "rsa-pub"],
  [0x1206, "sm2-pub"],
  [0xeb51, "jwk_jcs-pub"],
]);

const PREFIX = "did:key:";
const BASE58BTC = /^[1-9A-HJ-NP-Za-km-z]+$/;
// The longest supported DID (P-521) has 95 base58 characters. The bound keeps a hostile input
// from costing quadratic big-integer work before it is refused.
const MAX_ID_CHARS = 128;

function malformed(message: string): never {
  throw new DidKeyError("malformed", message);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return new Uint8Array(out);
}

/** Reads the multicodec unsigned varint (multiformats unsigned-varint: minimal, at most 9 bytes). */
function readVarint(bytes: Uint8Array): { code: number; size: number } {
  let code = 0;
  for (let i = 0; i < bytes.length && i < 9; i++) {
    const b = bytes[i] as number;
    code += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) malformed("did:key multicodec varint is not minimally encoded");
      return { code, size: i + 1 };
    }
  }
  malformed("did:key multicodec varint is truncated");
}

/** The point on the curve, compressed; refuses bytes that are not a point of `codec`'s curve. */
function normalizeKey(codec: Codec, key: Uint8Array, allowUncompressed: boolean): Uint8Array {
  const okLength =
    key.length === codec.length || (allowUncompressed && key.length === codec.uncompressed);
  if (!okLength) {
    const want = allowUncompressed && codec.uncompressed ? ` or ${codec.uncompressed}` : "";
    malformed(`${codec.type} public key must be ${codec.length}${want} bytes, not ${key.length}`);
  }
  let point: { toBytes(compressed?: boolean): Uint8Array };
  try {
    point = codec.point.fromBytes(key);
  } catch (err) {
    throw new DidKeyError("malformed", `${codec.type} public key is not a point on the curve`, {
      cause: err,
    });
  }
  if (codec.type === "Ed25519") return key.slice();
  return point.toBytes(true);
}

/** did:key of a public key. A NIST-curve key may also be given as an uncompressed SEC1 point. */
export function encodeDidKey(key: DidKey): string {
  const codec = CODECS.find((c) => c.type === key?.type);
  if (!codec) throw new DidKeyError("unsupported", `unsupported did:key type ${String(key?.type)}`);
  if (!isBytes(key.publicKey)) malformed("did:key public key must be a Uint8Array");
  const publicKey = normalizeKey(codec, key.publicKey, true);
  return `${PREFIX}z${encodeBase58(concatBytes(varint(codec.code), publicKey))}`;
}

/**
 * Parses a did:key. Only the bare DID is accepted: no fragment, query or path, and only the
 * single encoding encodeDidKey produces, so a key has exactly one DID.
 */
export function decodeDidKey(did: string): DidKey {
  if (typeof did !== "string") malformed("did:key must be a string");
  // Decoding checks the point is on its curve (a square root, twice): a command names its
  // actor several times, so the DIDs of the last few thousand keys are remembered.
  const known = decoded.get(did);
  if (known) return { type: known.type, publicKey: known.publicKey.slice() };
  const key = decodeUncached(did);
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value as string);
  decoded.set(did, { type: key.type, publicKey: key.publicKey.slice() });
  return key;
}

const DECODED_MAX = 4096;
const decoded = new Map<string, DidKey>();

function decodeUncached(did: string): DidKey {
  if (!did.startsWith(PREFIX)) malformed('did:key must start with "did:key:"');
  const id = did.slice(PREFIX.length);
  if (/[#?/]/.test(id)) malformed("did:key must be a bare DID, without a fragment, query or path");
  if (!id.startsWith("z"))
    malformed('did:key method-specific id must be multibase base58btc ("z")');
  const body = id.slice(1);
  if (body.length > MAX_ID_CHARS) malformed("did:key is too long for any supported key type");
  if (!BASE58BTC.test(body)) malformed("did:key method-specific id is not base58btc");
  const bytes = decodeBase58(body);
  const { code, size } = readVarint(bytes);
  const codec = CODECS.find((c) => c.code === code);
  if (!codec) {
    const hex = `0x${code.toString(16)}`;
    const name = OTHER_KEY_CODECS.get(code);
    if (name)
      throw new DidKeyError("unsupported", `did:key uses unsupported key type ${name} (${hex})`);
    malformed(`did:key multicodec ${hex} is not a public-key type`);
  }
  const publicKey = normalizeKey(codec, bytes.subarray(size), false);
  // A compressed point has one encoding only if its x is reduced; re-encoding proves it was.
  const key: DidKey = { type: codec.type, publicKey };
  if (encodeDidKey(key) !== did) malformed("did:key is not in canonical form");
  return key;
}

import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { encodeDidKey, utf8Encode } from "@patron/ledger";

// Per-merchant Ed25519 keys derived from the browser's one root secret (ARCHITECTURE decision
// 13), so no two merchants see the same identifier and one backup restores every key:
//
//   seed = HKDF-SHA256(ikm = root secret (32 bytes), salt = "patron-portal/v1",
//                      info = "patron-customer-key/v1\n" ‖ ledger origin ‖ "\n" ‖ merchant id
//                             ‖ "\n" ‖ generation (decimal), L = 32)
//
// The seed is the Ed25519 secret key (RFC 8032). `generation` starts at 0 and moves up by one
// with each key rotation, so the new key is derived from the same root and needs no new backup.

/** Length of the root secret, in bytes. */
export const ROOT_SECRET_BYTES = 32;
const SALT = utf8Encode("patron-portal/v1");
const MERCHANT = /^m_[A-Za-z0-9_-]{1,64}$/;

export interface KeyPath {
  /** The ledger's origin line (GET /health → origin). */
  ledger: string;
  /** The merchant's m_… id. */
  merchant: string;
  /** 0 for the first key at this merchant; one more for each rotation. */
  generation: number;
}

export interface DerivedKey {
  /** The 32-byte Ed25519 secret key: keep it in memory only as long as a signature needs. */
  secretKey: Uint8Array;
  /** The public key as a did:key: what the merchant knows this customer by. */
  did: string;
}

/** The HKDF info string of one merchant key; refuses what would make it ambiguous. */
export function derivationInfo(path: KeyPath): Uint8Array {
  if (path.ledger === "" || /[\n\r]/.test(path.ledger)) {
    throw new TypeError("the ledger origin must be one non-empty line");
  }
  if (!MERCHANT.test(path.merchant)) throw new TypeError(`not a merchant id: ${path.merchant}`);
  if (!Number.isSafeInteger(path.generation) || path.generation < 0) {
    throw new TypeError("the key generation must be a non-negative integer");
  }
  return utf8Encode(`patron-customer-key/v1\n${path.ledger}\n${path.merchant}\n${path.generation}`);
}

/**
 * The Ed25519 key for one merchant on one ledger.
 *
 * @example
 * const { did } = deriveMerchantKey(root, { ledger: "patron.example/log", merchant: "m_1", generation: 0 });
 */
export function deriveMerchantKey(root: Uint8Array, path: KeyPath): DerivedKey {
  if (!(root instanceof Uint8Array) || root.length !== ROOT_SECRET_BYTES) {
    throw new TypeError(`the root secret must be ${ROOT_SECRET_BYTES} bytes`);
  }
  const secretKey = hkdf(sha256, root, SALT, derivationInfo(path), 32);
  const did = encodeDidKey({ type: "Ed25519", publicKey: ed25519.getPublicKey(secretKey) });
  return { secretKey, did };
}

import { concatBytes, encodeBase64Url } from "./encoding.js";
import { isBytes, sha256 } from "./hash.js";
import { canonicalBytes, type JsonValue } from "./json.js";

/** What a commitment binds: one version of one personal field of one customer. */
export interface CommittedValue {
  customer: string;
  field: string;
  version: number;
  value: JsonValue;
}

/**
 * SHA-256(salt ‖ JCS({customer, field, version, value})) (ARCHITECTURE decision 4). The entry
 * carries this; the vault keeps the salt and value, so a customer shown their data can recompute
 * it, and nobody without the salt can test guesses against it.
 */
export function commitment(
  salt: Uint8Array,
  value: CommittedValue,
  /** SHA-256 of the salt and the bytes: a server passes its native one, browsers keep this. */
  digest: (salt: Uint8Array, bytes: Uint8Array) => Uint8Array = (a, b) => sha256(concatBytes(a, b)),
): Uint8Array {
  if (!isBytes(salt) || salt.length < 16)
    throw new TypeError("commitment salt must be at least 16 bytes");
  // Only the four named members, so a caller's extra properties can never change the hash.
  const { customer, field, version, value: v } = value;
  if (typeof customer !== "string" || typeof field !== "string") {
    throw new TypeError("commitment customer and field must be strings");
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new TypeError("commitment version must be a non-negative integer");
  }
  return digest(salt, canonicalBytes({ customer, field, version, value: v }));
}

/**
 * The commitment a signed command's payload carries, as `attached`, for the personal values that
 * travel beside it (decision 5): base64url(SHA-256(salt ‖ JCS(values))). The signer picks the
 * salt (at least 16 random bytes), so the entry, which keeps the command byte for byte, reveals
 * nothing a guess could be tested against.
 */
export function attachmentCommitment(salt: Uint8Array, values: JsonValue): string {
  if (!isBytes(salt) || salt.length < 16) {
    throw new TypeError("attachment salt must be at least 16 bytes");
  }
  return encodeBase64Url(sha256(concatBytes(salt, canonicalBytes(values))));
}

import { createCipheriv, createDecipheriv } from "node:crypto";
import { random } from "../ledger/salt.js";

// AES-256-GCM with a random 96-bit nonce: version byte ‖ nonce ‖ ciphertext ‖ 16-byte tag. The
// associated data binds a ciphertext to where it belongs (whose key, which field), so one moved
// to another row does not open.
const VERSION = 1;
const NONCE = 12;
const TAG = 16;

export function seal(key: Uint8Array, plaintext: Uint8Array, associated: string): Uint8Array {
  const nonce = random(NONCE);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(associated, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]));
}

/** The plaintext, or undefined when the key, the associated data or the bytes are wrong. */
export function openSealed(
  key: Uint8Array,
  sealed: Uint8Array,
  associated: string,
): Uint8Array | undefined {
  if (sealed.length < 1 + NONCE + TAG || sealed[0] !== VERSION) return undefined;
  const nonce = sealed.subarray(1, 1 + NONCE);
  const body = sealed.subarray(1 + NONCE, sealed.length - TAG);
  const tag = sealed.subarray(sealed.length - TAG);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAAD(Buffer.from(associated, "utf8"));
    decipher.setAuthTag(tag);
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    return undefined;
  }
}

import { randomBytes } from "node:crypto";

/**
 * Random bytes cut from a pool refilled 16 KiB at a time: one system call per few thousand
 * salts, nonces and ids instead of one each, on the sequencer's and the vault's paths (a
 * thousand imported customers draw some ten thousand). Each byte is handed out once and wiped
 * from the pool. The library's own newSalt (WebCrypto, one call per salt) stays for browsers.
 */
const POOL = 16 * 1024;
let pool = Buffer.alloc(0);
let at = POOL;

/** `n` fresh random bytes (n ≤ 256), in a buffer of their own. */
export function random(n: number): Buffer {
  if (n > 256) return randomBytes(n);
  if (at + n > pool.length) {
    pool = randomBytes(POOL);
    at = 0;
  }
  const out = Buffer.from(pool.subarray(at, at + n));
  pool.fill(0, at, at + n);
  at += n;
  return out;
}

/** A salt for a sealed entry: 16 random bytes, base64url. */
export function newSalt(): string {
  return random(16).toString("base64url");
}

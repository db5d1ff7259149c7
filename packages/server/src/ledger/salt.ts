import { randomBytes } from "node:crypto";

/**
 * Salts for sealed entries (16 random bytes, base64url), cut from a pool refilled 16 KiB at a
 * time: one system call per thousand entries instead of one each, on the sequencer's path.
 * The library's own newSalt (WebCrypto, one call per salt) stays for browsers.
 */
const POOL = 16 * 1024;
let pool = Buffer.alloc(0);
let at = POOL;

export function newSalt(): string {
  if (at + 16 > pool.length) {
    pool = randomBytes(POOL);
    at = 0;
  }
  const salt = pool.toString("base64url", at, at + 16);
  // Each salt is used once: wipe it from the pool.
  pool.fill(0, at, at + 16);
  at += 16;
  return salt;
}

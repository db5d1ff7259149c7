import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export const HASH_SIZE = 32;

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

// RFC 9162 §2.1.1: the 0x00/0x01 prefixes keep a leaf from ever colliding with an interior node.
const LEAF_PREFIX = new Uint8Array([0x00]);

/** SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return nobleSha256.create().update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return nobleSha256(buf);
}

/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = nobleSha256(new Uint8Array(0));

/** Also accepts Uint8Arrays from another realm (iframe, vm context), where instanceof fails. */
export function isBytes(x: unknown): x is Uint8Array {
  return (
    x instanceof Uint8Array ||
    (ArrayBuffer.isView(x) && x.constructor.name === "Uint8Array" && "BYTES_PER_ELEMENT" in x)
  );
}

export function isHash(h: unknown): h is Uint8Array {
  return isBytes(h) && h.length === HASH_SIZE;
}

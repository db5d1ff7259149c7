import { hash } from "node:crypto";

// The same RFC 9162 hashes as @patron/ledger (which stays pure for browsers), through Node's
// native SHA-256: about twice as fast as the JavaScript one on the sequencer's and audit's hot
// paths. One-shot `crypto.hash` over one buffer costs less than a Hash object fed in parts.
// Tests check both against each other and the conformance vectors.

/** SHA-256(0x00 ‖ data). */
export function hashLeafNative(data: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return hash("sha256", input, "buffer");
}

/** SHA-256(0x01 ‖ children), where `children` is the left hash followed by the right one. */
export function hashChildrenNative(children: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(1 + children.length);
  input[0] = 0x01;
  input.set(children, 1);
  return hash("sha256", input, "buffer");
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashPairNative(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(65);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 33);
  return hash("sha256", input, "buffer");
}

/** SHA-256(salt ‖ bytes): a vault commitment's digest (`commitment`'s `digest` argument). */
export function saltedDigestNative(salt: Uint8Array, bytes: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(salt.length + bytes.length);
  input.set(salt, 0);
  input.set(bytes, salt.length);
  return hash("sha256", input, "buffer");
}

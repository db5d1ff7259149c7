import { createHash } from "node:crypto";

// The same RFC 9162 hashes as @patron/ledger (which stays pure for browsers), through Node's
// native SHA-256: about twice as fast as the JavaScript one on the sequencer's and audit's hot
// paths. Tests check both against each other and the conformance vectors.

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

/** SHA-256(0x00 ‖ data). */
export function hashLeafNative(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(LEAF).update(data).digest();
}

/** SHA-256(0x01 ‖ children), where `children` is the left hash followed by the right one. */
export function hashChildrenNative(children: Uint8Array): Uint8Array {
  return createHash("sha256").update(NODE).update(children).digest();
}

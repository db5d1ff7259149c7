import { bytesEqual } from "./encoding.js";
import { EMPTY_ROOT, hashChildren, isBytes, isHash } from "./hash.js";

// RFC 9162 §2.1 Merkle trees. All sizes and indices are bigints internally: logs outgrow 2^31
// (where `>>`/`&` on numbers silently wrap) and 2^53 (where numbers lose integers).

/**
 * Hash of the perfect subtree at `level` covering leaves [index·2^level, (index+1)·2^level).
 * Level 0 are the leaf hashes.
 */
export type NodeReader = (level: number, index: bigint) => Uint8Array;

const MAX_U64 = (1n << 64n) - 1n;

function toU64(x: number | bigint, what: string): bigint {
  if (typeof x === "bigint") {
    if (x >= 0n && x <= MAX_U64) return x;
  } else if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) {
    return BigInt(x);
  }
  throw new RangeError(`${what} must be an integer in 0..2^64-1, got ${String(x)}`);
}

function toU64OrUndefined(x: unknown): bigint | undefined {
  if (typeof x === "bigint") return x >= 0n && x <= MAX_U64 ? x : undefined;
  if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) return BigInt(x);
  return undefined;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** log2 of the largest power of two strictly below n (n ≥ 2): the split point of MTH. */
function splitLevel(n: bigint): number {
  return bitLength(n - 1n) - 1;
}

function readNode(read: NodeReader, level: number, index: bigint): Uint8Array {
  const h = read(level, index);
  if (!isHash(h)) {
    throw new TypeError(`NodeReader returned a non-32-byte value for node (${level}, ${index})`);
  }
  return h;
}

/** MTH of a list given left to right as the perfect subtrees of its binary decomposition. */
function foldRight(hashes: Uint8Array[]): Uint8Array {
  let i = hashes.length - 1;
  let r = hashes[i] as Uint8Array;
  while (--i >= 0) r = hashChildren(hashes[i] as Uint8Array, r);
  return r;
}

function rangeRootU64(read: NodeReader, start: bigint, end: bigint): Uint8Array {
  const len = end - start;
  if (len === 0n) return EMPTY_ROOT.slice();
  const top = bitLength(len) - 1;
  // MTH(D[start:end]) splits into perfect subtrees of sizes = the set bits of len, largest
  // first; they are readable nodes only if the first (largest) one is aligned.
  if (start % (1n << BigInt(top)) !== 0n) {
    throw new RangeError(`leaves [${start}, ${end}) do not form a subtree of the log's tree`);
  }
  const hashes: Uint8Array[] = [];
  let pos = start;
  for (let level = top; level >= 0; level--) {
    const width = 1n << BigInt(level);
    if ((len & width) !== 0n) {
      hashes.push(readNode(read, level, pos >> BigInt(level)));
      pos += width;
    }
  }
  return foldRight(hashes);
}

/**
 * MTH of leaves [start, end), read as at most 64 perfect subtrees. With start = 0 this is the
 * root of the tree of size `end`. The range must be a subtree of some tree (its largest perfect
 * part aligned), which every range met while computing RFC 9162 proofs is.
 */
export function rangeRoot(
  read: NodeReader,
  start: number | bigint,
  end: number | bigint,
): Uint8Array {
  const s = toU64(start, "start");
  const e = toU64(end, "end");
  if (s > e) throw new RangeError(`start ${s} is after end ${e}`);
  return rangeRootU64(read, s, e);
}

/**
 * RFC 9162 §2.1.3.1 PATH(index, D[size]), leaf's sibling first. Walks the MTH recursion from the
 * root: it reads perfect siblings while the leaf is in the right part; the first time the leaf is
 * in the left (perfect) part, the right part is the only imperfect sibling, and below it all
 * siblings are single nodes. O(log n) reads, in an order that depends only on index and size.
 */
export function inclusionProofFrom(
  read: NodeReader,
  index: number | bigint,
  size: number | bigint,
): Uint8Array[] {
  const m = toU64(index, "index");
  const n = toU64(size, "size");
  if (m >= n) throw new RangeError(`index ${m} is not below tree size ${n}`);
  const rootFirst: Uint8Array[] = [];
  let start = 0n;
  let width = n;
  while (width > 1n) {
    const level = splitLevel(width);
    const k = 1n << BigInt(level);
    if (m - start < k) {
      rootFirst.push(rangeRootU64(read, start + k, start + width));
      width = k;
      break;
    }
    rootFirst.push(readNode(read, level, start >> BigInt(level)));
    start += k;
    width -= k;
  }
  // Here [start, start + width) is a perfect subtree containing the leaf.
  for (let level = bitLength(width) - 2; level >= 0; level--) {
    rootFirst.push(readNode(read, level, (m >> BigInt(level)) ^ 1n));
  }
  return rootFirst.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(size1, D[size2]). Empty when size1 is 0 or equals size2 (nothing to
 * prove). Same walk as inclusionProofFrom, following the boundary leaf size1 instead of a leaf.
 */
export function consistencyProofFrom(
  read: NodeReader,
  size1: number | bigint,
  size2: number | bigint,
): Uint8Array[] {
  const m = toU64(size1, "size1");
  const n = toU64(size2, "size2");
  if (m > n) throw new RangeError(`size1 ${m} is larger than size2 ${n}`);
  if (m === 0n || m === n) return [];
  const rootFirst: Uint8Array[] = [];
  let start = 0n;
  let width = n;
  let rest = m; // leaves of the old tree inside [start, start + width)
  let wholeOldTree = true; // SUBPROOF's b: is [start, start + rest) the entire old tree?
  while (rest !== width) {
    const level = splitLevel(width);
    const k = 1n << BigInt(level);
    if (rest <= k) {
      rootFirst.push(rangeRootU64(read, start + k, start + width));
      width = k;
    } else {
      rootFirst.push(readNode(read, level, start >> BigInt(level)));
      start += k;
      width -= k;
      rest -= k;
      wholeOldTree = false;
    }
  }
  // The loop only stops after a left step, so [start, start + width) is perfect.
  if (!wholeOldTree) {
    const level = bitLength(width) - 1;
    rootFirst.push(readNode(read, level, start >> BigInt(level)));
  }
  return rootFirst.reverse();
}

/** A NodeReader over an in-memory list; it recomputes subtrees, so it is O(n) per proof. */
function listReader(leafHashes: readonly Uint8Array[]): NodeReader {
  for (const [i, h] of leafHashes.entries()) {
    if (!isHash(h)) throw new TypeError(`leaf hash ${i} is not a 32-byte Uint8Array`);
  }
  return (level, index) => {
    const width = 2 ** level;
    const first = Number(index) * width;
    if (first + width > leafHashes.length) {
      throw new RangeError(
        `node (${level}, ${index}) is outside a tree of ${leafHashes.length} leaves`,
      );
    }
    // Copies: callers may mutate proofs without touching their leaf list.
    let layer: Uint8Array[] = leafHashes.slice(first, first + width).map((h) => h.slice());
    while (layer.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < layer.length; i += 2) {
        next.push(hashChildren(layer[i] as Uint8Array, layer[i + 1] as Uint8Array));
      }
      layer = next;
    }
    return layer[0] as Uint8Array;
  };
}

/** MTH(D[n]) of a list of leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  return rangeRootU64(listReader(leafHashes), 0n, BigInt(leafHashes.length));
}

/** Inclusion proof for leafHashes[index] in the tree of all of leafHashes. */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number | bigint,
): Uint8Array[] {
  return inclusionProofFrom(listReader(leafHashes), index, leafHashes.length);
}

/** Consistency proof from the first size1 leaves to all of leafHashes. */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  size1: number | bigint,
): Uint8Array[] {
  return consistencyProofFrom(listReader(leafHashes), size1, leafHashes.length);
}

// A proof for a tree of fewer than 2^64 leaves has at most 64 (inclusion) or 2·64 (consistency)
// hashes; bounding the input first keeps hostile proofs from costing more than that.
const MAX_INCLUSION = 64;
const MAX_CONSISTENCY = 128;

function allHashes(proof: unknown, max: number): proof is Uint8Array[] {
  return Array.isArray(proof) && proof.length <= max && proof.every(isHash);
}

/** RFC 9162 §2.1.3.2. Never throws: malformed input of any kind is simply not a valid proof. */
export function verifyInclusion(
  index: number | bigint,
  size: number | bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const m = toU64OrUndefined(index);
  const n = toU64OrUndefined(size);
  if (m === undefined || n === undefined || m >= n) return false;
  if (!isHash(leafHash) || !isHash(root) || !allHashes(proof, MAX_INCLUSION)) return false;
  let fn = m;
  let sn = n - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, root);
}

/** RFC 9162 §2.1.4.2. Never throws: malformed input of any kind is simply not a valid proof. */
export function verifyConsistency(
  size1: number | bigint,
  size2: number | bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  const m = toU64OrUndefined(size1);
  const n = toU64OrUndefined(size2);
  if (m === undefined || n === undefined || m > n || !Array.isArray(proof)) return false;
  if (!isBytes(root1) || !isBytes(root2)) return false;
  if (m === n) {
    // Nothing to prove but equality. The empty tree has exactly one root, so a claimed root
    // for size 0 must also be that one.
    if (proof.length !== 0 || !bytesEqual(root1, root2)) return false;
    return m !== 0n || bytesEqual(root1, EMPTY_ROOT);
  }
  // From the empty tree there is nothing to prove, and RFC 9162 defines no proof for it;
  // accepting one would let any root2 pass (as transparency-dev/merkle also rejects).
  if (m === 0n) return false;
  if (!isHash(root1) || !isHash(root2) || !allHashes(proof, MAX_CONSISTENCY)) return false;
  if (proof.length === 0) return false;

  const path = (m & (m - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

/**
 * The right edge of a tree as its compact range: the roots of the perfect subtrees of the
 * binary decomposition of `size`, largest first. Enough to append and to compute the root
 * without storing the tree.
 */
export class MerkleFrontier {
  #size = 0n;
  #nodes: Uint8Array[] = [];

  get size(): bigint {
    return this.#size;
  }

  /** Rebuilds a frontier from the hashes returned by `hashes()` (one per set bit of size). */
  static fromNodes(size: number | bigint, hashes: readonly Uint8Array[]): MerkleFrontier {
    const n = toU64(size, "size");
    const expected = n.toString(2).split("1").length - 1;
    if (hashes.length !== expected) {
      throw new RangeError(`a frontier of size ${n} has ${expected} nodes, got ${hashes.length}`);
    }
    if (!hashes.every(isHash)) throw new TypeError("frontier nodes must be 32-byte hashes");
    const f = new MerkleFrontier();
    f.#size = n;
    f.#nodes = hashes.map((h) => h.slice());
    return f;
  }

  /** Loads the frontier of a stored tree: popcount(size) reads. */
  static fromReader(read: NodeReader, size: number | bigint): MerkleFrontier {
    const n = toU64(size, "size");
    const hashes: Uint8Array[] = [];
    let pos = 0n;
    for (let level = bitLength(n) - 1; level >= 0; level--) {
      const width = 1n << BigInt(level);
      if ((n & width) !== 0n) {
        hashes.push(readNode(read, level, pos >> BigInt(level)));
        pos += width;
      }
    }
    return MerkleFrontier.fromNodes(n, hashes);
  }

  /** The frontier's nodes, largest subtree first (copies). */
  hashes(): Uint8Array[] {
    return this.#nodes.map((h) => h.slice());
  }

  append(leafHash: Uint8Array): void {
    if (!isHash(leafHash)) throw new TypeError("leaf hash must be a 32-byte Uint8Array");
    if (this.#size === MAX_U64) throw new RangeError("tree is full");
    let h: Uint8Array = leafHash.slice();
    // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
    for (let s = this.#size; (s & 1n) === 1n; s >>= 1n) {
      h = hashChildren(this.#nodes.pop() as Uint8Array, h);
    }
    this.#nodes.push(h);
    this.#size += 1n;
  }

  root(): Uint8Array {
    if (this.#nodes.length === 0) return EMPTY_ROOT.slice();
    return foldRight(this.#nodes).slice();
  }

  clone(): MerkleFrontier {
    const f = new MerkleFrontier();
    f.#size = this.#size;
    f.#nodes = this.#nodes.slice();
    return f;
  }
}

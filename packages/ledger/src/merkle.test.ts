import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_ROOT, hashChildren, hashLeaf, sha256 } from "./hash.js";
import {
  consistencyProof,
  consistencyProofFrom,
  inclusionProof,
  inclusionProofFrom,
  MerkleFrontier,
  type NodeReader,
  rangeRoot,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";

// ---- Naive RFC 9162 §2.1 reference, straight from the recursive definitions ----

const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of 2 below n

function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256(new Uint8Array(0));
  if (d.length === 1) return d[0] as Uint8Array;
  const k = split(d.length);
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}

function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

const proof = (m: number, d: Uint8Array[]) => (m === 0 ? [] : subproof(m, d, true));

// The same recursions over leaf ranges instead of hashes, for the symbolic oracle below.
type Range = readonly [number, number];

function pathRanges(m: number, a: number, b: number): Range[] {
  if (b - a <= 1) return [];
  const k = split(b - a);
  return m < a + k
    ? [...pathRanges(m, a, a + k), [a + k, b]]
    : [...pathRanges(m, a + k, b), [a, a + k]];
}

function subproofRanges(m: number, a: number, b: number, whole: boolean): Range[] {
  if (m === b) return whole ? [] : [[a, b]];
  const k = split(b - a);
  return m <= a + k
    ? [...subproofRanges(m, a, a + k, whole), [a + k, b]]
    : [...subproofRanges(m, a + k, b, false), [a, a + k]];
}

/**
 * How a verifier must combine the given hashes (named by symbols) to get the hash of leaves
 * [a, b). Two (index, size) claims accept the same proof exactly when their formulas agree:
 * distinct formulas over hashes of disjoint subtrees cannot collide.
 */
function formula(a: number, b: number, known: Map<string, string>): string {
  const sym = known.get(`${a},${b}`);
  if (sym !== undefined) return sym;
  if (b - a === 1) return `?${a}`;
  const k = split(b - a);
  return `H(${formula(a, a + k, known)},${formula(a + k, b, known)})`;
}

function inclusionFormula(m: number, n: number): string {
  const known = new Map(pathRanges(m, 0, n).map((r, i) => [`${r[0]},${r[1]}`, `p${i}`]));
  known.set(`${m},${m + 1}`, "leaf");
  return formula(0, n, known);
}

function consistencyFormulas(m: number, n: number, proofLength: number): [string, string] | null {
  const ranges = subproofRanges(m, 0, n, true);
  if (ranges.length !== proofLength) return null;
  const known = new Map(ranges.map((r, i) => [`${r[0]},${r[1]}`, `p${i}`]));
  const pow2 = (m & (m - 1)) === 0;
  if (pow2) known.set(`0,${m}`, "root1");
  return [formula(0, m, known), formula(0, n, known)];
}

// ---- fixtures ----

// Thousands of pure-JS hashes per case: generous, so a loaded CI machine does not flake.
const SLOW = { timeout: 120_000 };

const LEAVES = Array.from({ length: 640 }, (_, i) =>
  hashLeaf(new TextEncoder().encode(`leaf ${i}`)),
);
const leaves = (n: number) => LEAVES.slice(0, n);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const hexes = (bs: Uint8Array[]) => bs.map(hex);

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
  return c;
}

/** Every proof obtained by flipping one bit of one of its hashes. */
function* mutatedProofs(p: Uint8Array[]): Generator<Uint8Array[]> {
  for (let i = 0; i < p.length; i++) {
    for (let bit = 0; bit < 256; bit++) {
      const q = p.slice();
      q[i] = flipBit(p[i] as Uint8Array, bit);
      yield q;
    }
  }
}

/** A reader over a fully materialized tree: every level precomputed once. */
function levelsReader(leafHashes: Uint8Array[]): NodeReader {
  const levels: Uint8Array[][] = [leafHashes];
  for (let l = 0; (levels[l] as Uint8Array[]).length > 1; l++) {
    const below = levels[l] as Uint8Array[];
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) {
      next.push(hashChildren(below[i] as Uint8Array, below[i + 1] as Uint8Array));
    }
    levels.push(next);
  }
  return (level, index) => {
    const h = levels[level]?.[Number(index)];
    if (!h) throw new RangeError(`no node (${level}, ${index})`);
    return h;
  };
}

const sizeAndIndex = fc
  .integer({ min: 1, max: 300 })
  .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));
const sizes12 = fc
  .integer({ min: 1, max: 300 })
  .chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));

describe("tree hashes", () => {
  it("EMPTY_ROOT is SHA-256 of the empty string", () => {
    expect(hex(EMPTY_ROOT)).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("hashLeaf and hashChildren use the RFC 9162 domain prefixes", () => {
    const d = new Uint8Array([1, 2, 3]);
    expect(hex(hashLeaf(d))).toBe(hex(sha256(new Uint8Array([0, 1, 2, 3]))));
    const l = LEAVES[0] as Uint8Array;
    const r = LEAVES[1] as Uint8Array;
    expect(hex(hashChildren(l, r))).toBe(hex(sha256(new Uint8Array([1, ...l, ...r]))));
  });

  it("rootFromLeafHashes equals the reference MTH for every size 0..300", () => {
    for (let n = 0; n <= 300; n++)
      expect(hex(rootFromLeafHashes(leaves(n)))).toBe(hex(mth(leaves(n))));
  });

  it("rangeRoot computes MTH of aligned ranges and refuses ranges that are not subtrees", () => {
    const read = levelsReader(leaves(64));
    expect(hex(rangeRoot(read, 8, 14))).toBe(hex(mth(LEAVES.slice(8, 14))));
    expect(hex(rangeRoot(read, 12n, 12n))).toBe(hex(EMPTY_ROOT));
    expect(hex(rangeRoot(read, 0, 37))).toBe(hex(mth(leaves(37))));
    expect(() => rangeRoot(read, 3, 7)).toThrow(RangeError);
    expect(() => rangeRoot(read, 5, 4)).toThrow(RangeError);
    expect(() => rangeRoot(read, -1, 4)).toThrow(RangeError);
  });
});

describe("inclusion proofs", () => {
  it("equal the reference PATH and verify", SLOW, () => {
    fc.assert(
      fc.property(sizeAndIndex, ([n, m]) => {
        const d = leaves(n);
        const p = inclusionProof(d, m);
        expect(hexes(p)).toEqual(hexes(path(m, d)));
        expect(hexes(inclusionProofFrom(levelsReader(d), BigInt(m), BigInt(n)))).toEqual(hexes(p));
        expect(verifyInclusion(m, n, d[m] as Uint8Array, p, mth(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("verify for every index of every size up to 64", () => {
    for (let n = 1; n <= 64; n++) {
      const d = leaves(n);
      const root = rootFromLeafHashes(d);
      for (let m = 0; m < n; m++) {
        expect(
          verifyInclusion(BigInt(m), BigInt(n), d[m] as Uint8Array, inclusionProof(d, m), root),
        ).toBe(true);
      }
    }
  });

  it("reject every single-bit change of the proof, the root and the leaf hash", SLOW, () => {
    fc.assert(
      fc.property(sizeAndIndex, ([n, m]) => {
        const d = leaves(n);
        const p = inclusionProof(d, m);
        const root = rootFromLeafHashes(d);
        const leaf = d[m] as Uint8Array;
        for (const q of mutatedProofs(p)) expect(verifyInclusion(m, n, leaf, q, root)).toBe(false);
        for (let bit = 0; bit < 256; bit++) {
          expect(verifyInclusion(m, n, leaf, p, flipBit(root, bit))).toBe(false);
          expect(verifyInclusion(m, n, flipBit(leaf, bit), p, root)).toBe(false);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("reject a wrong index or size unless it denotes the very same hash computation", SLOW, () => {
    fc.assert(
      fc.property(
        sizeAndIndex,
        fc.integer({ min: 0, max: 320 }),
        fc.integer({ min: 1, max: 320 }),
        ([n, m], m2, n2) => {
          fc.pre(m2 !== m || n2 !== n);
          const d = leaves(n);
          const p = inclusionProof(d, m);
          const root = rootFromLeafHashes(d);
          const same =
            m2 < n2 &&
            pathRanges(m2, 0, n2).length === p.length &&
            inclusionFormula(m2, n2) === inclusionFormula(m, n);
          expect(verifyInclusion(m2, n2, d[m] as Uint8Array, p, root)).toBe(same);
          // Another index of the same tree is never confused with this one.
          if (n2 === n && m2 < n) expect(same).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("accept another (index, size) exactly when it denotes the same computation, for all small trees", () => {
    // A proof binds the hashes, not the size: the proof for leaf 0 of 3 leaves also "proves" leaf
    // 0 of a 4-leaf tree whose last two leaves hash to the third. Sizes must come from a signed
    // checkpoint, which is why receipts carry one.
    let same = 0;
    for (let n = 1; n <= 16; n++) {
      const d = leaves(n);
      const root = rootFromLeafHashes(d);
      for (let m = 0; m < n; m++) {
        const p = inclusionProof(d, m);
        for (let n2 = 1; n2 <= 18; n2++) {
          for (let m2 = 0; m2 < n2; m2++) {
            const expected =
              pathRanges(m2, 0, n2).length === p.length &&
              inclusionFormula(m2, n2) === inclusionFormula(m, n);
            if (expected) same++;
            expect(verifyInclusion(m2, n2, d[m] as Uint8Array, p, root)).toBe(expected);
          }
        }
      }
    }
    expect(same).toBeGreaterThan(136); // more than the 136 genuine (index, size) pairs
  });

  it("reject truncated, extended and reordered proofs", () => {
    const d = leaves(77);
    const root = rootFromLeafHashes(d);
    const p = inclusionProof(d, 50);
    const leaf = d[50] as Uint8Array;
    expect(verifyInclusion(50, 77, leaf, p.slice(1), root)).toBe(false);
    expect(verifyInclusion(50, 77, leaf, p.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(50, 77, leaf, [...p, root], root)).toBe(false);
    expect(verifyInclusion(50, 77, leaf, [p[1], p[0], ...p.slice(2)] as Uint8Array[], root)).toBe(
      false,
    );
  });

  it("generation throws RangeError for impossible arguments", () => {
    const read = levelsReader(leaves(8));
    expect(() => inclusionProofFrom(read, 8, 8)).toThrow(RangeError);
    expect(() => inclusionProofFrom(read, 0, 0)).toThrow(RangeError);
    expect(() => inclusionProofFrom(read, -1, 8)).toThrow(RangeError);
    expect(() => inclusionProofFrom(read, 1.5, 8)).toThrow(RangeError);
    expect(() => inclusionProofFrom(read, 0n, 1n << 64n)).toThrow(RangeError);
    expect(() => inclusionProof(leaves(3), 3)).toThrow(RangeError);
    expect(inclusionProof(leaves(1), 0)).toEqual([]);
  });
});

describe("consistency proofs", () => {
  it("equal the reference PROOF and verify", SLOW, () => {
    fc.assert(
      fc.property(sizes12, ([m, n]) => {
        const d = leaves(n);
        const p = consistencyProof(d, m);
        expect(hexes(p)).toEqual(hexes(proof(m === n ? 0 : m, d)));
        expect(hexes(consistencyProofFrom(levelsReader(d), BigInt(m), BigInt(n)))).toEqual(
          hexes(p),
        );
        if (m > 0) expect(verifyConsistency(m, n, p, mth(leaves(m)), mth(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("verify for every pair of sizes up to 64", () => {
    for (let n = 1; n <= 64; n++) {
      const d = leaves(n);
      const root2 = rootFromLeafHashes(d);
      for (let m = 1; m <= n; m++) {
        const p = consistencyProof(d, m);
        expect(
          verifyConsistency(BigInt(m), BigInt(n), p, rootFromLeafHashes(leaves(m)), root2),
        ).toBe(true);
      }
    }
  });

  it("are empty from the empty tree and between equal sizes", () => {
    expect(consistencyProof(leaves(9), 0)).toEqual([]);
    expect(consistencyProof(leaves(9), 9)).toEqual([]);
    expect(consistencyProof([], 0)).toEqual([]);
    expect(() => consistencyProof(leaves(9), 10)).toThrow(RangeError);
  });

  it("reject every single-bit change of the proof and of either root", SLOW, () => {
    fc.assert(
      fc.property(sizes12, ([m, n]) => {
        fc.pre(m > 0 && m < n);
        const d = leaves(n);
        const p = consistencyProof(d, m);
        const r1 = rootFromLeafHashes(leaves(m));
        const r2 = rootFromLeafHashes(d);
        for (const q of mutatedProofs(p)) expect(verifyConsistency(m, n, q, r1, r2)).toBe(false);
        for (let bit = 0; bit < 256; bit++) {
          expect(verifyConsistency(m, n, p, flipBit(r1, bit), r2)).toBe(false);
          expect(verifyConsistency(m, n, p, r1, flipBit(r2, bit))).toBe(false);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("reject wrong sizes unless they denote the very same hash computation", SLOW, () => {
    fc.assert(
      fc.property(
        sizes12,
        fc.integer({ min: 0, max: 320 }),
        fc.integer({ min: 0, max: 320 }),
        ([m, n], m2, n2) => {
          fc.pre(m > 0 && m < n && (m2 !== m || n2 !== n));
          const d = leaves(n);
          const p = consistencyProof(d, m);
          const r1 = rootFromLeafHashes(leaves(m));
          const r2 = rootFromLeafHashes(d);
          let same = false;
          if (m2 > 0 && m2 < n2) {
            const want = consistencyFormulas(m, n, p.length);
            const got = consistencyFormulas(m2, n2, p.length);
            // root1 is a hash of its own only when m is a power of 2; otherwise it is its formula.
            const subst = (f: string) =>
              (m & (m - 1)) === 0 ? f : f.replaceAll("root1", want?.[0] ?? "");
            same =
              got !== null &&
              want !== null &&
              subst(got[0]) === want[0] &&
              subst(got[1]) === want[1];
          }
          expect(verifyConsistency(m2, n2, p, r1, r2)).toBe(same);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("accept other sizes exactly when they denote the same computation, for all small trees", () => {
    let same = 0;
    for (let n = 2; n <= 16; n++) {
      const d = leaves(n);
      const r2 = rootFromLeafHashes(d);
      for (let m = 1; m < n; m++) {
        const p = consistencyProof(d, m);
        const r1 = rootFromLeafHashes(leaves(m));
        const want = consistencyFormulas(m, n, p.length);
        const subst = (f: string) =>
          (m & (m - 1)) === 0 ? f : f.replaceAll("root1", want?.[0] ?? "");
        for (let n2 = 2; n2 <= 18; n2++) {
          for (let m2 = 1; m2 < n2; m2++) {
            const got = consistencyFormulas(m2, n2, p.length);
            const expected =
              got !== null && subst(got[0]) === want?.[0] && subst(got[1]) === want?.[1];
            if (expected) same++;
            expect(verifyConsistency(m2, n2, p, r1, r2), `${m}->${n} as ${m2}->${n2}`).toBe(
              expected,
            );
          }
        }
      }
    }
    expect(same).toBeGreaterThan(120); // more than the 120 genuine (size1, size2) pairs
  });

  it("reject swapped roots, dropped and extra hashes", () => {
    const d = leaves(100);
    const p = consistencyProof(d, 37);
    const r1 = rootFromLeafHashes(leaves(37));
    const r2 = rootFromLeafHashes(d);
    expect(verifyConsistency(37, 100, p, r2, r1)).toBe(false);
    expect(verifyConsistency(37, 100, p.slice(1), r1, r2)).toBe(false);
    expect(verifyConsistency(37, 100, p.slice(0, -1), r1, r2)).toBe(false);
    expect(verifyConsistency(37, 100, [...p, r2], r1, r2)).toBe(false);
    expect(verifyConsistency(37, 100, [r1, ...p], r1, r2)).toBe(false);
    expect(verifyConsistency(37, 100, [], r1, r2)).toBe(false);
  });

  it("treat equal sizes as root equality and the empty tree as EMPTY_ROOT only", () => {
    const r = rootFromLeafHashes(leaves(5));
    expect(verifyConsistency(5, 5, [], r, r)).toBe(true);
    expect(verifyConsistency(5, 5, [r], r, r)).toBe(false);
    expect(verifyConsistency(5, 5, [], r, EMPTY_ROOT)).toBe(false);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(true);
    expect(verifyConsistency(0, 0, [], r, r)).toBe(false);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, r)).toBe(false);
    expect(verifyConsistency(6, 5, [], r, r)).toBe(false);
  });
});

describe("verifiers never throw on malformed input", () => {
  const r = rootFromLeafHashes(leaves(4));
  const p = inclusionProof(leaves(4), 1);
  const bad: unknown[] = [
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1n << 64n,
    -1n,
    "1",
    null,
    undefined,
  ];

  it("verifyInclusion", () => {
    for (const x of bad) {
      expect(verifyInclusion(x as number, 4, LEAVES[1] as Uint8Array, p, r)).toBe(false);
      expect(verifyInclusion(1, x as number, LEAVES[1] as Uint8Array, p, r)).toBe(false);
    }
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, null as never, r)).toBe(false);
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, [null, ...p] as never, r)).toBe(false);
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, ["x", ...p] as never, r)).toBe(false);
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, p, r.subarray(1))).toBe(false);
    expect(verifyInclusion(1, 4, (LEAVES[1] as Uint8Array).subarray(1), p, r)).toBe(false);
    expect(verifyInclusion(1, 4, null as never, p, r)).toBe(false);
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, p, null as never)).toBe(false);
    expect(verifyInclusion(1, 4, LEAVES[1] as Uint8Array, Array(1000).fill(r), r)).toBe(false);
  });

  it("verifyConsistency", () => {
    const d = leaves(7);
    const c = consistencyProof(d, 3);
    const r1 = rootFromLeafHashes(leaves(3));
    const r2 = rootFromLeafHashes(d);
    expect(verifyConsistency(3, 7, c, r1, r2)).toBe(true);
    for (const x of bad) {
      expect(verifyConsistency(x as number, 7, c, r1, r2)).toBe(false);
      expect(verifyConsistency(3, x as number, c, r1, r2)).toBe(false);
    }
    expect(verifyConsistency(3, 7, null as never, r1, r2)).toBe(false);
    expect(
      verifyConsistency(3, 7, [...c.slice(0, 1), new Uint8Array(31), ...c.slice(2)], r1, r2),
    ).toBe(false);
    expect(verifyConsistency(3, 7, c, null as never, r2)).toBe(false);
    expect(verifyConsistency(3, 7, c, r1, "x" as never)).toBe(false);
    expect(verifyConsistency(3, 7, c, r1.subarray(1), r2)).toBe(false);
  });
});

describe("MerkleFrontier", () => {
  it("has the root of rootFromLeafHashes at every size 0..600", () => {
    const f = new MerkleFrontier();
    expect(f.size).toBe(0n);
    expect(hex(f.root())).toBe(hex(EMPTY_ROOT));
    for (let n = 1; n <= 600; n++) {
      f.append(LEAVES[n - 1] as Uint8Array);
      expect(f.size).toBe(BigInt(n));
      expect(hex(f.root()), `size ${n}`).toBe(hex(rootFromLeafHashes(leaves(n))));
    }
  });

  it("clones independently and round-trips through its nodes and through a reader", () => {
    const f = new MerkleFrontier();
    for (let i = 0; i < 300; i++) f.append(LEAVES[i] as Uint8Array);
    const g = f.clone();
    g.append(LEAVES[300] as Uint8Array);
    expect(f.size).toBe(300n);
    expect(hex(f.root())).toBe(hex(rootFromLeafHashes(leaves(300))));
    expect(hex(g.root())).toBe(hex(rootFromLeafHashes(leaves(301))));

    const h = MerkleFrontier.fromNodes(f.size, f.hashes());
    expect(h.hashes()).toHaveLength(4); // 300 = 0b100101100
    h.append(LEAVES[300] as Uint8Array);
    expect(hex(h.root())).toBe(hex(g.root()));

    const fromTree = MerkleFrontier.fromReader(levelsReader(leaves(301)), 301);
    expect(hex(fromTree.root())).toBe(hex(g.root()));
    for (let i = 301; i < 400; i++) fromTree.append(LEAVES[i] as Uint8Array);
    expect(hex(fromTree.root())).toBe(hex(rootFromLeafHashes(leaves(400))));
  });

  it("rejects inconsistent nodes and non-hash leaves", () => {
    expect(() => MerkleFrontier.fromNodes(3, [EMPTY_ROOT])).toThrow(RangeError);
    expect(() => MerkleFrontier.fromNodes(1, [new Uint8Array(31)])).toThrow(TypeError);
    expect(() => new MerkleFrontier().append(new Uint8Array(33))).toThrow(TypeError);
  });

  it("does not alias the caller's buffers", () => {
    const f = new MerkleFrontier();
    const leaf = (LEAVES[0] as Uint8Array).slice();
    f.append(leaf);
    leaf.fill(0);
    expect(hex(f.root())).toBe(hex(LEAVES[0] as Uint8Array));
    f.root().fill(0);
    expect(hex(f.root())).toBe(hex(LEAVES[0] as Uint8Array));
  });
});

describe("NodeReader-based generation", () => {
  it("reads the same nodes whatever their hashes (record first, then fetch)", () => {
    fc.assert(
      fc.property(sizeAndIndex, sizes12, ([n, m], [s1, s2]) => {
        const recorded: string[] = [];
        const zero = new Uint8Array(32);
        const recorder: NodeReader = (level, index) => {
          recorded.push(`${level}/${index}`);
          return zero;
        };
        const real = levelsReader(leaves(Math.max(n, s2)));
        const seen: string[] = [];
        const tracking: NodeReader = (level, index) => {
          seen.push(`${level}/${index}`);
          return real(level, index);
        };
        inclusionProofFrom(recorder, m, n);
        consistencyProofFrom(recorder, s1, s2);
        rangeRoot(recorder, 0, n);
        inclusionProofFrom(tracking, m, n);
        consistencyProofFrom(tracking, s1, s2);
        rangeRoot(tracking, 0, n);
        expect(seen).toEqual(recorded);
      }),
      { numRuns: 300 },
    );
  });
});

describe("trees past 2^32 leaves", () => {
  // A consistent synthetic tree: a few distinct leaves in a sea of identical ones. A subtree
  // without distinct leaves has the same hash as any other of its height, so any node of a
  // 2^40-leaf tree is computed in O(levels × distinct leaves).
  const N = 2n ** 40n + 12345n;
  const special = [
    0n,
    1n,
    2n ** 31n,
    2n ** 32n + 7n,
    2n ** 33n + 1n,
    2n ** 40n - 1n,
    2n ** 40n + 5n,
    N - 2n,
    N - 1n,
  ];
  const uniformLeaf = hashLeaf(new TextEncoder().encode("uniform"));
  const uniform: Uint8Array[] = [uniformLeaf];
  for (let l = 1; l <= 41; l++)
    uniform.push(hashChildren(uniform[l - 1] as Uint8Array, uniform[l - 1] as Uint8Array));
  const memo = new Map<string, Uint8Array>();
  let reads = 0;

  const node = (level: number, index: bigint): Uint8Array => {
    const first = index << BigInt(level);
    const end = first + (1n << BigInt(level));
    if (!special.some((s) => s >= first && s < end)) return uniform[level] as Uint8Array;
    if (level === 0) return hashLeaf(new TextEncoder().encode(`leaf ${index}`));
    const key = `${level}/${index}`;
    let h = memo.get(key);
    if (!h) {
      h = hashChildren(node(level - 1, 2n * index), node(level - 1, 2n * index + 1n));
      memo.set(key, h);
    }
    return h;
  };

  const pathLength = (m: bigint, n: bigint): number => {
    if (n <= 1n) return 0;
    let k = 1n;
    while (k * 2n < n) k *= 2n;
    return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, n - k));
  };

  const readerFor =
    (size: bigint): NodeReader =>
    (level, index) => {
      reads++;
      if ((index + 1n) << BigInt(level) > size)
        throw new RangeError(`read (${level}, ${index}) is outside the tree`);
      return node(level, index);
    };
  const read = readerFor(N);
  const root = rangeRoot(read, 0n, N);

  it("proves and verifies inclusion at indices beyond 2^32", () => {
    const indices = [
      2n ** 32n + 7n,
      2n ** 32n + 8n,
      2n ** 33n + 1n,
      2n ** 39n + 3n,
      2n ** 40n + 5n,
      N - 1n,
      N - 2n,
    ];
    for (const i of indices) {
      reads = 0;
      const p = inclusionProofFrom(read, i, N);
      expect(reads).toBeLessThanOrEqual(2 * 41);
      expect(p.length).toBe(pathLength(i, N));
      const leaf = node(0, i);
      expect(verifyInclusion(i, N, leaf, p, root), `index ${i}`).toBe(true);
      expect(
        verifyInclusion(i, N, leaf, [flipBit(p[0] as Uint8Array, 0), ...p.slice(1)], root),
      ).toBe(false);
      expect(verifyInclusion(i, N, leaf, p, flipBit(root, 255))).toBe(false);
      // Swapping two equal uniform leaves changes nothing, so only distinct leaves can tell.
      if (special.includes(i)) expect(verifyInclusion(i ^ 1n, N, leaf, p, root)).toBe(false);
      expect(verifyInclusion(i, N + 2n ** 41n, leaf, p, root)).toBe(false);
    }
    expect(verifyInclusion(N, N, node(0, 0n), [], root)).toBe(false);
  });

  it("proves and verifies consistency between sizes beyond 2^32", () => {
    const pairs: [bigint, bigint][] = [
      [2n ** 32n + 3n, N],
      [2n ** 33n, N],
      [2n ** 40n, N],
      [N - 1n, N],
      [2n ** 31n + 1n, 2n ** 40n + 6n],
    ];
    for (const [s1, s2] of pairs) {
      const r = readerFor(s2);
      const p = consistencyProofFrom(r, s1, s2);
      const r1 = rangeRoot(r, 0n, s1);
      const r2 = rangeRoot(r, 0n, s2);
      expect(verifyConsistency(s1, s2, p, r1, r2), `${s1} -> ${s2}`).toBe(true);
      expect(
        verifyConsistency(s1, s2, [...p.slice(0, -1), flipBit(p.at(-1) as Uint8Array, 7)], r1, r2),
      ).toBe(false);
      expect(verifyConsistency(s1 + 1n, s2, p, r1, r2)).toBe(false);
    }
  });

  it("a frontier loaded at 2^40+ leaves keeps the same root", () => {
    const f = MerkleFrontier.fromReader(read, N);
    expect(hex(f.root())).toBe(hex(root));
  });
});

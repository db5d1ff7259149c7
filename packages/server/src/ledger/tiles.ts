import { createHash } from "node:crypto";
import type { NodeReader } from "@patron/ledger";
import { hashChildrenNative, hashPairNative } from "./hash.js";

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162). */
const EMPTY_ROOT = new Uint8Array(createHash("sha256").digest());

const hashPair = hashPairNative;

/**
 * The Merkle tree is stored as tiles (the C2SP tlog-tiles layout, height 8): tile (L, N) holds
 * the hashes of the level-8L nodes 256N..256N+255. A proof touches about one tile per 8 levels,
 * so at a million entries it reads three tiles instead of twenty nodes, and a batch rewrites a
 * handful of rows instead of two per entry.
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
const HASH = 32;

export interface TileKey {
  level: number;
  index: bigint;
}

export const tileId = (level: number, index: bigint) => `${level}/${index}`;

/** Number of level-8L nodes in a tree of `size` leaves. */
export const nodesAtTileLevel = (size: bigint, level: number) =>
  size >> BigInt(TILE_HEIGHT * level);

/** How many hashes tile (L, N) holds in a tree of `size` leaves (0 when it does not exist yet). */
export function tileWidth(size: bigint, level: number, index: bigint): number {
  const n = nodesAtTileLevel(size, level) - index * BigInt(TILE_WIDTH);
  if (n <= 0n) return 0;
  return n >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(n);
}

/** Which tile holds node (level, index) of the tree, and where inside it. */
export function locateNode(level: number, index: bigint) {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const height = level % TILE_HEIGHT;
  const first = index << BigInt(height); // first level-8L node under this node
  const tileIndex = first >> BigInt(TILE_HEIGHT);
  const offset = Number(first - (tileIndex << BigInt(TILE_HEIGHT))) >> height;
  return { tileLevel, tileIndex, height, offset };
}

/**
 * One tile with its internal nodes computed on demand: level r holds the complete subtrees of
 * 2^r bottom hashes, each level one flat buffer (a cached full tile costs 16 KiB).
 */
export class TileNodes {
  private readonly levels: Uint8Array[];

  constructor(bottom: Uint8Array) {
    if (bottom.length % HASH !== 0) throw new Error("tile length is not a multiple of 32");
    this.levels = [bottom];
  }

  get width(): number {
    return (this.levels[0] as Uint8Array).length / HASH;
  }

  get bottom(): Uint8Array {
    return this.levels[0] as Uint8Array;
  }

  /** Hash of the subtree of height `r` at position `j` inside this tile. */
  node(r: number, j: number): Uint8Array {
    const level = this.level(r);
    if ((j + 1) * HASH > level.length) {
      throw new RangeError(`tile of width ${this.width} has no node ${j} at height ${r}`);
    }
    return level.subarray(j * HASH, (j + 1) * HASH);
  }

  private level(r: number): Uint8Array {
    for (let k = this.levels.length; k <= r; k++) {
      const below = this.levels[k - 1] as Uint8Array;
      const count = Math.floor(below.length / HASH / 2);
      const next = new Uint8Array(count * HASH);
      for (let j = 0; j < count; j++) {
        next.set(hashChildrenNative(below.subarray(2 * j * HASH, (2 * j + 2) * HASH)), j * HASH);
      }
      this.levels.push(next);
    }
    return this.levels[r] as Uint8Array;
  }
}

/** A NodeReader over loaded tiles, looked up by tile id. */
export function readerFromTiles(
  tiles: ReadonlyMap<string, TileNodes> | ((id: string) => TileNodes | undefined),
): NodeReader {
  const get = typeof tiles === "function" ? tiles : (id: string) => tiles.get(id);
  return (level, index) => {
    const { tileLevel, tileIndex, height, offset } = locateNode(level, index);
    const tile = get(tileId(tileLevel, tileIndex));
    if (!tile) throw new Error(`tile ${tileId(tileLevel, tileIndex)} is not loaded`);
    return tile.node(height, offset);
  };
}

/** Runs a proof computation with a dummy reader to learn which tiles it will read. */
export function tilesNeeded(compute: (read: NodeReader) => unknown): TileKey[] {
  const seen = new Map<string, TileKey>();
  const zero = new Uint8Array(HASH);
  compute((level, index) => {
    const { tileLevel, tileIndex } = locateNode(level, index);
    seen.set(tileId(tileLevel, tileIndex), { level: tileLevel, index: tileIndex });
    return zero;
  });
  return [...seen.values()];
}

/**
 * The right edge of the tree: the partial tile at each tile level. This is all the sequencer
 * keeps in memory; appending touches it alone, and it yields the root and the tiles to write.
 */
export class TreeEdge {
  private constructor(
    public size: bigint,
    /** partial[L]: bottom hashes of the rightmost, not yet full tile at level L. */
    private partial: Uint8Array[][],
    /**
     * The compact range of the tree: the roots of its perfect subtrees, largest first (one per
     * set bit of `size`). Appending merges them like a binary counter, one hash per leaf on
     * average, and the root folds them: a few dozen hashes per batch instead of rehashing the
     * partial tiles.
     */
    private range: Uint8Array[],
  ) {
    this.count = Number(size);
  }

  /** `size` as a number, for the arithmetic of every append (exact below 2^53 leaves). */
  private count: number;
  /** Levels whose partial tile changed since `takeDirty`, and tiles filled meanwhile. */
  private readonly touched = new Set<number>();
  private completed: { level: number; index: bigint; hashes: Uint8Array[] }[] = [];

  static empty(): TreeEdge {
    return new TreeEdge(0n, [], []);
  }

  /** Rebuilds the edge from the stored partial tiles of a tree of `size` leaves. */
  static fromTiles(size: bigint, load: (key: TileKey) => Uint8Array | undefined): TreeEdge {
    const partial: Uint8Array[][] = [];
    for (let level = 0; nodesAtTileLevel(size, level) > 0n; level++) {
      const n = nodesAtTileLevel(size, level);
      const index = n >> BigInt(TILE_HEIGHT);
      const width = Number(n - (index << BigInt(TILE_HEIGHT)));
      const hashes: Uint8Array[] = [];
      if (width > 0) {
        const bytes = load({ level, index });
        if (!bytes || bytes.length < width * HASH) {
          throw new Error(`stored tile ${tileId(level, index)} is missing or short`);
        }
        for (let i = 0; i < width; i++) hashes.push(bytes.slice(i * HASH, (i + 1) * HASH));
      }
      partial.push(hashes);
    }
    const edge = new TreeEdge(size, partial, []);
    // Every perfect subtree of the range lies on the right edge, so the partial tiles hold it.
    const read = readerFromTiles(edge.partialTileNodes());
    let start = 0n;
    for (let b = 63; b >= 0; b--) {
      const width = 1n << BigInt(b);
      if ((size & width) === 0n) continue;
      edge.range.push(read(b, start >> BigInt(b)).slice());
      start += width;
    }
    return edge;
  }

  /** The partial tiles a tree of `size` leaves has, to load before `fromTiles`. */
  static partialTiles(size: bigint): TileKey[] {
    const keys: TileKey[] = [];
    for (let level = 0; nodesAtTileLevel(size, level) > 0n; level++) {
      const n = nodesAtTileLevel(size, level);
      if (n % BigInt(TILE_WIDTH) !== 0n) keys.push({ level, index: n >> BigInt(TILE_HEIGHT) });
    }
    return keys;
  }

  /** A copy to roll back to if a batch fails; take it between batches (nothing dirty). */
  clone(): TreeEdge {
    if (this.touched.size > 0 || this.completed.length > 0) {
      throw new Error("cannot snapshot a tree edge with unwritten tiles");
    }
    return new TreeEdge(
      this.size,
      this.partial.map((t) => t.slice()),
      this.range.slice(),
    );
  }

  /** The tree's root (RFC 9162 MTH), folded from the compact range. */
  root(): Uint8Array {
    const n = this.range.length;
    if (n === 0) return EMPTY_ROOT;
    let acc = this.range[n - 1] as Uint8Array;
    for (let i = n - 2; i >= 0; i--) acc = hashPair(this.range[i] as Uint8Array, acc);
    return acc;
  }

  append(leafHash: Uint8Array): void {
    // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes. Those of
    // height 8, 16, ... are the roots of the tiles this leaf completes: kept for the tiles.
    let node = leafHash;
    let height = 0;
    const tileRoots: Uint8Array[] = [];
    for (let s = this.count; s % 2 === 1; s = (s - 1) / 2) {
      node = hashPair(this.range.pop() as Uint8Array, node);
      height++;
      if (height % TILE_HEIGHT === 0) tileRoots.push(node);
    }
    this.range.push(node);
    this.count += 1;
    this.size += 1n;
    let hash = leafHash;
    for (let level = 0; ; level++) {
      let tile = this.partial[level];
      if (!tile) {
        tile = [];
        this.partial[level] = tile;
      }
      tile.push(hash);
      if (tile.length < TILE_WIDTH) {
        this.touched.add(level);
        return;
      }
      // The tile is full: its root, computed above, is the next node one tile level up.
      const index = (nodesAtTileLevel(this.size, level) - 1n) >> BigInt(TILE_HEIGHT);
      this.completed.push({ level, index, hashes: tile });
      this.touched.delete(level);
      hash = tileRoots[level] as Uint8Array;
      this.partial[level] = [];
    }
  }

  /**
   * Tiles changed since the last call, as rows to upsert. The partial tile of leaf hashes is
   * left out: it is the leaf hashes of the last entries (`ledger_entries` holds them), and
   * rewriting it in every batch cost a small batch more than its entries did. Every full tile,
   * and the partial tiles above the leaves (they change once per 256 entries at most), are
   * stored.
   */
  takeDirty(): { level: number; index: bigint; hashes: Uint8Array }[] {
    const rows = this.completed.map((t) => ({
      level: t.level,
      index: t.index,
      hashes: concat(t.hashes),
    }));
    for (const level of this.touched) {
      const tile = this.partial[level];
      if (level === 0 || !tile || tile.length === 0) continue;
      const index = nodesAtTileLevel(this.size, level) >> BigInt(TILE_HEIGHT);
      rows.push({ level, index, hashes: concat(tile) });
    }
    this.completed = [];
    this.touched.clear();
    return rows;
  }

  /**
   * The partial tiles as they are now, built when first asked for: most batches' tiles are
   * never read (proofs ask for a few), and the hashes they hold never change once appended.
   */
  partialTilesLater(): () => Map<string, TileNodes> {
    const size = this.size;
    const partial = this.partial.map((t) => t.slice());
    let tiles: Map<string, TileNodes> | undefined;
    return () => {
      tiles ??= partialTileNodesOf(size, partial);
      return tiles;
    };
  }

  /** The partial tiles as loaded tiles, for reading nodes on the right edge. */
  partialTileNodes(): Map<string, TileNodes> {
    return partialTileNodesOf(this.size, this.partial);
  }
}

function partialTileNodesOf(size: bigint, partial: Uint8Array[][]): Map<string, TileNodes> {
  const tiles = new Map<string, TileNodes>();
  partial.forEach((hashes, level) => {
    if (hashes.length === 0) return;
    const index = nodesAtTileLevel(size, level) >> BigInt(TILE_HEIGHT);
    tiles.set(tileId(level, index), new TileNodes(concat(hashes)));
  });
  return tiles;
}

export function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i] as Uint8Array, i * HASH);
  return out;
}

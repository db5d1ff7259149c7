import { type NodeReader, rangeRoot } from "@patron/ledger";
import { hashChildrenNative } from "./hash.js";

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
    private dirty: Map<string, { level: number; index: bigint; hashes: Uint8Array[] }>,
  ) {}

  static empty(): TreeEdge {
    return new TreeEdge(0n, [], new Map());
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
    return new TreeEdge(size, partial, new Map());
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
    if (this.dirty.size > 0) throw new Error("cannot snapshot a tree edge with unwritten tiles");
    return new TreeEdge(
      this.size,
      this.partial.map((t) => t.slice()),
      new Map(),
    );
  }

  root(): Uint8Array {
    return rangeRoot(readerFromTiles(this.partialTileNodes()), 0n, this.size);
  }

  append(leafHash: Uint8Array): void {
    this.size += 1n;
    let hash = leafHash;
    for (let level = 0; ; level++) {
      const tile = this.partial[level] ?? [];
      this.partial[level] = tile;
      tile.push(hash);
      const index = (nodesAtTileLevel(this.size, level) - 1n) >> BigInt(TILE_HEIGHT);
      this.dirty.set(tileId(level, index), { level, index, hashes: tile });
      if (tile.length < TILE_WIDTH) return;
      // The tile is full: its root is the next node one tile level up.
      this.dirty.set(tileId(level, index), { level, index, hashes: tile.slice() });
      hash = new TileNodes(concat(tile)).node(TILE_HEIGHT, 0);
      this.partial[level] = [];
    }
  }

  /** Tiles changed since the last call, as rows to upsert. */
  takeDirty(): { level: number; index: bigint; hashes: Uint8Array }[] {
    const rows = [...this.dirty.values()].map((t) => ({
      level: t.level,
      index: t.index,
      hashes: concat(t.hashes),
    }));
    this.dirty.clear();
    return rows;
  }

  /** The partial tiles as loaded tiles, for reading nodes on the right edge. */
  partialTileNodes(): Map<string, TileNodes> {
    const tiles = new Map<string, TileNodes>();
    this.partial.forEach((hashes, level) => {
      if (hashes.length === 0) return;
      const index = nodesAtTileLevel(this.size, level) >> BigInt(TILE_HEIGHT);
      tiles.set(tileId(level, index), new TileNodes(concat(hashes)));
    });
    return tiles;
  }
}

export function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i] as Uint8Array, i * HASH);
  return out;
}

import { consistencyProofFrom, inclusionProofFrom, type NodeReader } from "@patron/ledger";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { leafHashes, loadTiles } from "./store.js";
import {
  readerFromTiles,
  TILE_WIDTH,
  type TileKey,
  TileNodes,
  tileId,
  tilesNeeded,
  tileWidth,
} from "./tiles.js";

/**
 * A small LRU of tiles. A full tile never changes; a partial one is cached under its width,
 * which pins its contents too, since tiles only grow at the end.
 */
class TileCache {
  private readonly map = new Map<string, TileNodes>();
  constructor(private readonly capacity: number) {}

  get(id: string): TileNodes | undefined {
    const t = this.map.get(id);
    if (t) {
      this.map.delete(id);
      this.map.set(id, t);
    }
    return t;
  }

  set(id: string, t: TileNodes): void {
    this.map.set(id, t);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }
}

/**
 * Serves inclusion and consistency proofs from stored tiles in O(log n): a first pass learns
 * which tiles the proof reads, they come from the cache, the sequencer's committed edge or one
 * query, and a second pass computes the proof.
 */
export class ProofService {
  private readonly cache: TileCache;

  constructor(
    private readonly db: Queryable,
    /** Partial tiles of the committed tree, when this node runs the sequencer. */
    private readonly edgeTiles: () => ReadonlyMap<string, TileNodes>,
    // 8 KiB a tile: 64 MiB holds every tile of a 2M-entry tree, so proofs rarely wait on SQL.
    cacheTiles = 8192,
  ) {
    this.cache = new TileCache(cacheTiles);
  }

  async inclusion(index: bigint, size: bigint): Promise<Uint8Array[]> {
    if (index < 0n || index >= size) {
      throw new ApiError(400, "invalid_range", `index ${index} is not below tree size ${size}`);
    }
    const compute = (read: NodeReader) => inclusionProofFrom(read, index, size);
    return compute(await this.reader(tilesNeeded(compute), size));
  }

  /**
   * Inclusion proofs of many entries in one tree: the tiles they read are loaded together, once
   * (a customer's history, a page of a thousand proofs, reads a few dozen tiles, not thousands).
   */
  async inclusionMany(indexes: readonly bigint[], size: bigint): Promise<Uint8Array[][]> {
    const keys = new Map<string, TileKey>();
    for (const index of indexes) {
      if (index < 0n || index >= size) {
        throw new ApiError(400, "invalid_range", `index ${index} is not below tree size ${size}`);
      }
      for (const k of tilesNeeded((read) => inclusionProofFrom(read, index, size))) {
        keys.set(tileId(k.level, k.index), k);
      }
    }
    const read = await this.reader([...keys.values()], size);
    return indexes.map((index) => inclusionProofFrom(read, index, size));
  }

  async consistency(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    if (size1 < 0n || size1 > size2) {
      throw new ApiError(400, "invalid_range", `size ${size1} is not at most size ${size2}`);
    }
    const compute = (read: NodeReader) => consistencyProofFrom(read, size1, size2);
    return compute(await this.reader(tilesNeeded(compute), size2));
  }

  /** Loads the tiles a proof over a tree of `size` leaves reads, each cut to its width then. */
  private async reader(keys: TileKey[], size: bigint): Promise<NodeReader> {
    const tiles = new Map<string, TileNodes>();
    const missing: { key: TileKey; width: number }[] = [];
    const edge = this.edgeTiles();
    for (const key of keys) {
      const id = tileId(key.level, key.index);
      const width = tileWidth(size, key.level, key.index);
      const found = this.cache.get(cacheId(id, width)) ?? cut(edge.get(id), width);
      if (found) tiles.set(id, found);
      else missing.push({ key, width });
    }
    if (missing.length > 0) {
      const loaded = await loadTiles(
        this.db,
        missing.map((m) => m.key),
      );
      for (const { key, width } of missing) {
        const id = tileId(key.level, key.index);
        let bytes = loaded.get(id);
        if ((!bytes || bytes.length < width * 32) && key.level === 0 && width < TILE_WIDTH) {
          // The partial tile of leaf hashes is not stored: it is the last entries' leaf hashes.
          const from = key.index * BigInt(TILE_WIDTH);
          bytes = await leafHashes(this.db, from, from + BigInt(width)).catch(() => undefined);
        }
        if (!bytes || bytes.length < width * 32) {
          throw new ApiError(500, "tile_missing", `tree tile ${id} is missing or short`);
        }
        const tile = new TileNodes(bytes.slice(0, width * 32));
        this.cache.set(cacheId(id, width), tile);
        tiles.set(id, tile);
      }
    }
    return readerFromTiles(tiles);
  }
}

const cacheId = (id: string, width: number) => (width === TILE_WIDTH ? id : `${id}.p${width}`);

// A tile that has grown since the tree of interest only helps if it still starts the same way,
// which an append-only tile always does; nodes past `width` are never read for that tree.
function cut(tile: TileNodes | undefined, width: number): TileNodes | undefined {
  if (!tile || tile.width < width) return undefined;
  return tile.width === width ? tile : new TileNodes(tile.bottom.slice(0, width * 32));
}

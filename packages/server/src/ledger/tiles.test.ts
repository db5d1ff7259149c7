import { createHash } from "node:crypto";
import { rootFromLeafHashes } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { TILE_WIDTH, TreeEdge, tileId } from "./tiles.js";

const leaf = (i: number) => new Uint8Array(createHash("sha256").update(`leaf ${i}`).digest());

describe("TreeEdge", () => {
  it("folds its compact range into the RFC 9162 root at every size", () => {
    const edge = TreeEdge.empty();
    const leaves: Uint8Array[] = [];
    expect(Buffer.from(edge.root())).toEqual(Buffer.from(rootFromLeafHashes([])));
    for (let i = 0; i < 700; i++) {
      leaves.push(leaf(i));
      edge.append(leaf(i));
      expect(Buffer.from(edge.root())).toEqual(Buffer.from(rootFromLeafHashes(leaves)));
    }
  });

  it("stores full tiles and the partial tiles above the leaves, and rebuilds from them", () => {
    const stored = new Map<string, Uint8Array>();
    const edge = TreeEdge.empty();
    const leaves: Uint8Array[] = [];
    for (let n = 0; n < 70_000; ) {
      // Batches of varied sizes, as the sequencer commits them.
      const batch = 1 + ((n * 7919) % 613);
      for (let k = 0; k < batch; k++, n++) {
        leaves.push(leaf(n));
        edge.append(leaf(n));
      }
      for (const t of edge.takeDirty()) {
        // The partial tile of leaf hashes is never among them.
        expect(t.level > 0 || t.hashes.length === TILE_WIDTH * 32).toBe(true);
        stored.set(tileId(t.level, t.index), t.hashes);
      }
      if (n % 5 === 0 || n > 69_000) {
        const size = BigInt(n);
        const rebuilt = TreeEdge.fromTiles(size, (k) => {
          if (k.level > 0) return stored.get(tileId(k.level, k.index));
          // As the sequencer loads it: the last entries' leaf hashes.
          const from = Number(k.index) * TILE_WIDTH;
          return Buffer.concat(leaves.slice(from, n));
        });
        expect(Buffer.from(rebuilt.root())).toEqual(Buffer.from(edge.root()));
      }
    }
    expect(Buffer.from(edge.root())).toEqual(Buffer.from(rootFromLeafHashes(leaves)));
  });
});

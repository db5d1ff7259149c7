import {
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "@patron/ledger";
import { afterEach, describe, expect, it } from "vitest";
import { ProofService } from "../src/ledger/proofs.js";
import type { Projector } from "../src/ledger/sequencer.js";
import { Sequencer } from "../src/ledger/sequencer.js";
import { listCheckpoints, listEntries } from "../src/ledger/store.js";
import { type Ledger, openLedger } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";

describe.each(backends)("ledger storage on $name", (backend) => {
  const open: { ledger: Ledger; cleanup: () => void }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.ledger.sequencer.close();
      await o.ledger.db.close();
      o.cleanup();
    }
  });

  async function fresh(overrides: { batchMax?: number; batchWaitMs?: number } = {}) {
    const { config, schema, cleanup } = backend.config(overrides);
    const ledger = await openLedger(config, { schema });
    open.push({ ledger, cleanup });
    return { ledger, config, schema };
  }

  const draft = (i: number) => ({ type: "test.note", actor: "test", payload: { i } });

  it("commits concurrent submissions in batches, each with a signed checkpoint", async () => {
    const { ledger } = await fresh({ batchMax: 37, batchWaitMs: 1 });
    const results = await Promise.all(
      Array.from({ length: 700 }, (_, i) => ledger.sequencer.submit(draft(i))),
    );
    const indices = results.map((r) => r.index).sort((a, b) => (a < b ? -1 : 1));
    expect(indices).toEqual(Array.from({ length: 700 }, (_, i) => BigInt(i)));

    const stored = await listEntries(ledger.db, 0n, 10_000n);
    expect(stored).toHaveLength(700);
    const leaves = stored.map((e) => hashLeaf(e.data));
    expect(
      leaves.map((l, i) => Buffer.from(l).equals(Buffer.from(stored[i]?.leafHash ?? []))),
    ).not.toContain(false);
    expect(ledger.sequencer.head.size).toBe(700n);
    expect(Buffer.from(ledger.sequencer.head.root)).toEqual(
      Buffer.from(rootFromLeafHashes(leaves)),
    );

    const cps = await listCheckpoints(ledger.db, 0n, 1000);
    expect(cps.length).toBeGreaterThanOrEqual(Math.ceil(700 / 37));
    for (const cp of cps) {
      const c = verifyCheckpoint(cp.note, ledger.identity.verifierKey, {
        origin: ledger.identity.origin,
      });
      expect(c.size).toBe(cp.size);
      expect(Buffer.from(c.root)).toEqual(
        Buffer.from(rootFromLeafHashes(leaves.slice(0, Number(cp.size)))),
      );
    }
  });

  it("serves proofs from stored tiles that match the reference and hold between every pair of checkpoints", async () => {
    const { ledger } = await fresh({ batchMax: 97 });
    const n = 256 * 3 + 45;
    await Promise.all(Array.from({ length: n }, (_, i) => ledger.sequencer.submit(draft(i))));
    const leaves = (await listEntries(ledger.db, 0n, BigInt(n))).map((e) => e.leafHash);
    // A second service with no edge tiles reads everything back from the database.
    for (const proofs of [
      new ProofService(ledger.db, () => ledger.sequencer.edgeTiles),
      new ProofService(ledger.db, () => new Map()),
    ]) {
      for (const index of [0, 1, 255, 256, 511, 700, n - 1]) {
        const proof = await proofs.inclusion(BigInt(index), BigInt(n));
        expect(proof.map((p) => Buffer.from(p).toString("hex"))).toEqual(
          inclusionProof(leaves, index).map((p) => Buffer.from(p).toString("hex")),
        );
        expect(
          verifyInclusion(index, n, leaves[index] as Uint8Array, proof, rootFromLeafHashes(leaves)),
        ).toBe(true);
      }
      const cps = await listCheckpoints(ledger.db, 0n, 1000);
      for (const a of cps) {
        for (const b of cps) {
          if (a.size > b.size) continue;
          const proof = await proofs.consistency(a.size, b.size);
          expect(verifyConsistency(a.size, b.size, proof, a.root, b.root)).toBe(true);
        }
      }
    }
  });

  it("recovers its tree from the database after a restart and continues the same log", async () => {
    const { ledger, config, schema } = await fresh({ batchMax: 50 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.sequencer.submit(draft(i))));
    const before = ledger.sequencer.head;
    await ledger.sequencer.close();

    const again = await Sequencer.open(ledger.db, {
      origin: ledger.identity.origin,
      signerKey: ledger.identity.signerKey,
      maxBatch: 50,
      maxWaitMs: 1,
    });
    expect(again.head.size).toBe(before.size);
    expect(Buffer.from(again.head.root)).toEqual(Buffer.from(before.root));
    await Promise.all(Array.from({ length: 30 }, (_, i) => again.submit(draft(1000 + i))));
    const leaves = (await listEntries(ledger.db, 0n, 1000n)).map((e) => e.leafHash);
    expect(leaves).toHaveLength(330);
    expect(Buffer.from(again.head.root)).toEqual(Buffer.from(rootFromLeafHashes(leaves)));
    await again.close();
    expect(config.dataDir).toBeTruthy();
    expect(schema === undefined || schema.length > 0).toBe(true);
  });

  it("makes a batch all-or-nothing: a failing projection leaves no entry, tile or checkpoint behind", async () => {
    const { ledger } = await fresh();
    await ledger.sequencer.submit(draft(0));
    const failing: Projector = {
      types: ["test.boom"],
      tables: [],
      statements: () => [{ sql: "SELECT 1/0" }],
    };
    const seq = await Sequencer.open(ledger.db, {
      origin: ledger.identity.origin,
      signerKey: ledger.identity.signerKey,
      maxBatch: 100,
      maxWaitMs: 20,
      projectors: [failing],
    });
    await ledger.sequencer.close();
    const outcomes = await Promise.allSettled([
      seq.submit(draft(1)),
      seq.submit({ type: "test.boom", actor: "test", payload: {} }),
      seq.submit(draft(2)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const entries = await listEntries(ledger.db, 0n, 100n);
    expect(entries.map((e) => e.type)).toEqual(["test.note", "test.note", "test.note"]);
    expect(seq.head.size).toBe(3n);
    expect(Buffer.from(seq.head.root)).toEqual(
      Buffer.from(rootFromLeafHashes(entries.map((e) => e.leafHash))),
    );
    const cps = await listCheckpoints(ledger.db, 0n, 100);
    expect(cps.every((c) => c.size <= 3n)).toBe(true);
    await seq.close();
  });

  it("returns the first result for a repeated idempotency key and refuses it for another request", async () => {
    const { ledger } = await fresh();
    const idem = (payloadHash: number) => ({
      scope: "s",
      key: "k1",
      requestHash: new Uint8Array(32).fill(payloadHash),
    });
    const [a, b] = await Promise.all([
      ledger.sequencer.submit(draft(1), idem(1)),
      ledger.sequencer.submit(draft(1), idem(1)),
    ]);
    expect(b?.index).toBe(a?.index);
    const c = await ledger.sequencer.submit(draft(1), idem(1));
    expect(c.index).toBe(a?.index);
    expect(c.replayed).toBe(true);
    await expect(ledger.sequencer.submit(draft(2), idem(2))).rejects.toMatchObject({
      code: "idempotency_conflict",
    });
    expect(ledger.sequencer.head.size).toBe(1n);
  });
});

describe.each(backends.filter((b) => b.name === "postgres"))(
  "single writer on $name",
  (backend) => {
    it("refuses a second sequencer on the same database", async () => {
      const { config, schema, cleanup } = backend.config();
      const first = await openLedger(config, { schema });
      try {
        await expect(openLedger(config, { schema })).rejects.toThrow(/already the sequencer/);
      } finally {
        await first.sequencer.close();
        await first.db.close();
        cleanup();
      }
    });
  },
);

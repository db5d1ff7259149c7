import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { migrate } from "../db/migrations.js";
import { backends } from "../test-support/backends.js";
import { KeyLookup } from "./key-lookup.js";
import { findIdempotencyKey } from "./store.js";

describe.each(backends)("KeyLookup on $name", (backend) => {
  let db: Database;
  let cleanup: () => void;

  beforeAll(async () => {
    const fresh = backend.config();
    cleanup = fresh.cleanup;
    db = await openDatabase({
      url: fresh.config.databaseUrl,
      dataDir: fresh.config.databaseUrl ? undefined : join(fresh.config.dataDir, "pgdata"),
      schema: fresh.schema,
    });
    await migrate(db);
    for (let i = 0; i < 50; i++) {
      await db.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, entry_idx, entry_count)
         VALUES ($1, $2, decode($3, 'hex'), $4, $5)`,
        [i % 2 === 0 ? "orders:m1" : "orders:m2", `k${i}`, `${i}`.padStart(64, "0"), 10 * i, 2],
      );
    }
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    cleanup?.();
  });

  it("answers the lookups of one turn with one query, each as findIdempotencyKey would", async () => {
    const lookup = new KeyLookup(db);
    // Present and absent keys, the same key twice, the same key in the other scope.
    const asked: [string, string][] = [];
    for (let i = 0; i < 60; i++) asked.push([i % 2 === 0 ? "orders:m1" : "orders:m2", `k${i}`]);
    asked.push(["orders:m1", "k0"], ["orders:m2", "k0"], ["refunds:m1", "k1"]);
    const found = await Promise.all(asked.map(([s, k]) => lookup.find(s, k)));
    expect(lookup.queries).toBe(1);
    for (const [n, [scope, key]] of asked.entries()) {
      expect(found[n]).toEqual(await findIdempotencyKey(db, scope, key));
    }
    expect(found.filter((f) => f !== undefined)).toHaveLength(51);
    expect(found[10]).toEqual({ requestHash: expect.any(Uint8Array), index: 100n, count: 2 });

    // A later turn: its own query.
    expect(await lookup.find("orders:m1", "k2")).toEqual(found[2]);
    expect(lookup.queries).toBe(2);
  });

  it("fails every lookup of a query that fails, and the next turn queries again", async () => {
    const broken = new KeyLookup({
      query: async () => {
        throw new Error("connection lost");
      },
    } as unknown as Database);
    const results = await Promise.allSettled([broken.find("a", "1"), broken.find("a", "2")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(broken.queries).toBe(1);
    await expect(broken.find("a", "1")).rejects.toThrow("connection lost");
    expect(broken.queries).toBe(2);
  });
});

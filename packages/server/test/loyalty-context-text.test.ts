import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../src/db/migrations.js";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import type { TestNode } from "./helpers.js";
import { loyaltyCalls, startLoyaltyNode } from "./loyalty-helpers.js";

/**
 * An order's context is kept as the text the node wrote (json, migration 28), and a ledger whose
 * contexts were kept as jsonb before reads, audits, refunds and simulates the same once migrated.
 */
describe.each(backends)("order contexts kept as text on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  const { call, customer, order, entry } = loyaltyCalls(
    () => ({ t, clock }),
    `ctx-${backend.name}`,
  );
  const contexts = async () =>
    (
      await t.node.db.query<{ order_id: string; type: string; text: string }>(
        `SELECT order_id, pg_typeof(context)::text AS type, context::text AS text
         FROM loyalty_orders ORDER BY order_id`,
      )
    ).rows;

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(backend, {
      web: {
        name: "Double on the web",
        kind: "earn",
        scope: { channels: ["web"] },
        condition: true,
        action: { type: "multiplier", factor: 2, divisor: 1 },
      },
    }));
  });
  afterAll(() => t?.close());

  it("stores the context as written, audits it, and reads it the same after jsonb", async () => {
    const alice = await customer();
    const a = await order(alice, "T-1", 1234, "web");
    await order(alice, "T-2", 500);
    clock.advance(60_000);

    // Verbatim: the node's JSON.stringify of the points.awarded entry's context (jsonb would
    // print it back with spaces, its keys by length).
    const awarded = await entry(a.entryIndex + 1);
    expect(awarded.type).toBe("points.awarded");
    const stored = await contexts();
    expect(stored.map((r) => r.type)).toEqual(["json", "json"]);
    expect(JSON.parse(stored[0]?.text as string)).toEqual(awarded.payload.context);
    expect(stored[0]?.text).toMatch(/^\{"order":\{"amount":1234,"currency":"EUR",/);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);

    const window = { from: new Date(clock.now() - 86_400_000).toISOString() };
    const report = async () => {
      const r = await call("POST", "/v1/loyalty/simulate", { rules: ["base", "web"], ...window });
      expect(r.statusCode, r.body).toBe(200);
      return r.json();
    };
    const before = await report();
    expect(before).toMatchObject({ orders: 2, published: { points: 12 + 12 + 5 } });

    // A ledger from before migration 28: the contexts as jsonb kept them (keys reordered).
    await t.node.db.query(
      "ALTER TABLE loyalty_orders ALTER COLUMN context TYPE jsonb USING context::jsonb",
    );
    await t.node.db.query("DELETE FROM schema_migrations WHERE id = 28");
    await migrate(t.node.db);
    const migrated = await contexts();
    expect(migrated.map((r) => r.type)).toEqual(["json", "json"]);
    expect(migrated[0]?.text).toMatch(/^\{"time": \{/);
    expect(JSON.parse(migrated[0]?.text as string)).toEqual(awarded.payload.context);
    // The audit compares values: the rebuild writes the node's text, the rows keep jsonb's.
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
    expect(await report()).toEqual(before);
    // A refund reads the stored context to recompute the award.
    const refund = await call("POST", "/v1/orders/T-1/refund", {});
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json()).toMatchObject({ full: true, pointsBefore: 24, reversed: 24 });
  });
});

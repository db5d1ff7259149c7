import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { addMonths } from "../src/loyalty/expiry.js";
import { projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode } from "./helpers.js";
import { loyaltyCalls, startLoyaltyNode } from "./loyalty-helpers.js";

const DAY = 86_400_000;

const TIERS = [
  { id: "silver", name: "Silver", qualification: { metric: "points", threshold: 100, months: 3 } },
  { id: "gold", name: "Gold", qualification: { metric: "spend", threshold: 50000, months: 3 } },
];

interface Points {
  balance: number;
  tier: string | null;
  tierProgress: {
    current: { tier: string; figure: number; threshold: number; months: number } | null;
    next: { tier: string; figure: number; threshold: number; months: number } | null;
  };
}

describe.each(backends)("loyalty tiers on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  const { call, customer, entry, order, sweep, audit } = loyaltyCalls(
    () => ({ t, clock }),
    `t.${backend.name}.`,
  );
  const iso = (ms: number) => new Date(ms).toISOString();

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as Points;

  /** The customer's tier.changed entries, oldest first. */
  async function changes(customerId: string) {
    const { rows } = await t.node.db.query<{ idx: string | number }>(
      "SELECT idx FROM ledger_entries WHERE type = 'tier.changed' ORDER BY idx",
    );
    const all = await Promise.all(rows.map((r) => entry(Number(r.idx))));
    return all.filter((e) => e.payload.customerId === customerId);
  }

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(backend, {
      "gold-double": {
        name: "Double points for gold",
        kind: "earn",
        condition: true,
        scope: { tiers: ["gold"] },
        action: { type: "multiplier", factor: 2 },
      },
    }));
  });
  afterAll(async () => t?.close());

  it("refuses bad tiers with a 4xx, writing nothing", async () => {
    const before = size(t.node);
    const tier = (q: unknown, extra: Record<string, unknown> = {}) => ({
      id: "silver",
      name: "Silver",
      qualification: q,
      ...extra,
    });
    for (const tiers of [
      [tier({ metric: "points", threshold: -1, months: 3 })],
      [tier({ metric: "points", threshold: 100, months: 0 })],
      [tier({ metric: "points", threshold: 100, months: 121 })],
      [tier({ metric: "points", threshold: 1.5, months: 3 })],
      [tier({ metric: "visits", threshold: 100, months: 3 })],
      [tier({ metric: "points", threshold: 100 })],
      [tier({ metric: "points", threshold: 100, months: 3 }, { multiplier: 2 })],
      [tier({ metric: "points", threshold: 100, months: 3 }, { id: "Gold Tier" })],
      [
        tier({ metric: "points", threshold: 100, months: 3 }),
        tier({ metric: "points", threshold: 200, months: 3 }),
      ],
      "gold",
    ]) {
      const r = await call("PUT", "/v1/loyalty/programme", { tiers });
      expect(r.statusCode, JSON.stringify(tiers)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    expect(size(t.node)).toBe(before);
    expect((await call("GET", "/v1/loyalty/programme")).json().programme.tiers).toEqual([]);
  });

  it("without tiers nobody has one, and the context carries none", async () => {
    const c = await customer();
    const o = await order(c, "N-1", 90000);
    expect(o.points).toBe(900);
    expect(await changes(c)).toEqual([]);
    const awarded = await entry(o.entryIndex + 1);
    expect(awarded.payload.context).toMatchObject({ customer: { orders: 0 } });
    expect((awarded.payload.context as { customer: object }).customer).not.toHaveProperty("tier");
    expect(await points(c)).toMatchObject({
      tier: null,
      tierProgress: { current: null, next: null },
    });
  });

  it("upgrades on the order that qualifies; the tier flows into later orders and its multiplier is recorded", async () => {
    const set = await call("PUT", "/v1/loyalty/programme", { tiers: TIERS });
    expect(set.statusCode, set.body).toBe(200);
    const c = await customer();
    const t0 = clock.now();
    expect(await points(c)).toMatchObject({
      tier: null,
      tierProgress: { current: null, next: { tier: "silver", figure: 0, threshold: 100 } },
    });

    // 200 points: silver at once, in the order's own command (right after its award).
    const one = await order(c, "U-1", 20000);
    expect(one.points).toBe(200);
    expect(one.tier).toEqual({ from: null, to: "silver" });
    const [up, ...none] = await changes(c);
    expect(none).toEqual([]);
    expect(up?.type).toBe("tier.changed");
    expect((await entry(one.entryIndex + 2)).type).toBe("tier.changed");
    expect(up?.salt).toBeDefined();
    expect(up?.payload).toEqual({
      merchantId: expect.any(String),
      customerId: c,
      from: null,
      to: "silver",
      direction: "up",
      trigger: "order",
      qualification: {
        tier: "silver",
        metric: "points",
        figure: 200,
        threshold: 100,
        months: 3,
        windowStart: iso(addMonths(clock.now(), -3)),
        windowEnd: iso(clock.now()),
      },
    });
    expect(await points(c)).toMatchObject({
      tier: "silver",
      tierProgress: {
        current: { tier: "silver", figure: 200, threshold: 100, months: 3 },
        next: { tier: "gold", figure: 20000, threshold: 50000, months: 3 },
      },
    });

    // Spend 600.00 in all: gold. This order was evaluated as silver (no multiplier).
    clock.advance(DAY);
    const two = await order(c, "U-2", 40000);
    expect(two.awards.map((a) => a.rule)).toEqual(["base"]);
    expect(two.tier).toEqual({ from: "silver", to: "gold" });
    const ctx = (await entry(two.entryIndex + 1)).payload.context as { customer: object };
    expect(ctx.customer).toMatchObject({ tier: "silver" });
    expect((await changes(c)).map((e) => [e.payload.from, e.payload.to])).toEqual([
      [null, "silver"],
      ["silver", "gold"],
    ]);

    // Gold now: the multiplier applies, and names the tier among its inputs.
    clock.advance(DAY);
    const three = await order(c, "U-3", 10000);
    expect(three.points).toBe(200);
    expect(three.awards).toEqual([
      { rule: "base", version: 1, points: 100 },
      { rule: "gold-double", version: 1, points: 100 },
    ]);
    const awarded = await entry(three.entryIndex + 1);
    const awards = awarded.payload.awards as { rule: string; inputs: Record<string, unknown> }[];
    expect(awards[1]?.inputs).toMatchObject({ "customer.tier": "gold", awards: { base: 100 } });
    expect(await points(c)).toMatchObject({ tier: "gold", tierProgress: { next: null } });

    // Downgrades come with the window: two months on, a small order keeps silver only.
    clock.set(addMonths(t0, 2));
    // Still gold: 150 points doubled.
    expect((await order(c, "U-4", 15000)).points).toBe(300);
    expect((await points(c)).tier).toBe("gold");
    clock.set(addMonths(t0 + 2 * DAY, 3) + 60_000);
    const s = await sweep();
    expect(s.tiers.changed).toBeGreaterThanOrEqual(1);
    const down = (await changes(c)).at(-1);
    expect(down?.payload).toMatchObject({
      from: "gold",
      to: "silver",
      direction: "down",
      trigger: "sweep",
      qualification: { tier: "silver", metric: "points", figure: 300, threshold: 100 },
    });
    // Idempotent: nothing more to change.
    const before = size(t.node);
    expect((await sweep()).tiers.changed).toBe(0);
    expect(size(t.node)).toBe(before);

    // And out of the window altogether: no tier.
    clock.set(addMonths(addMonths(t0, 2), 3) + 60_000);
    await sweep();
    expect((await changes(c)).at(-1)?.payload).toMatchObject({
      from: "silver",
      to: null,
      direction: "down",
      qualification: { tier: "silver", figure: 0, threshold: 100 },
    });
    expect(await points(c)).toMatchObject({ tier: null });
  });

  it("a refund lowers the figure: the sweep downgrades", async () => {
    const c = await customer();
    await order(c, "R-1", 15000);
    expect((await points(c)).tier).toBe("silver");
    const r = await call("POST", "/v1/orders/R-1/refund", {});
    expect(r.statusCode, r.body).toBe(201);
    expect((await points(c)).tierProgress.current).toMatchObject({ figure: 0 });
    await sweep();
    expect((await changes(c)).at(-1)?.payload).toMatchObject({ from: "silver", to: null });
  });

  it("audit re-executes tier changes and the tier in every context, and fails naming a forged one and a missing one", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    expect(projections.tables).toEqual(expect.arrayContaining(["loyalty_tiers"]));

    // A customer with 10 points promoted to gold all the same.
    const c = await customer();
    const o = await order(c, "X-1", 1000);
    const awarded = await entry(o.entryIndex + 1);
    const merchantId = awarded.payload.merchantId as string;
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "tier.changed",
          actor: awarded.actor,
          payload: {
            merchantId,
            customerId: c,
            from: null,
            to: "gold",
            direction: "up",
            trigger: "order",
            qualification: {
              tier: "gold",
              metric: "spend",
              figure: 50000,
              threshold: 50000,
              months: 3,
              windowStart: iso(addMonths(clock.now(), -3)),
              windowEnd: iso(clock.now()),
            },
          },
          parties: [{ customer: c }, { merchant: merchantId }],
          sealed: true,
        },
      ],
    });
    // An order that qualifies its customer, written without its tier change: the same first
    // order as the genuine one below, for another fresh customer, in a command of its own.
    const real = await customer();
    const genuine = await order(real, "Y-1", 20000);
    expect(genuine.tier).toEqual({ from: null, to: "silver" });
    const [recorded, award] = [
      await entry(genuine.entryIndex),
      await entry(genuine.entryIndex + 1),
    ];
    const skipped = await customer();
    const swap = (p: Record<string, unknown>) => ({ ...p, customerId: skipped, orderId: "Y-2" });
    const parties = [{ customer: skipped }, { merchant: merchantId }];
    const unpromoted = await t.node.sequencer.execute({
      entries: [
        {
          type: "order.recorded",
          actor: recorded.actor,
          parties,
          sealed: true,
          payload: swap(recorded.payload) as never,
        },
        {
          type: "points.awarded",
          actor: award.actor,
          parties,
          sealed: true,
          payload: (ctx) => ({ ...swap(award.payload), order: Number(ctx.index) - 1 }) as never,
        },
      ],
    });

    const bad = await audit();
    expect(bad.ok).toBe(false);
    const missing = bad.problems.filter((p) => p.at === String(unpromoted[1]?.index));
    expect(missing.map((p) => p.message)).toEqual([
      "points.awarded: order Y-2 changes its customer's tier, but is not followed by their tier.changed entry",
    ]);
    const at = String(forged[0]?.index);
    const mine = bad.problems.filter((p) => p.at === at).map((p) => p.message);
    expect(
      mine.some((m) => /tier\.changed: the customer keeps tier none/.test(m)),
      mine.join("\n"),
    ).toBe(true);
  });
});

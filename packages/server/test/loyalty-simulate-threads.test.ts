import { type RuleContext, type RuleVersion, ruleVersion, timeContext } from "@patron/rules";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DAY_MS,
  orderContext,
  type RuleUsage,
  USAGE_MEMORY_MS,
  type UsageHistory,
} from "../src/loyalty/evaluation.js";
import { Rules } from "../src/loyalty/rules.js";
import { type SimulateInput, Simulator, type SimulatorLimits } from "../src/loyalty/simulate.js";
import { type SetOutcome, SimulationRun, setOutcome } from "../src/loyalty/simulation-run.js";
import { LoyaltyState } from "../src/loyalty/state.js";
import { backends } from "../src/test-support/backends.js";
import { type TestNode, testNode } from "./helpers.js";
import { BASE_RULE, EARN_RULES } from "./loyalty-helpers.js";

/**
 * The simulation as the route runs it, over orders read back from the database (only the
 * context fields the rules read, decoded from SQL) and, on PostgreSQL, on several threads each
 * with its own part of the customers: the same report as the points-only run over the whole
 * contexts in memory (test/loyalty-simulate-fast.test.ts holds that run to the full evaluation).
 */

/** Published, then simulated against the draft below: caps of every kind, fallbacks, scopes. */
const PUBLISHED: Record<string, Record<string, unknown>> = {
  base: BASE_RULE,
  shoes: {
    name: "Shoes, at most 40 a day",
    kind: "earn",
    condition: true,
    scope: { categories: ["shoes"] },
    action: { type: "per_amount", points: 2, per: 100 },
    caps: { day: 40 },
  },
  vip: {
    name: "VIP: 25, at most 60 a week; absent counts as not VIP, null as VIP",
    kind: "earn",
    condition: { "!==": [{ var: ["customer.vip", false] }, false] },
    action: { type: "fixed", points: 25 },
    caps: { period: { points: 60, unit: "week" } },
  },
  store: {
    name: "In store s1 without a tier: 10, at most 100 ever",
    kind: "earn",
    condition: { missing: ["customer.tier"] },
    scope: { stores: ["s1"] },
    action: { type: "fixed", points: 10 },
    caps: { customer: 100 },
  },
  web: EARN_RULES.web,
};

const DRAFT: { id: string; document: Record<string, unknown> }[] = [
  { id: "base", document: PUBLISHED.base as Record<string, unknown> },
  {
    id: "shoes",
    document: {
      ...PUBLISHED.shoes,
      action: { type: "per_amount", points: 3, per: 100 },
      caps: { day: 40, period: { points: 150, unit: "month" } },
    },
  },
  {
    id: "evening",
    document: {
      name: "Evenings, local time, best of",
      kind: "earn",
      condition: { ">=": [{ var: "time.hour" }, 18] },
      scope: { segments: ["new", "vip"] },
      action: {
        type: "per_amount",
        points: 1,
        per: 50,
        items: { where: { ">": [{ var: "quantity" }, 1] } },
      },
      stacking: "best",
    },
  },
  { id: "vip", document: PUBLISHED.vip as Record<string, unknown> },
  { id: "web", document: { ...PUBLISHED.web, caps: { customer: 500 } } },
];

const CUSTOMERS = 23;

/** A small seeded generator (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  return { int, pick, chance: (p: number) => next() < p };
}

describe.each(backends)("simulation threads on $name", (backend) => {
  let t: TestNode;
  let merchantId: string;
  let simulator: (limits: SimulatorLimits) => Simulator;
  const orders: { customer: string; ms: number; context: RuleContext }[] = [];
  const awards: { customer: string; rule: string; points: number; ms: number }[] = [];
  let window: { from: string; to: string };

  const call = async (method: "POST" | "GET", url: string, body?: unknown) => {
    const r = await t.node.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${t.ownerKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    expect(r.statusCode, r.body).toBeLessThan(300);
    return r.json();
  };

  beforeAll(async () => {
    t = await testNode(backend);
    for (const [id, document] of Object.entries(PUBLISHED)) {
      await call("POST", "/v1/loyalty/rules", { id, document });
      await call("POST", `/v1/loyalty/rules/${id}/publish`);
    }
    merchantId = (await call("GET", "/v1/loyalty/programme")).merchantId;
    const state = new LoyaltyState(t.node.db, t.node.sequencer, t.node.clock);
    const rules = new Rules(t.node.db, t.node.sequencer, t.node.clock, state);
    simulator = (limits) => new Simulator(t.node.db, t.node.clock, state, rules, limits);

    // Orders of the last 40 days, written as order.recorded leaves their rows.
    const r = random(7);
    const end = t.node.clock.now() - 60_000;
    const start = end - 40 * DAY_MS;
    const seen = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const ms = start + Math.floor((i * (end - start)) / 400) + r.pick([0, 0, 1]);
      const customer = `c_${r.int(0, CUSTOMERS - 1)}`;
      const n = seen.get(customer) ?? 0;
      seen.set(customer, n + 1);
      const items = Array.from({ length: r.int(0, 3) }, () => ({
        sku: `p${r.int(0, 5)}`,
        category: r.pick(["shoes", "socks", "care"]),
        quantity: r.int(1, 3),
        unitPrice: r.int(100, 9000),
      }));
      const channel = r.pick(["web", "store", "app"]);
      const context = orderContext(
        {
          amount: items.reduce((s, x) => s + x.quantity * x.unitPrice, 0),
          currency: "EUR",
          channel,
          ...(channel === "store" ? { store: r.pick(["s1", "s2"]) } : {}),
          items,
        },
        {
          orders: n,
          segments: r.chance(0.5) ? [r.pick(["new", "vip", "old"])] : [],
          ...(r.chance(0.3) ? { tier: "gold" } : {}),
        },
        timeContext(ms, r.pick([0, 60, -300, 330])),
        {},
      );
      // Absent, null or true: a fallback tells absent from null.
      const vip = r.pick([undefined, null, true]);
      if (vip !== undefined) (context.customer as Record<string, unknown>).vip = vip;
      orders.push({ customer, ms, context });
    }
    // What the capped rules gave some customers before the window: long ago, and lately.
    for (let c = 0; c < CUSTOMERS; c += 2) {
      for (const rule of ["shoes", "vip", "store"]) {
        for (const ago of [USAGE_MEMORY_MS + DAY_MS, 20 * DAY_MS, 3 * DAY_MS, 2 * 3_600_000]) {
          awards.push({ customer: `c_${c}`, rule, points: r.int(0, 40), ms: start - ago });
        }
      }
    }
    await t.node.db.query(
      `INSERT INTO loyalty_orders (merchant_id, order_id, customer_id, amount, currency, channel,
         store, occurred_at, recorded_at, entry_idx, points, awarded_idx, context)
       SELECT $1, 'o' || i, c, 0, 'EUR', 'web', NULL, t, t, 1000000 + i, NULL, NULL, x::json
       FROM unnest($2::text[], $3::timestamptz[], $4::text[]) WITH ORDINALITY AS u(c, t, x, i)`,
      [
        merchantId,
        orders.map((o) => o.customer),
        orders.map((o) => new Date(o.ms).toISOString()),
        orders.map((o) => JSON.stringify(o.context)),
      ],
    );
    await t.node.db.query(
      `INSERT INTO loyalty_awards (entry_idx, ordinal, merchant_id, customer_id, order_id, rule_id,
         version, hash, kind, points, recorded_at)
       SELECT 10 + i, 0, $1, c, 'old' || i, r, 1, 'h', 'earn', p, t
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[])
         WITH ORDINALITY AS u(c, r, p, t, i)`,
      [
        merchantId,
        awards.map((a) => a.customer),
        awards.map((a) => a.rule),
        awards.map((a) => a.points),
        awards.map((a) => new Date(a.ms).toISOString()),
      ],
    );
    window = { from: new Date(start).toISOString(), to: new Date(end + 1).toISOString() };
  });
  afterAll(async () => t?.close());

  /** The report the in-memory run gives over the whole contexts (the usage as priorUsage reads it). */
  function expected(sets: RuleVersion[][], value: number) {
    const from = Date.parse(window.from);
    const prior = new Map<string, Map<string, RuleUsage>>();
    for (const a of [...awards].filter((x) => x.ms < from)) {
      const h = prior.get(a.customer) ?? new Map<string, RuleUsage>();
      prior.set(a.customer, h);
      const u = h.get(a.rule) ?? { total: 0, recent: [] };
      h.set(a.rule, {
        total: u.total + a.points,
        recent: a.ms > from - USAGE_MEMORY_MS ? [...u.recent, [a.ms, a.points]] : u.recent,
      });
    }
    const run = new SimulationRun(sets, prior as Map<string, UsageHistory>);
    for (const o of orders) run.add(o.customer, o.ms, structuredClone(o.context));
    const s = run.summary();
    return { customers: s.customers, sets: s.sets.map((x) => setOutcome(x, value)), s };
  }

  it("gives the in-memory run's report, on one thread or several", async () => {
    const body: SimulateInput = { rules: DRAFT, ...window };
    // The draft's versions are the next ones: 2 of a published rule, 1 of a new one.
    const draft = DRAFT.map((d) => ruleVersion(d.id, PUBLISHED[d.id] ? 2 : 1, d.document));
    const published = Object.entries(PUBLISHED).map(([id, doc]) => ruleVersion(id, 1, doc));
    const one = await simulator({ threads: 1, pageSize: 7 }).simulate(merchantId, body);
    const want = expected([draft, published], one.valuePer100Points);
    const byRule = (o: SetOutcome) => ({
      ...o,
      rules: [...o.rules].sort((a, b) => a.rule.localeCompare(b.rule)),
    });
    expect(one.orders).toBe(orders.length);
    expect(one.customers).toBe(want.customers);
    expect(one.draft).toEqual(want.sets[0]);
    expect(byRule(one.published)).toEqual(byRule(want.sets[1] as SetOutcome));
    expect(one.difference.customers).toBe(want.s.differing);
    // Every rule awarded something, and the caps bit: the case tests what it should.
    for (const set of [one.draft, one.published]) {
      for (const rule of set.rules) expect(rule.points, rule.rule).toBeGreaterThan(0);
    }
    const uncapped = expected(
      [
        draft.map((rv) => ruleVersion(rv.id, rv.version, { ...(rv.document as object), caps: {} })),
        published,
      ],
      one.valuePer100Points,
    );
    expect(uncapped.sets[0]?.points).toBeGreaterThan(one.draft.points);

    for (const [threads, pageSize] of [
      [2, 7],
      [3, 5000],
      [5, 7],
    ] as const) {
      const many = await simulator({ threads, pageSize, parallelFrom: 0 }).simulate(
        merchantId,
        body,
      );
      expect(many, `${threads} threads, pages of ${pageSize}`).toEqual(one);
    }
  });

  it("fails alike on one thread and on several over a context the evaluator refuses", async () => {
    const body: SimulateInput = { rules: DRAFT, ...window };
    const at = orders[orders.length - 1] as (typeof orders)[number];
    await t.node.db.query(
      `UPDATE loyalty_orders SET context = jsonb_set(context::jsonb, '{order,amount}', '12.5')::json
       WHERE merchant_id = $1 AND order_id = 'o${orders.length}'`,
      [merchantId],
    );
    try {
      const one = simulator({ threads: 1 }).simulate(merchantId, body);
      await expect(one).rejects.toThrow(/order\.amount/);
      const message = await one.catch((e: Error) => e.message);
      for (const threads of [2, 3]) {
        const many = simulator({ threads, parallelFrom: 0 }).simulate(merchantId, body);
        await expect(many).rejects.toThrow(message);
      }
    } finally {
      await t.node.db.query(
        `UPDATE loyalty_orders SET context = $2::json WHERE merchant_id = $1 AND order_id = 'o${orders.length}'`,
        [merchantId, JSON.stringify(at.context)],
      );
    }
  });
});

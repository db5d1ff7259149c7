import {
  contextFields,
  evaluateRules,
  narrowContext,
  PointsEvaluator,
  type RuleContext,
  type RuleVersion,
  ruleVersion,
  type SetPoints,
  timeContext,
} from "@patron/rules";
import { describe, expect, it } from "vitest";
import {
  addUsage,
  awardOrder,
  DAY_MS,
  earning,
  orderContext,
  pointsCost,
  type RuleUsage,
  type UsageHistory,
  usagePart,
} from "../src/loyalty/evaluation.js";
import { type SetOutcome, SimulationRun } from "../src/loyalty/simulation-run.js";

/**
 * The simulation's points-only path (SimulationRun, PointsEvaluator) against the full one it
 * replaced: each set's awardOrder over the context with usagePart of the set's history, then
 * addUsage, as the simulation ran before. Generated rule sets and orders, both sets sharing
 * some rule versions; every count must match exactly.
 */

/** The simulation as it was: one rule set, the full evaluateRules path. */
class Reference {
  readonly byCustomer = new Map<string, number>();
  readonly history = new Map<string, UsageHistory>();
  readonly perRule = new Map<string, SetOutcome["rules"][number]>();
  points = 0;
  orders = 0;

  constructor(
    readonly rules: RuleVersion[],
    prior: Map<string, UsageHistory>,
  ) {
    for (const [c, h] of prior) this.history.set(c, h);
    for (const rv of rules) {
      this.perRule.set(rv.id, {
        rule: rv.id,
        version: rv.version,
        points: 0,
        orders: 0,
        failed: 0,
      });
    }
  }

  add(customerId: string, ms: number, context: RuleContext): void {
    const history = this.history.get(customerId) ?? new Map();
    const offset = Number((context.time as { offset?: unknown } | undefined)?.offset ?? 0);
    const { awards, points, report } = awardOrder(this.rules, {
      ...context,
      usage: usagePart(earning(this.rules), history, ms, offset),
    });
    for (const r of report) {
      const t = this.perRule.get(r.rule);
      if (t && r.status === "failed") t.failed++;
    }
    for (const a of awards) {
      const t = this.perRule.get(a.rule);
      if (t && a.points > 0) {
        t.points += a.points;
        t.orders++;
      }
    }
    this.history.set(customerId, addUsage(history, awards, ms));
    this.byCustomer.set(customerId, (this.byCustomer.get(customerId) ?? 0) + points);
    this.points += points;
    if (points > 0) this.orders++;
  }

  outcome(value: number): SetOutcome {
    return {
      points: this.points,
      cost: pointsCost(this.points, value),
      orders: this.orders,
      customers: [...this.byCustomer.values()].filter((p) => p > 0).length,
      rules: [...this.perRule.values()],
    };
  }
}

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
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
  const some = <T>(xs: readonly T[]): T[] => {
    const out = xs.filter(() => next() < 0.5);
    return out.length > 0 ? out : [pick(xs)];
  };
  return { next, int, pick, some, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof random>;

const IDS = ["a", "b", "c", "d", "e", "f", "g"];
const CATEGORIES = ["shoes", "socks", "care"];
const CHANNELS = ["web", "store", "app"];
const START = Date.parse("2025-11-20T00:00:00Z");

function condition(r: Random): unknown {
  return r.pick([
    true,
    true,
    { "==": [{ var: "customer.orders" }, 0] },
    { in: [{ var: "time.weekday" }, [6, 7]] },
    { ">": [{ var: "order.amount" }, r.int(0, 20_000)] },
    { "<": [{ var: "time.hour" }, r.int(0, 24)] },
    { and: [{ "==": [{ var: "order.channel" }, "web"] }, { var: ["customer.vip", false] }] },
    // Fails over every order (a string is not a number): the rule is counted as failed.
    { "<": [{ "+": [{ var: "order.channel" }, 1] }, 3] },
    // Fails on the step budget over long orders.
    { some: [{ var: "order.items" }, { "==": [{ var: "category" }, "care"] }] },
    { missing: ["customer.tier"] },
    // An absent store is not a null one.
    { "===": [{ var: ["order.store", 0] }, 0] },
    { "!": [{ missing_some: [1, ["order.store", "customer.vip"]] }] },
    // Keys computed as it runs: the rules' reads are not known before (the whole context).
    { missing: { merge: ["customer.tier", { var: "order.channel" }] } },
  ]);
}

function ruleDocument(r: Random, ids: string[]): Record<string, unknown> {
  const kind = r.chance(0.05) ? "tier" : "earn";
  const action =
    kind === "tier"
      ? { type: "tier", tier: "gold" }
      : r.pick([
          () => ({ type: "fixed", points: r.pick([0, 10, 10, 50, r.int(0, 80)]) }),
          () => ({
            type: "per_amount",
            points: r.int(1, 5),
            per: r.pick([1, 7, 100, 1000]),
            rounding: r.pick(["floor", "ceil", "half_up"]),
            ...(r.chance(0.3) ? { items: { categories: r.some(CATEGORIES) } } : {}),
          }),
          () => ({
            type: "multiplier",
            factor: r.int(2, 4),
            ...(r.chance(0.3) ? { divisor: 2, rounding: r.pick(["floor", "half_up"]) } : {}),
            ...(r.chance(0.5) ? { rules: r.some(ids) } : {}),
          }),
        ])();
  const scope: Record<string, unknown> = {};
  if (r.chance(0.2)) scope.channels = r.some(CHANNELS);
  if (r.chance(0.1)) scope.stores = ["s1"];
  if (r.chance(0.15)) scope.tiers = r.some(["silver", "gold"]);
  if (r.chance(0.15)) scope.segments = r.some(["vip", "new"]);
  if (r.chance(0.2)) scope.categories = r.some(CATEGORIES);
  const caps: Record<string, unknown> = {};
  if (r.chance(0.25)) caps.order = r.int(0, 100);
  if (r.chance(0.35)) caps.day = r.int(1, 150);
  if (r.chance(0.3))
    caps.period = { points: r.int(1, 600), unit: r.pick(["week", "month", "year"]) };
  if (r.chance(0.25)) caps.customer = r.int(1, 2000);
  return {
    name: "generated",
    kind,
    condition: condition(r),
    action,
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    ...(Object.keys(caps).length > 0 ? { caps } : {}),
    ...(r.chance(0.5) ? { priority: r.int(0, 3) } : {}),
    ...(r.chance(0.6) ? { stacking: r.pick(["stack", "exclusive", "best"]) } : {}),
    ...(r.chance(0.1) ? { validFrom: new Date(START + r.int(0, 300) * DAY_MS).toISOString() } : {}),
    ...(r.chance(0.1)
      ? { validUntil: new Date(START + r.int(301, 700) * DAY_MS).toISOString() }
      : {}),
  };
}

function ruleSet(r: Random, shared: RuleVersion[]): RuleVersion[] {
  const set: RuleVersion[] = [];
  for (const id of r.some(IDS)) {
    const same = shared.find((rv) => rv.id === id);
    if (same && r.chance(0.6)) {
      set.push(same);
      continue;
    }
    for (;;) {
      try {
        set.push(ruleVersion(id, r.int(1, 3), ruleDocument(r, IDS)));
        break;
      } catch {
        // A generated document the validator refuses: draw another.
      }
    }
  }
  return set;
}

function orders(r: Random, count: number) {
  const out: { customer: string; ms: number; context: RuleContext }[] = [];
  let ms = START;
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    ms += r.pick([0, 60_000, 3_600_000, 5 * 3_600_000, DAY_MS, 9 * DAY_MS]);
    const customer = `c${r.int(0, 7)}`;
    const items = Array.from({ length: r.int(0, r.chance(0.05) ? 200 : 3) }, () => ({
      sku: `p${r.int(0, 9)}`,
      category: r.pick(CATEGORIES),
      quantity: r.int(1, 3),
      unitPrice: r.chance(0.03) ? -100 : r.int(0, 9000),
    }));
    const channel = r.pick(CHANNELS);
    const n = seen.get(customer) ?? 0;
    seen.set(customer, n + 1);
    const context = orderContext(
      {
        amount: r.chance(0.03) ? -1 : items.reduce((s, x) => s + x.quantity * x.unitPrice, 0),
        currency: "EUR",
        channel,
        ...(channel === "store" ? { store: r.pick(["s1", "s2"]) } : {}),
        items,
      },
      {
        orders: n,
        segments: r.chance(0.3) ? r.some(["vip", "new", "old"]) : [],
        ...(r.chance(0.4) ? { tier: r.pick(["silver", "gold"]) } : {}),
      },
      timeContext(ms, r.pick([0, 0, 60, -300, 330, 780])),
      r.chance(0.1) ? { a: { day: 5 } } : {},
    );
    if (r.chance(0.2)) (context.customer as Record<string, unknown>).vip = true;
    out.push({ customer, ms, context: JSON.parse(JSON.stringify(context)) });
  }
  return out;
}

/** Usage recorded before the window: totals and recent awards of some rules. */
function priorUsage(r: Random): Map<string, UsageHistory> {
  const prior = new Map<string, UsageHistory>();
  for (let c = 0; c < 8; c++) {
    if (r.chance(0.4)) continue;
    const h = new Map<string, RuleUsage>();
    for (const id of r.some(IDS)) {
      const recent: [number, number][] = [];
      let t = START - r.int(1, 500) * DAY_MS;
      while (t < START) {
        recent.push([t, r.int(0, 40)]);
        t += r.int(1, 40) * 3_600_000;
      }
      const kept = recent.filter(([x]) => x > START - 400 * DAY_MS);
      h.set(id, { total: kept.reduce((s, [, p]) => s + p, 0) + r.int(0, 500), recent: kept });
    }
    prior.set(`c${c}`, h);
  }
  return prior;
}

/** Runs both paths over the orders and compares every count; returns the full path's outcomes. */
function compare(
  sets: [RuleVersion[], RuleVersion[]],
  prior: Map<string, UsageHistory>,
  window: { customer: string; ms: number; context: RuleContext }[],
  what: string,
): SetOutcome[] {
  const fast = new SimulationRun(sets, prior);
  // Over only the fields the rules read (and the offset the run reads), as the database gives them.
  const narrow = new SimulationRun(sets, prior);
  const read = contextFields(sets.flatMap(earning));
  const fields = read === null ? null : [...read, "time.offset"];
  const full = sets.map((rules) => new Reference(rules, prior));
  for (const o of window) {
    fast.add(o.customer, o.ms, o.context);
    narrow.add(o.customer, o.ms, narrowContext(o.context, fields));
    for (const f of full) f.add(o.customer, o.ms, o.context);
  }
  expect(narrow.summary(), `${what}, over the fields read`).toEqual(fast.summary());
  const outcomes = full.map((f, set) => {
    const want = f.outcome(125);
    expect(fast.outcome(set, 125), `${what}, set ${set}`).toEqual(want);
    for (const [c, p] of f.byCustomer) {
      expect(fast.customers.get(c)?.points[set], `${what}, ${c}`).toBe(p);
    }
    return want;
  });
  let differ = 0;
  for (const [c, p] of full[0]?.byCustomer ?? []) if (full[1]?.byCustomer.get(c) !== p) differ++;
  expect(fast.differing(0, 1), what).toBe(differ);
  return outcomes;
}

describe("simulation: the points-only path against the full evaluation", () => {
  it("gives exactly the full path's outcome over generated rule sets and orders", () => {
    let awarded = 0;
    let failed = 0;
    let capped = 0;
    let narrowed = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = random(seed);
      const published = ruleSet(r, []);
      const draft = ruleSet(r, published);
      const prior = priorUsage(r);
      const window = orders(r, r.int(20, 150));
      if (contextFields([...draft, ...published]) !== null) narrowed++;
      for (const want of compare([draft, published], prior, window, `seed ${seed}`)) {
        awarded += want.points;
        failed += want.rules.reduce((x, y) => x + y.failed, 0);
      }
      // How often caps bit, to be sure the generated cases exercise them.
      const evaluator = new PointsEvaluator([earning(draft)]);
      for (const o of window.slice(0, 10)) {
        const full = evaluateRules(earning(draft), { ...o.context, usage: {} }).awards;
        for (const a of full) if (a.cappedBy) capped++;
        // The same awards in the same order (a "best" rule's in its place), with no usage yet.
        const fast = (evaluator.evaluate(o.context, () => 0)[0] as SetPoints).awards;
        expect(fast, `seed ${seed}`).toEqual(full.map((a) => ({ rule: a.rule, points: a.points })));
      }
    }
    expect(awarded).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(capped).toBeGreaterThan(0);
    // Most cases read fewer fields than the whole context; some cannot know which beforehand.
    expect(narrowed).toBeGreaterThan(75);
    expect(narrowed).toBeLessThan(150);
  });

  it("keeps the first of tied best rules, and supersedes what follows an exclusive rule", () => {
    const doc = (over: Record<string, unknown>) => ({
      name: "r",
      kind: "earn",
      condition: true,
      action: { type: "fixed", points: 10 },
      ...over,
    });
    const x = ruleVersion("x", 1, doc({ stacking: "best" }));
    const y = ruleVersion("y", 1, doc({ stacking: "best" }));
    const z = ruleVersion("z", 1, doc({ stacking: "best", action: { type: "fixed", points: 20 } }));
    const web = ruleVersion(
      "w",
      1,
      doc({ stacking: "exclusive", priority: 2, scope: { channels: ["web"] }, caps: { day: 15 } }),
    );
    const m = ruleVersion(
      "m",
      1,
      doc({
        priority: 3,
        action: { type: "multiplier", factor: 3, divisor: 2, rounding: "half_up" },
      }),
    );
    const m0 = ruleVersion("m", 1, doc({ action: { type: "multiplier", factor: 2 } }));
    const window = CHANNELS.flatMap((channel, i) =>
      [0, 1, 2].map((j) => ({
        customer: `c${j}`,
        ms: START + i * 3_600_000 + j,
        context: orderContext(
          { amount: 100, currency: "EUR", channel, items: [] },
          { orders: i, segments: [] },
          timeContext(START + i * 3_600_000 + j, 0),
          {},
        ),
      })),
    );
    const [a, b] = compare(
      [
        [y, x, web, m],
        [z, x, y, web, m0],
      ],
      new Map(),
      window,
      "ties",
    );
    expect(a?.rules.map((r) => [r.rule, r.points])).toEqual([
      ["y", 0],
      ["x", 60],
      ["w", 30],
      ["m", 45],
    ]);
    expect(b?.rules.find((r) => r.rule === "z")?.points).toBe(120);
  });

  it("evaluates a rule version the sets share once per context", () => {
    const base = ruleVersion("base", 1, {
      name: "1 point per 100",
      kind: "earn",
      condition: { "==": [{ var: "order.channel" }, "web"] },
      action: { type: "per_amount", points: 1, per: 100 },
    });
    const draftOnly = ruleVersion("base", 2, {
      name: "2 points per 100",
      kind: "earn",
      condition: true,
      action: { type: "per_amount", points: 2, per: 100 },
    });
    let reads = 0;
    const context = {
      order: new Proxy(
        { amount: 1000, channel: "web" },
        {
          get(target, key) {
            if (key === "channel") reads++;
            return Reflect.get(target, key);
          },
        },
      ),
      time: timeContext(START, 0),
    } as unknown as RuleContext;
    const same = new PointsEvaluator([[base], [base]]);
    const a = same.evaluate(context, () => 0);
    expect(a.map((x) => x.points)).toEqual([10, 10]);
    const afterShared = reads;
    const other = new PointsEvaluator([[draftOnly], [base]]);
    expect(other.evaluate(context, () => 0).map((x) => x.points)).toEqual([20, 10]);
    expect(reads - afterShared).toBe(afterShared);
  });

  it("refuses a set with a rule twice, and a context evaluateRules refuses", () => {
    const rv = ruleVersion("x", 1, {
      name: "x",
      kind: "earn",
      condition: true,
      action: { type: "fixed", points: 1 },
    });
    expect(() => new PointsEvaluator([[rv, rv]])).toThrow(/twice/);
    const bad = { order: { amount: 1.5 } } as unknown as RuleContext;
    expect(() => evaluateRules([rv], bad)).toThrow();
    expect(() => new PointsEvaluator([[rv]]).evaluate(bad, () => 0)).toThrow();
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../json.js";
import { RuleValidationError, StepBudgetError } from "../problems.js";
import { parseRuleJson } from "../text.js";
import { timeContext } from "../time.js";
import { ROUNDING, validateRule } from "./document.js";
import {
  type Award,
  bigRatio,
  checkAward,
  checkContext,
  contextFields,
  contextFromInputs,
  evaluateRule,
  evaluateRules,
  type RuleContext,
  ratio,
  recompute,
  ruleVersion,
} from "./engine.js";
import { canonicalRuleJson, ruleHash } from "./hash.js";
import { narrowContext } from "./narrow.js";

// The examples of docs/rules.md.
const perHundred = {
  name: "1 point per 100",
  kind: "earn",
  condition: true,
  action: { type: "per_amount", points: 1, per: 100 },
};
const goldDouble = {
  name: "Double points for gold",
  kind: "earn",
  condition: true,
  scope: { tiers: ["gold"] },
  action: { type: "multiplier", factor: 2 },
};
const birthdayFirstOrder = {
  name: "50 points on a first order in the birthday week",
  kind: "earn",
  condition: {
    and: [{ "==": [{ var: "customer.orders" }, 0] }, { var: ["customer.birthdayWeek", false] }],
  },
  action: { type: "fixed", points: 50 },
};

function order(amount: number, extra: JsonObject = {}): JsonObject {
  return { amount, channel: "web", store: "s1", ...extra };
}

function context(over: Partial<RuleContext> = {}): RuleContext {
  return {
    order: order(12_345),
    customer: { tier: "gold", segments: ["vip"], orders: 0, birthdayWeek: true },
    event: { type: "order.placed" },
    time: timeContext("2026-12-01T09:30:00Z", 480),
    ...over,
  };
}

function errorsOf(doc: unknown) {
  const r = validateRule(doc);
  if (r.ok) throw new Error("accepted");
  return r.errors;
}

describe("validateRule", () => {
  it("accepts the documented examples and fills in the defaults", () => {
    const r = validateRule(perHundred);
    expect(r).toEqual({
      ok: true,
      rule: {
        name: "1 point per 100",
        kind: "earn",
        condition: true,
        action: { type: "per_amount", points: 1, per: 100 },
        scope: {},
        caps: {},
        priority: 0,
        stacking: "stack",
      },
    });
    expect(validateRule(goldDouble).ok).toBe(true);
    expect(validateRule(birthdayFirstOrder).ok).toBe(true);
  });

  it("requires name, kind, condition and action, and refuses unknown fields", () => {
    expect(errorsOf({ stacking: "stack", extra: 1 })).toEqual([
      { path: "name", code: "missing_field", message: "name is required" },
      { path: "kind", code: "missing_field", message: "kind is required" },
      { path: "condition", code: "missing_field", message: "condition is required" },
      { path: "action", code: "missing_field", message: "action is required" },
      { path: "extra", code: "unknown_field", message: expect.stringContaining("unknown field") },
    ]);
    expect(errorsOf([])[0]).toMatchObject({ path: "", code: "invalid" });
  });

  it("refuses floats anywhere, with their path", () => {
    expect(
      errorsOf({ ...perHundred, action: { type: "per_amount", points: 1.5, per: 100 } }),
    ).toEqual([
      { path: "action.points", code: "not_an_integer", message: "1.5 is not an integer" },
    ]);
    expect(
      errorsOf({
        ...perHundred,
        condition: { and: [true, { ">": [{ var: "order.amount" }, 99.9] }] },
      }),
    ).toEqual([
      { path: "condition.and.1.>.1", code: "not_an_integer", message: "99.9 is not an integer" },
    ]);
    expect(errorsOf({ ...perHundred, priority: Number.NaN })[0]?.path).toBe("priority");
    expect(errorsOf({ ...perHundred, priority: 2 ** 60 })[0]?.code).toBe("not_an_integer");
    expect(errorsOf({ ...perHundred, name: "a\ud800" })[0]).toMatchObject({
      path: "name",
      code: "not_json",
    });
    expect(errorsOf({ ...perHundred, scope: { tiers: [undefined] } })[0]?.path).toBe(
      "scope.tiers.0",
    );
  });

  it("names every fault at once", () => {
    const errors = errorsOf({
      name: "x",
      kind: "earn",
      condition: {
        and: [
          true,
          { ">": [{ var: "order.total" }, 99.5] },
          { "/": [1, 2] },
          { var: "customer.__proto__" },
          { var: "vault.email" },
        ],
      },
      action: { type: "per_amount", points: 1.5, per: 0 },
    });
    expect(errors.map((e) => [e.path, e.code])).toEqual([
      ["condition.and.1.>.1", "not_an_integer"],
      ["action.points", "not_an_integer"],
      ["action.per", "invalid"],
      ["condition.and.2./", "unsupported_operator"],
      ["condition.and.3.var", "forbidden_path"],
      ["condition.and.4.var", "unknown_root"],
    ]);
  });

  it("refuses unknown operators, prototype paths and fields outside the context, with their path", () => {
    expect(
      errorsOf({ ...perHundred, condition: { or: [{ "/": [{ var: "order.amount" }, 2] }] } }),
    ).toEqual([
      {
        path: "condition.or.0./",
        code: "unsupported_operator",
        message: expect.stringContaining("per_amount"),
      },
    ]);
    expect(errorsOf({ ...perHundred, condition: { var: "order.__proto__.x" } })[0]).toMatchObject({
      path: "condition.var",
      code: "forbidden_path",
    });
    expect(errorsOf({ ...perHundred, condition: { var: "customer.constructor" } })[0]?.code).toBe(
      "forbidden_path",
    );
    expect(errorsOf({ ...perHundred, condition: { var: "usage.x.day" } })[0]).toMatchObject({
      path: "condition.var",
      code: "unknown_root",
    });
    expect(errorsOf({ ...perHundred, condition: { var: "amount" } })[0]?.code).toBe("unknown_root");
  });

  it("refuses conditions nested beyond the depth limit", () => {
    let c: unknown = { var: "order.amount" };
    for (let i = 0; i < 40; i++) c = { "!": [c] };
    expect(errorsOf({ ...perHundred, condition: c })[0]?.code).toBe("too_deep");
  });

  it("checks kinds, actions, scope, caps, stacking and the validity window", () => {
    expect(errorsOf({ ...perHundred, kind: "gift" })[0]).toMatchObject({
      path: "kind",
      code: "invalid",
    });
    expect(errorsOf({ ...perHundred, action: { type: "percent", points: 1 } })[0]?.path).toBe(
      "action.type",
    );
    expect(errorsOf({ ...perHundred, kind: "tier" })[0]?.message).toContain(
      "a tier rule's action is tier",
    );
    expect(
      errorsOf({ ...perHundred, action: { type: "per_amount", points: 1, per: 0 } })[0]?.path,
    ).toBe("action.per");
    expect(errorsOf({ ...perHundred, action: { type: "fixed" } })[0]?.path).toBe("action.points");
    expect(
      errorsOf({ ...perHundred, action: { type: "fixed", points: 1, per: 2 } })[0],
    ).toMatchObject({
      path: "action.per",
      code: "unknown_field",
    });
    expect(
      errorsOf({ ...goldDouble, action: { type: "multiplier", factor: 1, divisor: 2 } })[0]?.path,
    ).toBe("action.factor");
    expect(errorsOf({ ...perHundred, scope: { tiers: [] } })[0]?.path).toBe("scope.tiers");
    expect(errorsOf({ ...perHundred, scope: { tiers: ["gold", "gold"] } })[0]?.path).toBe(
      "scope.tiers.1",
    );
    expect(errorsOf({ ...perHundred, scope: { regions: ["x"] } })[0]?.path).toBe("scope.regions");
    expect(errorsOf({ ...perHundred, caps: { day: -1 } })[0]?.path).toBe("caps.day");
    expect(
      errorsOf({ ...perHundred, caps: { period: { points: 5, unit: "decade" } } })[0]?.path,
    ).toBe("caps.period.unit");
    expect(errorsOf({ ...perHundred, stacking: "max" })[0]?.path).toBe("stacking");
    expect(errorsOf({ ...perHundred, validFrom: "2026-13-01T00:00:00Z" })[0]?.path).toBe(
      "validFrom",
    );
    expect(
      errorsOf({
        ...perHundred,
        validFrom: "2026-12-02T00:00:00Z",
        validUntil: "2026-12-01T00:00:00Z",
      })[0]?.path,
    ).toBe("validUntil");
    expect(
      errorsOf({
        name: "Gold",
        kind: "tier",
        condition: true,
        action: { type: "tier", tier: "gold" },
        caps: { order: 1 },
      })[0]?.path,
    ).toBe("caps");
    expect(
      errorsOf({
        ...perHundred,
        action: {
          type: "per_amount",
          points: 1,
          per: 100,
          items: { where: { var: "x.prototype" } },
        },
      })[0]?.path,
    ).toBe("action.items.where.var");
  });
});

describe("ruleHash", () => {
  it("hashes the RFC 8785 canonical JSON: key order and spacing do not matter", () => {
    const reordered = JSON.parse(
      '{"action":{"per":100,"points":1,"type":"per_amount"},"condition":true,"kind":"earn","name":"1 point per 100"}',
    );
    expect(canonicalRuleJson(perHundred)).toBe(
      '{"action":{"per":100,"points":1,"type":"per_amount"},"condition":true,"kind":"earn","name":"1 point per 100"}',
    );
    expect(ruleHash(reordered)).toBe(ruleHash(perHundred));
    expect(ruleHash(perHundred)).toMatch(/^[0-9a-f]{64}$/);
    expect(ruleHash({ ...perHundred, name: "1 point per 100 " })).not.toBe(ruleHash(perHundred));
    // Fixed: a published entry carries this, so it must never change.
    expect(ruleHash({ a: 1 })).toBe(
      "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862",
    );
    expect(() => ruleHash({ a: 0.5 })).toThrow(RuleValidationError);
  });

  it("is what a rule version carries, and a published hash is checked", () => {
    const rv = ruleVersion("base", 1, perHundred);
    expect(rv.hash).toBe(ruleHash(perHundred));
    expect(() => ruleVersion("base", 1, perHundred, "00".repeat(32))).toThrow(/hashes to/);
    expect(() => ruleVersion("base.1", 1, perHundred)).toThrow(RuleValidationError);
    expect(() => ruleVersion("base", 0, perHundred)).toThrow(RuleValidationError);
  });
});

describe("actions and rounding", () => {
  it("per_amount is floor(amount × points / per) by default, with explicit ceil and half_up", () => {
    const rv = ruleVersion("base", 1, perHundred);
    expect(evaluateRule(rv, context({ order: order(12_399) })).points).toBe(123);
    expect(evaluateRule(rv, context({ order: order(99) })).points).toBe(0);
    const ceil = ruleVersion("c", 1, {
      ...perHundred,
      action: { ...perHundred.action, rounding: "ceil" },
    });
    expect(evaluateRule(ceil, context({ order: order(12_301) })).points).toBe(124);
    expect(evaluateRule(ceil, context({ order: order(12_300) })).points).toBe(123);
    const half = ruleVersion("h", 1, {
      ...perHundred,
      action: { ...perHundred.action, rounding: "half_up" },
    });
    expect(evaluateRule(half, context({ order: order(12_349) })).points).toBe(123);
    expect(evaluateRule(half, context({ order: order(12_350) })).points).toBe(124);
  });

  it("computes exactly where amount × points exceeds 2^53", () => {
    expect(ratio(9_000_000_000_000_000, 3, 7)).toBe(3_857_142_857_142_857);
    expect(() => ratio(9_000_000_000_000_000, 3, 1)).toThrow(/beyond/);
  });

  it("rounds with doubles as BigInt does, up to 2^52 and across it", () => {
    const near = (x: number) => fc.integer({ min: Math.max(0, x - 3), max: x + 3 });
    const value = fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: 2 ** 26 }),
      fc.maxSafeInteger().map((x) => Math.abs(x)),
      near(2 ** 26),
      near(2 ** 52),
    );
    const divisor = fc.oneof(
      fc.integer({ min: 1, max: 1_000 }),
      value.map((x) => x + 1),
    );
    fc.assert(
      fc.property(value, value, divisor, fc.constantFrom(...ROUNDING), (a, n, d, rounding) => {
        let big: number | string;
        try {
          big = bigRatio(a, n, d, rounding);
        } catch (e) {
          big = (e as Error).message;
        }
        let fast: number | string;
        try {
          fast = ratio(a, n, d, rounding);
        } catch (e) {
          fast = (e as Error).message;
        }
        expect(fast, `${a} × ${n} / ${d} ${rounding}`).toBe(big);
      }),
      { numRuns: 20_000 },
    );
    // Halves and remainders at the edge of the doubles' exact range.
    for (const rounding of ROUNDING) {
      for (const [a, n, d] of [
        [2 ** 52, 1, 2],
        [2 ** 52 - 1, 1, 2],
        [2 ** 52 + 1, 1, 2],
        [2 ** 26, 2 ** 26, 3],
        [2 ** 52 - 1, 1, 2 ** 52],
        [7, 3, 2],
      ] as const) {
        expect(ratio(a, n, d, rounding)).toBe(bigRatio(a, n, d, rounding));
      }
    }
  });

  it("counts only the items the scope and the item filter select", () => {
    const items = [
      { product: "p1", category: "shoes", amount: 10_000, quantity: 1 },
      { product: "p2", category: "socks", amount: 2_000, quantity: 4 },
      { product: "p3", category: "shoes", amount: 5_000, quantity: 2 },
    ];
    const shoes = ruleVersion("shoes", 1, { ...perHundred, scope: { categories: ["shoes"] } });
    const ctx = context({ order: order(17_000, { items }) });
    expect(evaluateRule(shoes, ctx).points).toBe(150);
    const multiples = ruleVersion("multi", 1, {
      ...perHundred,
      action: {
        type: "per_amount",
        points: 2,
        per: 100,
        items: { where: { ">": [{ var: "quantity" }, 1] } },
      },
    });
    expect(evaluateRule(multiples, ctx).points).toBe(140);
    const both = ruleVersion("both", 1, {
      ...perHundred,
      scope: { categories: ["shoes"] },
      action: { type: "per_amount", points: 1, per: 100, items: { products: ["p3"] } },
    });
    expect(evaluateRule(both, ctx).points).toBe(50);
    // No matching item: the scope does not apply.
    const hats = ruleVersion("hats", 1, { ...perHundred, scope: { categories: ["hats"] } });
    expect(evaluateRule(hats, ctx)).toMatchObject({ applies: false, reason: "scope" });
  });

  it("gives tiers and expiry days", () => {
    const gold = ruleVersion("gold", 1, {
      name: "Gold",
      kind: "tier",
      condition: { ">=": [{ var: "customer.spend12m" }, 1_000_000] },
      action: { type: "tier", tier: "gold" },
    });
    expect(evaluateRule(gold, context({ customer: { spend12m: 1_200_000 } }))).toMatchObject({
      applies: true,
      points: 0,
      tier: "gold",
    });
    const expiry = ruleVersion("exp", 1, {
      name: "A year",
      kind: "expiry",
      condition: true,
      action: { type: "expire", days: 365 },
    });
    expect(evaluateRule(expiry, context()).days).toBe(365);
  });
});

describe("applicability", () => {
  it("honours the validity window on the time given, never a clock", () => {
    const december = ruleVersion("dec", 1, {
      ...perHundred,
      validFrom: "2026-12-01T00:00:00+08:00",
      validUntil: "2027-01-01T00:00:00+08:00",
    });
    const at = (iso: string) => context({ time: timeContext(iso) });
    expect(evaluateRule(december, at("2026-11-30T15:59:59.999Z")).reason).toBe("window");
    expect(evaluateRule(december, at("2026-11-30T16:00:00Z")).applies).toBe(true);
    expect(evaluateRule(december, at("2026-12-31T15:59:59Z")).applies).toBe(true);
    expect(evaluateRule(december, at("2026-12-31T16:00:00Z")).reason).toBe("window");
    expect(() => evaluateRule(december, { order: order(100) })).toThrow(/time.ms/);
  });

  it("honours every scope list", () => {
    const scoped = ruleVersion("s", 1, {
      ...perHundred,
      scope: {
        channels: ["web"],
        stores: ["s1"],
        segments: ["vip", "new"],
        tiers: ["gold", "silver"],
      },
    });
    expect(evaluateRule(scoped, context()).applies).toBe(true);
    expect(evaluateRule(scoped, context({ order: { ...order(100), channel: "pos" } })).reason).toBe(
      "scope",
    );
    expect(evaluateRule(scoped, context({ order: { ...order(100), store: "s2" } })).reason).toBe(
      "scope",
    );
    expect(
      evaluateRule(scoped, context({ customer: { tier: "gold", segments: ["old"] } })).reason,
    ).toBe("scope");
    expect(evaluateRule(scoped, context({ customer: { segments: ["vip"] } })).reason).toBe("scope");
  });

  it("applies the condition over order, customer, event and time", () => {
    const rv = ruleVersion("bday", 1, birthdayFirstOrder);
    expect(evaluateRule(rv, context()).points).toBe(50);
    expect(evaluateRule(rv, context({ customer: { orders: 3, birthdayWeek: true } })).reason).toBe(
      "condition",
    );
    expect(evaluateRule(rv, context({ customer: { orders: 0 } })).reason).toBe("condition");
    const weekend = ruleVersion("wk", 1, {
      ...perHundred,
      condition: { in: [{ var: "time.weekday" }, [6, 7]] },
    });
    // 2026-12-05 is a Saturday.
    const saturday = context({
      time: timeContext("2026-12-05T10:00:00Z"),
    });
    expect(evaluateRule(weekend, saturday).applies).toBe(true);
    expect(evaluateRule(weekend, context()).applies).toBe(false);
  });

  it("fails with a typed error when the condition runs out of steps", () => {
    const heavy = ruleVersion("heavy", 1, {
      ...perHundred,
      condition: {
        some: [{ var: "order.items" }, { some: [{ var: "tags" }, { "!": [{ var: "" }] }] }],
      },
    });
    const items = Array.from({ length: 100 }, () => ({
      tags: Array.from({ length: 100 }, () => 1),
      amount: 1,
    }));
    expect(() => evaluateRule(heavy, context({ order: order(1, { items }) }))).toThrow(
      StepBudgetError,
    );
    const enough = evaluateRule(heavy, context({ order: order(1, { items }) }), { steps: 50_000 });
    expect(enough).toMatchObject({ applies: false, reason: "condition" });
    expect(enough.steps).toBeGreaterThan(10_000);
  });

  it("refuses a context with floats or unknown parts", () => {
    const rv = ruleVersion("base", 1, perHundred);
    expect(() => evaluateRule(rv, context({ order: order(10.5) }))).toThrow(/order.amount/);
    expect(() => evaluateRule(rv, { ...context(), secret: {} } as RuleContext)).toThrow(
      /unknown context part/,
    );
  });
});

describe("caps", () => {
  const capped = (caps: unknown) => ruleVersion("cap", 1, { ...perHundred, caps });

  it("caps per order", () => {
    const o = evaluateRule(capped({ order: 100 }), context());
    expect(o).toMatchObject({ points: 100, uncapped: 123, cappedBy: "order" });
  });

  it("caps per day, period and customer, counting the usage given", () => {
    const rv = capped({ day: 200, period: { points: 1000, unit: "month" }, customer: 5000 });
    expect(evaluateRule(rv, context()).points).toBe(123);
    expect(evaluateRule(rv, context({ usage: { cap: { day: 150 } } }))).toMatchObject({
      points: 50,
      cappedBy: "day",
    });
    expect(evaluateRule(rv, context({ usage: { cap: { day: 0, period: 990 } } }))).toMatchObject({
      points: 10,
      cappedBy: "period",
    });
    expect(evaluateRule(rv, context({ usage: { cap: { customer: 5000 } } }))).toMatchObject({
      points: 0,
      cappedBy: "customer",
    });
    // Another rule's usage does not count.
    expect(evaluateRule(rv, context({ usage: { other: { day: 200 } } })).points).toBe(123);
  });
});

describe("evaluateRules: priority and stacking", () => {
  const fixed = (points: number, extra: object = {}) => ({
    name: `${points} points`,
    kind: "earn",
    condition: true,
    action: { type: "fixed", points },
    ...extra,
  });

  it("adds up stacking awards, in priority order then by id", () => {
    const rules = [
      ruleVersion("b", 1, fixed(10)),
      ruleVersion("a", 1, fixed(20)),
      ruleVersion("c", 1, fixed(5, { priority: 9 })),
    ];
    const r = evaluateRules(rules, context());
    expect(r.awards.map((a) => [a.rule, a.points])).toEqual([
      ["c", 5],
      ["a", 20],
      ["b", 10],
    ]);
    expect(r.report.every((x) => x.status === "awarded")).toBe(true);
  });

  it("exclusive: nothing of its kind after it applies, multipliers included", () => {
    const rules = [
      ruleVersion("high", 1, fixed(10, { priority: 10 })),
      ruleVersion("promo", 1, fixed(500, { priority: 5, stacking: "exclusive" })),
      ruleVersion("base", 1, { ...perHundred, priority: 1 }),
      ruleVersion("double", 1, { ...goldDouble, priority: 0 }),
      ruleVersion("tier", 1, {
        name: "t",
        kind: "tier",
        condition: true,
        action: { type: "tier", tier: "gold" },
      }),
    ];
    const r = evaluateRules(rules, context());
    expect(r.awards.map((a) => [a.rule, a.points])).toEqual([
      ["high", 10],
      ["promo", 500],
      ["tier", 0],
    ]);
    expect(r.report.find((x) => x.rule === "base")).toMatchObject({
      status: "superseded",
      by: "promo",
    });
    expect(r.report.find((x) => x.rule === "double")).toMatchObject({
      status: "superseded",
      by: "promo",
    });
    // When it does not apply, it stops nothing.
    const off = [...rules];
    off[1] = ruleVersion(
      "promo",
      1,
      fixed(500, { priority: 5, stacking: "exclusive", condition: false }),
    );
    expect(evaluateRules(off, context()).awards.map((a) => a.rule)).toEqual([
      "high",
      "base",
      "double",
      "tier",
    ]);
  });

  it("best: only the best of the applying best rules is kept", () => {
    const rules = [
      ruleVersion("p1", 1, fixed(30, { stacking: "best", priority: 3 })),
      ruleVersion("p2", 1, fixed(70, { stacking: "best", priority: 2 })),
      ruleVersion("p3", 1, fixed(70, { stacking: "best", priority: 1 })),
      ruleVersion("base", 1, perHundred),
    ];
    const r = evaluateRules(rules, context());
    expect(r.awards.map((a) => [a.rule, a.points])).toEqual([
      ["p2", 70],
      ["base", 123],
    ]);
    expect(r.report.find((x) => x.rule === "p1")).toMatchObject({ status: "superseded", by: "p2" });
    expect(r.report.find((x) => x.rule === "p3")).toMatchObject({ status: "superseded", by: "p2" });
  });

  it("multipliers multiply the awards kept, by tier or campaign", () => {
    const campaign = ruleVersion("x15", 1, {
      name: "1.5× in the campaign",
      kind: "earn",
      condition: { "==": [{ var: "event.campaign" }, "xmas"] },
      action: { type: "multiplier", factor: 3, divisor: 2, rules: ["base"] },
    });
    const rules = [
      ruleVersion("base", 1, perHundred),
      ruleVersion("bday", 1, birthdayFirstOrder),
      ruleVersion("double", 1, goldDouble),
      campaign,
    ];
    const r = evaluateRules(rules, context({ event: { type: "order.placed", campaign: "xmas" } }));
    expect(r.awards.map((a) => [a.rule, a.points])).toEqual([
      ["base", 123],
      ["bday", 50],
      ["double", 173],
      ["x15", 61],
    ]);
    const double = r.awards.find((a) => a.rule === "double") as Award;
    expect(double.inputs).toEqual({ "customer.tier": "gold", awards: { base: 123, bday: 50 } });
    // Silver customers get no double; a caller's own `awards` is ignored.
    const silver = evaluateRules(
      rules,
      context({ customer: { tier: "silver", orders: 2 }, awards: { base: 1e6 } }),
    );
    expect(silver.awards.map((a) => [a.rule, a.points])).toEqual([["base", 123]]);
  });

  it("reports rules that fail and goes on with the others", () => {
    const broken = ruleVersion("broken", 1, {
      ...perHundred,
      condition: { ">": [{ "+": [{ var: "customer.tier" }, 1] }, 0] },
    });
    const r = evaluateRules([broken, ruleVersion("bday", 1, birthdayFirstOrder)], context());
    expect(r.awards.map((a) => a.rule)).toEqual(["bday"]);
    expect(r.report.find((x) => x.rule === "broken")).toMatchObject({
      rule: "broken",
      status: "failed",
      error: { code: "not_a_number", path: "condition.>.0.+" },
    });
    expect(() => evaluateRules([broken, broken], context())).toThrow(/twice/);
  });

  it("is deterministic", () => {
    const rules = [ruleVersion("base", 1, perHundred), ruleVersion("double", 1, goldDouble)];
    expect(JSON.stringify(evaluateRules(rules, context()))).toBe(
      JSON.stringify(evaluateRules(rules, context())),
    );
  });
});

describe("inputs and recompute", () => {
  const full = {
    name: "Shoes in the birthday week",
    kind: "earn",
    condition: {
      and: [
        { var: ["customer.birthdayWeek", false] },
        { "!": [{ var: "customer.blocked" }] },
        { some: [{ var: "order.items" }, { ">=": [{ var: "quantity" }, 1] }] },
      ],
    },
    scope: { channels: ["web"], categories: ["shoes"], tiers: ["gold"] },
    caps: { order: 1000, day: 150 },
    validFrom: "2026-01-01T00:00:00Z",
    action: {
      type: "per_amount",
      points: 3,
      per: 100,
      rounding: "half_up",
      items: { where: { var: "new" } },
    },
  };
  const items = [
    { product: "p1", category: "shoes", amount: 4_950, quantity: 1, new: true },
    { product: "p2", category: "shoes", amount: 9_999, quantity: 1, new: false },
  ];
  const ctx = context({
    order: order(14_949, { items, coupon: "X" }),
    usage: { full: { day: 20 } },
    customer: { tier: "gold", birthdayWeek: true, name: "never read", orders: 4 },
  });

  it("records every input the rule read, and only those", () => {
    const rv = ruleVersion("full", 1, full);
    const [award] = evaluateRules([rv], ctx).awards;
    // round_half_up(4950 × 3 / 100) = 149 (the one new pair of shoes), capped to 150 − 20 a day.
    expect(award).toMatchObject({ points: 130, uncapped: 149, cappedBy: "day" });
    expect(award?.inputs).toEqual({
      "time.ms": Date.parse("2026-12-01T09:30:00Z"),
      "order.channel": "web",
      "customer.tier": "gold",
      "order.items": items,
      "customer.birthdayWeek": true,
      "usage.full.day": 20,
    });
  });

  it("recompute gives the same points from the inputs alone, and checkAward agrees", () => {
    const rv = ruleVersion("full", 1, full);
    const rules = [ruleVersion("base", 1, perHundred), ruleVersion("double", 1, goldDouble), rv];
    for (const award of evaluateRules(rules, ctx).awards) {
      const version = rules.find((r) => r.id === award.rule) as (typeof rules)[number];
      expect(recompute(version, award.inputs)).toBe(award.points);
      expect(checkAward(version, award)).toMatchObject({ ok: true, problems: [] });
      // The inputs survive JSON (a ledger entry) unchanged.
      expect(recompute(version, JSON.parse(JSON.stringify(award.inputs)))).toBe(award.points);
    }
  });

  it("checkAward finds an award that does not match its inputs or its rule", () => {
    const rv = ruleVersion("full", 1, full);
    const [award] = evaluateRules([rv], ctx).awards as [Award];
    expect(checkAward(rv, { ...award, points: award.points + 1 }).problems).toEqual([
      `the award has ${award.points + 1} points, the inputs give ${award.points}`,
    ]);
    const fewer = { ...award, inputs: { ...award.inputs } };
    delete fewer.inputs["customer.birthdayWeek"];
    expect(checkAward(rv, fewer).ok).toBe(false);
    const other = ruleVersion("full", 2, { ...full, name: "v2" });
    expect(checkAward(other, award).problems).toContain("the award names version 1, not 2");
  });

  it("rebuilds a context from inputs and refuses inconsistent or foreign ones", () => {
    expect(
      contextFromInputs({ "order.items": [{ a: 1 }], "order.items.0.a": 1, "time.ms": 5 }),
    ).toEqual({
      order: { items: [{ a: 1 }] },
      time: { ms: 5 },
    });
    expect(() => contextFromInputs({ "order.items": [{ a: 1 }], "order.items.0.a": 2 })).toThrow(
      /disagrees/,
    );
    expect(() => contextFromInputs({ "vault.name": "x" })).toThrow(/not a path/);
    expect(() => contextFromInputs({ "order.__proto__.x": 1 })).toThrow(/__proto__/);
    expect(() => contextFromInputs({ "order.amount": 1.5 })).toThrow();
  });
});

describe("parseRuleJson", () => {
  it("refuses numbers written with a fraction or an exponent, and duplicate keys, with their paths", () => {
    const r = parseRuleJson('{"action": {"points": 1.0, "per": 1e2}, "name": "a", "name": "b"}');
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          path: "action.points",
          code: "not_an_integer",
          message: "1.0 is not written as an integer",
        },
        { path: "action.per", code: "not_an_integer", message: "1e2 is not written as an integer" },
        { path: "name", code: "duplicate_key", message: 'the key "name" is given twice' },
      ],
    });
    expect(parseRuleJson(JSON.stringify(perHundred))).toEqual({ ok: true, value: perHundred });
    expect(parseRuleJson("[1, 2")).toMatchObject({ ok: false, errors: [{ code: "syntax" }] });
    expect(parseRuleJson("9007199254740993")).toMatchObject({
      ok: false,
      errors: [{ code: "not_an_integer" }],
    });
    const proto = parseRuleJson('{"__proto__": {"x": 1}}');
    expect(proto.ok && Object.keys(proto.value as object)).toEqual(["__proto__"]);
  });
});

describe("timeContext", () => {
  it("derives local date and time fields from an instant and an offset", () => {
    expect(timeContext("2026-12-31T20:30:00Z", 480)).toEqual({
      ms: Date.parse("2026-12-31T20:30:00Z"),
      iso: "2026-12-31T20:30:00.000Z",
      offset: 480,
      date: "2027-01-01",
      year: 2027,
      month: 1,
      day: 1,
      weekday: 5,
      hour: 4,
      minute: 30,
    });
    expect(timeContext(0).weekday).toBe(4);
    expect(timeContext("2024-02-29T00:00:00-05:00").date).toBe("2024-02-29");
    expect(() => timeContext("2026-02-29T00:00:00Z")).toThrow(RangeError);
    expect(() => timeContext("yesterday")).toThrow(RangeError);
  });
});

describe("the context fields a rule set reads", () => {
  const rule = (over: Record<string, unknown>) =>
    ruleVersion("r", 1, {
      name: "r",
      kind: "earn",
      condition: true,
      action: { type: "fixed", points: 1 },
      ...over,
    });

  it("names the engine's reads and the conditions' paths, a part read whole holding its fields", () => {
    expect(
      contextFields([
        rule({
          condition: {
            and: [{ "==": [{ var: "customer.orders" }, 0] }, { missing: ["event.campaign.id"] }],
          },
          scope: { channels: ["web"], categories: ["shoes"], segments: ["vip"] },
          action: { type: "per_amount", points: 1, per: 100 },
          validFrom: "2026-01-01T00:00:00Z",
        }),
        rule({ condition: { some: [{ var: "order.items" }, { var: "quantity" }] } }),
        rule({ condition: { "!": [{ missing_some: [1, ["time.weekday", "time"]] }] } }),
      ]),
    ).toEqual([
      "customer.orders",
      "customer.segments",
      "event.campaign",
      "order.amount",
      "order.channel",
      "order.items",
      "time",
    ]);
    expect(contextFields([rule({})])).toEqual([]);
  });

  it("is null when missing's keys are computed, and narrowing keeps absent fields absent", () => {
    const computed = rule({ condition: { missing: { merge: ["order.store", "order.channel"] } } });
    expect(contextFields([computed])).toBeNull();
    const context = {
      order: { amount: 100, channel: "web", items: [] },
      customer: { orders: 0, vip: null },
      time: timeContext(0),
    } as RuleContext;
    expect(narrowContext(context, null)).toBe(context);
    expect(
      narrowContext(context, ["customer.vip", "customer.tier", "order.store", "time"]),
    ).toEqual({
      customer: { vip: null },
      time: context.time,
    });
    // A part that is not an object is kept as it is, so the check refuses it as it would the
    // whole context.
    const broken = { ...context, order: null, event: [1] } as unknown as RuleContext;
    const narrowed = narrowContext(broken, ["order.amount", "event.campaign", "time.ms"]);
    expect(narrowed).toEqual({ order: null, event: [1], time: { ms: 0 } });
    expect(() => checkContext(broken)).toThrow(/order: must be an object/);
    expect(() => checkContext(narrowed)).toThrow(/order: must be an object/);
  });
});

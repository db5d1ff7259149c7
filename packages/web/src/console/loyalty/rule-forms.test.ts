import { describe, expect, it } from "vitest";
import { documentOf, EMPTY_FIELDS, fieldsOf, type RuleFields, ratio } from "./rule-forms.js";

const fields = (over: Partial<RuleFields>): RuleFields => ({ ...EMPTY_FIELDS, ...over });
const doc = (f: RuleFields, digits = 2) => {
  const r = documentOf(f, digits);
  if (!("document" in r)) throw new Error(JSON.stringify(r.problems));
  return r.document;
};

describe("rule forms", () => {
  it("write the common rules as documents, amounts in minor units", () => {
    expect(doc(fields({ template: "per_amount", name: " Base ", points: "1", per: "1" }))).toEqual({
      name: "Base",
      kind: "earn",
      condition: true,
      action: { type: "per_amount", points: 1, per: 100 },
    });
    expect(
      doc(
        fields({
          template: "fixed",
          name: "Ten",
          points: "10",
          minAmount: "20.5",
          channels: "web, app",
        }),
      ),
    ).toEqual({
      name: "Ten",
      kind: "earn",
      condition: { ">=": [{ var: "order.amount" }, 2050] },
      action: { type: "fixed", points: 10 },
      scope: { channels: ["web", "app"] },
    });
    expect(
      doc(
        fields({
          template: "category_bonus",
          name: "Shoes",
          categories: "shoes，boots",
          points: "2",
          per: "1",
          rounding: "half_up",
        }),
      ),
    ).toMatchObject({
      scope: { categories: ["shoes", "boots"] },
      action: { type: "per_amount", points: 2, per: 100, rounding: "half_up" },
    });
    expect(doc(fields({ template: "first_order", name: "Welcome", points: "50" }))).toMatchObject({
      condition: { "==": [{ var: "customer.orders" }, 0] },
      action: { type: "fixed", points: 50 },
    });
    // Yen has no minor unit.
    expect(doc(fields({ name: "JPY", per: "100" }), 0)).toMatchObject({
      action: { per: 100 },
    });
  });

  it("write a campaign multiplier between its dates", () => {
    const d = doc(
      fields({
        template: "campaign",
        name: "Double",
        factor: "1.5",
        multiplies: "base",
        validFrom: "2026-12-01T00:00",
        validUntil: "2027-01-01T00:00",
      }),
    );
    expect(d).toMatchObject({
      action: { type: "multiplier", factor: 3, divisor: 2, rules: ["base"] },
      validFrom: new Date("2026-12-01T00:00").toISOString(),
    });
  });

  it("name each field's problem", () => {
    expect(documentOf(fields({ template: "campaign", factor: "1", per: "x" }), 2)).toEqual({
      problems: {
        name: "nameEmpty",
        factor: "factorInvalid",
        validFrom: "dateNeeded",
        validUntil: "dateNeeded",
      },
    });
    expect(
      documentOf(fields({ name: "x", points: "1.5", per: "0.001", minAmount: "abc" }), 2),
    ).toEqual({
      problems: { points: "pointsInvalid", per: "perInvalid", minAmount: "amountInvalid" },
    });
    expect(
      documentOf(
        fields({
          template: "product_bonus",
          name: "x",
          validFrom: "2027-01-02T00:00",
          validUntil: "2027-01-01T00:00",
        }),
        2,
      ),
    ).toEqual({ problems: { products: "listEmpty", validUntil: "untilBeforeFrom" } });
  });

  it("read back what they wrote, with the node's defaults, and nothing else", () => {
    for (const f of [
      fields({ template: "per_amount", name: "Base", rounding: "ceil" }),
      fields({ template: "fixed", name: "Ten", points: "10", minAmount: "20.5" }),
      fields({ template: "product_bonus", name: "P", products: "p1, p2", points: "3", per: "2" }),
      fields({ template: "first_order", name: "W", points: "50" }),
      fields({
        template: "campaign",
        name: "C",
        factor: "2",
        validFrom: "2026-12-01T00:00",
        validUntil: "2027-01-01T00:00",
      }),
    ]) {
      const d = { ...doc(f), scope: (doc(f).scope as object) ?? {}, caps: {}, priority: 0 };
      const back = fieldsOf(d, 2);
      expect(back?.template).toBe(f.template);
      expect(doc(back as RuleFields)).toEqual(doc(f));
    }
    expect(
      fieldsOf(
        {
          name: "x",
          kind: "earn",
          condition: { "<": [1, 2] },
          action: { type: "fixed", points: 1 },
        },
        2,
      ),
    ).toBeUndefined();
    expect(
      fieldsOf(
        {
          name: "x",
          kind: "earn",
          condition: true,
          action: { type: "fixed", points: 1 },
          caps: { day: 5 },
        },
        2,
      ),
    ).toBeUndefined();
    expect(fieldsOf(null, 2)).toBeUndefined();
  });

  it("turn a decimal multiplier into the smallest factor and divisor", () => {
    expect(ratio("2")).toEqual({ factor: 2, divisor: 1 });
    expect(ratio("1.25")).toEqual({ factor: 5, divisor: 4 });
    expect(ratio("1")).toBeUndefined();
    expect(ratio("0.5")).toBeUndefined();
    expect(ratio("abc")).toBeUndefined();
  });
});

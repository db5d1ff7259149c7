import { describe, expect, it } from "vitest";
import { canonical, conditionOf, RULE_FIELDS, type Rule, ruleLogic, rulesOf } from "./condition.js";

describe("the segment builder's JsonLogic", () => {
  it("turns each kind of rule into the condition the node evaluates", () => {
    expect(ruleLogic({ field: "stage", negated: false, value: "loyal" })).toEqual({
      "==": [{ var: "stage" }, "loyal"],
    });
    expect(ruleLogic({ field: "tag", negated: true, value: " vip " })).toEqual({
      "!": { in: ["vip", { var: "tags" }] },
    });
    expect(ruleLogic({ field: "channel", negated: false, value: "wechat" })).toEqual({
      in: ["wechat", { var: "channels" }],
    });
    expect(ruleLogic({ field: "country", negated: false, value: "cn" })).toEqual({
      "==": [{ var: "country" }, "CN"],
    });
    expect(ruleLogic({ field: "birthMonth", negated: false, value: "2" })).toEqual({
      "==": [{ var: "birthMonth" }, 2],
    });
    expect(ruleLogic({ field: "createdAfter", negated: false, value: "2026-01-31" })).toEqual({
      ">=": [{ var: "createdAt" }, "2026-01-31T00:00:00.000Z"],
    });
  });

  it("leaves out rules that are empty or not well formed yet", () => {
    expect(ruleLogic({ field: "tag", negated: false, value: "  " })).toBeUndefined();
    expect(ruleLogic({ field: "birthMonth", negated: false, value: "13" })).toBeUndefined();
    expect(
      ruleLogic({ field: "createdBefore", negated: false, value: "2026-1-1" }),
    ).toBeUndefined();
  });

  it("joins rules with and / or; no rule selects everyone", () => {
    const a = { field: "stage", negated: false, value: "loyal" } as const;
    const b = { field: "tag", negated: false, value: "vip" } as const;
    expect(conditionOf("and", [])).toBe(true);
    expect(conditionOf("or", [a, { ...b, value: "" }])).toEqual(ruleLogic(a));
    expect(conditionOf("or", [a, b])).toEqual({ or: [ruleLogic(a), ruleLogic(b)] });
  });

  it("reads a saved condition back into the rules that wrote it", () => {
    const values: Record<(typeof RULE_FIELDS)[number], string> = {
      stage: "at_risk",
      tag: "vip",
      channel: "wechat",
      language: "zh-CN",
      country: "CN",
      birthMonth: "12",
      createdAfter: "2025-06-01",
      createdBefore: "2026-01-01",
    };
    const rules: Rule[] = RULE_FIELDS.map((field, i) => ({
      field,
      negated: i % 2 === 1,
      value: values[field],
    }));
    for (const combinator of ["and", "or"] as const) {
      // Through JSON, as the node keeps it.
      const saved = JSON.parse(JSON.stringify(conditionOf(combinator, rules)));
      expect(rulesOf(saved)).toEqual({ combinator, rules });
    }
    for (const rule of rules) {
      expect(rulesOf(conditionOf("or", [rule]))).toEqual({ combinator: "and", rules: [rule] });
    }
    expect(rulesOf(true)).toEqual({ combinator: "and", rules: [] });
  });

  it("leaves to JsonLogic what the builder cannot show as it is", () => {
    for (const condition of [
      false,
      { ">": [{ var: "attributes.visits" }, 3] },
      { and: [{ or: [{ "==": [{ var: "stage" }, "loyal"] }, { in: ["vip", { var: "tags" }] }] }] },
      { and: [{ "==": [{ var: "stage" }, "loyal"] }] },
      { "==": [{ var: "stage" }, "gold"] },
      { "==": [{ var: "country" }, "cn"] },
      { in: ["vip ", { var: "tags" }] },
      { "!": { "!": { in: ["vip", { var: "tags" }] } } },
      { "==": [{ var: "birthMonth" }, 13] },
      { ">=": [{ var: "createdAt" }, "2026-01-01T12:00:00.000Z"] },
      { "==": [{ var: "stage" }, "loyal"], in: ["vip", { var: "tags" }] },
    ]) {
      expect(rulesOf(condition), JSON.stringify(condition)).toBeUndefined();
    }
  });

  it("compares conditions whatever the order of their keys", () => {
    expect(canonical({ b: 1, a: [{ d: 2, c: null }] })).toBe(
      canonical({ a: [{ c: null, d: 2 }], b: 1 }),
    );
    expect(canonical({ a: [1, 2] })).not.toBe(canonical({ a: [2, 1] }));
  });
});

import { describe, expect, it } from "vitest";
import { conditionOf, ruleLogic } from "./condition.js";

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
});

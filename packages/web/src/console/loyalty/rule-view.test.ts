import { describe, expect, it } from "vitest";
import type { RuleView } from "./api.js";
import { ownValidity, ruleName } from "./rule-view.js";

const event = (over: Partial<RuleView["history"][number]>): RuleView["history"][number] => ({
  event: "published",
  version: 1,
  hash: "h",
  effectiveFrom: "2026-12-20T00:00:00.000Z",
  effectiveUntil: null,
  replaced: false,
  entryIndex: 9,
  recordedAt: "2026-12-07T00:00:00.000Z",
  ...over,
});

describe("ruleName", () => {
  it("names a scheduled rule (no draft, no version in force) by its publication's name", () => {
    const r: RuleView = {
      id: "xmas",
      status: "scheduled",
      draft: null,
      current: null,
      history: [event({ name: "Christmas bonus" })],
    };
    expect(ruleName(r)).toBe("Christmas bonus");
    expect(ruleName({ ...r, history: [event({ name: null })] })).toBe("xmas");
    expect(
      ruleName({
        ...r,
        draft: { document: { name: "Xmas v2" }, hash: "h", version: 2, updatedAt: "" },
      }),
    ).toBe("Xmas v2");
  });
});

describe("ownValidity", () => {
  it("says the validity a document sets itself", () => {
    expect(ownValidity({})).toEqual({ kind: "always" });
    expect(ownValidity({ validFrom: null, validUntil: "2027-03-08T00:00:00Z" })).toEqual({
      kind: "until",
      until: "2027-03-08T00:00:00Z",
    });
    expect(ownValidity({ validFrom: "2027-01-01T00:00:00Z" })).toEqual({
      kind: "from",
      from: "2027-01-01T00:00:00Z",
    });
    expect(ownValidity({ validFrom: "a", validUntil: "b" })).toEqual({
      kind: "between",
      from: "a",
      until: "b",
    });
  });
});

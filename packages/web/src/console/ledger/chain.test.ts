import { describe, expect, it } from "vitest";
import { checkChain, prevOf } from "./chain.js";

const entry = (prev: number | null, customer = "c_1") => ({
  subjects: [
    { customer, prev },
    { merchant: "m_1", prev: 3 },
  ],
});

describe("a customer's chain across the timeline", () => {
  it("is complete when each entry links to the next older one and the oldest to none", () => {
    const entries = [
      { index: 40, entry: entry(25) },
      { index: 25, entry: entry(9) },
      { index: 9, entry: entry(null) },
    ];
    expect(checkChain("c_1", entries, true)).toEqual({ state: "complete", entries: 3 });
    // More pages to load: what is listed holds together, the rest is not checked yet.
    expect(checkChain("c_1", entries.slice(0, 2), false)).toEqual({ state: "partial", entries: 2 });
  });

  it("is broken by a gap, by a first entry that links further back, or by an entry not naming the customer", () => {
    expect(
      checkChain(
        "c_1",
        [
          { index: 40, entry: entry(30) },
          { index: 25, entry: entry(null) },
        ],
        true,
      ),
    ).toEqual({ state: "broken", at: 40, prev: 30, expected: 25 });
    expect(checkChain("c_1", [{ index: 25, entry: entry(7) }], true)).toEqual({
      state: "broken",
      at: 25,
      prev: 7,
      expected: null,
    });
    expect(checkChain("c_1", [{ index: 25, entry: entry(null, "c_2") }], true).state).toBe(
      "broken",
    );
  });

  it("reads the customer's prev only", () => {
    expect(prevOf(entry(12), "c_1")).toBe(12);
    expect(prevOf(entry(12), "c_9")).toBeUndefined();
    expect(prevOf({ subjects: "no" }, "c_1")).toBeUndefined();
  });
});

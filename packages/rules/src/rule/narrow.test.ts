import { describe, expect, it } from "vitest";
import { timeContext } from "../time.js";
import type { RuleContext } from "./engine.js";
import { contextNarrower, narrowContext } from "./narrow.js";

const context = {
  order: { amount: 10000, currency: "EUR", channel: "web", items: [{ category: "shoes" }] },
  customer: { orders: 0, segments: [] },
  event: { type: "order" },
  time: timeContext(0, 0),
  usage: {},
} as unknown as RuleContext;

describe("contextNarrower", () => {
  it("keeps the fields named, in the order named, a part named whole winning over its keys", () => {
    const narrow = contextNarrower(["time.weekday", "order.items", "order.amount", "customer"]);
    const got = narrow(context);
    expect(got).toEqual({
      time: { weekday: context.time?.weekday },
      order: { items: context.order?.items, amount: 10000 },
      customer: context.customer,
    });
    expect(JSON.stringify(got)).toBe(
      JSON.stringify({
        time: { weekday: context.time?.weekday },
        order: { items: context.order?.items, amount: 10000 },
        customer: context.customer,
      }),
    );
    // Whole before or after its keys, and a field named twice.
    for (const fields of [
      ["order.amount", "order", "order.amount"],
      ["order", "order.channel"],
    ]) {
      expect(contextNarrower(fields)(context)).toEqual({ order: context.order });
    }
    // The same narrowing as narrowContext, for every context it is given.
    expect(narrow({ ...context, order: null } as unknown as RuleContext)).toEqual(
      narrowContext({ ...context, order: null } as unknown as RuleContext, [
        "time.weekday",
        "order.items",
        "order.amount",
        "customer",
      ]),
    );
  });

  it("gives a context that is not an object as it is, for the check to refuse", () => {
    const narrow = contextNarrower(["order.amount"]);
    for (const bad of [null, [1], "order", 7]) {
      expect(narrow(bad as unknown as RuleContext)).toBe(bad);
    }
    expect(contextNarrower(null)(context)).toBe(context);
  });

  it("refuses fields that are not a part or a part's key, or that reach a prototype", () => {
    for (const bad of ["order.items.0", "", ".amount", "order.", "__proto__", "order.constructor"])
      expect(() => contextNarrower([bad]), bad).toThrow(TypeError);
  });
});

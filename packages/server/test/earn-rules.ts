/**
 * The five earning rules of the loyalty tests and benchmarks (docs/loyalty.md shows them too):
 * plain data, so the benchmarks take them without the test runner.
 */
export const EARN_RULES: Record<
  "base" | "shoes" | "first" | "weekend" | "web",
  Record<string, unknown>
> = {
  base: {
    name: "1 point per 100",
    kind: "earn",
    condition: true,
    action: { type: "per_amount", points: 1, per: 100 },
  },
  shoes: {
    name: "Shoes: 2 more points per 100",
    kind: "earn",
    condition: true,
    scope: { categories: ["shoes"] },
    action: { type: "per_amount", points: 2, per: 100 },
  },
  first: {
    name: "50 points on a first order",
    kind: "earn",
    condition: { "==": [{ var: "customer.orders" }, 0] },
    action: { type: "fixed", points: 50 },
  },
  weekend: {
    name: "Weekends: 1 more point per 100, at most 30 a day",
    kind: "earn",
    condition: { in: [{ var: "time.weekday" }, [6, 7]] },
    action: { type: "per_amount", points: 1, per: 100 },
    caps: { day: 30 },
  },
  web: {
    name: "Web orders: double base points",
    kind: "earn",
    condition: true,
    scope: { channels: ["web"] },
    action: { type: "multiplier", factor: 2, rules: ["base"] },
  },
};

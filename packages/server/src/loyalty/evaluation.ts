import {
  type Award,
  civilFromDays,
  evaluateRules,
  type JsonObject,
  type RuleContext,
  type RuleReport,
  type RuleVersion,
  type TimeFacts,
} from "@patron/rules";

/**
 * How an order is evaluated, as pure functions: the node runs them when it sequences an order,
 * `simulate` over past orders, and `audit` again from the log alone, so all three agree.
 */

export const DAY_MS = 86_400_000;
/** How long each award is remembered for the day and period caps (a calendar year and more). */
export const USAGE_MEMORY_MS = 400 * DAY_MS;

/** The facts of an order that rules may read (no personal data: amounts, categories, ids). */
export interface OrderFacts {
  amount: number;
  currency: string;
  channel: string;
  store?: string;
  items: { sku: string; category: string; quantity: number; unitPrice: number }[];
}

/** The `event` part of an order's context. */
export const ORDER_EVENT = { type: "order" } as const;

/**
 * The `order` part of a context: each item's `product` is its sku and its `amount` quantity ×
 * unit price (what per_amount actions over categories or products count).
 */
export function orderPart(o: OrderFacts): JsonObject {
  return {
    amount: o.amount,
    currency: o.currency,
    channel: o.channel,
    ...(o.store === undefined ? {} : { store: o.store }),
    items: o.items.map((i) => ({
      product: i.sku,
      category: i.category,
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      amount: i.quantity * i.unitPrice,
    })),
  };
}

/** What a rule has already given one customer: the total, and each recent award. */
export interface RuleUsage {
  total: number;
  /** [ms, points] of the awards of the last USAGE_MEMORY_MS, oldest first. */
  recent: readonly (readonly [number, number])[];
}

/** A customer's usage, by rule id (any version counts). Never changed in place. */
export type UsageHistory = ReadonlyMap<string, RuleUsage>;

/** The history with these awards, given at `ms`, added; awards too old to matter dropped. */
export function addUsage(
  history: UsageHistory,
  awards: readonly { rule: string; points: number }[],
  ms: number,
): UsageHistory {
  if (awards.length === 0) return history;
  const next = new Map(history);
  for (const a of awards) {
    const u = next.get(a.rule) ?? { total: 0, recent: [] };
    const recent = u.recent.filter(([t]) => t > ms - USAGE_MEMORY_MS);
    next.set(a.rule, { total: u.total + a.points, recent: [...recent, [ms, a.points]] });
  }
  return next;
}

export const localDays = (ms: number, offset: number) =>
  Math.floor((ms + offset * 60_000) / DAY_MS);

function periodKey(days: number, unit: "week" | "month" | "year"): number {
  // 1970-01-01 was a Thursday: weeks start on Monday (ISO).
  if (unit === "week") return Math.floor((days + 3) / 7);
  const { year, month } = civilFromDays(days);
  return unit === "year" ? year : year * 12 + month;
}

/**
 * The `usage` part of a context: for each rule with a day, period or customer cap, the points
 * it already gave this customer that day, that calendar period (both in local time at the
 * order's UTC offset) and ever. Counts of 0 are left out (the engine reads them as 0).
 */
export function usagePart(
  rules: readonly RuleVersion[],
  history: UsageHistory,
  ms: number,
  offset: number,
): JsonObject {
  const out: JsonObject = {};
  const today = localDays(ms, offset);
  for (const rv of rules) {
    const caps = rv.rule.caps;
    if (caps.day === undefined && caps.period === undefined && caps.customer === undefined) {
      continue;
    }
    const u = history.get(rv.id);
    if (!u) continue;
    const counts: JsonObject = {};
    if (caps.day !== undefined) {
      const day = usedOn(u, "day", caps, today, offset);
      if (day > 0) counts.day = day;
    }
    if (caps.period !== undefined) {
      const period = usedOn(u, "period", caps, today, offset);
      if (period > 0) counts.period = period;
    }
    if (caps.customer !== undefined && u.total > 0) counts.customer = u.total;
    if (Object.keys(counts).length > 0) out[rv.id] = counts;
  }
  return out;
}

/**
 * What a rule gave a customer, for one of its caps: that local day (`today`, in days since the
 * epoch at the order's UTC offset), that calendar period of the cap's, or ever (usagePart).
 */
export function usedOn(
  u: RuleUsage,
  cap: "day" | "period" | "customer",
  caps: RuleVersion["rule"]["caps"],
  today: number,
  offset: number,
): number {
  if (cap === "customer") return u.total;
  if (cap === "day") return sum(u.recent, (t) => localDays(t, offset) === today);
  const unit = caps.period?.unit ?? "year";
  const key = periodKey(today, unit);
  return sum(u.recent, (t) => periodKey(localDays(t, offset), unit) === key);
}

function sum(recent: RuleUsage["recent"], keep: (t: number) => boolean): number {
  let n = 0;
  for (const [t, p] of recent) if (keep(t)) n += p;
  return n;
}

/** The customer facts an order's rules see. */
export interface CustomerFacts {
  /** Orders recorded for the customer at this merchant before this one. */
  orders: number;
  /** The merchant's segments the customer is in, by id. */
  segments: string[];
  /** The customer's tier, when they hold one of the programme's tiers. */
  tier?: string;
}

/** The whole context of an order. */
export function orderContext(
  order: OrderFacts,
  customer: CustomerFacts,
  time: TimeFacts,
  usage: JsonObject,
): RuleContext {
  return {
    order: orderPart(order),
    customer: {
      orders: customer.orders,
      segments: [...customer.segments].sort(),
      ...(customer.tier === undefined ? {} : { tier: customer.tier }),
    },
    event: { ...ORDER_EVENT },
    time,
    usage,
  };
}

/** The earning rules among these (only they act on orders for now). */
export const earning = (rules: readonly RuleVersion[]) =>
  rules.filter((rv) => rv.rule.kind === "earn");

/** The awards of the earning rules over an order's context, and their sum. */
export function awardOrder(
  rules: readonly RuleVersion[],
  context: RuleContext,
): { awards: Award[]; points: number; report: RuleReport[] } {
  const { awards, report } = evaluateRules(earning(rules), context);
  let points = 0;
  for (const a of awards) points += a.points;
  if (!Number.isSafeInteger(points)) throw new RangeError("the order's points exceed 2^53 - 1");
  return { awards, points, report };
}

/** What `points` points cost at the programme's value, in minor units, rounded half up. */
export function pointsCost(points: number, valuePer100Points: number): number {
  const n = BigInt(points) * BigInt(valuePer100Points);
  return Number((2n * n + 100n) / 200n);
}

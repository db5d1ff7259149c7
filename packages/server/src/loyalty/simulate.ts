import {
  PointsEvaluator,
  RULE_ID,
  type RuleContext,
  RuleValidationError,
  type RuleVersion,
  ruleVersion,
  type SetPoints,
} from "@patron/rules";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import {
  earning,
  localDays,
  pointsCost,
  type RuleUsage,
  USAGE_MEMORY_MS,
  type UsageHistory,
  usedOn,
} from "./evaluation.js";
import { checkedDocument, invalidRule, type Rules } from "./rules.js";
import type { LoyaltyState } from "./state.js";

/**
 * Most orders one simulation evaluates (a million took 34 s on a loaded 2-core machine, the
 * event loop free between pages: docs/performance.md).
 */
export const MAX_SIMULATED_ORDERS = 1_000_000;
export const MAX_SIMULATED_RULES = 100;
/**
 * Orders read per query: the event loop runs other requests between two pages (a page is
 * evaluated in 50 to 100 ms here).
 */
const PAGE = 5000;

const RuleId = z.string().regex(RULE_ID, "must be a rule id");

export const SimulateInput = z.strictObject({
  rules: z
    .array(
      z.union([
        RuleId.describe("a rule's draft, or its version in force when it has no draft"),
        z.strictObject({ id: RuleId, document: z.record(z.string(), z.unknown()) }),
      ]),
    )
    .max(MAX_SIMULATED_RULES)
    .describe("the rule set to try: the whole set, compared with the set in force now"),
  from: z.iso.datetime({ offset: true }).describe("the window's start (inclusive)"),
  to: z.iso.datetime({ offset: true }).describe("its end (exclusive), not after now"),
});
export type SimulateInput = z.infer<typeof SimulateInput>;

export interface SetOutcome {
  /** Points the set gives the window's orders, in all. */
  points: number;
  /** What those points are worth at the programme's value, in minor units. */
  cost: number;
  /** Orders given points. */
  orders: number;
  /** Customers given points. */
  customers: number;
  /** Each rule: its version, points, orders given points, and evaluations that failed. */
  rules: { rule: string; version: number; points: number; orders: number; failed: number }[];
}

export interface SimulationReport {
  from: string;
  to: string;
  /** Orders recorded in the window, and their customers. */
  orders: number;
  customers: number;
  currency: string;
  valuePer100Points: number;
  /** The rule set tried. */
  draft: SetOutcome;
  /** The published set in force now, over the same orders. */
  published: SetOutcome;
  /** draft − published; `customers`: how many customers would get another total. */
  difference: { points: number; cost: number; customers: number };
}

/** Part of the window: [from, to) in ms, read on after a (recorded_at, entry_idx). */
interface Slice {
  from: number;
  to: number;
  after?: readonly [string, string];
}

interface OrderRow {
  customer_id: string;
  entry_idx: string | number;
  recorded_at: string | Date;
  context: unknown;
}

/** A customer's running totals in a simulation: points and caps' usage, by rule set. */
interface CustomerRun {
  /** Points each set gave them. */
  points: number[];
  /** Each set's usage of its capped rules (copied from the prior usage when first changed). */
  usage: (Map<string, { total: number; recent: [number, number][] }> | null)[];
}

/**
 * Rule sets run side by side over a window's orders, in log order: the points each set gives,
 * by rule and by customer, with the caps' usage counted for each set from the usage before the
 * window and then the set's own awards. What `awardOrder` gives over each order's context with
 * `usagePart` of the set's history, then `addUsage` (test/loyalty-simulate-fast.test.ts compares
 * them), but evaluated for points only: no recorded inputs or reports, one evaluation of the
 * rules the sets share up to their caps, and each customer's usage changed in place.
 */
export class SimulationRun {
  private readonly evaluator: PointsEvaluator;
  readonly customers = new Map<string, CustomerRun>();
  private readonly perRule: Map<string, SetOutcome["rules"][number]>[];
  private readonly totals: { points: number; orders: number }[];
  /** Each set's rules with a day, period or customer cap, by id. */
  private readonly capped: Map<string, RuleVersion>[];

  constructor(
    readonly sets: readonly (readonly RuleVersion[])[],
    private readonly prior: ReadonlyMap<string, UsageHistory>,
  ) {
    this.evaluator = new PointsEvaluator(sets.map(earning));
    this.perRule = sets.map(
      (rules) =>
        new Map(
          rules.map((rv) => [
            rv.id,
            { rule: rv.id, version: rv.version, points: 0, orders: 0, failed: 0 },
          ]),
        ),
    );
    this.totals = sets.map(() => ({ points: 0, orders: 0 }));
    this.capped = sets.map(
      (rules) =>
        new Map(
          earning(rules)
            .filter(({ rule: { caps } }) => {
              return (
                caps.day !== undefined || caps.period !== undefined || caps.customer !== undefined
              );
            })
            .map((rv) => [rv.id, rv]),
        ),
    );
  }

  /** One order: its customer, when it was recorded, and the context it was recorded with. */
  add(customerId: string, ms: number, context: RuleContext): void {
    let c = this.customers.get(customerId);
    if (c === undefined) {
      c = { points: this.sets.map(() => 0), usage: this.sets.map(() => null) };
      this.customers.set(customerId, c);
    }
    const customer = c;
    const prior = this.prior.get(customerId);
    const offset = Number((context.time as { offset?: unknown } | undefined)?.offset ?? 0);
    const today = localDays(ms, offset);
    const results = this.evaluator.evaluate(context, (set, rule, cap) => {
      const rv = this.capped[set]?.get(rule);
      if (rv === undefined) return 0;
      const u = (customer.usage[set] ?? prior)?.get(rule);
      if (u === undefined) return 0;
      const used = usedOn(u, cap, rv.rule.caps, today, offset);
      return used > 0 ? used : 0;
    });
    for (let set = 0; set < results.length; set++) {
      const r = results[set] as SetPoints;
      if (!Number.isSafeInteger(r.points))
        throw new RangeError("the order's points exceed 2^53 - 1");
      const perRule = this.perRule[set] as Map<string, SetOutcome["rules"][number]>;
      for (const id of r.failed) {
        const t = perRule.get(id);
        if (t) t.failed++;
      }
      const capped = this.capped[set] as Map<string, RuleVersion>;
      for (const a of r.awards) {
        if (a.points > 0) {
          const t = perRule.get(a.rule);
          if (t) {
            t.points += a.points;
            t.orders++;
          }
        }
        // Only capped rules' usage is ever read; awards of 0 add nothing to it.
        if (a.points !== 0 && capped.has(a.rule)) this.use(customer, set, prior, a, ms);
      }
      customer.points[set] = (customer.points[set] as number) + r.points;
      const totals = this.totals[set] as { points: number; orders: number };
      totals.points += r.points;
      if (r.points > 0) totals.orders++;
    }
  }

  /** Adds an award to the customer's usage in a set (as addUsage does). */
  private use(
    c: CustomerRun,
    set: number,
    prior: UsageHistory | undefined,
    a: { rule: string; points: number },
    ms: number,
  ): void {
    let usage = c.usage[set];
    if (!usage) {
      usage = new Map();
      for (const [id, u] of prior ?? []) {
        usage.set(id, { total: u.total, recent: u.recent.map(([t, p]) => [t, p]) });
      }
      c.usage[set] = usage;
    }
    let u = usage.get(a.rule);
    if (!u) {
      u = { total: 0, recent: [] };
      usage.set(a.rule, u);
    }
    u.total += a.points;
    // Awards older than USAGE_MEMORY_MS are never counted again (no day or calendar period of
    // a later order reaches them): dropped, as addUsage drops them.
    const oldest = ms - USAGE_MEMORY_MS;
    if (u.recent.length > 0 && (u.recent[0] as [number, number])[0] <= oldest) {
      u.recent = u.recent.filter(([t]) => t > oldest);
    }
    u.recent.push([ms, a.points]);
  }

  /** A set's outcome at the programme's point value. */
  outcome(set: number, valuePer100Points: number): SetOutcome {
    const t = this.totals[set] as { points: number; orders: number };
    let customers = 0;
    for (const c of this.customers.values()) if ((c.points[set] as number) > 0) customers++;
    return {
      points: t.points,
      cost: pointsCost(t.points, valuePer100Points),
      orders: t.orders,
      customers,
      rules: [...(this.perRule[set] as Map<string, SetOutcome["rules"][number]>).values()],
    };
  }

  /** Customers whose points differ between two sets. */
  differing(a: number, b: number): number {
    let n = 0;
    for (const c of this.customers.values()) if (c.points[a] !== c.points[b]) n++;
    return n;
  }
}

/**
 * Runs a rule set over the orders recorded in a past window, before it is published, and
 * compares it with the published set in force now over the same orders. Each order is
 * evaluated over the context it was recorded with (its amounts, items, customer facts and
 * local time), with the caps' usage counted again for each set: what the set's own rules would
 * have given the customer before, from the awards recorded before the window and then the
 * set's own awards in it. Nothing is written.
 */
export class Simulator {
  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly state: LoyaltyState,
    private readonly rules: Rules,
    /** Orders read per query (tests use small pages), and most orders one simulation runs over
     * (the benchmarks simulate a million). */
    private readonly limits: { pageSize?: number; maxOrders?: number } = {},
  ) {}

  async simulate(merchantId: string, input: SimulateInput): Promise<SimulationReport> {
    const from = Date.parse(input.from);
    const to = Date.parse(input.to);
    const now = this.clock.now();
    if (!(from < to)) throw new ApiError(400, "invalid_window", "`from` must be before `to`");
    if (to > now) {
      throw new ApiError(
        400,
        "invalid_window",
        "`to` must not be after now: a window of past orders",
      );
    }
    const { programme } = await this.state.programme(merchantId, false);
    const book = await this.state.book(merchantId, false);
    const draft: RuleVersion[] = [];
    for (const [n, item] of input.rules.entries()) {
      const id = typeof item === "string" ? item : item.id;
      if (draft.some((rv) => rv.id === id)) {
        throw new ApiError(400, "duplicate_rule", `rules.${n}: rule ${id} is in the set twice`);
      }
      const next = (book.get(id)?.latest ?? 0) + 1;
      if (typeof item !== "string") {
        const document = checkedDocument(item.document, `rules.${n}.document`);
        draft.push(versionOf(id, next, document, `rules.${n}.document`));
        continue;
      }
      const saved = await this.rules.draft(merchantId, id);
      const inForce = book.versionAt(id, now);
      if (saved) draft.push(versionOf(id, next, saved.document, `rules.${n}`));
      else if (inForce) draft.push(inForce);
      else {
        throw new ApiError(
          404,
          "not_found",
          `rules.${n}: rule ${id} has no draft and no version in force`,
        );
      }
    }
    const published = book.inForce(now);

    const window = [merchantId, new Date(from).toISOString(), new Date(to).toISOString()];
    const { rows: counted } = await this.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM loyalty_orders
       WHERE merchant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 AND context IS NOT NULL`,
      window,
    );
    const orders = Number(counted[0]?.n ?? 0);
    const max = this.limits.maxOrders ?? MAX_SIMULATED_ORDERS;
    if (orders > max) {
      throw new ApiError(
        400,
        "window_too_large",
        `the window holds ${orders} orders; a simulation evaluates at most ${max}`,
      );
    }
    const capped = [...draft, ...published]
      .filter((rv) => rv.rule.kind === "earn")
      .filter((rv) => {
        const caps = rv.rule.caps;
        return caps.day !== undefined || caps.period !== undefined || caps.customer !== undefined;
      })
      .map((rv) => rv.id);
    const prior = await priorUsage(this.db, merchantId, from, [...new Set(capped)]);
    const run = new SimulationRun([draft, published], prior);
    // In log order, a page at a time, by (recorded_at, entry_idx): the order of the index, and
    // that of the log, whose times never go backwards. Each page is read from a slice of the
    // window that should hold about a page of orders (from the count, then from what the last
    // slice held), so that whatever the plan (an index scan, or a bitmap scan and a sort when
    // the table's statistics are stale) a page reads only its slice; a slice with more orders
    // is read on by (recorded_at, entry_idx) after the page's last. The next page is asked for
    // before this one is evaluated, so that the database reads it meanwhile.
    const size = this.limits.pageSize ?? PAGE;
    const page = (slice: Slice): Promise<{ rows: OrderRow[] }> =>
      this.db.query<OrderRow>(
        `SELECT customer_id, entry_idx, recorded_at, context FROM loyalty_orders
         WHERE merchant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 AND context IS NOT NULL
           ${slice.after ? "AND (recorded_at, entry_idx) > ($4::timestamptz, $5::bigint)" : ""}
         ORDER BY recorded_at, entry_idx LIMIT ${size}`,
        [
          merchantId,
          new Date(slice.from).toISOString(),
          new Date(slice.to).toISOString(),
          ...(slice.after ?? []),
        ],
      );
    let step = Math.max(1, Math.floor(((to - from) * size) / Math.max(1, orders)));
    let slice: Slice = { from, to: Math.min(to, from + step) };
    let next: Promise<{ rows: OrderRow[] }> | null = page(slice);
    while (next !== null) {
      const rows: OrderRow[] = (await next).rows;
      const last: OrderRow | undefined = rows[rows.length - 1];
      if (last && rows.length === size) {
        // The slice holds more: read on in it, and make the next ones narrower.
        step = Math.max(1, Math.floor(step / 2));
        const at = [new Date(last.recorded_at).toISOString(), String(last.entry_idx)] as const;
        slice = { from: slice.from, to: slice.to, after: at };
      } else if (slice.to < to) {
        if (rows.length < size / 4) step = Math.min(to - from, step * 2);
        slice = { from: slice.to, to: Math.min(to, slice.to + step) };
      } else {
        slice = { from: to, to };
      }
      next = slice.from < slice.to ? page(slice) : null;
      // Not left unhandled while this page is evaluated; awaited (and thrown) above.
      next?.catch(() => {});
      for (const r of rows) {
        const context = (
          typeof r.context === "string" ? JSON.parse(r.context) : r.context
        ) as RuleContext;
        run.add(r.customer_id, new Date(r.recorded_at).getTime(), context);
      }
    }
    const value = programme.valuePer100Points;
    const a = run.outcome(0, value);
    const b = run.outcome(1, value);
    const differ = run.differing(0, 1);
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      orders,
      customers: run.customers.size,
      currency: programme.currency,
      valuePer100Points: value,
      draft: a,
      published: b,
      difference: { points: a.points - b.points, cost: a.cost - b.cost, customers: differ },
    };
  }
}

function versionOf(id: string, version: number, document: unknown, path: string): RuleVersion {
  try {
    return ruleVersion(id, version, document);
  } catch (err) {
    if (err instanceof RuleValidationError) throw invalidRule(err.errors, path);
    throw err;
  }
}

/** What capped rules gave each customer before the window: totals, and recent awards. */
async function priorUsage(
  db: Queryable,
  merchantId: string,
  from: number,
  ruleIds: string[],
): Promise<Map<string, UsageHistory>> {
  const out = new Map<string, Map<string, RuleUsage>>();
  if (ruleIds.length === 0) return out;
  const start = new Date(from).toISOString();
  const since = new Date(from - USAGE_MEMORY_MS).toISOString();
  const [totals, recent] = await Promise.all([
    db.query<{ customer_id: string; rule_id: string; total: string | number }>(
      `SELECT customer_id, rule_id, sum(points) AS total FROM loyalty_awards
       WHERE merchant_id = $1 AND recorded_at < $2 AND rule_id = ANY($3::text[])
       GROUP BY customer_id, rule_id`,
      [merchantId, start, ruleIds],
    ),
    db.query<{ customer_id: string; rule_id: string; points: string | number; recorded_at: Date }>(
      `SELECT customer_id, rule_id, points, recorded_at FROM loyalty_awards
       WHERE merchant_id = $1 AND recorded_at < $2 AND recorded_at > $3 AND rule_id = ANY($4::text[])
       ORDER BY entry_idx, ordinal`,
      [merchantId, start, since, ruleIds],
    ),
  ]);
  const of = (c: string) => {
    let m = out.get(c);
    if (!m) {
      m = new Map();
      out.set(c, m);
    }
    return m;
  };
  for (const r of totals.rows)
    of(r.customer_id).set(r.rule_id, { total: Number(r.total), recent: [] });
  for (const r of recent.rows) {
    const m = of(r.customer_id);
    const u = m.get(r.rule_id) ?? { total: 0, recent: [] };
    m.set(r.rule_id, {
      total: u.total,
      recent: [...u.recent, [new Date(r.recorded_at).getTime(), Number(r.points)]],
    });
  }
  return out;
}

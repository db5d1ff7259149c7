import {
  RULE_ID,
  type RuleContext,
  RuleValidationError,
  type RuleVersion,
  ruleVersion,
} from "@patron/rules";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import {
  addUsage,
  awardOrder,
  earning,
  pointsCost,
  type RuleUsage,
  USAGE_MEMORY_MS,
  type UsageHistory,
  usagePart,
} from "./evaluation.js";
import { checkedDocument, invalidRule, type Rules } from "./rules.js";
import type { LoyaltyState } from "./state.js";

/** Most orders one simulation evaluates. */
export const MAX_SIMULATED_ORDERS = 100_000;
export const MAX_SIMULATED_RULES = 100;
/** Orders read per query: the event loop runs other requests between two pages. */
const PAGE = 2000;

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

interface OrderRow {
  customer_id: string;
  entry_idx: string | number;
  recorded_at: string | Date;
  context: unknown;
}

/** Running totals of one rule set over the window. */
class Tally {
  readonly byCustomer = new Map<string, number>();
  readonly history = new Map<string, UsageHistory>();
  readonly perRule = new Map<string, SetOutcome["rules"][number]>();
  points = 0;
  orders = 0;

  constructor(
    readonly rules: RuleVersion[],
    prior: Map<string, UsageHistory>,
  ) {
    for (const [c, h] of prior) this.history.set(c, h);
    for (const rv of rules) {
      this.perRule.set(rv.id, {
        rule: rv.id,
        version: rv.version,
        points: 0,
        orders: 0,
        failed: 0,
      });
    }
  }

  add(customerId: string, ms: number, context: RuleContext): void {
    const history = this.history.get(customerId) ?? new Map();
    const offset = Number((context.time as { offset?: unknown } | undefined)?.offset ?? 0);
    const { awards, points, report } = awardOrder(this.rules, {
      ...context,
      usage: usagePart(earning(this.rules), history, ms, offset),
    });
    for (const r of report) {
      const t = this.perRule.get(r.rule);
      if (t && r.status === "failed") t.failed++;
    }
    for (const a of awards) {
      const t = this.perRule.get(a.rule);
      if (t && a.points > 0) {
        t.points += a.points;
        t.orders++;
      }
    }
    this.history.set(customerId, addUsage(history, awards, ms));
    this.byCustomer.set(customerId, (this.byCustomer.get(customerId) ?? 0) + points);
    this.points += points;
    if (points > 0) this.orders++;
  }

  outcome(valuePer100Points: number): SetOutcome {
    return {
      points: this.points,
      cost: pointsCost(this.points, valuePer100Points),
      orders: this.orders,
      customers: [...this.byCustomer.values()].filter((p) => p > 0).length,
      rules: [...this.perRule.values()],
    };
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
    const { rows: counted } = await this.db.query<{ n: string | number; c: string | number }>(
      `SELECT count(*) AS n, count(DISTINCT customer_id) AS c FROM loyalty_orders
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
    const tried = new Tally(draft, prior);
    const current = new Tally(published, prior);
    // In log order, a page at a time, by (recorded_at, entry_idx): the order of the index, and
    // that of the log, whose times never go backwards. (Paging by entry_idx alone made each page
    // read and sort every later order of the window.)
    let after: [string, string] | undefined;
    for (;;) {
      const { rows } = await this.db.query<OrderRow>(
        `SELECT customer_id, entry_idx, recorded_at, context FROM loyalty_orders
         WHERE merchant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 AND context IS NOT NULL
           ${after ? "AND (recorded_at, entry_idx) > ($4::timestamptz, $5::bigint)" : ""}
         ORDER BY recorded_at, entry_idx LIMIT ${this.limits.pageSize ?? PAGE}`,
        after ? [...window, ...after] : window,
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        const context = (
          typeof r.context === "string" ? JSON.parse(r.context) : r.context
        ) as RuleContext;
        const ms = new Date(r.recorded_at).getTime();
        tried.add(r.customer_id, ms, context);
        current.add(r.customer_id, ms, context);
      }
      const last = rows[rows.length - 1] as OrderRow;
      after = [new Date(last.recorded_at).toISOString(), String(last.entry_idx)];
    }
    const value = programme.valuePer100Points;
    const a = tried.outcome(value);
    const b = current.outcome(value);
    const customers = new Set([...tried.byCustomer.keys(), ...current.byCustomer.keys()]);
    let differ = 0;
    for (const c of customers) {
      if ((tried.byCustomer.get(c) ?? 0) !== (current.byCustomer.get(c) ?? 0)) differ++;
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      orders,
      customers: Number(counted[0]?.c ?? 0),
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

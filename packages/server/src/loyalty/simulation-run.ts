import {
  PointsEvaluator,
  type RuleContext,
  type RuleVersion,
  type SetPoints,
  type UsageOf,
} from "@patron/rules";
import {
  earning,
  localDays,
  pointsCost,
  USAGE_MEMORY_MS,
  type UsageHistory,
  usedOn,
} from "./evaluation.js";

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

  /** The order being added: what `usageOf` reads (one function for the run, not one per order). */
  private order: {
    customer: CustomerRun;
    prior: UsageHistory | undefined;
    today: number;
    offset: number;
  } = { customer: { points: [], usage: [] }, prior: undefined, today: 0, offset: 0 };

  /** A capped rule's usage by the order's customer in a set, before the order. */
  private readonly usageOf: UsageOf = (set, rule, cap) => {
    const rv = this.capped[set]?.get(rule);
    if (rv === undefined) return 0;
    const { customer, prior, today, offset } = this.order;
    const u = (customer.usage[set] ?? prior)?.get(rule);
    if (u === undefined) return 0;
    const used = usedOn(u, cap, rv.rule.caps, today, offset);
    return used > 0 ? used : 0;
  };

  /** One order: its customer, when it was recorded, and the context it was recorded with. */
  add(customerId: string, ms: number, context: RuleContext): void {
    let customer = this.customers.get(customerId);
    if (customer === undefined) {
      customer = { points: this.sets.map(() => 0), usage: this.sets.map(() => null) };
      this.customers.set(customerId, customer);
    }
    const prior = this.prior.get(customerId);
    const offset = Number((context.time as { offset?: unknown } | undefined)?.offset ?? 0);
    const o = this.order;
    o.customer = customer;
    o.prior = prior;
    o.today = localDays(ms, offset);
    o.offset = offset;
    const results = this.evaluator.evaluate(context, this.usageOf);
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
    return setOutcome(this.summary().sets[set] as SetTotals, valuePer100Points);
  }

  /** Customers whose points differ between two sets. */
  differing(a: number, b: number): number {
    let n = 0;
    for (const c of this.customers.values()) if (c.points[a] !== c.points[b]) n++;
    return n;
  }

  /** What the run found, as sums: runs over disjoint sets of customers add up (`addTotals`). */
  summary(): RunTotals {
    return {
      customers: this.customers.size,
      sets: this.sets.map((_, set) => {
        const t = this.totals[set] as { points: number; orders: number };
        let customers = 0;
        for (const c of this.customers.values()) if ((c.points[set] as number) > 0) customers++;
        return {
          points: t.points,
          orders: t.orders,
          customers,
          rules: [...(this.perRule[set] as Map<string, SetOutcome["rules"][number]>).values()].map(
            (r) => ({ ...r }),
          ),
        };
      }),
      differing: this.sets.length === 2 ? this.differing(0, 1) : 0,
    };
  }
}

/** One set's sums over a run's customers. */
export type SetTotals = Omit<SetOutcome, "cost">;

/** A run's sums: its customers, each set's, and the customers whose points differ by set. */
export interface RunTotals {
  customers: number;
  sets: SetTotals[];
  /** Customers the two sets give different points (0 unless there are two). */
  differing: number;
}

/**
 * The totals of runs over disjoint sets of customers, as one run over all of them would give
 * them: nothing a set counts for one customer depends on another's orders.
 */
export function addTotals(parts: readonly RunTotals[]): RunTotals {
  const [first, ...rest] = parts;
  if (first === undefined) throw new TypeError("no totals to add");
  const sum: RunTotals = structuredClone(first);
  for (const p of rest) {
    sum.customers += p.customers;
    sum.differing += p.differing;
    p.sets.forEach((s, i) => {
      const t = sum.sets[i] as SetTotals;
      t.points += s.points;
      t.orders += s.orders;
      t.customers += s.customers;
      s.rules.forEach((r, j) => {
        const into = t.rules[j] as SetTotals["rules"][number];
        if (into.rule !== r.rule) throw new TypeError("totals of different rule sets");
        into.points += r.points;
        into.orders += r.orders;
        into.failed += r.failed;
      });
    });
  }
  return sum;
}

/** A set's outcome from its totals, at the programme's point value. */
export function setOutcome(t: SetTotals, valuePer100Points: number): SetOutcome {
  return {
    points: t.points,
    cost: pointsCost(t.points, valuePer100Points),
    orders: t.orders,
    customers: t.customers,
    rules: t.rules,
  };
}

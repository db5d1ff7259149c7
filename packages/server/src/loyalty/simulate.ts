import { availableParallelism } from "node:os";
import { RULE_ID, RuleValidationError, type RuleVersion, ruleVersion } from "@patron/rules";
import { z } from "zod";
import type { DatabaseAddress, Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import { checkedDocument, invalidRule, type Rules } from "./rules.js";
import { type SetOutcome, type SetTotals, setOutcome } from "./simulation-run.js";
import { simulateInThreads } from "./simulation-threads.js";
import { simulateWindow, type WindowJob } from "./simulation-window.js";
import type { LoyaltyState } from "./state.js";

/**
 * Most orders one simulation evaluates (a million took 16 to 26 s on two threads of a loaded
 * 2-core machine, the event loop free meanwhile: docs/performance.md).
 */
export const MAX_SIMULATED_ORDERS = 1_000_000;
export const MAX_SIMULATED_RULES = 100;
/**
 * Orders read per query: the event loop runs other requests between two pages (a page is
 * evaluated in 50 to 100 ms here).
 */
const PAGE = 5000;

/**
 * The fewest orders a simulation starts threads for: a thread takes a good part of a second to
 * load its modules from source, 0.1 s from the build, and reads its orders at tens of thousands
 * a second.
 */
const PARALLEL_FROM = 50_000;
/** Most threads one simulation runs on (each with a connection of its own). */
const MAX_THREADS = 4;

export interface SimulatorLimits {
  pageSize?: number;
  maxOrders?: number;
  /** Threads (default: the cores, at most MAX_THREADS); used on PostgreSQL only. */
  threads?: number;
  /** The fewest orders threads are started for (default PARALLEL_FROM). */
  parallelFrom?: number;
}

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

export type { SetOutcome } from "./simulation-run.js";

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
    /** With a PostgreSQL server's address, threads can open connections of their own. */
    private readonly db: Queryable & { readonly address?: DatabaseAddress },
    private readonly clock: Clock,
    private readonly state: LoyaltyState,
    private readonly rules: Rules,
    /** Orders read per query (tests use small pages), most orders one simulation runs over
     * (the benchmarks simulate a million), threads to run it on and the fewest orders worth
     * starting them for. */
    private readonly limits: SimulatorLimits = {},
  ) {}

  /** Threads to simulate a window of `orders` on: one below PARALLEL_FROM, or without a server. */
  private threadsFor(orders: number): number {
    const threads = this.limits.threads ?? Math.min(MAX_THREADS, availableParallelism());
    return orders >= (this.limits.parallelFrom ?? PARALLEL_FROM) ? Math.max(1, threads) : 1;
  }

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
    const job: WindowJob = {
      merchantId,
      from,
      to,
      orders,
      pageSize: this.limits.pageSize ?? PAGE,
      sets: [draft, published].map((set) =>
        set.map(({ id, version, document }) => ({ id, version, document })),
      ),
    };
    const threads = this.threadsFor(orders);
    const address = this.db.address;
    const totals =
      threads > 1 && address !== undefined
        ? await simulateInThreads(address, job, threads)
        : await simulateWindow(this.db, job);
    const value = programme.valuePer100Points;
    const a = setOutcome(totals.sets[0] as SetTotals, value);
    const b = setOutcome(totals.sets[1] as SetTotals, value);
    const differ = totals.differing;
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      orders,
      customers: totals.customers,
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

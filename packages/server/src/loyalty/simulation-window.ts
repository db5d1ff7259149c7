import {
  contextFields,
  contextNarrower,
  type RuleContext,
  type RuleVersion,
  ruleVersion,
} from "@patron/rules";
import type { Queryable } from "../db/database.js";
import { earning, type RuleUsage, USAGE_MEMORY_MS, type UsageHistory } from "./evaluation.js";
import { type RunTotals, SimulationRun } from "./simulation-run.js";

/**
 * One simulation's work over a window, or over one part of its customers: everything a worker
 * thread needs to do it with a connection of its own (plain data, as a thread receives it).
 */
export interface WindowJob {
  merchantId: string;
  /** [from, to) in ms. */
  from: number;
  to: number;
  /** Orders in the whole window, by the count made before (sizes the slices). */
  orders: number;
  pageSize: number;
  /** The rule sets run side by side (draft, published), as id, version and document. */
  sets: { id: string; version: number; document: unknown }[][];
  /**
   * Only the customers of one part of `of` (by a hash of their id); absent, all of them. Each
   * customer's orders are all in one part, and nothing a set counts for one customer depends on
   * another's orders, so the parts' totals add up to the whole window's.
   */
  part?: { index: number; of: number };
}

/** Part of the window: [from, to) in ms, read on after a (recorded_at, entry_idx). */
interface Slice {
  from: number;
  to: number;
  after?: readonly [string, string];
}

/** An order's row: its customer, when it was recorded and its log index (ms, float8), and its
 * context as the text the node wrote. */
interface OrderRow {
  customer_id: string;
  ms: number | string;
  idx: number | string;
  context: string;
}

/** The rule sets of a job, as rule versions. */
export function jobSets(job: WindowJob): RuleVersion[][] {
  return job.sets.map((set) => set.map((r) => ruleVersion(r.id, r.version, r.document)));
}

/**
 * Runs the job's rule sets over its orders, in log order, a page at a time, and sums what they
 * give (SimulationRun). Only the context fields the sets' rules can read are read and decoded
 * (`contextFields`), each as it was recorded; the whole context when a rule's reads are not
 * known before evaluating it.
 */
export async function simulateWindow(db: Queryable, job: WindowJob): Promise<RunTotals> {
  const sets = jobSets(job);
  const capped = sets
    .flatMap((rules) => earning(rules))
    .filter(({ rule: { caps } }) => {
      return caps.day !== undefined || caps.period !== undefined || caps.customer !== undefined;
    })
    .map((rv) => rv.id);
  const prior = await priorUsage(db, job, [...new Set(capped)]);
  const run = new SimulationRun(sets, prior);
  const read = contextReader(contextFields(sets.flatMap((rules) => earning(rules))));
  for await (const rows of pages(db, job)) {
    for (const r of rows) run.add(r.customer_id, Number(r.ms), read(r.context));
  }
  return run.summary();
}

/**
 * The context an order's stored text makes, narrowed to the fields the rules read (`fields`;
 * null: whole), each as it was recorded (`contextNarrower`): the evaluator checks what it is
 * given, and a field no rule reads would not change a result.
 */
function contextReader(fields: string[] | null): (text: string) => RuleContext {
  // The simulation reads time.offset itself (the customer's day for the caps' usage).
  const narrow = contextNarrower(fields === null ? null : [...new Set([...fields, "time.offset"])]);
  return (text) => narrow(JSON.parse(text) as RuleContext);
}

/** The job's customers' condition on `customer_id`, from parameter `$n` on (none for all). */
function partOf(job: WindowJob, n: number): { sql: string; params: number[] } {
  if (job.part === undefined) return { sql: "", params: [] };
  return {
    sql: `AND (hashtext(customer_id) & 2147483647) % $${n} = $${n + 1}`,
    params: [job.part.of, job.part.index],
  };
}

/**
 * The job's orders, a page at a time, by (recorded_at, entry_idx): the order of the index, and
 * that of the log, whose times never go backwards. Each page is read from a slice of the window
 * that should hold about a page of orders (from the count, then from what the last slice held),
 * so that whatever the plan (an index scan, or a bitmap scan and a sort when the table's
 * statistics are stale) a page reads only its slice; a slice with more orders is read on by
 * (recorded_at, entry_idx) after the page's last. The next page is asked for before this one is
 * given out, so that the database reads it while this one is evaluated.
 */
async function* pages(db: Queryable, job: WindowJob): AsyncGenerator<OrderRow[]> {
  const { from, to, pageSize: size } = job;
  const part = partOf(job, 4);
  const page = (slice: Slice): Promise<{ rows: OrderRow[] }> => {
    const after = 4 + part.params.length;
    return db.query<OrderRow>(
      // The time in ms as the log wrote it (a JavaScript Date's): a double's seconds are within
      // 0.25 µs of it, so the floor of their thousands, half a µs up, is exact. Cheaper for the
      // server than formatting the timestamp, and for the node than parsing it.
      `SELECT customer_id, floor(date_part('epoch', recorded_at) * 1000 + 0.0005) AS ms,
         entry_idx::float8 AS idx, context::text AS context
       FROM loyalty_orders
       WHERE merchant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 AND context IS NOT NULL
         ${part.sql}
         ${slice.after ? `AND (recorded_at, entry_idx) > ($${after}::timestamptz, $${after + 1}::bigint)` : ""}
       ORDER BY recorded_at, entry_idx LIMIT ${size}`,
      [
        job.merchantId,
        new Date(slice.from).toISOString(),
        new Date(slice.to).toISOString(),
        ...part.params,
        ...(slice.after ?? []),
      ],
    );
  };
  const expected = Math.max(1, job.orders / (job.part?.of ?? 1));
  let step = Math.max(1, Math.floor(((to - from) * size) / expected));
  let slice: Slice = { from, to: Math.min(to, from + step) };
  let next: Promise<{ rows: OrderRow[] }> | null = page(slice);
  while (next !== null) {
    const rows: OrderRow[] = (await next).rows;
    const last: OrderRow | undefined = rows[rows.length - 1];
    if (last && rows.length === size) {
      // The slice holds more: read on in it, and make the next ones narrower.
      step = Math.max(1, Math.floor(step / 2));
      const at = new Date(Number(last.ms)).toISOString();
      slice = { from: slice.from, to: slice.to, after: [at, String(last.idx)] };
    } else if (slice.to < to) {
      if (rows.length < size / 4) step = Math.min(to - from, step * 2);
      slice = { from: slice.to, to: Math.min(to, slice.to + step) };
    } else {
      slice = { from: to, to };
    }
    next = slice.from < slice.to ? page(slice) : null;
    // Not left unhandled while this page is evaluated; awaited (and thrown) above.
    next?.catch(() => {});
    yield rows;
  }
}

/** What capped rules gave the job's customers before the window: totals, and recent awards. */
async function priorUsage(
  db: Queryable,
  job: WindowJob,
  ruleIds: string[],
): Promise<Map<string, UsageHistory>> {
  const out = new Map<string, Map<string, RuleUsage>>();
  if (ruleIds.length === 0) return out;
  const start = new Date(job.from).toISOString();
  const since = new Date(job.from - USAGE_MEMORY_MS).toISOString();
  const totalsPart = partOf(job, 4);
  const recentPart = partOf(job, 5);
  const [totals, recent] = await Promise.all([
    db.query<{ customer_id: string; rule_id: string; total: string | number }>(
      `SELECT customer_id, rule_id, sum(points) AS total FROM loyalty_awards
       WHERE merchant_id = $1 AND recorded_at < $2 AND rule_id = ANY($3::text[]) ${totalsPart.sql}
       GROUP BY customer_id, rule_id`,
      [job.merchantId, start, ruleIds, ...totalsPart.params],
    ),
    db.query<{ customer_id: string; rule_id: string; points: string | number; recorded_at: Date }>(
      `SELECT customer_id, rule_id, points, recorded_at FROM loyalty_awards
       WHERE merchant_id = $1 AND recorded_at < $2 AND recorded_at > $3 AND rule_id = ANY($4::text[])
         ${recentPart.sql}
       ORDER BY entry_idx, ordinal`,
      [job.merchantId, start, since, ruleIds, ...recentPart.params],
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

import type { Queryable } from "../db/database.js";
import { pointsCost } from "./evaluation.js";
import type { Programme } from "./programme.js";

/**
 * Read-only views of a merchant's points for the console: its members (customers with lots)
 * with their balances, and its liability (the points outstanding, at their value, by the month
 * they expire). Both compute availability from the time as `customerPoints` does, so they agree
 * with `GET /v1/customers/{id}/points` at any instant.
 */

export interface MemberRow {
  customerId: string;
  /** The available points. */
  balance: number;
  pending: number;
  debt: number;
  /** Lots with points left. */
  lots: number;
  /** When the customer's latest lot was made. */
  lastAwardedAt: string;
}

export interface MembersPage {
  members: MemberRow[];
  /** The cursor of the next page: the latest lot's entry index of the last member listed. */
  next: string | null;
}

const iso = (v: string | Date) => new Date(v).toISOString();

/**
 * The merchant's members, the most recently awarded first: every customer who was ever given a
 * lot, with the points they hold at `now`, their debt and their lots with points left.
 */
export async function listMembers(
  db: Queryable,
  merchantId: string,
  now: number,
  opts: { limit: number; before?: bigint },
): Promise<MembersPage> {
  const at = new Date(now).toISOString();
  const params: unknown[] = [merchantId, at, opts.limit + 1];
  if (opts.before !== undefined) params.push(opts.before.toString());
  const { rows } = await db.query<{
    customer_id: string;
    available: string | number;
    pending: string | number;
    lots: string | number;
    last_idx: string | number;
    last_at: string | Date;
    debt: string | number | null;
  }>(
    `SELECT m.customer_id, m.available, m.pending, m.lots, m.last_idx, m.last_at, d.debt
     FROM (
       SELECT customer_id,
         coalesce(sum(remaining) FILTER (WHERE available_at <= $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS pending,
         count(*) FILTER (WHERE remaining > 0 AND (expires_at IS NULL OR expires_at > $2)) AS lots,
         max(entry_idx) AS last_idx,
         max(created_at) AS last_at
       FROM loyalty_lots WHERE merchant_id = $1
       GROUP BY customer_id
       ${opts.before === undefined ? "" : "HAVING max(entry_idx) < $4"}
     ) m
     LEFT JOIN loyalty_debts d ON d.merchant_id = $1 AND d.customer_id = m.customer_id
     ORDER BY m.last_idx DESC
     LIMIT $3`,
    params,
  );
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return {
    members: page.map((r) => ({
      customerId: r.customer_id,
      balance: Number(r.available),
      pending: Number(r.pending),
      debt: Number(r.debt ?? 0),
      lots: Number(r.lots),
      lastAwardedAt: iso(r.last_at),
    })),
    next: rows.length > opts.limit && last ? String(last.last_idx) : null,
  };
}

export interface LiabilityRow {
  /** `YYYY-MM` in the programme's time zone; null: the lots that do not expire. */
  month: string | null;
  points: number;
  available: number;
  pending: number;
  /** The points' value at the programme's point value, in minor units. */
  value: number;
  lots: number;
}

export interface Liability {
  asOf: string;
  pointName: string;
  currency: string;
  valuePer100Points: number;
  timeZone: string;
  total: Omit<LiabilityRow, "month"> & { customers: number };
  /** Points customers owe (refunds after the points were spent), not in the total. */
  debt: { points: number; value: number; customers: number };
  /** By expiry month, the soonest first; the lots without expiry last. */
  months: LiabilityRow[];
}

const monthFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM` of the instant `ms` in `timeZone`. */
export function monthIn(timeZone: string, ms: number): string {
  let f = monthFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit" });
    monthFormats.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const year = parts.find((p) => p.type === "year")?.value;
  const month = parts.find((p) => p.type === "month")?.value;
  return `${year}-${month}`;
}

/**
 * The points outstanding at `now` (every lot with points left, pending or available), at the
 * programme's point value, by the month their lots expire in the programme's time zone.
 */
export async function liability(
  db: Queryable,
  merchantId: string,
  now: number,
  programme: Programme,
): Promise<Liability> {
  const at = new Date(now).toISOString();
  // Grouped by the instant of expiry in SQL (few distinct ones), by month here: the month is
  // taken in the programme's time zone with the node's time zone data, as orders are evaluated.
  const [byExpiry, customers, debts] = await Promise.all([
    db.query<{
      expires_at: string | Date | null;
      available: string | number;
      pending: string | number;
      lots: string | number;
    }>(
      `SELECT expires_at,
         coalesce(sum(remaining) FILTER (WHERE available_at <= $2), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $2), 0) AS pending,
         count(*) AS lots
       FROM loyalty_lots WHERE merchant_id = $1 AND remaining > 0
         AND (expires_at IS NULL OR expires_at > $2)
       GROUP BY expires_at`,
      [merchantId, at],
    ),
    db.query<{ n: string | number }>(
      `SELECT count(DISTINCT customer_id) AS n FROM loyalty_lots
       WHERE merchant_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)`,
      [merchantId, at],
    ),
    db.query<{ points: string | number; n: string | number }>(
      `SELECT coalesce(sum(debt), 0) AS points, count(*) FILTER (WHERE debt > 0) AS n
       FROM loyalty_debts WHERE merchant_id = $1`,
      [merchantId],
    ),
  ]);
  const value = (points: number) => pointsCost(points, programme.valuePer100Points);
  const months = new Map<string | null, Omit<LiabilityRow, "value">>();
  for (const r of byExpiry.rows) {
    const month =
      r.expires_at === null ? null : monthIn(programme.timeZone, Date.parse(iso(r.expires_at)));
    const row = months.get(month) ?? { month, points: 0, available: 0, pending: 0, lots: 0 };
    row.available += Number(r.available);
    row.pending += Number(r.pending);
    row.points = row.available + row.pending;
    row.lots += Number(r.lots);
    months.set(month, row);
  }
  const rows = [...months.values()]
    .sort((a, b) =>
      a.month === b.month
        ? 0
        : a.month === null
          ? 1
          : b.month === null
            ? -1
            : a.month < b.month
              ? -1
              : 1,
    )
    .map((r) => ({ ...r, value: value(r.points) }));
  const sum = (k: "points" | "available" | "pending" | "lots") =>
    rows.reduce((s, r) => s + r[k], 0);
  const debt = debts.rows[0];
  return {
    asOf: at,
    pointName: programme.pointName,
    currency: programme.currency,
    valuePer100Points: programme.valuePer100Points,
    timeZone: programme.timeZone,
    total: {
      points: sum("points"),
      available: sum("available"),
      pending: sum("pending"),
      // The total's value is that of the total, not a sum of rounded rows.
      value: value(sum("points")),
      lots: sum("lots"),
      customers: Number(customers.rows[0]?.n ?? 0),
    },
    debt: {
      points: Number(debt?.points ?? 0),
      value: value(Number(debt?.points ?? 0)),
      customers: Number(debt?.n ?? 0),
    },
    months: rows,
  };
}

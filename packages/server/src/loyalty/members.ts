import type { Queryable } from "../db/database.js";
import { DAY_MS, pointsCost } from "./evaluation.js";
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
  // The page's members from loyalty_members (kept in order by the projections), then their
  // figures at `now` from their own lots: exact at any instant, and a page's lots are few.
  const { rows } = await db.query<{
    customer_id: string;
    available: string | number;
    pending: string | number;
    lots: string | number;
    last_idx: string | number;
    last_at: string | Date;
    debt: string | number | null;
  }>(
    `SELECT m.customer_id, s.available, s.pending, s.lots, m.last_idx, m.last_at, d.debt
     FROM (
       SELECT customer_id, last_idx, last_at FROM loyalty_members
       WHERE merchant_id = $1 ${opts.before === undefined ? "" : "AND last_idx < $4"}
       ORDER BY last_idx DESC
       LIMIT $3
     ) m
     CROSS JOIN LATERAL (
       SELECT
         coalesce(sum(remaining) FILTER (WHERE available_at <= $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS pending,
         count(*) FILTER (WHERE expires_at IS NULL OR expires_at > $2) AS lots
       FROM loyalty_lots l
       WHERE l.merchant_id = $1 AND l.customer_id = m.customer_id AND l.remaining > 0
     ) s
     LEFT JOIN loyalty_debts d ON d.merchant_id = $1 AND d.customer_id = m.customer_id
     ORDER BY m.last_idx DESC`,
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

const QUARTER_HOUR_MS = 900_000;

/**
 * The expiry bin `ms` falls in, as loyalty_expiry_bin (migration 26) computes it: its UTC day,
 * or its quarter hour on the first and the last UTC day of a month.
 */
export function expiryBin(ms: number): { start: number; end: number } {
  const d = new Date(ms);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const width = d.getUTCDate() === 1 || d.getUTCDate() === last ? QUARTER_HOUR_MS : DAY_MS;
  const start = Math.floor(ms / width) * width;
  return { start, end: start + width };
}

const utcMonth = (ms: number) => new Date(ms).toISOString().slice(0, 7);
const monthStarts = new Map<string, number>();

/**
 * The first quarter hour of the month that starts, in UTC, at `firstOfMonth`, in `timeZone`:
 * found once by bisection over the quarter hours of the day either side (no UTC offset reaches
 * a day), as monthIn says.
 */
export function monthStartIn(timeZone: string, firstOfMonth: number): number {
  const key = `${timeZone} ${firstOfMonth}`;
  let at = monthStarts.get(key);
  if (at === undefined) {
    const month = utcMonth(firstOfMonth);
    let lo = (firstOfMonth - DAY_MS) / QUARTER_HOUR_MS;
    let hi = (firstOfMonth + DAY_MS) / QUARTER_HOUR_MS;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (monthIn(timeZone, mid * QUARTER_HOUR_MS) >= month) hi = mid;
      else lo = mid + 1;
    }
    at = lo * QUARTER_HOUR_MS;
    if (monthStarts.size > 10_000) monthStarts.clear();
    monthStarts.set(key, at);
  }
  return at;
}

/** The UTC first of the month `ms` is in, `months` months on. */
const firstOfMonth = (ms: number, months = 0) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
};

/**
 * The month, in `timeZone`, of the expiry bin starting at `start` (all its instants are in it):
 * a day's bin is in its UTC month in every time zone; a quarter hour's, on the days around a
 * month's start, is before or after the instant that month starts in `timeZone`.
 */
export function binMonth(timeZone: string, start: number): string {
  const day = new Date(start).getUTCDate();
  if (day !== 1 && expiryBin(start).end - start === DAY_MS) return utcMonth(start);
  const next = firstOfMonth(start, day === 1 ? 0 : 1);
  return start >= monthStartIn(timeZone, next) ? utcMonth(next) : utcMonth(next - DAY_MS);
}

/**
 * The instants the months from `from` to `to` start in `timeZone`, ascending, and the month of
 * each bucket `width_bucket` gives over them (bucket 0: the month before the first).
 */
function monthBuckets(timeZone: string, from: number, to: number) {
  const starts: number[] = [];
  const labels: string[] = [utcMonth(firstOfMonth(from, -1))];
  for (let f = firstOfMonth(from); f <= firstOfMonth(to, 1); f = firstOfMonth(f, 1)) {
    starts.push(monthStartIn(timeZone, f));
    labels.push(utcMonth(f));
  }
  return { starts, labels };
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
  // The maintained rows answer for every bin wholly after `now` and every day of availability
  // but today's; the lots of the bin `now` is in that have not expired, and those becoming
  // available today, are read themselves, so the figures are exact at any instant.
  const bin = expiryBin(now);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const binMs = `CASE WHEN expires_bin = 'infinity' THEN NULL
    ELSE (extract(epoch FROM expires_bin) * 1000)::bigint END AS bin_ms`;
  type BinRow = {
    bin_ms: string | number | bigint | null;
    available: string | number | bigint;
    pending: string | number | bigint;
    lots: string | number | bigint;
  };
  const binnedRows = async () => {
    // Bins are grouped by month in SQL: the instants the months start in the programme's time
    // zone (computed here, with the node's time zone data) between the first and last bin.
    const range = await db.query<{
      first: string | number | bigint;
      last: string | number | bigint;
    }>(
      `SELECT (extract(epoch FROM min(expires_bin)) * 1000)::bigint AS first,
         (extract(epoch FROM max(expires_bin)) * 1000)::bigint AS last
       FROM loyalty_liability
       WHERE merchant_id = $1 AND expires_bin > $2 AND expires_bin < 'infinity'`,
      [merchantId, at],
    );
    const r = range.rows[0];
    const { starts, labels } =
      r?.first === null || r?.first === undefined
        ? { starts: [now], labels: [] }
        : monthBuckets(programme.timeZone, Number(r.first), Number(r.last));
    const { rows } = await db.query<{
      bucket: string | number | bigint;
      available: string | number | bigint;
      pending: string | number | bigint;
      lots: string | number | bigint;
    }>(
      `SELECT CASE WHEN expires_bin = 'infinity' THEN -1
           ELSE width_bucket(expires_bin, $4::timestamptz[]) END AS bucket,
         coalesce(sum(points) FILTER (WHERE available_day < $3), 0) AS available,
         coalesce(sum(points) FILTER (WHERE available_day > $3), 0) AS pending,
         coalesce(sum(lots), 0) AS lots
       FROM loyalty_liability
       WHERE merchant_id = $1 AND expires_bin > $2 AND available_day <> $3
       GROUP BY 1`,
      [
        merchantId,
        at,
        new Date(today).toISOString(),
        starts.map((ms) => new Date(ms).toISOString()),
      ],
    );
    return rows.map((x) => ({
      month: Number(x.bucket) === -1 ? null : (labels[Number(x.bucket)] as string),
      available: x.available,
      pending: x.pending,
      lots: x.lots,
    }));
  };
  const [binned, exact, customers, debts] = await Promise.all([
    binnedRows(),
    db.query<BinRow>(
      `SELECT ${binMs}, available, pending, lots FROM (
         SELECT loyalty_expiry_bin(expires_at) AS expires_bin,
           coalesce(sum(remaining) FILTER (WHERE available_at <= $2), 0) AS available,
           coalesce(sum(remaining) FILTER (WHERE available_at > $2), 0) AS pending,
           count(*) AS lots
         FROM loyalty_lots
         WHERE merchant_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)
           AND (expires_at < $3 OR (available_at >= $4 AND available_at < $5))
         GROUP BY 1
       ) x`,
      [
        merchantId,
        at,
        new Date(bin.end).toISOString(),
        new Date(today).toISOString(),
        new Date(today + DAY_MS).toISOString(),
      ],
    ),
    // Customers whose latest expiry is in the current bin, after now, have a lot expiring then:
    // found from those lots, the few left in that bin.
    db.query<{ n: string | number | bigint }>(
      `SELECT (SELECT coalesce(sum(customers), 0) FROM loyalty_liability_customers
           WHERE merchant_id = $1 AND expires_bin > $2)
         + (SELECT count(*) FROM loyalty_members
           WHERE merchant_id = $1 AND live_until > $2 AND live_until < $3
             AND customer_id IN (
               SELECT customer_id FROM loyalty_lots
               WHERE merchant_id = $1 AND remaining > 0 AND expires_at > $2 AND expires_at < $3
             )) AS n`,
      [merchantId, at, new Date(bin.end).toISOString()],
    ),
    db.query<{ points: string | number; n: string | number }>(
      `SELECT coalesce(sum(debt), 0) AS points, count(*) FILTER (WHERE debt > 0) AS n
       FROM loyalty_debts WHERE merchant_id = $1`,
      [merchantId],
    ),
  ]);
  const value = (points: number) => pointsCost(points, programme.valuePer100Points);
  const months = new Map<string | null, Omit<LiabilityRow, "value">>();
  const exactRows = exact.rows.map((r) => ({
    ...r,
    month: r.bin_ms === null ? null : binMonth(programme.timeZone, Number(r.bin_ms)),
  }));
  for (const r of [...binned, ...exactRows]) {
    const month = r.month;
    const row = months.get(month) ?? { month, points: 0, available: 0, pending: 0, lots: 0 };
    row.available += Number(r.available);
    row.pending += Number(r.pending);
    row.points = row.available + row.pending;
    row.lots += Number(r.lots);
    months.set(month, row);
  }
  const rows = [...months.values()]
    .filter((r) => r.lots > 0)
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

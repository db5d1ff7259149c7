import type { Queryable, Statement } from "../db/database.js";
import type { CommittedEntry } from "../ledger/sequencer.js";
import {
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  ADJUSTMENT_REQUESTED,
  POINTS_ADJUSTED,
  type PointsAdjustedPayload,
} from "./adjustment-entries.js";
import {
  ORDER_RECORDED,
  ORDER_REFUNDED,
  POINTS_AWARDED,
  type PointsAwardedPayload,
} from "./entries.js";
import { loyaltyViewsFill } from "./migrations.js";
import { POINTS_RECEIVED, type PointsReceivedPayload } from "./transfer-entries.js";

/**
 * The members and liability views (migration 26) follow every change of loyalty_lots in the
 * transaction that makes it, so the console reads a few rows instead of all of a merchant's lots.
 *
 * A change of a lot's points or expiry adds its difference to loyalty_liability in the same
 * statement (a data-modifying WITH: the lot's bins and whether it still has points left come from
 * the row itself). A batch's new lots are added by one statement at its end, and so is each
 * touched customer's latest expiry (loyalty_members.live_until) with the count of customers by
 * its bin: sums of differences do not depend on their order, so the rows come out the same
 * whatever the batches, live or in a rebuild; rows that fall to nothing are deleted.
 */

export const LOT_VIEW_TABLES = [
  "loyalty_members",
  "loyalty_liability",
  "loyalty_liability_customers",
] as const;

const ADD_TO_LIABILITY = `ON CONFLICT (merchant_id, expires_bin, available_day) DO UPDATE
  SET points = loyalty_liability.points + excluded.points,
    lots = loyalty_liability.lots + excluded.lots`;

/** `by` points more (fewer, when negative) in lot `lot`, and in the liability. */
export const lotRemainingChange = (lot: number | bigint, by: number): Statement => ({
  sql: `WITH l AS (
     UPDATE loyalty_lots SET remaining = remaining + $2::bigint WHERE entry_idx = $1
     RETURNING merchant_id, expires_at, available_at, remaining
   )
   INSERT INTO loyalty_liability (merchant_id, expires_bin, available_day, points, lots)
   SELECT merchant_id, loyalty_expiry_bin(expires_at), loyalty_available_day(available_at),
     $2::bigint, (remaining > 0)::int - (remaining - $2::bigint > 0)::int
   FROM l
   ${ADD_TO_LIABILITY}`,
  params: [String(lot), String(by)],
});

/**
 * An order under the `inactivity` policy: the customer's lots before it with points left that
 * have not expired at `time` now expire at the sooner of their own expiry and `until`; their
 * points move to the liability's bin of the new expiry.
 */
export const lotRenewal = (
  merchantId: string,
  customerId: string,
  until: string,
  idx: string,
  time: string,
): Statement => ({
  sql: `WITH r AS (
     UPDATE loyalty_lots l SET expires_at = CASE
       WHEN l.fixed_expires_at IS NOT NULL AND l.fixed_expires_at < $3 THEN l.fixed_expires_at
       ELSE $3::timestamptz END
     FROM loyalty_lots prev
     WHERE prev.entry_idx = l.entry_idx AND l.merchant_id = $1 AND l.customer_id = $2
       AND l.entry_idx < $4 AND l.remaining > 0 AND (l.expires_at IS NULL OR l.expires_at > $5)
     RETURNING l.merchant_id, l.available_at, l.remaining, prev.expires_at AS was,
       l.expires_at AS becomes
   ), d AS (
     SELECT merchant_id, loyalty_expiry_bin(was) AS bin, available_at, -remaining AS points,
       -1 AS lots FROM r
     UNION ALL
     SELECT merchant_id, loyalty_expiry_bin(becomes), available_at, remaining, 1 FROM r
   )
   INSERT INTO loyalty_liability (merchant_id, expires_bin, available_day, points, lots)
   SELECT merchant_id, bin, loyalty_available_day(available_at), sum(points), sum(lots)
   FROM d GROUP BY 1, 2, 3 HAVING sum(points) <> 0 OR sum(lots) <> 0
   ${ADD_TO_LIABILITY}`,
  params: [merchantId, customerId, until, idx, time],
});

// The end of a statement whose CTE `source` lists customers whose latest expiry moved from
// `was` to `becomes`: each bin's count of customers follows them.
const MOVE_CUSTOMER_BINS = (source: string) => `d AS (
   SELECT merchant_id, loyalty_expiry_bin(was) AS bin, -1 AS n FROM ${source} WHERE was IS NOT NULL
   UNION ALL
   SELECT merchant_id, loyalty_expiry_bin(becomes), 1 FROM ${source} WHERE becomes IS NOT NULL
 )
 INSERT INTO loyalty_liability_customers (merchant_id, expires_bin, customers)
 SELECT merchant_id, bin, sum(n) FROM d GROUP BY 1, 2 HAVING sum(n) <> 0
 ON CONFLICT (merchant_id, expires_bin) DO UPDATE
 SET customers = loyalty_liability_customers.customers + excluded.customers`;

// The batch's new lots: their customers are members (the latest lot first), and a lot with
// points left may push the customer's latest expiry on, moving them to a later bin's count.
// Every CTE reads the rows as they were before the statement: `prev` is what the upsert changes.
const NEW_MEMBERS = `WITH n AS (
   SELECT m, c, max(i) AS i, max(t) AS t,
     max(coalesce(e, 'infinity'::timestamptz)) FILTER (WHERE p > 0) AS until
   FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[],
     $6::bigint[]) AS n(m, c, i, t, e, p)
   GROUP BY m, c
 ), prev AS (
   SELECT mm.merchant_id, mm.customer_id, mm.live_until FROM loyalty_members mm
   JOIN n ON mm.merchant_id = n.m AND mm.customer_id = n.c
 ), up AS (
   INSERT INTO loyalty_members (merchant_id, customer_id, last_idx, last_at, live_until)
   SELECT m, c, i, t, until FROM n
   ON CONFLICT (merchant_id, customer_id) DO UPDATE
   SET last_idx = greatest(loyalty_members.last_idx, excluded.last_idx),
     last_at = greatest(loyalty_members.last_at, excluded.last_at),
     live_until = greatest(loyalty_members.live_until, excluded.live_until)
   RETURNING merchant_id, customer_id, live_until
 ), moved AS (
   SELECT up.merchant_id, prev.live_until AS was, up.live_until AS becomes FROM up
   LEFT JOIN prev ON prev.merchant_id = up.merchant_id AND prev.customer_id = up.customer_id
   WHERE prev.live_until IS DISTINCT FROM up.live_until
 ), ${MOVE_CUSTOMER_BINS("moved")}`;

const NEW_LOTS = `INSERT INTO loyalty_liability (merchant_id, expires_bin, available_day, points, lots)
 SELECT m, loyalty_expiry_bin(e), loyalty_available_day(a), sum(p), count(*)
 FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[]) AS n(m, e, a, p)
 WHERE p > 0
 GROUP BY 1, 2, 3
 ${ADD_TO_LIABILITY}`;

// The latest expiry of each customer's lots with points left, from their lots as they are now,
// for the customers whose lots were taken from, given back to or renewed (new lots alone only
// push it on: NEW_MEMBERS); a customer whose latest expiry changed moves to another bin's count.
const LIVE_UNTIL = `WITH t AS (
   SELECT DISTINCT m, c FROM unnest($1::text[], $2::text[]) AS t(m, c)
 ), f AS (
   SELECT t.m, t.c, (
     SELECT max(coalesce(l.expires_at, 'infinity'::timestamptz)) FROM loyalty_lots l
     WHERE l.merchant_id = t.m AND l.customer_id = t.c AND l.remaining > 0
   ) AS until FROM t
 ), u AS (
   UPDATE loyalty_members mm SET live_until = f.until
   FROM f, loyalty_members prev
   WHERE mm.merchant_id = f.m AND mm.customer_id = f.c
     AND prev.merchant_id = f.m AND prev.customer_id = f.c
     AND prev.live_until IS DISTINCT FROM f.until
   RETURNING mm.merchant_id, prev.live_until AS was, f.until AS becomes
 ), ${MOVE_CUSTOMER_BINS("u")}`;

const EMPTY_BINS = "DELETE FROM loyalty_liability WHERE merchant_id = ANY($1::text[]) AND lots = 0";
const EMPTY_CUSTOMER_BINS = `DELETE FROM loyalty_liability_customers
 WHERE merchant_id = ANY($1::text[]) AND customers = 0`;

interface NewLot {
  merchantId: string;
  customerId: string;
  idx: string;
  time: string;
  remaining: number;
  availableAt: string;
  expiresAt: string | null;
}

// The entries of the orders projector that change no lot.
const NO_LOT_CHANGE = new Set<string>([
  ORDER_RECORDED,
  ORDER_REFUNDED,
  ADJUSTMENT_REQUESTED,
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
]);

/**
 * The statements that close a batch of the orders projector's entries: its new lots into the
 * members and the liability, the touched customers' latest expiry and count, and the rows that
 * fell to nothing deleted. Run after every other statement of the batch.
 */
export function lotViewStatements(entries: readonly CommittedEntry[]): Statement[] {
  const lots: NewLot[] = [];
  /** Customers whose lots changed otherwise than by a new lot: their latest expiry is read. */
  const touched: { merchantId: string; customerId: string }[] = [];
  const merchants = new Set<string>();
  let taken = false;
  for (const e of entries) {
    if (NO_LOT_CHANGE.has(e.entry.type)) continue;
    const idx = e.index.toString();
    const time = e.entry.time;
    const p = e.entry.payload as unknown as { merchantId: string; customerId: string };
    let lot: { points: number; availableAt: string; expiresAt: string | null } | null | undefined;
    let repaid = 0;
    // Whether the entry takes from, gives back to or renews lots it did not make.
    let changes = true;
    if (e.entry.type === POINTS_AWARDED) {
      const a = p as unknown as PointsAwardedPayload;
      lot = a.lot;
      repaid = a.debtRepaid ?? 0;
      changes = a.activeUntil !== undefined;
    } else if (e.entry.type === POINTS_RECEIVED) {
      const r = p as unknown as PointsReceivedPayload;
      lot = r.lot;
      repaid = r.debtRepaid ?? 0;
      changes = false;
    } else if (e.entry.type === POINTS_ADJUSTED) {
      const a = p as unknown as PointsAdjustedPayload;
      lot = a.lot;
      repaid = a.debtRepaid ?? 0;
      changes = a.taken.length > 0;
    }
    if (!lot && !changes) continue;
    merchants.add(p.merchantId);
    if (changes) {
      touched.push(p);
      taken = true;
    }
    if (lot) {
      lots.push({
        merchantId: p.merchantId,
        customerId: p.customerId,
        idx,
        time,
        remaining: lot.points - repaid,
        availableAt: lot.availableAt,
        expiresAt: lot.expiresAt,
      });
    }
  }
  if (merchants.size === 0) return [];
  const out: Statement[] = [];
  if (lots.length > 0) {
    out.push(
      {
        sql: NEW_MEMBERS,
        params: [
          lots.map((l) => l.merchantId),
          lots.map((l) => l.customerId),
          lots.map((l) => l.idx),
          lots.map((l) => l.time),
          lots.map((l) => l.expiresAt),
          lots.map((l) => String(l.remaining)),
        ],
      },
      {
        sql: NEW_LOTS,
        params: [
          lots.map((l) => l.merchantId),
          lots.map((l) => l.expiresAt),
          lots.map((l) => l.availableAt),
          lots.map((l) => String(l.remaining)),
        ],
      },
    );
  }
  if (touched.length > 0) {
    out.push({
      sql: LIVE_UNTIL,
      params: [touched.map((t) => t.merchantId), touched.map((t) => t.customerId)],
    });
  }
  // New lots only add points; a take, a renewal or an expiry may empty a bin.
  if (taken) out.push({ sql: EMPTY_BINS, params: [[...merchants]] });
  out.push({ sql: EMPTY_CUSTOMER_BINS, params: [[...merchants]] });
  return out;
}

/**
 * Sums a merchant's view rows afresh from its lots: after its lots were edited behind the
 * projections' back (tests do), and what the tests compare the maintained rows with.
 */
export async function refreshLoyaltyViews(db: Queryable, merchantId: string): Promise<void> {
  for (const t of LOT_VIEW_TABLES) {
    await db.query(`DELETE FROM ${t} WHERE merchant_id = $1`, [merchantId]);
  }
  for (const sql of loyaltyViewsFill("merchant_id = $1").split(";")) {
    if (sql.trim()) await db.query(sql, [merchantId]);
  }
}

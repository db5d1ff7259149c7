import type { Queryable } from "../db/database.js";
import type { Take } from "./lots.js";
import { releaseReturns } from "./redemptions.js";
import type { TierView } from "./tiers.js";

export type LotStatus = "pending" | "available" | "expired";

export interface LotView {
  /**
   * `l_<index>`: the lot is the points of the entry at that index (points.awarded,
   * points.received or points.adjusted).
   */
  id: string;
  points: number;
  /** What is left of it: neither spent, reversed nor held. */
  remaining: number;
  /**
   * Where the points came from: an order (`entryIndex`: its order.recorded entry), a transfer
   * received (its points.received entry) or a credit by staff (its points.adjusted entry).
   */
  source: LotSource;
  awardedAt: string;
  availableAt: string;
  /** null: it does not expire. */
  expiresAt: string | null;
  status: LotStatus;
}

export interface PointsView {
  customerId: string;
  pointName: string;
  /** The available points. */
  balance: number;
  /** Points still in their return window. */
  pending: number;
  /**
   * Points held for redemptions not yet captured or released (not in `balance`). A hold past
   * its timeout is released at that instant: its points are in `balance` again at once.
   */
  held: number;
  /** Points owed (refunds after the points were spent), repaid by later earnings. */
  debt: number;
  /** The customer's tier (one of the programme's); null: none. */
  tier: string | null;
  /** The figures of the customer's tier (keeping it) and the next (reaching it). */
  tierProgress: TierView["progress"];
  /**
   * Points whose lots expired but that no points.expired entry has written off yet (the sweep
   * will): counted in neither `balance` nor `pending`.
   */
  expired: number;
  /** The lots with points left, newest first (at most `limit`). */
  lots: LotView[];
  /** How many lots with points left there are in all. */
  lotCount: number;
}

export type LotSource =
  | { type: "order"; orderId: string; entryIndex: number }
  | { type: "transfer"; transferId: string; entryIndex: number }
  | { type: "adjustment"; adjustmentId: string; entryIndex: number };

function sourceOf(r: LotRow): LotSource {
  const idx = Number(r.entry_idx);
  if (r.source === "transfer")
    return { type: "transfer", transferId: r.source_id, entryIndex: idx };
  if (r.source === "adjustment") {
    return { type: "adjustment", adjustmentId: r.source_id, entryIndex: idx };
  }
  return { type: "order", orderId: r.source_id, entryIndex: idx - 1 };
}

interface LotRow {
  entry_idx: string | number;
  source: "order" | "transfer" | "adjustment";
  source_id: string;
  points: string | number;
  remaining: string | number;
  created_at: string | Date;
  available_at: string | Date;
  expires_at: string | Date | null;
}

const iso = (v: string | Date) => new Date(v).toISOString();

/**
 * A customer's points at `now`: lots are pending until their `availableAt` and available from
 * then on. Availability is computed from the time, not written: the lot's entry fixes the
 * instant, so the node, the portal and `audit` all agree on a balance at any time.
 */
export async function customerPoints(
  db: Queryable,
  merchantId: string,
  customerId: string,
  now: number,
  opts: { pointName: string; limit: number; tier?: TierView },
): Promise<PointsView> {
  const at = new Date(now).toISOString();
  const [totals, lots, debts, holds] = await Promise.all([
    db.query<{
      available: string | number;
      pending: string | number;
      expired: string | number;
      n: string | number;
    }>(
      `SELECT coalesce(sum(remaining) FILTER (WHERE available_at <= $3
           AND (expires_at IS NULL OR expires_at > $3)), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $3
           AND (expires_at IS NULL OR expires_at > $3)), 0) AS pending,
         coalesce(sum(remaining) FILTER (WHERE expires_at <= $3), 0) AS expired,
         count(*) AS n
       FROM loyalty_lots WHERE merchant_id = $1 AND customer_id = $2 AND remaining > 0`,
      [merchantId, customerId, at],
    ),
    db.query<LotRow>(
      `SELECT entry_idx, source, source_id, points, remaining, created_at, available_at, expires_at
       FROM loyalty_lots WHERE merchant_id = $1 AND customer_id = $2 AND remaining > 0
       ORDER BY entry_idx DESC LIMIT $3`,
      [merchantId, customerId, opts.limit],
    ),
    db.query<{ debt: string | number }>(
      "SELECT debt FROM loyalty_debts WHERE merchant_id = $1 AND customer_id = $2",
      [merchantId, customerId],
    ),
    db.query<{ points: string | number; expires_at: string | Date; taken: unknown }>(
      `SELECT points, expires_at, taken FROM loyalty_redemptions
       WHERE merchant_id = $1 AND customer_id = $2 AND status = 'held'
       ORDER BY expires_at, held_idx`,
      [merchantId, customerId],
    ),
  ]);
  const t = totals.rows[0];
  // Holds that lapsed are released from their timeout on, whether or not the sweep has
  // written their release yet: their points repay the debt first, then go back to their lots
  // (spendable when taken), as the release will say.
  let held = 0;
  let lapsed = 0;
  let debt = Number(debts.rows[0]?.debt ?? 0);
  const back = new Map<number, number>();
  for (const h of holds.rows) {
    if (new Date(h.expires_at).getTime() > now) {
      held += Number(h.points);
      continue;
    }
    const taken = (typeof h.taken === "string" ? JSON.parse(h.taken) : h.taken) as Take[];
    const r = releaseReturns(taken, debt);
    debt -= r.debtRepaid;
    for (const x of r.returned) back.set(x.lot, (back.get(x.lot) ?? 0) + x.points);
  }
  // What comes back counts where its lot now stands: available, still pending, or expired
  // meanwhile (the sweep will write it off).
  let lapsedPending = 0;
  let lapsedExpired = 0;
  if (back.size > 0) {
    const { rows } = await db.query<{
      entry_idx: string | number;
      available_at: string | Date;
      expires_at: string | Date | null;
    }>(
      `SELECT entry_idx, available_at, expires_at FROM loyalty_lots
       WHERE merchant_id = $1 AND entry_idx = ANY($2::bigint[])`,
      [merchantId, [...back.keys()].map(String)],
    );
    for (const r of rows) {
      const n = back.get(Number(r.entry_idx)) ?? 0;
      if (r.expires_at !== null && new Date(r.expires_at).getTime() <= now) lapsedExpired += n;
      else if (new Date(r.available_at).getTime() > now) lapsedPending += n;
      else lapsed += n;
    }
  }
  return {
    customerId,
    pointName: opts.pointName,
    balance: Number(t?.available ?? 0) + lapsed,
    held,
    pending: Number(t?.pending ?? 0) + lapsedPending,
    debt,
    tier: opts.tier?.tier ?? null,
    tierProgress: opts.tier?.progress ?? { current: null, next: null },
    expired: Number(t?.expired ?? 0) + lapsedExpired,
    lots: lots.rows.map((r) => ({
      id: `l_${r.entry_idx}`,
      points: Number(r.points),
      remaining: Number(r.remaining) + (back.get(Number(r.entry_idx)) ?? 0),
      source: sourceOf(r),
      awardedAt: iso(r.created_at),
      availableAt: iso(r.available_at),
      expiresAt: r.expires_at === null ? null : iso(r.expires_at),
      status:
        r.expires_at !== null && new Date(r.expires_at).getTime() <= now
          ? "expired"
          : new Date(r.available_at).getTime() <= now
            ? "available"
            : "pending",
    })),
    lotCount: Number(t?.n ?? 0),
  };
}

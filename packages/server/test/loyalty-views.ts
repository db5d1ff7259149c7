import { expect } from "vitest";
import type { Database, Queryable } from "../src/db/database.js";
import {
  type Liability,
  liability,
  listMembers,
  type MemberRow,
  monthIn,
} from "../src/loyalty/members.js";
import type { Programme } from "../src/loyalty/programme.js";
import { LOT_VIEW_TABLES, refreshLoyaltyViews } from "../src/loyalty/views-projections.js";

/**
 * The members and liability views as they were before migration 26: every lot of the merchant
 * aggregated on each request. What the maintained rows must give, at any instant.
 */
async function fullMembers(db: Queryable, merchantId: string, now: number): Promise<MemberRow[]> {
  const { rows } = await db.query<Record<string, string | number | bigint | Date | null>>(
    `SELECT m.customer_id, m.available, m.pending, m.lots, m.last_at, d.debt
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
     ) m
     LEFT JOIN loyalty_debts d ON d.merchant_id = $1 AND d.customer_id = m.customer_id
     ORDER BY m.last_idx DESC`,
    [merchantId, new Date(now).toISOString()],
  );
  return rows.map((r) => ({
    customerId: String(r.customer_id),
    balance: Number(r.available),
    pending: Number(r.pending),
    debt: Number(r.debt ?? 0),
    lots: Number(r.lots),
    lastAwardedAt: new Date(r.last_at as string | Date).toISOString(),
  }));
}

/** The liability's figures from every lot: by month, its lots, and the customers with points. */
async function fullLiability(db: Queryable, merchantId: string, now: number, timeZone: string) {
  const at = new Date(now).toISOString();
  const { rows } = await db.query<Record<string, string | number | bigint | Date | null>>(
    `SELECT expires_at, remaining, available_at, customer_id FROM loyalty_lots
     WHERE merchant_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)`,
    [merchantId, at],
  );
  const months = new Map<string | null, { available: number; pending: number; lots: number }>();
  for (const r of rows) {
    const month =
      r.expires_at === null
        ? null
        : monthIn(timeZone, new Date(r.expires_at as string | Date).getTime());
    const m = months.get(month) ?? { available: 0, pending: 0, lots: 0 };
    const pending = new Date(r.available_at as string | Date).getTime() > now;
    if (pending) m.pending += Number(r.remaining);
    else m.available += Number(r.remaining);
    m.lots += 1;
    months.set(month, m);
  }
  return {
    customers: new Set(rows.map((r) => r.customer_id)).size,
    months: [...months.entries()]
      .map(([month, m]) => ({ month, ...m, points: m.available + m.pending }))
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
      ),
  };
}

const strip = (l: Liability) => ({
  customers: l.total.customers,
  months: l.months.map(({ value: _, ...m }) => m),
});

/** Every member, page by page of `limit`, as the console lists them. */
async function allPages(db: Queryable, merchantId: string, now: number, limit: number) {
  const out: MemberRow[] = [];
  let before: bigint | undefined;
  for (;;) {
    const page = await listMembers(db, merchantId, now, {
      limit,
      ...(before === undefined ? {} : { before }),
    });
    out.push(...page.members);
    if (page.next === null) return out;
    before = BigInt(page.next);
  }
}

class Rollback extends Error {}

/** The view rows as stored, and as summed afresh from the lots (in a rolled-back transaction). */
async function viewRows(db: Database, merchantId: string) {
  const read = async (q: Queryable) => {
    const out: Record<string, unknown[]> = {};
    for (const t of LOT_VIEW_TABLES) {
      const { rows } = await q.query<{ row: string }>(
        `SELECT row_to_json(x)::text AS row FROM ${t} x WHERE merchant_id = $1`,
        [merchantId],
      );
      out[t] = rows.map((r) => r.row).sort();
    }
    return out;
  };
  const stored = await read(db);
  let fresh: Record<string, unknown[]> = {};
  await db
    .transaction(async (tx) => {
      await refreshLoyaltyViews(tx, merchantId);
      fresh = await read(tx);
      throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
  return { stored, fresh };
}

/**
 * The maintained view rows equal those summed afresh from the lots, and the members and the
 * liability they give equal the full aggregation over every lot, at `now` and at each instant
 * where a lot becomes available or expires (and just before), so every bin is crossed.
 */
export async function expectViewsMatchLots(
  db: Database,
  merchantId: string,
  now: number,
  programme: Pick<Programme, "timeZone"> & Programme,
): Promise<void> {
  const { stored, fresh } = await viewRows(db, merchantId);
  expect(stored).toEqual(fresh);
  const { rows } = await db.query<{ a: string | Date; e: string | Date | null }>(
    "SELECT available_at AS a, expires_at AS e FROM loyalty_lots WHERE merchant_id = $1",
    [merchantId],
  );
  const instants = new Set<number>([now]);
  for (const r of rows) {
    for (const v of [r.a, r.e]) {
      if (v === null) continue;
      const ms = new Date(v).getTime();
      for (const d of [-1, 0, 1]) instants.add(ms + d);
    }
  }
  for (const at of [...instants].sort((a, b) => a - b)) {
    const expected = await fullMembers(db, merchantId, at);
    expect(
      await allPages(db, merchantId, at, 2),
      `members at ${new Date(at).toISOString()}`,
    ).toEqual(expected);
    expect(
      strip(await liability(db, merchantId, at, programme)),
      `liability at ${new Date(at).toISOString()}`,
    ).toEqual(await fullLiability(db, merchantId, at, programme.timeZone));
  }
}

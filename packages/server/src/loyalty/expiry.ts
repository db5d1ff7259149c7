import type { JsonValue } from "@patron/ledger";
import {
  type Award,
  civilFromDays,
  daysFromCivil,
  evaluateRules,
  type RuleContext,
  type RuleVersion,
} from "@patron/rules";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { POINTS_EXPIRED, type PointsExpiredPayload } from "./entries.js";
import { DAY_MS } from "./evaluation.js";
import type { Wallet, WalletLot } from "./lots.js";
import { type ExpiryPolicy, type Programme, utcOffsetMinutes } from "./programme.js";
import type { LoyaltyState } from "./state.js";

/**
 * Expiry (issue 9), as pure functions the node, the auditor and the portal share, and the
 * sweep that writes `points.expired` entries.
 *
 * A lot's expiry is fixed when it is made (a derived fact of its `points.awarded` entry): the
 * order's time plus the days of the `expiry` rules that applied (the fewest), else the
 * programme's `fixed` policy, else never; under the `inactivity` policy no later than
 * `activeUntil`, which each later order pushes on for the lots that have not expired by then.
 * Whether a lot has expired at an instant follows from the log alone, so balances are right
 * before any sweep; the sweep only writes down, per customer, what already expired.
 */

const MINUTE_MS = 60_000;

/**
 * `months` calendar months after `ms` (before, when negative), at the same local time in the
 * UTC offset `offset` (minutes east), the day clamped to the month's last (31 Jan + 1 = 28/29 Feb).
 */
export function addMonths(ms: number, months: number, offset = 0): number {
  const local = ms + offset * MINUTE_MS;
  const days = Math.floor(local / DAY_MS);
  const rest = local - days * DAY_MS;
  const { year, month, day } = civilFromDays(days);
  const m0 = year * 12 + (month - 1) + months;
  const y = Math.floor(m0 / 12);
  const m = (m0 % 12) + 1;
  const last =
    daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
  return daysFromCivil(y, m, Math.min(day, last)) * DAY_MS + rest - offset * MINUTE_MS;
}

/** The end of the local month `ms` falls in: the next month's first midnight, at `offset`. */
export function endOfMonth(ms: number, offset = 0): number {
  const local = ms + offset * MINUTE_MS;
  const { year, month } = civilFromDays(Math.floor(local / DAY_MS));
  const next = month === 12 ? daysFromCivil(year + 1, 1, 1) : daysFromCivil(year, month + 1, 1);
  return next * DAY_MS - offset * MINUTE_MS;
}

/** The `expiry` rules among these that apply over an order's context (their awards carry `days`). */
export function expiryAwards(rules: readonly RuleVersion[], context: RuleContext): Award[] {
  const expiry = rules.filter((rv) => rv.rule.kind === "expiry");
  if (expiry.length === 0) return [];
  return evaluateRules(expiry, context).awards.filter((a) => a.days !== undefined);
}

/**
 * A lot's own expiry: the order's time plus the fewest days of the `expiry` rules that applied,
 * else what the programme's `fixed` policy gives, else null (never). `offset` is the order's
 * recorded UTC offset (its `context.time.offset`), so audit needs no time zone database.
 */
export function ownExpiry(
  policy: ExpiryPolicy,
  time: number,
  offset: number,
  awards: readonly { days?: number }[],
): number | null {
  const days = awards.flatMap((a) => (a.days === undefined ? [] : [a.days]));
  if (days.length > 0) return time + Math.min(...days) * DAY_MS;
  if (policy.policy !== "fixed") return null;
  const at = addMonths(time, policy.months, offset);
  return policy.endOfMonth ? endOfMonth(at, offset) : at;
}

/** Under the `inactivity` policy, the instant an order at `time` keeps the lots alive until. */
export function activeUntil(policy: ExpiryPolicy, time: number, offset: number): number | null {
  return policy.policy === "inactivity" ? addMonths(time, policy.months, offset) : null;
}

/** The sooner of two expiries (null: never). */
export const sooner = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/** A lot's expiry from its own and the customer's `activeUntil` (null: none). */
export const lotExpiry = (own: number | null, until: number | null) => sooner(own, until);

/**
 * The expiry the programme's policy gives a lot made at `time` otherwise than by an order (a
 * staff credit, points received): `fixed` months from then, `inactivity` months from then (an
 * order later renews it, as it renews every lot; the credit or transfer itself renews none), or
 * none. `own` is the expiry renewals never push it past (null: none of its own).
 */
export function policyExpiry(
  programme: Programme,
  time: number,
): { expiresAt: number | null; own: number | null } {
  const offset = utcOffsetMinutes(programme.timeZone, time);
  const own = ownExpiry(programme.expiry, time, offset, []);
  return { own, expiresAt: lotExpiry(own, activeUntil(programme.expiry, time, offset)) };
}

/** Whether the lot has expired at `now`. */
export const expired = (l: Pick<WalletLot, "expiresAt">, now: number): boolean =>
  l.expiresAt !== null && l.expiresAt <= now;

/**
 * An order at `time` under the `inactivity` policy: the lots that have not expired by then now
 * expire at the sooner of their own expiry and `until`; those that already expired stay so.
 */
export function renewLots(wallet: Wallet, time: number, until: number): Wallet {
  return {
    ...wallet,
    lots: wallet.lots.map((l) =>
      expired(l, time)
        ? l
        : {
            ...l,
            expiresAt: lotExpiry(
              l.fixedExpiresAt === undefined ? l.expiresAt : l.fixedExpiresAt,
              until,
            ),
          },
    ),
  };
}

/** The lots of a wallet expired at `now` with points left, in index order, and the wallet without them. */
export function takeExpired(
  wallet: Wallet,
  now: number,
): { lots: { lot: number; expiresAt: number; points: number }[]; wallet: Wallet } {
  const gone = wallet.lots
    .filter((l) => l.remaining > 0 && expired(l, now))
    .sort((a, b) => (a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0));
  return {
    lots: gone.map((l) => ({
      lot: Number(l.lot),
      expiresAt: l.expiresAt as number,
      points: l.remaining,
    })),
    wallet: { ...wallet, lots: wallet.lots.filter((l) => !gone.includes(l)) },
  };
}

/** What one sweep did. */
export interface ExpirySweepResult {
  /** Customers given a points.expired entry. */
  customers: number;
  points: number;
  /** Whether more customers with expired lots were left for the next run. */
  more: boolean;
}

/** Most customers one sweep writes an entry for: the rest wait for the next run. */
export const EXPIRY_SWEEP_LIMIT = 500;

/**
 * Writes `points.expired` entries: one sealed entry per customer, naming every lot of theirs
 * whose expiry passed by the sequencer's time and the points it still held. Idempotent (an
 * expired lot is left with no points, so the next run finds nothing) and bounded per run.
 */
export class Expiry {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly state: LoyaltyState,
  ) {}

  /**
   * Expires what has expired of one customer's points; null when nothing has (the command is
   * refused inside the sequencer, so a concurrent sweep or a spending cannot expire twice).
   */
  async expireCustomer(
    merchantId: string,
    customerId: string,
    actor: string,
  ): Promise<PointsExpiredPayload | null> {
    let payload: PointsExpiredPayload | undefined;
    try {
      await this.sequencer.execute({
        entries: [
          {
            type: POINTS_EXPIRED,
            actor,
            parties: [{ customer: customerId }, { merchant: merchantId }],
            sealed: true,
            payload: () => payload as unknown as JsonValue,
          },
        ],
        check: async (ctx) => {
          const wallet = await this.state.wallet(merchantId, customerId);
          const r = takeExpired(wallet, ctx.time);
          if (r.lots.length === 0) {
            throw new ApiError(409, "nothing_expired", "no points of the customer have expired");
          }
          this.state.stageWallet(merchantId, customerId, r.wallet);
          payload = {
            merchantId,
            customerId,
            points: r.lots.reduce((s, l) => s + l.points, 0),
            lots: r.lots.map((l) => ({ ...l, expiresAt: new Date(l.expiresAt).toISOString() })),
          };
        },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === "nothing_expired") return null;
      throw err;
    }
    return payload ?? null;
  }

  /** One run: at most `limit` customers (one merchant's, or every merchant's), soonest expiry first. */
  async sweep(
    actor: string,
    opts: { merchantId?: string; limit?: number } = {},
  ): Promise<ExpirySweepResult> {
    const limit = opts.limit ?? EXPIRY_SWEEP_LIMIT;
    const params: unknown[] = [new Date(this.clock.now()).toISOString(), limit + 1];
    if (opts.merchantId !== undefined) params.push(opts.merchantId);
    const { rows } = await this.db.query<{ merchant_id: string; customer_id: string }>(
      `SELECT merchant_id, customer_id FROM loyalty_lots
       WHERE remaining > 0 AND expires_at <= $1 ${opts.merchantId === undefined ? "" : "AND merchant_id = $3"}
       GROUP BY merchant_id, customer_id ORDER BY min(expires_at), merchant_id, customer_id
       LIMIT $2`,
      params,
    );
    const out: ExpirySweepResult = { customers: 0, points: 0, more: rows.length > limit };
    for (const r of rows.slice(0, limit)) {
      const done = await this.expireCustomer(r.merchant_id, r.customer_id, actor);
      if (done) {
        out.customers++;
        out.points += done.points;
      }
    }
    return out;
  }
}

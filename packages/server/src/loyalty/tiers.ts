import type { JsonValue } from "@patron/ledger";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { TIER_CHANGED, type TierChangedPayload } from "./entries.js";
import { addMonths } from "./expiry.js";
import { MAX_EXPIRY_MONTHS, type Programme, type Tier } from "./programme.js";
import type { LoyaltyState } from "./state.js";

/**
 * Tiers (issue 9): a customer's tier is the highest of the programme's tiers whose figure over
 * its rolling window (points earned, or spend, by the customer's orders net of their refunds,
 * recorded in the last `months` calendar months, UTC) reaches its threshold. A change is a
 * sealed `tier.changed` entry naming the figure and window it was decided on: evaluated when an
 * order is recorded (an upgrade at once) and by the sweep on the clock (a downgrade once the
 * window has moved past the orders that qualified). The current tier flows into every order's
 * context as `customer.tier`, so published rules give tier benefits (a multiplier scoped to
 * `tiers: ["gold"]`) and record the tier among their inputs.
 */

/** One order as tiers count it: when it was recorded, and its points and amount net of refunds. */
export interface TierActivity {
  orderId: string;
  time: number;
  points: number;
  amount: number;
}

/** A customer's tier and the orders that may still count for one. */
export interface TierAccount {
  tier: string | null;
  orders: readonly TierActivity[];
}

/** Orders are kept this long: the longest window (tiers' `months` is at most 120), and one more. */
export const TIER_MEMORY_MONTHS = MAX_EXPIRY_MONTHS + 1;

/** A tier's figure at an instant: its metric over its window, and its threshold. */
export interface Qualification {
  tier: string;
  metric: Tier["qualification"]["metric"];
  figure: number;
  threshold: number;
  months: number;
  /** The window: orders recorded after `windowStart`, up to `windowEnd`, count. */
  windowStart: number;
  windowEnd: number;
}

/** A tier's figure over the orders at `now`. */
export function figureOf(tier: Tier, orders: readonly TierActivity[], now: number): Qualification {
  const { metric, threshold, months } = tier.qualification;
  const windowStart = addMonths(now, -months);
  let figure = 0;
  for (const o of orders) {
    if (o.time > windowStart && o.time <= now) figure += metric === "points" ? o.points : o.amount;
  }
  return { tier: tier.id, metric, figure, threshold, months, windowStart, windowEnd: now };
}

/** The tier the orders qualify for at `now` (its index, -1: none), and every tier's figure. */
export function qualifyingTier(
  tiers: readonly Tier[],
  orders: readonly TierActivity[],
  now: number,
): { index: number; figures: Qualification[] } {
  const figures = tiers.map((t) => figureOf(t, orders, now));
  let index = -1;
  figures.forEach((f, i) => {
    if (f.figure >= f.threshold) index = i;
  });
  return { index, figures };
}

/** A change of tier at `now`, or null when the customer keeps theirs (or there are no tiers). */
export function tierDecision(
  tiers: readonly Tier[],
  account: TierAccount,
  now: number,
): Omit<TierChangedPayload, "merchantId" | "customerId" | "trigger"> | null {
  if (tiers.length === 0) return null;
  const { index, figures } = qualifyingTier(tiers, account.orders, now);
  const to = index >= 0 ? (tiers[index] as Tier).id : null;
  const from = account.tier;
  if (to === from) return null;
  const rank = (id: string | null) => (id === null ? -1 : tiers.findIndex((t) => t.id === id));
  const fromRank = rank(from);
  const q = (index >= 0 ? figures[index] : figures[Math.max(0, fromRank)]) as Qualification;
  return {
    from,
    to,
    direction: rank(to) > fromRank ? "up" : "down",
    qualification: {
      ...q,
      windowStart: new Date(q.windowStart).toISOString(),
      windowEnd: new Date(q.windowEnd).toISOString(),
    },
  };
}

/** The account with an order added (older orders past TIER_MEMORY_MONTHS dropped). */
export function addActivity(account: TierAccount, order: TierActivity): TierAccount {
  const since = addMonths(order.time, -TIER_MEMORY_MONTHS);
  return {
    tier: account.tier,
    orders: [...account.orders.filter((o) => o.time > since), order],
  };
}

/** The account with an order's net points and amount replaced (a refund). */
export function refundActivity(
  account: TierAccount,
  orderId: string,
  net: { points: number; amount: number },
): TierAccount {
  return {
    tier: account.tier,
    orders: account.orders.map((o) => (o.orderId === orderId ? { ...o, ...net } : o)),
  };
}

/** The customer's tier in an order's context: only while the programme has that tier. */
export function contextTier(programme: Programme, tier: string | null): string | undefined {
  return tier !== null && programme.tiers.some((t) => t.id === tier) ? tier : undefined;
}

export interface TierSweepResult {
  evaluated: number;
  changed: number;
}

/** Most customers with a tier one sweep re-evaluates; it goes on from there next time. */
export const TIER_SWEEP_LIMIT = 500;

export class Tiers {
  /** Where the last sweep of each scope (a merchant, or "" for all) stopped: every customer's turn comes. */
  private readonly cursors = new Map<string, { merchantId: string; customerId: string }>();

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly state: LoyaltyState,
  ) {}

  /**
   * Evaluates the customer's tier and writes a `tier.changed` entry when it changes; null when
   * it does not. Checked first against the committed state, then decided in the sequencer.
   */
  async evaluate(
    merchantId: string,
    customerId: string,
    actor: string,
    trigger: TierChangedPayload["trigger"],
  ): Promise<TierChangedPayload | null> {
    const { programme } = await this.state.programme(merchantId, false);
    if (programme.tiers.length === 0) return null;
    const committed = await this.state.tierAccount(merchantId, customerId, false);
    if (!tierDecision(programme.tiers, committed, this.clock.now())) return null;
    let payload: TierChangedPayload | undefined;
    try {
      await this.sequencer.execute({
        entries: [
          {
            type: TIER_CHANGED,
            actor,
            parties: [{ customer: customerId }, { merchant: merchantId }],
            sealed: true,
            payload: () => payload as unknown as JsonValue,
          },
        ],
        check: async (ctx) => {
          const staged = await this.state.programme(merchantId);
          const account = await this.state.tierAccount(merchantId, customerId);
          const d = tierDecision(staged.programme.tiers, account, ctx.time);
          if (!d) throw new ApiError(409, "tier_unchanged", "the customer keeps their tier");
          this.state.stageTierAccount(merchantId, customerId, { ...account, tier: d.to });
          payload = { merchantId, customerId, ...d, trigger };
        },
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === "tier_unchanged") return null;
      throw err;
    }
    return payload ?? null;
  }

  /**
   * One run: re-evaluates up to `limit` customers who hold a tier (one merchant's, or every
   * merchant's), going on from where the last run stopped, and writes their downgrades.
   */
  async sweep(
    actor: string,
    opts: { merchantId?: string; limit?: number } = {},
  ): Promise<TierSweepResult> {
    const limit = opts.limit ?? TIER_SWEEP_LIMIT;
    const scope = opts.merchantId ?? "";
    const after = this.cursors.get(scope);
    const params: unknown[] = [limit];
    let where = "tier IS NOT NULL";
    if (opts.merchantId !== undefined) {
      params.push(opts.merchantId);
      where += ` AND merchant_id = $${params.length}`;
    }
    if (after) {
      params.push(after.merchantId, after.customerId);
      where += ` AND (merchant_id, customer_id) > ($${params.length - 1}, $${params.length})`;
    }
    const { rows } = await this.db.query<{ merchant_id: string; customer_id: string }>(
      `SELECT merchant_id, customer_id FROM loyalty_tiers WHERE ${where}
       ORDER BY merchant_id, customer_id LIMIT $1`,
      params,
    );
    const last = rows.at(-1);
    if (rows.length < limit || !last) this.cursors.delete(scope);
    else this.cursors.set(scope, { merchantId: last.merchant_id, customerId: last.customer_id });
    const out: TierSweepResult = { evaluated: 0, changed: 0 };
    for (const r of rows) {
      out.evaluated++;
      if (await this.evaluate(r.merchant_id, r.customer_id, actor, "sweep")) out.changed++;
    }
    return out;
  }
}

/** A customer's tier and their progress, as `GET /v1/customers/{id}/points` shows them. */
export interface TierView {
  tier: string | null;
  /** The current tier's figure (keeping it), and the next tier's (reaching it); null: none. */
  progress: {
    current: QualificationView | null;
    next: QualificationView | null;
  };
}

export interface QualificationView {
  tier: string;
  metric: "points" | "spend";
  figure: number;
  threshold: number;
  months: number;
  windowStart: string;
  windowEnd: string;
}

/** The customer's recorded tier and the figures of their tier and the next, at `now`. */
export async function tierView(
  db: Queryable,
  merchantId: string,
  customerId: string,
  programme: Programme,
  now: number,
): Promise<TierView> {
  const { rows } = await db.query<{ tier: string | null }>(
    "SELECT tier FROM loyalty_tiers WHERE merchant_id = $1 AND customer_id = $2",
    [merchantId, customerId],
  );
  const tiers = programme.tiers;
  const tier = contextTier(programme, rows[0]?.tier ?? null) ?? null;
  const at = tier === null ? -1 : tiers.findIndex((t) => t.id === tier);
  const figure = async (t: Tier | undefined): Promise<QualificationView | null> => {
    if (!t) return null;
    const { metric, threshold, months } = t.qualification;
    const start = addMonths(now, -months);
    const sum = await db.query<{ n: string | number }>(
      `SELECT coalesce(sum(${
        metric === "points"
          ? "coalesce(net_points, points, 0)"
          : "coalesce((net->>'amount')::bigint, amount)"
      }), 0) AS n
       FROM loyalty_orders WHERE merchant_id = $1 AND customer_id = $2
       AND recorded_at > $3 AND recorded_at <= $4`,
      [merchantId, customerId, new Date(start).toISOString(), new Date(now).toISOString()],
    );
    return {
      tier: t.id,
      metric,
      figure: Number(sum.rows[0]?.n ?? 0),
      threshold,
      months,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(now).toISOString(),
    };
  };
  return {
    tier,
    progress: { current: await figure(tiers[at]), next: await figure(tiers[at + 1]) },
  };
}

import { z } from "zod";
import type { EntryTypeSpec } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";
import { ProgrammeSchema } from "./programme.js";

/** A merchant's programme changed: the whole programme, public (its terms are the customers'). */
export const PROGRAMME_SET = "programme.set";
/** A rule version is published: the whole document, its hash and version, public. */
export const RULE_PUBLISHED = "rule.published";
/** A rule ends from a time on, public. */
export const RULE_RETIRED = "rule.retired";
/** An order a customer placed: amounts in minor units, items, channel; sealed. */
export const ORDER_RECORDED = "order.recorded";
/**
 * The points an order earned: the context the rules in force were evaluated over, every award
 * with its rule version and inputs, and the lot they make; sealed, right after its order.
 */
export const POINTS_AWARDED = "points.awarded";
/**
 * A refund of an order, in full or by line: what it refunds, the order net of every refund so
 * far, the awards recomputed over it with the rule versions of the order, and the points to
 * reverse (the difference); sealed, followed at once by its points.reversed entry.
 */
export const ORDER_REFUNDED = "order.refunded";
/**
 * Points taken back: from the order's lot first, then the available lots soonest-expiring
 * first, then the oldest (`takePoints`); what they lack becomes a debt (`recover`) or is
 * written off (`write_off`); sealed.
 */
export const POINTS_REVERSED = "points.reversed";

/**
 * Points that expired: the lots of one customer whose expiry passed, and the points each still
 * held; written by the expiry sweep, at or after every lot's expiry; sealed.
 */
export const POINTS_EXPIRED = "points.expired";
/**
 * A customer's tier changed (up or down): from, to, the qualifying figure and its window, as
 * the programme's tiers give them at the entry's time; sealed.
 */
export const TIER_CHANGED = "tier.changed";

export const LOYALTY_ENTRY_TYPES = [
  PROGRAMME_SET,
  RULE_PUBLISHED,
  RULE_RETIRED,
  ORDER_RECORDED,
  POINTS_AWARDED,
  ORDER_REFUNDED,
  POINTS_REVERSED,
  POINTS_EXPIRED,
  TIER_CHANGED,
] as const;

const Int = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Instant = z.iso.datetime({ offset: true });
const JsonObject = z.record(z.string(), z.unknown());

export const ProgrammeSetPayload = z.strictObject({
  merchantId: z.string(),
  programme: ProgrammeSchema,
});
export type ProgrammeSetPayload = z.infer<typeof ProgrammeSetPayload>;

export const RulePublishedPayload = z.strictObject({
  merchantId: z.string(),
  ruleId: z.string(),
  version: z.number().int().min(1),
  /** ruleHash(document): lowercase hex SHA-256 of its RFC 8785 form. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  document: JsonObject,
  /** RFC 3339 UTC: from when it is in force; never before the entry's own time. */
  effectiveFrom: Instant,
});
export type RulePublishedPayload = z.infer<typeof RulePublishedPayload>;

export const RuleRetiredPayload = z.strictObject({
  merchantId: z.string(),
  ruleId: z.string(),
  /** The latest version published before it. */
  version: z.number().int().min(1),
  effectiveFrom: Instant,
});
export type RuleRetiredPayload = z.infer<typeof RuleRetiredPayload>;

export const OrderItem = z.strictObject({
  sku: z.string(),
  category: z.string(),
  quantity: Count,
  unitPrice: Count,
});

export const OrderRecordedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  /** The merchant's own order id: one order per id. */
  orderId: z.string(),
  amount: Count,
  currency: z.string(),
  channel: z.string(),
  store: z.string().optional(),
  items: z.array(OrderItem),
  occurredAt: Instant,
});
export type OrderRecordedPayload = z.infer<typeof OrderRecordedPayload>;

/** An award as @patron/rules gives it (Award), recorded whole. */
export const AwardRecord = z.strictObject({
  rule: z.string(),
  version: z.number().int().min(1),
  hash: z.string(),
  kind: z.enum(["earn", "burn", "tier", "expiry"]),
  points: Count,
  uncapped: Count.optional(),
  cappedBy: z.enum(["order", "day", "period", "customer"]).optional(),
  tier: z.string().optional(),
  days: Int.optional(),
  inputs: JsonObject,
});
export type AwardRecord = z.infer<typeof AwardRecord>;

export const PointsAwardedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  orderId: z.string(),
  /** The index of the order's `order.recorded` entry (the entry just before). */
  order: Count,
  /** The whole context the rules were evaluated over: non-personal facts only. */
  context: JsonObject,
  awards: z.array(AwardRecord),
  /** The sum of the awards' points. */
  points: Count,
  /**
   * The lot the points make, or null for none: pending until `availableAt` (the order's time
   * plus the programme's return window), then available until `expiresAt` (null: never): the
   * sooner of its own expiry (`expiry` rules, else the programme's `fixed` policy) and
   * `activeUntil`.
   */
  lot: z
    .strictObject({
      points: Count,
      availableAt: Instant,
      expiresAt: Instant.nullable(),
      /** With `activeUntil`: the lot's own expiry, which renewals never push past. */
      ownExpiresAt: Instant.nullable().optional(),
    })
    .nullable(),
  /**
   * The `expiry` rules that applied to the order (each with its inputs, so it can be
   * recomputed); the lot's own expiry is the order's time plus the fewest days among them.
   * Absent: none applied.
   */
  expiryAwards: z.array(AwardRecord).optional(),
  /**
   * Under the programme's `inactivity` policy: the customer's lots that have not expired at
   * this order's time (this one's too) expire no later than this instant. Absent: no such policy.
   */
  activeUntil: Instant.optional(),
  /**
   * The customer's debt these points repaid first (refunds after the points were spent); the
   * lot keeps the rest. Absent: none.
   */
  debtRepaid: Count.optional(),
});
export type PointsAwardedPayload = z.infer<typeof PointsAwardedPayload>;

export const RefundLine = z.strictObject({ sku: z.string(), quantity: Count });

export const OrderRefundedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  orderId: z.string(),
  /** The refund's id: the Idempotency-Key or the body's refundId (null: none given). */
  refundId: z.string().nullable(),
  /** The index of the order's points.awarded entry. */
  awarded: Count,
  full: z.boolean(),
  /** The lines this refund returns. */
  lines: z.array(RefundLine),
  /** The order's amount and items net of every refund so far, this one included. */
  net: z.strictObject({ amount: Count, items: z.array(OrderItem) }),
  /** The awards over the net order, by the rule versions in force at the order ([]: full). */
  awards: z.array(AwardRecord),
  /** The order's points before this refund, and after it (never more than before). */
  pointsBefore: Count,
  pointsAfter: Count,
});
export type OrderRefundedPayload = z.infer<typeof OrderRefundedPayload>;

export const PointsReversedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  orderId: z.string(),
  /** The index of the order.refunded entry (the entry just before). */
  refund: Count,
  points: Count,
  /** What was taken from which lot (its points.awarded index), in order. */
  taken: z.array(z.strictObject({ lot: Count, points: Count })),
  /** The shortfall recorded as the customer's debt (policy `recover`). */
  debt: Count,
  /** The shortfall written off (policy `write_off`). */
  writtenOff: Count,
});
export type PointsReversedPayload = z.infer<typeof PointsReversedPayload>;

export const PointsExpiredPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  /** The points that expired: the sum of `lots`. */
  points: Count,
  /** Each lot (its entry's index) whose expiry passed, its expiry and the points it still held. */
  lots: z.array(z.strictObject({ lot: Count, expiresAt: Instant, points: Count })).min(1),
});
export type PointsExpiredPayload = z.infer<typeof PointsExpiredPayload>;

export const TierChangedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  /** The tier before (null: none) and after (null: none any more). */
  from: z.string().nullable(),
  to: z.string().nullable(),
  direction: z.enum(["up", "down"]),
  /** Why: `order` (evaluated when an order was recorded) or `sweep` (on the clock). */
  trigger: z.enum(["order", "sweep"]),
  /**
   * The figure the change was decided on: that of the tier reached (`to`), or, when no tier is
   * reached any more, that of the tier left (`from`): its metric, value, threshold and window.
   */
  qualification: z.strictObject({
    tier: z.string(),
    metric: z.enum(["points", "spend"]),
    figure: Count,
    threshold: Count,
    months: z.number().int().min(1),
    windowStart: Instant,
    windowEnd: Instant,
  }),
});
export type TierChangedPayload = z.infer<typeof TierChangedPayload>;

const merchantOnly = (e: { payload: unknown }): Party[] => {
  const p = e.payload as { merchantId?: unknown };
  return typeof p?.merchantId === "string" ? [{ merchant: p.merchantId }] : [];
};

const customerAndMerchant = (e: { payload: unknown }): Party[] => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/**
 * The programme and rule versions are published facts (decision 6): anyone may read and
 * recompute with them. Orders and awards are the customer's business: sealed, on the customer's
 * and the merchant's chains (decision 7).
 */
export const loyaltyEntryTypes: EntryTypeSpec[] = [
  ...[PROGRAMME_SET, RULE_PUBLISHED, RULE_RETIRED].map((type) => ({
    type,
    sealing: "public" as const,
    parties: merchantOnly,
  })),
  ...[
    ORDER_RECORDED,
    POINTS_AWARDED,
    ORDER_REFUNDED,
    POINTS_REVERSED,
    POINTS_EXPIRED,
    TIER_CHANGED,
  ].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: customerAndMerchant,
  })),
];

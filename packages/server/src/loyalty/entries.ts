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
 * Points taken back: from the order's lot first, then the available lots oldest first; what
 * they lack becomes a debt (`recover`) or is written off (`write_off`); sealed.
 */
export const POINTS_REVERSED = "points.reversed";

export const LOYALTY_ENTRY_TYPES = [
  PROGRAMME_SET,
  RULE_PUBLISHED,
  RULE_RETIRED,
  ORDER_RECORDED,
  POINTS_AWARDED,
  ORDER_REFUNDED,
  POINTS_REVERSED,
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
   * plus the programme's return window), then available. `expiresAt` is null: no expiry yet.
   */
  lot: z
    .strictObject({
      points: Count,
      availableAt: Instant,
      expiresAt: z.null(),
    })
    .nullable(),
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
  ...[ORDER_RECORDED, POINTS_AWARDED, ORDER_REFUNDED, POINTS_REVERSED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: customerAndMerchant,
  })),
];

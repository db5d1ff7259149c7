import { z } from "zod";
import type { EntryTypeSpec } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";

/** A reward of the merchant's catalogue created or changed: the whole reward, public. */
export const REWARD_SET = "reward.set";
/**
 * Points held for a redemption (a checkout discount, or a reward of the catalogue): taken from
 * the customer's lots soonest-expiring first, with the till's one-time code and the instant the
 * hold lapses; sealed.
 */
export const REDEMPTION_HELD = "redemption.held";
/** A hold captured at the till: its points are burned; sealed. */
export const REDEMPTION_CAPTURED = "redemption.captured";
/**
 * A hold released (by the till, the merchant or the customer), or lapsed at its timeout
 * (`reason: expired`): its points go back to the lots they were taken from; sealed.
 */
export const REDEMPTION_RELEASED = "redemption.released";

export const REDEMPTION_ENTRY_TYPES = [
  REWARD_SET,
  REDEMPTION_HELD,
  REDEMPTION_CAPTURED,
  REDEMPTION_RELEASED,
] as const;

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Instant = z.iso.datetime({ offset: true });
const Take = z.strictObject({ lot: Count, points: Count });

/** A reward as the catalogue holds it. */
export const RewardRecord = z.strictObject({
  name: z.string(),
  /** What it costs, in points. */
  points: z.number().int().min(1),
  /** How many are left; null: unlimited. */
  stock: Count.nullable(),
  /** How many one customer may redeem (held or captured); null: no limit. */
  perCustomerLimit: z.number().int().min(1).nullable(),
  active: z.boolean(),
});
export type RewardRecord = z.infer<typeof RewardRecord>;

export const RewardSetPayload = z.strictObject({
  merchantId: z.string(),
  rewardId: z.string(),
  /** 1 for its creation, then one more per change. */
  version: z.number().int().min(1),
  reward: RewardRecord,
});
export type RewardSetPayload = z.infer<typeof RewardSetPayload>;

export const RedemptionHeldPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  redemptionId: z.string(),
  /** `discount`: points off a checkout; `reward`: a reward of the catalogue. */
  kind: z.enum(["discount", "reward"]),
  /** The reward and the version of it redeemed (kind reward), else null. */
  reward: z.strictObject({ id: z.string(), version: z.number().int().min(1) }).nullable(),
  points: z.number().int().min(1),
  /** The points' worth at the programme's value, in minor units of `currency`, rounded down. */
  value: Count,
  currency: z.string(),
  /** The till's one-time code (Crockford base32, 8 symbols): single use, lapsing with the hold. */
  code: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{8}$/),
  /** The instant the hold lapses unless captured. */
  expiresAt: Instant,
  /** Who asked for it: the customer's signed command, or the merchant (till, staff, API key). */
  requestedBy: z.enum(["customer", "merchant"]),
  /** The points taken, lot by lot (each lot's points.awarded index), in spending order. */
  taken: z.array(Take),
});
export type RedemptionHeldPayload = z.infer<typeof RedemptionHeldPayload>;

export const RedemptionCapturedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  redemptionId: z.string(),
  /** The index of its redemption.held entry. */
  held: Count,
  points: Count,
  /** The till's reference for the sale (a receipt number), or null. */
  reference: z.string().nullable(),
});
export type RedemptionCapturedPayload = z.infer<typeof RedemptionCapturedPayload>;

export const RedemptionReleasedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  redemptionId: z.string(),
  held: Count,
  /** `released`: asked for before the timeout; `expired`: the timeout passed uncaptured. */
  reason: z.enum(["released", "expired"]),
  /** The reward whose stock it gives back (kind reward), else null. */
  reward: z.strictObject({ id: z.string(), version: z.number().int().min(1) }).nullable(),
  points: Count,
  /** The points given back, to the lots they were taken from (less the debt they repaid). */
  returned: z.array(Take),
  /**
   * The customer's debt these points repaid first (a refund reversed points while they were
   * held); the lots get the rest. Absent: none.
   */
  debtRepaid: Count.optional(),
});
export type RedemptionReleasedPayload = z.infer<typeof RedemptionReleasedPayload>;

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
 * The catalogue is public, like the programme: a reward's cost in points, its limit and its
 * stock are terms customers redeem under, and anyone may check a redemption against them
 * (decision 6). Redemptions are the customer's business: sealed, on the customer's and the
 * merchant's chains (decision 7).
 */
export const redemptionEntryTypes: EntryTypeSpec[] = [
  { type: REWARD_SET, sealing: "public", parties: merchantOnly },
  ...[REDEMPTION_HELD, REDEMPTION_CAPTURED, REDEMPTION_RELEASED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: customerAndMerchant,
  })),
];

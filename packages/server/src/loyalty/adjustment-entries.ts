import { z } from "zod";
import type { EntryTypeSpec } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";
import { LotPayload } from "./transfer-entries.js";

/**
 * Staff asked to credit or debit a customer's points: the reason code, the points, the note's
 * commitment (its text is in the vault), and whether it waits for approval (`pending`) or is
 * applied at once (then `points.adjusted` follows in the same group); sealed.
 */
export const ADJUSTMENT_REQUESTED = "adjustment.requested";
/** A second staff member (an owner or admin, not the requester) approved it; `points.adjusted` follows. */
export const ADJUSTMENT_APPROVED = "adjustment.approved";
/** A second staff member rejected it: nothing changes. */
export const ADJUSTMENT_REJECTED = "adjustment.rejected";
/** The points an adjustment credited (a new lot) or debited (taken from lots); sealed. */
export const POINTS_ADJUSTED = "points.adjusted";

export const ADJUSTMENT_ENTRY_TYPES = [
  ADJUSTMENT_REQUESTED,
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  POINTS_ADJUSTED,
] as const;

/** Why staff adjusted the points: a fixed list, so reports can count them. */
export const ADJUSTMENT_REASONS = [
  "goodwill",
  "correction",
  "service_recovery",
  "migration",
  "fraud",
  "other",
] as const;
export const AdjustmentReason = z.enum(ADJUSTMENT_REASONS);
export type AdjustmentReason = z.infer<typeof AdjustmentReason>;

export const AdjustmentDirection = z.enum(["credit", "debit"]);
export type AdjustmentDirection = z.infer<typeof AdjustmentDirection>;

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Commitment = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const AdjustmentRequestedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  adjustmentId: z.string(),
  direction: AdjustmentDirection,
  points: Count,
  reason: AdjustmentReason,
  /** The note's commitment under the customer's key (Vault.commit, version = this index). */
  note: Commitment,
  /** The programme's threshold when it was asked: more points than this wait for approval. */
  threshold: Count,
  pending: z.boolean(),
});
export type AdjustmentRequestedPayload = z.infer<typeof AdjustmentRequestedPayload>;

export const AdjustmentDecidedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  adjustmentId: z.string(),
  /** The index of its adjustment.requested entry. */
  request: Count,
  /** The deciding staff member's role when they decided (owner or admin). */
  role: z.enum(["owner", "admin"]),
});
export type AdjustmentDecidedPayload = z.infer<typeof AdjustmentDecidedPayload>;

export const PointsAdjustedPayload = z.strictObject({
  merchantId: z.string(),
  customerId: z.string(),
  adjustmentId: z.string(),
  /** The adjustment.requested entry. */
  request: Count,
  direction: AdjustmentDirection,
  points: Count,
  /**
   * A credit: the new lot, available at once, expiring by the programme's expiry policy as of
   * the credit (as a lot earned then would; `ownExpiresAt` under inactivity, where it differs).
   * Its `points` are all credited; those that repaid debt (`debtRepaid`) are not in the lot.
   */
  lot: LotPayload.nullable(),
  /** A credit: points of the customer's debt (refunds of spent points) it repaid first. */
  debtRepaid: Count.min(1).optional(),
  /** A debit: what was taken from which lot, soonest-expiring first ([] for a credit). */
  taken: z.array(z.strictObject({ lot: Count, points: Count })),
});
export type PointsAdjustedPayload = z.infer<typeof PointsAdjustedPayload>;

const customerAndMerchant = (e: { payload: unknown }): Party[] => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/** Adjustments are the customer's business: sealed, on the customer's and the merchant's chains. */
export const adjustmentEntryTypes: EntryTypeSpec[] = ADJUSTMENT_ENTRY_TYPES.map((type) => ({
  type,
  sealing: "sealed" as const,
  parties: customerAndMerchant,
}));

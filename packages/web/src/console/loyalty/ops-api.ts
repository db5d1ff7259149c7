import { z } from "zod";

// What the catalogue, adjustments and till screens read from the node
// (packages/server/src/loyalty/redemption-routes.ts and moves-routes.ts), parsed before use.

export const Reward = z.object({
  id: z.string(),
  version: z.number(),
  name: z.string(),
  points: z.number(),
  stock: z.number().nullable(),
  perCustomerLimit: z.number().nullable(),
  active: z.boolean(),
  updatedAt: z.string(),
  entryIndex: z.number(),
});
export type Reward = z.infer<typeof Reward>;
export const RewardList = z.object({ rewards: z.array(Reward) });

export const REDEMPTION_STATUSES = ["held", "captured", "released", "expired"] as const;

export const Redemption = z.object({
  id: z.string(),
  customerId: z.string(),
  kind: z.enum(["discount", "reward"]),
  reward: z.object({ id: z.string(), version: z.number() }).nullable(),
  points: z.number(),
  value: z.number(),
  currency: z.string(),
  status: z.enum(REDEMPTION_STATUSES),
  code: z.string().nullable(),
  expiresAt: z.string(),
  requestedBy: z.enum(["customer", "merchant"]),
  reference: z.string().nullable(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  heldEntry: z.number(),
  closedEntry: z.number().nullable(),
});
export type Redemption = z.infer<typeof Redemption>;

/** The reason codes the node takes (ADJUSTMENT_REASONS in the server). */
export const ADJUSTMENT_REASONS = [
  "goodwill",
  "correction",
  "service_recovery",
  "migration",
  "fraud",
  "other",
] as const;
export const ADJUSTMENT_STATUSES = ["pending", "applied", "approved", "rejected"] as const;

export const Adjustment = z.object({
  id: z.string(),
  customerId: z.string(),
  direction: z.enum(["credit", "debit"]),
  points: z.number(),
  reason: z.string(),
  note: z.string().nullable(),
  status: z.enum(ADJUSTMENT_STATUSES),
  requestedBy: z.string(),
  requestedAt: z.string(),
  requestIndex: z.number(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decidedIndex: z.number().nullable(),
  appliedIndex: z.number().nullable(),
});
export type Adjustment = z.infer<typeof Adjustment>;
export const AdjustmentList = z.object({ adjustments: z.array(Adjustment) });

/** The ledger actor the node records for a staff member (`actorOf` in the server). */
export const staffActor = (merchantId: string, staffId: string) =>
  `merchant:${merchantId}/staff:${staffId}`;

/** The node's default `adjustments.approvalThreshold` when a programme sets none. */
export const DEFAULT_APPROVAL_THRESHOLD = 1000;

/** The programme's parts these screens need (its own schema in api.ts may not know them yet). */
export const ProgrammeTerms = z.object({
  programme: z.object({
    pointName: z.string(),
    currency: z.string(),
    adjustments: z.object({ approvalThreshold: z.number() }).optional(),
  }),
});

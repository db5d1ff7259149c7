import { z } from "zod";
import { ProvenEntry } from "../verify/schemas.js";

// The loyalty answers the portal reads (packages/server/src/loyalty/portal.ts). The points are
// the node's word (a projection of the ledger); the rules are proven entries the page checks.

const Tier = z.object({
  id: z.string(),
  name: z.string(),
  qualification: z.object({
    metric: z.enum(["points", "spend"]),
    threshold: z.number().int().nonnegative(),
    months: z.number().int().positive(),
  }),
});
export type Tier = z.infer<typeof Tier>;

/** The programme's terms, as much of them as the pages use (unknown fields dropped). */
export const Programme = z.object({
  pointName: z.string(),
  valuePer100Points: z.number().int().nonnegative(),
  currency: z.string(),
  returnWindowDays: z.number().int().nonnegative(),
  tiers: z.array(Tier),
  timeZone: z.string(),
  /** Transfers between customers and their limits (docs/loyalty.md, Transfers). */
  transfers: z
    .object({
      allowed: z.boolean(),
      minPoints: z.number().int().optional(),
      maxPoints: z.number().int().optional(),
      dailyMaxPoints: z.number().int().optional(),
      dailyMaxCount: z.number().int().optional(),
    })
    .optional(),
});
export type Programme = z.infer<typeof Programme>;

export const Lot = z.object({
  id: z.string(),
  points: z.number().int().nonnegative(),
  remaining: z.number().int().nonnegative(),
  /** Where the points came from: an order, a transfer received, or a staff credit. */
  source: z.discriminatedUnion("type", [
    z.object({ type: z.literal("order"), orderId: z.string(), entryIndex: z.number().int() }),
    z.object({
      type: z.literal("transfer"),
      transferId: z.string(),
      entryIndex: z.number().int(),
    }),
    z.object({
      type: z.literal("adjustment"),
      adjustmentId: z.string(),
      entryIndex: z.number().int(),
    }),
  ]),
  awardedAt: z.string(),
  availableAt: z.string(),
  expiresAt: z.string().nullable(),
  status: z.enum(["pending", "available"]),
});
export type Lot = z.infer<typeof Lot>;

/** GET /v1/portal/points. */
export const Points = z.object({
  customerId: z.string(),
  pointName: z.string(),
  balance: z.number().int(),
  pending: z.number().int(),
  debt: z.number().int(),
  /** Points held for redemptions not captured yet (not in the balance). */
  held: z.number().int().default(0),
  tier: z.string().nullable(),
  lots: z.array(Lot),
  lotCount: z.number().int().nonnegative(),
  programme: Programme,
});
export type Points = z.infer<typeof Points>;

const RuleEvent = z.object({
  event: z.enum(["published", "retired"]),
  version: z.number().int().positive(),
  hash: z.string().nullable(),
  effectiveFrom: z.string(),
  effectiveUntil: z.string().nullable(),
  replaced: z.boolean(),
  entryIndex: z.number().int().nonnegative(),
  recordedAt: z.string(),
});
export type RuleEvent = z.infer<typeof RuleEvent>;

/** GET /v1/merchants/{id}/loyalty/rules: public, every entry with its proof. */
export const PublishedRules = z.object({
  merchantId: z.string(),
  size: z.number().int().nonnegative(),
  checkpoint: z.string(),
  programme: z.object({
    programme: Programme,
    entryIndex: z.number().int().nonnegative().nullable(),
    updatedAt: z.string().nullable(),
  }),
  rules: z.array(
    z.object({
      id: z.string(),
      status: z.enum(["scheduled", "active", "retired"]),
      current: z
        .object({ version: z.number().int(), hash: z.string(), effectiveFrom: z.string() })
        .nullable(),
      history: z.array(RuleEvent),
    }),
  ),
  entries: z.array(ProvenEntry),
});
export type PublishedRules = z.infer<typeof PublishedRules>;

/** One side of a transfer (GET /v1/portal/transfers): the message from the customer's own copy. */
export const Transfer = z.object({
  transferId: z.string(),
  direction: z.enum(["sent", "received"]),
  counterparty: z.string(),
  points: z.number().int(),
  entryIndex: z.number().int(),
  at: z.string(),
  hasMessage: z.boolean(),
  message: z.string().nullable().optional(),
});
export type Transfer = z.infer<typeof Transfer>;

export const TransferPage = z.object({
  transfers: z.array(Transfer),
  next: z.number().nullable(),
});

/** A reward of the catalogue (GET /v1/portal/rewards: the active ones). */
export const Reward = z.object({
  id: z.string(),
  version: z.number().int(),
  name: z.string(),
  points: z.number().int(),
  stock: z.number().int().nullable(),
  perCustomerLimit: z.number().int().nullable(),
  active: z.boolean(),
});
export type Reward = z.infer<typeof Reward>;

export const Rewards = z.object({ rewards: z.array(Reward) });

/** A redemption as it stands now (GET /v1/portal/redemptions), its code while held. */
export const Redemption = z.object({
  id: z.string(),
  kind: z.enum(["discount", "reward"]),
  reward: z.object({ id: z.string(), version: z.number().int() }).nullable(),
  points: z.number().int(),
  value: z.number().int(),
  currency: z.string(),
  status: z.enum(["held", "captured", "released", "expired"]),
  code: z.string().nullable(),
  qr: z.string().nullable(),
  expiresAt: z.string(),
  requestedBy: z.enum(["customer", "merchant"]),
  reference: z.string().nullable(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  heldEntry: z.number().int(),
  closedEntry: z.number().int().nullable(),
});
export type Redemption = z.infer<typeof Redemption>;

export const Redemptions = z.object({ redemptions: z.array(Redemption) });

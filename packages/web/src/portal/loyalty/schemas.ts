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
});
export type Programme = z.infer<typeof Programme>;

export const Lot = z.object({
  id: z.string(),
  points: z.number().int().nonnegative(),
  remaining: z.number().int().nonnegative(),
  source: z.object({ type: z.string(), orderId: z.string(), entryIndex: z.number().int() }),
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

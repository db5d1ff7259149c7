import { z } from "zod";

// What the loyalty screens read from the node (packages/server/src/loyalty/routes.ts), parsed
// before use. Loose objects: a newer node may add fields (another expiry policy, say), and the
// screens show what they know.

export const Tier = z.object({
  id: z.string(),
  name: z.string(),
  qualification: z.object({
    metric: z.enum(["points", "spend"]),
    threshold: z.number(),
    months: z.number(),
  }),
});
export type Tier = z.infer<typeof Tier>;

export const Programme = z.object({
  pointName: z.string(),
  valuePer100Points: z.number(),
  currency: z.string(),
  returnWindowDays: z.number(),
  /** `none` today; other policies carry their own fields. */
  expiry: z.looseObject({ policy: z.string() }),
  /** Loose: the limits the form does not edit (minPoints, maxPoints, daily ones) are kept. */
  transfers: z.looseObject({
    allowed: z.boolean(),
    receivedAvailability: z.enum(["immediate", "return_window"]),
  }),
  tiers: z.array(Tier),
  timeZone: z.string(),
  debtPolicy: z.enum(["recover", "write_off"]),
  /** Absent: the node's default threshold (DEFAULT_APPROVAL_THRESHOLD). */
  adjustments: z.object({ approvalThreshold: z.number() }).optional(),
});
export type Programme = z.infer<typeof Programme>;

/** Adjustments of more points than this wait for a second approval, when the programme sets none. */
export const DEFAULT_APPROVAL_THRESHOLD = 1000;

export const ProgrammeView = z.object({
  merchantId: z.string(),
  programme: Programme,
  entryIndex: z.number().nullable(),
  updatedAt: z.string().nullable(),
});
export type ProgrammeView = z.infer<typeof ProgrammeView>;

export const RULE_STATUSES = ["draft", "scheduled", "active", "retired"] as const;

export const RuleView = z.object({
  id: z.string(),
  status: z.enum(RULE_STATUSES),
  draft: z
    .object({
      document: z.unknown(),
      hash: z.string(),
      version: z.number(),
      updatedAt: z.string(),
    })
    .nullable(),
  current: z
    .object({
      version: z.number(),
      hash: z.string(),
      effectiveFrom: z.string(),
      document: z.unknown(),
    })
    .nullable(),
  history: z.array(
    z.object({
      event: z.enum(["published", "retired"]),
      version: z.number(),
      hash: z.string().nullable(),
      effectiveFrom: z.string(),
      effectiveUntil: z.string().nullable(),
      replaced: z.boolean(),
      entryIndex: z.number(),
      recordedAt: z.string(),
      /** A publication's document's name and own validity (absent from an older node). */
      name: z.string().nullable().optional(),
      validFrom: z.string().nullable().optional(),
      validUntil: z.string().nullable().optional(),
    }),
  ),
});
export type RuleView = z.infer<typeof RuleView>;
export const RuleList = z.object({ rules: z.array(RuleView) });

export const Published = z.object({
  id: z.string(),
  version: z.number(),
  effectiveFrom: z.string(),
  entryIndex: z.number(),
});

const SetOutcome = z.object({
  points: z.number(),
  cost: z.number(),
  orders: z.number(),
  customers: z.number(),
  rules: z.array(
    z.object({
      rule: z.string(),
      version: z.number(),
      points: z.number(),
      orders: z.number(),
      failed: z.number(),
    }),
  ),
});
export type SetOutcome = z.infer<typeof SetOutcome>;

export const Simulation = z.object({
  from: z.string(),
  to: z.string(),
  orders: z.number(),
  customers: z.number(),
  currency: z.string(),
  valuePer100Points: z.number(),
  draft: SetOutcome,
  published: SetOutcome,
  difference: z.object({ points: z.number(), cost: z.number(), customers: z.number() }),
});
export type Simulation = z.infer<typeof Simulation>;

export const Member = z.object({
  customerId: z.string(),
  name: z.string().nullable(),
  status: z.string().nullable(),
  balance: z.number(),
  pending: z.number(),
  debt: z.number(),
  lots: z.number(),
  lastAwardedAt: z.string(),
});
export type Member = z.infer<typeof Member>;
export const MemberPage = z.object({
  pointName: z.string(),
  members: z.array(Member),
  next: z.string().nullable(),
});

const LiabilityFigures = z.object({
  points: z.number(),
  available: z.number(),
  pending: z.number(),
  value: z.number(),
  lots: z.number(),
});
export const LiabilityMonth = LiabilityFigures.extend({ month: z.string().nullable() });
export type LiabilityMonth = z.infer<typeof LiabilityMonth>;
export const Liability = z.object({
  asOf: z.string(),
  pointName: z.string(),
  currency: z.string(),
  valuePer100Points: z.number(),
  timeZone: z.string(),
  total: LiabilityFigures.extend({ customers: z.number() }),
  debt: z.object({ points: z.number(), value: z.number(), customers: z.number() }),
  months: z.array(LiabilityMonth),
});
export type Liability = z.infer<typeof Liability>;

/** One fault of a refused rule (400 `invalid_rule`): its JSON path and what is wrong. */
export interface RuleProblem {
  path: string;
  message: string;
}

/**
 * The faults a refused rule's `details.errors` lists, or none when it is another refusal. The
 * node names them from the request's body (`document.action.points`, in a simulation
 * `rules.2.document.condition`); they are shown from the rule document's root
 * (`action.points`), the rule's id first when it is not the one edited.
 */
export function ruleProblems(details: unknown): RuleProblem[] {
  const errors = (details as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((e) => {
    const { path, message } = (e ?? {}) as { path?: unknown; message?: unknown };
    if (typeof message !== "string") return [];
    const at = typeof path === "string" ? path : "";
    return [{ path: at.replace(/^(?:rules\.\d+\.)?document(?:\.|$)/, ""), message }];
  });
}

import { z } from "zod";
import { Label } from "../http/schemas.js";

/**
 * A merchant's loyalty programme: what its points are called and worth, in which currency and
 * time zone its orders are evaluated, how long points stay pending, when they expire, whether
 * customers may transfer them and which tiers there are. Every merchant has one from the start
 * (DEFAULT_PROGRAMME); `PUT /v1/loyalty/programme` changes it with a public `programme.set`
 * entry carrying the whole programme, so customers and auditors read the terms their points
 * were given under.
 */
export interface Programme {
  /** What customers see the points called ("points", "stars"). */
  pointName: string;
  /**
   * What 100 points are worth, in minor units of `currency`: 100 means 1 point = 1 cent. Per
   * 100 points, so a point may be worth a fraction of a minor unit and everything stays an
   * integer.
   */
  valuePer100Points: number;
  /** ISO 4217: the currency orders must be in, and the point value is given in. */
  currency: string;
  /** Days after an order that its points stay pending (returns are still possible); 0: none. */
  returnWindowDays: number;
  /** When points expire by default (an `expiry` rule that applies to an order overrides it). */
  expiry: ExpiryPolicy;
  /** Transfers between customers: allowed up to the available balance; received points are
   * available at once (`immediate`) or only after the return window (`return_window`). The
   * limits are optional: absent, a transfer is at least 1 point and at most the balance. */
  transfers: TransferTerms;
  /**
   * The tiers, lowest first, and what qualifies a customer for each: the highest whose figure
   * over its rolling window reaches its threshold (docs/loyalty.md, "Tiers").
   */
  tiers: Tier[];
  /** IANA time zone whose local date and time rules see (`time.weekday`, daily caps). */
  timeZone: string;
  /**
   * What a refund does with points already spent: `recover` records a debt that later earnings
   * repay; `write_off` records the shortfall as written off.
   */
  debtPolicy: DebtPolicy;
  /**
   * Manual adjustments by staff: one of more than `approvalThreshold` points waits for a second
   * staff member's approval (an owner or admin). Absent: DEFAULT_APPROVAL_THRESHOLD.
   */
  adjustments?: { approvalThreshold: number };
}

export interface TransferTerms {
  allowed: boolean;
  receivedAvailability: "immediate" | "return_window";
  /** The fewest points one transfer may move (absent: 1). */
  minPoints?: number;
  /** The most points one transfer may move (absent: the available balance). */
  maxPoints?: number;
  /** The most points a customer may send in a calendar day of the programme's time zone. */
  dailyMaxPoints?: number;
  /** The most transfers a customer may send in such a day. */
  dailyMaxCount?: number;
}

/** Adjustments of more points than this wait for a second staff member, unless the programme says. */
export const DEFAULT_APPROVAL_THRESHOLD = 1000;

export type DebtPolicy = "recover" | "write_off";

/**
 * The programme's expiry policy (docs/loyalty.md, "Expiry"):
 * - `none`: points do not expire (unless an `expiry` rule gives their lot a date);
 * - `fixed`: each lot expires `months` after it was earned (with `endOfMonth`, at the end of
 *   that month in the order's local time);
 * - `inactivity`: "expires unless active": every lot expires `months` after the customer's last
 *   order; each order renews the lots that have not expired yet.
 */
export type ExpiryPolicy =
  | { policy: "none" }
  | { policy: "fixed"; months: number; endOfMonth?: boolean }
  | { policy: "inactivity"; months: number };

/** The longest expiry: ten years. */
export const MAX_EXPIRY_MONTHS = 120;

const ExpiryMonths = z
  .number()
  .int("must be a whole number of months")
  .min(1)
  .max(MAX_EXPIRY_MONTHS)
  .describe("months, 1 to 120");

export const ExpiryPolicySchema = z
  .discriminatedUnion("policy", [
    z.strictObject({ policy: z.literal("none") }),
    z.strictObject({
      policy: z.literal("fixed"),
      months: ExpiryMonths,
      endOfMonth: z
        .boolean()
        .optional()
        .describe("expire at the end of the month the lot reaches its months in"),
    }),
    z.strictObject({ policy: z.literal("inactivity"), months: ExpiryMonths }),
  ])
  .describe(
    "`none`; `fixed` (each lot expires `months` after it was earned, optionally at the end of that month); `inactivity` (every lot expires `months` after the customer's last order)",
  );
export const DebtPolicySchema = z.enum(["recover", "write_off"]);

export interface Tier {
  id: string;
  name: string;
  qualification: {
    /** `points`: points earned; `spend`: order amounts, in minor units. */
    metric: "points" | "spend";
    threshold: number;
    /** Over the last this many months. */
    months: number;
  };
}

/** The programme of a merchant that never set one. */
export const DEFAULT_PROGRAMME: Programme = {
  pointName: "points",
  valuePer100Points: 100,
  currency: "EUR",
  returnWindowDays: 0,
  expiry: { policy: "none" },
  transfers: { allowed: true, receivedAvailability: "immediate" },
  tiers: [],
  timeZone: "UTC",
  debtPolicy: "recover",
};

/** The longest return window: points pending for more than a year help no one. */
export const MAX_RETURN_WINDOW_DAYS = 365;

const TOKEN = /^[a-z][a-z0-9_-]{0,39}$/;

export const TimeZone = z
  .string()
  .max(64)
  .refine(isTimeZone, "must be an IANA time zone such as Europe/Paris or Asia/Shanghai")
  .describe("IANA time zone: rules see the local date and time in it");

const TierSchema = z.strictObject({
  id: z.string().regex(TOKEN, "must be lower-case letters, digits, _ or -, starting with a letter"),
  name: Label(80),
  qualification: z.strictObject({
    metric: z.enum(["points", "spend"]),
    threshold: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    months: z.number().int().min(1).max(120),
  }),
});

/** A count of points a programme sets: a whole number up to a billion. */
const PointCount = z.number().int("must be an integer").min(0).max(1_000_000_000);

/** The optional limits of transfers (absent: none beyond the balance). */
const TransferLimits = {
  minPoints: PointCount.min(1)
    .optional()
    .describe("the fewest points one transfer may move (default 1)"),
  maxPoints: PointCount.min(1)
    .optional()
    .describe("the most points one transfer may move (default: the balance)"),
  dailyMaxPoints: PointCount.optional().describe(
    "the most points a customer may send per calendar day of the programme's time zone",
  ),
  dailyMaxCount: PointCount.optional().describe(
    "the most transfers a customer may send per such day",
  ),
};

/** A programme as `PUT` takes it: fields left out keep their value. */
export const ProgrammeInput = z.strictObject({
  pointName: Label(40).optional(),
  valuePer100Points: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .optional()
    .describe("minor units of the currency 100 points are worth (100: a point is worth 1 cent)"),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR")
    .optional(),
  returnWindowDays: z.number().int().min(0).max(MAX_RETURN_WINDOW_DAYS).optional(),
  expiry: ExpiryPolicySchema.optional(),
  transfers: z
    .strictObject({
      allowed: z.boolean(),
      receivedAvailability: z.enum(["immediate", "return_window"]),
      ...TransferLimits,
    })
    .refine(
      (t) => t.minPoints === undefined || t.maxPoints === undefined || t.minPoints <= t.maxPoints,
      "minPoints must not exceed maxPoints",
    )
    .optional(),
  adjustments: z
    .strictObject({
      approvalThreshold: PointCount.describe(
        "adjustments of more points than this wait for a second staff member's approval",
      ),
    })
    .optional(),
  tiers: z
    .array(TierSchema)
    .max(20)
    .refine((ts) => new Set(ts.map((t) => t.id)).size === ts.length, "tier ids must differ")
    .optional(),
  timeZone: TimeZone.optional(),
  debtPolicy: DebtPolicySchema.optional().describe(
    "refunds of spent points: `recover` (a debt later earnings repay) or `write_off`",
  ),
});
export type ProgrammeInput = z.infer<typeof ProgrammeInput>;

/** The programme as the API and the entry show it. */
export const ProgrammeSchema = z.strictObject({
  pointName: z.string(),
  valuePer100Points: z.number().int(),
  currency: z.string(),
  returnWindowDays: z.number().int(),
  expiry: ExpiryPolicySchema,
  transfers: z.strictObject({
    allowed: z.boolean(),
    receivedAvailability: z.enum(["immediate", "return_window"]),
    ...TransferLimits,
  }),
  tiers: z.array(TierSchema),
  timeZone: z.string(),
  /** Programmes set before refunds existed have none: `recover`. */
  debtPolicy: DebtPolicySchema.default("recover"),
  /** Programmes set before adjustments existed have none: DEFAULT_APPROVAL_THRESHOLD. */
  adjustments: z.strictObject({ approvalThreshold: z.number().int() }).optional(),
});

/** The threshold above which an adjustment waits for approval. */
export const approvalThreshold = (p: Programme): number =>
  p.adjustments?.approvalThreshold ?? DEFAULT_APPROVAL_THRESHOLD;

/** `current` with the fields `input` gives replaced. */
export function applyInput(current: Programme, input: ProgrammeInput): Programme {
  const next: Programme = { ...current };
  for (const [k, v] of Object.entries(input)) {
    if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
  }
  return next;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Minutes east of UTC of `timeZone` at the instant `ms` (480 for Asia/Shanghai). The node reads
 * it from its time zone database when it evaluates an order and records it in the context
 * (`time.offset`), so an audit never needs the same database.
 */
export function utcOffsetMinutes(timeZone: string, ms: number): number {
  if (timeZone === "UTC") return 0;
  const name = formatter(timeZone)
    .formatToParts(new Date(ms))
    .find((p) => p.type === "timeZoneName")?.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name ?? "");
  if (!m) throw new Error(`cannot read the UTC offset of ${timeZone}: ${name}`);
  if (!m[1]) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

import { pointNameFor } from "../../lib/point-name.js";
import { formatMoney } from "../loyalty/money.js";

// The loyalty entries on a customer's chain (packages/server/src/loyalty/*entries.ts), in words
// with the figure that matters: the points, the order and its amount, the tier from and to. The
// timeline gives each entry's payload whole (the merchant is a party of every one of them).

/** Each loyalty entry type on a customer's chain, and its words under `timeline.loyalty`. */
export const LOYALTY_TIMELINE_TYPES = {
  "order.recorded": "orderRecorded",
  "points.awarded": "awarded",
  "order.refunded": "refunded",
  "points.reversed": "reversed",
  "points.expired": "expired",
  "tier.changed": "tier",
  "adjustment.requested": "adjustmentRequested",
  "adjustment.approved": "adjustmentApproved",
  "adjustment.rejected": "adjustmentRejected",
  "points.adjusted": "adjusted",
  "redemption.held": "held",
  "redemption.captured": "captured",
  "redemption.released": "released",
  "points.sent": "sent",
  "points.received": "received",
} as const;
export type LoyaltyTimelineType = keyof typeof LOYALTY_TIMELINE_TYPES;

/** A catalogue key and its values: `count` (points) picks the plural form. */
export interface Words {
  key: string;
  values: Record<string, string | number>;
}

/** The entry's title, and further lines (the rules that awarded, the debt a reversal left…). */
export interface LoyaltyLine {
  title: Words;
  details: Words[];
}

export interface LoyaltyContext {
  /** The programme's point name ("points", "stars"). */
  pointName: string;
  language: string;
  /** Tier ids to names, as the programme gives them. */
  tierNames?: ReadonlyMap<string, string>;
  /** The programme's currency: a tier's spend figures are money in it. */
  currency?: string;
}

type Obj = Record<string, unknown>;
const objectOf = (x: unknown): Obj => (typeof x === "object" && x !== null ? (x as Obj) : {});
const str = (x: unknown): string => (typeof x === "string" ? x : "");
const num = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);

export const isLoyaltyType = (type: string): type is LoyaltyTimelineType =>
  Object.hasOwn(LOYALTY_TIMELINE_TYPES, type);

/** A loyalty entry in words, or undefined for any other type. */
export function loyaltyLine(
  type: string,
  payload: unknown,
  ctx: LoyaltyContext,
): LoyaltyLine | undefined {
  if (!isLoyaltyType(type)) return undefined;
  const p = objectOf(payload);
  const base = `timeline.loyalty.${LOYALTY_TIMELINE_TYPES[type]}`;
  const number = (n: number) => n.toLocaleString(ctx.language);
  /** `count` points, with the point name agreeing with it. */
  const points = (n: number) => ({
    count: n,
    points: number(n),
    pointName: pointNameFor(ctx.pointName, n, ctx.language),
  });
  const tier = (id: unknown) =>
    typeof id === "string" ? (ctx.tierNames?.get(id) ?? id) : undefined;
  const details: Words[] = [];
  switch (type) {
    case "order.recorded": {
      const currency = str(p.currency);
      const amount = currency
        ? formatMoney(num(p.amount), currency, ctx.language)
        : number(num(p.amount));
      const items = Array.isArray(p.items) ? p.items.length : 0;
      if (items > 0) details.push({ key: `${base}Items`, values: { count: items } });
      return { title: { key: base, values: { orderId: str(p.orderId), amount } }, details };
    }
    case "points.awarded": {
      const awards = Array.isArray(p.awards) ? p.awards.map(objectOf) : [];
      const rules = awards
        .filter((a) => num(a.points) > 0)
        .map((a) => `${str(a.rule)} v${num(a.version)}`);
      if (rules.length > 0)
        details.push({ key: `${base}Rules`, values: { rules: rules.join(", ") } });
      if (num(p.debtRepaid) > 0) {
        details.push({ key: `${base}DebtRepaid`, values: points(num(p.debtRepaid)) });
      }
      return {
        title: { key: base, values: { ...points(num(p.points)), orderId: str(p.orderId) } },
        details,
      };
    }
    case "order.refunded": {
      const before = num(p.pointsBefore);
      const after = num(p.pointsAfter);
      details.push({
        key: `${base}Points`,
        values: { before: number(before), after: number(after), pointName: ctx.pointName },
      });
      return {
        title: {
          key: p.full === true ? `${base}Full` : `${base}Part`,
          values: { orderId: str(p.orderId) },
        },
        details,
      };
    }
    case "points.reversed": {
      if (num(p.debt) > 0) details.push({ key: `${base}Debt`, values: points(num(p.debt)) });
      if (num(p.writtenOff) > 0) {
        details.push({ key: `${base}WrittenOff`, values: points(num(p.writtenOff)) });
      }
      return {
        title: { key: base, values: { ...points(num(p.points)), orderId: str(p.orderId) } },
        details,
      };
    }
    case "points.expired":
      return { title: { key: base, values: points(num(p.points)) }, details };
    case "tier.changed": {
      const none = (id: unknown) => tier(id) ?? "";
      const from = none(p.from);
      const to = none(p.to);
      const key =
        from === ""
          ? `${base}Reached`
          : to === ""
            ? `${base}Lost`
            : p.direction === "down"
              ? `${base}Down`
              : `${base}Up`;
      const q = objectOf(p.qualification);
      if (q.metric === "spend" || q.metric === "points") {
        const spend = q.metric === "spend";
        const show = (n: number) =>
          spend && ctx.currency ? formatMoney(n, ctx.currency, ctx.language) : number(n);
        details.push({
          key: `${base}${spend ? "Spend" : "Points"}`,
          values: {
            figure: show(num(q.figure)),
            threshold: show(num(q.threshold)),
            count: num(q.months),
            pointName: ctx.pointName,
          },
        });
      }
      return { title: { key, values: { from, to } }, details };
    }
    case "adjustment.requested": {
      if (p.pending === true) details.push({ key: `${base}Pending`, values: {} });
      return {
        title: {
          key: p.direction === "debit" ? `${base}Debit` : `${base}Credit`,
          values: { ...points(num(p.points)), reason: str(p.reason) },
        },
        details,
      };
    }
    case "adjustment.approved":
    case "adjustment.rejected":
      return { title: { key: base, values: { adjustmentId: str(p.adjustmentId) } }, details };
    case "points.adjusted":
      return {
        title: {
          key: p.direction === "debit" ? `${base}Debit` : `${base}Credit`,
          values: points(num(p.points)),
        },
        details,
      };
    case "redemption.held": {
      const currency = str(p.currency);
      const value = currency ? formatMoney(num(p.value), currency, ctx.language) : "";
      const reward = objectOf(p.reward);
      return {
        title: {
          key: p.kind === "reward" ? `${base}Reward` : `${base}Discount`,
          values: { ...points(num(p.points)), value, reward: str(reward.id) },
        },
        details,
      };
    }
    case "redemption.captured":
      if (typeof p.reference === "string") {
        details.push({ key: `${base}Reference`, values: { reference: p.reference } });
      }
      return { title: { key: base, values: points(num(p.points)) }, details };
    case "redemption.released":
      return {
        title: {
          key: p.reason === "expired" ? `${base}Expired` : base,
          values: points(num(p.points)),
        },
        details,
      };
    case "points.sent":
    case "points.received":
      return { title: { key: base, values: points(num(p.points)) }, details };
  }
}

import type { Redemption } from "./schemas.js";

// What the Send and Spend pages compute on their own, kept apart from the components to test.

const CUSTOMER_ID = /^c_[A-Za-z0-9_-]{1,64}$/;
export const MESSAGE_MAX = 500;

export interface TransferForm {
  to: string;
  points: string;
  message: string;
}

export type TransferProblems = Partial<Record<keyof TransferForm, string>>;

/** What is wrong with the form before anything is signed (catalogue keys), by field. */
export function transferProblems(
  form: TransferForm,
  me: string,
  balance: number,
): TransferProblems {
  const out: TransferProblems = {};
  const to = form.to.trim();
  if (!CUSTOMER_ID.test(to)) out.to = "loyalty.transfer.errors.to";
  else if (to === me) out.to = "loyalty.transfer.errors.self";
  const n = Number(form.points);
  if (!/^[0-9]+$/.test(form.points.trim()) || !Number.isSafeInteger(n) || n < 1) {
    out.points = "loyalty.transfer.errors.points";
  } else if (n > balance) out.points = "loyalty.transfer.errors.balance";
  if (form.message.trim().length > MESSAGE_MAX) out.message = "loyalty.transfer.errors.message";
  return out;
}

/** The worth of `points` at the programme's value, rounded down to a whole minor unit. */
export const worth = (points: number, valuePer100Points: number): number =>
  Math.floor((points * valuePer100Points) / 100);

/**
 * The fewest points a discount takes: those worth one minor unit at the programme's value (the
 * node refuses fewer, `discount_worthless`); null when points are worth nothing.
 */
export const minimumDiscount = (valuePer100Points: number): number | null =>
  valuePer100Points > 0 ? Math.ceil(100 / valuePer100Points) : null;

/** What is wrong with a discount's points before anything is signed (a catalogue key). */
export function discountProblem(
  points: string,
  balance: number,
  valuePer100Points: number,
): string | undefined {
  const n = /^[0-9]{1,9}$/.test(points.trim()) ? Number(points.trim()) : Number.NaN;
  if (Number.isNaN(n) || n < 1) return "loyalty.redeem.errors.points";
  const minimum = minimumDiscount(valuePer100Points);
  if (minimum === null || n < minimum) return "loyalty.redeem.errors.minimum";
  if (n > balance) return "loyalty.redeem.errors.balance";
  return undefined;
}

/** How many of a reward count toward its per-customer limit: held and captured redemptions. */
export const usedOf = (rewardId: string, list: readonly Redemption[]): number =>
  list.filter((r) => r.reward?.id === rewardId && (r.status === "held" || r.status === "captured"))
    .length;

/** "mm:ss" (or "h:mm:ss") left until `iso`, from `now`; null once it has passed. */
export function timeLeft(iso: string, now: number): string | null {
  const s = Math.floor((Date.parse(iso) - now) / 1000);
  if (!(s > 0)) return null;
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

// A change of what points are worth changes every customer's balance in money and the
// merchant's liability at once: the programme form asks before saving one that is large.

/** A change of the point value by more than this share (20 %) is confirmed before it is saved. */
export const VALUE_CHANGE_TO_CONFIRM = 0.2;

export interface PointValue {
  /** The worth of 100 points, in minor units of `currency`. */
  valuePer100Points: number;
  currency: string;
}

export interface ValueChange {
  before: PointValue;
  after: PointValue;
  /** The change in percent, rounded to a whole number; null when the currency changes too. */
  percent: number | null;
}

/**
 * The change of the point value from `before` to `after` when it needs a confirmation: by more
 * than VALUE_CHANGE_TO_CONFIRM either way, from or to nothing, or into another currency.
 * Undefined when it does not.
 */
export function valueChangeToConfirm(
  before: PointValue,
  after: PointValue,
): ValueChange | undefined {
  if (before.currency !== after.currency) return { before, after, percent: null };
  const from = before.valuePer100Points;
  const to = after.valuePer100Points;
  if (from === to) return undefined;
  if (from === 0) return { before, after, percent: null };
  const share = (to - from) / from;
  if (Math.abs(share) <= VALUE_CHANGE_TO_CONFIRM) return undefined;
  return { before, after, percent: Math.round(share * 100) };
}

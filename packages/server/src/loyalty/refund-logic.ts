import type { RuleContext, RuleVersion } from "@patron/rules";
import { awardOrder, type OrderFacts, orderPart } from "./evaluation.js";
import { type Take, takePoints, type Wallet } from "./lots.js";
import type { DebtPolicy } from "./programme.js";

type Items = OrderFacts["items"];

/**
 * The order net of a refund: all of it (`lines` null), or these lines taken off. Undefined when
 * a line returns more than remains of its sku (an over-refund) or names none.
 */
export function netAfter(
  net: { amount: number; items: Items },
  lines: readonly { sku: string; quantity: number }[] | null,
): { amount: number; items: Items; lines: { sku: string; quantity: number }[] } | undefined {
  if (lines === null) {
    const all = net.items
      .filter((i) => i.quantity > 0)
      .map((i) => ({ sku: i.sku, quantity: i.quantity }));
    if (net.amount === 0 && all.length === 0) return undefined;
    return { amount: 0, items: net.items.map((i) => ({ ...i, quantity: 0 })), lines: all };
  }
  const items = net.items.map((i) => ({ ...i }));
  let amount = net.amount;
  for (const line of lines) {
    let left = line.quantity;
    for (const item of items) {
      if (item.sku !== line.sku || left === 0) continue;
      const n = Math.min(item.quantity, left);
      item.quantity -= n;
      left -= n;
      amount -= n * item.unitPrice;
    }
    if (left > 0) return undefined;
  }
  return { amount: Math.max(0, amount), items, lines: lines.map((l) => ({ ...l })) };
}

/**
 * The awards over the net order: the order's recorded context with its `order` part replaced,
 * evaluated by the earning rules in force when the order was recorded. A full refund has none.
 */
export function recomputeNet(
  rules: readonly RuleVersion[],
  context: Record<string, unknown>,
  order: Omit<OrderFacts, "amount" | "items">,
  net: { amount: number; items: Items } | null,
): ReturnType<typeof awardOrder> | { awards: []; points: 0 } {
  if (net === null) return { awards: [], points: 0 };
  const c = {
    ...context,
    order: orderPart({
      ...order,
      amount: net.amount,
      items: net.items.filter((i) => i.quantity > 0),
    }),
  } as RuleContext;
  return awardOrder(rules, c);
}

/** The facts of an order other than its amount and items, from its context's `order` part. */
export function orderHead(context: Record<string, unknown>): Omit<OrderFacts, "amount" | "items"> {
  const o = context.order as { currency: string; channel: string; store?: string };
  return {
    currency: o.currency,
    channel: o.channel,
    ...(o.store === undefined ? {} : { store: o.store }),
  };
}

/**
 * Takes `points` back: from the order's lot first, then the lots spendable at `now` in spending
 * order (soonest expiry first, then oldest); the shortfall is a debt or written off by `policy`.
 */
export function reversePoints(
  wallet: Wallet,
  orderLot: bigint,
  points: number,
  now: number,
  policy: DebtPolicy,
): { taken: Take[]; debt: number; writtenOff: number; wallet: Wallet } {
  const r = takePoints(wallet, points, now, orderLot);
  const debt = policy === "recover" ? r.short : 0;
  const writtenOff = policy === "write_off" ? r.short : 0;
  return { taken: r.taken, debt, writtenOff, wallet: { ...r.wallet, debt: wallet.debt + debt } };
}

/**
 * A refund's net order: `netAfter`, and full when nothing is left of the items (a refund of
 * every line is a full refund: the order's awards all go, those of fixed rules too).
 */
export function refundNet(
  net: { amount: number; items: Items },
  lines: readonly { sku: string; quantity: number }[] | null,
): (NonNullable<ReturnType<typeof netAfter>> & { full: boolean }) | undefined {
  const after = netAfter(net, lines);
  if (!after) return undefined;
  if (lines !== null && !after.items.every((i) => i.quantity === 0)) {
    return { ...after, full: false };
  }
  return { ...after, amount: 0, full: true };
}

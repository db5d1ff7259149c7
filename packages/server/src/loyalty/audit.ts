import { canonicalJson, type Entry, type JsonValue } from "@patron/ledger";
import {
  type Award,
  checkAward,
  EvaluationError,
  type RuleContext,
  RuleValidationError,
  type RuleVersion,
  ruleVersion,
  timeContext,
} from "@patron/rules";
import type { ZodType } from "zod";
import type { DomainAuditor } from "../ledger/audit-entries.js";
import {
  ORDER_RECORDED,
  ORDER_REFUNDED,
  OrderRecordedPayload,
  OrderRefundedPayload,
  POINTS_AWARDED,
  POINTS_EXPIRED,
  POINTS_REVERSED,
  PointsAwardedPayload,
  PointsExpiredPayload,
  PointsReversedPayload,
  PROGRAMME_SET,
  ProgrammeSetPayload,
  RULE_PUBLISHED,
  RULE_RETIRED,
  RulePublishedPayload,
  RuleRetiredPayload,
  TIER_CHANGED,
  TierChangedPayload,
} from "./entries.js";
import {
  addUsage,
  awardOrder,
  DAY_MS,
  earning,
  ORDER_EVENT,
  orderPart,
  type UsageHistory,
  usagePart,
} from "./evaluation.js";
import {
  activeUntil,
  expiryAwards,
  lotExpiry,
  ownExpiry,
  renewLots,
  takeExpired,
} from "./expiry.js";
import { walletOfLots } from "./lots.js";
import { MovesAuditor } from "./moves-audit.js";
import { DEFAULT_PROGRAMME, type Programme } from "./programme.js";
import { redemptionAuditor } from "./redemption-audit.js";
import { orderHead, recomputeNet, refundNet, reversePoints } from "./refund-logic.js";
import { RuleBook } from "./rulebook.js";
import { netOf, type OrderState } from "./state.js";
import {
  addActivity,
  contextTier,
  refundActivity,
  type TierAccount,
  tierDecision,
} from "./tiers.js";

interface Lot {
  points: number;
  remaining: number;
  availableAt: number;
  expiresAt: number | null;
  fixedExpiresAt: number | null;
}

interface AuditedAccount {
  orders: number;
  usage: UsageHistory;
  lots: Map<bigint, Lot>;
  debt: number;
  /** The tier and the orders that count for one, as tier.changed entries and orders leave them. */
  tiers: TierAccount;
}

/** The account's lots with points left as a wallet, in index order. */
const walletOf = (a: AuditedAccount) => walletOfLots(a.lots, a.debt);

const same = (a: unknown, b: unknown) =>
  canonicalJson(a as JsonValue) === canonicalJson(b as JsonValue);

/**
 * The loyalty domain's invariants over the log, from its entries alone:
 *
 * - every published rule version is a valid document that hashes to the hash it carries,
 *   numbered one after the last, and takes effect no earlier than it was published;
 *   retirements end a published rule;
 * - one order per merchant order id, each followed at once by its one `points.awarded` entry;
 * - every award is re-executed from its published rule version and its recorded inputs
 *   (`checkAward`), and must name the version in force at the order's time;
 * - the recorded context is what the log gives: the order's facts, its time at the recorded UTC
 *   offset, the customer's earlier orders and every capped rule's usage (segments are taken as
 *   recorded); and the rules in force over that context give exactly the awards recorded;
 * - the points add up, and the lot is pending for the programme's return window;
 * - every lot's expiry is what the `expiry` rules in force (re-executed over the context) or
 *   else the programme's policy give; under `inactivity` each order renews the unexpired lots;
 * - every `points.expired` entry names exactly the customer's lots expired at its time, with the
 *   points they held; every `tier.changed` entry is the change the programme's tiers give over
 *   the customer's orders (net of refunds) at its time, with its figure and window, and each
 *   order's context carries the tier the log gives;
 * - redemptions re-executed (redemption-audit.ts): holds, captures, releases and timeouts;
 * - transfers and adjustments are re-executed as moves-audit.ts says;
 * - no available balance is negative, and the points issued less those burned (captured),
 *   expired and reversed equal the balances plus the points held, less debt and what was
 *   written off. Staff credits count as issued and debits as burned, each its own term
 *   (`credited`, `debited`); a transfer moves points between balances, its `sent` and
 *   `received` sides cancelling out.
 */
export function loyaltyAuditor(): DomainAuditor {
  const programmes = new Map<string, Programme>();
  const books = new Map<string, RuleBook>();
  /** Every version published, by merchant, rule and version. */
  const versions = new Map<string, RuleVersion>();
  const orders = new Map<string, bigint>();
  const accounts = new Map<string, AuditedAccount>();
  let waiting: { index: bigint; order: OrderRecordedPayload } | undefined;
  /** An award that changes its customer's tier, waiting for its tier.changed entry. */
  let promoting:
    | { index: bigint; orderId: string; merchantId: string; customerId: string }
    | undefined;
  /** A refund checked, waiting for its points.reversed entry. */
  let refunding: { index: bigint; p: OrderRefundedPayload; order: OrderState } | undefined;
  /** Each order as refunds see it, by merchant and order id. */
  const refundable = new Map<string, OrderState>();
  const totals = {
    issued: 0,
    burned: 0,
    expired: 0,
    reversed: 0,
    writtenOff: 0,
    credited: 0,
    debited: 0,
    sent: 0,
    received: 0,
  };
  let lastTime = 0;
  const redemptions = redemptionAuditor({
    account: (m, c) => account(m, c),
    programme: (m) => programmes.get(m) ?? DEFAULT_PROGRAMME,
    burned: (points) => {
      totals.burned += points;
    },
  });

  const account = (merchantId: string, customerId: string) => {
    const key = `${merchantId}\u0000${customerId}`;
    let a = accounts.get(key);
    if (!a) {
      a = {
        orders: 0,
        usage: new Map(),
        lots: new Map(),
        debt: 0,
        tiers: { tier: null, orders: [] },
      };
      accounts.set(key, a);
    }
    return a;
  };
  const moves = new MovesAuditor({
    lots: (merchantId, customerId) => account(merchantId, customerId).lots,
    repay: (merchantId, customerId, points) => {
      const a = account(merchantId, customerId);
      const repaid = Math.min(a.debt, points);
      a.debt -= repaid;
      return repaid;
    },
    programme: (merchantId) => programmes.get(merchantId) ?? DEFAULT_PROGRAMME,
    totals,
  });

  return {
    visit(index, entry, report) {
      const at = index.toString();
      const problem = (message: string, where = at) =>
        report({ kind: "invariant", at: where, message: `${entry.type}: ${message}` });
      const time = Date.parse(entry.time);
      lastTime = Math.max(lastTime, time);
      if (waiting && entry.type !== POINTS_AWARDED) {
        report({
          kind: "invariant",
          at: waiting.index.toString(),
          message: `order.recorded: order ${waiting.order.orderId} is not followed by its points.awarded entry`,
        });
        waiting = undefined;
      }
      if (refunding && entry.type !== POINTS_REVERSED) {
        report({
          kind: "invariant",
          at: refunding.index.toString(),
          message: `order.refunded: the refund of order ${refunding.p.orderId} is not followed by its points.reversed entry`,
        });
        refunding = undefined;
      }
      if (promoting) {
        const p = promoting;
        promoting = undefined;
        const next = entry.payload as { merchantId?: unknown; customerId?: unknown } | null;
        if (
          entry.type !== TIER_CHANGED ||
          next?.merchantId !== p.merchantId ||
          next?.customerId !== p.customerId
        ) {
          report({
            kind: "invariant",
            at: p.index.toString(),
            message: `points.awarded: order ${p.orderId} changes its customer's tier, but is not followed by their tier.changed entry`,
          });
        }
      }
      moves.before(entry, report);
      if (redemptions.types.includes(entry.type)) {
        redemptions.visit(index, entry, time, (m) => problem(m));
        return;
      }
      if (moves.visit(index, time, entry, problem)) return;
      switch (entry.type) {
        case PROGRAMME_SET: {
          const p = parse(ProgrammeSetPayload, entry, problem);
          if (p) programmes.set(p.merchantId, p.programme as Programme);
          return;
        }
        case RULE_PUBLISHED: {
          const p = parse(RulePublishedPayload, entry, problem);
          if (!p) return;
          const book = books.get(p.merchantId) ?? new RuleBook();
          const t = book.get(p.ruleId);
          if (p.version !== (t?.latest ?? 0) + 1) {
            problem(`rule ${p.ruleId} version ${p.version} does not follow ${t?.latest ?? 0}`);
          }
          const from = Date.parse(p.effectiveFrom);
          if (from < time) problem(`rule ${p.ruleId} takes effect before it was published`);
          let rv: RuleVersion;
          try {
            rv = ruleVersion(p.ruleId, p.version, p.document, p.hash);
          } catch (err) {
            if (!(err instanceof RuleValidationError)) throw err;
            problem(`rule ${p.ruleId} version ${p.version}: ${err.message}`);
            return;
          }
          versions.set(`${p.merchantId}\u0000${p.ruleId}\u0000${p.version}`, rv);
          books.set(
            p.merchantId,
            book.apply(p.ruleId, { kind: "published", version: p.version, from, index }, rv),
          );
          return;
        }
        case RULE_RETIRED: {
          const p = parse(RuleRetiredPayload, entry, problem);
          if (!p) return;
          const book = books.get(p.merchantId) ?? new RuleBook();
          const t = book.get(p.ruleId);
          if (!t || t.events.length === 0) {
            problem(`rule ${p.ruleId} was never published`);
            return;
          }
          const from = Date.parse(p.effectiveFrom);
          // Sooner than a retirement still scheduled replaces it; at or after one, it changes nothing.
          if (book.retiredFrom(p.ruleId, from)) problem(`rule ${p.ruleId} is already retired`);
          if (p.version !== t.latest) {
            problem(`names version ${p.version}, but the latest of ${p.ruleId} is ${t.latest}`);
          }
          if (from < time) problem(`rule ${p.ruleId} is retired before the retirement was written`);
          books.set(
            p.merchantId,
            book.apply(p.ruleId, { kind: "retired", version: t.latest, from, index }),
          );
          return;
        }
        case ORDER_RECORDED: {
          const p = parse(OrderRecordedPayload, entry, problem);
          if (!p) return;
          const key = `${p.merchantId}\u0000${p.orderId}`;
          const first = orders.get(key);
          if (first !== undefined) {
            problem(`order ${p.orderId} was already recorded at entry ${first}`);
          } else {
            orders.set(key, index);
          }
          waiting = { index, order: p };
          return;
        }
        case POINTS_AWARDED: {
          const p = parse(PointsAwardedPayload, entry, problem);
          const order = waiting;
          waiting = undefined;
          if (!p) return;
          if (
            !order ||
            order.index !== index - 1n ||
            BigInt(p.order) !== order.index ||
            order.order.merchantId !== p.merchantId ||
            order.order.customerId !== p.customerId ||
            order.order.orderId !== p.orderId
          ) {
            problem(`the award set of order ${p.orderId} does not follow that order's entry`);
            return;
          }
          checkAwards(index, time, order.order, p, problem);
          // The order's tier change is part of its command: the next entry.
          if (
            tierDecision(
              (programmes.get(p.merchantId) ?? DEFAULT_PROGRAMME).tiers,
              account(p.merchantId, p.customerId).tiers,
              time,
            )
          ) {
            promoting = {
              index,
              orderId: p.orderId,
              merchantId: p.merchantId,
              customerId: p.customerId,
            };
          }
          return;
        }
        case ORDER_REFUNDED: {
          const p = parse(OrderRefundedPayload, entry, problem);
          if (!p) return;
          const order = refundable.get(`${p.merchantId}\u0000${p.orderId}`);
          if (!order || order.customerId !== p.customerId || BigInt(p.awarded) !== order.awarded) {
            problem(`refunds order ${p.orderId}, which has no award set for this customer`);
            return;
          }
          checkRefund(p, order, problem);
          refunding = { index, p, order };
          return;
        }
        case POINTS_REVERSED: {
          const p = parse(PointsReversedPayload, entry, problem);
          const refund = refunding;
          refunding = undefined;
          if (!p) return;
          if (
            !refund ||
            refund.index !== index - 1n ||
            BigInt(p.refund) !== refund.index ||
            refund.p.merchantId !== p.merchantId ||
            refund.p.customerId !== p.customerId ||
            refund.p.orderId !== p.orderId
          ) {
            problem(`the reversal of order ${p.orderId} does not follow its refund's entry`);
            return;
          }
          checkReversal(time, refund.p, refund.order, p, problem);
          return;
        }
        case POINTS_EXPIRED: {
          const p = parse(PointsExpiredPayload, entry, problem);
          if (p) checkExpiry(time, p, problem);
          return;
        }
        case TIER_CHANGED: {
          const p = parse(TierChangedPayload, entry, problem);
          if (p) checkTierChange(time, p, problem);
          return;
        }
      }
    },

    finish(report) {
      moves.finish(report);
      if (promoting) {
        report({
          kind: "invariant",
          at: promoting.index.toString(),
          message: `points.awarded: order ${promoting.orderId} changes its customer's tier, but is not followed by their tier.changed entry`,
        });
      }
      if (refunding) {
        report({
          kind: "invariant",
          at: refunding.index.toString(),
          message: `order.refunded: the refund of order ${refunding.p.orderId} is not followed by its points.reversed entry`,
        });
      }
      if (waiting) {
        report({
          kind: "invariant",
          at: waiting.index.toString(),
          message: `order.recorded: order ${waiting.order.orderId} is not followed by its points.awarded entry`,
        });
      }
      let balances = 0;
      let debt = 0;
      for (const [key, a] of accounts) {
        let available = 0;
        for (const lot of a.lots.values()) {
          balances += lot.remaining;
          const live = lot.expiresAt === null || lot.expiresAt > lastTime;
          if (lot.availableAt <= lastTime && live) available += lot.remaining;
        }
        debt += a.debt;
        if (available < 0) {
          report({
            kind: "invariant",
            at: key.replace("\u0000", "/"),
            message: `the available balance is negative (${available})`,
          });
        }
      }
      // A reversal takes what it can from lots; the rest is owed (debt) or written off. Held
      // points are out of the lots until captured (burned) or released (back in their lots).
      const held = redemptions.held();
      const net =
        totals.issued +
        totals.credited -
        totals.burned -
        totals.debited -
        totals.expired -
        totals.reversed +
        (totals.received - totals.sent);
      const right = balances + held - debt - totals.writtenOff;
      if (net !== right) {
        report({
          kind: "invariant",
          at: "loyalty",
          message: `points issued and credited less burned, debited, expired and reversed, with ${totals.sent} sent and ${totals.received} received (${net}), differ from the balances plus held less debt and written off (${right})`,
        });
      }
    },
  };

  function checkAwards(
    index: bigint,
    time: number,
    order: OrderRecordedPayload,
    p: PointsAwardedPayload,
    problem: (message: string) => void,
  ): void {
    const { merchantId, customerId } = p;
    const programme = programmes.get(merchantId) ?? DEFAULT_PROGRAMME;
    const book = books.get(merchantId) ?? new RuleBook();
    const rules = earning(book.inForce(time));
    const a = account(merchantId, customerId);

    // Each award, re-executed from its published version and its recorded inputs.
    for (const [n, award] of p.awards.entries()) {
      const name = `award ${n} (rule ${award.rule} v${award.version})`;
      const rv = versions.get(`${merchantId}\u0000${award.rule}\u0000${award.version}`);
      if (!rv) {
        problem(`${name} names a rule version that was never published`);
        continue;
      }
      if (book.versionAt(award.rule, time) !== rv) {
        problem(`${name} was not the version in force when the order was recorded`);
      }
      let checked: ReturnType<typeof checkAward>;
      try {
        checked = checkAward(rv, award as Award);
      } catch (err) {
        problem(`${name} cannot be recomputed: ${(err as Error).message}`);
        continue;
      }
      if (!checked.ok) problem(`${name} differs when recomputed: ${checked.problems.join("; ")}`);
    }

    // The context, as the log gives it.
    const c = p.context as Record<string, unknown>;
    const recordedTime = c.time as { offset?: unknown } | undefined;
    const offset = recordedTime?.offset;
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || Math.abs(offset) >= 1440) {
      problem("its context has no valid time.offset");
      return;
    }
    const expected = {
      order: orderPart(order),
      event: { ...ORDER_EVENT },
      time: timeContext(time, offset),
      usage: usagePart(rules, a.usage, time, offset),
    };
    for (const [part, value] of Object.entries(expected)) {
      if (!same(c[part], value)) problem(`its context's ${part} is not what the log gives`);
    }
    const customer = c.customer as
      | { orders?: unknown; segments?: unknown; tier?: unknown }
      | undefined;
    if (customer?.orders !== a.orders) {
      problem(`its context says ${customer?.orders} earlier orders; the log has ${a.orders}`);
    }
    const tier = contextTier(programme, a.tiers.tier);
    if (customer?.tier !== tier) {
      problem(`its context says tier ${customer?.tier ?? "none"}; the log gives ${tier ?? "none"}`);
    }
    const extra = Object.keys(c).filter(
      (k) => !["order", "customer", "event", "time", "usage"].includes(k),
    );
    if (extra.length > 0) problem(`its context has parts no order has: ${extra.join(", ")}`);

    // The rules in force over that context give exactly these awards.
    try {
      const again = awardOrder(rules, p.context as RuleContext);
      if (!same(again.awards, p.awards)) {
        problem("its awards are not what the rules in force give over its context");
      }
    } catch (err) {
      if (!(err instanceof EvaluationError) && !(err instanceof RangeError)) throw err;
      problem(`its context cannot be evaluated: ${err.message}`);
    }

    // Its expiry: the expiry rules in force over the context, else the programme's policy.
    let expiry: ReturnType<typeof expiryAwards> = [];
    try {
      expiry = expiryAwards(book.inForce(time), p.context as RuleContext);
    } catch (err) {
      if (!(err instanceof EvaluationError) && !(err instanceof RangeError)) throw err;
    }
    if (!same(expiry, p.expiryAwards ?? [])) {
      problem("its expiry awards are not what the expiry rules in force give over its context");
    }
    const own = ownExpiry(programme.expiry, time, offset, p.expiryAwards ?? []);
    const until = activeUntil(programme.expiry, time, offset);
    const expiresAt = lotExpiry(own, until);
    const isoOf = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    if ((p.activeUntil ?? null) !== isoOf(until)) {
      problem(
        `its activeUntil is ${p.activeUntil ?? "absent"}, the programme gives ${isoOf(until) ?? "none"}`,
      );
    }
    if (p.lot) {
      const e = p.lot.expiresAt === null ? null : Date.parse(p.lot.expiresAt);
      if (e !== expiresAt) {
        problem(`its lot expires at ${p.lot.expiresAt}, not ${isoOf(expiresAt) ?? "never"}`);
      }
      const ownRecorded =
        p.lot.ownExpiresAt === undefined
          ? e
          : p.lot.ownExpiresAt === null
            ? null
            : Date.parse(p.lot.ownExpiresAt);
      if (until !== null && ownRecorded !== own) {
        problem(`its lot's own expiry is ${p.lot.ownExpiresAt}, not ${isoOf(own) ?? "never"}`);
      }
    }
    // An order under the inactivity policy keeps the customer's unexpired lots alive.
    if (until !== null) {
      for (const l of renewLots(walletOf(a), time, until).lots) {
        const lot = a.lots.get(l.lot);
        if (lot) lot.expiresAt = l.expiresAt;
      }
    }

    let points = 0;
    for (const award of p.awards) points += award.points;
    if (points !== p.points) problem(`its awards add up to ${points}, not ${p.points}`);
    if (p.points > 0) {
      const availableAt = time + programme.returnWindowDays * DAY_MS;
      if (!p.lot || p.lot.points !== p.points) {
        problem(`its lot does not hold its ${p.points} points`);
      } else if (Date.parse(p.lot.availableAt) !== availableAt) {
        problem(
          `its lot is available at ${p.lot.availableAt}, not after the return window (${new Date(availableAt).toISOString()})`,
        );
      }
    } else if (p.lot !== null) {
      problem("it has a lot without points");
    }

    // The points repay the customer's debt first.
    const repaid = Math.min(a.debt, p.points);
    if ((p.debtRepaid ?? 0) !== repaid) {
      problem(`it repays ${p.debtRepaid ?? 0} points of debt, not ${repaid}`);
    }
    a.debt -= repaid;
    a.orders++;
    a.usage = addUsage(a.usage, p.awards, time);
    a.tiers = addActivity(a.tiers, {
      orderId: p.orderId,
      time,
      points: p.points,
      amount: order.amount,
    });
    if (p.lot) {
      const recordedExpiry = p.lot.expiresAt === null ? null : Date.parse(p.lot.expiresAt);
      a.lots.set(index, {
        points: p.lot.points,
        remaining: p.lot.points - repaid,
        availableAt: Date.parse(p.lot.availableAt),
        expiresAt: recordedExpiry,
        fixedExpiresAt:
          p.lot.ownExpiresAt === undefined
            ? recordedExpiry
            : p.lot.ownExpiresAt === null
              ? null
              : Date.parse(p.lot.ownExpiresAt),
      });
      totals.issued += p.lot.points;
    }
    refundable.set(`${merchantId}\u0000${p.orderId}`, {
      customerId,
      awarded: index,
      time,
      context: p.context,
      net: netOf(p.context),
      points: p.points,
    });
  }

  /** A refund re-executed: its net order, and the awards over it by the order's rule versions. */
  function checkRefund(
    p: OrderRefundedPayload,
    order: OrderState,
    problem: (message: string) => void,
  ): void {
    const after = refundNet(order.net, p.lines);
    if (!after) {
      problem(`it refunds more of order ${p.orderId} than remained unrefunded`);
      return;
    }
    const full = after.full;
    if (full !== p.full || !same(p.net, { amount: after.amount, items: after.items })) {
      problem("its net order is not the order less its refunds");
    }
    if (p.pointsBefore !== order.points) {
      problem(`it says the order had ${p.pointsBefore} points, the log gives ${order.points}`);
    }
    const book = books.get(p.merchantId) ?? new RuleBook();
    try {
      const again = recomputeNet(
        earning(book.inForce(order.time)),
        order.context,
        orderHead(order.context),
        full ? null : after,
      );
      if (!same(again.awards, p.awards)) {
        problem("its awards are not what the order's rules give over the net order");
      }
      if (p.pointsAfter !== Math.min(order.points, again.points)) {
        problem(`it leaves ${p.pointsAfter} points, the recomputation ${again.points}`);
      }
    } catch (err) {
      if (!(err instanceof EvaluationError) && !(err instanceof RangeError)) throw err;
      problem(`its net order cannot be evaluated: ${err.message}`);
    }
  }

  /** A reversal re-executed over the customer's lots, and applied. */
  function checkReversal(
    time: number,
    refund: OrderRefundedPayload,
    order: OrderState,
    p: PointsReversedPayload,
    problem: (message: string) => void,
  ): void {
    const a = account(p.merchantId, p.customerId);
    const programme = programmes.get(p.merchantId) ?? DEFAULT_PROGRAMME;
    const points = refund.pointsBefore - refund.pointsAfter;
    if (p.points !== points) problem(`it reverses ${p.points} points, the refund ${points}`);
    const wallet = walletOf(a);
    const r = reversePoints(wallet, order.awarded, p.points, time, programme.debtPolicy);
    if (!same(r.taken, p.taken) || r.debt !== p.debt || r.writtenOff !== p.writtenOff) {
      problem(
        "it does not take the points from the order's lot, then the spendable ones soonest expiring first, the rest as the policy says",
      );
    }
    // Applied as recorded, so one bad entry is named once.
    let taken = 0;
    for (const t of p.taken) {
      const lot = a.lots.get(BigInt(t.lot));
      if (!lot) {
        problem(`it takes from lot ${t.lot}, which is not the customer's`);
        continue;
      }
      lot.remaining -= t.points;
      taken += t.points;
      if (lot.remaining < 0) problem(`lot ${t.lot} is left with ${lot.remaining} points`);
    }
    if (taken + p.debt + p.writtenOff !== p.points) {
      problem(`it takes ${taken}, owes ${p.debt} and writes off ${p.writtenOff}, not ${p.points}`);
    }
    a.debt += p.debt;
    a.tiers = refundActivity(a.tiers, p.orderId, {
      points: refund.pointsAfter,
      amount: refund.net.amount,
    });
    totals.reversed += p.points;
    totals.writtenOff += p.writtenOff;
    refundable.set(`${p.merchantId}\u0000${p.orderId}`, {
      ...order,
      net: refund.net,
      points: refund.pointsAfter,
    });
  }

  /** An expiry re-executed: exactly the customer's lots expired at its time, and their points. */
  function checkExpiry(
    time: number,
    p: PointsExpiredPayload,
    problem: (message: string) => void,
  ): void {
    const a = account(p.merchantId, p.customerId);
    const expected = takeExpired(walletOf(a), time).lots.map((l) => ({
      ...l,
      expiresAt: new Date(l.expiresAt).toISOString(),
    }));
    if (!same(expected, p.lots)) {
      problem(
        `it expires ${canonicalJson(p.lots as unknown as JsonValue)}; the lots expired at its time are ${canonicalJson(expected as unknown as JsonValue)}`,
      );
    }
    let points = 0;
    for (const l of p.lots) {
      const lot = a.lots.get(BigInt(l.lot));
      points += l.points;
      if (!lot) {
        problem(`it expires lot ${l.lot}, which is not the customer's`);
        continue;
      }
      lot.remaining -= l.points;
      if (lot.remaining < 0) problem(`lot ${l.lot} is left with ${lot.remaining} points`);
    }
    if (points !== p.points) problem(`its lots add up to ${points}, not ${p.points}`);
    totals.expired += p.points;
  }

  /** A tier change re-executed over the customer's orders at its time. */
  function checkTierChange(
    time: number,
    p: TierChangedPayload,
    problem: (message: string) => void,
  ): void {
    const a = account(p.merchantId, p.customerId);
    const programme = programmes.get(p.merchantId) ?? DEFAULT_PROGRAMME;
    const d = tierDecision(programme.tiers, a.tiers, time);
    const { merchantId: _m, customerId: _c, trigger: _t, ...recorded } = p;
    if (!d) {
      problem(`the customer keeps tier ${a.tiers.tier ?? "none"} at its time`);
    } else if (!same(d, recorded)) {
      problem(
        `it changes tier ${p.from ?? "none"} to ${p.to ?? "none"} on ${p.qualification.figure}; the log gives ${d.from ?? "none"} to ${d.to ?? "none"} on ${d.qualification.figure}`,
      );
    }
    a.tiers = { ...a.tiers, tier: p.to };
  }
}

/** A payload parsed by its schema, or a problem naming the first fault. */
function parse<T>(
  schema: ZodType<T>,
  entry: Entry,
  problem: (message: string) => void,
): T | undefined {
  const r = schema.safeParse(entry.payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  problem(`malformed payload at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  return undefined;
}

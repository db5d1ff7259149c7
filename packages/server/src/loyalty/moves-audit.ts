import { canonicalJson, type Entry, type JsonValue } from "@patron/ledger";
import type { ZodType } from "zod";
import { KEY_BOUND, KEY_RETIRED } from "../identity/entries.js";
import type { AuditProblem } from "../ledger/audit.js";
import {
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  ADJUSTMENT_REQUESTED,
  AdjustmentDecidedPayload,
  AdjustmentRequestedPayload,
  POINTS_ADJUSTED,
  PointsAdjustedPayload,
} from "./adjustment-entries.js";
import { policyExpiry } from "./expiry.js";
import { takePoints, type Wallet, walletOfLots } from "./lots.js";
import { approvalThreshold, type Programme } from "./programme.js";
import {
  type LotPayload,
  POINTS_RECEIVED,
  POINTS_SENT,
  PointsReceivedPayload,
  PointsSentPayload,
  TRANSFER_COMMAND,
  TransferCommandPayload,
} from "./transfer-entries.js";
import { dayStart, lotPayload, receivedLot, transferRefusal } from "./transfers.js";

/** A lot as the auditor keeps it (audit.ts). */
export interface AuditedLot {
  points: number;
  remaining: number;
  availableAt: number;
  expiresAt: number | null;
  /** Its own expiry, which renewals never push past (received: at most what it was sent with). */
  fixedExpiresAt?: number | null;
}

/** The totals the points invariant is checked with; transfers and adjustments add theirs. */
export interface MoveTotals {
  /** Points credited by staff: issued, as awards are. */
  credited: number;
  /** Points debited by staff: spent, as burned points are. */
  debited: number;
  /** Points sent and received: equal when every transfer has both sides. */
  sent: number;
  received: number;
}

interface Deps {
  lots(merchantId: string, customerId: string): Map<bigint, AuditedLot>;
  /** Repays up to `points` of the customer's debt; how much it repaid. */
  repay(merchantId: string, customerId: string, points: number): number;
  programme(merchantId: string): Programme;
  totals: MoveTotals;
}

interface Adjustment {
  customerId: string;
  direction: "credit" | "debit";
  points: number;
  status: "pending" | "applied" | "approved" | "rejected";
  requestedBy: string;
  request: bigint;
}

const same = (a: unknown, b: unknown) =>
  canonicalJson(a as JsonValue) === canonicalJson(b as JsonValue);

/**
 * The auditor of transfers and adjustments, inside the loyalty auditor (audit.ts): it
 * re-executes each one from the log alone.
 *
 * - A `points.sent` entry keeps a customer's `points.transfer` command for this merchant, signed
 *   (the ledger audit checks the signature and the nonce) by a key bound to the sender when it
 *   was written, as the identity entries say; its points are the command's; the programme
 *   allowed it within its limits; the points are taken from the sender's spendable lots
 *   soonest-expiring first, with none short. It is followed at once by its `points.received`
 *   entry for the command's `to`, another customer, whose lot holds the same points, available
 *   and expiring as the programme (its expiry policy as of the receipt) and the lots taken say,
 *   its points repaying the receiver's debt first, as earned points do. A message's commitment
 *   is on both sides or neither, as the command's `attached` says.
 * - An adjustment waits when its points exceed the programme's threshold, and only then; a
 *   decision is by another actor than the requester, about a pending adjustment; each applied
 *   adjustment (at once, or approved) is followed at once by its `points.adjusted` entry: a
 *   credit makes a lot available at once and expiring by the programme's policy as of then, its
 *   points repaying the customer's debt first; a debit takes points as `takePoints` does, none
 *   short.
 */
export class MovesAuditor {
  private readonly bindings = new Map<string, { party: string; active: boolean }>();
  private readonly days = new Map<string, { points: number; count: number }>();
  private readonly adjustments = new Map<string, Adjustment>();
  private sending:
    | {
        index: bigint;
        p: PointsSentPayload;
        to: string;
        hasMessage: boolean;
        lots: { lot: bigint; expiresAt: number | null }[];
      }
    | undefined;
  private applying: { index: bigint; merchantId: string; id: string } | undefined;

  constructor(private readonly d: Deps) {}

  /** Reports a transfer or an adjustment left without its next entry. */
  before(entry: Entry | undefined, report: (p: AuditProblem) => void): void {
    if (this.sending && entry?.type !== POINTS_RECEIVED) {
      report({
        kind: "invariant",
        at: this.sending.index.toString(),
        message: `points.sent: transfer ${this.sending.p.transferId} is not followed by its points.received entry`,
      });
      this.sending = undefined;
    }
    if (this.applying && entry?.type !== POINTS_ADJUSTED) {
      report({
        kind: "invariant",
        at: this.applying.index.toString(),
        message: `adjustment ${this.applying.id} is not followed by its points.adjusted entry`,
      });
      this.applying = undefined;
    }
  }

  /** Checks and applies one entry; false when it is not one of these types. */
  visit(index: bigint, time: number, entry: Entry, problem: (message: string) => void): boolean {
    switch (entry.type) {
      case KEY_BOUND:
      case KEY_RETIRED: {
        const p = entry.payload as { merchantId?: unknown; customerId?: unknown; key?: unknown };
        if (typeof p?.key === "string" && typeof p.merchantId === "string") {
          this.bindings.set(`${p.merchantId}\u0000${p.key}`, {
            party: String(p.customerId),
            active: entry.type === KEY_BOUND,
          });
        }
        // The identity domain audits these entries; loyalty only remembers who signs for whom.
        return false;
      }
      case POINTS_SENT:
        this.sent(index, time, entry, problem);
        return true;
      case POINTS_RECEIVED:
        this.received(index, time, entry, problem);
        return true;
      case ADJUSTMENT_REQUESTED:
        this.requested(index, entry, problem);
        return true;
      case ADJUSTMENT_APPROVED:
      case ADJUSTMENT_REJECTED:
        this.decided(index, entry, problem);
        return true;
      case POINTS_ADJUSTED:
        this.adjusted(index, time, entry, problem);
        return true;
      default:
        return false;
    }
  }

  finish(report: (p: AuditProblem) => void): void {
    this.before(undefined, report);
  }

  private wallet(merchantId: string, customerId: string): Wallet {
    return walletOfLots(this.d.lots(merchantId, customerId), 0);
  }

  /** Takes recorded points from the customer's lots, naming lots that are not theirs. */
  private take(
    merchantId: string,
    customerId: string,
    taken: readonly { lot: number; points: number }[],
    problem: (message: string) => void,
  ): number {
    const lots = this.d.lots(merchantId, customerId);
    let sum = 0;
    for (const t of taken) {
      const lot = lots.get(BigInt(t.lot));
      if (!lot) {
        problem(`it takes from lot ${t.lot}, which is not the customer's`);
        continue;
      }
      lot.remaining -= t.points;
      sum += t.points;
      if (lot.remaining < 0) problem(`lot ${t.lot} is left with ${lot.remaining} points`);
    }
    return sum;
  }

  private sent(index: bigint, time: number, entry: Entry, problem: (message: string) => void) {
    const p = parse(PointsSentPayload, entry, problem);
    if (!p) return;
    const signed = entry.signed?.command;
    const command =
      signed?.type === TRANSFER_COMMAND ? TransferCommandPayload.safeParse(signed.payload) : null;
    if (!signed || !command?.success) {
      problem("it does not keep a customer's signed points.transfer command");
      return;
    }
    const { to, points } = command.data;
    if (signed.merchant !== p.merchantId) problem("its command is addressed to another merchant");
    const binding = this.bindings.get(`${p.merchantId}\u0000${signed.actor}`);
    if (!binding?.active || binding.party !== p.customerId) {
      problem(`its command is signed by a key that was not the sender's (${p.customerId})`);
    }
    if (points !== p.points) problem(`it sends ${p.points} points, the command ${points}`);
    if (to === p.customerId) problem("the sender sends points to themselves");
    if ((p.message !== undefined) !== (command.data.attached !== undefined)) {
      problem("its message commitment does not match the command's attached values");
    }
    const programme = this.d.programme(p.merchantId);
    const day = `${p.merchantId}\u0000${p.customerId}\u0000${dayStart(time, programme.timeZone)}`;
    const today = this.days.get(day) ?? { points: 0, count: 0 };
    const refused = transferRefusal(programme, p.points, today);
    if (refused) problem(`the programme did not allow it: ${refused.code}`);
    this.days.set(day, { points: today.points + p.points, count: today.count + 1 });
    const wallet = this.wallet(p.merchantId, p.customerId);
    const again = takePoints(wallet, p.points, time);
    if (again.short > 0) {
      problem(`it sends ${p.points} points, but only ${p.points - again.short} were available`);
    }
    if (!same(again.taken, p.taken)) {
      problem("it does not take the points from the spendable lots soonest expiring first");
    }
    const lots = wallet.lots.map((l) => ({ lot: l.lot, expiresAt: l.expiresAt }));
    const taken = this.take(p.merchantId, p.customerId, p.taken, problem);
    if (taken !== p.points) problem(`it takes ${taken} points from lots, not ${p.points}`);
    this.d.totals.sent += p.points;
    this.sending = { index, p, to, hasMessage: p.message !== undefined, lots };
  }

  private received(index: bigint, time: number, entry: Entry, problem: (message: string) => void) {
    const p = parse(PointsReceivedPayload, entry, problem);
    const s = this.sending;
    this.sending = undefined;
    if (!p) return;
    if (
      !s ||
      s.index !== index - 1n ||
      BigInt(p.sent) !== s.index ||
      s.p.transferId !== p.transferId ||
      s.p.merchantId !== p.merchantId
    ) {
      problem(`transfer ${p.transferId} is received without its points.sent entry just before`);
      return;
    }
    if (p.customerId !== s.to) problem(`it credits ${p.customerId}, the command names ${s.to}`);
    if (p.points !== s.p.points) problem(`it receives ${p.points} points, ${s.p.points} were sent`);
    if ((p.message !== undefined) !== s.hasMessage) {
      problem("its message commitment is on one side of the transfer only");
    }
    const programme = this.d.programme(p.merchantId);
    const lot = receivedLot(programme, s.p.points, time, s.lots, s.p.taken);
    if (!same(p.lot, lotPayload(lot))) {
      problem(
        "its lot is not the points sent, available and expiring as the programme and the lots taken say",
      );
    }
    this.credit(index, p, problem);
    this.d.totals.received += p.points;
  }

  /**
   * A lot received or credited: its points repay the customer's debt first, as an award's do;
   * the rest is the lot, whose own expiry renewals never push it past.
   */
  private credit(
    index: bigint,
    p: {
      merchantId: string;
      customerId: string;
      lot: LotPayload;
      debtRepaid?: number | undefined;
    },
    problem: (message: string) => void,
  ) {
    const repaid = this.d.repay(p.merchantId, p.customerId, p.lot.points);
    if ((p.debtRepaid ?? 0) !== repaid) {
      problem(`it repays ${p.debtRepaid ?? 0} points of debt, not ${repaid}`);
    }
    const at = (iso: string | null) => (iso === null ? null : Date.parse(iso));
    const expiresAt = at(p.lot.expiresAt);
    this.d.lots(p.merchantId, p.customerId).set(index, {
      points: p.lot.points,
      remaining: p.lot.points - repaid,
      availableAt: Date.parse(p.lot.availableAt),
      expiresAt,
      fixedExpiresAt: p.lot.ownExpiresAt === undefined ? expiresAt : at(p.lot.ownExpiresAt),
    });
  }

  private requested(index: bigint, entry: Entry, problem: (message: string) => void) {
    const p = parse(AdjustmentRequestedPayload, entry, problem);
    if (!p) return;
    const key = `${p.merchantId}\u0000${p.adjustmentId}`;
    if (this.adjustments.has(key)) problem(`adjustment ${p.adjustmentId} was already requested`);
    const threshold = approvalThreshold(this.d.programme(p.merchantId));
    if (p.threshold !== threshold) {
      problem(`it names the threshold ${p.threshold}, the programme's is ${threshold}`);
    }
    if (p.pending !== p.points > threshold) {
      problem(
        p.pending
          ? `it waits for approval, but ${p.points} points do not exceed the threshold ${threshold}`
          : `it applies ${p.points} points at once, above the threshold ${threshold}`,
      );
    }
    this.adjustments.set(key, {
      customerId: p.customerId,
      direction: p.direction,
      points: p.points,
      status: p.pending ? "pending" : "applied",
      requestedBy: entry.actor,
      request: index,
    });
    if (!p.pending) this.applying = { index, merchantId: p.merchantId, id: p.adjustmentId };
  }

  private decided(index: bigint, entry: Entry, problem: (message: string) => void) {
    const p = parse(AdjustmentDecidedPayload, entry, problem);
    if (!p) return;
    const a = this.adjustments.get(`${p.merchantId}\u0000${p.adjustmentId}`);
    if (!a || a.customerId !== p.customerId || a.request !== BigInt(p.request)) {
      problem(`it decides adjustment ${p.adjustmentId}, which was not requested for this customer`);
      return;
    }
    if (a.status !== "pending")
      problem(`adjustment ${p.adjustmentId} was ${a.status}, not pending`);
    if (entry.actor === a.requestedBy) problem("the requester decides their own adjustment");
    const approved = entry.type === ADJUSTMENT_APPROVED;
    a.status = approved ? "approved" : "rejected";
    if (approved) this.applying = { index, merchantId: p.merchantId, id: p.adjustmentId };
  }

  private adjusted(index: bigint, time: number, entry: Entry, problem: (message: string) => void) {
    const p = parse(PointsAdjustedPayload, entry, problem);
    const w = this.applying;
    this.applying = undefined;
    if (!p) return;
    const a = this.adjustments.get(`${p.merchantId}\u0000${p.adjustmentId}`);
    if (!w || w.index !== index - 1n || w.id !== p.adjustmentId || !a) {
      problem(
        `adjustment ${p.adjustmentId} is applied without its request or approval just before`,
      );
      return;
    }
    if (
      a.customerId !== p.customerId ||
      a.direction !== p.direction ||
      a.points !== p.points ||
      a.request !== BigInt(p.request)
    ) {
      problem(`it is not the adjustment ${p.adjustmentId} that was requested`);
      return;
    }
    if (p.direction === "credit") {
      const expiry = policyExpiry(this.d.programme(p.merchantId), time);
      const expected = lotPayload({ points: p.points, availableAt: time, ...expiry });
      if (!p.lot || !same(p.lot, expected) || p.taken.length > 0) {
        problem(
          "a credit makes one lot of its points, available at once, expiring as the programme's policy says",
        );
      }
      if (p.lot) this.credit(index, { ...p, lot: p.lot }, problem);
      this.d.totals.credited += p.points;
      return;
    }
    const again = takePoints(this.wallet(p.merchantId, p.customerId), p.points, time);
    if (again.short > 0) {
      problem(`it debits ${p.points} points, but only ${p.points - again.short} were available`);
    }
    if (p.lot !== null || !same(again.taken, p.taken)) {
      problem("a debit does not take the points from the spendable lots soonest expiring first");
    }
    const taken = this.take(p.merchantId, p.customerId, p.taken, problem);
    if (taken !== p.points) problem(`it takes ${taken} points from lots, not ${p.points}`);
    this.d.totals.debited += p.points;
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

import { canonicalJson, type Entry, type JsonValue } from "@patron/ledger";
import type { ZodType } from "zod";
import { takePoints, type Wallet, walletOfLots } from "./lots.js";
import type { Programme } from "./programme.js";
import {
  REDEMPTION_CAPTURED,
  REDEMPTION_HELD,
  REDEMPTION_RELEASED,
  REWARD_SET,
  RedemptionCapturedPayload,
  RedemptionHeldPayload,
  RedemptionReleasedPayload,
  type RewardRecord,
  RewardSetPayload,
} from "./redemption-entries.js";
import { MAX_HOLD_SECONDS, pointsValue, releaseReturns } from "./redemptions.js";

/** A customer's lots as the loyalty auditor keeps them. */
export interface AuditedLots {
  lots: Map<bigint, { remaining: number; availableAt: number; expiresAt: number | null }>;
  debt: number;
}

interface AuditedHold {
  index: bigint;
  p: RedemptionHeldPayload;
  status: "held" | "captured" | "released";
}

const same = (a: unknown, b: unknown) =>
  canonicalJson(a as JsonValue) === canonicalJson(b as JsonValue);

/**
 * Redemptions re-executed from the log, for the loyalty auditor:
 *
 * - each reward.set is the next version of its reward;
 * - a hold takes exactly what `takePoints` takes from the customer's lots at its time
 *   (soonest-expiring first), all of its points, at the programme's value, with a code no
 *   other open hold of the merchant has, lapsing within a day; a reward's hold names the
 *   reward's current version and cost, while it is active, in stock and under the customer's
 *   limit;
 * - a capture closes a held hold, for its points, strictly before its timeout;
 * - a release closes a held hold, gives back what it took (repaying the customer's debt first),
 *   and says `expired` exactly when it comes at or after the timeout.
 *
 * `held()` is what open holds hold, for the points' balance.
 */
export function redemptionAuditor(deps: {
  account(merchantId: string, customerId: string): AuditedLots;
  programme(merchantId: string): Programme;
  burned(points: number): void;
}) {
  const rewards = new Map<string, { version: number; reward: RewardRecord }>();
  const holds = new Map<string, AuditedHold>();
  const codes = new Map<string, string>();
  const usage = new Map<string, number>();
  let held = 0;
  const k = (...parts: string[]) => parts.join("\u0000");

  const walletOf = (a: AuditedLots): Wallet => walletOfLots(a.lots, a.debt);

  /** The open hold an entry closes, or a problem. */
  const closing = (
    p: { merchantId: string; customerId: string; redemptionId: string; held: number },
    problem: (m: string) => void,
  ): AuditedHold | undefined => {
    const h = holds.get(k(p.merchantId, p.redemptionId));
    if (!h || h.p.customerId !== p.customerId || BigInt(p.held) !== h.index) {
      problem(`redemption ${p.redemptionId} was never held for this customer at entry ${p.held}`);
      return undefined;
    }
    if (h.status !== "held") {
      problem(`redemption ${p.redemptionId} was already ${h.status}`);
      return undefined;
    }
    return h;
  };

  return {
    types: [REWARD_SET, REDEMPTION_HELD, REDEMPTION_CAPTURED, REDEMPTION_RELEASED] as string[],

    held: () => held,

    visit(index: bigint, entry: Entry, time: number, problem: (m: string) => void): void {
      switch (entry.type) {
        case REWARD_SET: {
          const p = parse(RewardSetPayload, entry, problem);
          if (!p) return;
          const key = k(p.merchantId, p.rewardId);
          const before = rewards.get(key);
          if (p.version !== (before?.version ?? 0) + 1) {
            problem(
              `reward ${p.rewardId} version ${p.version} does not follow ${before?.version ?? 0}`,
            );
          }
          rewards.set(key, { version: p.version, reward: p.reward });
          return;
        }
        case REDEMPTION_HELD: {
          const p = parse(RedemptionHeldPayload, entry, problem);
          if (!p) return;
          const key = k(p.merchantId, p.redemptionId);
          if (holds.has(key)) {
            problem(`redemption ${p.redemptionId} was already held`);
            return;
          }
          const programme = deps.programme(p.merchantId);
          const expiresAt = Date.parse(p.expiresAt);
          if (expiresAt <= time || expiresAt > time + MAX_HOLD_SECONDS * 1000) {
            problem(`it lapses at ${p.expiresAt}, not within a day after it was made`);
          }
          if (p.value !== pointsValue(p.points, programme.valuePer100Points)) {
            problem(
              `its ${p.points} points are worth ${pointsValue(p.points, programme.valuePer100Points)}, not ${p.value}`,
            );
          }
          if (p.currency !== programme.currency) problem(`its currency is not the programme's`);
          const open = codes.get(k(p.merchantId, p.code));
          if (open !== undefined) problem(`its code is the open code of redemption ${open}`);
          if ((p.kind === "reward") !== (p.reward !== null)) {
            problem("a reward's hold names its reward, and only a reward's");
          }
          if (p.reward) {
            const rk = k(p.merchantId, p.reward.id);
            const r = rewards.get(rk);
            const uk = k(p.merchantId, p.reward.id, p.customerId);
            const used = usage.get(uk) ?? 0;
            if (!r || r.version !== p.reward.version) {
              problem(
                `reward ${p.reward.id} v${p.reward.version} is not the reward's current version`,
              );
            } else {
              if (!r.reward.active) problem(`reward ${p.reward.id} is not active`);
              if (r.reward.points !== p.points) {
                problem(`reward ${p.reward.id} costs ${r.reward.points} points, not ${p.points}`);
              }
              if (r.reward.stock !== null) {
                if (r.reward.stock < 1) problem(`reward ${p.reward.id} is out of stock`);
                r.reward = { ...r.reward, stock: r.reward.stock - 1 };
              }
              if (r.reward.perCustomerLimit !== null && used >= r.reward.perCustomerLimit) {
                problem(
                  `the customer is at reward ${p.reward.id}'s limit of ${r.reward.perCustomerLimit}`,
                );
              }
            }
            usage.set(uk, used + 1);
          }
          // Re-executed over the customer's lots, then applied as recorded.
          const a = deps.account(p.merchantId, p.customerId);
          const again = takePoints(walletOf(a), p.points, time);
          if (again.short > 0) {
            problem(`the customer had ${p.points - again.short} points to spend, not ${p.points}`);
          } else if (!same(again.taken, p.taken)) {
            problem("it does not take its points from the spendable lots soonest expiring first");
          }
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
          if (taken !== p.points) problem(`it takes ${taken} points, not ${p.points}`);
          holds.set(key, { index, p, status: "held" });
          codes.set(k(p.merchantId, p.code), p.redemptionId);
          held += p.points;
          return;
        }
        case REDEMPTION_CAPTURED: {
          const p = parse(RedemptionCapturedPayload, entry, problem);
          if (!p) return;
          const h = closing(p, problem);
          if (!h) return;
          if (p.points !== h.p.points) {
            problem(`it captures ${p.points} points of a hold of ${h.p.points}`);
          }
          if (time >= Date.parse(h.p.expiresAt)) {
            problem(`redemption ${p.redemptionId} is captured after it lapsed at ${h.p.expiresAt}`);
          }
          h.status = "captured";
          codes.delete(k(p.merchantId, h.p.code));
          held -= h.p.points;
          deps.burned(h.p.points);
          return;
        }
        case REDEMPTION_RELEASED: {
          const p = parse(RedemptionReleasedPayload, entry, problem);
          if (!p) return;
          const h = closing(p, problem);
          if (!h) return;
          const lapsed = time >= Date.parse(h.p.expiresAt);
          if ((p.reason === "expired") !== lapsed) {
            problem(
              lapsed
                ? `redemption ${p.redemptionId} lapsed at ${h.p.expiresAt}: its release is an expiry`
                : `redemption ${p.redemptionId} is released as expired before ${h.p.expiresAt}`,
            );
          }
          const a = deps.account(p.merchantId, p.customerId);
          const back = releaseReturns(h.p.taken, a.debt);
          if (
            p.points !== h.p.points ||
            !same(p.returned, back.returned) ||
            (p.debtRepaid ?? 0) !== back.debtRepaid ||
            !same(p.reward, h.p.reward)
          ) {
            problem(
              `it does not give back what redemption ${p.redemptionId} took, the customer's debt first`,
            );
          }
          // Applied as the hold and the debt give it, so one bad entry is named once.
          for (const t of back.returned) {
            const lot = a.lots.get(BigInt(t.lot));
            if (lot) lot.remaining += t.points;
          }
          a.debt -= back.debtRepaid;
          if (h.p.reward) {
            const r = rewards.get(k(p.merchantId, h.p.reward.id));
            if (r && r.reward.stock !== null) r.reward = { ...r.reward, stock: r.reward.stock + 1 };
            const uk = k(p.merchantId, h.p.reward.id, p.customerId);
            usage.set(uk, (usage.get(uk) ?? 1) - 1);
          }
          h.status = "released";
          codes.delete(k(p.merchantId, h.p.code));
          held -= h.p.points;
          return;
        }
      }
    },
  };
}

function parse<T>(schema: ZodType<T>, entry: Entry, problem: (m: string) => void): T | undefined {
  const r = schema.safeParse(entry.payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  problem(`malformed payload at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  return undefined;
}

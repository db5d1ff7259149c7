import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";
import {
  REDEMPTION_CAPTURED,
  REDEMPTION_HELD,
  REDEMPTION_RELEASED,
  REWARD_SET,
  type RedemptionCapturedPayload,
  type RedemptionHeldPayload,
  type RedemptionReleasedPayload,
  type RewardSetPayload,
} from "./redemption-entries.js";
import { lotRemainingChange } from "./views-projections.js";

const lotChange = lotRemainingChange;

const stockChange = (merchantId: string, rewardId: string, by: number): Statement => ({
  sql: `UPDATE loyalty_rewards SET stock = stock + $3
   WHERE merchant_id = $1 AND reward_id = $2 AND stock IS NOT NULL`,
  params: [merchantId, rewardId, String(by)],
});

/**
 * The lots a hold takes from and a release gives back to (loyalty_lots.remaining is what is
 * neither spent nor held), and the debt a release repays. The orders projector applies them,
 * with every other change of loyalty_lots and loyalty_debts, in the log's order: an order's
 * renewal (inactivity policy) touches only lots with points left, so a hold that emptied a lot
 * before it, in the same batch or the same page of a rebuild, must be applied first.
 */
export function redemptionLotStatements(e: CommittedEntry): Statement[] | undefined {
  if (e.entry.type === REDEMPTION_HELD) {
    const p = e.entry.payload as unknown as RedemptionHeldPayload;
    return p.taken.map((t) => lotChange(t.lot, -t.points));
  }
  if (e.entry.type === REDEMPTION_RELEASED) {
    const p = e.entry.payload as unknown as RedemptionReleasedPayload;
    const out = p.returned.map((t) => lotChange(t.lot, t.points));
    if (p.debtRepaid) {
      out.push({
        sql: `INSERT INTO loyalty_debts (merchant_id, customer_id, debt) VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id, customer_id) DO UPDATE SET debt = loyalty_debts.debt + $3`,
        params: [p.merchantId, p.customerId, String(-p.debtRepaid)],
      });
    }
    return out;
  }
  return undefined;
}

/** The redemption entries that change lots (and debt): the orders projector reads them too. */
export const REDEMPTION_LOT_TYPES = [REDEMPTION_HELD, REDEMPTION_RELEASED] as const;

/**
 * loyalty_rewards and loyalty_redemptions, and the stock holds and releases change; their
 * changes to the lots are the orders projector's (`redemptionLotStatements`).
 */
export const redemptionsProjector: Projector = {
  types: [REWARD_SET, REDEMPTION_HELD, REDEMPTION_CAPTURED, REDEMPTION_RELEASED],
  tables: ["loyalty_rewards", "loyalty_redemptions"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.flatMap((e): Statement[] => {
      const idx = e.index.toString();
      const time = e.entry.time;
      switch (e.entry.type) {
        case REWARD_SET: {
          const p = e.entry.payload as unknown as RewardSetPayload;
          const r = p.reward;
          return [
            {
              sql: `INSERT INTO loyalty_rewards (merchant_id, reward_id, version, name, points, stock,
                 per_customer_limit, active, created_idx, entry_idx, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
               ON CONFLICT (merchant_id, reward_id) DO UPDATE SET version = $3, name = $4,
                 points = $5, stock = $6, per_customer_limit = $7, active = $8, entry_idx = $9,
                 updated_at = $10`,
              params: [
                p.merchantId,
                p.rewardId,
                p.version,
                r.name,
                String(r.points),
                r.stock === null ? null : String(r.stock),
                r.perCustomerLimit === null ? null : String(r.perCustomerLimit),
                r.active,
                idx,
                time,
              ],
            },
          ];
        }
        case REDEMPTION_HELD: {
          const p = e.entry.payload as unknown as RedemptionHeldPayload;
          const out: Statement[] = [
            {
              sql: `INSERT INTO loyalty_redemptions (merchant_id, redemption_id, customer_id, kind,
                 reward_id, reward_version, points, value, currency, code, expires_at, requested_by,
                 taken, status, held_idx, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, 'held', $14, $15)`,
              params: [
                p.merchantId,
                p.redemptionId,
                p.customerId,
                p.kind,
                p.reward?.id ?? null,
                p.reward?.version ?? null,
                String(p.points),
                String(p.value),
                p.currency,
                p.code,
                p.expiresAt,
                p.requestedBy,
                JSON.stringify(p.taken),
                idx,
                time,
              ],
            },
          ];
          if (p.reward) out.push(stockChange(p.merchantId, p.reward.id, -1));
          return out;
        }
        case REDEMPTION_CAPTURED: {
          const p = e.entry.payload as unknown as RedemptionCapturedPayload;
          return [
            {
              sql: `UPDATE loyalty_redemptions SET status = 'captured', reference = $3,
                 closed_idx = $4, closed_at = $5
               WHERE merchant_id = $1 AND redemption_id = $2`,
              params: [p.merchantId, p.redemptionId, p.reference, idx, time],
            },
          ];
        }
        case REDEMPTION_RELEASED: {
          const p = e.entry.payload as unknown as RedemptionReleasedPayload;
          const out: Statement[] = [
            {
              sql: `UPDATE loyalty_redemptions SET status = 'released', reason = $3,
                 closed_idx = $4, closed_at = $5
               WHERE merchant_id = $1 AND redemption_id = $2`,
              params: [p.merchantId, p.redemptionId, p.reason, idx, time],
            },
          ];
          if (p.reward) out.push(stockChange(p.merchantId, p.reward.id, 1));
          return out;
        }
        default:
          return [];
      }
    });
  },
};

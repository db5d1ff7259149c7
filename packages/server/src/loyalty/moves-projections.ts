import type { Statement } from "../db/database.js";
import type { CommittedEntry } from "../ledger/sequencer.js";
import {
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  ADJUSTMENT_REQUESTED,
  type AdjustmentDecidedPayload,
  type AdjustmentRequestedPayload,
  POINTS_ADJUSTED,
  type PointsAdjustedPayload,
} from "./adjustment-entries.js";
import {
  type LotPayload,
  POINTS_RECEIVED,
  POINTS_SENT,
  type PointsReceivedPayload,
  type PointsSentPayload,
} from "./transfer-entries.js";
import { lotRemainingChange } from "./views-projections.js";

/**
 * The lot a transfer received or a staff credit makes, less the debt its points repaid first
 * (and that repayment). Its own expiry (`ownExpiresAt`, else its expiry) is what an order's
 * renewal (inactivity policy) never pushes it past, as the node's wallet and the auditor say.
 */
const lotInsert = (
  e: CommittedEntry,
  p: { merchantId: string; customerId: string; debtRepaid?: number },
  source: "transfer" | "adjustment",
  sourceId: string,
  lot: LotPayload,
): Statement[] => [
  {
    sql: `INSERT INTO loyalty_lots (entry_idx, merchant_id, customer_id, source, source_id,
       points, remaining, created_at, available_at, expires_at, fixed_expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    params: [
      e.index.toString(),
      p.merchantId,
      p.customerId,
      source,
      sourceId,
      String(lot.points),
      String(lot.points - (p.debtRepaid ?? 0)),
      e.entry.time,
      lot.availableAt,
      lot.expiresAt,
      lot.ownExpiresAt === undefined ? lot.expiresAt : lot.ownExpiresAt,
    ],
  },
  ...(p.debtRepaid
    ? [
        {
          sql: `INSERT INTO loyalty_debts (merchant_id, customer_id, debt) VALUES ($1, $2, $3)
           ON CONFLICT (merchant_id, customer_id) DO UPDATE SET debt = loyalty_debts.debt + $3`,
          params: [p.merchantId, p.customerId, String(-p.debtRepaid)],
        },
      ]
    : []),
];

const lotTakes = (taken: readonly { lot: number; points: number }[]): Statement[] =>
  taken.map((t) => lotRemainingChange(t.lot, -t.points));

/** The entry types of transfers and adjustments: they all change lots. */
export const MOVE_TYPES = [
  POINTS_SENT,
  POINTS_RECEIVED,
  ADJUSTMENT_REQUESTED,
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  POINTS_ADJUSTED,
] as const;
export const MOVE_TABLES = ["loyalty_transfers", "loyalty_adjustments"] as const;
const moveTypes = new Set<string>(MOVE_TYPES);

/**
 * The statements of a transfer's or an adjustment's entry, or undefined for another type. The
 * orders projector calls it, so every change of loyalty_lots (awards, reversals, transfers,
 * adjustments) is applied in the log's order by one projector: a lot made by one entry and
 * taken from by the next, in one batch, is made first.
 */
export function moveStatements(e: CommittedEntry): Statement[] | undefined {
  if (!moveTypes.has(e.entry.type)) return undefined;
  if (e.entry.type === POINTS_SENT || e.entry.type === POINTS_RECEIVED)
    return transferStatements(e);
  return adjustmentStatements(e);
}

/**
 * loyalty_transfers and the lots a transfer changes: points.sent takes from the sender's lots
 * and records the transfer (its receiver is the signed command's `to`); points.received makes
 * the receiver's lot and completes the row.
 */
function transferStatements(e: CommittedEntry): Statement[] {
  if (e.entry.type === POINTS_SENT) {
    const p = e.entry.payload as unknown as PointsSentPayload;
    const to = (e.entry.signed?.command.payload as { to?: unknown } | undefined)?.to;
    return [
      ...lotTakes(p.taken),
      {
        sql: `INSERT INTO loyalty_transfers (entry_idx, merchant_id, transfer_id, from_customer,
               to_customer, points, has_message, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        params: [
          e.index.toString(),
          p.merchantId,
          p.transferId,
          p.customerId,
          typeof to === "string" ? to : "",
          String(p.points),
          p.message !== undefined,
          e.entry.time,
        ],
      },
    ];
  }
  const p = e.entry.payload as unknown as PointsReceivedPayload;
  return [
    {
      sql: "UPDATE loyalty_transfers SET received_idx = $2 WHERE entry_idx = $1",
      params: [String(p.sent), e.index.toString()],
    },
    ...lotInsert(e, p, "transfer", p.transferId, p.lot),
  ];
}

/** loyalty_adjustments, and the lots an applied adjustment makes or takes from. */
function adjustmentStatements(e: CommittedEntry): Statement[] {
  const idx = e.index.toString();
  const time = e.entry.time;
  switch (e.entry.type) {
    case ADJUSTMENT_REQUESTED: {
      const p = e.entry.payload as unknown as AdjustmentRequestedPayload;
      return [
        {
          sql: `INSERT INTO loyalty_adjustments (merchant_id, adjustment_id, customer_id,
                 direction, points, reason, status, requested_by, requested_at, request_idx)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          params: [
            p.merchantId,
            p.adjustmentId,
            p.customerId,
            p.direction,
            String(p.points),
            p.reason,
            p.pending ? "pending" : "applied",
            e.entry.actor,
            time,
            idx,
          ],
        },
      ];
    }
    case ADJUSTMENT_APPROVED:
    case ADJUSTMENT_REJECTED: {
      const p = e.entry.payload as unknown as AdjustmentDecidedPayload;
      return [
        {
          sql: `UPDATE loyalty_adjustments SET status = $3, decided_by = $4, decided_at = $5,
                 decided_idx = $6 WHERE merchant_id = $1 AND adjustment_id = $2`,
          params: [
            p.merchantId,
            p.adjustmentId,
            e.entry.type === ADJUSTMENT_APPROVED ? "approved" : "rejected",
            e.entry.actor,
            time,
            idx,
          ],
        },
      ];
    }
    default: {
      const p = e.entry.payload as unknown as PointsAdjustedPayload;
      return [
        ...lotTakes(p.taken),
        ...(p.lot ? lotInsert(e, p, "adjustment", p.adjustmentId, p.lot) : []),
        {
          sql: `UPDATE loyalty_adjustments SET applied_idx = $3,
                 status = CASE WHEN status = 'pending' THEN 'applied' ELSE status END
               WHERE merchant_id = $1 AND adjustment_id = $2`,
          params: [p.merchantId, p.adjustmentId, idx],
        },
      ];
    }
  }
}

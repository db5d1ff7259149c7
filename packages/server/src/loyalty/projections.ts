import { canonicalRuleJson } from "@patron/rules";
import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";
import {
  ORDER_RECORDED,
  ORDER_REFUNDED,
  type OrderRecordedPayload,
  type OrderRefundedPayload,
  POINTS_AWARDED,
  POINTS_EXPIRED,
  POINTS_REVERSED,
  type PointsAwardedPayload,
  type PointsExpiredPayload,
  type PointsReversedPayload,
  PROGRAMME_SET,
  type ProgrammeSetPayload,
  RULE_PUBLISHED,
  RULE_RETIRED,
  type RulePublishedPayload,
  type RuleRetiredPayload,
  TIER_CHANGED,
  type TierChangedPayload,
} from "./entries.js";
import { MOVE_TABLES, MOVE_TYPES, moveStatements } from "./moves-projections.js";
import { REDEMPTION_LOT_TYPES, redemptionLotStatements } from "./redemption-projections.js";
import {
  LOT_VIEW_TABLES,
  lotRemainingChange,
  lotRenewal,
  lotViewStatements,
} from "./views-projections.js";

/** loyalty_programmes: each merchant's latest programme.set. */
export const programmesProjector: Projector = {
  types: [PROGRAMME_SET],
  tables: ["loyalty_programmes"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e) => {
      const p = e.entry.payload as unknown as ProgrammeSetPayload;
      return {
        sql: `INSERT INTO loyalty_programmes (merchant_id, programme, updated_at, entry_idx)
         VALUES ($1, $2::jsonb, $3, $4)
         ON CONFLICT (merchant_id) DO UPDATE SET programme = $2::jsonb, updated_at = $3, entry_idx = $4`,
        params: [p.merchantId, JSON.stringify(p.programme), e.entry.time, e.index.toString()],
      };
    });
  },
};

/**
 * loyalty_rule_events: a publication or retirement replaces what was scheduled at or after its
 * own time (cancelled_idx), ends what held before it (effective_until), and holds from then on.
 */
export const ruleEventsProjector: Projector = {
  types: [RULE_PUBLISHED, RULE_RETIRED],
  tables: ["loyalty_rule_events"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.flatMap((e): Statement[] => {
      const published = e.entry.type === RULE_PUBLISHED;
      const p = e.entry.payload as unknown as RulePublishedPayload | RuleRetiredPayload;
      const idx = e.index.toString();
      const from = p.effectiveFrom;
      return [
        {
          sql: `UPDATE loyalty_rule_events SET cancelled_idx = $4
           WHERE merchant_id = $1 AND rule_id = $2 AND cancelled_idx IS NULL AND effective_from >= $3`,
          params: [p.merchantId, p.ruleId, from, idx],
        },
        {
          sql: `UPDATE loyalty_rule_events SET effective_until = $3
           WHERE merchant_id = $1 AND rule_id = $2 AND cancelled_idx IS NULL
           AND (effective_until IS NULL OR effective_until > $3)`,
          params: [p.merchantId, p.ruleId, from],
        },
        {
          sql: `INSERT INTO loyalty_rule_events (entry_idx, merchant_id, rule_id, kind, version, hash,
             document, effective_from, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          params: [
            idx,
            p.merchantId,
            p.ruleId,
            published ? "published" : "retired",
            p.version,
            published ? (p as RulePublishedPayload).hash : null,
            published ? canonicalRuleJson((p as RulePublishedPayload).document) : null,
            from,
            e.entry.time,
          ],
        },
      ];
    });
  },
};

/**
 * loyalty_orders, loyalty_awards and loyalty_lots: an order's row from its order.recorded
 * entry, completed by its points.awarded entry, which also writes its awards and its lot.
 * Every entry that changes loyalty_lots or loyalty_debts is projected here, in the log's order
 * (refunds, expiry, transfers, adjustments, holds and releases): an order's renewal touches only
 * lots with points left, so it must see every change before it, whatever the batch.
 */
export const ordersProjector: Projector = {
  types: [
    ORDER_RECORDED,
    POINTS_AWARDED,
    ORDER_REFUNDED,
    POINTS_REVERSED,
    POINTS_EXPIRED,
    ...MOVE_TYPES,
    ...REDEMPTION_LOT_TYPES,
  ],
  tables: [
    "loyalty_orders",
    "loyalty_awards",
    "loyalty_lots",
    "loyalty_refunds",
    "loyalty_debts",
    ...MOVE_TABLES,
    "loyalty_expiries",
    ...LOT_VIEW_TABLES,
  ],
  statements(entries: CommittedEntry[]): Statement[] {
    // An order's points.awarded entry follows its order.recorded entry in the same command, so
    // a batch nearly always holds both: the order's row is then inserted whole, instead of
    // inserted and then updated (an UPDATE per order was most of the database's work). A
    // points.awarded entry whose order is not among these entries still updates the row.
    const awardedFor = new Map<bigint, PointsAwardedPayload & { idx: string }>();
    for (const e of entries) {
      if (e.entry.type !== POINTS_AWARDED) continue;
      const p = e.entry.payload as unknown as PointsAwardedPayload;
      awardedFor.set(BigInt(p.order), { ...p, idx: e.index.toString() });
    }
    const folded = new Set<string>();
    const statements = entries.flatMap((e): Statement[] => {
      // Transfers and adjustments (moves-projections.ts): in the log's order with the rest.
      const moved = moveStatements(e);
      if (moved) return moved;
      // Holds and releases (the redemptions projector writes their own rows).
      const held = redemptionLotStatements(e);
      if (held) return held;
      const idx = e.index.toString();
      const time = e.entry.time;
      if (e.entry.type === ORDER_REFUNDED) return refundStatements(e);
      if (e.entry.type === POINTS_REVERSED) return reversalStatements(e);
      // In the same projector as the lots, so every change to them is applied in log order.
      if (e.entry.type === POINTS_EXPIRED) return expiryStatements(e);
      if (e.entry.type === ORDER_RECORDED) {
        const o = e.entry.payload as unknown as OrderRecordedPayload;
        const a = awardedFor.get(e.index);
        if (a && a.merchantId === o.merchantId && a.orderId === o.orderId) {
          folded.add(a.idx);
          return [
            {
              sql: `INSERT INTO loyalty_orders (merchant_id, order_id, customer_id, amount, currency,
                 channel, store, occurred_at, recorded_at, entry_idx, points, awarded_idx, context)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::json)`,
              params: [
                o.merchantId,
                o.orderId,
                o.customerId,
                String(o.amount),
                o.currency,
                o.channel,
                o.store ?? null,
                o.occurredAt,
                time,
                idx,
                String(a.points),
                a.idx,
                JSON.stringify(a.context),
              ],
              bulk: true,
            },
          ];
        }
        return [
          {
            sql: `INSERT INTO loyalty_orders (merchant_id, order_id, customer_id, amount, currency,
               channel, store, occurred_at, recorded_at, entry_idx)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
            params: [
              o.merchantId,
              o.orderId,
              o.customerId,
              String(o.amount),
              o.currency,
              o.channel,
              o.store ?? null,
              o.occurredAt,
              time,
              idx,
            ],
            // A new order: joined with the batch's other new orders (`Statement.bulk`).
            bulk: true,
          },
        ];
      }
      const p = e.entry.payload as unknown as PointsAwardedPayload;
      const out: Statement[] = folded.has(idx)
        ? []
        : [
            {
              sql: `UPDATE loyalty_orders SET points = $3, awarded_idx = $4, context = $5::json
               WHERE merchant_id = $1 AND order_id = $2`,
              params: [p.merchantId, p.orderId, String(p.points), idx, JSON.stringify(p.context)],
            },
          ];
      p.awards.forEach((a, ordinal) => {
        out.push({
          sql: `INSERT INTO loyalty_awards (entry_idx, ordinal, merchant_id, customer_id, order_id,
             rule_id, version, hash, kind, points, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          params: [
            idx,
            ordinal,
            p.merchantId,
            p.customerId,
            p.orderId,
            a.rule,
            a.version,
            a.hash,
            a.kind,
            String(a.points),
            time,
          ],
          bulk: true,
        });
      });
      if (p.debtRepaid) out.push(debtChange(p.merchantId, p.customerId, -p.debtRepaid));
      if (p.activeUntil !== undefined) {
        // The inactivity policy: the order keeps the lots that have not expired alive.
        out.push(lotRenewal(p.merchantId, p.customerId, p.activeUntil, idx, time));
      }
      if (p.lot) {
        out.push({
          sql: `INSERT INTO loyalty_lots (entry_idx, merchant_id, customer_id, source, source_id,
             points, remaining, created_at, available_at, expires_at, fixed_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          params: [
            idx,
            p.merchantId,
            p.customerId,
            "order",
            p.orderId,
            String(p.lot.points),
            String(p.lot.points - (p.debtRepaid ?? 0)),
            time,
            p.lot.availableAt,
            p.lot.expiresAt,
            p.lot.ownExpiresAt === undefined ? p.lot.expiresAt : p.lot.ownExpiresAt,
          ],
          bulk: true,
        });
      }
      return out;
    });
    // The members and liability views follow the batch's changes of lots (views-projections.ts).
    return [...statements, ...lotViewStatements(entries)];
  },
};

const debtChange = (merchantId: string, customerId: string, by: number): Statement => ({
  sql: `INSERT INTO loyalty_debts (merchant_id, customer_id, debt) VALUES ($1, $2, $3)
   ON CONFLICT (merchant_id, customer_id) DO UPDATE SET debt = loyalty_debts.debt + $3`,
  params: [merchantId, customerId, String(by)],
});

function refundStatements(e: CommittedEntry): Statement[] {
  const p = e.entry.payload as unknown as OrderRefundedPayload;
  return [
    {
      sql: `UPDATE loyalty_orders SET net = $3::jsonb, net_points = $4
       WHERE merchant_id = $1 AND order_id = $2`,
      params: [p.merchantId, p.orderId, JSON.stringify(p.net), String(p.pointsAfter)],
    },
    {
      sql: `INSERT INTO loyalty_refunds (entry_idx, merchant_id, customer_id, order_id, refund_id,
         full_refund, points, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      params: [
        e.index.toString(),
        p.merchantId,
        p.customerId,
        p.orderId,
        p.refundId,
        p.full,
        String(p.pointsBefore - p.pointsAfter),
        e.entry.time,
      ],
    },
  ];
}

function reversalStatements(e: CommittedEntry): Statement[] {
  const p = e.entry.payload as unknown as PointsReversedPayload;
  const out: Statement[] = p.taken.map((t) => lotRemainingChange(t.lot, -t.points));
  out.push({
    sql: "UPDATE loyalty_refunds SET debt = $2, written_off = $3 WHERE entry_idx = $1",
    params: [String(p.refund), String(p.debt), String(p.writtenOff)],
  });
  if (p.debt > 0) out.push(debtChange(p.merchantId, p.customerId, p.debt));
  return out;
}

/** points.expired: the lots' points are gone, and the expiry is listed. */
function expiryStatements(e: CommittedEntry): Statement[] {
  const p = e.entry.payload as unknown as PointsExpiredPayload;
  return [
    ...p.lots.map((l) => lotRemainingChange(l.lot, -l.points)),
    {
      sql: `INSERT INTO loyalty_expiries (entry_idx, merchant_id, customer_id, points, lots, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
      params: [
        e.index.toString(),
        p.merchantId,
        p.customerId,
        String(p.points),
        p.lots.length,
        e.entry.time,
      ],
    },
  ];
}

/** loyalty_tiers: each customer's tier as their latest tier.changed says; no row: none. */
export const tiersProjector: Projector = {
  types: [TIER_CHANGED],
  tables: ["loyalty_tiers"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e) => {
      const p = e.entry.payload as unknown as TierChangedPayload;
      return {
        sql: `INSERT INTO loyalty_tiers (merchant_id, customer_id, tier, since, entry_idx)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (merchant_id, customer_id) DO UPDATE SET tier = $3, since = $4, entry_idx = $5`,
        params: [p.merchantId, p.customerId, p.to, e.entry.time, e.index.toString()],
      };
    });
  },
};

export const loyaltyProjectors = [
  programmesProjector,
  ruleEventsProjector,
  ordersProjector,
  tiersProjector,
];

import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";

export const CUSTOMER_CREATED = "customer.created";
export const CUSTOMER_UPDATED = "customer.updated";
export const CUSTOMER_ERASED = "customer.erased";
/** Two records of one person become one: the survivor's chain runs on, the other's ends. */
export const CUSTOMER_MERGED = "customer.merged";
/** A merge undone: the absorbed record is active again and its chain resumes. */
export const CUSTOMER_UNMERGED = "customer.unmerged";

interface ProfilePayload {
  merchantId: string;
  customerId: string;
  facts?: Record<string, unknown>;
  /** customer.merged: the record absorbed into `customerId`. */
  mergedId?: string;
  /** customer.unmerged: the record made active again. */
  restoredId?: string;
}

/**
 * The customers table: one row per customer with its facts in clear, rebuilt by `audit` from
 * the entries alone. An update carries only the facts that changed; they are merged in.
 */
export const customersProjector: Projector = {
  types: [CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_ERASED, CUSTOMER_MERGED, CUSTOMER_UNMERGED],
  tables: ["customers"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.flatMap((e): Statement | Statement[] => {
      const p = e.entry.payload as unknown as ProfilePayload;
      const idx = e.index.toString();
      if (e.entry.type === CUSTOMER_CREATED) {
        return {
          sql: `INSERT INTO customers (id, merchant_id, status, facts, created_at, updated_at, created_idx, entry_idx)
           VALUES ($1, $2, 'active', $3::jsonb, $4, $4, $5, $5)`,
          params: [p.customerId, p.merchantId, JSON.stringify(p.facts ?? {}), e.entry.time, idx],
          // A new row: joined with the batch's other new customers (`Statement.bulk`).
          bulk: true,
        };
      }
      if (e.entry.type === CUSTOMER_MERGED || e.entry.type === CUSTOMER_UNMERGED) {
        const other = (p.mergedId ?? p.restoredId) as string;
        const merged = e.entry.type === CUSTOMER_MERGED;
        return [
          {
            sql: `UPDATE customers SET facts = facts || $3::jsonb, updated_at = $4, entry_idx = $5
             WHERE id = $1 AND merchant_id = $2`,
            params: [p.customerId, p.merchantId, JSON.stringify(p.facts ?? {}), e.entry.time, idx],
          },
          {
            sql: `UPDATE customers SET status = $3, merged_into = $4, updated_at = $5, entry_idx = $6
             WHERE id = $1 AND merchant_id = $2`,
            params: [
              other,
              p.merchantId,
              merged ? "merged" : "active",
              merged ? p.customerId : null,
              e.entry.time,
              idx,
            ],
          },
        ];
      }
      if (e.entry.type === CUSTOMER_UPDATED) {
        return {
          sql: `UPDATE customers SET facts = facts || $3::jsonb, updated_at = $4, entry_idx = $5
           WHERE id = $1 AND merchant_id = $2`,
          params: [p.customerId, p.merchantId, JSON.stringify(p.facts ?? {}), e.entry.time, idx],
        };
      }
      // Erased: the facts go too; the entries keep what the log always held.
      return {
        sql: `UPDATE customers SET status = 'erased', facts = '{}'::jsonb, updated_at = $3, entry_idx = $4
         WHERE id = $1 AND merchant_id = $2`,
        params: [p.customerId, p.merchantId, e.entry.time, idx],
      };
    });
  },
};

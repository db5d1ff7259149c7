import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";

export const CUSTOMER_CREATED = "customer.created";
export const CUSTOMER_UPDATED = "customer.updated";
export const CUSTOMER_ERASED = "customer.erased";

interface ProfilePayload {
  merchantId: string;
  customerId: string;
  facts?: Record<string, unknown>;
}

/**
 * The customers table: one row per customer with its facts in clear, rebuilt by `audit` from
 * the entries alone. An update carries only the facts that changed; they are merged in.
 */
export const customersProjector: Projector = {
  types: [CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_ERASED],
  tables: ["customers"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e): Statement => {
      const p = e.entry.payload as unknown as ProfilePayload;
      const idx = e.index.toString();
      if (e.entry.type === CUSTOMER_CREATED) {
        return {
          sql: `INSERT INTO customers (id, merchant_id, status, facts, created_at, updated_at, created_idx, entry_idx)
           VALUES ($1, $2, 'active', $3::jsonb, $4, $4, $5, $5)`,
          params: [p.customerId, p.merchantId, JSON.stringify(p.facts ?? {}), e.entry.time, idx],
        };
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

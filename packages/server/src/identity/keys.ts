import type { Queryable } from "../db/database.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";

const key = (merchantId: string, customerId: string) => `${merchantId}\u0000${customerId}`;

/**
 * The key each customer signs with at a merchant, the reverse of `Bindings` (which maps a key to
 * its customer). Read from `actor_bindings` as first needed and kept; commands that bind or
 * retire a key stage the change in their check, so a later command of the same batch sees it.
 */
export class CustomerKeys {
  private readonly map: StagedMap<string, string | null>;

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
  ) {
    this.map = sequencer.state.add(new StagedMap<string, string | null>());
    sequencer.onRecover(async () => this.map.clearCommitted());
  }

  /** The customer's active key, or null. `staged`: as the sequencer sees it (inside a check). */
  async active(merchantId: string, customerId: string, staged = false): Promise<string | null> {
    const k = key(merchantId, customerId);
    const known = staged ? this.map.get(k) : this.map.getCommitted(k);
    if (known !== undefined) return known;
    if (this.map.committedSize > 100_000) this.map.clearCommitted();
    const { rows } = await this.db.query<{ actor: string }>(
      `SELECT actor FROM actor_bindings
       WHERE merchant_id = $1 AND party = $2 AND kind = 'customer' AND status = 'active'
       ORDER BY entry_idx DESC LIMIT 1`,
      [merchantId, customerId],
    );
    const found = rows[0]?.actor ?? null;
    if (!this.map.hasCommitted(k)) this.map.load(k, found);
    return (staged ? this.map.get(k) : this.map.getCommitted(k)) ?? found;
  }

  /** Stages the customer's key (null: none); inside a command's check. */
  stage(merchantId: string, customerId: string, actor: string | null): void {
    this.map.set(key(merchantId, customerId), actor);
  }
}

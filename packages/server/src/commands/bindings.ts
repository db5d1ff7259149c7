import type { Database, Statement } from "../db/database.js";
import type { ActorBinding, EntryTypeSpec } from "../domain.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";

const key = (merchant: string, actor: string) => `${merchant}\u0000${actor}`;

/**
 * Which signing keys act for whom at each merchant. Committed bindings are read from the
 * `actor_bindings` projection as they are first needed and kept; entries that bind or unbind a
 * key stage the change, so a command later in the same batch already sees it.
 */
export class Bindings {
  private readonly map: StagedMap<string, ActorBinding>;

  constructor(
    private readonly db: Database,
    sequencer: Sequencer,
  ) {
    this.map = sequencer.state.add(new StagedMap<string, ActorBinding>());
    sequencer.onRecover(async () => this.map.clearCommitted());
  }

  /**
   * The actor's binding at the merchant. `staged`: as the sequencer sees it, with what earlier
   * commands of the batch staged (inside a check); otherwise committed state only. Bindings
   * found are kept; an unknown key is not, so strangers' keys cannot fill the memory.
   */
  async get(merchant: string, actor: string, staged = false): Promise<ActorBinding | undefined> {
    const k = key(merchant, actor);
    const known = staged ? this.map.get(k) : this.map.getCommitted(k);
    if (known) return known;
    const { rows } = await this.db.query(
      "SELECT party, kind, status FROM actor_bindings WHERE merchant_id = $1 AND actor = $2",
      [merchant, actor],
    );
    const r = rows[0];
    if (!r) return undefined;
    const found: ActorBinding = {
      merchant,
      actor,
      party: String(r.party),
      kind: r.kind as ActorBinding["kind"],
      status: r.status as ActorBinding["status"],
    };
    // A batch may have committed a newer binding while we read: keep that one.
    if (!this.map.hasCommitted(k)) this.map.load(k, found);
    return (staged ? this.map.get(k) : this.map.getCommitted(k)) ?? found;
  }

  /** Stages a binding (inside a command's check). */
  stage(b: ActorBinding): void {
    this.map.set(key(b.merchant, b.actor), b);
  }
}

/** The `actor_bindings` table, from the entries whose type declares a binding. */
export function bindingsProjector(specs: readonly EntryTypeSpec[]): Projector {
  const binders = new Map(specs.flatMap((s) => (s.binding ? [[s.type, s.binding] as const] : [])));
  return {
    types: [...binders.keys()],
    tables: ["actor_bindings"],
    statements(entries: CommittedEntry[]): Statement[] {
      return entries.flatMap((e) => {
        const b = binders.get(e.entry.type)?.(e.entry);
        if (!b) return [];
        const sql = `INSERT INTO actor_bindings (merchant_id, actor, party, kind, status, entry_idx)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (merchant_id, actor) DO UPDATE
             SET party = $3, kind = $4, status = $5, entry_idx = $6`;
        return [
          { sql, params: [b.merchant, b.actor, b.party, b.kind, b.status, e.index.toString()] },
        ];
      });
    },
  };
}

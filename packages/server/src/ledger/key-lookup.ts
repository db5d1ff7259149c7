import { big, type Queryable } from "../db/database.js";

/** An idempotency key as stored: the request it answered and the entries it committed. */
export interface StoredKey {
  requestHash: Uint8Array;
  index: bigint;
  count: number;
}

/** Most keys one query looks up. */
const MAX_KEYS = 5000;

interface Waiting {
  scope: string;
  key: string;
  done: ((found: StoredKey | undefined) => void)[];
  failed: ((err: unknown) => void)[];
}

/**
 * Looks idempotency keys up, those asked for in the same turn of the event loop in one query:
 * a batch of 1,000 orders, each its own command with its own key, costs one round trip instead
 * of 1,000 before its commands reach the sequencer. Each caller gets what
 * `findIdempotencyKey` would have answered when the query ran.
 */
export class KeyLookup {
  private waiting = new Map<string, Waiting>();
  private scheduled = false;
  /** Queries run, for tests. */
  queries = 0;

  constructor(private readonly db: Queryable) {}

  find(scope: string, key: string): Promise<StoredKey | undefined> {
    return new Promise((resolve, reject) => {
      const id = `${scope}\u0000${key}`;
      let w = this.waiting.get(id);
      if (!w) {
        w = { scope, key, done: [], failed: [] };
        this.waiting.set(id, w);
      }
      w.done.push(resolve);
      w.failed.push(reject);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = [...this.waiting.values()];
    this.waiting = new Map();
    for (let i = 0; i < all.length; i += MAX_KEYS) void this.run(all.slice(i, i + MAX_KEYS));
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      this.queries++;
      const { rows } = await this.db.query<{
        scope: string;
        key: string;
        request_hash: string;
        entry_idx: string | number;
        entry_count: string | number;
      }>(
        `SELECT k.scope, k.key, encode(k.request_hash, 'hex') AS request_hash, k.entry_idx, k.entry_count
         FROM idempotency_keys k
         JOIN unnest($1::text[], $2::text[]) AS x(scope, key) ON k.scope = x.scope AND k.key = x.key`,
        [batch.map((w) => w.scope), batch.map((w) => w.key)],
      );
      const found = new Map<string, StoredKey>();
      for (const r of rows) {
        found.set(`${r.scope}\u0000${r.key}`, {
          requestHash: new Uint8Array(Buffer.from(r.request_hash, "hex")),
          index: big(r.entry_idx),
          count: Number(r.entry_count),
        });
      }
      for (const w of batch) {
        const f = found.get(`${w.scope}\u0000${w.key}`);
        for (const done of w.done) done(f);
      }
    } catch (err) {
      for (const w of batch) for (const failed of w.failed) failed(err);
    }
  }
}

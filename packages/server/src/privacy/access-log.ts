import { canonicalJson, hashLeaf, inclusionProof, rootFromLeafHashes } from "@patron/ledger";
import type { Queryable, Statement } from "../db/database.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import { random } from "../ledger/salt.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { actorOf, type Principal } from "../tenancy/roles.js";

export const ACCESS_RECORDED = "access.recorded";

/** What kinds of personal data a use reveals (ISO/IEC TS 27560 data categories, simplified). */
export const CATEGORIES = [
  "contact",
  "demographics",
  "interactions",
  "notes",
  "purchase_history",
  "loyalty",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The categories a customer profile reveals. */
export const PROFILE: Category[] = ["contact", "demographics"];

/**
 * What a use did, as its record names it. One closed list, because customers read these records
 * in the portal, which has words for each (and for each one `_refused`, a use on consent that no
 * consent covered): a route cannot record an action the portal would show as a bare code.
 */
export const ACCESS_ACTIONS = [
  // Profiles
  "create",
  "read",
  "lookup",
  "update",
  "list",
  "search",
  "export",
  "timeline",
  "notes",
  "merge",
  "unmerge",
  // Segments
  "segment members",
  "segment export",
  // Loyalty
  "points",
  "order",
  "refund",
  "members",
  "transfers",
  "adjustment",
  "adjustments",
  "redemption",
  "redemptions",
  // Messages, consent and rights
  "outbox",
  "marketing_email",
  "partner_read",
  "subject-request.export",
  "retention.read",
] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
/** A recorded action: what was done, or a use on consent refused for want of one. */
export type RecordedAction = AccessAction | `${AccessAction}_refused`;

/**
 * One use of one customer's personal data, as the customer sees it: when, by which role, for
 * which purpose on which basis, and what. The staff member or key is kept beside it for the
 * merchant's internal audit, outside the committed record.
 */
export interface AccessRecord {
  id: string;
  merchantId: string;
  customerId: string;
  at: string;
  role: string;
  purpose: string;
  basis: string;
  categories: Category[];
  action: string;
}

/** The bytes a record's leaf hashes: RFC 8785 canonical JSON of the record. */
export const recordBytes = (r: AccessRecord) =>
  new TextEncoder().encode(canonicalJson(r as unknown as Parameters<typeof canonicalJson>[0]));

interface Row {
  id: string;
  merchant_id: string;
  customer_id: string;
  at: string | Date;
  role: string;
  purpose: string;
  basis: string;
  categories: string | Category[];
  action: string;
  batch_idx: string | number | bigint | null;
  leaf: string | number | bigint | null;
  seq: string | number | bigint;
}

/** A record with its proof against the batch entry that committed it (null while pending). */
export interface ProvenRecord extends AccessRecord {
  batch: {
    entryIndex: number;
    leafIndex: number;
    size: number;
    root: string;
    proof: string[];
  } | null;
}

/** A record waiting for its INSERT (see `AccessLog.record`). */
interface PendingRecord {
  merchantId: string;
  customerId: string;
  at: string;
  role: string;
  actor: string;
  purpose: string;
  basis: string;
  categories: string;
  action: string;
}

/**
 * Who used the data when it is not the merchant's own key or staff: a partner merchant reading
 * under a customer's consent is recorded at the merchant that holds the data, under its role
 * name (`partner`) and its own actor, so the customer sees the use in their one log.
 */
export interface Accessor {
  merchantId: string;
  role: string;
  actor: string;
}

/** Most records one batch entry commits; a longer backlog takes several. */
const MAX_BATCH = 10_000;

/** One INSERT for these records: the columns as parallel arrays. */
function insertStatement(rows: readonly PendingRecord[]): Statement {
  const col = <K extends keyof PendingRecord>(k: K) => rows.map((r) => r[k]);
  return {
    sql: `INSERT INTO access_records (id, merchant_id, customer_id, at, role, actor, purpose, basis, categories, action)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
       $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
    params: [
      rows.map(() => `ar_${random(12).toString("base64url")}`),
      col("merchantId"),
      col("customerId"),
      col("at"),
      col("role"),
      col("actor"),
      col("purpose"),
      col("basis"),
      col("categories"),
      col("action"),
    ],
  };
}

const toRecord = (r: Row): AccessRecord => ({
  id: r.id,
  merchantId: r.merchant_id,
  customerId: r.customer_id,
  at: new Date(r.at).toISOString(),
  role: r.role,
  purpose: r.purpose,
  basis: r.basis,
  categories: typeof r.categories === "string" ? JSON.parse(r.categories) : r.categories,
  action: r.action,
});

/**
 * Accountable use of personal data (decision 11). Every request that reveals a customer's data
 * writes a record before it answers; every few seconds each merchant's new records are committed
 * as one sealed entry holding their Merkle root, and each record can then be proved against it.
 */
export class AccessLog {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly opts: { intervalMs: number },
  ) {}

  /**
   * Records that a request revealed these customers' data. Awaited before the answer is sent:
   * a use that cannot be recorded is not made.
   *
   * Group commit, as the sequencer does for entries: while one INSERT is in flight, the records
   * of the requests that arrive meanwhile wait and go together in the next, so concurrent reads
   * share statements and no request waits for a timer.
   */
  record(
    p: Principal | Accessor,
    /** The purpose and its basis: for a use on consent, the consent's id. */
    use: { purpose: string; basis: string },
    customerIds: readonly string[],
    categories: readonly Category[],
    action: RecordedAction,
  ): Promise<void> {
    const rows = this.pending(p, use, customerIds, categories, action);
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drainQueue();
      }
    });
  }

  /**
   * The same record as statements, for a write that commits it in its own transaction: a
   * sequencer command's `writes`, so the record commits with the entries of the request that
   * reveals the data, with no commit of its own (the till's hold and capture). One row each,
   * `bulk`: a batch's records go in one multi-row INSERT.
   */
  statements(
    p: Principal | Accessor,
    use: { purpose: string; basis: string },
    customerIds: readonly string[],
    categories: readonly Category[],
    action: RecordedAction,
  ): Statement[] {
    return this.pending(p, use, customerIds, categories, action).map((r) => ({
      sql: `INSERT INTO access_records (id, merchant_id, customer_id, at, role, actor, purpose, basis, categories, action)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      params: [
        `ar_${random(12).toString("base64url")}`,
        r.merchantId,
        r.customerId,
        r.at,
        r.role,
        r.actor,
        r.purpose,
        r.basis,
        r.categories,
        r.action,
      ],
      bulk: true,
    }));
  }

  private pending(
    p: Principal | Accessor,
    use: { purpose: string; basis: string },
    customerIds: readonly string[],
    categories: readonly Category[],
    action: RecordedAction,
  ): PendingRecord[] {
    const ids = [...new Set(customerIds)];
    if (ids.length === 0) return [];
    const shared = {
      merchantId: p.merchantId,
      at: new Date(this.clock.now()).toISOString(),
      role: p.role,
      actor: "actor" in p ? p.actor : actorOf(p),
      purpose: use.purpose,
      basis: use.basis,
      categories: JSON.stringify([...new Set(categories)].sort()),
      action,
    };
    return ids.map((customerId) => ({ ...shared, customerId }));
  }

  private readonly queue: {
    rows: PendingRecord[];
    resolve: () => void;
    reject: (err: unknown) => void;
  }[] = [];
  /** Whether `drainQueue` runs: it takes what waits until nothing does, then stops. */
  private draining = false;

  private async drainQueue(): Promise<void> {
    // `draining` is cleared in the same turn as the queue is found empty (no await between
    // them): a record queued after that starts a new drain, never waits on one that is ending.
    try {
      while (this.queue.length > 0) {
        const waiting = this.queue.splice(0);
        const rows = waiting.flatMap((w) => w.rows);
        try {
          // One statement for every waiting request.
          const insert = insertStatement(rows);
          await this.db.query(insert.sql, insert.params);
          for (const w of waiting) w.resolve();
        } catch (err) {
          for (const w of waiting) w.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A customer's records, newest first, each with its proof once committed. */
  async list(
    merchantId: string,
    customerId: string,
    q: { before?: bigint; limit: number },
  ): Promise<{ records: ProvenRecord[]; next: bigint | null }> {
    const params: unknown[] = [merchantId, customerId, q.limit + 1];
    if (q.before !== undefined) params.push(q.before.toString());
    const { rows } = await this.db.query<Row>(
      `SELECT id, merchant_id, customer_id, at, role, purpose, basis, categories, action, batch_idx, leaf, seq
       FROM access_records WHERE merchant_id = $1 AND customer_id = $2
       ${q.before === undefined ? "" : "AND seq < $4"} ORDER BY seq DESC LIMIT $3`,
      params,
    );
    const page = rows.slice(0, q.limit);
    // Each batch's leaves are read once for all the page's records in it.
    const batches = new Map<string, Promise<Uint8Array[]>>();
    const leavesOf = (idx: string) => {
      let found = batches.get(idx);
      if (!found) {
        found = this.batchLeaves(merchantId, idx);
        batches.set(idx, found);
      }
      return found;
    };
    const records = await Promise.all(
      page.map(async (r): Promise<ProvenRecord> => {
        const record = toRecord(r);
        if (r.batch_idx === null || r.leaf === null) return { ...record, batch: null };
        const leaves = await leavesOf(String(r.batch_idx));
        const leafIndex = Number(r.leaf);
        return {
          ...record,
          batch: {
            entryIndex: Number(r.batch_idx),
            leafIndex,
            size: leaves.length,
            root: toHex(rootFromLeafHashes(leaves)),
            proof: inclusionProof(leaves, leafIndex).map(toHex),
          },
        };
      }),
    );
    const last = page[page.length - 1];
    return { records, next: rows.length > q.limit && last ? BigInt(last.seq) : null };
  }

  /**
   * Commits every merchant's pending records, one sealed entry per merchant and batch holding
   * their Merkle root. Resolves to how many records it committed. One flush runs at a time.
   */
  flush(): Promise<number> {
    if (!this.flushing) {
      this.flushing = this.flushAll().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  start(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.flush().catch(() => {
        // Left pending: the next tick tries again.
      });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and commits what is pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
  }

  private async flushAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows } = await this.db.query<Row>(
        `SELECT id, merchant_id, customer_id, at, role, purpose, basis, categories, action, batch_idx, leaf, seq
         FROM access_records WHERE batch_idx IS NULL ORDER BY seq LIMIT ${MAX_BATCH}`,
      );
      if (rows.length === 0) return total;
      const byMerchant = new Map<string, Row[]>();
      for (const r of rows) {
        const list = byMerchant.get(r.merchant_id) ?? [];
        list.push(r);
        byMerchant.set(r.merchant_id, list);
      }
      await Promise.all(
        [...byMerchant].map(([merchantId, list]) => this.commitBatch(merchantId, list)),
      );
      total += rows.length;
      if (rows.length < MAX_BATCH) return total;
    }
  }

  private async commitBatch(merchantId: string, rows: Row[]): Promise<void> {
    const leaves = rows.map((r) => hashLeaf(recordBytes(toRecord(r))));
    const root = rootFromLeafHashes(leaves);
    const ids = rows.map((r) => r.id);
    await this.sequencer.execute({
      entries: [
        {
          type: ACCESS_RECORDED,
          actor: "node:access-log",
          payload: {
            merchantId,
            root: toHex(root),
            count: rows.length,
          },
          parties: [{ merchant: merchantId }],
          sealed: true,
        },
      ],
      // The records learn their batch in the entry's own transaction: both or neither.
      writes: (es) => [
        {
          sql: `UPDATE access_records a SET batch_idx = $1, leaf = t.leaf - 1
           FROM unnest($2::text[]) WITH ORDINALITY AS t(id, leaf)
           WHERE a.id = t.id AND a.merchant_id = $3`,
          params: [String(es[0]?.index), ids, merchantId],
        },
      ],
    });
  }

  /** The leaf hashes of one batch, in order, recomputed from its records. */
  private async batchLeaves(merchantId: string, batchIdx: string): Promise<Uint8Array[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, merchant_id, customer_id, at, role, purpose, basis, categories, action, batch_idx, leaf, seq
       FROM access_records WHERE merchant_id = $1 AND batch_idx = $2 ORDER BY leaf`,
      [merchantId, batchIdx],
    );
    return rows.map((r) => hashLeaf(recordBytes(toRecord(r))));
  }
}

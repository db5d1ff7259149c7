import {
  decodeEntry,
  type Entry,
  type EntrySignature,
  encodeEntry,
  type JsonValue,
  type NoteSigner,
  parseSignerKey,
  signCheckpoint,
} from "@patron/ledger";
import type { Database, Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { hashLeafNative } from "./hash.js";
import {
  findIdempotencyKey,
  getEntry,
  insertCheckpoint,
  insertEntries,
  insertIdempotencyKeys,
  latestCheckpoint,
  loadTiles,
  maxEntryIndex,
  upsertTiles,
} from "./store.js";
import { type TileNodes, TreeEdge, tileId } from "./tiles.js";

/** What a domain hands the sequencer: the facts of one entry, before it has an index or time. */
export interface EntryDraft {
  type: string;
  actor: string;
  payload: JsonValue;
  signature?: EntrySignature;
  /**
   * Runs in the sequencer's single thread of order, just before the entry gets its index: the
   * place to check a command against state that earlier entries of the same batch may change.
   * Throwing rejects this command alone.
   */
  check?: () => void;
}

export interface CommittedEntry {
  index: bigint;
  entry: Entry;
  data: Uint8Array;
  leafHash: Uint8Array;
  /** True when an idempotent retry returned the entry an earlier request committed. */
  replayed?: boolean;
}

export interface Idempotency {
  scope: string;
  key: string;
  /** Hash of the request the key was first used with; reuse with another request is refused. */
  requestHash: Uint8Array;
}

/** Updates a projection table from committed entries, inside the batch's transaction. */
export interface Projector {
  types: readonly string[];
  /** The tables it writes, parents before children: `audit` rebuilds and compares them. */
  tables: readonly string[];
  apply(tx: Queryable, entries: CommittedEntry[]): Promise<void>;
}

export interface SequencerOptions {
  origin: string;
  signerKey: string;
  /** Most entries in one batch (one transaction). */
  maxBatch: number;
  /** How long the first command of an idle sequencer waits for company. */
  maxWaitMs: number;
  projectors?: Projector[];
}

export interface Head {
  size: bigint;
  root: Uint8Array;
  note: string;
}

interface Pending {
  draft: EntryDraft;
  /** Encoded and hashed on arrival, so that work overlaps the commit of the batch before. */
  entry: Entry;
  data: Uint8Array;
  leafHash: Uint8Array;
  idempotency?: Idempotency;
  resolve: (e: CommittedEntry) => void;
  reject: (err: unknown) => void;
}

/**
 * The single writer of a ledger. Commands queue; a batch is validated, given indices and a time,
 * hashed into the tree, and written in one transaction with its tree tiles, projection updates,
 * idempotency keys and a signed checkpoint. A command is acknowledged only after that commit,
 * so an acknowledged entry survives any crash and no partial batch is ever visible.
 */
export class Sequencer {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private inflight = new Map<string, { hash: string; promise: Promise<CommittedEntry> }>();
  private lastTime = 0;
  private needsRecovery = false;
  private closed = false;
  private committedTiles = new Map<string, TileNodes>();
  private readonly listeners = new Set<(head: Head) => void>();
  private readonly signer: NoteSigner;

  private constructor(
    private readonly db: Database,
    private readonly opts: SequencerOptions,
    private edge: TreeEdge,
    private headState: Head,
  ) {
    this.committedTiles = edge.partialTileNodes();
    this.signer = parseSignerKey(opts.signerKey);
  }

  static async open(db: Database, opts: SequencerOptions): Promise<Sequencer> {
    const { edge, head } = await loadState(db, opts);
    return new Sequencer(db, opts, edge, head);
  }

  /** The latest committed tree head. */
  get head(): Head {
    return this.headState;
  }

  /** Partial tiles of the committed tree, so proofs on the live node need not read them back. */
  get edgeTiles(): ReadonlyMap<string, TileNodes> {
    return this.committedTiles;
  }

  onCommit(listener: (head: Head) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Appends one entry; resolves once it is committed. */
  async submit(draft: EntryDraft, idempotency?: Idempotency): Promise<CommittedEntry> {
    if (this.closed) throw new ApiError(503, "shutting_down", "the ledger is shutting down");
    if (!idempotency) return this.enqueue(draft);

    const id = `${idempotency.scope}\u0000${idempotency.key}`;
    const hash = Buffer.from(idempotency.requestHash).toString("hex");
    const fromInflight = () => {
      const f = this.inflight.get(id);
      if (!f) return undefined;
      if (f.hash !== hash) throw idempotencyConflict();
      return f.promise.then((e) => ({ ...e, replayed: true }));
    };
    const pending = fromInflight();
    if (pending) return pending;
    const stored = await findIdempotencyKey(this.db, idempotency.scope, idempotency.key);
    if (stored) {
      if (Buffer.from(stored.requestHash).toString("hex") !== hash) throw idempotencyConflict();
      const row = await getEntry(this.db, stored.index);
      if (!row) throw new Error(`idempotency key points at missing entry ${stored.index}`);
      return {
        index: row.index,
        entry: decodeEntry(row.data),
        data: row.data,
        leafHash: row.leafHash,
        replayed: true,
      };
    }
    // Another request with this key may have been queued while we looked it up.
    const raced = fromInflight();
    if (raced) return raced;
    const promise = this.enqueue(draft, idempotency);
    this.inflight.set(id, { hash, promise });
    promise.then(
      () => this.inflight.delete(id),
      () => this.inflight.delete(id),
    );
    return promise;
  }

  private enqueue(draft: EntryDraft, idempotency?: Idempotency): Promise<CommittedEntry> {
    // The time is taken on arrival; queue order is index order, so times never go backwards.
    this.lastTime = Math.max(this.lastTime, Date.now());
    const entry: Entry = {
      v: 1,
      type: draft.type,
      actor: draft.actor,
      time: new Date(this.lastTime).toISOString(),
      payload: draft.payload,
      ...(draft.signature ? { signature: draft.signature } : {}),
    };
    let data: Uint8Array;
    try {
      data = encodeEntry(entry);
    } catch (err) {
      return Promise.reject(new ApiError(400, "invalid_entry", (err as Error).message));
    }
    const leafHash = hashLeafNative(data);
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, entry, data, leafHash, idempotency, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.opts.maxBatch || this.opts.maxWaitMs <= 0) {
      this.flushSoon();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushSoon(), this.opts.maxWaitMs);
    }
  }

  private flushSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  /** Commits batches until the queue is empty: commands that arrived during a commit go next. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      try {
        await this.commit(batch);
      } catch (err) {
        if (batch.length === 1) {
          batch[0]?.reject(err);
          continue;
        }
        // One bad command must not sink the others: retry each alone, in order.
        for (const p of batch) {
          await this.commit([p]).catch((e) => p.reject(e));
        }
      }
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (this.needsRecovery) await this.recover();
    const before = this.edge.clone();
    const accepted: { p: Pending; c: CommittedEntry }[] = [];
    for (const p of batch) {
      try {
        p.draft.check?.();
      } catch (err) {
        p.reject(err);
        continue;
      }
      const index = this.edge.size;
      this.edge.append(p.leafHash);
      accepted.push({ p, c: { index, entry: p.entry, data: p.data, leafHash: p.leafHash } });
    }
    if (accepted.length === 0) return;

    try {
      const size = this.edge.size;
      const root = this.edge.root();
      const note = signCheckpoint(
        { origin: this.opts.origin, size, root, extensions: [] },
        this.signer,
      );
      const tiles = this.edge.takeDirty();
      const committed = accepted.map((a) => a.c);
      await this.db.transaction(async (tx) => {
        await insertEntries(
          tx,
          committed.map((c) => ({
            index: c.index,
            type: c.entry.type,
            actor: c.entry.actor,
            time: new Date(c.entry.time),
            data: c.data,
            leafHash: c.leafHash,
          })),
        );
        await upsertTiles(tx, tiles);
        await insertIdempotencyKeys(
          tx,
          accepted.flatMap(({ p, c }) =>
            p.idempotency ? [{ ...p.idempotency, index: c.index }] : [],
          ),
        );
        for (const projector of this.opts.projectors ?? []) {
          const mine = committed.filter((c) => projector.types.includes(c.entry.type));
          if (mine.length > 0) await projector.apply(tx, mine);
        }
        await insertCheckpoint(tx, { size, root, note });
      });
      this.headState = { size, root, note };
      this.committedTiles = this.edge.partialTileNodes();
    } catch (err) {
      // The commit may or may not have reached the database (a lost connection during COMMIT):
      // trust only what is stored.
      this.edge = before;
      await this.recover().catch(() => {
        this.needsRecovery = true;
      });
      throw err;
    }
    for (const { p, c } of accepted) p.resolve(c);
    for (const l of this.listeners) l(this.headState);
  }

  /** Reloads the committed head and tree edge from the database. */
  private async recover(): Promise<void> {
    const state = await loadState(this.db, this.opts);
    this.edge = state.edge;
    this.headState = state.head;
    this.committedTiles = this.edge.partialTileNodes();
    this.needsRecovery = false;
  }

  /** Stops accepting commands and waits for queued ones to commit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.flushSoon();
    while (this.running) await this.running;
  }
}

function idempotencyConflict() {
  return new ApiError(
    409,
    "idempotency_conflict",
    "this Idempotency-Key was already used with a different request",
  );
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Recovers the tree's right edge from the database and checks it against the last checkpoint. */
async function loadState(
  db: Queryable,
  opts: SequencerOptions,
): Promise<{ edge: TreeEdge; head: Head }> {
  const cp = await latestCheckpoint(db);
  const size = cp?.size ?? 0n;
  const max = await maxEntryIndex(db);
  if ((max ?? -1n) + 1n !== size) {
    throw new Error(
      `ledger is inconsistent: ${max === undefined ? 0n : max + 1n} entries stored but the last checkpoint covers ${size}; run \`patron audit\``,
    );
  }
  const tiles = await loadTiles(db, TreeEdge.partialTiles(size));
  const edge = TreeEdge.fromTiles(size, (k) => tiles.get(tileId(k.level, k.index)));
  const root = edge.root();
  if (cp && !equalBytes(root, cp.root)) {
    throw new Error("stored tree tiles do not match the last checkpoint; run `patron audit`");
  }
  const note =
    cp?.note ?? signCheckpoint({ origin: opts.origin, size, root, extensions: [] }, opts.signerKey);
  return { edge, head: { size, root, note } };
}

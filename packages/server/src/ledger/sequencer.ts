import {
  canonicalJson,
  commandExpiry,
  decodeEntry,
  type Entry,
  type JsonValue,
  type NoteSigner,
  type SignedCommand,
  type Subject,
  signCheckpoint,
} from "@patron/ledger";
import type { Database, Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { type Clock, systemClock } from "./clock.js";
import { hashLeafNative } from "./hash.js";
import { KeyLookup } from "./key-lookup.js";
import { nativeNoteSigner } from "./native-signer.js";
import { newSalt } from "./salt.js";
import { StagedGroup, StagedMap } from "./staged.js";
import {
  checkpointStatement,
  entriesStatement,
  idempotencyStatement,
  latestCheckpoint,
  leafHashes,
  listEntries,
  loadHeads,
  loadLiveNonces,
  loadTiles,
  maxEntryIndex,
  noncesStatement,
  pruneNonces,
  tilesStatement,
} from "./store.js";
import { TILE_WIDTH, type TileNodes, TreeEdge, tileId } from "./tiles.js";

/** A merchant or a customer an entry concerns: each has a chain through the log (decision 7). */
export type Party = { merchant: string } | { customer: string };

export const partyId = (p: Party): string => ("merchant" in p ? p.merchant : p.customer);

/** The facts of one entry, before it has an index, a time or its parties' `prev`. */
export interface EntryDraft {
  type: string;
  actor: string;
  /**
   * The payload, or a function that derives it when the entry is sequenced, from the staged
   * state (a resulting balance, the rule version in force): derived facts are in the leaf.
   * A derived payload is encoded then; a plain one on arrival, off the sequencer's path.
   */
  payload: JsonValue | ((ctx: CheckContext) => JsonValue);
  /** The parties it concerns, in the order `subjects` lists them. */
  parties?: Party[];
  /** A sealed entry gets a random salt and is shown whole only to its parties (decision 6). */
  sealed?: boolean;
  /**
   * Runs in the sequencer's single order of execution, after the entries before it (of this
   * command and of earlier commands in the batch) were staged. Throwing rejects the command.
   */
  check?: (ctx: CheckContext) => void;
  /**
   * Asked after the command's own check: false leaves the entry out of the command (it gets no
   * index and no chain link). For an entry the check decides on, such as an order's tier change.
   */
  when?: (ctx: CheckContext) => boolean;
}

/** What a domain hands the sequencer: one or more entries, all committed or none. */
export interface CommandDraft {
  entries: EntryDraft[];
  /** A signed command: every entry keeps it byte for byte, and its nonce is spent here. */
  signed?: SignedCommand;
  /**
   * Validates the command against the staged state (committed state plus everything earlier in
   * the batch) and stages its effects there. It may read the database (asynchronously), and
   * must then combine what it reads with the staged state. Throwing rejects this command alone.
   */
  check?: (ctx: CheckContext) => void | Promise<void>;
  /**
   * What the command writes beside the log and its projections (the vault: decision 4), given
   * its committed entries: run in the batch's transaction, after the projections, only when the
   * command was accepted. Called again if the batch is retried, so it must be a function of the
   * entries and of what the command captured when it was made.
   */
  writes?: (entries: CommittedEntry[]) => Statement[];
}

export interface CheckContext {
  /** The sequencer time the command's entries carry, in ms. */
  time: number;
  /** The index the command's first entry gets. */
  index: bigint;
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

/**
 * Updates projection tables from committed entries, inside the batch's transaction. It says
 * what to write and never reads: a projection is a function of the entries alone (`audit`
 * rebuilds it from them), and its statements go out pipelined with the batch's own.
 */
export interface Projector {
  /** The entry types it reads, or "*" for every entry. */
  types: readonly string[] | "*";
  /** The tables it writes, parents before children: `audit` rebuilds and compares them. */
  tables: readonly string[];
  /** The statements that project these entries, to run in order (after the ledger rows). */
  statements(entries: CommittedEntry[]): Statement[];
}

export const projects = (p: Projector, type: string) => p.types === "*" || p.types.includes(type);

/** Runs a projector's statements for `entries` one after the other (audit, tools). */
export async function applyProjector(
  tx: Queryable,
  p: Projector,
  entries: CommittedEntry[],
): Promise<void> {
  for (const s of p.statements(entries)) await tx.query(s.sql, s.params);
}

export interface SequencerOptions {
  origin: string;
  signerKey: string;
  /** Most entries in one batch (one transaction). */
  maxBatch: number;
  /** How long the first command of an idle sequencer waits for company. */
  maxWaitMs: number;
  projectors?: Projector[];
  clock?: Clock;
}

/**
 * Where the sequencer's time goes, summed since it opened (ms, from performance.now): what a
 * profile of the write path reads, before and after a load, to split a write's time.
 */
export interface SequencerStats {
  batches: number;
  entries: number;
  /** Commands' time in the queue, until they were sequenced. */
  queuedMs: number;
  /** Checking, sequencing and hashing commands into their batch. */
  sequenceMs: number;
  /** Sealing batches: tree root, checkpoint, statements; of which signing the checkpoint. */
  sealMs: number;
  signMs: number;
  /** Writing batches: from sending the transaction to its COMMIT's answer. */
  writeMs: number;
}

export interface Head {
  size: bigint;
  root: Uint8Array;
  note: string;
}

/** How far ahead a signed command may expire (decision 5). */
export const MAX_COMMAND_LIFETIME_MS = 24 * 3600 * 1000;

/** An entry encoded on arrival, but for `subjects` and `time`, which only sequencing gives. */
interface Prepared {
  draft: EntryDraft;
  /** The entry without `subjects` and `time`. */
  entry: Omit<Entry, "time">;
  /** Canonical JSON of that entry, split where `subjects` and `time` go. */
  head: string;
  tail: string;
}

/** An entry whose payload is derived at sequencing: encoded then. */
interface Deferred {
  draft: EntryDraft;
  signed?: SignedCommand;
  salt?: string;
}

/** Commands sequenced together, to commit in one transaction. */
interface Batch {
  accepted: { p: Pending; c: CommittedEntry[] }[];
  /**
   * Commands its checks refused while the batch below was still being written: judged against
   * state that may not commit, so answered only once it has (and sequenced again if not).
   */
  held: { p: Pending; error: unknown }[];
  /** Every command sequenced into it, accepted or held, in order. */
  order: Pending[];
  entries: number;
  /** The tree's edge before the batch: what a failed batch returns to. */
  before: TreeEdge;
}

/** A batch ready to write: its tree head, the partial tiles after it, its statements. */
interface Sealed extends Batch {
  head: Head;
  tiles: () => Map<string, TileNodes>;
  statements: Statement[];
}

/** A batch being written; `done` settles with the error when it was not committed. */
interface Writing {
  batch: Sealed;
  done: Promise<{ error?: unknown }>;
  /** Set when `done` has settled: the next batch goes out before more is sequenced. */
  finished: boolean;
}

interface Pending {
  command: CommandDraft;
  prepared: (Prepared | Deferred)[];
  expires?: number;
  idempotency?: Idempotency;
  /** Answered already (refused by its checks): never retried, never written. */
  settled?: boolean;
  /** When it was queued (performance.now), for `stats`. */
  queued: number;
  resolve: (e: CommittedEntry[]) => void;
  reject: (err: unknown) => void;
}

/** A party with no entry yet. */
const NONE = -1n;

/**
 * The single writer of a ledger. Commands queue; a batch is validated in order against staged
 * state, given indices, a time and its parties' chain links, hashed into the tree, and written
 * in one transaction with its tree tiles, projection updates, idempotency keys, spent nonces
 * and a signed checkpoint. A command is acknowledged only after that commit, so an
 * acknowledged entry survives any crash and no partial batch or command is ever visible.
 */
export class Sequencer {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Every command queued and not answered yet, wherever it is. */
  private readonly unanswered = new Set<Pending>();
  /** Set while the sequencer waits for a command to arrive. */
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private inflight = new Map<string, { hash: string; promise: Promise<CommittedEntry[]> }>();
  /**
   * Idempotency keys committed lately, so a retry whose database lookup ran before the first
   * request committed (and after it left `inflight`) still gets the replay.
   */
  private readonly recentKeys = new Map<string, { hash: string; entries: CommittedEntry[] }>();
  private lastTime = 0;
  private needsRecovery = false;
  private closed = false;
  private committedTiles: () => Map<string, TileNodes>;
  private readonly listeners = new Set<(head: Head) => void>();
  private readonly signer: NoteSigner;
  private readonly clock: Clock;
  /** Where the time goes (see SequencerStats). */
  readonly stats: SequencerStats = {
    batches: 0,
    entries: 0,
    queuedMs: 0,
    sequenceMs: 0,
    sealMs: 0,
    signMs: 0,
    writeMs: 0,
  };
  /** Every staged store: the sequencer's own and those domains register. */
  readonly state = new StagedGroup();
  /** Each party's latest entry index, NONE for a party with none. */
  private readonly heads = this.state.add(new StagedMap<string, bigint>());
  /** Spent nonces of signed commands, by actor and nonce, until they expire (ms). */
  private readonly nonces = this.state.add(new StagedMap<string, number>());
  private lastPrune = 0;
  private readonly recoverers: (() => Promise<void>)[] = [];
  /** Idempotency keys looked up together (a batch of commands, one query). */
  readonly keys: KeyLookup;

  private constructor(
    private readonly db: Database,
    private readonly opts: SequencerOptions,
    private edge: TreeEdge,
    private headState: Head,
  ) {
    this.committedTiles = edge.partialTilesLater();
    this.keys = new KeyLookup(db);
    this.signer = nativeNoteSigner(opts.signerKey);
    this.clock = opts.clock ?? systemClock;
  }

  static async open(db: Database, opts: SequencerOptions): Promise<Sequencer> {
    const { edge, head } = await loadState(db, opts);
    const s = new Sequencer(db, opts, edge, head);
    for (const n of await loadLiveNonces(db, s.clock.now())) {
      s.nonces.load(nonceKey(n.actor, n.nonce), n.expires);
    }
    // The last entry's time: times never go backwards in index order, even across restarts.
    const last = head.size > 0n ? (await listEntries(db, head.size - 1n, head.size))[0] : undefined;
    if (last) s.lastTime = last.time.getTime();
    return s;
  }

  /** The latest committed tree head. */
  get head(): Head {
    return this.headState;
  }

  /** The clock the sequencer stamps entries with. */
  get now(): number {
    return this.clock.now();
  }

  /** Partial tiles of the committed tree, so proofs on the live node need not read them back. */
  get edgeTiles(): ReadonlyMap<string, TileNodes> {
    return this.committedTiles();
  }

  onCommit(listener: (head: Head) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest committed entry of a party, or undefined when it has none. */
  async headOf(party: string): Promise<bigint | undefined> {
    // Committed state only: a batch being written may still fail.
    let h = this.heads.getCommitted(party);
    if (h === undefined) {
      h = (await loadHeads(this.db, [party])).get(party) ?? NONE;
      // A batch may have committed this party meanwhile: what it merged is newer.
      const now = this.heads.getCommitted(party);
      if (now === undefined) this.heads.load(party, h);
      else h = now;
    }
    return h === NONE ? undefined : h;
  }

  /** Whether a signed command's nonce was spent by a committed command that has not expired. */
  nonceSpent(actor: string, nonce: string): boolean {
    const expires = this.nonces.getCommitted(nonceKey(actor, nonce));
    return expires !== undefined && expires > this.clock.now();
  }

  /** Appends one entry; resolves once it is committed. */
  async submit(draft: EntryDraft, idempotency?: Idempotency): Promise<CommittedEntry> {
    const [first] = await this.execute({ entries: [draft] }, idempotency);
    if (!first) throw new Error("a one-entry command committed no entry");
    return first;
  }

  /** Runs a command; resolves with its entries once they are committed, all together. */
  async execute(command: CommandDraft, idempotency?: Idempotency): Promise<CommittedEntry[]> {
    if (this.closed) throw new ApiError(503, "shutting_down", "the ledger is shutting down");
    if (command.entries.length === 0) throw new Error("a command must write at least one entry");
    if (!idempotency) return this.enqueue(command);

    const id = `${idempotency.scope}\u0000${idempotency.key}`;
    const hash = Buffer.from(idempotency.requestHash).toString("hex");
    const fromInflight = () => {
      const f = this.inflight.get(id);
      if (!f) return undefined;
      if (f.hash !== hash) throw idempotencyConflict();
      return f.promise.then((es) => es.map((e) => ({ ...e, replayed: true })));
    };
    const pending = fromInflight();
    if (pending) return pending;
    const stored = await this.keys.find(idempotency.scope, idempotency.key);
    if (stored) {
      if (Buffer.from(stored.requestHash).toString("hex") !== hash) throw idempotencyConflict();
      const rows = await listEntries(this.db, stored.index, stored.index + BigInt(stored.count));
      if (rows.length !== stored.count) {
        throw new Error(`idempotency key points at missing entries from ${stored.index}`);
      }
      return rows.map((row) => ({
        index: row.index,
        entry: decodeEntry(row.data),
        data: row.data,
        leafHash: row.leafHash,
        replayed: true,
      }));
    }
    // Another request with this key may have been queued, or committed, while we looked it up.
    const raced = fromInflight();
    if (raced) return raced;
    const recent = this.recentKeys.get(id);
    if (recent) {
      if (recent.hash !== hash) throw idempotencyConflict();
      return recent.entries.map((e) => ({ ...e, replayed: true }));
    }
    const promise = this.enqueue(command, idempotency);
    this.inflight.set(id, { hash, promise });
    promise.then(
      (entries) => {
        this.recentKeys.set(id, { hash, entries });
        if (this.recentKeys.size > 10_000) {
          const oldest = this.recentKeys.keys().next().value;
          if (oldest !== undefined) this.recentKeys.delete(oldest);
        }
        this.inflight.delete(id);
      },
      () => this.inflight.delete(id),
    );
    return promise;
  }

  private enqueue(command: CommandDraft, idempotency?: Idempotency): Promise<CommittedEntry[]> {
    // Encoded on arrival, off the sequencer's path; the time and chain links come at sequencing.
    let prepared: (Prepared | Deferred)[];
    let expires: number | undefined;
    try {
      if (command.signed) expires = commandExpiry(command.signed.command);
      for (const d of command.entries) checkParties(d.parties ?? []);
      prepared = command.entries.map((d) =>
        typeof d.payload === "function"
          ? { draft: d, signed: command.signed, salt: d.sealed ? newSalt() : undefined }
          : prepare(d, command.signed),
      );
    } catch (err) {
      return Promise.reject(new ApiError(400, "invalid_entry", (err as Error).message));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {
        command,
        prepared,
        expires,
        idempotency,
        queued: performance.now(),
        resolve: (entries) => {
          this.unanswered.delete(p);
          resolve(entries);
        },
        reject: (err) => {
          this.unanswered.delete(p);
          reject(err);
        },
      };
      this.unanswered.add(p);
      this.queue.push(p);
      this.schedule();
    });
  }

  private schedule(): void {
    this.wake?.();
    if (this.running || this.queue.length === 0) return;
    if (this.queuedEntries() >= this.opts.maxBatch || this.opts.maxWaitMs <= 0) {
      this.flushSoon();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flushSoon(), this.opts.maxWaitMs);
    }
  }

  private queuedEntries(): number {
    let n = 0;
    for (const p of this.queue) {
      n += p.prepared.length;
      if (n >= this.opts.maxBatch) break;
    }
    return n;
  }

  private flushSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    // After this turn of the event loop, so that commands arriving in it share the batch.
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .catch((err: unknown) => {
        // Not expected (every command's own failure is answered where it happens), but a
        // sequencer that stopped must not leave callers waiting, nor trust its memory.
        this.needsRecovery = true;
        this.state.reset();
        this.queue.length = 0;
        for (const p of [...this.unanswered]) p.reject(err);
      })
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  /** Whether the queue's next command fits in `open` (an empty batch takes any command). */
  private fits(open: Batch | undefined): boolean {
    const next = this.queue[0];
    if (!next) return false;
    const n = open?.entries ?? 0;
    return n === 0 || n + next.prepared.length <= this.opts.maxBatch;
  }

  /** Takes commands from the queue that fit in `open`; a command is never split. */
  private takeFor(open: Batch): Pending[] {
    let n = open.entries;
    let k = 0;
    while (k < this.queue.length) {
      const size = this.queue[k]?.prepared.length ?? 0;
      if ((n > 0 || k > 0) && n + size > this.opts.maxBatch) break;
      n += size;
      k++;
    }
    return this.queue.splice(0, k);
  }

  /** Resolves when a command is queued (or at once, if one is). */
  private arrival(): Promise<void> {
    if (this.queue.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Commits batches until the queue is empty. Two batches at a time: while one is written,
   * the commands that arrive are sequenced into the next (checked, given indices and chain
   * links, hashed into the tree) on top of its staged state, and that batch is sealed and sent
   * the moment the write before it is acknowledged. The database commits the batches one after
   * the other, in order; a batch is never sent before the one before it committed.
   */
  private async drain(): Promise<void> {
    let writing: Writing | undefined;
    let open: Batch | undefined;
    // Set when a write was acknowledged: the open batch goes out before anything else is added.
    let sendNow = false;
    for (;;) {
      if (!this.needsRecovery && !sendNow && !writing?.finished && this.fits(open)) {
        open ??= this.openBatch();
        await this.absorb(open, this.takeFor(open), writing !== undefined);
        continue;
      }
      if (writing) {
        // Nothing queued and room left in the next batch: a command that arrives meanwhile is
        // sequenced at once. (A queued command that does not fit waits for the write.)
        const more =
          !writing.finished &&
          !this.needsRecovery &&
          this.queue.length === 0 &&
          (open?.entries ?? 0) < this.opts.maxBatch;
        const settled = await (more
          ? Promise.race([writing.done, this.arrival().then(() => "arrived" as const)])
          : writing.done);
        if (settled === "arrived") continue;
        const failed = writing;
        writing = undefined;
        if (settled.error !== undefined) {
          await this.undo(failed.batch, settled.error, open);
          open = undefined;
        } else {
          sendNow = true;
        }
        continue;
      }
      sendNow = false;
      if (open) {
        const sealing = open;
        open = undefined;
        // The batch below is committed (or there was none): the refusals stand.
        for (const h of sealing.held) {
          h.p.settled = true;
          h.p.reject(h.error);
        }
        if (sealing.accepted.length === 0) {
          this.state.drop();
          continue;
        }
        try {
          writing = this.write(this.seal(sealing));
        } catch (err) {
          // A projector could not say what to write: as if the transaction had failed.
          await this.undo(sealing, err, undefined);
        }
        continue;
      }
      if (this.queue.length === 0) return;
      if (!this.needsRecovery) continue;
      // Only a pending recovery stops the queue here.
      try {
        await this.recover();
      } catch (err) {
        for (const p of this.queue.splice(0)) p.reject(err);
      }
    }
  }

  /** Opens the next batch: a staged layer over the batches before it. */
  private openBatch(): Batch {
    this.state.begin();
    return { accepted: [], held: [], order: [], entries: 0, before: this.edge.clone() };
  }

  /** Sequences commands into the open batch, in order; a command its checks refuse is answered. */
  private async absorb(open: Batch, commands: Pending[], onUncommitted = false): Promise<void> {
    try {
      await this.loadUnknownHeads(commands);
    } catch (err) {
      for (const p of commands) p.reject(err);
      return;
    }
    // Taken as the commands are sequenced: expiry is judged against the time the entries
    // carry, and times never go backwards in index order.
    this.lastTime = Math.max(this.lastTime, this.clock.now());
    const time = this.lastTime;
    const started = performance.now();
    for (const p of commands) {
      this.stats.queuedMs += started - p.queued;
      this.state.begin();
      try {
        const c = await this.sequence(p, time);
        this.state.merge();
        open.accepted.push({ p, c });
        open.order.push(p);
        open.entries += c.length;
      } catch (err) {
        this.state.drop();
        if (onUncommitted) {
          open.held.push({ p, error: err });
          open.order.push(p);
        } else {
          p.settled = true;
          p.reject(err);
        }
      }
    }
    this.stats.sequenceMs += performance.now() - started;
  }

  /** The batch's tree head, signed checkpoint and statements, in the order they run. */
  private seal(b: Batch): Sealed {
    const started = performance.now();
    const size = this.edge.size;
    const tiles = this.edge.partialTilesLater();
    const root = this.edge.root();
    const signing = performance.now();
    const note = signCheckpoint(
      { origin: this.opts.origin, size, root, extensions: [] },
      this.signer,
    );
    this.stats.signMs += performance.now() - signing;
    const committed = b.accepted.flatMap((a) => a.c);
    const statements: Statement[] = [];
    const add = (s: Statement | undefined) => {
      if (s) statements.push(s);
    };
    add(
      entriesStatement(
        committed.map((c) => ({
          index: c.index,
          type: c.entry.type,
          actor: c.entry.actor,
          time: new Date(c.entry.time),
          data: c.data,
          leafHash: c.leafHash,
        })),
      ),
    );
    add(tilesStatement(this.edge.takeDirty()));
    add(
      idempotencyStatement(
        b.accepted.flatMap(({ p, c }) =>
          p.idempotency && c[0] ? [{ ...p.idempotency, index: c[0].index, count: c.length }] : [],
        ),
      ),
    );
    add(
      noncesStatement(
        b.accepted.flatMap(({ p, c }) =>
          p.command.signed && p.expires !== undefined && c[0]
            ? [
                {
                  actor: p.command.signed.command.actor,
                  nonce: p.command.signed.command.nonce,
                  expires: p.expires,
                  index: c[0].index,
                },
              ]
            : [],
        ),
      ),
    );
    for (const projector of this.opts.projectors ?? []) {
      const mine = committed.filter((c) => projects(projector, c.entry.type));
      if (mine.length > 0) statements.push(...projector.statements(mine));
    }
    for (const { p, c } of b.accepted) {
      if (p.command.writes) statements.push(...p.command.writes(c));
    }
    add(checkpointStatement({ size, root, note }));
    this.stats.sealMs += performance.now() - started;
    return { ...b, head: { size, root, note }, tiles, statements };
  }

  /** Writes a sealed batch; `done` settles once its outcome is known and acted on. */
  private write(b: Sealed): Writing {
    const w: Writing = { batch: b, done: Promise.resolve({}), finished: false };
    const started = performance.now();
    w.done = this.db.writeAll(b.statements).then(
      () => {
        this.stats.writeMs += performance.now() - started;
        this.committed(b);
        return {};
      },
      async (error: unknown) => {
        // The transaction failed, or its COMMIT's answer was lost: trust only what is stored.
        let stored: { edge: TreeEdge; head: Head } | undefined;
        try {
          stored = await loadState(this.db, this.opts);
        } catch {
          // the database is unreachable: the outcome stays unknown until it is back
        }
        if (
          stored &&
          stored.head.size === b.head.size &&
          equalBytes(stored.head.root, b.head.root)
        ) {
          // It was written after all: acknowledged like any committed batch.
          this.committed(b);
          return {};
        }
        // Not written. The staged layers undo it exactly, so nothing is reloaded, unless what
        // is stored is not what was there before (or cannot be read).
        if (!stored || stored.head.size !== b.before.size) this.needsRecovery = true;
        return { error: error ?? new Error("the batch was not written") };
      },
    );
    w.done = w.done.finally(() => {
      w.finished = true;
    });
    return w;
  }

  /** A batch is durable: its staged layer joins the committed state, its callers get answers. */
  private committed(b: Sealed): void {
    // The oldest layer is this batch's: the open batch above it stays staged.
    this.state.commitOldest();
    this.stats.batches++;
    this.stats.entries += b.entries;
    this.headState = b.head;
    this.committedTiles = b.tiles;
    for (const { p, c } of b.accepted) p.resolve(c);
    this.notify();
    this.pruneNonces();
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l(this.headState);
      } catch {
        // a listener's fault is its own: the batch is committed and answered
      }
    }
  }

  /**
   * A batch failed to commit. The open batch sequenced on top of it is undone too and its
   * commands go back to the front of the queue; the failed batch's commands are retried one by
   * one, in order, so that one bad command (a projection constraint, say) sinks no other. A
   * command its checks refused was answered already, and stays refused; one refused on this
   * batch's state, in the open batch, is judged again.
   */
  private async undo(failed: Batch, error: unknown, open: Batch | undefined): Promise<void> {
    if (open) {
      // Accepted or refused, its commands were judged on the failed batch: judged again.
      this.state.drop();
      this.queue.unshift(...open.order);
    }
    this.state.drop();
    this.edge = failed.before;
    if (this.needsRecovery && "head" in failed) {
      // What is stored could not be read when the write failed: read it now. The batch may
      // have committed after all (its COMMIT's answer lost), and must then not be written again.
      const head = (failed as Sealed).head;
      try {
        await this.recover();
      } catch {
        // still unreadable: each retry below recovers first, or fails with it
      }
      if (
        !this.needsRecovery &&
        this.headState.size === head.size &&
        equalBytes(this.headState.root, head.root)
      ) {
        for (const { p, c } of failed.accepted) p.resolve(c);
        this.notify();
        return;
      }
    }
    const commands = failed.accepted.map((a) => a.p);
    if (commands.length === 1) {
      commands[0]?.reject(error);
      return;
    }
    for (const p of commands) {
      try {
        if (this.needsRecovery) await this.recover();
      } catch (err) {
        p.reject(err);
        continue;
      }
      const alone = this.openBatch();
      let sealed: Sealed;
      try {
        await this.absorb(alone, [p]);
        if (alone.accepted.length === 0) {
          this.state.drop();
          continue;
        }
        sealed = this.seal(alone);
      } catch (err) {
        this.state.drop();
        this.edge = alone.before;
        p.reject(err);
        continue;
      }
      const outcome = await this.write(sealed).done;
      if (outcome.error !== undefined) {
        this.state.drop();
        this.edge = alone.before;
        p.reject(outcome.error);
      }
    }
  }

  /** Validates one command and gives its entries indices, chain links and leaf hashes. */
  private async sequence(p: Pending, time: number): Promise<CommittedEntry[]> {
    const ctx: CheckContext = { time, index: this.edge.size };
    const iso = new Date(time).toISOString();
    const signed = p.command.signed;
    if (signed && p.expires !== undefined) {
      // Checked again here, against the time the entries carry: the HTTP layer's check ran
      // against an earlier clock reading.
      if (p.expires <= time) {
        throw new ApiError(400, "command_expired", "the command expired before it was sequenced");
      }
      if (p.expires > time + MAX_COMMAND_LIFETIME_MS) {
        throw new ApiError(400, "expires_too_far", "a command may expire at most 24 h ahead");
      }
      const key = nonceKey(signed.command.actor, signed.command.nonce);
      const spent = this.nonces.get(key);
      if (spent !== undefined && spent > time) {
        throw new ApiError(409, "nonce_reused", "this command's nonce was already used");
      }
      this.nonces.set(key, p.expires);
    }
    const checked = p.command.check?.(ctx);
    if (checked) await checked;
    const out: CommittedEntry[] = [];
    let index = ctx.index;
    for (const queued of p.prepared) {
      const here = { ...ctx, index };
      if (queued.draft.when && !queued.draft.when(here)) continue;
      queued.draft.check?.(here);
      const e = "head" in queued ? queued : derive(queued, here);
      let subjects: Subject[] | undefined;
      if (e.draft.parties && e.draft.parties.length > 0) {
        subjects = e.draft.parties.map((party) => {
          const id = partyId(party);
          const h = this.heads.get(id);
          if (h === undefined) throw new Error(`head of ${id} was not loaded`);
          this.heads.set(id, index);
          const prev = h === NONE ? null : Number(h);
          return "merchant" in party ? { merchant: id, prev } : { customer: id, prev };
        });
      }
      const links = subjects ? `,"subjects":${subjectsJson(subjects)}` : "";
      const text = `${e.head}${links},"time":"${iso}",${e.tail}`;
      // A plain Uint8Array view of the Buffer: no second copy of the leaf's bytes.
      const buf = Buffer.from(text, "utf8");
      const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      out.push({
        index,
        entry: { ...e.entry, ...(subjects ? { subjects } : {}), time: iso } as Entry,
        data,
        leafHash: hashLeafNative(data),
      });
      index++;
    }
    // Only now, when nothing can fail any more, does the command enter the tree.
    for (const c of out) this.edge.append(c.leafHash);
    return out;
  }

  /** One query for the heads of the batch's parties that the committed state does not know. */
  private async loadUnknownHeads(batch: Pending[]): Promise<void> {
    const unknown = new Set<string>();
    for (const p of batch) {
      for (const e of p.prepared) {
        for (const party of e.draft.parties ?? []) {
          const id = partyId(party);
          if (!this.heads.hasCommitted(id)) unknown.add(id);
        }
      }
    }
    if (unknown.size === 0) return;
    const found = await loadHeads(this.db, [...unknown]);
    for (const id of unknown) this.heads.load(id, found.get(id) ?? NONE);
  }

  private pruneNonces(): void {
    // Against the sequencer's own time: a command still queued is checked at a later time
    // than this, so a nonce pruned here can no longer be valid for it.
    const now = this.lastTime;
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    this.nonces.prune((expires) => expires <= now);
    // Only expired rows go; a failure leaves them for the next round.
    pruneNonces(this.db, now).catch(() => {});
  }

  /** Reloads the committed head and tree edge from the database. */
  private async recover(): Promise<void> {
    const state = await loadState(this.db, this.opts);
    this.state.reset();
    this.edge = state.edge;
    this.headState = state.head;
    this.committedTiles = this.edge.partialTilesLater();
    // A batch whose COMMIT was lost may be stored after all: what was learnt is reloaded.
    this.heads.clearCommitted();
    this.nonces.clearCommitted();
    for (const n of await loadLiveNonces(this.db, this.clock.now())) {
      this.nonces.load(nonceKey(n.actor, n.nonce), n.expires);
    }
    for (const r of this.recoverers) await r();
    this.needsRecovery = false;
  }

  /** Called after a failed commit, when domains must reload their committed state. */
  onRecover(reload: () => Promise<void>): void {
    this.recoverers.push(reload);
  }

  /** Stops accepting commands and waits for queued ones to commit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.flushSoon();
    while (this.running) await this.running;
  }
}

const nonceKey = (actor: string, nonce: string) => `${actor}\u0000${nonce}`;

/**
 * Encodes an entry without `subjects` and `time` and splits it where they go. RFC 8785 sorts
 * members by key: "subjects" and then "time" fall between "signed" and "type"; after "type"
 * comes only "v", and no string value holds an unescaped quote, so the last `,"type":` is the
 * member itself.
 */
function prepare(
  draft: EntryDraft,
  signed?: SignedCommand,
  payload = draft.payload as JsonValue,
  salt = draft.sealed ? newSalt() : undefined,
): Prepared {
  if (typeof draft.type !== "string" || draft.type === "") throw new Error("entry type is empty");
  if (typeof draft.actor !== "string" || draft.actor === "")
    throw new Error("entry actor is empty");
  const entry: Omit<Entry, "time"> = {
    v: 1,
    type: draft.type,
    actor: draft.actor,
    payload,
    ...(salt ? { salt } : {}),
    ...(signed ? { signed } : {}),
  };
  const text = canonicalJson(entry);
  const at = text.lastIndexOf(',"type":');
  return { draft, entry, head: text.slice(0, at), tail: text.slice(at + 1) };
}

/**
 * RFC 8785 of subjects built by hand, on the sequencer's path: keys sorted ("customer" and
 * "merchant" before "prev"), ids checked to be plain ASCII, JSON.stringify's string escaping
 * (the same as JCS's), prev an integer or null.
 */
function subjectsJson(subjects: Subject[]): string {
  let out = "[";
  for (let i = 0; i < subjects.length; i++) {
    const s = subjects[i] as Subject;
    const prev = s.prev === null ? "null" : String(s.prev);
    out +=
      "merchant" in s
        ? `${i ? "," : ""}{"merchant":${JSON.stringify(s.merchant)},"prev":${prev}}`
        : `${i ? "," : ""}{"customer":${JSON.stringify(s.customer)},"prev":${prev}}`;
  }
  return `${out}]`;
}

const PARTY_ID = { customer: /^c_[A-Za-z0-9_-]{1,64}$/, merchant: /^m_[A-Za-z0-9_-]{1,64}$/ };

/** Parties as `subjects` must hold them (the library refuses anything else when decoding). */
function checkParties(parties: Party[]): void {
  const seen = new Set<string>();
  for (const p of parties) {
    const [kind, id] =
      "merchant" in p ? (["merchant", p.merchant] as const) : (["customer", p.customer] as const);
    if (typeof id !== "string" || !PARTY_ID[kind].test(id)) {
      throw new Error(`${kind} ${JSON.stringify(id)} is not a ${kind} id`);
    }
    if (seen.has(id)) throw new Error(`${id} is named twice`);
    seen.add(id);
  }
}

/** Derives a payload at sequencing and encodes the entry; a fault rejects its command. */
function derive(d: Deferred, ctx: CheckContext): Prepared {
  const payload = (d.draft.payload as (ctx: CheckContext) => JsonValue)(ctx);
  try {
    return prepare(d.draft, d.signed, payload, d.salt);
  } catch (err) {
    throw new ApiError(400, "invalid_entry", (err as Error).message);
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
  const keys = TreeEdge.partialTiles(size);
  const tiles = await loadTiles(
    db,
    keys.filter((k) => k.level > 0),
  );
  // The partial tile of leaf hashes is not stored: it is the last entries' leaf hashes.
  const leaves = keys.find((k) => k.level === 0);
  if (leaves) {
    const from = leaves.index * BigInt(TILE_WIDTH);
    tiles.set(tileId(0, leaves.index), await leafHashes(db, from, size));
  }
  const edge = TreeEdge.fromTiles(size, (k) => tiles.get(tileId(k.level, k.index)));
  const root = edge.root();
  if (cp && !equalBytes(root, cp.root)) {
    throw new Error("stored tree tiles do not match the last checkpoint; run `patron audit`");
  }
  const note =
    cp?.note ?? signCheckpoint({ origin: opts.origin, size, root, extensions: [] }, opts.signerKey);
  return { edge, head: { size, root, note } };
}

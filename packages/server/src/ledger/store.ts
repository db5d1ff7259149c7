import { big, type Queryable, type Statement } from "../db/database.js";
import { type TileKey, tileId } from "./tiles.js";

/** Row shapes and SQL for the ledger tables; the only module that knows them. */

export interface StoredEntry {
  index: bigint;
  type: string;
  actor: string;
  time: Date;
  data: Uint8Array;
  leafHash: Uint8Array;
}

export interface StoredCheckpoint {
  size: bigint;
  root: Uint8Array;
  note: string;
  createdAt: Date;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
// bytea is read as hex text: PGlite's own bytea parser is far slower than Buffer's hex decoder.
const bytes = (v: unknown) => new Uint8Array(Buffer.from(String(v), "hex"));

/** Runs a statement built by one of the functions below, when there is one. */
export async function run(tx: Queryable, statement: Statement | undefined): Promise<void> {
  if (statement) await tx.query(statement.sql, statement.params);
}

const toEntry = (r: Record<string, unknown>): StoredEntry => ({
  index: big(r.idx),
  type: String(r.type),
  actor: String(r.actor),
  time: new Date(r.time as string | Date),
  data: bytes(r.data),
  leafHash: bytes(r.leaf_hash),
});

const toCheckpoint = (r: Record<string, unknown>): StoredCheckpoint => ({
  size: big(r.size),
  root: bytes(r.root),
  note: String(r.note),
  createdAt: new Date(r.created_at as string | Date),
});

export function entriesStatement(entries: StoredEntry[]): Statement | undefined {
  if (entries.length === 0) return undefined;
  // The batch's entries and leaf hashes travel as two bytea values cut into rows by offset:
  // bound as binary, they cost neither side a hex text of every entry's bytes, which was most of
  // a batch's parameters by size.
  const offsets = new Array<number>(entries.length);
  const lengths = new Array<number>(entries.length);
  let at = 1;
  for (let i = 0; i < entries.length; i++) {
    const n = (entries[i] as StoredEntry).data.length;
    offsets[i] = at;
    lengths[i] = n;
    at += n;
  }
  return {
    sql: `INSERT INTO ledger_entries (idx, type, actor, time, data, leaf_hash)
     SELECT i, t, a, tm, substring($5::bytea FROM o FOR l), substring($6::bytea FROM (n * 32 - 31)::int FOR 32)
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $7::int[], $8::int[])
       WITH ORDINALITY AS x(i, t, a, tm, o, l, n)`,
    params: [
      entries.map((e) => e.index.toString()),
      entries.map((e) => e.type),
      entries.map((e) => e.actor),
      entries.map((e) => e.time.toISOString()),
      Buffer.concat(entries.map((e) => e.data)),
      Buffer.concat(entries.map((e) => e.leafHash)),
      offsets,
      lengths,
    ],
  };
}

export async function insertEntries(
  tx: Queryable,
  ...args: Parameters<typeof entriesStatement>
): Promise<void> {
  await run(tx, entriesStatement(...args));
}

export function tilesStatement(
  tiles: { level: number; index: bigint; hashes: Uint8Array }[],
): Statement | undefined {
  if (tiles.length === 0) return undefined;
  return {
    sql: `INSERT INTO ledger_tiles (level, idx, hashes)
     SELECT l, i, decode(h, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS x(l, i, h)
     ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes`,
    params: [
      tiles.map((t) => t.level),
      tiles.map((t) => t.index.toString()),
      tiles.map((t) => hex(t.hashes)),
    ],
  };
}

export async function upsertTiles(
  tx: Queryable,
  ...args: Parameters<typeof tilesStatement>
): Promise<void> {
  await run(tx, tilesStatement(...args));
}

export function checkpointStatement(cp: {
  size: bigint;
  root: Uint8Array;
  note: string;
}): Statement {
  return {
    sql: "INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3)",
    params: [cp.size.toString(), Buffer.from(cp.root), cp.note],
  };
}

export function idempotencyStatement(
  keys: { scope: string; key: string; requestHash: Uint8Array; index: bigint; count: number }[],
): Statement | undefined {
  if (keys.length === 0) return undefined;
  return {
    sql: `INSERT INTO idempotency_keys (scope, key, request_hash, entry_idx, entry_count)
     SELECT s, k, decode(h, 'hex'), i, c
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[]) AS x(s, k, h, i, c)`,
    params: [
      keys.map((k) => k.scope),
      keys.map((k) => k.key),
      keys.map((k) => hex(k.requestHash)),
      keys.map((k) => k.index.toString()),
      keys.map((k) => k.count),
    ],
  };
}

export async function findIdempotencyKey(db: Queryable, scope: string, key: string) {
  const { rows } = await db.query(
    "SELECT encode(request_hash, 'hex') AS request_hash, entry_idx, entry_count FROM idempotency_keys WHERE scope = $1 AND key = $2",
    [scope, key],
  );
  const r = rows[0];
  return r
    ? { requestHash: bytes(r.request_hash), index: big(r.entry_idx), count: Number(r.entry_count) }
    : undefined;
}

/**
 * Nonces of committed signed commands: a nonce is spent until its command expires. A row left
 * from an expired command (not pruned yet) is replaced: the sequencer let the nonce through.
 */
export function noncesStatement(
  nonces: { actor: string; nonce: string; expires: number; index: bigint }[],
): Statement | undefined {
  if (nonces.length === 0) return undefined;
  return {
    sql: `INSERT INTO command_nonces (actor, nonce, expires_at, entry_idx)
     SELECT a, n, e, i FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
       AS x(a, n, e, i)
     ON CONFLICT (actor, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at,
       entry_idx = EXCLUDED.entry_idx`,
    params: [
      nonces.map((n) => n.actor),
      nonces.map((n) => n.nonce),
      nonces.map((n) => new Date(n.expires).toISOString()),
      nonces.map((n) => n.index.toString()),
    ],
  };
}

export async function loadLiveNonces(
  db: Queryable,
  now: number,
): Promise<{ actor: string; nonce: string; expires: number }[]> {
  const { rows } = await db.query(
    "SELECT actor, nonce, expires_at FROM command_nonces WHERE expires_at > $1",
    [new Date(now).toISOString()],
  );
  return rows.map((r) => ({
    actor: String(r.actor),
    nonce: String(r.nonce),
    expires: new Date(r.expires_at as string | Date).getTime(),
  }));
}

/** The first entry of the command that spent a nonce, while it is kept. */
export async function findNonce(
  db: Queryable,
  actor: string,
  nonce: string,
): Promise<bigint | undefined> {
  const { rows } = await db.query(
    "SELECT entry_idx FROM command_nonces WHERE actor = $1 AND nonce = $2",
    [actor, nonce],
  );
  return rows[0] ? big(rows[0].entry_idx) : undefined;
}

export async function pruneNonces(db: Queryable, now: number): Promise<void> {
  await db.query("DELETE FROM command_nonces WHERE expires_at <= $1", [
    new Date(now).toISOString(),
  ]);
}

/** The latest entry index of each party that has one. */
export async function loadHeads(db: Queryable, parties: string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (parties.length === 0) return out;
  const { rows } = await db.query(
    `SELECT party, max(idx) AS head FROM ledger_subjects WHERE party = ANY($1::text[])
     GROUP BY party`,
    [parties],
  );
  for (const r of rows) out.set(String(r.party), big(r.head));
  return out;
}

/** The entries naming a party, newest first (its chain), a page at a time. */
export async function listPartyEntries(
  db: Queryable,
  party: string,
  before: bigint | undefined,
  limit: number,
): Promise<{ index: bigint; prev: bigint | null }[]> {
  const { rows } = await db.query(
    `SELECT idx, prev FROM ledger_subjects WHERE party = $1 AND ($2::bigint IS NULL OR idx < $2)
     ORDER BY idx DESC LIMIT $3`,
    [party, before?.toString() ?? null, limit],
  );
  return rows.map((r) => ({
    index: big(r.idx),
    prev: r.prev === null || r.prev === undefined ? null : big(r.prev),
  }));
}

export async function latestCheckpoint(db: Queryable): Promise<StoredCheckpoint | undefined> {
  const { rows } = await db.query(
    "SELECT size, encode(root, 'hex') AS root, note, created_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
  );
  return rows[0] ? toCheckpoint(rows[0]) : undefined;
}

export async function checkpointAt(
  db: Queryable,
  size: bigint,
): Promise<StoredCheckpoint | undefined> {
  const { rows } = await db.query(
    "SELECT size, encode(root, 'hex') AS root, note, created_at FROM ledger_checkpoints WHERE size = $1",
    [size.toString()],
  );
  return rows[0] ? toCheckpoint(rows[0]) : undefined;
}

/** Checkpoints in increasing size, a page at a time (for audit and mirrors). */
export async function listCheckpoints(
  db: Queryable,
  after: bigint,
  limit: number,
): Promise<StoredCheckpoint[]> {
  const { rows } = await db.query(
    `SELECT size, encode(root, 'hex') AS root, note, created_at FROM ledger_checkpoints WHERE size > $1
     ORDER BY size LIMIT $2`,
    [after.toString(), limit],
  );
  return rows.map(toCheckpoint);
}

export async function getEntry(db: Queryable, index: bigint): Promise<StoredEntry | undefined> {
  const { rows } = await db.query(
    "SELECT idx, type, actor, time, encode(data, 'hex') AS data, encode(leaf_hash, 'hex') AS leaf_hash FROM ledger_entries WHERE idx = $1",
    [index.toString()],
  );
  return rows[0] ? toEntry(rows[0]) : undefined;
}

/** Entries with from ≤ idx < to, in order. */
export async function listEntries(db: Queryable, from: bigint, to: bigint): Promise<StoredEntry[]> {
  const { rows } = await db.query(
    `SELECT idx, type, actor, time, encode(data, 'hex') AS data, encode(leaf_hash, 'hex') AS leaf_hash FROM ledger_entries
     WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    [from.toString(), to.toString()],
  );
  return rows.map(toEntry);
}

/** A stored entry as the audit reads it: its bytes and the columns that must agree with them. */
export type AuditedEntry = Omit<StoredEntry, "time">;

/** Entries `from` ≤ index < `to` without the time column, which the audit takes from the bytes. */
export async function listEntriesToAudit(
  db: Queryable,
  from: bigint,
  to: bigint,
): Promise<AuditedEntry[]> {
  const { rows } = await db.query(
    `SELECT idx, type, actor, encode(data, 'hex') AS data, encode(leaf_hash, 'hex') AS leaf_hash
     FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    [from.toString(), to.toString()],
  );
  return rows.map((r) => ({
    index: big(r.idx),
    type: String(r.type),
    actor: String(r.actor),
    data: bytes(r.data),
    leafHash: bytes(r.leaf_hash),
  }));
}

export async function maxEntryIndex(db: Queryable): Promise<bigint | undefined> {
  const { rows } = await db.query("SELECT max(idx) AS m FROM ledger_entries");
  const m = rows[0]?.m;
  return m === null || m === undefined ? undefined : big(m);
}

/** The leaf hashes of entries from ≤ idx < to, one after the other (32 bytes each). */
export async function leafHashes(db: Queryable, from: bigint, to: bigint): Promise<Uint8Array> {
  const { rows } = await db.query(
    `SELECT idx, encode(leaf_hash, 'hex') AS leaf_hash FROM ledger_entries
     WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    [from.toString(), to.toString()],
  );
  if (BigInt(rows.length) !== to - from) {
    throw new Error(`entries ${from} to ${to - 1n} are not all stored`);
  }
  return bytes(rows.map((r) => String(r.leaf_hash)).join(""));
}

export async function loadTiles(db: Queryable, keys: TileKey[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (keys.length === 0) return out;
  const { rows } = await db.query(
    `SELECT t.level, t.idx, encode(t.hashes, 'hex') AS hashes FROM ledger_tiles t
     JOIN unnest($1::smallint[], $2::bigint[]) AS k(l, i) ON t.level = k.l AND t.idx = k.i`,
    [keys.map((k) => k.level), keys.map((k) => k.index.toString())],
  );
  for (const r of rows) out.set(tileId(Number(r.level), big(r.idx)), bytes(r.hashes));
  return out;
}

/** All tiles in order, a page at a time (for audit). */
export async function listTiles(
  db: Queryable,
  after: { level: number; index: bigint } | undefined,
  limit: number,
): Promise<{ level: number; index: bigint; hashes: Uint8Array }[]> {
  const { rows } = await db.query(
    `SELECT level, idx, encode(hashes, 'hex') AS hashes FROM ledger_tiles
     WHERE ($1::smallint IS NULL OR (level, idx) > ($1::smallint, $2::bigint))
     ORDER BY level, idx LIMIT $3`,
    [after?.level ?? null, after?.index.toString() ?? null, limit],
  );
  return rows.map((r) => ({ level: Number(r.level), index: big(r.idx), hashes: bytes(r.hashes) }));
}

export async function getMeta(db: Queryable, key: string): Promise<string | undefined> {
  const { rows } = await db.query("SELECT value FROM ledger_meta WHERE key = $1", [key]);
  return rows[0] ? String(rows[0].value) : undefined;
}

export async function setMeta(db: Queryable, key: string, value: string): Promise<void> {
  await db.query(
    "INSERT INTO ledger_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
    [key, value],
  );
}

/**
 * The entries that name any of these parties (their chains, decision 7) below index `before`,
 * newest first: the rows of `ledger_subjects` say which, without decoding the log.
 */
export async function partyEntries(
  db: Queryable,
  parties: readonly string[],
  before: bigint,
  limit: number,
): Promise<StoredEntry[]> {
  const { rows } = await db.query(
    `SELECT idx, type, actor, time, encode(data, 'hex') AS data, encode(leaf_hash, 'hex') AS leaf_hash
     FROM ledger_entries WHERE idx IN (
       SELECT DISTINCT idx FROM ledger_subjects WHERE party = ANY($1::text[]) AND idx < $2
       ORDER BY idx DESC LIMIT $3)
     ORDER BY idx DESC`,
    [parties, before.toString(), limit],
  );
  return rows.map(toEntry);
}

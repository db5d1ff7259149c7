import { createHash } from "node:crypto";
import type { Writable } from "node:stream";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { connectionConfig, type DatabaseAddress } from "./address.js";
import { coalesce } from "./bulk.js";
import { claimDirectory } from "./dir-lock.js";
import { prepareParam } from "./params.js";

/** The subset of SQL access every module uses, so PGlite and PostgreSQL are interchangeable. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** One SQL statement with its parameters, to be run later (see `Database.writeAll`). */
export interface Statement {
  sql: string;
  params?: unknown[];
  /**
   * An `INSERT … VALUES (…)` of rows that no earlier statement of its transaction touches (a
   * record made in it, a fresh key): `writeAll` joins it with the others of its text into
   * multi-row INSERTs, run where the first of them stood (see bulk.ts).
   */
  bulk?: true;
  /** Not prepared under a name on the connection (a text seen once: a joined INSERT). */
  unnamed?: true;
}

export type { DatabaseAddress } from "./address.js";

export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** A PostgreSQL server's address (an embedded database has none: one process holds it). */
  readonly address?: DatabaseAddress;
  /** Runs `fn` in one transaction: all of its writes commit together or none do. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs the statements in order in one transaction: all commit or none do. On a PostgreSQL
   * server they go out together, with BEGIN and COMMIT, on a pipelined connection of their own:
   * one round trip for the whole transaction, however many statements it has. Rejects with the
   * first statement's error when any fails (the transaction is then rolled back).
   */
  writeAll(statements: readonly Statement[]): Promise<void>;
  /** Runs several statements separated by semicolons (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Takes a session-level lock for as long as this database handle is open, or returns false
   * when another process holds it. An embedded database is claimed by one process when it is
   * opened (see dir-lock.ts), so there it always succeeds.
   */
  tryLock(key: number): Promise<boolean>;
  close(): Promise<void>;
}

// node-postgres returns int8 as strings by default; we read them as BigInt everywhere instead.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => BigInt(v));

/**
 * The writer's statements are prepared once per connection and named by their text: a batch
 * then costs the server no parsing or planning (the same few statements run for every batch).
 */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `patron_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

class PostgresDatabase implements Database {
  readonly kind = "postgres" as const;
  private lockClient: pg.PoolClient | undefined;
  /** The connection `writeAll` pipelines on, opened on first use and again after a failure. */
  private writer: Promise<{ client: pg.Client; pid: number }> | undefined;
  constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.ClientConfig,
    readonly address: DatabaseAddress,
  ) {}

  private writerClient(): Promise<{ client: pg.Client; pid: number }> {
    if (!this.writer) {
      const client = new pg.Client({ ...this.config, pipeline: true });
      const opened = client.connect().then(async () => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        return { client, pid: Number(rows[0]?.pid) };
      });
      const forget = () => {
        if (this.writer === opened) this.writer = undefined;
      };
      client.on("error", forget);
      client.on("end", forget);
      opened.catch(forget);
      this.writer = opened;
    }
    return this.writer;
  }

  async writeAll(all: readonly Statement[]): Promise<void> {
    const statements = coalesce(all);
    // Every value is made ready to send first: a value the driver cannot send would fail its
    // statement on this side alone, while the others and COMMIT went out.
    const values = statements.map((s) => (s.params ?? []).map((v) => prepareParam(v)));
    const { client, pid } = await this.writerClient();
    // Every query is written to the socket at once: the server runs them in order, and the
    // answers come back together. A failed statement aborts the transaction, so the ones after
    // it fail too and COMMIT answers ROLLBACK; the first error is the one to report.
    // Corked, the messages leave in as few TCP segments as they fit in (pg sets no-delay).
    const socket = (client as unknown as { connection?: { stream?: Writable } }).connection?.stream;
    socket?.cork();
    let sent: Promise<pg.QueryResult>[];
    try {
      sent = [
        client.query("BEGIN"),
        ...statements.map((s, i) =>
          client.query({
            name: s.unnamed ? undefined : statementName(s.sql),
            text: s.sql,
            values: values[i],
          }),
        ),
        client.query("COMMIT"),
      ];
    } finally {
      socket?.uncork();
    }
    const results = await Promise.allSettled(sent);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      if (results.some((r) => r.status === "rejected" && !(r.reason instanceof pg.DatabaseError))) {
        // Not the server's refusal but a lost connection: the server may still be running the
        // transaction. It is ended, and gone, before the caller looks at what is stored.
        await this.endBackend(pid);
        this.writer = undefined;
        client.end().catch(() => {});
      }
      throw (failed as PromiseRejectedResult).reason;
    }
    const commit = results[results.length - 1] as PromiseFulfilledResult<pg.QueryResult>;
    if (commit.value.command !== "COMMIT") {
      throw new Error(
        `the transaction was not committed (the server answered ${commit.value.command})`,
      );
    }
  }

  /** Ends a server process and waits until it is gone (a few seconds at most). */
  private async endBackend(pid: number): Promise<void> {
    try {
      await this.pool.query("SELECT pg_terminate_backend($1)", [pid]);
      for (let i = 0; i < 50; i++) {
        const { rows } = await this.pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [
          pid,
        ]);
        if (rows.length === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch {
      // the server is unreachable: what is stored cannot be read either, and stays unknown
    }
  }

  async tryLock(key: number): Promise<boolean> {
    // A session lock lives on one connection, so keep that connection out of the pool.
    this.lockClient ??= await this.pool.connect();
    // Scoped by schema, so separate ledgers in one database (tests do this) do not collide.
    const r = await this.lockClient.query(
      "SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok",
      [key],
    );
    return r.rows[0]?.ok === true;
  }

  async query<T>(sql: string, params?: unknown[]) {
    const r = await this.pool.query(sql, params);
    return { rows: r.rows as T[] };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          const r = await client.query(sql, params);
          return { rows: r.rows as R[] };
        },
      };
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(sql: string) {
    await this.pool.query(sql);
  }

  async close() {
    this.lockClient?.release();
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await writer.then((w) => w.client.end()).catch(() => {});
    await this.pool.end();
  }
}

class PgliteDatabase implements Database {
  readonly kind = "pglite" as const;
  constructor(
    private readonly db: PGlite,
    private readonly release: () => void,
  ) {}

  async tryLock(): Promise<boolean> {
    return true;
  }

  async query<T>(sql: string, params?: unknown[]) {
    const r = await this.db.query<T>(sql, params);
    return { rows: r.rows };
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((t) =>
      fn({
        query: async <R>(sql: string, params?: unknown[]) => {
          const r = await t.query<R>(sql, params);
          return { rows: r.rows };
        },
      }),
    );
  }

  async exec(sql: string) {
    await this.db.exec(sql);
  }

  async writeAll(statements: readonly Statement[]): Promise<void> {
    // In the same process: no round trips to save, but each statement still costs a parse.
    await this.db.transaction(async (t) => {
      for (const s of coalesce(statements)) await t.query(s.sql, s.params);
    });
  }

  async close() {
    try {
      await this.db.close();
    } finally {
      this.release();
    }
  }
}

// PGlite writes a bytea parameter as hex text one byte at a time in JavaScript; Buffer writes
// the same text natively (a batch's entries are bound as bytea, and cost PGlite a seventh of a
// write's time through its own serializer).
const BYTEA = 17;
const byteaText = (v: unknown) => {
  if (!(v instanceof Uint8Array)) throw new TypeError("a bytea parameter must be bytes");
  return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}`;
};

/** PGlite returns int8 as a number when it fits, node-postgres (as set above) as BigInt. Reads an int8 column that may arrive as number or bigint. */
export function big(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string") return BigInt(v);
  throw new TypeError(`expected an integer column, got ${typeof v}`);
}

export interface DatabaseOptions {
  /** A PostgreSQL connection string; when absent, PGlite runs embedded in `dataDir`. */
  url?: string;
  /** PGlite's data directory; `undefined` keeps the database in memory. */
  dataDir?: string;
  /** For tests: a schema to create and use, so many tests can share one server. */
  schema?: string;
  poolSize?: number;
}

/** The oldest PostgreSQL the migrations run on (`date_bin` came in 14). */
export const MIN_SERVER_VERSION = 140000;

/** Refuses a server older than the migrations need, before any of them half-runs. */
export function checkServerVersion(versionNum: number): void {
  if (!(versionNum >= MIN_SERVER_VERSION)) {
    const major = Math.floor(versionNum / 10000);
    throw new Error(
      `PostgreSQL 14 or later is required; this server is ${Number.isFinite(major) ? major : "of an unknown version"}`,
    );
  }
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const address = { url: opts.url, ...(opts.schema ? { schema: opts.schema } : {}) };
    const config = connectionConfig(address);
    const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 10 });
    pool.on("error", () => {
      // An idle client lost its connection; the pool replaces it. Queries still report errors.
    });
    const db = new PostgresDatabase(pool, config, address);
    try {
      const { rows } = await db.query<{ v: string }>(
        "SELECT current_setting('server_version_num') AS v",
      );
      checkServerVersion(Number(rows[0]?.v));
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    if (opts.schema) await db.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
    return db;
  }
  const release = opts.dataDir ? claimDirectory(opts.dataDir) : () => {};
  let lite: PGlite;
  try {
    lite = await PGlite.create(opts.dataDir, { serializers: { [BYTEA]: byteaText } });
  } catch (err) {
    release();
    throw err;
  }
  const db = new PgliteDatabase(lite, release);
  if (opts.schema) {
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}; SET search_path TO ${opts.schema}`);
  }
  return db;
}

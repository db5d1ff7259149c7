import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { claimDirectory } from "./dir-lock.js";

/** The subset of SQL access every module uses, so PGlite and PostgreSQL are interchangeable. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction: all of its writes commit together or none do. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
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

class PostgresDatabase implements Database {
  readonly kind = "postgres" as const;
  private lockClient: pg.PoolClient | undefined;
  constructor(private readonly pool: pg.Pool) {}

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

  async close() {
    try {
      await this.db.close();
    } finally {
      this.release();
    }
  }
}

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

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
    });
    pool.on("error", () => {
      // An idle client lost its connection; the pool replaces it. Queries still report errors.
    });
    const db = new PostgresDatabase(pool);
    if (opts.schema) await db.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
    return db;
  }
  const release = opts.dataDir ? claimDirectory(opts.dataDir) : () => {};
  let lite: PGlite;
  try {
    lite = await PGlite.create(opts.dataDir);
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

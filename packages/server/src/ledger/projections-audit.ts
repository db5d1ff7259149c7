import { decodeEntry } from "@patron/ledger";
import type { Database, Queryable } from "../db/database.js";
import type { AuditProblem } from "./audit.js";
import { applyProjector, type CommittedEntry, type Projector, projects } from "./sequencer.js";
import { listEntries } from "./store.js";

export interface ProjectionAuditReport {
  /** Tables rebuilt from the log and compared. */
  tables: string[];
  entries: bigint;
  problems: AuditProblem[];
}

class Rollback extends Error {}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * Projections (merchants, keys, attestations, later balances and tickets) are a cache of the
 * log. This rebuilds them from the entries inside one transaction, compares every row with what
 * is stored, and rolls the rebuild back: the database is never changed. The transaction reads
 * one snapshot, so entries and tables agree even while a PostgreSQL node keeps writing; its row
 * locks may delay that node's projection updates until the check ends.
 */
export async function auditProjections(
  db: Database,
  projectors: readonly Projector[],
  opts: { page?: number; progress?: (done: bigint, total: bigint) => void } = {},
): Promise<ProjectionAuditReport> {
  const page = BigInt(opts.page ?? 5_000);
  const tables = projectors.flatMap((p) => p.tables);
  for (const t of tables) if (!IDENT.test(t)) throw new Error(`not a table name: ${t}`);
  const problems: AuditProblem[] = [];
  let entries = 0n;
  try {
    await db.transaction(async (tx) => {
      if (db.kind === "postgres") {
        await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      }
      const { rows } = await tx.query<{ n: unknown }>(
        "SELECT count(*)::bigint AS n FROM ledger_entries",
      );
      const total = BigInt(String(rows[0]?.n ?? 0));
      for (const t of tables) {
        await tx.query(`CREATE TEMP TABLE audit_${t} ON COMMIT DROP AS SELECT * FROM ${t}`);
      }
      // Children before parents, so foreign keys never object.
      for (const t of [...tables].reverse()) await tx.query(`DELETE FROM ${t}`);

      for (let from = 0n; from < total; from += page) {
        const batch = await listEntries(tx, from, from + page);
        const committed: CommittedEntry[] = [];
        for (const e of batch) {
          try {
            committed.push({
              index: e.index,
              entry: decodeEntry(e.data),
              data: e.data,
              leafHash: e.leafHash,
            });
          } catch {
            // audit reports undecodable entries; the rebuild goes on without them
          }
        }
        for (const p of projectors) {
          const mine = committed.filter((c) => projects(p, c.entry.type));
          if (mine.length === 0) continue;
          await replay(tx, p, mine, problems);
        }
        entries += BigInt(batch.length);
        opts.progress?.(entries, total);
      }

      for (const t of tables) await compare(tx, t, problems);
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  return { tables, entries, problems };
}

/** Applies a page of entries; a failing entry is reported and the rest replayed one by one. */
async function replay(
  tx: Queryable,
  p: Projector,
  mine: CommittedEntry[],
  problems: AuditProblem[],
) {
  await tx.query("SAVEPOINT replay");
  try {
    await applyProjector(tx, p, mine);
    await tx.query("RELEASE SAVEPOINT replay");
    return;
  } catch {
    await tx.query("ROLLBACK TO SAVEPOINT replay");
  }
  // The savepoint survives a ROLLBACK TO; after a success it is released and set again.
  for (const c of mine) {
    try {
      await applyProjector(tx, p, [c]);
      await tx.query("RELEASE SAVEPOINT replay");
      await tx.query("SAVEPOINT replay");
    } catch (err) {
      await tx.query("ROLLBACK TO SAVEPOINT replay");
      problems.push({
        kind: "projection",
        at: c.index.toString(),
        message: `replaying the entry fails: ${(err as Error).message}`,
      });
    }
  }
  await tx.query("RELEASE SAVEPOINT replay");
}

async function compare(tx: Queryable, table: string, problems: AuditProblem[]) {
  const columns = await comparable(tx, table);
  const diff = async (a: string, b: string) => {
    const { rows } = await tx.query<Record<string, unknown>>(
      `SELECT row_to_json(d)::text AS row, count(*) OVER ()::bigint AS n
       FROM (SELECT ${columns} FROM ${a} EXCEPT ALL SELECT ${columns} FROM ${b}) d LIMIT 1`,
    );
    return rows[0] ? { n: String(rows[0].n), row: String(rows[0].row) } : undefined;
  };
  const extra = await diff(`audit_${table}`, table);
  if (extra) {
    problems.push({
      kind: "projection",
      at: table,
      message: `${extra.n} stored row(s) the log does not produce, e.g. ${extra.row.slice(0, 300)}`,
    });
  }
  const missing = await diff(table, `audit_${table}`);
  if (missing) {
    problems.push({
      kind: "projection",
      at: table,
      message: `${missing.n} row(s) the log produces are missing or differ, e.g. ${missing.row.slice(0, 300)}`,
    });
  }
}

/**
 * A table's columns as EXCEPT can compare them. json has no equality (it is kept as written), so
 * a json column is compared as jsonb: by its values, whatever its spacing and key order (rows
 * written before a column became json keep jsonb's text of them; a rebuild writes the node's).
 */
async function comparable(tx: Queryable, table: string): Promise<string> {
  const { rows } = await tx.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0) return "*";
  return rows
    .map(({ name, type }) => {
      const column = `"${name.replaceAll('"', '""')}"`;
      return type === "json" ? `${column}::jsonb AS ${column}` : column;
    })
    .join(", ");
}

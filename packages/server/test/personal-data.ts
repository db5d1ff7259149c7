import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import type { TestNode } from "./helpers.js";

/** The forms a personal value could rest in: as written, lower-cased, decomposed, unspaced. */
function needlesOf(values: string[]): Buffer[] {
  const forms = values.flatMap((v) => [
    v,
    v.toLowerCase(),
    v.normalize("NFD"),
    v.replace(/\s+/g, ""),
  ]);
  return [...new Set(forms)].flatMap((v) => [
    Buffer.from(v, "utf8"),
    Buffer.from(JSON.stringify(v).slice(1, -1), "utf8"),
  ]);
}

/** Every cell of every table of the node's schema, as the bytes at rest. */
export async function* cellsAtRest(
  t: TestNode,
): AsyncGenerator<{ table: string; column: string; bytes: Buffer }> {
  const { rows: tables } = await t.node.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  for (const { table_name } of tables) {
    const { rows } = await t.node.db.query(`SELECT * FROM "${table_name}"`);
    for (const row of rows) {
      for (const [column, cell] of Object.entries(row)) {
        if (cell === null || cell === undefined) continue;
        const bytes =
          cell instanceof Uint8Array
            ? Buffer.from(cell)
            : Buffer.from(
                typeof cell === "string"
                  ? cell
                  : JSON.stringify(cell, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
              );
        yield { table: table_name, column, bytes };
      }
    }
  }
}

/** No cell of any table (the ledger's entries among them) holds any of these byte strings. */
export async function expectNoneAtRest(t: TestNode, needles: Buffer[]) {
  for await (const { table, column, bytes } of cellsAtRest(t)) {
    for (const n of needles) {
      if (bytes.includes(n))
        throw new Error(`${table}.${column} holds ${JSON.stringify(n.toString())}`);
    }
  }
}

/** Every text and byte column of every table, and every entry, holds none of the values. */
export const expectNoPersonalData = (t: TestNode, values: string[]) =>
  expectNoneAtRest(t, needlesOf(values));

/**
 * The real `pg_dump` of the node's schema on the PostgreSQL server holds none of the values, as
 * text or as the hex pg_dump writes bytea columns in. Only for a node on the server.
 */
export async function expectNoPersonalDataInDump(t: TestNode, values: string[]) {
  const url = process.env.PATRON_TEST_DATABASE_URL;
  if (!url || t.node.db.kind !== "postgres") return;
  const bin = readdirSync("/usr/lib/postgresql")
    .sort()
    .map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`)
    .pop();
  if (!bin) throw new Error("no pg_dump beside the PostgreSQL server");
  const { rows } = await t.node.db.query<{ s: string }>("SELECT current_schema() AS s");
  const dump = execFileSync(bin, ["--no-owner", "-n", rows[0]?.s ?? "public", url], {
    maxBuffer: 512 * 1024 * 1024,
  });
  const text = dump.toString("utf8");
  for (const n of needlesOf(values)) {
    if (dump.includes(n) || text.includes(n.toString("hex"))) {
      throw new Error(`pg_dump holds ${JSON.stringify(n.toString())}`);
    }
  }
  return dump.length;
}

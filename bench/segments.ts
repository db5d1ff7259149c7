/**
 * Segment counts: how long the live count of `POST /v1/segments/preview` takes for typical
 * conditions over one merchant's customers, on PGlite and (when DATABASE_URL is set) on
 * PostgreSQL, with and without the GIN index on `customers.facts` of migration 10.
 *
 *   node --import tsx bench/segments.ts [--rows 100000] [--out segments.json]
 *   scripts/with-postgres.sh sh -c 'DATABASE_URL=$PATRON_TEST_DATABASE_URL node --import tsx bench/segments.ts'
 *
 * Rows are written straight into the projection (no ledger): this measures the query alone.
 * Another merchant's rows (a quarter as many) share the table, as on a real node.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Database, openDatabase } from "../packages/server/src/db/database.js";
import { migrate } from "../packages/server/src/db/migrations.js";
import { parseCondition } from "../packages/server/src/segments/condition.js";
import { conditionSql } from "../packages/server/src/segments/sql.js";
import { now, percentile, table } from "./lib.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    out: { type: "string", default: "segments.json" },
  },
});
const ROWS = Number(args.rows);

const CONDITIONS: [string, unknown][] = [
  ["everyone (true)", true],
  ["stage == loyal", { "==": [{ var: "stage" }, "loyal"] }],
  ["tag vip", { in: ["vip", { var: "tags" }] }],
  ["rare tag", { in: ["founder", { var: "tags" }] }],
  ["visits >= 10", { ">=": [{ var: "attributes.visits" }, 10] }],
  [
    "vip and loyal/repeat",
    {
      and: [{ in: ["vip", { var: "tags" }] }, { in: [{ var: "stage" }, ["loyal", "repeat"]] }],
    },
  ],
  [
    "FR, born Jun-Aug, not lapsed",
    {
      and: [
        { "==": [{ var: "country" }, "FR"] },
        { "<=": [6, { var: "birthMonth" }, 8] },
        { "!": { "==": [{ var: "stage" }, "lapsed"] } },
      ],
    },
  ],
  ["joined in 2026", { ">=": [{ var: "createdAt" }, "2026-01-01"] }],
];

const STAGES = ["prospect", "first_purchase", "repeat", "loyal", "at_risk", "lapsed"];
const TAGS = ["vip", "newsletter", "b2b", "staff", "student"];
const COUNTRIES = ["FR", "DE", "CN", "US", "BE", "ES"];

/** Deterministic customers: a small LCG, so every run counts the same rows. */
function facts(i: number) {
  let s = (i * 2654435761) >>> 0;
  const next = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  const tags = TAGS.filter(() => next(4) === 0);
  if (i % 5000 === 0) tags.push("founder");
  return {
    stage: STAGES[next(STAGES.length)],
    tags,
    language: next(3) === 0 ? null : "fr",
    country: COUNTRIES[next(COUNTRIES.length)],
    ageBand: null,
    birthMonth: next(4) === 0 ? null : next(12) + 1,
    attributes: next(2) === 0 ? { visits: next(30) } : {},
    channels: next(2) === 0 ? ["email"] : ["email", "phone"],
  };
}

async function fill(db: Database, merchant: string, count: number, offset: number) {
  const start = Date.UTC(2025, 0, 1);
  for (let from = 0; from < count; from += 10_000) {
    const n = Math.min(10_000, count - from);
    const ids = Array.from({ length: n }, (_, k) => `c_${merchant}_${from + k}`);
    await db.query(
      `INSERT INTO customers (id, merchant_id, status, facts, created_at, updated_at, created_idx, entry_idx)
       SELECT id, $1, 'active', f, t, t, x, x
       FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[], $5::bigint[]) AS u(id, f, t, x)`,
      [
        merchant,
        ids,
        ids.map((_, k) => JSON.stringify(facts(from + k))),
        ids.map((_, k) => new Date(start + (from + k) * 600_000).toISOString()),
        ids.map((_, k) => String(offset + from + k)),
      ],
    );
  }
  await db.query("ANALYZE customers");
}

async function count(db: Database, condition: unknown): Promise<{ n: number; ms: number }> {
  const params: unknown[] = ["m_bench"];
  const where = conditionSql(parseCondition(condition), params);
  const times: number[] = [];
  let n = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = now();
    const { rows } = await db.query<{ n: unknown }>(
      `SELECT count(*) AS n FROM customers WHERE merchant_id = $1 AND status = 'active' AND (${where})`,
      params,
    );
    times.push(now() - t0);
    n = Number(rows[0]?.n);
  }
  return {
    n,
    ms: percentile(
      times.sort((a, b) => a - b),
      50,
    ),
  };
}

async function run(kind: string, db: Database) {
  await migrate(db);
  await fill(db, "m_bench", ROWS, 0);
  await fill(db, "m_other", Math.floor(ROWS / 4), ROWS);
  const results: Record<string, { members: number; withIndexMs: number; withoutIndexMs: number }> =
    {};
  for (const [name, condition] of CONDITIONS) {
    const r = await count(db, condition);
    results[name] = { members: r.n, withIndexMs: r.ms, withoutIndexMs: 0 };
  }
  await db.query("DROP INDEX customers_facts_idx");
  for (const [name, condition] of CONDITIONS) {
    (results[name] as { withoutIndexMs: number }).withoutIndexMs = (await count(db, condition)).ms;
  }
  console.log(`\n${kind}, ${ROWS.toLocaleString("en-US")} customers (count, median of 5, ms)`);
  console.log(
    table(
      ["condition", "members", "with GIN", "without"],
      Object.entries(results).map(([name, r]) => [
        name,
        r.members,
        r.withIndexMs,
        r.withoutIndexMs,
      ]),
    ),
  );
  return results;
}

const out: Record<string, unknown> = { rows: ROWS, at: new Date().toISOString() };
const lite = await openDatabase({});
try {
  out.pglite = await run("PGlite", lite);
} finally {
  await lite.close();
}
const url = process.env.DATABASE_URL;
if (url) {
  const schema = `bench_segments_${process.pid}`;
  const pg = await openDatabase({ url, schema });
  try {
    out.postgres = await run("PostgreSQL", pg);
    await pg.exec(`DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await pg.close();
  }
}
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, args.out as string), `${JSON.stringify(out, null, 2)}\n`);

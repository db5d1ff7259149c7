/**
 * The console's loyalty views (`GET /v1/loyalty/members`, `GET /v1/loyalty/liability`) at N
 * lots of one merchant, side by side in one run: as they were read before migration 26 (every
 * lot aggregated on each request) and as they are now (the rows the projections keep, and the
 * lots of the current expiry bin and of today's availability).
 *
 * The lots are written straight into loyalty_lots (recording a million orders through the node
 * would take minutes per backend): N lots of 100,000 customers made over the year before now,
 * available 14 days after, expiring a year after (each at its own instant, the most bins),
 * one in twenty never; one in ten spent, one in five partly. The view rows are then filled as
 * migration 26 fills them from existing lots (timed too), and the tables analysed. Each read
 * runs `--reps` times, the old and new alternating, and the two must agree.
 *
 *   scripts/with-postgres.sh node --import tsx bench/loyalty-views.ts [--lots N] [--reps R]
 *
 * Target: both views in tens of milliseconds at 1,000,000 lots.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../packages/server/src/config.js";
import type { Queryable } from "../packages/server/src/db/database.js";
import { pointsCost } from "../packages/server/src/loyalty/evaluation.js";
import { liability, listMembers, monthIn } from "../packages/server/src/loyalty/members.js";
import { loyaltyViewsFill } from "../packages/server/src/loyalty/migrations.js";
import type { Programme } from "../packages/server/src/loyalty/programme.js";
import { startNode } from "../packages/server/src/node.js";
import { fmt, now, percentile, table } from "./lib.js";

const { values: args } = parseArgs({
  options: {
    lots: { type: "string", default: "1000000" },
    customers: { type: "string", default: "100000" },
    reps: { type: "string", default: "7" },
    out: { type: "string", default: "loyalty-views.json" },
  },
});
const LOTS = Number(args.lots);
const CUSTOMERS = Number(args.customers);
const REPS = Number(args.reps);
const log = (s: string) => process.stderr.write(`${s}\n`);
const pgUrl = process.env.PATRON_TEST_DATABASE_URL;
type BackendName = "pglite" | "postgres";
const backends: BackendName[] = pgUrl ? ["pglite", "postgres"] : ["pglite"];
if (!pgUrl) log("bench: no PostgreSQL server (run through scripts/with-postgres.sh); PGlite only");
const DAY = 86_400_000;

/** The members' first page as it was read before migration 26. */
async function membersBefore(db: Queryable, merchantId: string, at: number, limit: number) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT m.customer_id, m.available, m.pending, m.lots, m.last_idx, m.last_at, d.debt
     FROM (
       SELECT customer_id,
         coalesce(sum(remaining) FILTER (WHERE available_at <= $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $2
           AND (expires_at IS NULL OR expires_at > $2)), 0) AS pending,
         count(*) FILTER (WHERE remaining > 0 AND (expires_at IS NULL OR expires_at > $2)) AS lots,
         max(entry_idx) AS last_idx,
         max(created_at) AS last_at
       FROM loyalty_lots WHERE merchant_id = $1
       GROUP BY customer_id
     ) m
     LEFT JOIN loyalty_debts d ON d.merchant_id = $1 AND d.customer_id = m.customer_id
     ORDER BY m.last_idx DESC
     LIMIT $3`,
    [merchantId, new Date(at).toISOString(), limit + 1],
  );
  return rows.slice(0, limit).map((r) => ({
    customerId: String(r.customer_id),
    balance: Number(r.available),
    pending: Number(r.pending),
    debt: Number(r.debt ?? 0),
    lots: Number(r.lots),
    lastAwardedAt: new Date(r.last_at as string).toISOString(),
  }));
}

/** The liability's total and months as they were read before migration 26. */
async function liabilityBefore(db: Queryable, merchantId: string, at: number, p: Programme) {
  const iso = new Date(at).toISOString();
  const [byExpiry, customers] = await Promise.all([
    db.query<Record<string, unknown>>(
      `SELECT expires_at,
         coalesce(sum(remaining) FILTER (WHERE available_at <= $2), 0) AS available,
         coalesce(sum(remaining) FILTER (WHERE available_at > $2), 0) AS pending,
         count(*) AS lots
       FROM loyalty_lots WHERE merchant_id = $1 AND remaining > 0
         AND (expires_at IS NULL OR expires_at > $2)
       GROUP BY expires_at`,
      [merchantId, iso],
    ),
    db.query<{ n: unknown }>(
      `SELECT count(DISTINCT customer_id) AS n FROM loyalty_lots
       WHERE merchant_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)`,
      [merchantId, iso],
    ),
  ]);
  const months = new Map<string | null, { available: number; pending: number; lots: number }>();
  for (const r of byExpiry.rows) {
    const e = r.expires_at as string | null;
    const month = e === null ? null : monthIn(p.timeZone, new Date(e).getTime());
    const m = months.get(month) ?? { available: 0, pending: 0, lots: 0 };
    m.available += Number(r.available);
    m.pending += Number(r.pending);
    m.lots += Number(r.lots);
    months.set(month, m);
  }
  const points = [...months.values()].reduce((s, m) => s + m.available + m.pending, 0);
  return {
    points,
    value: pointsCost(points, p.valuePer100Points),
    customers: Number(customers.rows[0]?.n),
    months: months.size,
  };
}

interface Row {
  backend: BackendName;
  view: string;
  how: "before" | "after";
  p50Ms: number;
  minMs: number;
}

async function bench(backend: BackendName, n: number) {
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-views-"));
  const config = {
    ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" }),
    dataDir,
    port: 0,
    ...(backend === "postgres" ? { databaseUrl: pgUrl } : {}),
  };
  const schema = backend === "postgres" ? `bench_views_${process.pid}` : undefined;
  const node = await startNode(config, { schema, log: () => {} });
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  try {
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${node.ownerKey as string}`,
    };
    const put = await node.app.inject({
      method: "PUT",
      url: "/v1/loyalty/programme",
      headers,
      payload: JSON.stringify({ timeZone: "Europe/Berlin", returnWindowDays: 14 }),
    });
    if (put.statusCode !== 200) throw new Error(put.body);
    const programme = put.json().programme as Programme;
    const me = await node.app.inject({ method: "GET", url: "/v1/merchants/me", headers });
    const mid = me.json().id as string;
    const end = node.clock.now();
    const t0 = now();
    const chunk = 100_000;
    for (let from = 0; from < n; from += chunk) {
      await node.db.query(
        `INSERT INTO loyalty_lots (entry_idx, merchant_id, customer_id, source, source_id, points,
           remaining, created_at, available_at, expires_at, fixed_expires_at)
         SELECT 1000000 + i, $1, 'c_v' || (i % $4), 'order', 'o-' || i, 100,
           CASE WHEN i % 10 = 0 THEN 0 WHEN i % 5 = 1 THEN 40 ELSE 100 END,
           t, t + interval '14 days',
           CASE WHEN i % 20 = 3 THEN NULL ELSE t + interval '365 days' END,
           CASE WHEN i % 20 = 3 THEN NULL ELSE t + interval '365 days' END
         FROM generate_series($2::bigint, $3::bigint - 1) AS i,
           LATERAL (SELECT $5::timestamptz + (i * $6::bigint / $3::bigint) * interval '1 millisecond' AS t) x`,
        [
          mid,
          from,
          Math.min(n, from + chunk),
          CUSTOMERS,
          new Date(end - 365 * DAY).toISOString(),
          String(365 * DAY),
        ],
      );
    }
    const seeded = (now() - t0) / 1000;
    const t1 = now();
    for (const sql of loyaltyViewsFill("merchant_id = $1").split(";")) {
      if (sql.trim()) await node.db.query(sql, [mid]);
    }
    const filled = (now() - t1) / 1000;
    await node.db.query("ANALYZE");
    const counts = await node.db.query<Record<string, unknown>>(
      `SELECT (SELECT count(*) FROM loyalty_members) AS members,
         (SELECT count(*) FROM loyalty_liability) AS liability,
         (SELECT count(*) FROM loyalty_liability_customers) AS customer_bins`,
    );
    details[backend] = {
      lots: n,
      customers: CUSTOMERS,
      seedSeconds: seeded,
      fillSeconds: filled,
      rows: Object.fromEntries(
        Object.entries(counts.rows[0] ?? {}).map(([k, v]) => [k, Number(v)]),
      ),
    };
    log(
      `  ${backend}: ${fmt(n)} lots in ${seeded.toFixed(1)} s; view rows filled in ${filled.toFixed(1)} s`,
    );

    const at = node.clock.now();
    const timings: Record<string, number[]> = {};
    const time = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      const s = now();
      const out = await fn();
      let list = timings[key];
      if (!list) {
        list = [];
        timings[key] = list;
      }
      list.push(now() - s);
      return out;
    };
    for (let r = 0; r < REPS; r++) {
      const a = await time("members before", () => membersBefore(node.db, mid, at, 50));
      const b = await time("members after", () => listMembers(node.db, mid, at, { limit: 50 }));
      if (JSON.stringify(a) !== JSON.stringify(b.members)) throw new Error("members differ");
      const c = await time("liability before", () => liabilityBefore(node.db, mid, at, programme));
      const d = await time("liability after", () => liability(node.db, mid, at, programme));
      const same = {
        points: d.total.points,
        value: d.total.value,
        customers: d.total.customers,
        months: d.months.length,
      };
      if (JSON.stringify(c) !== JSON.stringify(same)) {
        throw new Error(`liability differs: ${JSON.stringify(c)} ${JSON.stringify(same)}`);
      }
    }
    for (const view of ["members", "liability"]) {
      for (const how of ["before", "after"] as const) {
        const list = [...(timings[`${view} ${how}`] ?? [])].sort((x, y) => x - y);
        rows.push({
          backend,
          view: view === "members" ? "members, first page of 50" : "liability",
          how,
          p50Ms: Number(percentile(list, 50).toFixed(1)),
          minMs: Number((list[0] ?? 0).toFixed(1)),
        });
      }
    }
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { rows, details };
}

const all: Row[] = [];
const details: Record<string, unknown> = { loadBefore: loadavg() };
for (const b of backends) {
  log(`bench: loyalty views on ${b}, ${fmt(LOTS)} lots`);
  const r = await bench(b, LOTS);
  all.push(...r.rows);
  Object.assign(details, r.details);
}
details.loadAfter = loadavg();
console.log(
  table(
    ["backend", "view", "read", "p50 ms", "min ms"],
    all.map((r) => [r.backend, r.view, r.how, r.p50Ms, r.minMs]),
  ),
);
console.log(`load average: ${(details.loadBefore as number[]).map((x) => x.toFixed(2)).join(" ")}`);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/${args.out}`, import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), lots: LOTS, reps: REPS, rows: all, details }, null, 2)}\n`,
);

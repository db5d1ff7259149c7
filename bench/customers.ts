/**
 * The CRM core under load, side by side on PGlite and PostgreSQL in one run (the machines are
 * shared and noisy: compare rows of one run, and the ratios):
 *
 * - import: customers per second through `POST /v1/imports/customers`, end to end (parse,
 *   normalise, resolve, encrypt, blind-index, entries, projections), beside a raw multi-row
 *   INSERT of the same rows into a bare table, and the published rates of Twenty (~100/s) and
 *   Salesforce's tuned Bulk API (~5,500/s);
 * - lookups by email, phone and channel identity, and the 360 read (profile, then timeline),
 *   over HTTP with 16 clients, access records on; on PGlite also while interactions are written;
 * - interactions over HTTP in batches of 500, beside RudderStack's published 2-core rate
 *   (1,700 events/s) and Segment's inbound limit (1,000/s);
 * - the node's RSS once the customers are in.
 *
 *   scripts/with-postgres-if-available.sh node --import tsx bench/customers.ts [--quick]
 *     [--customers N] [--pglite-customers N] [--backends pglite,postgres] [--out customers.json]
 *
 * The sizes are the default: 1,000,000 customers on PostgreSQL and 200,000 on PGlite
 * (an hour or more on two cores); --quick uses 20,000 and 10,000.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../packages/server/src/config.js";
import { startNode } from "../packages/server/src/node.js";
import { fmt, now, type Throughput, table, tsWorker } from "./lib.js";
import type { LoadJob, LoadRequest } from "./request-load.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    customers: { type: "string" },
    "pglite-customers": { type: "string" },
    out: { type: "string", default: "customers.json" },
    backends: { type: "string" },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);
const pgUrl = process.env.PATRON_TEST_DATABASE_URL;
type BackendName = "pglite" | "postgres";
const available: BackendName[] = pgUrl ? ["pglite", "postgres"] : ["pglite"];
if (!pgUrl) log("bench: no PostgreSQL server (run through scripts/with-postgres.sh); PGlite only");
const backends: BackendName[] = args.backends
  ? (args.backends.split(",") as BackendName[])
  : available;
for (const b of backends) {
  if (!available.includes(b)) throw new Error(`--backends: ${b} is not available here`);
}
const SIZE: Record<BackendName, number> = {
  postgres: Number(args.customers ?? (args.quick ? 20_000 : 1_000_000)),
  pglite: Number(args["pglite-customers"] ?? (args.quick ? 10_000 : 200_000)),
};
const LOOKUPS = args.quick ? 4_000 : 20_000;
const BATCHES = args.quick ? 20 : 100;

/** Customer i of the file: a Latin or Chinese name, an email, a phone, a WeChat handle. */
function row(i: number): string[] {
  const chinese = i % 3 === 1;
  const name = chinese ? `王${["伟", "芳", "娜", "敏"][i % 4]}${i}` : `Bench Person${i}`;
  return [name, `person${i}@bench.example`, `+336${23_456_789 + i}`, `wx_bench_${i}`];
}
const phoneOf = (i: number) => row(i)[2] as string;

function csv(from: number, to: number): string {
  const lines = ["name,email,phone,wechat"];
  for (let i = from; i < to; i++) lines.push(row(i).join(","));
  return `${lines.join("\n")}\n`;
}

function post(url: string, path: string, key: string, type: string, body: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: "POST",
        path,
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": type,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function load(job: LoadJob): Promise<Throughput> {
  return new Promise((resolve, reject) => {
    const w = tsWorker(new URL("./request-load.ts", import.meta.url), { workerData: job });
    w.once("message", resolve);
    w.once("error", reject);
  });
}

interface Row {
  backend: BackendName;
  what: string;
  opsPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  note?: string;
}

async function bench(backend: BackendName): Promise<Row[]> {
  const out: Row[] = [];
  // Each figure as it is measured: a full-size run takes a while.
  const push = (r: Row) => {
    out.push(r);
    const p99 = r.p99Ms === undefined ? "" : `, p99 ${fmt(r.p99Ms)} ms`;
    log(`  ${backend}: ${r.what}: ${fmt(r.opsPerSec)}${p99}`);
  };
  const n = SIZE[backend];
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-"));
  const node = await startNode(
    {
      ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" }),
      dataDir,
      port: 0,
      maxConnectionsPerClient: 0,
      ...(backend === "postgres" ? { databaseUrl: pgUrl } : {}),
    },
    { ...(backend === "postgres" ? { schema: `bench_customers_${process.pid}` } : {}) },
  );
  const key = node.ownerKey as string;
  try {
    // The raw INSERT of the same rows: the floor the whole pipeline is compared with.
    await node.db.query(
      "CREATE TABLE bench_raw (id text PRIMARY KEY, name text, email text, phone text, wechat text)",
    );
    const rawStart = now();
    for (let from = 0; from < n; from += 1000) {
      const params: string[] = [];
      const values: string[] = [];
      for (let i = from; i < Math.min(n, from + 1000); i++) {
        const r = row(i);
        const o = params.length;
        params.push(`c_${i}`, ...r);
        values.push(`($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5})`);
      }
      await node.db.query(`INSERT INTO bench_raw VALUES ${values.join(", ")}`, params);
    }
    const rawRate = n / ((now() - rawStart) / 1000);
    push({ backend, what: "raw INSERT of the same rows", opsPerSec: rawRate });
    await node.db.query("DROP TABLE bench_raw");

    // The import, in files of 100,000 rows (one upload each), end to end.
    const importStart = now();
    for (let from = 0; from < n; from += 100_000) {
      const fileStart = now();
      const r = await post(
        node.url,
        "/v1/imports/customers?wait=true",
        key,
        "text/csv",
        csv(from, Math.min(n, from + 100_000)),
      );
      if (r.status !== 200) throw new Error(`import: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      const v = JSON.parse(r.text) as { created: number; rejected: number; status: string };
      if (v.status !== "completed" || v.rejected > 0) throw new Error(`import: ${r.text}`);
      const rows = Math.min(n, from + 100_000) - from;
      const rate = fmt(rows / ((now() - fileStart) / 1000));
      log(
        `  ${backend}: imported ${Math.min(n, from + 100_000).toLocaleString("en-US")} (${rate}/s this file)`,
      );
    }
    const importRate = n / ((now() - importStart) / 1000);
    push({
      backend,
      what: `import ${n.toLocaleString("en-US")} customers (CSV, end to end)`,
      opsPerSec: importRate,
      note: `${fmt((importRate / rawRate) * 100)}% of the raw INSERT`,
    });
    const rss = process.memoryUsage().rss / 2 ** 20;

    // Lookups and the 360 read, 16 clients, access records on.
    const { rows } = await node.db.query<{ id: string }>(
      "SELECT id FROM customers WHERE status = 'active' ORDER BY created_idx DESC LIMIT 5000",
    );
    const ids = rows.map((r) => r.id);
    const pick = (k: number) => (k * 2_654_435_761) % n;
    const lookups: [string, (k: number) => string][] = [
      ["lookup by email", (k) => `/v1/customers/lookup?email=person${pick(k)}%40bench.example`],
      [
        "lookup by phone",
        (k) => `/v1/customers/lookup?phone=${encodeURIComponent(phoneOf(pick(k)))}`,
      ],
      ["lookup by identity", (k) => `/v1/customers/lookup?identity=wechat:wx_bench_${pick(k)}`],
    ];
    const job = (requests: LoadRequest[], total = LOOKUPS, concurrency = 16): LoadJob => ({
      url: node.url,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      total,
      concurrency,
      requests,
    });
    for (const [what, path] of lookups) {
      const reqs = Array.from({ length: 2000 }, (_, k) => ({
        method: "GET",
        path: path(k),
        status: 200,
      }));
      const t = await load(job(reqs));
      push({
        backend,
        what: `${what}, 16 clients`,
        opsPerSec: t.opsPerSec,
        p50Ms: t.p50Ms,
        p99Ms: t.p99Ms,
      });
    }
    const reads = ids.map((id) => ({
      method: "GET",
      path: `/v1/customers/${id}`,
      next: `/v1/customers/${id}/timeline?limit=50`,
      status: 200,
    }));
    const t360 = await load(job(reads));
    push({
      backend,
      what: "360 read (profile + timeline), 16 clients",
      opsPerSec: t360.opsPerSec,
      p50Ms: t360.p50Ms,
      p99Ms: t360.p99Ms,
    });

    // Interactions in batches of 500.
    const batch = (b: number) =>
      JSON.stringify({
        interactions: Array.from({ length: 500 }, (_, k) => ({
          channel: "store",
          direction: "inbound",
          kind: "purchase",
          occurredAt: "2026-11-30T10:00:00Z",
          customerId: ids[(b * 500 + k) % ids.length],
          summary: "Bought running shoes",
          amount: { value: 8999, currency: "EUR" },
        })),
      });
    const writes = Array.from({ length: 50 }, (_, b) => ({
      method: "POST",
      path: "/v1/interactions",
      body: batch(b),
      status: 201,
    }));
    const ti = await load(job(writes, BATCHES, 4));
    push({
      backend,
      what: "interactions, batches of 500, 4 clients",
      opsPerSec: ti.opsPerSec * 500,
      p50Ms: ti.p50Ms,
      p99Ms: ti.p99Ms,
      note: "per interaction; latency per batch",
    });
    if (backend === "pglite") {
      // PGlite has one connection: reads wait behind writes. Both at once.
      const reqs = Array.from({ length: 2000 }, (_, k) => ({
        method: "GET",
        path: lookups[0]?.[1](k) as string,
        status: 200,
      }));
      const [under] = await Promise.all([load(job(reqs)), load(job(writes, BATCHES / 2, 2))]);
      push({
        backend,
        what: "lookup by email while interactions are written",
        opsPerSec: under.opsPerSec,
        p50Ms: under.p50Ms,
        p99Ms: under.p99Ms,
      });
    }
    push({ backend, what: "node RSS after the import (MiB)", opsPerSec: rss });
  } finally {
    if (backend === "postgres") {
      await node.db
        .query(`DROP SCHEMA IF EXISTS bench_customers_${process.pid} CASCADE`)
        .catch(() => {});
    }
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

const results: Row[] = [];
for (const b of backends) {
  log(`bench: customers on ${b} (${SIZE[b].toLocaleString("en-US")})`);
  results.push(...(await bench(b)));
}
const reference: Row[] = [
  { backend: "pglite", what: "Twenty (published: 100 requests/min × 60 records)", opsPerSec: 100 },
  { backend: "pglite", what: "Salesforce Bulk API, tuned (published)", opsPerSec: 5_500 },
  { backend: "pglite", what: "RudderStack, 2 cores (published)", opsPerSec: 1_700 },
  { backend: "pglite", what: "Segment inbound limit (published)", opsPerSec: 1_000 },
];
console.log(
  table(
    ["backend", "what", "per second", "p50 ms", "p99 ms", "note"],
    results.map((r) => [
      r.backend,
      r.what,
      r.opsPerSec,
      r.p50Ms ?? "",
      r.p99Ms ?? "",
      r.note ?? "",
    ]),
  ),
);
console.log();
console.log(
  table(
    ["reference", "per second"],
    reference.map((r) => [r.what, r.opsPerSec]),
  ),
);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/${args.out}`, import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), sizes: SIZE, results, reference }, null, 2)}\n`,
);

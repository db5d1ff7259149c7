/**
 * Patron's benchmarks, side by side in one run (the machines are shared and noisy, so the
 * ratios between rows matter more than any absolute number). Prints tables and writes
 * bench/results/latest.json. Run with `npm run bench` (starts a throwaway PostgreSQL when one
 * is installed) or `npm run bench -- --quick` for a short smoke run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { encodeEntry, hashLeaf, sha256, verifyInclusion } from "@patron/ledger";
import { loadConfig } from "../packages/server/src/config.js";
import { openDatabase } from "../packages/server/src/db/database.js";
import { migrate } from "../packages/server/src/db/migrations.js";
import { auditLedger } from "../packages/server/src/ledger/audit.js";
import { ProofService } from "../packages/server/src/ledger/proofs.js";
import { insertEntries, upsertTiles } from "../packages/server/src/ledger/store.js";
import { TreeEdge } from "../packages/server/src/ledger/tiles.js";
import { openLedger, startNode } from "../packages/server/src/node.js";
import { benchErc20 } from "./erc20.js";
import { fmt, measure, now, percentile, type Throughput, table } from "./lib.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "skip-erc20": { type: "boolean", default: false },
    "proof-size": { type: "string" },
  },
});
const quick = args.quick;
const N = {
  sequencer: { pglite: quick ? 5_000 : 30_000, postgres: quick ? 10_000 : 100_000 },
  http: quick ? 2_000 : 10_000,
  erc20: quick ? 200 : 1_000,
  proofSize: Number(args["proof-size"] ?? (quick ? 100_000 : 1_000_000)),
  proofs: quick ? 500 : 5_000,
};
const BATCH = 1000;
const log = (s: string) => process.stderr.write(`${s}\n`);

const pgUrl = process.env.PATRON_TEST_DATABASE_URL;
type BackendName = "pglite" | "postgres";
const backends: BackendName[] = pgUrl ? ["pglite", "postgres"] : ["pglite"];
if (!pgUrl) log("bench: no PostgreSQL server (run through scripts/with-postgres.sh); PGlite only");

let schemaCounter = 0;
function freshConfig(backend: BackendName) {
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-"));
  const config = {
    ...loadConfig({}),
    dataDir,
    port: 0,
    batchMax: BATCH,
    batchWaitMs: 2,
    ...(backend === "postgres" ? { databaseUrl: pgUrl } : {}),
  };
  const schema = backend === "postgres" ? `bench_${process.pid}_${schemaCounter++}` : undefined;
  return { config, schema, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** The entries every write benchmark appends: the shape of a real attestation. */
function attestationDraft(i: number) {
  return {
    type: "attestation.created",
    actor: "merchant:m_bench/key:k_bench",
    payload: {
      merchantId: "m_bench",
      digest: Buffer.from(sha256(new TextEncoder().encode(`doc ${i}`))).toString("hex"),
      subject: `invoice ${i}`,
    },
  };
}

interface Row {
  backend: string;
  what: string;
  result: Throughput;
}
const rows: Row[] = [];
const extra: Record<string, unknown> = {};

/** (a) The ceiling: the same rows, multi-row INSERTs of the sequencer's batch size, no tree. */
async function rawInsert(backend: BackendName, total: number) {
  const { config, schema, cleanup } = freshConfig(backend);
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
    schema,
  });
  await migrate(db);
  const time = new Date();
  const entries = Array.from({ length: total }, (_, i) => {
    const d = attestationDraft(i);
    const data = encodeEntry({ v: 1, ...d, time: time.toISOString() });
    return { index: BigInt(i), type: d.type, actor: d.actor, time, data, leafHash: hashLeaf(data) };
  });
  const started = now();
  const latencies: number[] = [];
  for (let i = 0; i < total; i += BATCH) {
    const t0 = now();
    await db.transaction((tx) => insertEntries(tx, entries.slice(i, i + BATCH)));
    latencies.push(now() - t0);
  }
  const seconds = (now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  await db.close();
  cleanup();
  return {
    ops: total,
    seconds,
    opsPerSec: total / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** (b) The sequencer: validation, hashing, tree, tiles, checkpoint, projections, one commit per batch. */
async function sequencer(backend: BackendName, total: number) {
  const { config, schema, cleanup } = freshConfig(backend);
  const ledger = await openLedger(config, { schema });
  // Clients keep enough commands in flight to fill batches, as many concurrent users would.
  const result = await measure(total, 4 * BATCH, (i) =>
    ledger.sequencer.submit(attestationDraft(i)),
  );
  return { result, ledger, cleanup };
}

async function audit(backend: BackendName, ledger: Awaited<ReturnType<typeof openLedger>>) {
  const started = now();
  const report = await auditLedger(ledger.db, {
    origin: ledger.identity.origin,
    verifierKey: ledger.identity.verifierKey,
  });
  const seconds = (now() - started) / 1000;
  if (!report.ok)
    throw new Error(`audit failed on ${backend}: ${JSON.stringify(report.problems[0])}`);
  return { ops: report.entries, seconds, opsPerSec: report.entries / seconds, p50Ms: 0, p99Ms: 0 };
}

/** Through the whole HTTP stack: auth, validation, JSON, the sequencer, the response. */
async function http(backend: BackendName, total: number) {
  const { config, schema, cleanup } = freshConfig(backend);
  const node = await startNode(config, { schema });
  const headers = { "content-type": "application/json", authorization: `Bearer ${node.ownerKey}` };
  const digests = Array.from({ length: total }, (_, i) => attestationDraft(i).payload.digest);
  const worker = new Worker(new URL("./http-load.ts", import.meta.url), {
    execArgv: ["--import", "tsx"],
    workerData: { url: node.url, headers, total, concurrency: 64, digests },
  });
  const result = await new Promise<Throughput>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  await node.close();
  cleanup();
  return result;
}

/** Proofs at a large tree: tiles seeded directly (1M entries through the API would take minutes). */
async function proofs(backend: BackendName, size: number, count: number) {
  const { config, schema, cleanup } = freshConfig(backend);
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
    schema,
  });
  await migrate(db);
  const edge = TreeEdge.empty();
  const leaves: Uint8Array[] = [];
  const seedStart = now();
  for (let i = 0; i < size; i++) {
    const leaf = sha256(new TextEncoder().encode(`leaf ${i}`));
    if (i % 997 === 0) leaves.push(leaf);
    edge.append(leaf);
    if (i % 100_000 === 99_999) {
      const tiles = edge.takeDirty();
      await db.transaction((tx) => upsertTiles(tx, tiles));
    }
  }
  const tiles = edge.takeDirty();
  await db.transaction((tx) => upsertTiles(tx, tiles));
  const root = edge.root();
  log(
    `  seeded a tree of ${size.toLocaleString("en-US")} leaves in ${((now() - seedStart) / 1000).toFixed(1)} s`,
  );

  const service = new ProofService(db, () => new Map());
  const n = BigInt(size);
  const pick = (i: number) => BigInt(((i * 7919 * 997) % size) - (((i * 7919 * 997) % size) % 997));
  const cold = await measure(Math.min(count, 500), 1, (i) =>
    new ProofService(db, () => new Map()).inclusion(pick(i), n),
  );
  for (let i = 0; i < 200; i++) await service.inclusion(pick(i), n); // warm the tile cache
  const proofsMade: { index: bigint; proof: Uint8Array[] }[] = [];
  const warm = await measure(count, 1, async (i) => {
    const index = pick(i);
    proofsMade.push({ index, proof: await service.inclusion(index, n) });
  });
  const vStart = now();
  for (const { index, proof } of proofsMade) {
    const leaf = leaves[Number(index / 997n)] as Uint8Array;
    if (!verifyInclusion(index, n, leaf, proof, root))
      throw new Error(`proof for ${index} does not verify`);
  }
  const vSeconds = (now() - vStart) / 1000;
  await db.close();
  cleanup();
  return {
    cold,
    warm,
    verify: {
      ops: proofsMade.length,
      seconds: vSeconds,
      opsPerSec: proofsMade.length / vSeconds,
      p50Ms: (vSeconds * 1000) / proofsMade.length,
      p99Ms: 0,
    },
  };
}

async function main() {
  const started = new Date();
  for (const backend of backends) {
    const total = N.sequencer[backend];
    log(`${backend}: raw INSERT ceiling, ${total} rows`);
    rows.push({
      backend,
      what: "raw multi-row INSERT (ceiling)",
      result: await rawInsert(backend, total),
    });
    log(`${backend}: sequencer, ${total} entries`);
    const seq = await sequencer(backend, total);
    rows.push({ backend, what: "sequencer (group commit)", result: seq.result });
    log(`${backend}: audit replay`);
    rows.push({ backend, what: "audit replay", result: await audit(backend, seq.ledger) });
    await seq.ledger.sequencer.close();
    await seq.ledger.db.close();
    seq.cleanup();
    log(`${backend}: HTTP API, ${N.http} requests, 64 concurrent`);
    rows.push({ backend, what: "HTTP POST /v1/attestations", result: await http(backend, N.http) });
    log(`${backend}: inclusion proofs at ${N.proofSize.toLocaleString("en-US")} entries`);
    const p = await proofs(backend, N.proofSize, N.proofs);
    rows.push({ backend, what: `proof serve, cold tiles (${fmt(N.proofSize)})`, result: p.cold });
    rows.push({ backend, what: `proof serve, cached tiles (${fmt(N.proofSize)})`, result: p.warm });
    rows.push({ backend, what: "proof verify (client)", result: p.verify });
  }
  if (!args["skip-erc20"]) {
    log(`anvil: ERC-20 transfers, ${N.erc20} transactions, 16 concurrent`);
    const e = await benchErc20({ ops: N.erc20, concurrency: 16, log });
    rows.push({ backend: "anvil", what: "ERC-20 transfer per operation", result: e });
    extra.erc20GasPerTransfer = e.gasPerTransfer;
  }

  const get = (backend: string, what: string) =>
    rows.find((r) => r.backend === backend && r.what.startsWith(what))?.result;
  const erc20 = get("anvil", "ERC-20");
  const ratios: Record<string, number> = {};
  for (const b of backends) {
    const seq = get(b, "sequencer");
    const raw = get(b, "raw");
    if (seq && raw) ratios[`${b}: sequencer / raw INSERT`] = seq.opsPerSec / raw.opsPerSec;
    if (seq && erc20) ratios[`${b}: sequencer / ERC-20`] = seq.opsPerSec / erc20.opsPerSec;
    const httpRow = get(b, "HTTP");
    if (httpRow && erc20) ratios[`${b}: HTTP API / ERC-20`] = httpRow.opsPerSec / erc20.opsPerSec;
  }

  console.log(
    table(
      ["backend", "benchmark", "ops", "ops/s", "p50 ms", "p99 ms"],
      rows.map((r) => [
        r.backend,
        r.what,
        r.result.ops,
        r.result.opsPerSec,
        r.result.p50Ms,
        r.result.p99Ms,
      ]),
    ),
  );
  console.log();
  console.log(
    table(
      ["ratio", "value"],
      Object.entries(ratios).map(([k, v]) => [k, v]),
    ),
  );

  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  const out = {
    started: started.toISOString(),
    quick,
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    sizes: N,
    rows,
    ratios,
    ...extra,
  };
  const file = new URL("./results/latest.json", import.meta.url);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  log(`results written to bench/results/latest.json`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

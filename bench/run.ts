/**
 * Patron's benchmarks, side by side in one run (the machines are shared and noisy, so the
 * ratios between rows matter more than any absolute number). Prints tables and writes
 * bench/results/latest.json. Run with `npm run bench` (starts a throwaway PostgreSQL when one
 * is installed) or `npm run bench -- --quick` for a short smoke run. See docs/performance.md.
 *
 * Options:
 *   --quick              small sizes (about 2 minutes; the full run takes about 5)
 *   --only a,b           run only these sections: write, http, proofs, erc20, anchoring,
 *                        commands (signed commands: verifications per core, Ed25519 and
 *                        passkeys, and end to end over HTTP; bench/commands.ts), loyalty
 *                        (orders earned with 5 rules beside attestations, and simulating a rule
 *                        set; bench/loyalty.ts), transfers (loyalty: signed points.transfer over
 *                        HTTP against ERC-20 with 32 in flight, redemption hold/capture latency;
 *                        bench/loyalty-transfers.ts)
 *   --simulate-orders N  orders the loyalty simulation runs over (default 1,000,000 on
 *                        PostgreSQL, 200,000 on PGlite; quick 100,000 and 20,000)
 *   --simulated-customers N  their customers (default 100,000: ten orders each at 1M)
 *   --simulation-only    in the loyalty section, run only the simulation (no earning rows)
 *   --simulation-threads a,b  simulate once on each of these thread counts, in turn, over the
 *                        same rows (PostgreSQL; default: once, as the route chooses)
 *   --skip a,b           run all sections but these
 *   --proof-size N       tree size for the proof benchmark (default 1,000,000; quick 100,000)
 *   --entries N          entries per write benchmark, both backends (default 30,000 on PGlite
 *                        and 100,000 on PostgreSQL; quick 5,000 and 10,000)
 *   --rounds N           repeat the write benchmarks N times, shapes in rotating order; rows
 *                        show the median round, ratios the median of the in-round ratios
 *   --backends a,b       only these of pglite and postgres (default: both, when there is a server)
 *   --out NAME           file name under bench/results/ (default latest.json)
 */

import { subscribe } from "node:diagnostics_channel";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeEntry, hashLeaf, sha256, verifyInclusion } from "@patron/ledger";
import { attestationProjector } from "../packages/server/src/attestations/attestations.js";
import { loadConfig } from "../packages/server/src/config.js";
import { type Database, openDatabase } from "../packages/server/src/db/database.js";
import { migrate } from "../packages/server/src/db/migrations.js";
import { auditLedger } from "../packages/server/src/ledger/audit.js";
import { chainsProjector } from "../packages/server/src/ledger/chains.js";
import { ProofService } from "../packages/server/src/ledger/proofs.js";
import {
  applyProjector,
  type CommandDraft,
  type CommittedEntry,
  type EntryDraft,
  type SequencerStats,
} from "../packages/server/src/ledger/sequencer.js";
import { StagedMap } from "../packages/server/src/ledger/staged.js";
import { insertEntries, upsertTiles } from "../packages/server/src/ledger/store.js";
import { TreeEdge } from "../packages/server/src/ledger/tiles.js";
import { openLedger, projectors, startNode } from "../packages/server/src/node.js";
import { type AnchoringResult, benchAnchoring } from "./anchoring.js";
import type { HttpJob } from "./http-load.js";
import {
  fmt,
  measure,
  now,
  percentile,
  processCpuMs,
  serverCpuMs,
  summarize,
  type Throughput,
  table,
  tsWorker,
} from "./lib.js";

const SECTIONS = [
  "write",
  "http",
  "proofs",
  "erc20",
  "anchoring",
  "commands",
  "loyalty",
  "transfers",
] as const;
type Section = (typeof SECTIONS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    skip: { type: "string" },
    "proof-size": { type: "string" },
    entries: { type: "string" },
    rounds: { type: "string" },
    "simulate-orders": { type: "string" },
    "simulated-customers": { type: "string" },
    "simulation-only": { type: "boolean", default: false },
    "simulation-threads": { type: "string" },
    backends: { type: "string" },
    out: { type: "string", default: "latest.json" },
  },
});
const sectionList = (s: string | undefined) =>
  (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "")
    .map((x) => {
      if (!(SECTIONS as readonly string[]).includes(x))
        throw new Error(`unknown section "${x}"; sections are ${SECTIONS.join(", ")}`);
      return x as Section;
    });
const only = sectionList(args.only);
const skip = sectionList(args.skip);
const runs = (s: Section) => (only.length === 0 || only.includes(s)) && !skip.includes(s);
for (const [name, v] of [
  ["entries", args.entries],
  ["rounds", args.rounds],
  ["simulate-orders", args["simulate-orders"]],
  ["simulated-customers", args["simulated-customers"]],
] as const) {
  if (v !== undefined && !(Number.isSafeInteger(Number(v)) && Number(v) > 0))
    throw new Error(`--${name} must be a positive whole number`);
}
const simulationThreads = args["simulation-threads"]?.split(",").map(Number);
if (simulationThreads?.some((n) => !(Number.isSafeInteger(n) && n > 0)))
  throw new Error("--simulation-threads must be positive whole numbers, separated by commas");
if (!/^[\w.-]+\.json$/.test(args.out)) throw new Error("--out must be a file name ending in .json");

const quick = args.quick;
const N = {
  sequencer: args.entries
    ? { pglite: Number(args.entries), postgres: Number(args.entries) }
    : { pglite: quick ? 5_000 : 30_000, postgres: quick ? 10_000 : 100_000 },
  rounds: Number(args.rounds ?? 1),
  http: quick ? 2_000 : 10_000,
  /** One client waits for each answer: fewer requests, for the same run time. */
  httpOneClient: quick ? 300 : 2_000,
  httpConcurrency: [1, 32, 256],
  /** Writes of the sequencer alone with one command in flight (commit latency). */
  sequencerOneInFlight: quick ? 300 : 2_000,
  erc20: quick ? 200 : 1_000,
  erc20Concurrency: 16,
  proofSize: Number(args["proof-size"] ?? (quick ? 100_000 : 1_000_000)),
  proofs: quick ? 1_000 : 5_000,
  anchoring: { idleWrites: quick ? 4 : 10, busySeconds: quick ? 10 : 30 },
};
const BATCH = 1000;
const log = (s: string) => process.stderr.write(`${s}\n`);

const pgUrl = process.env.PATRON_TEST_DATABASE_URL;
type BackendName = "pglite" | "postgres";
const available: BackendName[] = pgUrl ? ["pglite", "postgres"] : ["pglite"];
const backends = available.filter(
  (b) => args.backends === undefined || args.backends.split(",").includes(b),
);
if (backends.length === 0) throw new Error("--backends names no backend this run has");
if (!pgUrl) log("bench: no PostgreSQL server (run through scripts/with-postgres.sh); PGlite only");

let schemaCounter = 0;
function freshConfig(backend: BackendName) {
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-"));
  const config = {
    ...loadConfig({ PATRON_CHAIN: "off" }),
    dataDir,
    port: 0,
    batchMax: BATCH,
    batchWaitMs: 0,
    // Every simulated client connects from 127.0.0.1: the per-address bound would refuse them.
    maxConnectionsPerClient: 0,
    ...(backend === "postgres" ? { databaseUrl: pgUrl } : {}),
  };
  const schema = backend === "postgres" ? `bench_${process.pid}_${schemaCounter++}` : undefined;
  return { config, schema, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

async function freshDatabase(backend: BackendName) {
  const { config, schema, cleanup } = freshConfig(backend);
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
    schema,
  });
  await migrate(db);
  return {
    db,
    close: async () => {
      await db.close();
      cleanup();
    },
  };
}

/** The PostgreSQL server's postmaster, when its data directory can be read (for its CPU time). */
let postmasterPid: number | undefined;

async function findPostmaster(db: Database): Promise<number | undefined> {
  try {
    const { rows } = await db.query("SHOW data_directory");
    const dir = String(rows[0]?.data_directory ?? "");
    const pid = Number(readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isSafeInteger(pid) && serverCpuMs(pid) !== undefined ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts counting CPU time; the function it returns gives it per operation, in µs. */
function cpuMeter(backend: BackendName) {
  const server = () =>
    backend === "postgres" && postmasterPid !== undefined ? serverCpuMs(postmasterPid) : undefined;
  const node0 = processCpuMs();
  const db0 = server();
  return (ops: number) => {
    const db1 = server();
    return {
      cpuUsPerOp: ((processCpuMs() - node0) * 1000) / ops,
      ...(db0 !== undefined && db1 !== undefined
        ? { dbCpuUsPerOp: ((db1 - db0) * 1000) / ops }
        : {}),
    };
  };
}

/** The entries every write benchmark appends: the payload of a real attestation. */
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

const MERCHANT = "m_bench";
/** Customers the sealed entries name, in turn: known to the sequencer after the first batch. */
const CUSTOMERS = 1000;
const customer = (n: number) => `c_bench${n % CUSTOMERS}`;

/**
 * The shapes of command the sequencer is measured with, all on the attestation payload so that
 * every shape writes the same ledger and attestation rows per entry and differs only in what
 * the entry-format change added:
 * (a) what the sequencer wrote before the change: no parties, public (no `subjects`, no salt);
 * (b) an attestation as `attest()` submits it now: its merchant as a party, so `subjects` in
 *     the leaf and a `ledger_subjects` row;
 * (c) sealed (a random salt) and naming a customer and the merchant: two `ledger_subjects` rows;
 * (d) commands of three (c)-shaped entries, one per customer, through `execute()`, with a
 *     command check that reads and stages a balance per customer (a StagedMap registered with
 *     the sequencer's staged state), so every command sees the ones before it in its batch.
 */
const SHAPES = {
  a: "entries as before: no parties, public",
  b: "attestations as now: merchant party",
  c: "sealed, customer + merchant parties",
  d: "3-entry commands (execute), staged check",
} as const;
type Shape = keyof typeof SHAPES;
const SHAPE_KEYS = Object.keys(SHAPES) as Shape[];
const seqRow = (shape: Shape) => `sequencer (${shape}) ${SHAPES[shape]}`;
/** Shapes measured a second time without the ledger_subjects INSERT, to show what it costs. */
const DIAG_SHAPES = ["b", "c"] as const;
/** Commit latency: shape (b), each command submitted once the one before it is committed. */
const ONE_IN_FLIGHT = "sequencer (b), 1 command in flight";
const diagRow = (shape: Shape) => `diagnostic: sequencer (${shape}) without ledger_subjects INSERT`;

function entryDraft(shape: Exclude<Shape, "d">, i: number): EntryDraft {
  const base = attestationDraft(i);
  if (shape === "a") return base;
  if (shape === "b") return { ...base, parties: [{ merchant: MERCHANT }] };
  return { ...base, sealed: true, parties: [{ customer: customer(i) }, { merchant: MERCHANT }] };
}

/** (d): entries i, i+1, i+2 as one command; its check spends nothing, it counts visits. */
function commandDraft(balances: StagedMap<string, number>, i: number): CommandDraft {
  const entries = [i, i + 1, i + 2].map((k) => entryDraft("c", k));
  const names = [i, i + 1, i + 2].map(customer);
  return {
    entries,
    check: () => {
      for (const c of names) {
        const before = balances.get(c) ?? 0;
        if (before < 0) throw new Error(`balance of ${c} is negative`);
        balances.set(c, before + 1);
      }
    },
  };
}

interface Row {
  backend: string;
  what: string;
  /** With several rounds: the median round (by throughput). */
  result: Throughput;
  /** With several rounds: each round's throughput, in the order they ran… */
  rounds?: number[];
  /** …and its CPU time per operation in µs, this process and the database server together. */
  roundsCpuUs?: number[];
}
const rows: Row[] = [];
const extra: Record<string, unknown> = {};
/** The signed-command section's ratios and targets, listed with the others. */
const commandRatios: Record<string, number> = {};
const commandTargets: { target: string; measured: string; met: boolean }[] = [];

/**
 * The ceiling: the same rows in the same database, multi-row INSERTs of the sequencer's batch
 * size, one transaction each, with no tree, checkpoint or signature. `entries` writes the
 * ledger rows alone; `attestations` also the attestation projection rows, which the sequencer
 * writes in the same transaction for every attestation (the like-for-like ceiling before the
 * entry-format change); `subjects` also one `ledger_subjects` row per entry (the merchant's
 * chain), every row the sequencer now stores for an attestation (shape b).
 */
async function rawInsert(
  backend: BackendName,
  total: number,
  rowsPer: "entries" | "attestations" | "subjects",
) {
  const { db, close } = await freshDatabase(backend);
  const time = new Date();
  const committed = Array.from({ length: total }, (_, i) => {
    const entry = {
      v: 1 as const,
      ...attestationDraft(i),
      time: time.toISOString(),
      ...(rowsPer === "subjects"
        ? { subjects: [{ merchant: MERCHANT, prev: i > 0 ? i - 1 : null }] }
        : {}),
    };
    const data = encodeEntry(entry);
    return { index: BigInt(i), entry, data, leafHash: hashLeaf(data) } as CommittedEntry;
  });
  const rowsOf = (batch: CommittedEntry[]) =>
    batch.map((c) => ({
      index: c.index,
      type: c.entry.type,
      actor: c.entry.actor,
      time,
      data: c.data,
      leafHash: c.leafHash,
    }));
  const cpu = cpuMeter(backend);
  const started = now();
  const latencies: number[] = [];
  for (let i = 0; i < total; i += BATCH) {
    const batch = committed.slice(i, i + BATCH);
    const t0 = now();
    await db.transaction(async (tx) => {
      await insertEntries(tx, rowsOf(batch));
      if (rowsPer !== "entries") await applyProjector(tx, attestationProjector, batch);
      if (rowsPer === "subjects") await applyProjector(tx, chainsProjector, batch);
    });
    latencies.push(now() - t0);
  }
  const seconds = (now() - started) / 1000;
  const cpuPerRow = cpu(total);
  await close();
  // Latency is per batch (what an entry waits for its batch's commit); throughput per row.
  return { ...summarize(latencies, seconds), ops: total, opsPerSec: total / seconds, ...cpuPerRow };
}

type OpenLedger = Awaited<ReturnType<typeof openLedger>>;

/**
 * The same as `openLedger`, but with the chains projector left out: the sequencer still links
 * every entry into its parties' chains, it only skips the `ledger_subjects` INSERT. For the
 * diagnostic row that shows what that INSERT costs.
 */
async function openWithoutChains(backend: BackendName) {
  const { config, schema, cleanup } = freshConfig(backend);
  const without = projectors.filter((p) => p !== chainsProjector);
  return { ledger: await openLedger(config, { schema, projectors: without }), cleanup };
}

/**
 * The sequencer: validation, chain links, hashing, tree, tiles, checkpoint, projections, one
 * commit per batch. Clients keep enough entries in flight to fill batches (4 × the batch size),
 * as many concurrent users would; every command is built beforehand, so that only the
 * sequencer's own work is timed. Throughput and latency are per entry (a command's entries
 * wait for the same commit).
 */
async function sequencer(
  backend: BackendName,
  total: number,
  shape: Shape,
  opts: { withoutChains?: boolean; inFlight?: number } = {},
) {
  const { ledger, cleanup } = opts.withoutChains
    ? await openWithoutChains(backend)
    : await (async () => {
        const { config, schema, cleanup } = freshConfig(backend);
        return { ledger: await openLedger(config, { schema }), cleanup };
      })();
  let result: Throughput;
  if (shape === "d") {
    const balances = ledger.sequencer.state.add(new StagedMap<string, number>());
    const commands = Array.from({ length: Math.floor(total / 3) }, (_, j) =>
      commandDraft(balances, 3 * j),
    );
    const cpu = cpuMeter(backend);
    const r = await measure(commands.length, Math.ceil((4 * BATCH) / 3), (j) =>
      ledger.sequencer.execute(commands[j] as CommandDraft),
    );
    const entries = 3 * commands.length;
    result = { ...r, ops: entries, opsPerSec: entries / r.seconds, ...cpu(entries) };
  } else {
    const drafts = Array.from({ length: total }, (_, i) => entryDraft(shape, i));
    const cpu = cpuMeter(backend);
    const r = await measure(total, opts.inFlight ?? 4 * BATCH, (i) =>
      ledger.sequencer.submit(drafts[i] as EntryDraft),
    );
    result = { ...r, ...cpu(total) };
  }
  const close = async () => {
    await ledger.sequencer.close();
    await ledger.db.close();
    cleanup();
  };
  return { result, ledger, close };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * The write benchmarks on one backend: the raw INSERT ceilings, then the sequencer with each
 * shape of command (and the diagnostic without the ledger_subjects INSERT), `--rounds` times.
 * The sequencer runs rotate their order from round to round, so that no shape always runs
 * first or last; each row reports its median round, and a ratio between two rows is the
 * median of the ratios within each round (measured minutes apart at most, not a whole run).
 */
async function writeSection(backend: BackendName) {
  const total = N.sequencer[backend];
  type Job = { what: string; run: () => Promise<Throughput>; entries?: number };
  const seqJob = (shape: Shape, withoutChains = false): Job => ({
    what: withoutChains ? diagRow(shape) : seqRow(shape),
    run: async () => {
      const seq = await sequencer(backend, total, shape, { withoutChains });
      try {
        if (shape === "b" && !withoutChains) {
          auditRounds.push(await audit(backend, seq.ledger));
        }
        return seq.result;
      } finally {
        await seq.close();
      }
    },
  });
  const auditRounds: Throughput[] = [];
  const ceilings: Job[] = [
    { what: "raw INSERT, entries only", run: () => rawInsert(backend, total, "entries") },
    {
      what: "raw INSERT, same rows (ceiling)",
      run: () => rawInsert(backend, total, "attestations"),
    },
    {
      what: "raw INSERT, same rows + ledger_subjects",
      run: () => rawInsert(backend, total, "subjects"),
    },
  ];
  const shapes: Job[] = [
    ...SHAPE_KEYS.map((s) => seqJob(s)),
    ...DIAG_SHAPES.map((s) => seqJob(s, true)),
    {
      what: ONE_IN_FLIGHT,
      entries: N.sequencerOneInFlight,
      run: async () => {
        const seq = await sequencer(backend, N.sequencerOneInFlight, "b", { inFlight: 1 });
        await seq.close();
        return seq.result;
      },
    },
  ];

  // Untimed: the first sequencer of a process runs cold (JIT, first queries).
  for (const shape of SHAPE_KEYS) await (await sequencer(backend, 2 * BATCH, shape)).close();

  const results = new Map<string, Throughput[]>();
  for (let round = 0; round < N.rounds; round++) {
    const turn = round % shapes.length;
    const order = [...ceilings, ...shapes.slice(turn), ...shapes.slice(0, turn)];
    for (const job of order) {
      const n = job.entries ?? total;
      log(`${backend}: ${job.what}, ${n} entries${N.rounds > 1 ? `, round ${round + 1}` : ""}`);
      const r = await job.run();
      results.set(job.what, [...(results.get(job.what) ?? []), r]);
    }
  }
  const push = (what: string, rs: Throughput[]) => {
    const mid = median(rs.map((r) => r.opsPerSec));
    const result = rs.find((r) => r.opsPerSec === mid) ?? nearest(rs, mid);
    rows.push({
      backend,
      what,
      result,
      ...(rs.length > 1
        ? { rounds: rs.map((r) => r.opsPerSec), roundsCpuUs: rs.map(cpuUsOf) }
        : {}),
    });
  };
  for (const job of [...ceilings, ...shapes]) {
    push(job.what, results.get(job.what) ?? []);
    if (job.what === seqRow("b")) push("audit replay of (b)", auditRounds);
  }
}

/** CPU µs per operation, this process and the PostgreSQL server together. */
const cpuUsOf = (r: Throughput) => (r.cpuUsPerOp ?? Number.NaN) + (r.dbCpuUsPerOp ?? 0);

/** The round closest to `mid` (an even number of rounds has no middle one). */
function nearest(rs: Throughput[], mid: number): Throughput {
  return rs.reduce((best, r) =>
    Math.abs(r.opsPerSec - mid) < Math.abs(best.opsPerSec - mid) ? r : best,
  );
}

async function audit(backend: BackendName, ledger: Pick<OpenLedger, "db" | "identity">) {
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

function httpLoad(job: HttpJob): Promise<Throughput> {
  const worker = tsWorker(new URL("./http-load.ts", import.meta.url), { workerData: job });
  return new Promise<Throughput>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`HTTP load worker exited with ${code}`)));
  }).finally(() => worker.terminate());
}

interface WriteProfile {
  backend: BackendName;
  clients: number;
  /** Per request, in ms: mean answer time at the client (clients ÷ throughput)… */
  meanMs: number;
  /** …of which, on the server: queued before being sequenced, sequencing (checks, chain links,
   * leaf hash, tree), its batch's sealing (root, checkpoint signature, statements), and its
   * batch's database write (BEGIN to the COMMIT's answer); the rest is HTTP, the client and
   * the event loop. A batch's seal and write are counted once for each of its requests. */
  queuedMs: number;
  sequenceMs: number;
  sealMs: number;
  signMs: number;
  writeMs: number;
  restMs: number;
  entriesPerBatch: number;
  /** On the server, from the request's arrival to the end of its response: mean and p50. */
  serverMs: number;
  serverP50Ms: number;
}
const profiles: WriteProfile[] = [];

/**
 * Each request's time on the server, from Node's HTTP diagnostics channels (the node runs in
 * this process): what the client's answer time minus this leaves is transport and the client.
 */
const serverTimes: number[] = [];
{
  const arrived = new WeakMap<object, number>();
  subscribe("http.server.request.start", (m) => {
    arrived.set((m as { request: object }).request, now());
  });
  subscribe("http.server.response.finish", (m) => {
    const t = arrived.get((m as { request: object }).request);
    if (t !== undefined) serverTimes.push(now() - t);
  });
}

const percentileOf = (xs: readonly number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );

function writeProfile(
  backend: BackendName,
  clients: number,
  t: Throughput,
  a: SequencerStats,
  b: SequencerStats,
): WriteProfile {
  const entries = b.entries - a.entries;
  const batches = b.batches - a.batches;
  const perEntry = (k: keyof SequencerStats) => (b[k] - a[k]) / entries;
  // A batch's seal and write are on the path of each of its requests.
  const perBatch = (k: keyof SequencerStats) => (b[k] - a[k]) / batches;
  const meanMs = (1000 * clients) / t.opsPerSec;
  const queuedMs = perEntry("queuedMs");
  const sequenceMs = perEntry("sequenceMs");
  const sealMs = perBatch("sealMs");
  const writeMs = perBatch("writeMs");
  return {
    backend,
    clients,
    meanMs,
    queuedMs,
    sequenceMs,
    sealMs,
    signMs: perBatch("signMs"),
    writeMs,
    restMs: meanMs - queuedMs - sequenceMs - sealMs - writeMs,
    entriesPerBatch: entries / batches,
    serverMs: serverTimes.reduce((x, y) => x + y, 0) / serverTimes.length,
    serverP50Ms: percentileOf(serverTimes, 50),
  };
}

/**
 * The HTTP layer without the ledger (bench/http-cost.ts): a bare node:http server, a bare
 * Fastify route, and Patron's HTTP shell with a stand-in sequencer, each at 1 and 32 clients.
 */
async function httpCost() {
  const { httpTargets } = await import("./http-cost.js");
  const token = "bench-token";
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  for (const start of httpTargets(token)) {
    const target = await start();
    try {
      for (const concurrency of [1, 32]) {
        const total = concurrency === 1 ? N.httpOneClient : N.http;
        const digests = Array.from({ length: total }, (_, i) => attestationDraft(i).payload.digest);
        const cpu = cpuMeter("pglite");
        const timed = await httpLoad({
          kind: "post",
          url: target.url,
          path: target.path,
          headers,
          total,
          concurrency,
          digests,
        });
        const result = { ...timed, ...cpu(total) };
        rows.push({ backend: "none", what: `${target.what}, ${concurrency} clients`, result });
      }
    } finally {
      await target.close();
    }
  }
}

/**
 * Through the whole HTTP stack: auth, validation, JSON, the sequencer, the response. Then
 * receipts (entry + inclusion proof + checkpoint) of the entries just written.
 */
async function http(backend: BackendName, total: number) {
  const { config, schema, cleanup } = freshConfig(backend);
  const node = await startNode(config, { schema });
  try {
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${node.ownerKey}`,
    };
    const post: { concurrency: number; result: Throughput }[] = [];
    let written = 0;
    for (const concurrency of N.httpConcurrency) {
      const n = concurrency === 1 ? N.httpOneClient : total;
      const digests = Array.from(
        { length: n },
        (_, i) => attestationDraft(written + i).payload.digest,
      );
      written += n;
      const job = { kind: "post", url: node.url, headers, total: n, concurrency, digests } as const;
      const cpu = cpuMeter(backend);
      const before = { ...node.sequencer.stats };
      serverTimes.length = 0;
      const result = await httpLoad(job);
      post.push({ concurrency, result: { ...result, ...cpu(n) } });
      profiles.push(writeProfile(backend, concurrency, result, before, node.sequencer.stats));
    }
    const size = Number(node.sequencer.head.size);
    const concurrency = 32;
    const receipt = await httpLoad({
      kind: "receipt",
      url: node.url,
      headers,
      total,
      concurrency,
      size,
    });
    return { post, receipt: { concurrency, result: receipt }, size };
  } finally {
    await node.close();
    cleanup();
  }
}

/**
 * A tree of `size` leaves as the tiles the sequencer would have stored, computed once and
 * written into each backend's database (1M entries through the API would take minutes). The
 * leaf hashes are kept (32 bytes each, one buffer) to verify the proofs with.
 */
function seedTree(size: number) {
  const started = now();
  const edge = TreeEdge.empty();
  const leaves = Buffer.alloc(size * 32);
  const tileBatches: ReturnType<TreeEdge["takeDirty"]>[] = [];
  for (let i = 0; i < size; i++) {
    const leaf = sha256(new TextEncoder().encode(`leaf ${i}`));
    leaves.set(leaf, i * 32);
    edge.append(leaf);
    if (i % 100_000 === 99_999) tileBatches.push(edge.takeDirty());
  }
  tileBatches.push(edge.takeDirty());
  log(
    `  computed a tree of ${size.toLocaleString("en-US")} leaves in ${((now() - started) / 1000).toFixed(1)} s`,
  );
  // The partial tile of leaf hashes is not stored: a node serves it from its edge, as here.
  return { size, leaves, tileBatches, root: edge.root(), edgeTiles: edge.partialTileNodes() };
}

/** Deterministic pseudo-random indices below `size` (a 32-bit xorshift), the same every run. */
function randomIndices(count: number, size: number, seed: number): bigint[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return BigInt(x % size);
  });
}

async function proofs(backend: BackendName, tree: ReturnType<typeof seedTree>, count: number) {
  const { db, close } = await freshDatabase(backend);
  const seedStart = now();
  for (const tiles of tree.tileBatches) await db.transaction((tx) => upsertTiles(tx, tiles));
  log(`  stored its tiles in ${((now() - seedStart) / 1000).toFixed(1)} s`);

  const { size, root } = tree;
  const n = BigInt(size);
  const coldPicks = randomIndices(Math.min(count, 500), size, 1);
  const warmUp = randomIndices(count, size, 2);
  const picks = randomIndices(count, size, 3);
  // Cold: a fresh service per proof, so every tile (three at 1M) comes from the database.
  const cold = await measure(coldPicks.length, 1, (i) =>
    new ProofService(db, () => tree.edgeTiles).inclusion(coldPicks[i] as bigint, n),
  );
  // A node's steady state: the default LRU (8,192 tiles) after serving other random proofs.
  // The upper tiles stay cached; a random entry's bottom tile is one of 3,907 at 1M entries,
  // read from the database the first time it is needed.
  const service = new ProofService(db, () => tree.edgeTiles);
  for (const index of warmUp) await service.inclusion(index, n);
  const proofsMade: { index: bigint; proof: Uint8Array[] }[] = [];
  const warm = await measure(count, 1, async (i) => {
    const index = picks[i] as bigint;
    proofsMade.push({ index, proof: await service.inclusion(index, n) });
  });
  // Hot: the last entries served again, every tile they need now in memory.
  const hotPicks = picks.slice(-Math.min(count, 1000));
  const hot = await measure(hotPicks.length, 1, (i) => service.inclusion(hotPicks[i] as bigint, n));

  const verifyTimes: number[] = [];
  const vStart = now();
  for (const { index, proof } of proofsMade) {
    const at = Number(index) * 32;
    const t0 = now();
    const ok = verifyInclusion(index, n, tree.leaves.subarray(at, at + 32), proof, root);
    verifyTimes.push(now() - t0);
    if (!ok) throw new Error(`proof for ${index} does not verify`);
  }
  const verify = summarize(verifyTimes, (now() - vStart) / 1000);
  await close();
  return { cold, warm, hot, verify };
}

async function serverVersion(db: Database) {
  const { rows } = await db.query("SELECT version() AS v");
  return String(rows[0]?.v ?? "").split(" on ")[0];
}

async function main() {
  const started = new Date();
  const load = { start: loadavg(), end: [] as number[] };
  const versions: Record<string, string | undefined> = {};
  for (const backend of backends) {
    const { db, close } = await freshDatabase(backend);
    versions[backend] = await serverVersion(db);
    if (backend === "postgres") postmasterPid = await findPostmaster(db);
    await close();
  }
  log(`bench: ${quick ? "quick" : "full"} run, sections ${SECTIONS.filter(runs).join(", ")}`);

  if (runs("http")) {
    log("HTTP layer alone: bare node:http, bare Fastify, Patron's shell without the ledger");
    await httpCost();
  }
  for (const backend of backends) {
    if (runs("write")) await writeSection(backend);
    if (runs("http")) {
      log(
        `${backend}: HTTP API at ${N.httpConcurrency.join(", ")} clients (${N.httpOneClient} requests with 1, ${N.http} otherwise)`,
      );
      const h = await http(backend, N.http);
      for (const p of h.post) {
        rows.push({
          backend,
          what: `HTTP POST /v1/attestations, ${p.concurrency} clients`,
          result: p.result,
        });
      }
      rows.push({
        backend,
        what: `HTTP GET receipt, ${h.receipt.concurrency} clients (${fmt(h.size)} entries)`,
        result: h.receipt.result,
      });
    }
  }
  // After the write benchmarks, so that the big tree is not in the heap while they run.
  if (runs("proofs")) {
    const tree = seedTree(N.proofSize);
    for (const backend of backends) {
      log(`${backend}: inclusion proofs at ${N.proofSize.toLocaleString("en-US")} entries`);
      const p = await proofs(backend, tree, N.proofs);
      const at = fmt(N.proofSize);
      rows.push({ backend, what: `proof serve, cold: tiles from DB (${at})`, result: p.cold });
      rows.push({ backend, what: `proof serve, random entry (${at})`, result: p.warm });
      rows.push({ backend, what: `proof serve, hot: tiles cached (${at})`, result: p.hot });
      rows.push({ backend, what: `proof verify, client (${at})`, result: p.verify });
    }
  }
  if (runs("erc20")) {
    const { benchErc20 } = await import("./erc20.js");
    log(`anvil: ERC-20 transfers, ${N.erc20} transactions, ${N.erc20Concurrency} concurrent`);
    const e = await benchErc20({ ops: N.erc20, concurrency: N.erc20Concurrency, log });
    const { gasPerTransfer, blocks, client, ...result } = e;
    rows.push({ backend: "anvil", what: "ERC-20 transfer, 1 tx per op", result });
    extra.erc20 = { gasPerTransfer, blocks, client };
  }
  let anchoring: AnchoringResult | undefined;
  if (runs("anchoring")) {
    log("anvil: anchoring through a node with the embedded chain");
    anchoring = await benchAnchoring({ ...N.anchoring, log });
    extra.anchoring = anchoring;
  }
  const commandTables: string[] = [];
  if (runs("commands")) {
    const { benchCommands } = await import("./commands.js");
    log("signed commands: verifications per core, then end to end over HTTP");
    const c = await benchCommands({ quick, backends, pgUrl, meter: cpuMeter, log });
    rows.push(...c.rows);
    commandTables.push(...c.tables);
    extra.signedCommands = c.details;
    Object.assign(commandRatios, c.ratios);
    commandTargets.push(...c.targets);
  }
  if (runs("loyalty")) {
    const { benchLoyalty } = await import("./loyalty.js");
    const l = await benchLoyalty({
      quick,
      backends,
      pgUrl,
      meter: cpuMeter,
      log,
      ...(args["simulate-orders"] ? { simulateOrders: Number(args["simulate-orders"]) } : {}),
      ...(args["simulated-customers"]
        ? { simulatedCustomers: Number(args["simulated-customers"]) }
        : {}),
      simulationOnly: args["simulation-only"],
      ...(simulationThreads ? { simulationThreads } : {}),
    });
    rows.push(...l.rows);
    commandTables.push(...l.tables);
    extra.loyalty = l.details;
    Object.assign(commandRatios, l.ratios);
    commandTargets.push(...l.targets);
  }
  if (runs("transfers")) {
    const { benchLoyaltyTransfers } = await import("./loyalty-transfers.js");
    log("loyalty: signed transfers over HTTP against ERC-20, redemption hold and capture");
    const l = await benchLoyaltyTransfers({ quick, backends, pgUrl, meter: cpuMeter, log });
    rows.push(...l.rows);
    extra.loyaltyTransfers = l.details;
    Object.assign(commandRatios, l.ratios);
    commandTargets.push(...l.targets);
  }
  load.end = loadavg();

  const rowOf = (backend: string, what: string) =>
    rows.find((r) => r.backend === backend && r.what.startsWith(what));
  const get = (backend: string, what: string) => rowOf(backend, what)?.result;
  /**
   * x / y in throughput (or in CPU per operation): with rounds on both rows, the median of the
   * ratios within each round.
   */
  const within = (backend: string, x: string, y: string, of: "ops" | "cpu" = "ops") => {
    const rx = rowOf(backend, x);
    const ry = rowOf(backend, y);
    if (!rx || !ry) return undefined;
    const xs = of === "ops" ? rx.rounds : rx.roundsCpuUs;
    const ys = of === "ops" ? ry.rounds : ry.roundsCpuUs;
    const v =
      xs && ys && xs.length === ys.length
        ? median(xs.map((v, i) => v / (ys[i] as number)))
        : of === "ops"
          ? rx.result.opsPerSec / ry.result.opsPerSec
          : cpuUsOf(rx.result) / cpuUsOf(ry.result);
    return Number.isFinite(v) ? v : undefined;
  };
  const erc20 = get("anvil", "ERC-20");
  const ratios: Record<string, number> = { ...commandRatios };
  const targets: { target: string; measured: string; met: boolean }[] = [...commandTargets];
  const target = (
    name: string,
    value: number | undefined,
    ok: (v: number) => boolean,
    unit = "",
  ) => {
    if (value === undefined || !Number.isFinite(value)) return;
    targets.push({ target: name, measured: `${fmt(value)}${unit}`, met: ok(value) });
  };
  for (const b of backends) {
    const shapeRows = SHAPE_KEYS.map((shape) => ({ shape, row: get(b, seqRow(shape)) }));
    // The sequencer of the targets: attestations as the node writes them now.
    const seq = get(b, seqRow("b"));
    const RAW = "raw INSERT, same rows (ceiling)";
    const RAW_SUBJECTS = "raw INSERT, same rows + ledger_subjects";
    const RAW_ENTRIES = "raw INSERT, entries only";
    const raw = get(b, RAW);
    const httpRows = N.httpConcurrency.map((c) => ({
      c,
      row: get(b, `HTTP POST /v1/attestations, ${c} clients`),
    }));
    const put = (key: string, v: number | undefined) => {
      if (v !== undefined) ratios[`${b}: ${key}`] = v;
    };
    for (const shape of SHAPE_KEYS) {
      put(`sequencer (${shape}) / raw INSERT, same rows`, within(b, seqRow(shape), RAW));
    }
    put(
      "sequencer (b) / raw INSERT, same rows + ledger_subjects",
      within(b, seqRow("b"), RAW_SUBJECTS),
    );
    put("sequencer (b) / raw INSERT, entries only", within(b, seqRow("b"), RAW_ENTRIES));
    for (const shape of SHAPE_KEYS.slice(1)) {
      put(`sequencer (${shape}) / sequencer (a)`, within(b, seqRow(shape), seqRow("a")));
    }
    for (const shape of SHAPE_KEYS.slice(1)) {
      put(
        `CPU per entry, node + db: sequencer (${shape}) / sequencer (a)`,
        within(b, seqRow(shape), seqRow("a"), "cpu"),
      );
    }
    // The share of an entry's time or CPU that the ledger_subjects rows add: 1 − with / without.
    const share = (v: number | undefined) => (v === undefined ? undefined : 1 - v);
    put("raw INSERT: time share of the ledger_subjects rows", share(within(b, RAW_SUBJECTS, RAW)));
    for (const shape of DIAG_SHAPES) {
      put(
        `sequencer (${shape}): time share of the ledger_subjects INSERT`,
        share(within(b, seqRow(shape), diagRow(shape))),
      );
      put(
        `sequencer (${shape}): CPU share of the ledger_subjects INSERT`,
        share(within(b, diagRow(shape), seqRow(shape), "cpu")),
      );
    }
    if (seq && erc20) ratios[`${b}: sequencer (b) / ERC-20`] = seq.opsPerSec / erc20.opsPerSec;
    for (const { c, row } of httpRows) {
      if (row && raw)
        ratios[`${b}: HTTP API (${c} clients) / raw INSERT`] = row.opsPerSec / raw.opsPerSec;
      if (row && erc20)
        ratios[`${b}: HTTP API (${c} clients) / ERC-20`] = row.opsPerSec / erc20.opsPerSec;
    }
    for (const ceiling of ["same rows + ledger_subjects", "same rows", "entries only"]) {
      target(
        `${b}: sequencer (b) ≥ 50% of raw INSERT, ${ceiling}`,
        ratios[`${b}: sequencer (b) / raw INSERT, ${ceiling}`],
        (v) => v >= 0.5,
        "×",
      );
    }
    for (const { shape, row } of shapeRows) {
      target(
        `${b}: sequencer (${shape}) ≥ ${b === "postgres" ? "20,000" : "5,000"} entries/s`,
        row?.opsPerSec,
        (v) => v >= (b === "postgres" ? 20_000 : 5_000),
        "/s",
      );
    }
    target(
      `${b}: sequencer (b) ≥ 50× ERC-20`,
      ratios[`${b}: sequencer (b) / ERC-20`],
      (v) => v >= 50,
      "×",
    );
    // Issue 10's targets are set on PostgreSQL; PGlite is reported beside them.
    const http1 = httpRows.find((r) => r.c === 1)?.row;
    target(`${b}: HTTP, 1 client: p50 ≤ 2 ms`, http1?.p50Ms, (v) => v <= 2, " ms");
    for (const { c, row } of httpRows) {
      if (c === 32) {
        target(`${b}: HTTP, 32 clients ≥ 5,000/s`, row?.opsPerSec, (v) => v >= 5_000, "/s");
        const key = `${b}: HTTP API (${c} clients) / ERC-20`;
        target(`${b}: HTTP, 32 clients ≥ 20× ERC-20`, ratios[key], (v) => v >= 20, "×");
      }
      if (c === 256) {
        target(`${b}: HTTP, 256 clients ≥ 8,000/s`, row?.opsPerSec, (v) => v >= 8_000, "/s");
      }
    }
    target(
      `${b}: proof served < 1 ms p50, random entry (${fmt(N.proofSize)})`,
      get(b, "proof serve, random")?.p50Ms,
      (v) => v < 1,
      " ms",
    );
    target(`${b}: audit ≥ 50,000 entries/s`, get(b, "audit")?.opsPerSec, (v) => v >= 50_000, "/s");
  }

  const withRounds = rows.some((r) => r.rounds);
  const cpuCell = (t: Throughput) =>
    t.cpuUsPerOp === undefined
      ? ""
      : `${fmt(t.cpuUsPerOp)}${t.dbCpuUsPerOp === undefined ? "" : ` + ${fmt(t.dbCpuUsPerOp)}`}`;
  const roundsCell = (r: Row) =>
    r.rounds ? `${fmt(Math.min(...r.rounds))}–${fmt(Math.max(...r.rounds))}` : "";
  console.log(
    table(
      [
        "backend",
        "benchmark",
        "ops",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/op: node + db",
        ...(withRounds ? ["rounds: ops/s min–max"] : []),
      ],
      rows.map((r) => [
        r.backend,
        r.what,
        r.result.ops,
        r.result.opsPerSec,
        r.result.p50Ms,
        r.result.p99Ms,
        cpuCell(r.result),
        ...(withRounds ? [roundsCell(r)] : []),
      ]),
    ),
  );
  for (const t of commandTables) {
    console.log();
    console.log(t);
  }
  if (Object.keys(ratios).length > 0) {
    console.log();
    console.log(
      table(
        ["ratio", "value"],
        Object.entries(ratios).map(([k, v]) => [k, v]),
      ),
    );
  }
  if (profiles.length > 0) {
    const ms = (v: number) => v.toFixed(3);
    console.log();
    console.log(
      table(
        [
          "write path, per request (ms)",
          "mean answer",
          "queued",
          "sequencing",
          "seal (sign)",
          "DB write",
          "rest: HTTP, client",
          "entries/batch",
          "on the server: mean / p50",
        ],
        profiles.map((p) => [
          `${p.backend}, ${p.clients} clients`,
          ms(p.meanMs),
          ms(p.queuedMs),
          ms(p.sequenceMs),
          `${ms(p.sealMs)} (${ms(p.signMs)})`,
          ms(p.writeMs),
          ms(p.restMs),
          p.entriesPerBatch.toFixed(1),
          `${ms(p.serverMs)} / ${ms(p.serverP50Ms)}`,
        ]),
      ),
    );
    extra.writeProfiles = profiles;
  }
  if (anchoring) {
    const a = anchoring;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log();
    console.log(
      table(
        ["anchoring (embedded anvil, LedgerAnchor)", "value"],
        [
          ["interval / confirmations", `${a.intervalMs} ms / ${a.confirmations}`],
          ["contract deployment, gas", a.deployGas ?? "n/a"],
          ["first anchor, gas", a.firstAnchorGas],
          [`steady-state anchor, gas (median of ${a.anchors - 1})`, a.steadyAnchorGas],
          ["anchors per hour, one per interval", a.anchorsPerHourAtInterval],
          ["anchors per hour, measured on a busy log", a.busyAnchorsPerHour],
          ["gas per hour, measured on a busy log", a.busyGasPerHour],
          [
            `idle log: write → anchored receipt, p50 / max (${a.endToEndIdleMs.count} writes)`,
            `${s(a.endToEndIdleMs.p50)} / ${s(a.endToEndIdleMs.max)}`,
          ],
          [
            `busy log: write → anchored receipt, p50 / max (${a.endToEndBusyMs.count} writes)`,
            `${s(a.endToEndBusyMs.p50)} / ${s(a.endToEndBusyMs.max)}`,
          ],
          ["anchor signed → confirmed by the node, p50", s(a.signedToConfirmedMs.p50)],
        ],
      ),
    );
  }
  if (erc20) {
    console.log(
      `\nERC-20 transfer: ${(extra.erc20 as { gasPerTransfer: number }).gasPerTransfer} gas`,
    );
  }
  if (targets.length > 0) {
    console.log();
    console.log(
      table(
        ["target", "measured", "met"],
        targets.map((t) => [t.target, t.measured, t.met ? "yes" : "NO"]),
      ),
    );
  }

  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  const out = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    quick,
    sections: SECTIONS.filter(runs),
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      loadavg: load,
      databases: versions,
    },
    sizes: N,
    rows,
    ratios,
    targets,
    ...extra,
  };
  writeFileSync(
    new URL(`./results/${args.out}`, import.meta.url),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  log(`results written to bench/results/${args.out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

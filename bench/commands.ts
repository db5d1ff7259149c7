/**
 * Signed commands (issue 8, "Benchmarks"; ARCHITECTURE decision 5), the `commands` section of
 * bench/run.ts:
 *
 * - Verifications per second per core: `verifyCommand` of @patron/ledger on Ed25519 commands
 *   and on passkey (WebAuthn ES256) commands, on one thread, beside the same steps on
 *   node:crypto and the bare signature checks, then on one worker thread per core. Per core is
 *   given twice: operations per second of wall time on one thread, and per second of CPU time
 *   (what the process used; steadier on a shared machine, where the thread may not get a whole
 *   core). Target: ≥ 10,000 Ed25519 verifications/s per core.
 * - End to end over HTTP on a real node (PGlite, and PostgreSQL when there is one), 32 clients,
 *   each a customer with its own key, Ed25519 and passkey side by side: `customer.join` (which
 *   makes the customers), portal sign-in (a challenge, then a signed `session.open`), and
 *   `key.rotate` (a ledger write carrying two signatures). See bench/command-load.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { SignedCommand } from "@patron/ledger";
import { SignatureChecker } from "../packages/server/src/commands/verify.js";
import { loadConfig } from "../packages/server/src/config.js";
import { systemClock } from "../packages/server/src/ledger/clock.js";
import { startNode } from "../packages/server/src/node.js";
import type { CommandJob } from "./command-load.js";
import { fmt, summarize, type Throughput, table, tsWorker } from "./lib.js";
import { ClientKey, type KeyKind, type Target } from "./signing.js";
import { type Dataset, type KernelRun, kernels, runKernel } from "./verify-kernels.js";
import type { VerifyJob } from "./verify-worker.js";

type BackendName = "pglite" | "postgres";
type Meter = (backend: BackendName) => (ops: number) => Partial<Throughput>;

export interface CommandsOptions {
  quick: boolean;
  backends: BackendName[];
  pgUrl?: string;
  /** CPU per operation of this process (and of the database server) from here to the call. */
  meter?: Meter;
  log: (line: string) => void;
}

export interface CommandsRow {
  backend: string;
  what: string;
  result: Throughput;
}

export interface CommandsResult {
  rows: CommandsRow[];
  ratios: Record<string, number>;
  targets: { target: string; measured: string; met: boolean }[];
  /** Tables to print after the main one. */
  tables: string[];
  details: Record<string, unknown>;
}

/** The middle value (the lower of the two middle ones for an even count): always a sample. */
const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1] as number;

const KIND_NAME: Record<KeyKind, string> = { ed25519: "Ed25519", passkey: "ES256 passkey" };
const LEDGER = "bench.patron.example/ledger";
const WEB_ORIGIN = "https://portal.bench.example";

/** The one-thread rows, in the order they print. */
const KERNELS: { kernel: string; what: string }[] = [
  { kernel: "ed25519.verifyCommand", what: "verifyCommand, Ed25519 (@patron/ledger)" },
  { kernel: "passkey.verifyCommand", what: "verifyCommand, ES256 passkey (@patron/ledger)" },
  { kernel: "ed25519.server", what: "server's check, Ed25519 (SignatureChecker)" },
  { kernel: "passkey.server", what: "server's check, ES256 passkey (SignatureChecker)" },
  { kernel: "ed25519.node-steps", what: "verifyCommand's steps on node:crypto, Ed25519" },
  { kernel: "passkey.node-steps", what: "verifyCommand's steps on node:crypto, ES256 passkey" },
  {
    kernel: "ed25519.lean",
    what: "least on node:crypto: JCS, base58 did:key, verify, Ed25519",
  },
  { kernel: "ed25519.noble", what: "Ed25519 signature alone, @noble/curves (the ledger's)" },
  { kernel: "ed25519.node", what: "Ed25519 signature alone, node:crypto" },
  { kernel: "passkey.node", what: "ES256 signature alone, node:crypto" },
  { kernel: "ed25519.bytes", what: "signing bytes alone: parse + JCS (Ed25519 command)" },
  { kernel: "ed25519.did", what: "decodeDidKey alone, Ed25519 (validates the point)" },
];
const THREADED = ["ed25519.verifyCommand", "passkey.verifyCommand"];

/** `count` customers of each kind, each with a session.open command signed with its key. */
function dataset(count: number): Dataset {
  const target: Target = { ledger: LEDGER, merchant: "m_bench", webOrigin: WEB_ORIGIN };
  const signed = (kind: KeyKind): SignedCommand[] =>
    Array.from({ length: count }, () => {
      const key = ClientKey.generate(kind);
      const challenge = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString(
        "base64url",
      );
      return key.sign(target, key.command(target, "session.open", { challenge }));
    });
  return { ed25519: signed("ed25519"), passkey: signed("passkey"), webOrigin: WEB_ORIGIN };
}

interface VerifyRow {
  kernel: string;
  what: string;
  /** Wall-clock operations per second on one thread, each round. */
  rounds: number[];
  /** Operations per CPU-second of the process, each round. */
  perCpuSecond: number[];
  result: Throughput;
}

async function threaded(d: Dataset, kernel: string, threads: number, seconds: number) {
  const workers = Array.from({ length: threads }, () => {
    const job: VerifyJob = { dataset: d, kernel, seconds, warmSeconds: 0.3 };
    return tsWorker(new URL("./verify-worker.ts", import.meta.url), { workerData: job });
  });
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((ready, fail) => {
            w.once("message", () => ready());
            w.once("error", fail);
          }),
      ),
    );
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    const runs = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ ops: number; seconds: number }>((done, fail) => {
            w.once("message", done);
            w.once("error", fail);
            w.postMessage("go");
          }),
      ),
    );
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const ops = runs.reduce((a, r) => a + r.ops, 0);
    return {
      threads,
      ops,
      seconds: wall,
      /** The sum of each thread's own rate. */
      opsPerSec: runs.reduce((a, r) => a + r.ops / r.seconds, 0),
      perCpuSecond: ops / ((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function verification(o: CommandsOptions, out: CommandsResult) {
  const rounds = o.quick ? 1 : 3;
  const seconds = o.quick ? 0.3 : 1;
  const d = dataset(256);
  const all = kernels(d);
  const checker = new SignatureChecker({
    origin: LEDGER,
    clock: systemClock,
    webauthnOrigins: () => [WEB_ORIGIN],
  });
  all["ed25519.server"] = (i) => {
    checker.check(d.ed25519[i % d.ed25519.length]);
  };
  all["passkey.server"] = (i) => {
    checker.check(d.passkey[i % d.passkey.length]);
  };
  o.log(
    `verification: ${KERNELS.length} kernels × ${rounds} round(s) of ${seconds} s on one thread, 256 keys of each kind`,
  );
  for (const { kernel } of KERNELS) runKernel(all[kernel] as (i: number) => void, 0.2, false);
  const runs = new Map<string, KernelRun[]>();
  for (let r = 0; r < rounds; r++) {
    // Rotating order, so that a noisy moment does not always land on the same row.
    for (let k = 0; k < KERNELS.length; k++) {
      const { kernel } = KERNELS[(k + r) % KERNELS.length] as (typeof KERNELS)[number];
      const run = runKernel(all[kernel] as (i: number) => void, seconds, true);
      runs.set(kernel, [...(runs.get(kernel) ?? []), run]);
    }
  }
  const rows: VerifyRow[] = KERNELS.map(({ kernel, what }) => {
    const rs = runs.get(kernel) ?? [];
    const rates = rs.map((x) => x.ops / x.seconds);
    // The median round by throughput gives the row's latencies.
    const mid = rs[rates.indexOf(median(rates))] as KernelRun;
    return {
      kernel,
      what,
      rounds: rates,
      perCpuSecond: rs.map((x) => x.ops / x.cpuSeconds),
      result: summarize(mid.latenciesMs ?? [], mid.seconds),
    };
  });
  for (const r of rows) {
    out.rows.push({ backend: "1 thread", what: `verify: ${r.what}`, result: r.result });
  }

  const threads = cpus().length;
  const threadSeconds = o.quick ? 0.5 : 2;
  o.log(`verification: verifyCommand on ${threads} worker threads, ${threadSeconds} s each`);
  const par: Awaited<ReturnType<typeof threaded>>[] = [];
  for (const kernel of THREADED) par.push(await threaded(d, kernel, threads, threadSeconds));

  const rowOf = (k: string) => rows.find((r) => r.kernel === k) as VerifyRow;
  const rate = (k: string) => median(rowOf(k).rounds);
  const perCpu = (k: string) => median(rowOf(k).perCpuSecond);
  const ratio = (name: string, v: number) => {
    out.ratios[`verify: ${name}`] = v;
  };
  ratio(
    "verifyCommand Ed25519 / ES256 passkey",
    rate("ed25519.verifyCommand") / rate("passkey.verifyCommand"),
  );
  ratio(
    "node:crypto steps / verifyCommand, Ed25519",
    rate("ed25519.node-steps") / rate("ed25519.verifyCommand"),
  );
  ratio(
    "node:crypto steps / verifyCommand, ES256 passkey",
    rate("passkey.node-steps") / rate("passkey.verifyCommand"),
  );
  ratio(
    "Ed25519 signature alone, node:crypto / @noble",
    rate("ed25519.node") / rate("ed25519.noble"),
  );
  ratio(
    "least on node:crypto / verifyCommand, Ed25519",
    rate("ed25519.lean") / rate("ed25519.verifyCommand"),
  );
  ratio(
    "server's check / verifyCommand, Ed25519",
    rate("ed25519.server") / rate("ed25519.verifyCommand"),
  );
  ratio(
    "share of verifyCommand, Ed25519, in the @noble signature check",
    rate("ed25519.verifyCommand") / rate("ed25519.noble"),
  );
  for (const [i, p] of par.entries()) {
    const k = THREADED[i] as string;
    ratio(`${k}: ${p.threads} threads / 1 thread`, p.opsPerSec / rate(k));
  }

  out.targets.push({
    target: "verifyCommand, Ed25519 ≥ 10,000/s per core (one thread, wall)",
    measured: `${fmt(rate("ed25519.verifyCommand"))}/s`,
    met: rate("ed25519.verifyCommand") >= 10_000,
  });
  out.targets.push({
    target: "verifyCommand, Ed25519 ≥ 10,000/s per core (per CPU-second)",
    measured: `${fmt(perCpu("ed25519.verifyCommand"))}/s`,
    met: perCpu("ed25519.verifyCommand") >= 10_000,
  });

  const perCore = [
    ...rows.map((r) => [
      r.what,
      median(r.rounds),
      median(r.perCpuSecond),
      1e6 / median(r.perCpuSecond),
      r.rounds.length > 1 ? `${fmt(Math.min(...r.rounds))}–${fmt(Math.max(...r.rounds))}` : "",
    ]),
    ...par.map((p, i) => {
      const k = THREADED[i] as string;
      return [
        `${rowOf(k).what}, ${p.threads} threads (total ${fmt(p.opsPerSec)}/s)`,
        p.opsPerSec / p.threads,
        p.perCpuSecond,
        1e6 / p.perCpuSecond,
        "",
      ];
    }),
  ];
  out.tables.push(
    table(
      [
        "signed-command verification, per core",
        "ops/s (wall)",
        "ops per CPU-s",
        "CPU µs/op",
        "rounds: ops/s min–max",
      ],
      perCore,
    ),
  );
  out.details.verification = {
    keys: 256,
    rounds,
    secondsPerRound: seconds,
    rows: rows.map(({ result, ...r }) => ({ ...r, p50Ms: result.p50Ms, p99Ms: result.p99Ms })),
    threads: par.map((p, i) => ({ kernel: THREADED[i], ...p })),
  };
}

/** Runs one load job in a worker; CPU is metered from the moment every command is signed. */
function load(job: CommandJob, meter: (ops: number) => Partial<Throughput>): Promise<Throughput> {
  return new Promise((resolve, reject) => {
    const w = tsWorker(new URL("./command-load.ts", import.meta.url), { workerData: job });
    let m: ((ops: number) => Partial<Throughput>) | undefined;
    w.on("message", (msg: unknown) => {
      if (msg === "ready") {
        m = meter;
        w.postMessage("go");
        return;
      }
      const t = msg as Throughput;
      resolve({ ...t, ...(m ? m(t.ops) : {}) });
      void w.terminate();
    });
    w.once("error", reject);
  });
}

async function http(o: CommandsOptions, backend: BackendName, out: CommandsResult) {
  const clients = 32;
  const per = o.quick ? { join: 5, signin: 10, rotate: 5 } : { join: 20, signin: 40, rotate: 20 };
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-"));
  const schema = backend === "postgres" ? `bench_commands_${process.pid}` : undefined;
  const node = await startNode(
    {
      ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" }),
      dataDir,
      port: 0,
      // Every client connects from 127.0.0.1: the per-address bound would refuse them.
      maxConnectionsPerClient: 0,
      ...(backend === "postgres" ? { databaseUrl: o.pgUrl } : {}),
    },
    schema ? { schema } : {},
  );
  try {
    const me = await node.app.inject({
      url: "/v1/merchants/me",
      headers: { authorization: `Bearer ${node.ownerKey}` },
    });
    const target: Target = {
      ledger: node.identity.origin,
      merchant: (me.json() as { id: string }).id,
      webOrigin: new URL(node.url).origin,
    };
    const startMeter = () =>
      o.meter ? o.meter(backend) : (_: number): Partial<Throughput> => ({});
    const kinds: KeyKind[] = ["ed25519", "passkey"];
    const customers = new Map<KeyKind, ClientKey[]>();
    const row = (what: string, kind: KeyKind, result: Throughput) => {
      const r = { backend, what: `HTTP ${what}, ${KIND_NAME[kind]}, ${clients} clients`, result };
      out.rows.push(r);
      o.log(
        `  ${backend}: ${r.what}: ${fmt(result.opsPerSec)}/s, p50 ${fmt(result.p50Ms)} ms, p99 ${fmt(result.p99Ms)} ms`,
      );
    };
    let first = 0;
    for (const kind of kinds) {
      const keys = Array.from({ length: clients * per.join }, () => ClientKey.generate(kind));
      const job: CommandJob = {
        url: node.url,
        target,
        op: "join",
        clients,
        opsPerClient: per.join,
        keys: keys.map((k) => k.export()),
        first,
      };
      first += keys.length;
      row("customer.join", kind, await load(job, startMeter()));
      // Client c signs in and rotates as the customer of its first join.
      customers.set(
        kind,
        Array.from({ length: clients }, (_, c) => keys[c * per.join] as ClientKey),
      );
    }
    for (const op of ["signin", "rotate"] as const) {
      for (const kind of kinds) {
        const job: CommandJob = {
          url: node.url,
          target,
          op,
          clients,
          opsPerClient: per[op],
          keys: (customers.get(kind) ?? []).map((k) => k.export()),
        };
        const what =
          op === "signin"
            ? "sign-in (challenge + session.open)"
            : "key.rotate (2 signatures, 2 entries)";
        row(what, kind, await load(job, startMeter()));
      }
    }
    const get = (prefix: string, kind: KeyKind) =>
      out.rows.find(
        (r) =>
          r.backend === backend &&
          r.what.startsWith(`HTTP ${prefix}`) &&
          r.what.includes(KIND_NAME[kind]),
      )?.result;
    for (const [name, prefix] of [
      ["customer.join", "customer.join"],
      ["sign-in", "sign-in"],
      ["key.rotate", "key.rotate"],
    ] as const) {
      const e = get(prefix, "ed25519");
      const p = get(prefix, "passkey");
      if (e && p)
        out.ratios[`${backend}: HTTP ${name}, Ed25519 / ES256 passkey`] = e.opsPerSec / p.opsPerSec;
    }
  } finally {
    if (schema) await node.db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchCommands(o: CommandsOptions): Promise<CommandsResult> {
  const out: CommandsResult = { rows: [], ratios: {}, targets: [], tables: [], details: {} };
  await verification(o, out);
  for (const backend of o.backends) {
    o.log(`${backend}: signed commands over HTTP, 32 clients`);
    await http(o, backend, out);
  }
  return out;
}

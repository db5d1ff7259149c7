/**
 * Loyalty transfers and redemptions (issue 9, "Benchmarks"), the `transfers` section of
 * bench/run.ts, side by side in one run:
 *
 * - Signed `points.transfer` commands over HTTP (`POST /v1/commands`) on a real node with its
 *   HTTP server (PGlite, and PostgreSQL when there is one), from 32 concurrent clients, each a
 *   customer with its own Ed25519 key who joined by a signed `customer.join` and earned points
 *   by an order; client c sends one point to client c + 1's customer, a ring, so the balances
 *   stay whole however long the run. Against ERC-20 transfers on anvil (bench/erc20.ts), one
 *   transaction per operation and 32 in flight. Target: ≥ 20× the ERC-20 rate.
 * - Redemption hold and capture at the till (`POST /v1/redemptions`, then
 *   `POST /v1/redemptions/{id}/capture`, the merchant's API key), each timed: first 32 tills
 *   alone, then 8 tills beside the 32 transfer clients (the tills stop when the transfers do).
 *   Target: p99 < 30 ms.
 *
 * Afterwards the points are checked: the ring's customers hold together what they earned, and
 * each till customer what it earned less one point per capture.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { attachmentCommitment, decodeEntry } from "@patron/ledger";
import { loadConfig } from "../packages/server/src/config.js";
import { listEntries } from "../packages/server/src/ledger/store.js";
import { startNode } from "../packages/server/src/node.js";
import type { CommandsResult } from "./commands.js";
import { benchErc20 } from "./erc20.js";
import { fmt, type Throughput, tsWorker } from "./lib.js";
import type { LoyaltyJob, LoyaltyLoadResult } from "./loyalty-load.js";
import { ClientKey, type Target } from "./signing.js";

type BackendName = "pglite" | "postgres";
type Meter = (backend: BackendName) => (ops: number) => Partial<Throughput>;

export interface LoyaltyOptions {
  quick: boolean;
  backends: BackendName[];
  pgUrl?: string;
  /** CPU per operation of this process (and of the database server) from here to the call. */
  meter?: Meter;
  log: (line: string) => void;
}

const CLIENTS = 32;
/** Tills beside the 32 transfer clients, in the run "under that load". */
const TILLS_BESIDE = 8;
/** What each customer earns before the run: an order of 100,000.00, one point per 1.00. */
const EARNED = 100_000;
const ERC20_ROW = "32 in flight: ERC-20 transfer, 1 tx per op";
const TRANSFER_ROW = `HTTP points.transfer, signed (Ed25519), ${CLIENTS} clients`;
const BESIDE_ROW = `HTTP points.transfer, signed (Ed25519), ${CLIENTS} clients + ${TILLS_BESIDE} tills`;
/** Where the tills ran: alone (32 of them), beside the transfer clients, or one till alone. */
type Tills = "alone" | "beside" | "one";
const TILLS_WHERE: Record<Tills, string> = {
  alone: `${CLIENTS} tills`,
  beside: `${TILLS_BESIDE} tills beside ${CLIENTS} transfer clients`,
  one: "1 till, nothing else",
};
const tillRow = (what: string, where: Tills) => `HTTP redemption ${what}, ${TILLS_WHERE[where]}`;

/** Runs one load job in a worker; CPU is metered from the moment every command is signed. */
function load(
  job: LoyaltyJob,
  meter: (ops: number) => Partial<Throughput>,
  opsOf: (r: LoyaltyLoadResult) => number,
): Promise<{ result: LoyaltyLoadResult; cpu: Partial<Throughput> }> {
  return new Promise((resolve, reject) => {
    const w = tsWorker(new URL("./loyalty-load.ts", import.meta.url), { workerData: job });
    let m: ((ops: number) => Partial<Throughput>) | undefined;
    w.on("message", (msg: unknown) => {
      if (msg === "ready") {
        m = meter;
        w.postMessage("go");
        return;
      }
      const result = msg as LoyaltyLoadResult;
      resolve({ result, cpu: m ? m(opsOf(result)) : {} });
      void w.terminate();
    });
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`loyalty load worker exited with ${code}`)));
  });
}

export async function loyaltyHttp(o: LoyaltyOptions, backend: BackendName, out: CommandsResult) {
  const per = o.quick
    ? { transfers: 25, tills: 10, oneTill: 50 }
    : { transfers: 100, tills: 40, oneTill: 200 };
  const dataDir = mkdtempSync(join(tmpdir(), "patron-bench-"));
  const schema = backend === "postgres" ? `bench_loyalty_${process.pid}` : undefined;
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
    const apiKey = node.ownerKey;
    if (apiKey === undefined) throw new Error("the node made no owner key");
    const auth = { authorization: `Bearer ${apiKey}` };
    const call = async (method: "GET" | "POST", url: string, body?: unknown, status = 201) => {
      const r = await node.app.inject({
        method,
        url,
        headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      if (r.statusCode !== status) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
      return r.json() as Record<string, unknown>;
    };
    const merchant = (await call("GET", "/v1/merchants/me", undefined, 200)).id as string;
    const target: Target = {
      ledger: node.identity.origin,
      merchant,
      webOrigin: new URL(node.url).origin,
    };

    // Setup, untimed: one earn rule, 32 customers who join with their own keys, 40 keyless
    // customers for the tills, and an order for each.
    await call("POST", "/v1/loyalty/rules", {
      id: "base",
      document: {
        name: "1 point per 1.00",
        kind: "earn",
        condition: true,
        action: { type: "per_amount", points: 1, per: 100 },
      },
    });
    await call("POST", "/v1/loyalty/rules/base/publish");
    const keys = Array.from({ length: CLIENTS }, () => ClientKey.generate("ed25519"));
    const ring: string[] = [];
    for (const [i, key] of keys.entries()) {
      const salt = randomBytes(16);
      const values = { name: `Ring Customer ${i}`, email: `ring${i}@bench.example` };
      const attached = attachmentCommitment(salt, values);
      const signed = key.sign(target, key.command(target, "customer.join", { attached }));
      const r = await node.app.inject({
        method: "POST",
        url: "/v1/commands",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({
          ...signed,
          attached: { salt: salt.toString("base64url"), values },
        }),
      });
      if (r.statusCode !== 201) throw new Error(`customer.join: ${r.statusCode} ${r.body}`);
      const index = BigInt((r.json() as { entries: { index: number }[] }).entries[0]?.index ?? -1);
      const [row] = await listEntries(node.db, index, index + 1n);
      if (!row) throw new Error(`customer.join: entry ${index} not found`);
      const entry = decodeEntry(row.data) as unknown as { payload: { customerId: string } };
      ring.push(entry.payload.customerId);
    }
    const tillCustomers: string[] = [];
    for (let i = 0; i < CLIENTS + TILLS_BESIDE + 1; i++) {
      const c = await call("POST", "/v1/customers", {
        name: `Till Customer ${i}`,
        email: `till${i}@bench.example`,
      });
      tillCustomers.push(c.id as string);
    }
    let orders = 0;
    for (const id of [...ring, ...tillCustomers]) {
      const r = await call("POST", "/v1/orders", {
        orderId: `bench-${++orders}`,
        customer: { id },
        amount: EARNED * 100,
        currency: "EUR",
        items: [],
        channel: "store",
        occurredAt: new Date().toISOString(),
      });
      if (r.points !== EARNED) throw new Error(`an order earned ${r.points} points, not ${EARNED}`);
    }

    const exported = keys.map((k) => k.export());
    const to = ring.map((_, c) => ring[(c + 1) % CLIENTS] as string);
    const transfers = (opsPerClient: number) => ({
      clients: CLIENTS,
      opsPerClient,
      keys: exported,
      to,
    });
    const tills = (
      clients: number,
      opsPerClient: number,
      first: number,
      whileTransfers = false,
    ) => ({
      clients,
      opsPerClient,
      apiKey,
      customers: tillCustomers.slice(first, first + clients),
      whileTransfers,
    });
    const meter = () => (o.meter ? o.meter(backend) : (_: number): Partial<Throughput> => ({}));
    const row = (what: string, result: Throughput) => {
      out.rows.push({ backend, what, result });
      o.log(
        `  ${backend}: ${what}: ${fmt(result.opsPerSec)}/s, p50 ${fmt(result.p50Ms)} ms, p99 ${fmt(result.p99Ms)} ms`,
      );
    };
    const url = node.url;
    /** The sequencer's batches during a phase: how full, and how long their writes took. */
    const batches: Record<string, unknown> = {};
    const profiled = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
      const a = { ...node.sequencer.stats };
      const r = await run();
      const b = node.sequencer.stats;
      const n = b.batches - a.batches;
      batches[phase] = {
        batches: n,
        entriesPerBatch: (b.entries - a.entries) / n,
        queuedMsPerEntry: (b.queuedMs - a.queuedMs) / (b.entries - a.entries),
        sequenceMsPerBatch: (b.sequenceMs - a.sequenceMs) / n,
        sealMsPerBatch: (b.sealMs - a.sealMs) / n,
        writeMsPerBatch: (b.writeMs - a.writeMs) / n,
      };
      return r;
    };

    // Warm-up (JIT, first queries), untimed: a few transfers and redemptions.
    await load(
      { url, target, transfers: transfers(3), tills: tills(CLIENTS, 2, 0) },
      meter(),
      () => 1,
    );

    const alone = await profiled("transfers", () =>
      load({ url, target, transfers: transfers(per.transfers) }, meter(), (r) =>
        r.transfers ? r.transfers.ops : 1,
      ),
    );
    if (alone.result.transfers) row(TRANSFER_ROW, { ...alone.result.transfers, ...alone.cpu });

    const atTill = await profiled("tills", () =>
      load(
        { url, target, tills: tills(CLIENTS, per.tills, 0) },
        meter(),
        (r) => r.redemption?.ops ?? 1,
      ),
    );
    for (const what of ["hold", "capture", "redemption"] as const) {
      const r = atTill.result[what];
      const label = what === "redemption" ? "hold + capture" : what;
      if (r) row(tillRow(label, "alone"), what === "redemption" ? { ...r, ...atTill.cpu } : r);
    }

    const beside = await profiled("transfers + tills", () =>
      load(
        {
          url,
          target,
          transfers: transfers(per.transfers),
          tills: tills(TILLS_BESIDE, 10 * per.transfers, CLIENTS, true),
        },
        meter(),
        (r) => (r.transfers?.ops ?? 0) + (r.redemption?.ops ?? 0),
      ),
    );
    if (beside.result.transfers) row(BESIDE_ROW, beside.result.transfers);
    for (const what of ["hold", "capture", "redemption"] as const) {
      const r = beside.result[what];
      if (r) row(tillRow(what === "redemption" ? "hold + capture" : what, "beside"), r);
    }

    // The latency without load: one till, one redemption at a time.
    const oneTill = await profiled("1 till", () =>
      load(
        { url, target, tills: tills(1, per.oneTill, CLIENTS + TILLS_BESIDE) },
        meter(),
        (r) => r.redemption?.ops ?? 1,
      ),
    );
    for (const what of ["hold", "capture", "redemption"] as const) {
      const r = oneTill.result[what];
      const label = what === "redemption" ? "hold + capture" : what;
      if (r) row(tillRow(label, "one"), what === "redemption" ? { ...r, ...oneTill.cpu } : r);
    }

    // The points add up: the ring conserves them; each capture burned one point of its customer.
    let ringTotal = 0;
    for (const id of ring) {
      ringTotal += (await call("GET", `/v1/customers/${id}/points`, undefined, 200))
        .balance as number;
    }
    if (ringTotal !== EARNED * CLIENTS)
      throw new Error(`the ring holds ${ringTotal} points, not ${EARNED * CLIENTS}`);
    let burned = 0;
    for (const id of tillCustomers) {
      const p = await call("GET", `/v1/customers/${id}/points`, undefined, 200);
      burned += EARNED - (p.balance as number);
    }
    const captured =
      CLIENTS * 2 +
      (atTill.result.redemption?.ops ?? 0) +
      (beside.result.redemption?.ops ?? 0) +
      (oneTill.result.redemption?.ops ?? 0);
    if (burned !== captured)
      throw new Error(`the tills' customers lost ${burned} points; ${captured} were captured`);

    out.details[backend] = {
      transfersPerClient: per.transfers,
      redemptionsPerTill: per.tills,
      tillsBeside: TILLS_BESIDE,
      redemptionsBeside: beside.result.redemption?.ops ?? 0,
      logSize: Number(node.sequencer.head.size),
      batches,
    };
    for (const [phase, v] of Object.entries(batches)) {
      const x = v as Record<string, number>;
      o.log(
        `  ${backend}: ${phase}: ${x.batches} batches, ${fmt(x.entriesPerBatch ?? 0)} entries each, write ${fmt(x.writeMsPerBatch ?? 0)} ms, sequence ${fmt(x.sequenceMsPerBatch ?? 0)} ms, seal ${fmt(x.sealMsPerBatch ?? 0)} ms per batch; queued ${fmt(x.queuedMsPerEntry ?? 0)} ms per entry`,
      );
    }
  } finally {
    if (schema) await node.db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchLoyaltyTransfers(o: LoyaltyOptions): Promise<CommandsResult> {
  const out: CommandsResult = { rows: [], ratios: {}, targets: [], tables: [], details: {} };
  const load0 = loadavg();
  const ops = o.quick ? 300 : 1_000;
  o.log(`loyalty: ERC-20 baseline on anvil, ${ops} transfers, ${CLIENTS} in flight`);
  const e = await benchErc20({ ops, concurrency: CLIENTS, log: o.log });
  const { gasPerTransfer, blocks, client, ...erc20 } = e;
  out.rows.push({ backend: "anvil", what: ERC20_ROW, result: erc20 });
  for (const backend of o.backends) {
    o.log(`${backend}: loyalty transfers and redemptions over HTTP, ${CLIENTS} clients`);
    await loyaltyHttp(o, backend, out);
  }
  const get = (backend: string, what: string) =>
    out.rows.find((r) => r.backend === backend && r.what === what)?.result;
  const target = (name: string, value: number | undefined, ok: boolean, unit: string) => {
    if (value !== undefined)
      out.targets.push({ target: name, measured: `${fmt(value)}${unit}`, met: ok });
  };
  for (const b of o.backends) {
    for (const [what, label] of [
      [TRANSFER_ROW, "32 clients"],
      [BESIDE_ROW, "32 clients + 8 tills"],
    ] as const) {
      const r = get(b, what);
      if (!r) continue;
      const ratio = r.opsPerSec / erc20.opsPerSec;
      out.ratios[`${b}: HTTP signed points.transfer (${label}) / ERC-20 (32 in flight)`] = ratio;
      target(`${b}: signed transfers over HTTP (${label}) ≥ 20× ERC-20`, ratio, ratio >= 20, "×");
    }
    // The target is set under load; the single till shows the latency without it.
    for (const where of ["alone", "beside", "one"] as const) {
      for (const what of ["hold", "capture"]) {
        const r = get(b, tillRow(what, where));
        const p99 = r?.p99Ms;
        target(
          `${b}: redemption ${what} p99 < 30 ms (${TILLS_WHERE[where]})`,
          p99,
          (p99 ?? Infinity) < 30,
          " ms",
        );
      }
    }
  }
  out.details.erc20 = { gasPerTransfer, blocks, client, inFlight: CLIENTS };
  out.details.loadavg = { start: load0, end: loadavg() };
  return out;
}

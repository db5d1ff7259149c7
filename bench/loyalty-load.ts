/**
 * The load generator of the loyalty benchmark (bench/loyalty-transfers.ts), in a worker thread so
 * that the clients' work (signing, JSON, sockets) runs beside the server, not on its event loop.
 * Two kinds of client, each waiting for its answer before its next operation, over keep-alive
 * sockets (lib.httpSender); a job may run both at once:
 *
 * - transfer clients: each a customer with its own Ed25519 key, sending signed `points.transfer`
 *   commands (`POST /v1/commands`, no API key) to the next client's customer. Every command is
 *   signed before the clock starts.
 * - tills: the merchant's API key, `POST /v1/redemptions` (a discount hold of one point for a
 *   customer of their own) then `POST /v1/redemptions/{id}/capture`; the hold and the capture
 *   are timed each, and together.
 */
import { parentPort, workerData } from "node:worker_threads";
import { httpSender, now, summarize, type Throughput } from "./lib.js";
import { ClientKey, type KeyMaterial, type Target } from "./signing.js";

export interface LoyaltyJob {
  url: string;
  target: Target;
  transfers?: {
    clients: number;
    opsPerClient: number;
    /** One key per client; client c sends to `to[c]`. */
    keys: KeyMaterial[];
    to: string[];
  };
  tills?: {
    clients: number;
    opsPerClient: number;
    apiKey: string;
    /** Till c holds the points of `customers[c]`. */
    customers: string[];
    /** With transfer clients beside: stop once they are done (opsPerClient is then a cap). */
    whileTransfers?: boolean;
  };
}

export interface LoyaltyLoadResult {
  transfers?: Throughput;
  hold?: Throughput;
  capture?: Throughput;
  /** Hold and capture, one after the other, per redemption. */
  redemption?: Throughput;
}

const job = workerData as LoyaltyJob;
const t = job.target;
const json = { "content-type": "application/json" };

const transferBodies: string[][] = (() => {
  const tr = job.transfers;
  if (!tr) return [];
  return tr.keys.map((m, c) => {
    const key = ClientKey.from(m);
    const to = tr.to[c] as string;
    return Array.from({ length: tr.opsPerClient }, () =>
      JSON.stringify(key.sign(t, key.command(t, "points.transfer", { to, points: 1 }))),
    );
  });
})();

let transfersDone = false;

async function runTransfers(): Promise<Throughput> {
  const tr = job.transfers;
  if (!tr) throw new Error("no transfer clients");
  const { send, close } = httpSender(job.url, json, tr.clients);
  const latencies: number[] = [];
  const started = now();
  await Promise.all(
    transferBodies.map(async (bodies) => {
      for (const body of bodies) {
        const t0 = now();
        const r = await send("POST", "/v1/commands", body);
        if (r.status !== 201)
          throw new Error(`points.transfer: HTTP ${r.status} ${r.text.slice(0, 300)}`);
        latencies.push(now() - t0);
      }
    }),
  );
  const result = summarize(latencies, (now() - started) / 1000);
  transfersDone = true;
  close();
  return result;
}

async function runTills() {
  const tl = job.tills;
  if (!tl) throw new Error("no tills");
  const { send, close } = httpSender(
    job.url,
    { ...json, authorization: `Bearer ${tl.apiKey}` },
    tl.clients,
  );
  const holds: number[] = [];
  const captures: number[] = [];
  const pairs: number[] = [];
  const started = now();
  await Promise.all(
    Array.from({ length: tl.clients }, async (_, c) => {
      const customerId = tl.customers[c] as string;
      const body = JSON.stringify({ customerId, points: 1 });
      for (let j = 0; j < tl.opsPerClient; j++) {
        if (tl.whileTransfers && transfersDone) break;
        const t0 = now();
        const held = await send("POST", "/v1/redemptions", body);
        if (held.status !== 201) throw new Error(`hold: HTTP ${held.status} ${held.text}`);
        const t1 = now();
        const { id } = JSON.parse(held.text) as { id: string };
        const captured = await send("POST", `/v1/redemptions/${id}/capture`);
        if (captured.status !== 200)
          throw new Error(`capture: HTTP ${captured.status} ${captured.text}`);
        const t2 = now();
        holds.push(t1 - t0);
        captures.push(t2 - t1);
        pairs.push(t2 - t0);
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  close();
  return {
    hold: summarize(holds, seconds),
    capture: summarize(captures, seconds),
    redemption: summarize(pairs, seconds),
  };
}

// Everything is signed: tell the main thread, and start when it says so (it meters CPU from then).
parentPort?.postMessage("ready");
await new Promise((go) => parentPort?.once("message", go));
const [transfers, tills] = await Promise.all([
  job.transfers ? runTransfers() : undefined,
  job.tills ? runTills() : undefined,
]);
const out: LoyaltyLoadResult = { ...(transfers ? { transfers } : {}), ...(tills ?? {}) };
parentPort?.postMessage(out);

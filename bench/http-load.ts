/**
 * The HTTP load generator, run in a worker thread so that the client's own work runs on the
 * other core instead of on the server's event loop. Posts attestations, or fetches receipts
 * (entry + inclusion proof + signed checkpoint) of entries already written.
 *
 * It uses node:http with a keep-alive agent, one socket per concurrent client, rather than
 * fetch: on this 2-core machine fetch (undici) cost the client about 1.5 ms of CPU per request,
 * enough to make the client, not the server, the bottleneck.
 */
import { parentPort, workerData } from "node:worker_threads";
import { httpSender, measure } from "./lib.js";

export interface HttpJob {
  kind: "post" | "receipt";
  url: string;
  /** For "post": where to (default /v1/attestations), and the status that counts as success. */
  path?: string;
  status?: number;
  headers: Record<string, string>;
  total: number;
  concurrency: number;
  /** For "post": the digest of request i… */
  digests?: string[];
  /** …or the whole body of request i (orders). */
  bodies?: string[];
  /** For "receipt": entries 0 … size-1 exist. */
  size?: number;
}

const job = workerData as HttpJob;
const { send, close } = httpSender(job.url, job.headers, job.concurrency);

const size = job.size ?? 1;
const result = await measure(job.total, job.concurrency, async (i) => {
  if (job.kind === "post") {
    const body = job.bodies?.[i] ?? JSON.stringify({ digest: job.digests?.[i] });
    const r = await send("POST", job.path ?? "/v1/attestations", body);
    if (r.status !== (job.status ?? 201)) throw new Error(`HTTP ${r.status}: ${r.text}`);
    // A batch answers 201 with each order's result: one failed order fails the benchmark.
    if (job.bodies && r.text.includes('"error":'))
      throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  } else {
    // Spread over the whole log (a multiplicative hash of i), as many auditing clients would.
    const index = (i * 2_654_435_761) % size;
    const r = await send("GET", `/v1/ledger/receipts/${index}`);
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
  }
});
close();
parentPort?.postMessage(result);

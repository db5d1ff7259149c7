/**
 * The HTTP load generator, run in a worker thread so that the client's own work runs on the
 * other core instead of on the server's event loop. Posts attestations, or fetches receipts
 * (entry + inclusion proof + signed checkpoint) of entries already written.
 *
 * It uses node:http with a keep-alive agent, one socket per concurrent client, rather than
 * fetch: on this 2-core machine fetch (undici) cost the client about 1.5 ms of CPU per request,
 * enough to make the client, not the server, the bottleneck.
 */
import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { measure } from "./lib.js";

export interface HttpJob {
  kind: "post" | "receipt";
  url: string;
  /** For "post": where to (default /v1/attestations), and the status that counts as success. */
  path?: string;
  status?: number;
  headers: Record<string, string>;
  total: number;
  concurrency: number;
  /** For "post": the digest of request i. */
  digests?: string[];
  /** For "receipt": entries 0 … size-1 exist. */
  size?: number;
}

const job = workerData as HttpJob;
const base = new URL(job.url);
const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });

function send(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...job.headers };
    if (body === undefined) delete headers["content-type"];
    else headers["content-length"] = Buffer.byteLength(body);
    const req = request(
      { agent, host: base.hostname, port: base.port, method, path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const size = job.size ?? 1;
const result = await measure(job.total, job.concurrency, async (i) => {
  if (job.kind === "post") {
    const body = JSON.stringify({ digest: job.digests?.[i] });
    const r = await send("POST", job.path ?? "/v1/attestations", body);
    if (r.status !== (job.status ?? 201)) throw new Error(`HTTP ${r.status}: ${r.text}`);
  } else {
    // Spread over the whole log (a multiplicative hash of i), as many auditing clients would.
    const index = (i * 2_654_435_761) % size;
    const r = await send("GET", `/v1/ledger/receipts/${index}`);
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
  }
});
agent.destroy();
parentPort?.postMessage(result);

/**
 * The HTTP load generator, run in a worker thread so that the client's own work does not
 * compete with the server on the server's event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { measure } from "./lib.js";

interface Job {
  url: string;
  headers: Record<string, string>;
  total: number;
  concurrency: number;
  digests: string[];
}

const job = workerData as Job;
const result = await measure(job.total, job.concurrency, async (i) => {
  const r = await fetch(`${job.url}/v1/attestations`, {
    method: "POST",
    headers: job.headers,
    body: JSON.stringify({ digest: job.digests[i] }),
  });
  if (r.status !== 201) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
});
parentPort?.postMessage(result);

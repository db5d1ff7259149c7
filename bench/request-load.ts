/**
 * A generic HTTP load generator for a worker thread: sends the given requests round-robin with
 * `concurrency` in flight over keep-alive sockets (node:http, cheaper per request than fetch on
 * this 2-core machine), and reports throughput and latency. Each request must answer `status`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { httpSender, measure } from "./lib.js";

export interface LoadRequest {
  method: string;
  path: string;
  body?: string;
  /** A second request sent after the first, timed as one operation (a page and its timeline). */
  next?: string;
  status: number;
}

export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  total: number;
  concurrency: number;
  requests: LoadRequest[];
}

const job = workerData as LoadJob;
const { send, close } = httpSender(job.url, job.headers, job.concurrency);

const result = await measure(job.total, job.concurrency, async (i) => {
  const r = job.requests[i % job.requests.length] as LoadRequest;
  const first = await send(r.method, r.path, r.body);
  if (first.status !== r.status)
    throw new Error(`${r.method} ${r.path}: HTTP ${first.status} ${first.text.slice(0, 300)}`);
  if (r.next) {
    const second = await send("GET", r.next);
    if (second.status !== 200) throw new Error(`GET ${r.next}: HTTP ${second.status}`);
  }
});
close();
parentPort?.postMessage(result);

/** Small helpers shared by the benchmarks: timing, percentiles, tables, TypeScript workers. */
import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { Worker, type WorkerOptions } from "node:worker_threads";

export const now = () => performance.now();

/** The p-th percentile (0–100) of ascending `sorted`, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Throughput {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time per operation, in µs: of this process (with PGlite, the database too)… */
  cpuUsPerOp?: number;
  /** …and of the PostgreSQL server, when it runs on this machine and /proc shows it. */
  dbCpuUsPerOp?: number;
}

/** Runs `op` `total` times with `concurrency` in flight, timing each. */
export async function measure(
  total: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<Throughput> {
  const latencies: number[] = new Array(total);
  let next = 0;
  const started = now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = now();
      await op(i);
      latencies[i] = now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return summarize(latencies, (now() - started) / 1000);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) =>
        i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0),
      )
      .join("  ");
  return [
    line(cells[0] as string[]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ].join("\n");
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** Throughput and latency percentiles of `ops` operations timed at `latenciesMs`, over `seconds`. */
export function summarize(latenciesMs: readonly number[], seconds: number): Throughput {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    ops: sorted.length,
    seconds,
    opsPerSec: sorted.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Starts a worker thread on a TypeScript module. `execArgv: ["--import", "tsx"]` does not reach
 * worker threads on every Node version (Node 20 then fails with ERR_UNKNOWN_FILE_EXTENSION), so
 * the worker registers tsx itself before importing the module.
 */
export function tsWorker(module: URL, options: WorkerOptions = {}): Worker {
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** CPU time this process has used, in ms (every thread, garbage collection included). */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every architecture. */
const TICK_MS = 10;

/**
 * CPU time a PostgreSQL server has used, in ms: the postmaster's own, that of its children it
 * has reaped (closed connections) and that of its live children (backends, WAL writer,
 * checkpointer, autovacuum). Undefined when /proc cannot be read (not Linux, another user).
 */
export function serverCpuMs(postmasterPid: number): number | undefined {
  const fields = (pid: string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name, which is in parentheses and may hold anything.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  };
  try {
    // From field 3 (state): ppid is [1], utime [11], stime [12], cutime [13], cstime [14].
    const own = fields(String(postmasterPid)).slice(11, 15).map(Number);
    let ticks = own.reduce((a, b) => a + b, 0);
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const f = fields(pid);
        if (Number(f[1]) === postmasterPid) ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // The process ended meanwhile: its time is now in the postmaster's cutime.
      }
    }
    return ticks * TICK_MS;
  } catch {
    return undefined;
  }
}

/**
 * An HTTP client for the load generators: node:http over `concurrency` keep-alive sockets (on
 * this 2-core machine fetch cost the client about 1.5 ms of CPU per request, enough to make the
 * client the bottleneck). `close` ends its sockets.
 */
export function httpSender(url: string, headers: Record<string, string>, concurrency: number) {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const send = (
    method: string,
    path: string,
    body?: string,
  ): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const h: Record<string, string | number> = { ...headers };
      if (body === undefined) delete h["content-type"];
      else h["content-length"] = Buffer.byteLength(body);
      const req = request(
        { agent, host: base.hostname, port: base.port, method, path, headers: h },
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
  return { send, close: () => agent.destroy() };
}

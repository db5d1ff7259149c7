import type { DatabaseAddress } from "../db/address.js";
import { startWorker } from "../worker-thread.js";
import { addTotals, type RunTotals } from "./simulation-run.js";
import type { WindowJob } from "./simulation-window.js";
import type { WorkerJob } from "./simulation-worker.js";

const YOUNG_GENERATION_MB = 192;

/**
 * Runs a window's job on `threads` worker threads, each over its own part of the customers
 * with a connection of its own, and adds up their totals. The first thread to fail fails the
 * whole, with its error's message, and the others are stopped.
 */
export async function simulateInThreads(
  address: DatabaseAddress,
  job: WindowJob,
  threads: number,
): Promise<RunTotals> {
  const workers = Array.from({ length: threads }, (_, index) =>
    startWorker(import.meta.url, "./simulation-worker", {
      workerData: { address, job: { ...job, part: { index, of: threads } } } satisfies WorkerJob,
      // A young generation larger than the default: each order's context and evaluation is
      // short-lived garbage, and fewer scavenges copy fewer of a page's live rows (about 10%
      // less CPU per order).
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    }),
  );
  const exited = workers.map((w) => new Promise((done) => w.once("exit", done)));
  try {
    const parts = await Promise.all(
      workers.map(
        (worker, i) =>
          new Promise<RunTotals>((resolve, reject) => {
            worker.once(
              "message",
              (m: { totals: RunTotals } | { error: { name: string; message: string } }) => {
                if ("totals" in m) resolve(m.totals);
                else {
                  const err = new Error(m.error.message);
                  err.name = m.error.name;
                  reject(err);
                }
              },
            );
            worker.once("error", reject);
            worker.once("exit", (code) =>
              reject(new Error(`simulation thread ${i} exited (${code}) before it answered`)),
            );
          }),
      ),
    );
    // Each thread ends once it has closed its connections.
    await Promise.all(exited);
    return addTotals(parts);
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
}

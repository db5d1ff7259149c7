import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";
import { connectionConfig, type DatabaseAddress } from "../db/address.js";
import type { Queryable } from "../db/database.js";
import { simulateWindow, type WindowJob } from "./simulation-window.js";

/** A simulation thread: one part of a window's customers, over connections of its own. */
export interface WorkerJob {
  address: DatabaseAddress;
  job: WindowJob;
}

const { address, job } = workerData as WorkerJob;
// pg alone, not the node's database module (which loads PGlite too: slower to start). Two
// connections: the usage before the window is read with two queries at once.
const pool = new pg.Pool({ ...connectionConfig(address), max: 2 });
pool.on("error", () => {
  // An idle connection was lost: the next query reports it.
});
const db: Queryable = {
  query: async <T>(sql: string, params?: unknown[]) => {
    const r = await pool.query(sql, params);
    return { rows: r.rows as T[] };
  },
};
try {
  parentPort?.postMessage({ totals: await simulateWindow(db, job) });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort?.postMessage({ error: { name: e.name, message: e.message } });
} finally {
  await pool.end();
}

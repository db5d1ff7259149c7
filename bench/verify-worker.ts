/**
 * One thread of the parallel verification benchmark: warms the kernel up, says it is ready,
 * waits for "go" (so that all threads start together), runs, and reports its count.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Dataset, kernels, runKernel } from "./verify-kernels.js";

export interface VerifyJob {
  dataset: Dataset;
  kernel: string;
  seconds: number;
  warmSeconds: number;
}

const job = workerData as VerifyJob;
const kernel = kernels(job.dataset)[job.kernel];
if (!kernel) throw new Error(`no kernel ${job.kernel}`);
runKernel(kernel, job.warmSeconds, false);
parentPort?.once("message", () => {
  const { ops, seconds } = runKernel(kernel, job.seconds, false);
  parentPort?.postMessage({ ops, seconds });
});
parentPort?.postMessage("ready");

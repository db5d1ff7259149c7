import { parentPort } from "node:worker_threads";
import { checkEntryPage, type EntryPage } from "./entry-checks.js";

// A checking thread of `audit`: pages in, findings out, in the order they came.
parentPort?.on("message", (page: EntryPage) => {
  const checked = checkEntryPage(page);
  parentPort?.postMessage(checked, [checked.leaves.buffer as ArrayBuffer]);
});
parentPort?.postMessage("ready");

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread on a module of this package, named without its extension: the
 * compiled `.js` beside the caller when it runs from `dist`, or the TypeScript source through
 * tsx when it runs from `src` (tests, `tsx`). A worker has no loader of its own, so the source
 * needs tsx registered in it first.
 */
export function startWorker(
  callerUrl: string,
  name: string,
  options: Pick<WorkerOptions, "workerData" | "resourceLimits"> = {},
): Worker {
  const fromSource = callerUrl.endsWith(".ts");
  const module = new URL(`${name}${fromSource ? ".ts" : ".js"}`, callerUrl);
  if (!fromSource) return new Worker(module, options);
  // tsx's ESM entry (`require.resolve` would give its CommonJS one, which cannot register).
  const pkg = createRequire(callerUrl).resolve("tsx/package.json");
  const api = pathToFileURL(join(dirname(pkg), "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

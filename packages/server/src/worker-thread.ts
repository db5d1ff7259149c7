import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread on a module of this package, named without its extension: the
 * compiled `.js` beside the caller when it runs from `dist`, or, when it runs from `src` (tests,
 * benchmarks, `tsx`), the TypeScript source compiled as the build would: bundled with esbuild
 * into one JavaScript module (the packages it imports left to Node to load), once per process.
 * A worker has no loader of its own; registering tsx in it instead cost each worker about
 * 250 ms of start-up (a loader thread of its own, a round trip to it per module), which a
 * simulation on two threads paid on every run. Without esbuild, it falls back to tsx.
 */
export function startWorker(
  callerUrl: string,
  name: string,
  options: Pick<WorkerOptions, "workerData" | "resourceLimits"> = {},
): Worker {
  const fromSource = callerUrl.endsWith(".ts");
  const module = new URL(`${name}${fromSource ? ".ts" : ".js"}`, callerUrl);
  if (!fromSource) return new Worker(module, options);
  const bundle = bundled(module);
  if (bundle !== null) return new Worker(bundle, options);
  // tsx's ESM entry (`require.resolve` would give its CommonJS one, which cannot register).
  const pkg = createRequire(callerUrl).resolve("tsx/package.json");
  const api = pathToFileURL(join(dirname(pkg), "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** The bundles made by this process, by source module. */
const bundles = new Map<string, URL>();

/**
 * A worker module's source bundled into one file, or null without esbuild. The file is named by
 * its content and written under `node_modules/.cache`, where the packages it imports resolve
 * as they do for the source; processes that bundle the same source share it.
 */
function bundled(module: URL): URL | null {
  const made = bundles.get(module.href);
  if (made !== undefined) return made;
  const require = createRequire(module);
  let esbuild: typeof import("esbuild");
  let modules: string;
  try {
    esbuild = require("esbuild") as typeof import("esbuild");
    modules = dirname(dirname(require.resolve("esbuild/package.json")));
  } catch {
    return null;
  }
  const source = fileURLToPath(module);
  const { outputFiles } = esbuild.buildSync({
    entryPoints: [source],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    write: false,
    logLevel: "silent",
  });
  const code = outputFiles[0]?.contents;
  if (code === undefined) return null;
  const digest = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const dir = join(modules, ".cache", "patron-workers");
  const file = join(dir, `${basename(source, ".ts")}-${digest}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // Written whole, then renamed: another process may be starting a worker on it.
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  const url = pathToFileURL(file);
  bundles.set(module.href, url);
  return url;
}

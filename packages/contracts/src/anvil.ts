/**
 * Runs anvil, Foundry's local EVM node, as a child process: the embedded chain that Patron anchors
 * to when no external JSON-RPC endpoint is configured, and the chain the contract tests run on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { dirname, join, resolve } from "node:path";

/**
 * Private key of anvil's dev account 0 (`0xf39F…2266`), derived from the mnemonic
 * "test test test test test test test test test test test junk" that every anvil, Hardhat and
 * Foundry install uses by default.
 *
 * This is a PUBLIC TEST KEY: anyone can sign with it, on any chain. Use it only against a local
 * anvil; never give it funds or authority on a real network.
 */
export const ANVIL_DEV_KEY =
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const;

export interface StartAnvilOptions {
  /** Port on 127.0.0.1; by default anvil binds a free one itself, so there is no race for it. */
  port?: number;
  /**
   * File that keeps the chain across restarts: loaded at start when it exists, written when the
   * node stops (also when this process dies without calling `stop()`). Its directory is created
   * if needed. anvil writes to `<stateFile>.next`, which replaces `stateFile` once complete.
   */
  stateFile?: string;
  /**
   * Also write the state every this many seconds while running, so that a crash (SIGKILL, power
   * loss) loses at most this much chain history. Only with `stateFile`.
   */
  stateInterval?: number;
  /** Mine a block every this many seconds (fractions allowed) instead of one per transaction. */
  blockTime?: number;
  /** Chain id; anvil's default is 31337. */
  chainId?: number;
  /** Receives anvil's output line by line, and this module's own notices. */
  log?: (s: string) => void;
  /** How long to wait for the JSON-RPC endpoint to answer; default 30 s. */
  startTimeoutMs?: number;
  /** How long `stop()` waits for anvil to write its state and exit; default 30 s. */
  stopTimeoutMs?: number;
}

export interface AnvilNode {
  rpcUrl: string;
  chainId: number;
  pid: number;
  /**
   * Stops anvil with SIGTERM and waits until it has written its state (when it has a state file)
   * and exited. Rejects if it had to be killed, in which case the state file keeps the last
   * complete dump (the previous start's, or the last periodic one). Safe to call more than once.
   */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

const PLATFORM_ARCH: Record<string, string | undefined> = { x64: "amd64", arm64: "arm64" };

/**
 * Finds the anvil executable that `@foundry-rs/anvil` installed, without going through its
 * `bin.mjs` wrapper: the wrapper is a second Node process that only forwards signals, and it
 * would make `pid` and signal delivery refer to the wrapper instead of anvil.
 */
export function anvilBinaryPath(): string {
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  const arch = PLATFORM_ARCH[process.arch] ?? process.arch;
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}`;
  let wrapperJson: string;
  try {
    wrapperJson = require.resolve("@foundry-rs/anvil/package.json");
  } catch {
    throw new Error("@foundry-rs/anvil is not installed (it is a dependency of @patron/contracts)");
  }
  const candidates: string[] = [];
  // The platform package is an optionalDependency of the wrapper, so it may be nested under it
  // or hoisted next to it; resolving from the wrapper finds both.
  for (const from of [createRequire(wrapperJson), require]) {
    try {
      candidates.push(from.resolve(`${platformPackage}/bin/${exe}`));
    } catch {
      // Not installed for this platform, or optional dependencies were omitted.
    }
  }
  // Where the wrapper's postinstall puts a binary it had to download instead.
  candidates.push(join(dirname(wrapperJson), "..", "dist", exe));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `no anvil binary: ${platformPackage} is not installed. Reinstall with optional ` +
        "dependencies enabled, or point the node at an external JSON-RPC endpoint instead.",
    );
  }
  return found;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Answers whether `path` holds a complete anvil state dump. */
async function isCompleteState(path: string): Promise<boolean> {
  try {
    const state: unknown = JSON.parse(await readFile(path, "utf8"));
    return typeof state === "object" && state !== null && "accounts" in state;
  } catch {
    return false;
  }
}

/**
 * anvil truncates and rewrites its dump file in place, so a crash while it writes leaves a torn
 * file that it then refuses to load. It therefore dumps to `<stateFile>.next`, and only a complete
 * dump is renamed over `stateFile`: the state file always holds a whole state.
 */
async function promoteDump(stateFile: string, log: (s: string) => void): Promise<void> {
  const next = `${stateFile}.next`;
  if (!existsSync(next)) return;
  if (await isCompleteState(next)) {
    await rename(next, stateFile);
  } else {
    log(`anvil: discarding incomplete state dump ${next}; keeping ${stateFile}`);
    await rm(next, { force: true });
  }
}

/** Starts anvil on 127.0.0.1 and resolves once its JSON-RPC endpoint answers `eth_chainId`. */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilNode> {
  const log = opts.log ?? (() => {});
  const binary = anvilBinaryPath();
  const args = ["--host", "127.0.0.1", "--port", String(opts.port ?? 0)];
  if (opts.chainId !== undefined) args.push("--chain-id", String(opts.chainId));
  if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));
  const stateFile = opts.stateFile === undefined ? undefined : resolve(opts.stateFile);
  if (stateFile !== undefined) {
    // anvil silently skips the dump when the directory is missing.
    await mkdir(dirname(stateFile), { recursive: true });
    // A dump left by a previous run that was not stopped through stop().
    await promoteDump(stateFile, log);
    if (existsSync(stateFile)) args.push("--load-state", stateFile);
    args.push("--dump-state", `${stateFile}.next`);
    if (opts.stateInterval !== undefined) args.push("--state-interval", String(opts.stateInterval));
  } else if (opts.stateInterval !== undefined) {
    throw new Error("startAnvil: stateInterval needs a stateFile");
  }

  const child = spawn(binary, args, {
    // anvil reads a .env file from its working directory; run it where there is none to read.
    cwd: dirname(binary),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;

  let stdout = "";
  let stderr = "";
  let listeningPort: number | undefined;
  const onOutput = (isErr: boolean) => {
    let pending = "";
    return (text: string) => {
      // anvil logs every RPC call; keep only tails for error messages, and keep draining so a
      // full pipe never blocks it.
      if (isErr) stderr = (stderr + text).slice(-8_000);
      else stdout = (stdout + text).slice(-8_000);
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const match = /^Listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (match?.[1] !== undefined) listeningPort = Number(match[1]);
        if (line.trim() !== "") log(line);
      }
    };
  };
  child.stdout.setEncoding("utf8").on("data", onOutput(false));
  child.stderr.setEncoding("utf8").on("data", onOutput(true));

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((done) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      done();
    });
    child.once("error", (error) => {
      spawnError = error;
      done();
    });
  });

  const watchdog = pid === undefined ? undefined : startWatchdog(pid);
  // Normal exit and process.exit(): SIGTERM, not SIGKILL, so that anvil still writes its state.
  const onParentExit = () => {
    child.kill("SIGTERM");
  };
  process.once("exit", onParentExit);
  void exited.then(() => {
    process.removeListener("exit", onParentExit);
    watchdog?.kill("SIGKILL");
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exit === undefined && spawnError === undefined) {
        child.kill("SIGTERM");
        const timeoutMs = opts.stopTimeoutMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const inTime = await Promise.race([
          exited.then(() => true),
          new Promise<false>((done) => {
            timer = setTimeout(() => done(false), timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (!inTime) {
          child.kill("SIGKILL");
          await exited;
          // Keeps a complete periodic dump (stateInterval) and drops one cut off mid-write.
          if (stateFile !== undefined) await promoteDump(stateFile, log);
          throw new Error(
            `anvil (pid ${pid}) did not exit within ${timeoutMs} ms of SIGTERM and was killed` +
              (stateFile === undefined ? "" : "; chain state since its last complete dump is lost"),
          );
        }
      }
      if (stateFile !== undefined) await promoteDump(stateFile, log);
    })();
    return stopping;
  };

  const describe = () => {
    const how = exit === undefined ? "" : ` (exit code ${exit.code}, signal ${exit.signal})`;
    const tail = stdout.trim() === "" ? "" : `\n--- anvil stdout (tail) ---\n${stdout.trim()}`;
    return `anvil ${args.join(" ")}${how}\n--- anvil stderr ---\n${stderr.trim() || "(empty)"}${tail}`;
  };

  try {
    if (pid === undefined) {
      await exited;
      throw new Error(`could not start anvil at ${binary}: ${spawnError?.message}`);
    }
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    for (;;) {
      if (spawnError !== undefined) throw new Error(`anvil failed: ${spawnError.message}`);
      if (exit !== undefined)
        throw new Error(`anvil exited before answering JSON-RPC: ${describe()}`);
      if (Date.now() > deadline) {
        throw new Error(`anvil did not answer eth_chainId in time: ${describe()}`);
      }
      if (listeningPort !== undefined) {
        const rpcUrl = `http://127.0.0.1:${listeningPort}`;
        const chainId = await queryChainId(rpcUrl);
        if (chainId !== undefined) {
          log(`anvil: pid ${pid} serving chain ${chainId} at ${rpcUrl}`);
          return { rpcUrl, chainId, pid, stop };
        }
      }
      await sleep(25);
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

async function queryChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { result?: unknown };
    return typeof body.result === "string" ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The "exit" handler above cannot run when this process is killed by a signal it does not handle
 * (SIGTERM from a supervisor, SIGKILL, a crash). A tiny shell holds the read end of a pipe whose
 * write end only this process has; when this process dies, for whatever reason, the pipe closes,
 * `read` returns and the shell sends anvil SIGTERM, so that anvil writes its state and exits
 * instead of lingering on its port. POSIX only; elsewhere only the "exit" handler applies.
 */
function startWatchdog(anvilPid: number): ChildProcess | undefined {
  if (process.platform === "win32") return undefined;
  const watchdog = spawn(
    "/bin/sh",
    ["-c", 'read -r _ ; kill -TERM "$0" 2>/dev/null', String(anvilPid)],
    {
      stdio: ["pipe", "ignore", "ignore"],
    },
  );
  watchdog.on("error", () => {});
  watchdog.stdin?.on("error", () => {});
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog;
}

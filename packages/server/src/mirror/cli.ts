import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { mirrorAnchorCheck } from "../chain/verify.js";
import { readKeyArg, UsageError } from "../cli/args.js";
import { progressReporter } from "../cli/progress.js";
import { ALARM_CODES, ForkAlarm, MirrorError, runMirror } from "./mirror.js";

/** The mirror command's lines for `patron help` (same layout as the other commands). */
export const MIRROR_HELP = `  mirror <url>              Keep a verified copy of a node's ledger: check every entry, every
                            checkpoint signature and that each checkpoint extends the last
                            one; stop with an ALARM and keep the evidence if the log forks.
                            Sealed entries are kept as their leaf hashes, except those the
                            API key's merchant may read, which are copied and checked whole
      --dir <path>          the mirror directory (required; later runs continue from it)
      --key <vkey|file>     the log's verifier key (default: pinned on first contact)
      --api-key <key|file>  a merchant's API key (an auditor key will do; default: the
                            PATRON_MIRROR_KEY environment variable), to copy its sealed entries
      --follow              keep polling for new checkpoints until interrupted
      --interval <seconds>  time between polls with --follow (default 5)
      --chain <rpc-url>     also check the copy's checkpoints against the log's anchors on this chain
      --contract <address>  the LedgerAnchor contract (from GET /v1/ledger/anchors)`;

/** An API key as the node issues them: printable ASCII without spaces (`pat_…`). */
const API_KEY = /^[\x21-\x7e]{32,200}$/;
const looksLikeApiKey = (s: string) => s.startsWith("pat_");

function readFileIfAny(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * `--api-key` or PATRON_MIRROR_KEY: the key itself, or a file holding it (such as the node's
 * owner-key.txt). Messages never repeat the value: it may be a secret.
 */
function readApiKey(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  const fromFile = readFileIfAny(value);
  const key = fromFile ?? value;
  if (!API_KEY.test(key)) {
    throw new UsageError(
      fromFile === undefined
        ? `${what} is neither an API key nor a readable file`
        : `${what}: the file does not hold an API key (32 to 200 printable characters)`,
    );
  }
  return key;
}

/** `--key` is the log's verifier key; an API key given there is pointed to `--api-key`. */
function readVerifierKey(value: string | undefined): string | undefined {
  if (value !== undefined && looksLikeApiKey(readFileIfAny(value) ?? value)) {
    throw new UsageError(
      "--key takes the log's verifier key; give an API key with --api-key <key|file> or PATRON_MIRROR_KEY",
    );
  }
  return readKeyArg(value);
}

function parse(args: string[], env: NodeJS.ProcessEnv) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      key: { type: "string" },
      "api-key": { type: "string" },
      follow: { type: "boolean" },
      interval: { type: "string" },
      chain: { type: "string" },
      contract: { type: "string" },
    },
  });
  const [url, ...extra] = positionals;
  if (!url) throw new UsageError("mirror needs the node's URL: patron mirror <url> --dir <path>");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`the node's URL must start with http:// or https://, got ${url}`);
  }
  if (!values.dir) throw new UsageError("mirror needs a directory for the copy: --dir <path>");
  let intervalMs: number | undefined;
  if (values.interval !== undefined) {
    const s = Number(values.interval);
    if (!Number.isFinite(s) || s <= 0 || s > 86_400) {
      throw new UsageError(
        `--interval must be a number of seconds (0 < s ≤ 86400), got ${values.interval}`,
      );
    }
    if (!values.follow) throw new UsageError("--interval only makes sense with --follow");
    intervalMs = Math.round(s * 1000);
  }
  if (values.chain !== undefined || values.contract !== undefined) {
    if (!values.chain || !/^https?:\/\//.test(values.chain)) {
      throw new UsageError("--chain needs the chain's JSON-RPC URL (http:// or https://)");
    }
    if (!/^0x[0-9a-fA-F]{40}$/.test(values.contract ?? "")) {
      throw new UsageError("--chain needs --contract <0x address of the LedgerAnchor contract>");
    }
  }
  return {
    url,
    dir: values.dir,
    chain: values.chain
      ? { rpcUrl: values.chain, contract: values.contract as `0x${string}` }
      : undefined,
    verifierKey: readVerifierKey(values.key),
    apiKey:
      values["api-key"] !== undefined
        ? readApiKey(values["api-key"], "--api-key")
        : readApiKey(env.PATRON_MIRROR_KEY, "PATRON_MIRROR_KEY"),
    follow: values.follow ?? false,
    intervalMs,
  };
}

/** `patron mirror`: 0 when the copy verified, 1 on an alarm or failure, 2 on a usage error. */
export async function mirrorCommand(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const err = process.stderr;
  let o: ReturnType<typeof parse>;
  try {
    o = parse(args, env);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err.write(`patron: ${(e as Error).message}\nRun \`patron help\` for usage.\n`);
      return 2;
    }
    throw e;
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let bar: ReturnType<typeof progressReporter> | undefined;
  let barTotal = -1n;
  const endBar = () => {
    bar?.done();
    bar = undefined;
    barTotal = -1n;
  };
  try {
    const { chain, ...mirrorOpts } = o;
    const result = await runMirror({
      ...mirrorOpts,
      checkAnchor: chain
        ? mirrorAnchorCheck(chain.rpcUrl, chain.contract, (line) => {
            endBar();
            err.write(`${line}\n`);
          })
        : undefined,
      signal: controller.signal,
      progress(done, total) {
        if (total !== barTotal) {
          endBar();
          bar = progressReporter("mirror", err);
          barTotal = total;
        }
        bar?.update(done, total);
      },
      log(line) {
        endBar();
        err.write(`${line}\n`);
      },
    });
    endBar();
    if (result.aborted && !o.follow) {
      err.write(
        `Interrupted: the copy holds ${result.size} verified entries of ${result.origin}; run again to continue.\n`,
      );
      return 1;
    }
    const n = result.hashOnly;
    const hashes =
      n === 0n
        ? ""
        : n === 1n
          ? "; 1 sealed entry held as its leaf hash only"
          : `; ${n} sealed entries held as leaf hashes only`;
    process.stdout.write(
      `OK: mirrored ${result.size} entries of ${result.origin}, checkpoint size ${result.size} verified (${result.fetched} new entries this run${hashes})\n`,
    );
    return 0;
  } catch (e) {
    endBar();
    if (e instanceof ForkAlarm) {
      err.write(`ALARM: ${e.message}\nEvidence: ${e.evidence}\n`);
      return 1;
    }
    if (e instanceof MirrorError) {
      const label = ALARM_CODES.has(e.code) ? "ALARM" : "FAILED";
      err.write(`${label}: ${e.message}\n`);
      return 1;
    }
    err.write(`patron mirror: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

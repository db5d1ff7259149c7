import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { verifyReceipt } from "@patron/ledger";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { auditLedger } from "../ledger/audit.js";
import { getMeta } from "../ledger/store.js";
import { startNode } from "../node.js";
import { VERSION } from "../version.js";
import { progressReporter } from "./progress.js";

const HELP = `patron ${VERSION} — verifiable CRM and coalition loyalty

Usage: patron <command> [options]

Commands:
  start                     Run a node: database, ledger, HTTP API (what \`npm start\` runs)
  verify <receipt-file>     Verify a receipt offline against its checkpoint and the log's key
      --key <vkey|file>     the log's verifier key (from GET /v1/ledger/key), or a file holding it
      --origin <origin>     also require the checkpoint to come from this log
  audit                     Replay the whole ledger from its stored bytes and check everything
      --key <vkey|file>     pin the verifier key instead of trusting the one stored in the database
      --json                print the report as JSON
  help                      Show this help

Environment (start and audit):
  PORT (8080), HOST (127.0.0.1)      where the HTTP API listens
  PATRON_DATA_DIR (./.patron)         embedded database, ledger key, owner key
  DATABASE_URL                        use this PostgreSQL server instead of the embedded database
  PATRON_OWNER_KEY                    on the first start, the demo merchant's owner API key
  PATRON_LEDGER_KEY                   checkpoint signing key (default: generated into the data dir)
  PATRON_LOG_ORIGIN                   the log's origin line (default: generated on the first start)
  PATRON_BATCH_MAX (1000), PATRON_BATCH_WAIT_MS (2)   group-commit bounds

Exit status: 0 on success, 1 when a verification or audit fails, 2 on a usage error.
`;

class UsageError extends Error {}

function readKey(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(value)) return value;
  try {
    return readFileSync(value, "utf8").trim();
  } catch {
    throw new UsageError(`--key is neither a verifier key nor a readable file: ${value}`);
  }
}

async function start(): Promise<number> {
  const config = loadConfig();
  const node = await startNode(config, { log: (l) => console.log(l) });
  console.log(`Patron ${VERSION} listening on ${node.url}`);
  console.log(
    `  database: ${node.db.kind}${config.databaseUrl ? "" : ` (${join(config.dataDir, "pgdata")})`}`,
  );
  console.log(`  ledger:   ${node.identity.origin}, ${node.sequencer.head.size} entries`);
  console.log(`  API docs: ${node.url}/docs   OpenAPI: ${node.url}/openapi.json`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  console.log("Shutting down…");
  await node.close();
  return 0;
}

function verify(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { key: { type: "string" }, origin: { type: "string" } },
  });
  const file = positionals[0];
  if (!file)
    throw new UsageError("verify needs a receipt file: patron verify <receipt-file> --key <vkey>");
  const key = readKey(values.key);
  if (!key) throw new UsageError("verify needs the log's verifier key: --key <vkey|file>");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const r = verifyReceipt(text, key, { origin: values.origin });
    console.log(
      `OK: entry ${r.index} is in ${r.checkpoint.origin} at tree size ${r.checkpoint.size}`,
    );
    console.log(`  root ${Buffer.from(r.checkpoint.root).toString("base64")}`);
    if (r.entry) console.log(`  ${r.entry.type} by ${r.entry.actor} at ${r.entry.time}`);
    return 0;
  } catch (err) {
    console.error(`FAILED: ${(err as Error).message}`);
    return 1;
  }
}

async function audit(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { key: { type: "string" }, json: { type: "boolean" } },
  });
  const config = loadConfig();
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
  });
  try {
    const origin = await getMeta(db, "origin").catch(() => undefined);
    const storedKey = await getMeta(db, "verifier_key").catch(() => undefined);
    if (!origin || !storedKey) {
      console.error("FAILED: no ledger found (is PATRON_DATA_DIR or DATABASE_URL right?)");
      return 1;
    }
    const verifierKey = readKey(values.key) ?? storedKey;
    if (verifierKey !== storedKey) {
      console.error(
        `note: the database names the key ${storedKey}; checking against --key instead`,
      );
    }
    const bar = values.json ? undefined : progressReporter("audit");
    const report = await auditLedger(db, { origin, verifierKey, progress: bar?.update });
    bar?.done();
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
    } else if (report.ok) {
      console.log(
        `OK: ${report.entries} entries, ${report.checkpoints} checkpoints and ${report.tiles} tree tiles of ${origin} verified in ${report.seconds.toFixed(2)} s`,
      );
    } else {
      const first = report.problems[0];
      console.error(`FAILED: ${report.problems.length} problem(s) in ${origin}`);
      for (const p of report.problems) console.error(`  ${p.kind} ${p.at}: ${p.message}`);
      if (first) console.error(`First bad ${first.kind}: ${first.at}`);
    }
    return report.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "start":
        return await start();
      case "verify":
        return verify(rest);
      case "audit":
        return await audit(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(HELP);
        return 0;
      case "--version":
        console.log(VERSION);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`patron: ${(err as Error).message}\nRun \`patron help\` for usage.`);
      return 2;
    }
    console.error(`patron: ${(err as Error).message}`);
    return 1;
  }
}

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAnvil } from "@patron/contracts";
import {
  type AccessRecordView,
  type Checkpoint,
  type FieldValue,
  type ProvenEntry,
  verifyAccessRecords,
  verifyCheckpoint,
  verifyHistory,
  verifyReceipt,
} from "@patron/ledger";
import { embeddedChainDir, runningEmbeddedRpc } from "../chain/client.js";
import {
  anchoredEvents,
  anchorReader,
  ChainVerificationError,
  fetchConsistency,
  verifyCheckpointOnChain,
} from "../chain/verify.js";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../db/database.js";
import { auditLedger } from "../ledger/audit.js";
import { auditProjections } from "../ledger/projections-audit.js";
import { getMeta } from "../ledger/store.js";
import { MIRROR_HELP, mirrorCommand } from "../mirror/cli.js";
import { domains, entryAuditorOf, projectors, startNode } from "../node.js";
import { VERSION } from "../version.js";
import { readKeyArg, UsageError } from "./args.js";
import { IMPORT_HELP, importCommand } from "./import.js";
import { MERCHANTS_HELP, merchantsCommand } from "./merchants.js";
import { progressReporter } from "./progress.js";
import { VAULT_HELP, vaultCommand } from "./vault.js";

const START_HELP = `  start                     Run a node: database, ledger, chain anchoring, HTTP API and the
                            explorer (what \`npm start\` runs)`;

const VERIFY_HELP = `  verify <file>             Verify offline a receipt, or a customer's export (GET /v1/portal/export:
                            every entry, proof, signature and commitment, and the chain's gaps)
      --key <vkey|file>     the log's verifier key (from GET /v1/ledger/key), or a file holding it
                            (an export carries one: without --key it is checked against that)
      --origin <origin>     also require the checkpoint to come from this log
      --chain <rpc-url>     also check the checkpoint against the LedgerAnchor contract on this chain
      --contract <address>  the contract (from GET /v1/ledger/anchors)
      --node <url>          a node to fetch a consistency proof from, when the receipt's own
                            size is not anchored but a later one is`;

const AUDIT_HELP = `  audit                     Replay the whole ledger from its stored bytes and check everything,
                            and every anchor on the chain against the log
      --key <vkey|file>     pin the verifier key instead of trusting the one stored in the database
      --chain <rpc-url>     the chain to check anchors on (default: the node's configured chain)
      --no-chain            skip the anchor check
      --no-projections      skip rebuilding the projection tables from the log and comparing
      --json                print the report as JSON`;

const ENV_HELP = `Environment:
  PORT (8080), HOST (127.0.0.1)      where the HTTP API listens
  PATRON_DATA_DIR (./.patron)         embedded database, ledger key, owner and operator keys
  DATABASE_URL                        use this PostgreSQL server instead of the embedded database
  PATRON_OWNER_KEY                    on the first start, the demo merchant's owner API key
  PATRON_OPERATOR_KEY                 on the first start, the node operator's key (creates merchants)
  PATRON_WEBAUTHN_ORIGINS             extra origins passkey-signed commands may come from (comma-separated)
  PATRON_WEBAUTHN_RP_ID               the passkeys' relying party id (default: the origin's host)
  PATRON_MIRROR_KEY                   mirror: an API key (or a file holding one), like --api-key
  PATRON_API_KEY                      import: a merchant API key, like --key
  PATRON_DEMO_DATA (1)                0: no demo data on the first start (documents, customers, loyalty)
  PATRON_DEMO_CUSTOMERS (500)         how many demo customers the demo data has
  PATRON_ACCESS_BATCH_MS (5000)       how often access records are committed as one entry (0: at stop)
  PATRON_WEB_ROOT                     serve the explorer from this directory (default: the build)
  PATRON_LEDGER_KEY                   checkpoint signing key (default: generated into the data dir)
  PATRON_MASTER_KEY                   the vault's master key (\`patron vault new-key\`; default:
                                      master.key in the data dir, generated on the first start)
  PATRON_MASTER_KEY_PREVIOUS          the master key before a rotation: the node re-wraps under the new one
  PATRON_DEFAULT_COUNTRY              the country of phone numbers written without +, such as FR
  PATRON_LOG_ORIGIN                   the log's origin line (default: generated on the first start)
  PATRON_BODY_LIMIT (65536)           largest request body in bytes (1024 to 16777216)
  PATRON_REQUEST_TIMEOUT_MS (10000)   time a client has to send a whole request; then 408
  PATRON_MAX_CONNECTIONS_PER_CLIENT (128)   connections one address may hold open (0: no bound)
  PATRON_DEMO_MERCHANT (Demo Merchant) name of the merchant created on the first start
  PATRON_OWNER_EMAIL                  on the first start, the demo owner's console sign-in email
  PATRON_PUBLIC_URL                   the node's public address, for links in emails
  PATRON_PORTAL_ORIGIN                where the customer portal is served (default: the public address)
  PATRON_RECOVERY_HOURS (72)          the time-lock of a customer key recovery, 1 to 720 hours
  PATRON_RECOVERY_SWEEP_MS (60000)    how often recoveries whose time-lock ended are completed
  PATRON_RETENTION_SWEEP_MS (3600000) how often ended retention holds are shredded
  PATRON_LOYALTY_SWEEP_MS (60000)     how often lapsed holds, expired points and tier downgrades are written
  PATRON_MAIL_URL, PATRON_MAIL_FROM   outgoing mail by SMTP (smtp://user:pass@host:587); else the outbox
  PATRON_SMS_URL, PATRON_SMS_ACCOUNT, PATRON_SMS_TOKEN, PATRON_SMS_FROM   SMS by a Twilio-compatible
                                      gateway (basic auth); else the outbox
  PATRON_LOG_REQUESTS                 1: log every request as a JSON line
  PATRON_BATCH_MAX (1000), PATRON_BATCH_WAIT_MS (0)   group-commit bounds
  PATRON_CHAIN (embedded)             embedded | rpc | off: where checkpoints are anchored
  PATRON_CHAIN_RPC_URL, PATRON_CHAIN_KEY, PATRON_ANCHOR_CONTRACT   an EVM endpoint, the anchoring
                                      key (0x…) and optionally an existing LedgerAnchor contract
  PATRON_CHAIN_PUBLIC_RPC_URL         the JSON-RPC URL browsers may read the contract at (default:
                                      the embedded chain's; none with rpc; "none": publish none)
  PATRON_ANCHOR_INTERVAL_MS (5000), PATRON_ANCHOR_CONFIRMATIONS (1)`;

/** Each command's own help: \`patron <command> --help\` and \`patron help <command>\`. */
const COMMAND_HELP: Record<string, string> = {
  start: `${START_HELP}\n\n${ENV_HELP}`,
  verify: VERIFY_HELP,
  audit: AUDIT_HELP,
  mirror: MIRROR_HELP,
  merchants: MERCHANTS_HELP,
  vault: VAULT_HELP,
  import: IMPORT_HELP,
};

const HELP = `patron ${VERSION} — verifiable CRM and coalition loyalty

Usage: patron <command> [options]

Commands:
${START_HELP}
${VERIFY_HELP}
${AUDIT_HELP}
${MIRROR_HELP}
${MERCHANTS_HELP}
${VAULT_HELP}
${IMPORT_HELP}
  help [<command>]          Show this help, or one command's (also: patron <command> --help)

${ENV_HELP}

Exit status: 0 on success, 1 when a verification or audit fails, 2 on a usage error.
`;

/** One command's help: its usage line, its options, and where the rest is. */
function commandHelp(command: string): string | undefined {
  const text = COMMAND_HELP[command];
  if (text === undefined) return undefined;
  return `patron ${VERSION}

Usage: patron ${command} …

${text}

Run \`patron help\` for every command and the environment.
`;
}

async function start(): Promise<number> {
  const config = loadConfig();
  const node = await startNode(config, { log: (l) => console.log(l) });
  console.log(`Patron ${VERSION} listening on ${node.url}`);
  console.log(
    `  database: ${node.db.kind}${config.databaseUrl ? "" : ` (${join(config.dataDir, "pgdata")})`}`,
  );
  console.log(`  ledger:   ${node.identity.origin}, ${node.sequencer.head.size} entries`);
  console.log(
    node.chain
      ? `  anchors:  LedgerAnchor ${node.chain.contract} on chain ${node.chain.chainId} (${node.chain.rpcUrl}), every ${config.chain.intervalMs / 1000} s`
      : "  anchors:  off (PATRON_CHAIN=off)",
  );
  if (node.publicRpcUrl) console.log(`  browsers read the chain at ${node.publicRpcUrl}`);
  console.log(`  console:  ${node.url}/console   customer portal: ${node.url}/me`);
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

/** A data-subject export (GET /v1/portal/export), when the file is one. */
function exportBundleOf(text: string):
  | {
      customer: { id: string; records: string[] };
      ledger: { verifierKey: string; checkpoint: string };
      entries: ProvenEntry[];
      fields: FieldValue[];
      sections?: {
        dataUse?: { checkpoint: string; records: AccessRecordView[]; batches: ProvenEntry[] };
      };
    }
  | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the file is not a receipt, nor JSON: ${(err as Error).message}`);
  }
  const b = json as { format?: unknown };
  if (b?.format !== "patron-export/v1") {
    throw new UsageError("the JSON file is not a Patron export (format patron-export/v1)");
  }
  return json as NonNullable<ReturnType<typeof exportBundleOf>>;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      key: { type: "string" },
      origin: { type: "string" },
      chain: { type: "string" },
      contract: { type: "string" },
      node: { type: "string" },
    },
  });
  if (!values.chain && (values.contract || values.node)) {
    throw new UsageError(
      `--${values.contract ? "contract" : "node"} only makes sense with --chain <rpc-url>: without it nothing is checked against the chain`,
    );
  }
  if (values.chain && !/^0x[0-9a-fA-F]{40}$/.test(values.contract ?? "")) {
    throw new UsageError("--chain needs --contract <0x address of the LedgerAnchor contract>");
  }
  const file = positionals[0];
  if (!file)
    throw new UsageError("verify needs a receipt file: patron verify <receipt-file> --key <vkey>");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const bundle = exportBundleOf(text);
  const key = readKeyArg(values.key) ?? bundle?.ledger.verifierKey;
  if (!key) throw new UsageError("verify needs the log's verifier key: --key <vkey|file>");
  try {
    let checkpoint: Checkpoint;
    if (bundle) {
      if (!values.key) {
        console.log(
          "Note: checked against the verifier key inside the export; pass --key (GET /v1/ledger/key) to pin the log's own.",
        );
      }
      const r = verifyHistory({
        checkpoint: bundle.ledger.checkpoint,
        verifierKey: key,
        origin: values.origin,
        records: bundle.customer.records,
        entries: bundle.entries,
        fields: bundle.fields,
      });
      const use = bundle.sections?.dataUse;
      const access = use
        ? verifyAccessRecords({ ...use, verifierKey: key })
        : { proven: 0, pending: 0, problems: [] };
      const problems = [...r.problems, ...access.problems];
      if (problems.length > 0) throw new Error(problems.join("\n  "));
      checkpoint = verifyCheckpoint(bundle.ledger.checkpoint, key);
      console.log(
        `OK: the export of ${bundle.customer.id} holds ${r.entries.length} entries, all in ${r.origin} at tree size ${r.size}, on one chain with no gap`,
      );
      console.log(`  ${r.fields} field values match their entries' commitments`);
      if (use) {
        console.log(
          `  ${access.proven} uses of their data proven in the access log${access.pending ? ` (${access.pending} not yet committed)` : ""}`,
        );
      }
    } else {
      const r = verifyReceipt(text, key, { origin: values.origin });
      checkpoint = r.checkpoint;
      console.log(
        `OK: entry ${r.index} is in ${r.checkpoint.origin} at tree size ${r.checkpoint.size}`,
      );
      console.log(`  root ${Buffer.from(r.checkpoint.root).toString("base64")}`);
      if (r.entry) console.log(`  ${r.entry.type} by ${r.entry.actor} at ${r.entry.time}`);
    }
    const r = { checkpoint };
    if (values.chain) {
      const node = values.node?.replace(/\/$/, "");
      const chainUrl = values.chain;
      const v = await verifyCheckpointOnChain(
        anchorReader(chainUrl),
        values.contract as `0x${string}`,
        r.checkpoint,
        node ? (from, to) => fetchConsistency(node, from, to) : undefined,
      ).catch((err) => {
        if (err instanceof ChainVerificationError) throw err;
        throw new Error(
          `cannot read LedgerAnchor ${values.contract} on the chain at ${chainUrl}: ${errorText(err)} (is the node running, and is this the contract from GET /v1/ledger/anchors?)`,
        );
      });
      console.log(
        v.how === "exact"
          ? `OK: the chain anchors this checkpoint's root at size ${v.anchoredSize}`
          : `OK: the chain anchors size ${v.anchoredSize}, proven consistent with this checkpoint`,
      );
    }
    return 0;
  } catch (err) {
    console.error(`FAILED: ${errorText(err)}`);
    return 1;
  }
}

async function audit(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: "string" },
      json: { type: "boolean" },
      chain: { type: "string" },
      "no-chain": { type: "boolean" },
      "no-projections": { type: "boolean" },
    },
  });
  const config = loadConfig();
  const pgdata = join(config.dataDir, "pgdata");
  if (!config.databaseUrl && !existsSync(pgdata)) {
    console.error(
      `FAILED: no ledger in ${config.dataDir} (no embedded database at ${pgdata}); set PATRON_DATA_DIR or DATABASE_URL`,
    );
    return 1;
  }
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
    const verifierKey = readKeyArg(values.key) ?? storedKey;
    if (verifierKey !== storedKey) {
      console.error(
        `note: the database names the key ${storedKey}; checking against --key instead`,
      );
    }
    const contract = await getMeta(db, "anchor_contract");
    let chain: Awaited<ReturnType<typeof chainForAudit>> | undefined;
    if (contract && !values["no-chain"]) {
      chain = await chainForAudit(config, values.chain);
      if (!chain) {
        console.error(
          `FAILED: this ledger is anchored at ${contract} but no chain is reachable; pass --chain <rpc-url> or --no-chain`,
        );
        return 1;
      }
    }
    const bar = values.json ? undefined : progressReporter("audit");
    let report: Awaited<ReturnType<typeof auditLedger>>;
    try {
      report = await auditLedger(db, {
        origin,
        verifierKey,
        progress: bar?.update,
        entries: () => entryAuditorOf(domains, origin),
        anchors: chain
          ? () =>
              anchoredEvents(anchorReader(chain.rpcUrl), contract as `0x${string}`).catch((err) => {
                throw new Error(
                  `cannot read the anchors of ${contract} from the chain at ${chain.rpcUrl}: ${errorText(err)} (pass --chain <rpc-url>, or --no-chain to skip)`,
                );
              })
          : undefined,
      });
    } finally {
      await chain?.stop();
    }
    bar?.done();
    let projections: Awaited<ReturnType<typeof auditProjections>> | undefined;
    if (!values["no-projections"]) {
      const pbar = values.json ? undefined : progressReporter("projections");
      projections = await auditProjections(db, projectors, { progress: pbar?.update });
      pbar?.done();
      report.problems.push(...projections.problems);
    }
    const ok = report.problems.length === 0;
    const tables = projections ? `, ${projections.tables.length} projection tables` : "";
    if (values.json) {
      console.log(
        JSON.stringify({ ...report, ok, projections: projections?.tables ?? [] }, null, 2),
      );
    } else if (ok) {
      console.log(
        `OK: ${report.entries} entries, ${report.checkpoints} checkpoints, ${report.tiles} tree tiles${tables} and ${chain ? `${report.anchors} anchors` : "no anchors (chain not checked)"} of ${origin} verified in ${report.seconds.toFixed(2)} s`,
      );
    } else {
      const first = report.problems[0];
      console.error(`FAILED: ${report.problems.length} problem(s) in ${origin}`);
      for (const p of report.problems) console.error(`  ${p.kind} ${p.at}: ${p.message}`);
      if (first) console.error(`First bad ${first.kind}: ${first.at}`);
    }
    return ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

/**
 * The chain an audit checks anchors on: --chain, the configured endpoint, the embedded node of
 * a running Patron node, or a new embedded node started from the saved chain state.
 */
async function chainForAudit(config: Config, flag?: string) {
  const url = flag ?? config.chain.rpcUrl ?? runningEmbeddedRpc(config.dataDir);
  if (url) return { rpcUrl: url, stop: async () => {} };
  const state = join(embeddedChainDir(config.dataDir), "anvil-state.json");
  if (!existsSync(state)) return undefined;
  const anvil = await startAnvil({ stateFile: state });
  return { rpcUrl: anvil.rpcUrl, stop: () => anvil.stop() };
}

/**
 * One line for the user: viem's errors carry a short message and a long one with request
 * bodies and library versions, which belongs in a bug report, not a terminal.
 */
function errorText(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e.shortMessage ?? e.message ?? String(err);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `patron start --help` must print the help, not start a node.
  if (command !== undefined && rest.some((a) => a === "--help" || a === "-h")) {
    console.log(commandHelp(command) ?? HELP);
    return 0;
  }
  try {
    switch (command) {
      case "start":
        return await start();
      case "verify":
        return await verify(rest);
      case "audit":
        return await audit(rest);
      case "mirror":
        return await mirrorCommand(rest);
      case "merchants":
        return await merchantsCommand(rest);
      case "vault":
        return await vaultCommand(rest);
      case "import":
        return await importCommand(rest);
      case "help": {
        const [about] = rest;
        if (about === undefined) {
          console.log(HELP);
          return 0;
        }
        const text = commandHelp(about);
        if (text === undefined) throw new UsageError(`unknown command "${about}"`);
        console.log(text);
        return 0;
      }
      case undefined:
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
    console.error(`patron: ${errorText(err)}`);
    return 1;
  }
}

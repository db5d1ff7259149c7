import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import { loadConfig } from "../config.js";
import { UsageError } from "./args.js";

export const IMPORT_HELP = `  import customers <file.csv>  Import customers from a CSV file into a running node: rejected
                            rows are printed as "row N: reason"; exit 1 if any row was rejected
      --node <url>          the node (default: http://HOST:PORT from the environment; --url
                            is the same)
      --key <key|file>      a merchant API key that may write (default: PATRON_API_KEY, or
                            owner-key.txt in PATRON_DATA_DIR)
      --dry-run             check and resolve every row, write nothing
      --map <json>          columns to fields, {"Mobile":"phone","Notes":null}; by default
                            columns map themselves by header name
      --delimiter <c>       , ; tab or | (default ,)
      --country <CC>        the country of phone numbers written without +, such as FR`;

interface ImportView {
  id: string;
  status: "uploading" | "running" | "interrupted" | "completed" | "failed";
  dryRun: boolean;
  columns: { header: string; field: string | null }[];
  rowsRead: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  skipped: number;
  warnings: number;
  suggestions: number;
  error: string | null;
}

interface ApiErrorBody {
  error?: { code?: string; message?: string };
}

/** A failure worth one line and exit status 1: the node refused, or could not be reached. */
class ImportFailure extends Error {}

/** How long the CLI waits for a node that went away (it resumes the import when back). */
const RECONNECT_MS = 120_000;
const POLL_MS = 250;

/** `--key`, the environment, or the owner key the node wrote into its data directory. */
function apiKey(flag: string | undefined): string {
  if (flag) return existsSync(flag) ? readFileSync(flag, "utf8").trim() : flag;
  if (process.env.PATRON_API_KEY) return process.env.PATRON_API_KEY;
  const file = join(loadConfig().dataDir, "owner-key.txt");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new UsageError(
    `no API key: pass --key <key|file>, set PATRON_API_KEY, or run from where ${file} exists`,
  );
}

/** `patron import customers <file.csv>`: upload, follow, report. */
export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      node: { type: "string" },
      // The first name of --node, kept so that scripts written for it still run.
      url: { type: "string" },
      key: { type: "string" },
      "dry-run": { type: "boolean" },
      map: { type: "string" },
      delimiter: { type: "string" },
      country: { type: "string" },
    },
  });
  const [what, file, ...extra] = positionals;
  if (what !== "customers" || !file || extra.length > 0) {
    throw new UsageError("usage: patron import customers <file.csv> [--url URL] [--key KEY]");
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new UsageError(`no such file: ${file}`);
  }
  if (values.map !== undefined) {
    try {
      JSON.parse(values.map);
    } catch {
      throw new UsageError('--map must be JSON, such as {"Mobile":"phone"}');
    }
  }
  const config = loadConfig();
  const node = (values.node ?? values.url ?? `http://${config.host}:${config.port}`).replace(
    /\/$/,
    "",
  );
  const key = apiKey(values.key);
  const query = new URLSearchParams();
  if (values["dry-run"]) query.set("dryRun", "true");
  if (values.map !== undefined) query.set("map", values.map);
  if (values.delimiter !== undefined) {
    query.set("delimiter", values.delimiter === "\\t" ? "tab" : values.delimiter);
  }
  if (values.country !== undefined) query.set("country", values.country.toUpperCase());

  const client = new Client(node, key);
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: "{phase} [{bar}] {percentage}% {value}/{total}",
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  try {
    let view = await client.upload(file, query, bar);
    for (const c of view.columns) {
      if (c.field === null) console.error(`column "${c.header}" is not imported`);
    }
    view = await client.follow(view, bar);
    bar?.stop();
    for await (const e of client.rejected(view.id)) console.log(`row ${e.row}: ${e.reason}`);
    console.log(summary(basename(file), view));
    if (view.status !== "completed") {
      console.error(`FAILED: the import is ${view.status}${view.error ? `: ${view.error}` : ""}`);
      return 1;
    }
    return view.rejected > 0 ? 1 : 0;
  } catch (err) {
    bar?.stop();
    if (err instanceof ImportFailure) {
      console.error(`FAILED: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function summary(name: string, v: ImportView): string {
  const verb = v.dryRun ? "Dry run of" : "Imported";
  const would = v.dryRun ? "would be " : "";
  const parts = [
    `${v.created} ${would}created`,
    `${v.updated} ${would}updated`,
    `${v.unchanged} unchanged`,
    `${v.rejected} rejected`,
  ];
  if (v.skipped > 0) parts.push(`${v.skipped} empty`);
  let text = `${verb} ${name}: ${parts.join(", ")} (${v.rowsRead} rows)`;
  if (v.suggestions > 0) text += `; ${v.suggestions} merge suggestions for staff`;
  if (v.warnings > 0)
    text += `; ${v.warnings} warnings (GET /v1/imports/${v.id}/errors?warnings=true)`;
  return text;
}

class Client {
  constructor(
    private readonly node: string,
    private readonly key: string,
  ) {}

  /**
   * Streams the file. A node that goes away during the upload has kept nothing of it: the file
   * is sent again once it is back (rows that did commit are unchanged the second time).
   */
  async upload(file: string, query: URLSearchParams, bar?: SingleBar): Promise<ImportView> {
    const total = statSync(file).size;
    const deadline = Date.now() + RECONNECT_MS;
    for (;;) {
      bar?.start(total, 0, { phase: "upload " });
      let sent = 0;
      const counting = new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          bar?.update(sent);
          done(null, chunk);
        },
      });
      let res: Response;
      try {
        res = await fetch(`${this.node}/v1/imports/customers?${query}`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.key}`, "content-type": "text/csv" },
          body: Readable.toWeb(createReadStream(file).pipe(counting)) as ReadableStream,
          duplex: "half",
        } as RequestInit);
      } catch (err) {
        if (Date.now() > deadline) throw unreachable(this.node, err);
        await sleep(1000);
        continue;
      }
      const body = (await res.json().catch(() => ({}))) as ImportView & ApiErrorBody;
      if (res.status >= 500 && Date.now() < deadline) {
        await sleep(1000);
        continue;
      }
      if (!res.ok) throw refused(res.status, body);
      return body;
    }
  }

  /** Polls the import until it is done; resumes it when it was interrupted. */
  async follow(first: ImportView, bar?: SingleBar): Promise<ImportView> {
    let view = first;
    let resumed = 0;
    let lostSince: number | undefined;
    if (!view.dryRun) bar?.start(Math.max(view.rowsRead, 1), view.processed, { phase: "import " });
    while (view.status === "running" || view.status === "interrupted") {
      if (view.status === "interrupted") {
        if (resumed++ >= 3) break;
        await this.call("POST", `/v1/imports/${view.id}/resume`).catch(() => undefined);
      }
      await sleep(POLL_MS);
      try {
        view = (await this.call("GET", `/v1/imports/${view.id}`)) as ImportView;
        lostSince = undefined;
      } catch (err) {
        // The node went away: it resumes the import when it starts again.
        if (err instanceof ImportFailure && !/unreachable|5\d\d/.test(err.message)) throw err;
        lostSince ??= Date.now();
        if (Date.now() - lostSince > RECONNECT_MS) throw err;
        continue;
      }
      bar?.setTotal(Math.max(view.rowsRead, 1));
      bar?.update(view.processed);
    }
    return view;
  }

  /** The rejected rows, a page at a time. */
  async *rejected(id: string): AsyncGenerator<{ row: number; reason: string }> {
    let after = 0;
    for (;;) {
      const page = (await this.call(
        "GET",
        `/v1/imports/${id}/errors?limit=1000&after=${after}`,
      )) as { errors: { row: number; reason: string }[]; next: number | null };
      yield* page.errors;
      if (page.next === null) return;
      after = page.next;
    }
  }

  private async call(method: string, path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.node}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.key}` },
      });
    } catch (err) {
      throw unreachable(this.node, err);
    }
    const body = (await res.json().catch(() => ({}))) as ApiErrorBody;
    if (!res.ok) throw refused(res.status, body);
    return body;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const unreachable = (node: string, err: unknown) =>
  new ImportFailure(`the node at ${node} is unreachable: ${(err as Error).message}`);

const refused = (status: number, body: ApiErrorBody) =>
  new ImportFailure(
    `${status} ${body.error?.code ?? ""}: ${body.error?.message ?? "unexpected answer"}`,
  );

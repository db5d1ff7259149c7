import { type Readable, Transform } from "node:stream";
import { canonicalJson, type JsonValue } from "@patron/ledger";
import { type CsvError, type Options, parse } from "csv-parse";
import type { CustomerStatus, Customers, CustomerView } from "../customers/customers.js";
import {
  CHANNEL_KINDS,
  type CustomerPatch,
  IDENTITY_LIMIT,
  type IdentityKind,
  type PhoneOptions,
} from "../customers/profile.js";
import type { Database, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { CommittedEntry } from "../ledger/sequencer.js";
import { newId } from "../tenancy/tenancy.js";
import { openSealed, seal } from "../vault/cipher.js";
import { Vault } from "../vault/vault.js";
import { type Column, mapColumns } from "./columns.js";
import { type ImportRow, profileOf, type RowIssue, readRow } from "./rows.js";

export type ImportStatus = "uploading" | "running" | "interrupted" | "completed" | "failed";
export type Outcome = "created" | "updated" | "unchanged" | "rejected" | "skipped";

export interface ImportOptions {
  dryRun: boolean;
  map: Record<string, string | null>;
  delimiter: string;
  /** The country of phone numbers written without +, for this file. */
  country?: string;
}

/** An import as the API shows it: progress, counts, the columns and where they went. */
export interface ImportView {
  id: string;
  kind: "customers";
  status: ImportStatus;
  dryRun: boolean;
  columns: Column[];
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
  /**
   * Why it failed or stopped, as a code a screen can say in its own language (`error` is the
   * node's English): upload_failed, node_stopped, invalid_utf8 (or another refusal of the
   * file's), processing_failed.
   */
  errorCode: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface IssueView {
  row: number;
  line: number | null;
  level: "error" | "warning";
  code: string;
  reason: string;
}

interface ImportRecord {
  id: string;
  merchant_id: string;
  actor: string;
  status: ImportStatus;
  dry_run: boolean;
  columns: Column[];
  options: ImportOptions;
  rows_read: number | bigint | string;
  rejected: number | bigint | string;
  error: string | null;
  error_code: string | null;
  created_at: string | Date;
  finished_at: string | Date | null;
}

/** Rows staged per INSERT, and processed per round (their entries share sequencer batches). */
const STAGE_BATCH = 500;
const ROUND = 1000;
/** The longest row: a quote that never closes is reported before it holds the whole file. */
const MAX_ROW_BYTES = 256 * 1024;

/**
 * The blind index kind of an imported row's fingerprint. With the customer's other indexes, it
 * goes when the customer is erased, so an erased customer's rows cannot be tested for.
 */
const FINGERPRINT = "import-row";

const rowContext = (importId: string, row: number) => `patron-import/v1/${importId}/${row}`;

/**
 * CSV imports of customers (issue 7). The upload is streamed and parsed as it arrives; each row
 * is checked (field count, email, phone, fields) and either rejected with its reason or staged,
 * sealed under the import's own data key, so the import survives a crash. The staged rows are
 * then written in rounds of many rows at once, each row's entry committing together with the
 * row's outcome (`Customers.createAlongside`): a resumed import skips exactly the rows that
 * committed, so nothing is written twice and nothing is left out. Once done, the staged rows and
 * their key are destroyed.
 *
 * Identity resolution, as Segment does it: identifiers by priority (emails, phones, channel
 * identities); no match creates the customer; one match gets the row's missing identifiers and
 * fields; identifiers of two customers, or an email that differs from that of the customer its
 * other identifiers match, create a new customer and a merge suggestion for staff, never a
 * silent merge.
 */
export class Importer {
  /** The job of each import this node is running. */
  private readonly jobs = new Map<string, Promise<void>>();
  /** Rows that change one customer run one after the other (their patch reads it first). */
  private readonly customerLocks = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly vault: Vault,
    private readonly customers: Customers,
    private readonly clock: Clock,
    private readonly opts: PhoneOptions = {},
  ) {}

  /**
   * Reads an upload to its end: header, mapping, each row checked and staged (or, for a dry
   * run, resolved without writing). Refuses the file (4xx, nothing kept) when its header cannot
   * be used; a bad row only rejects that row.
   */
  async upload(
    merchantId: string,
    actor: string,
    body: Readable,
    options: ImportOptions,
  ): Promise<ImportView> {
    const id = newId("imp");
    const phone: PhoneOptions = { defaultCountry: options.country ?? this.opts.defaultCountry };
    type ParsedRow = { row: number; line: number; fields: string[] };
    // With `raw`, each record arrives as { record, raw }.
    type RawRecord = { record: string[]; raw: string };
    // The stream form of `parse` is typed for plain string[] records; with `raw` and the
    // `on_record` below they are RawRecord in and ParsedRow out.
    const parserOptions: Options = {
      bom: true,
      delimiter: options.delimiter,
      relax_column_count: false,
      skip_empty_lines: true,
      skip_records_with_error: true,
      raw: true,
      max_record_size: MAX_ROW_BYTES,
      on_record: (record, ctx) => {
        const r = record as unknown as RawRecord;
        const line = lineOf(r.raw, lastLine);
        lastLine = ctx.lines;
        if (!header) {
          header = r.record;
          return undefined;
        }
        const out: ParsedRow = { row: ++rows, line, fields: r.record };
        return out as unknown as string[];
      },
    };
    const parser = parse(parserOptions);
    let header: string[] | undefined;
    let rows = 0;
    let lastLine = 0;
    // Parse errors arrive as events, in the order of the file, beside the records.
    const malformed: IssueView[] = [];
    parser.on("skip", (err: CsvError & { raw?: string; record?: unknown[] }) => {
      const line = lineOf(err.raw ?? "", lastLine);
      const opened = err.code === "CSV_QUOTE_NOT_CLOSED" ? quoteLine(err.raw ?? "", line) : line;
      lastLine = Number(err.lines ?? lastLine);
      if (!header) {
        headerError ??= `the header row is not valid CSV: ${describeCsvError(err, opened, undefined)}`;
        return;
      }
      malformed.push({
        row: ++rows,
        line: opened,
        level: "error",
        code: csvCode(err.code),
        reason: describeCsvError(err, opened, header.length, err.record?.length),
      });
    });
    let headerError: string | undefined;
    let cutOff: Error | undefined;
    body.on("error", (err) => {
      cutOff = err;
      parser.destroy(err);
    });
    // A client that goes away mid-upload may close the stream without an error.
    body.on("close", () => {
      if (body.readableEnded) return;
      cutOff ??= new Error("the client closed the upload");
      parser.destroy(cutOff);
    });
    // The file must be UTF-8: csv-parse would turn any other bytes (a Latin-1 export's é) into
    // U+FFFD in the customers' names, silently. Refused whole, as a JSON body would be.
    const utf8 = utf8Check();
    utf8.on("error", (err) => parser.destroy(err));
    body.pipe(utf8).pipe(parser);

    let columns: Column[] | undefined;
    let created = false;
    let rejected = 0;
    const staged: { row: number; sealed: Uint8Array }[] = [];
    const issues: IssueView[] = [];
    const outcomes: { row: number; outcome: Outcome }[] = [];
    let key: Uint8Array | undefined;
    const dry = options.dryRun ? new DryRun(this, merchantId) : undefined;

    const start = async () => {
      if (headerError) throw new ApiError(400, "invalid_header", headerError);
      if (!header) throw new ApiError(400, "empty_file", "the file has no header row");
      columns = mapColumns(header, options.map);
      const now = new Date(this.clock.now()).toISOString();
      const k = options.dryRun ? undefined : await this.vault.customerKey(merchantId, id, true);
      await this.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO imports (id, merchant_id, kind, actor, status, dry_run, columns, options,
             created_at, updated_at)
           VALUES ($1, $2, 'customers', $3, 'uploading', $4, $5::jsonb, $6::jsonb, $7, $7)`,
          [
            id,
            merchantId,
            actor,
            options.dryRun,
            JSON.stringify(columns),
            JSON.stringify(options),
            now,
          ],
        );
        // The import's data key sits with the customers' keys: wrapped by the master key,
        // re-wrapped by rotation, destroyed when the import is done.
        if (k?.store) await tx.query(k.store.sql, k.store.params);
      });
      key = k?.key;
      created = true;
    };
    const flush = async (all: boolean) => {
      if (!created) await start();
      if (staged.length >= STAGE_BATCH || (all && staged.length > 0)) {
        const batch = staged.splice(0);
        await this.db.query(
          `INSERT INTO import_rows (import_id, merchant_id, row, sealed)
           SELECT $1, $2, r, decode(h, 'hex') FROM unnest($3::bigint[], $4::text[]) AS t(r, h)`,
          [id, merchantId, batch.map((b) => b.row), batch.map((b) => toHex(b.sealed))],
        );
      }
      const taken = issues.splice(0);
      if (taken.length > 0) await this.insertIssues(merchantId, id, taken);
      const decided = outcomes.splice(0);
      if (decided.length > 0) await this.insertOutcomes(merchantId, id, decided);
    };

    try {
      for await (const record of parser as AsyncIterable<ParsedRow>) {
        if (!created) await start();
        for (const m of malformed.splice(0)) {
          issues.push(m);
          rejected++;
        }
        const cols = columns as Column[];
        const read = readRow(record.fields, cols, phone);
        for (const issue of read.issues)
          issues.push({ row: record.row, line: record.line, ...issue });
        if (read.empty) {
          issues.push({
            row: record.row,
            line: record.line,
            level: "warning",
            code: "empty_row",
            reason: "the row has no values; skipped",
          });
          outcomes.push({ row: record.row, outcome: "skipped" });
        } else if (!read.row) {
          rejected++;
        } else if (dry) {
          const predicted = await dry.predict(read.row);
          outcomes.push({ row: record.row, outcome: predicted.outcome });
          if (predicted.issue) {
            issues.push({ row: record.row, line: record.line, ...predicted.issue });
          }
        } else {
          const plain = Buffer.from(canonicalJson(read.row as unknown as JsonValue));
          staged.push({
            row: record.row,
            sealed: seal(key as Uint8Array, plain, rowContext(id, record.row)),
          });
        }
        if (staged.length >= STAGE_BATCH || issues.length >= STAGE_BATCH) await flush(false);
      }
      for (const m of malformed.splice(0)) {
        issues.push(m);
        rejected++;
      }
      await flush(true);
    } catch (err) {
      parser.destroy();
      body.resume();
      if (created) {
        const code = err instanceof ApiError ? err.code : "upload_failed";
        await this.discard(merchantId, id, err, code).catch(() => {});
      }
      if (err instanceof ApiError || !cutOff) throw err;
      throw new ApiError(400, "upload_failed", `the upload did not complete: ${messageOf(err)}`);
    }
    await this.db.query(
      `UPDATE imports SET status = $3, rows_read = $4, rejected = $5, updated_at = $6,
         finished_at = $7 WHERE id = $1 AND merchant_id = $2`,
      [
        id,
        merchantId,
        options.dryRun ? "completed" : "running",
        rows,
        rejected,
        new Date(this.clock.now()).toISOString(),
        options.dryRun ? new Date(this.clock.now()).toISOString() : null,
      ],
    );
    return (await this.view(merchantId, id)) as ImportView;
  }

  /**
   * Writes an import's staged rows, from the first that has no outcome; resolves when done
   * (or interrupted). One job per import on this node: a second call joins it.
   */
  process(merchantId: string, id: string): Promise<void> {
    const running = this.jobs.get(id);
    if (running) return running;
    const job = this.run(merchantId, id).finally(() => this.jobs.delete(id));
    this.jobs.set(id, job);
    return job;
  }

  /** Resumes an interrupted import (the CLI does this by itself). */
  async resume(merchantId: string, id: string): Promise<ImportView> {
    const imp = await this.record(merchantId, id);
    if (!imp) throw notFound(id);
    if (imp.status === "completed" || imp.status === "failed" || imp.status === "uploading") {
      throw new ApiError(409, "not_resumable", `import ${id} is ${imp.status}; nothing to resume`);
    }
    if (imp.status === "interrupted") {
      await this.setStatus(merchantId, id, "running", null, null);
    }
    this.process(merchantId, id).catch(() => {});
    return (await this.view(merchantId, id)) as ImportView;
  }

  /**
   * On start: imports the node was writing go on from their last committed row; uploads cut
   * off half-way are dropped (their client sends the file again). The one query across
   * merchants, since the node resumes every merchant's imports.
   */
  async resumeAll(): Promise<void> {
    const { rows } = await this.db.query<{ id: string; merchant_id: string; status: ImportStatus }>(
      "SELECT id, merchant_id, status FROM imports WHERE status IN ('uploading', 'running', 'interrupted')",
    );
    for (const r of rows) {
      if (this.stopped) return;
      // An upload lives in its request: at start, none is in progress any more.
      if (r.status === "uploading") {
        await this.discard(
          r.merchant_id,
          r.id,
          new Error("the node stopped during the upload"),
          "node_stopped",
        );
        continue;
      }
      if (r.status === "interrupted") {
        await this.setStatus(r.merchant_id, r.id, "running", null, null);
      }
      this.process(r.merchant_id, r.id).catch(() => {});
    }
  }

  /** Stops taking new rounds; the rows in flight commit or not, and a restart resumes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.jobs.values()]);
  }

  async view(merchantId: string, id: string): Promise<ImportView | undefined> {
    const imp = await this.record(merchantId, id);
    if (!imp) return undefined;
    const { rows: counts } = await this.db.query<{ outcome: Outcome; n: number | bigint | string }>(
      `SELECT outcome, count(*) AS n FROM import_outcomes WHERE import_id = $1 AND merchant_id = $2
       GROUP BY outcome`,
      [id, merchantId],
    );
    const { rows: notes } = await this.db.query<{ code: string; n: number | bigint | string }>(
      `SELECT code, count(*) AS n FROM import_issues
       WHERE import_id = $1 AND merchant_id = $2 AND level = 'warning' GROUP BY code`,
      [id, merchantId],
    );
    const count = (o: Outcome) => Number(counts.find((c) => c.outcome === o)?.n ?? 0);
    const processed = counts.reduce((s, c) => s + Number(c.n), 0);
    const warnings = notes.reduce((s, c) => s + Number(c.n), 0);
    return {
      id: imp.id,
      kind: "customers",
      status: imp.status,
      dryRun: imp.dry_run,
      columns: imp.columns,
      rowsRead: Number(imp.rows_read),
      processed: processed + Number(imp.rejected),
      created: count("created"),
      updated: count("updated"),
      unchanged: count("unchanged"),
      rejected: count("rejected") + Number(imp.rejected),
      skipped: count("skipped"),
      warnings,
      suggestions: Number(notes.find((c) => c.code === "merge_suggested")?.n ?? 0),
      error: imp.error,
      errorCode: imp.error_code,
      createdAt: new Date(imp.created_at).toISOString(),
      finishedAt: imp.finished_at ? new Date(imp.finished_at).toISOString() : null,
    };
  }

  /** A page of an import's rejected rows (and warnings, when asked), by row. */
  async issues(
    merchantId: string,
    id: string,
    q: { warnings: boolean; after: number; limit: number },
  ): Promise<{ items: IssueView[]; next: number | null }> {
    if (!(await this.record(merchantId, id))) throw notFound(id);
    const { rows } = await this.db.query<{
      row: number | bigint | string;
      level: "error" | "warning";
      code: string;
      reason: string;
    }>(
      `SELECT row, level, code, reason FROM import_issues
       WHERE import_id = $1 AND merchant_id = $2 AND row > $3 ${q.warnings ? "" : "AND level = 'error'"}
       ORDER BY row, level, code LIMIT $4`,
      [id, merchantId, q.after, q.limit + 1],
    );
    // A row's issues stay on one page: the page ends before a row it would cut in two.
    let page = rows.slice(0, q.limit);
    if (rows.length > q.limit && page.length > 0) {
      const cut = Number(rows[q.limit]?.row);
      const whole = page.filter((r) => Number(r.row) !== cut);
      if (whole.length > 0) page = whole;
    }
    const items = page.map((r) => {
      const lineMatch = /line (\d+)/.exec(r.reason);
      return {
        row: Number(r.row),
        line: lineMatch ? Number(lineMatch[1]) : null,
        level: r.level,
        code: r.code,
        reason: r.reason,
      };
    });
    const last = items[items.length - 1];
    return { items, next: rows.length > page.length && last ? last.row : null };
  }

  /**
   * A page of the merchant's imports, newest first (by creation, then id), after the import
   * `after` when given: the last of the previous page. `next` is this page's last import when
   * more follow. Undefined when `after` is no import of the merchant's.
   */
  async list(
    merchantId: string,
    q: { after?: string; limit: number },
  ): Promise<{ imports: ImportView[]; next: string | null } | undefined> {
    const params: unknown[] = [merchantId, q.limit + 1];
    if (q.after !== undefined) {
      const { rows: found } = await this.db.query(
        "SELECT 1 FROM imports WHERE id = $1 AND merchant_id = $2",
        [q.after, merchantId],
      );
      if (found.length === 0) return undefined;
      params.push(q.after);
    }
    // The previous page's last import is read in the query itself: its created_at is compared
    // as the database holds it, never rounded through a JavaScript Date.
    const { rows } = await this.db.query<{ id: string }>(
      q.after === undefined
        ? `SELECT id FROM imports WHERE merchant_id = $1
           ORDER BY created_at DESC, id LIMIT $2`
        : `SELECT i.id FROM imports i
           JOIN imports a ON a.id = $3 AND a.merchant_id = $1
           WHERE i.merchant_id = $1
             AND (i.created_at < a.created_at OR (i.created_at = a.created_at AND i.id > a.id))
           ORDER BY i.created_at DESC, i.id LIMIT $2`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const imports: ImportView[] = [];
    for (const r of page) {
      const v = await this.view(merchantId, r.id);
      if (v) imports.push(v);
    }
    const last = page[page.length - 1];
    return { imports, next: rows.length > q.limit && last ? last.id : null };
  }

  // ---- writing -----------------------------------------------------------------------------

  private async run(merchantId: string, id: string): Promise<void> {
    const imp = await this.record(merchantId, id);
    if (imp?.status !== "running") return;
    try {
      const key = (await this.vault.customerKey(merchantId, id)).key;
      const fingerprintKey = await this.vault.merchantIndexKey(merchantId);
      const ctx: RowContext = { merchantId, id, actor: imp.actor, fingerprintKey };
      let after = 0;
      let written = 0;
      let analyzedAt = 0;
      // On a PostgreSQL server, two rounds in flight: the next round's rows are resolved,
      // sealed and sequenced while the server commits the previous one's batch, instead of
      // waiting for it. What the earlier round staged is seen through the staged state
      // (identifier holders), or waited for (rows sharing a row or identifier with it, a row
      // that lost an identifier to it). An embedded database runs in this thread, so there is
      // nothing to overlap, and a gap between rounds lets other requests' queries in.
      const overlap = this.db.kind === "postgres";
      let inFlight: Promise<void> | undefined;
      let earlier = new Set<string>();
      for (;;) {
        if (this.stopped) break;
        const { rows } = await this.db.query<{ row: number | bigint | string; sealed: string }>(
          `SELECT r.row, encode(r.sealed, 'hex') AS sealed FROM import_rows r
           WHERE r.import_id = $1 AND r.merchant_id = $2 AND r.row > $3
           AND NOT EXISTS (SELECT 1 FROM import_outcomes o
             WHERE o.import_id = r.import_id AND o.merchant_id = r.merchant_id AND o.row = r.row)
           ORDER BY r.row LIMIT $4`,
          [id, merchantId, after, ROUND],
        );
        if (rows.length === 0) break;
        const round = rows.map((r) => {
          const row = Number(r.row);
          const plain = openSealed(key, Buffer.from(r.sealed, "hex"), rowContext(id, row));
          if (!plain) throw new Error(`staged row ${row} of ${id} does not decrypt`);
          return { row, data: JSON.parse(Buffer.from(plain).toString("utf8")) as ImportRow };
        });
        const keyed = round.map((r) => ({ ...r, fingerprint: this.fingerprint(ctx, r.data) }));
        const before = inFlight;
        const current = this.round({ ...ctx, before: before?.catch(() => {}) }, keyed, earlier);
        current.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
        earlier = new Set(keyed.flatMap(keysOf));
        // The round before must be done before a third starts; its failure ends the import,
        // once the round started on top of it has settled too.
        const last = round[round.length - 1]?.row ?? after;
        if (!overlap) {
          await current;
          await this.dropWritten(merchantId, id, last);
        }
        if (before) {
          try {
            await before;
          } catch (err) {
            await current.catch(() => {});
            throw err;
          }
          if (overlap) await this.dropWritten(merchantId, id, after);
        }
        inFlight = current;
        after = last;
        written += round.length;
        // The tables grow faster than autovacuum (none at all in PGlite) refreshes their
        // statistics, and a planner that believes the index empty scans it whole for every
        // round's lookups: fresh statistics each time the import doubles what it wrote.
        if (written >= Math.max(2 * ROUND, analyzedAt * 2)) {
          await this.db.query("ANALYZE customers, vault_index");
          analyzedAt = written;
        }
      }
      if (inFlight) await inFlight;
      if (this.stopped) return;
      await this.finish(merchantId, id);
    } catch (err) {
      // What did commit leaves staging now, not when the import is resumed (if ever).
      await this.dropWritten(merchantId, id, Number.MAX_SAFE_INTEGER).catch(() => {});
      // Shutting down: the import stays running and the next start resumes it.
      if (this.stopped || (err instanceof ApiError && err.code === "shutting_down")) return;
      await this.setStatus(
        merchantId,
        id,
        "interrupted",
        messageOf(err),
        err instanceof ApiError ? err.code : "processing_failed",
      ).catch(() => {});
    }
  }

  /**
   * A round of rows, all in flight at once so their entries share sequencer batches. Rows that
   * share an identifier run in file order, one after the other: the second sees the first.
   */
  private async round(
    ctx: RowContext,
    keyed: { row: number; data: ImportRow; fingerprint: Uint8Array }[],
    /** The keys (`keysOf`) of the round still in flight before this one. */
    earlier: Set<string>,
  ): Promise<void> {
    const groups = groupByIdentifier(keyed);
    const read = await this.prefetch(ctx, keyed);
    const results = await Promise.allSettled(
      groups.map(async (group) => {
        // A group that shares a row or an identifier with the round before waits for it, and
        // is resolved against what it wrote rather than against the prefetched read.
        const waits = group.some((r) => keysOf(r).some((k) => earlier.has(k)));
        if (waits) await ctx.before;
        // Only the first row of a group may use what was read before the round: the rows
        // after it see what the rows before them wrote.
        let first = !waits;
        for (const r of group) {
          await this.write(ctx, r.row, r.data, true, first ? read : undefined);
          first = false;
        }
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * What a round's rows are resolved against, in two queries instead of a few per row: the
   * fingerprints already imported and the active holders of every identifier. The holders also
   * go to `Customers`, whose creates then need not read them again.
   */
  private async prefetch(
    ctx: RowContext,
    rows: { data: ImportRow; fingerprint: Uint8Array }[],
  ): Promise<Prefetched> {
    const { merchantId, fingerprintKey: indexKey } = ctx;
    const { rows: known } = await this.db.query<{ hash: string; customer_id: string }>(
      `SELECT encode(f.hash, 'hex') AS hash, f.customer_id FROM vault_index f
       JOIN customers c ON c.id = f.customer_id AND c.merchant_id = f.merchant_id
       WHERE f.merchant_id = $1 AND f.kind = $2 AND c.status = 'active'
       AND f.hash = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest($3::text[]) AS t(h)))`,
      [merchantId, FINGERPRINT, rows.map((r) => toHex(r.fingerprint))],
    );
    const identifiers = new Map<string, { kind: IdentityKind; hash: Uint8Array }>();
    for (const r of rows) {
      for (const { kind, value } of identifiersOf(r.data)) {
        identifiers.set(`${kind}:${value}`, {
          kind,
          hash: Vault.identityHash(indexKey, kind, value),
        });
      }
    }
    const list = [...identifiers.values()];
    // One query per kind: `kind = … AND hash = ANY(…)` is an index scan of the blind index.
    const held: { kind: string; hash: string; customer_id: string }[] = [];
    for (const kind of new Set(list.map((i) => i.kind))) {
      const { rows: found } = await this.db.query<{
        kind: string;
        hash: string;
        customer_id: string;
      }>(
        `SELECT i.kind, encode(i.hash, 'hex') AS hash, i.customer_id FROM vault_index i
         JOIN customers c ON c.id = i.customer_id AND c.merchant_id = i.merchant_id
         WHERE i.merchant_id = $1 AND i.kind = $2 AND c.status = 'active'
         AND i.hash = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest($3::text[]) AS t(h)))`,
        [merchantId, `id:${kind}`, list.filter((i) => i.kind === kind).map((i) => toHex(i.hash))],
      );
      held.push(...found);
    }
    const holderOf = new Map(held.map((h) => [`${h.kind.slice(3)}:${h.hash}`, h.customer_id]));
    // What a batch staged or committed since the read is newer, and wins (`knownOwners`).
    this.customers.knownOwners(
      merchantId,
      list.map((i) => ({
        kind: i.kind,
        hash: i.hash,
        holder: holderOf.get(`${i.kind}:${toHex(i.hash)}`) ?? null,
      })),
    );
    return {
      fingerprints: new Map(known.map((k) => [k.hash, k.customer_id])),
      named: await this.records(
        merchantId,
        rows.flatMap((r) => (r.data.customerId ? [r.data.customerId] : [])),
      ),
      holders: (data) => {
        const holders: string[] = [];
        const taken = new Map<string, string>();
        for (const { kind, value } of identifiersOf(data)) {
          const hash = identifiers.get(`${kind}:${value}`)?.hash;
          const c = hash && holderOf.get(`${kind}:${toHex(hash)}`);
          if (!c) continue;
          taken.set(`${kind}:${value}`, c);
          if (!holders.includes(c)) holders.push(c);
        }
        return { holders, held: taken };
      },
    };
  }

  /** Resolves and writes one row; its outcome commits with its entry, or alone if none. */
  private async write(
    ctx: RowContext,
    row: number,
    data: ImportRow,
    retry = true,
    read?: Prefetched,
  ): Promise<void> {
    const { merchantId } = ctx;
    const fingerprint = this.fingerprint(ctx, data);
    try {
      const known = read
        ? read.fingerprints.get(toHex(fingerprint))
        : await this.fingerprinted(merchantId, fingerprint);
      if (known) {
        await this.decided(ctx, row, "unchanged", known, fingerprint);
        return;
      }
      // The id an export wrote names the customer, whatever the row holds (a name alone too).
      const target =
        data.customerId === undefined
          ? undefined
          : await this.named(merchantId, data.customerId, read?.named);
      const { holders, held } = read ? read.holders(data) : await this.holders(merchantId, data);
      if (target && holders.some((h) => h !== target)) throw namedConflict();
      const only = target ?? (holders.length === 1 ? holders[0] : undefined);
      if (only) {
        const outcome = await this.lockCustomer(only, async () => {
          const view = await this.customers.get(merchantId, only);
          if (view?.status !== "active") return "retry" as const;
          if (!target && emailConflicts(view, data)) return "conflict" as const;
          const { patch, notes } = fillPatch(view, data);
          if (Object.keys(patch).length === 0) {
            await this.decided(ctx, row, "unchanged", only, fingerprint, notes);
            return "done" as const;
          }
          const r = await this.customers.updateAlongside(merchantId, only, ctx.actor, patch, () =>
            this.outcomeStatements(ctx, row, "updated", only, fingerprint, notes),
          );
          if (!r.changed) await this.decided(ctx, row, "unchanged", only, fingerprint, notes);
          return "done" as const;
        });
        if (outcome === "done") return;
        if (outcome === "retry") {
          if (retry) {
            await ctx.before;
            return this.write(ctx, row, data, false);
          }
          throw new ApiError(409, "customer_changed", "the customer it matched changed meanwhile");
        }
        await this.conflict(ctx, row, data, fingerprint, holders, held, "email_conflict");
        return;
      }
      if (holders.length > 1) {
        await this.conflict(ctx, row, data, fingerprint, holders, held, "identifier_conflict");
        return;
      }
      await this.customers.createAlongside(merchantId, ctx.actor, profileOf(data), (es) =>
        this.outcomeStatements(ctx, row, "created", customerOf(es), fingerprint),
      );
    } catch (err) {
      // Someone else took an identifier between the lookup and the write: resolved again.
      if (retry && err instanceof ApiError && err.code === "identity_in_use") {
        await ctx.before;
        return this.write(ctx, row, data, false);
      }
      if (err instanceof ApiError && err.status < 500) {
        await this.insertIssues(merchantId, ctx.id, [
          { row, line: null, level: "error", code: err.code, reason: safeReason(err) },
        ]);
        await this.insertOutcomes(merchantId, ctx.id, [{ row, outcome: "rejected" }]);
        return;
      }
      throw err;
    }
  }

  /** A new customer with the identifiers nobody holds, and a suggestion per customer it met. */
  private async conflict(
    ctx: RowContext,
    row: number,
    data: ImportRow,
    fingerprint: Uint8Array,
    holders: string[],
    held: Held,
    reason: SuggestionReason,
  ): Promise<void> {
    const free = profileOf(withoutHeld(data, held));
    const note = suggestionNote(reason);
    const kinds = await this.channelsOf(ctx.merchantId, holders);
    await this.customers.createAlongside(ctx.merchantId, ctx.actor, free, (es) => {
      const id = customerOf(es);
      const now = new Date(this.clock.now()).toISOString();
      return [
        ...this.outcomeStatements(ctx, row, "created", id, fingerprint, [note]),
        ...holders.map((other): Statement => {
          const pair = pairing(data, held, other, kinds.get(other) ?? []);
          return {
            sql: `INSERT INTO merge_suggestions (id, merchant_id, customer_id, other_id, reason,
               source, status, created_at, shared_kinds, differing_kinds)
               VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8::jsonb, $9::jsonb)`,
            params: [
              newId("ms"),
              ctx.merchantId,
              id,
              other,
              reason,
              `import:${ctx.id}`,
              now,
              JSON.stringify(pair.shared),
              JSON.stringify(pair.differing),
            ],
          };
        }),
      ];
    });
  }

  /** The statements recording a row's outcome, run in its entry's transaction when it has one. */
  private outcomeStatements(
    ctx: RowContext,
    row: number,
    outcome: Outcome,
    customerId: string,
    fingerprint: Uint8Array,
    notes: RowIssue[] = [],
  ): Statement[] {
    return [
      // No ON CONFLICT: a row written twice fails its transaction instead of writing twice.
      // Both are rows nothing earlier in a batch touches (only an erasure deletes a
      // fingerprint, and it refuses the row's command): joined with the batch's others.
      {
        sql: `INSERT INTO import_outcomes (import_id, merchant_id, row, outcome, customer_id)
         VALUES ($1, $2, $3, $4, $5)`,
        params: [ctx.id, ctx.merchantId, row, outcome, customerId],
        bulk: true,
      },
      {
        sql: `INSERT INTO vault_index (merchant_id, kind, hash, customer_id)
         VALUES ($1, $2, decode($3, 'hex'), $4) ON CONFLICT DO NOTHING`,
        params: [ctx.merchantId, FINGERPRINT, toHex(fingerprint), customerId],
        bulk: true,
      },
      ...notes.map(
        (n): Statement => ({
          sql: `INSERT INTO import_issues (import_id, merchant_id, row, level, code, reason)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          params: [ctx.id, ctx.merchantId, row, n.level, n.code, n.reason],
        }),
      ),
    ];
  }

  /** A row that writes no entry: its outcome alone. */
  private async decided(
    ctx: RowContext,
    row: number,
    outcome: Outcome,
    customerId: string,
    fingerprint: Uint8Array,
    notes: RowIssue[] = [],
  ): Promise<void> {
    await this.db.writeAll(
      this.outcomeStatements(ctx, row, outcome, customerId, fingerprint, notes).map((s, i) =>
        i === 0 ? { ...s, sql: `${s.sql} ON CONFLICT DO NOTHING` } : s,
      ),
    );
  }

  /**
   * The same row imported before (in this file or another) into a customer still active: a
   * keyed hash under the merchant's index key, never a plain hash of personal values.
   */
  private fingerprint(ctx: RowContext, data: ImportRow): Uint8Array {
    return Vault.identityHash(
      ctx.fingerprintKey,
      "import-row",
      canonicalJson(data as unknown as JsonValue),
    );
  }

  private async fingerprinted(merchantId: string, hash: Uint8Array): Promise<string | undefined> {
    const { rows } = await this.db.query<{ customer_id: string }>(
      `SELECT f.customer_id FROM vault_index f
       JOIN customers c ON c.id = f.customer_id AND c.merchant_id = f.merchant_id
       WHERE f.merchant_id = $1 AND f.kind = $2 AND f.hash = decode($3, 'hex')
       AND c.status = 'active' LIMIT 1`,
      [merchantId, FINGERPRINT, toHex(hash)],
    );
    return rows[0]?.customer_id;
  }

  /**
   * The active customer a row's id names, following merges to the record that absorbed it;
   * undefined when this merchant has no customer of that id (another merchant's is no different
   * from none, and such a row is matched by its identifiers, as a file from elsewhere is). An
   * erased customer's row is refused: an old export does not bring back what was erased.
   */
  async named(
    merchantId: string,
    id: string,
    read?: Map<string, CustomerRecord>,
  ): Promise<string | undefined> {
    let current = id;
    // A merge chain is short; the bound only guards against a cycle no write makes.
    for (let hop = 0; hop < 32; hop++) {
      const r = read?.get(current) ?? (await this.records(merchantId, [current])).get(current);
      if (!r) return undefined;
      if (r.status === "active") return current;
      if (r.status === "erased") {
        throw new ApiError(
          409,
          "customer_erased",
          "its id names a customer who was erased: not imported again",
        );
      }
      if (!r.mergedInto) return undefined;
      current = r.mergedInto;
    }
    return undefined;
  }

  /** The status of this merchant's customers of these ids (others are not in the map). */
  private async records(merchantId: string, ids: string[]): Promise<Map<string, CustomerRecord>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.query<{
      id: string;
      status: CustomerStatus;
      merged_into: string | null;
    }>(
      `SELECT id, status, merged_into FROM customers
       WHERE merchant_id = $1 AND id = ANY($2::text[])`,
      [merchantId, [...new Set(ids)]],
    );
    return new Map(rows.map((r) => [r.id, { status: r.status, mergedInto: r.merged_into }]));
  }

  /** The identity kinds each customer holds (a fact in clear: nothing is decrypted). */
  private async channelsOf(merchantId: string, ids: string[]): Promise<Map<string, string[]>> {
    const { rows } = await this.db.query<{ id: string; channels: unknown }>(
      `SELECT id, facts->'channels' AS channels FROM customers
       WHERE merchant_id = $1 AND id = ANY($2::text[])`,
      [merchantId, ids],
    );
    return new Map(
      rows.map((r) => [r.id, Array.isArray(r.channels) ? r.channels.map(String) : []]),
    );
  }

  /** The active customers holding the row's identifiers, by priority, and which ones are held. */
  async holders(merchantId: string, data: ImportRow): Promise<{ holders: string[]; held: Held }> {
    const holders: string[] = [];
    const held: Held = new Map();
    for (const { kind, value } of identifiersOf(data)) {
      for (const c of await this.vault.find(merchantId, kind, value)) {
        if (!(await this.customers.isActive(merchantId, c))) continue;
        held.set(`${kind}:${value}`, c);
        if (!holders.includes(c)) holders.push(c);
      }
    }
    return { holders, held };
  }

  /** A dry run's lookup: the active customer holding one identifier, if any. */
  async holderOf(
    merchantId: string,
    kind: IdentityKind,
    value: string,
  ): Promise<string | undefined> {
    for (const c of await this.vault.find(merchantId, kind, value)) {
      if (await this.customers.isActive(merchantId, c)) return c;
    }
    return undefined;
  }

  /** Reads a customer for a dry run's prediction. */
  customer(merchantId: string, id: string): Promise<CustomerView | undefined> {
    return this.customers.get(merchantId, id);
  }

  /** A dry run's fingerprint check: the same row imported before. */
  async knownRow(merchantId: string, data: ImportRow): Promise<boolean> {
    const key = await this.vault.merchantIndexKey(merchantId);
    const hash = Vault.identityHash(key, "import-row", canonicalJson(data as unknown as JsonValue));
    return (await this.fingerprinted(merchantId, hash)) !== undefined;
  }

  private async lockCustomer<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.customerLocks.get(id) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = before.then(() => mine);
    this.customerLocks.set(id, chained);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.customerLocks.get(id) === chained) this.customerLocks.delete(id);
    }
  }

  /** Done: the staged rows and their key are destroyed with the status change. */
  /**
   * Destroys the staged rows up to `through` whose outcome is committed: a row's personal data
   * rests in staging only until its customer is written, so an import left interrupted keeps
   * only the rows it has not reached (and an erasure meanwhile leaves none of its customer's).
   */
  private async dropWritten(merchantId: string, id: string, through: number): Promise<void> {
    await this.db.query(
      `DELETE FROM import_rows r WHERE r.import_id = $1 AND r.merchant_id = $2 AND r.row <= $3
       AND EXISTS (SELECT 1 FROM import_outcomes o
         WHERE o.import_id = r.import_id AND o.merchant_id = r.merchant_id AND o.row = r.row)`,
      [id, merchantId, through],
    );
  }

  private async finish(merchantId: string, id: string): Promise<void> {
    const now = new Date(this.clock.now()).toISOString();
    await this.db.writeAll([
      {
        sql: `UPDATE imports SET status = 'completed', error = NULL, error_code = NULL, updated_at = $3,
           finished_at = $3
         WHERE id = $1 AND merchant_id = $2`,
        params: [id, merchantId, now],
      },
      ...stagingDeletes(merchantId, id),
    ]);
    this.vault.forget(id);
  }

  /** An upload that did not complete: marked failed, its staged rows and key destroyed. */
  private async discard(merchantId: string, id: string, err: unknown, code: string): Promise<void> {
    const now = new Date(this.clock.now()).toISOString();
    await this.db.writeAll([
      {
        sql: `UPDATE imports SET status = 'failed', error = $3, error_code = $5, updated_at = $4,
           finished_at = $4 WHERE id = $1 AND merchant_id = $2`,
        params: [id, merchantId, messageOf(err), now, code],
      },
      ...stagingDeletes(merchantId, id),
    ]);
    this.vault.forget(id);
  }

  private async setStatus(
    merchantId: string,
    id: string,
    status: ImportStatus,
    error: string | null,
    code: string | null,
  ): Promise<void> {
    await this.db.query(
      `UPDATE imports SET status = $3, error = $4, error_code = $6, updated_at = $5
       WHERE id = $1 AND merchant_id = $2`,
      [id, merchantId, status, error, new Date(this.clock.now()).toISOString(), code],
    );
  }

  private async record(merchantId: string, id: string): Promise<ImportRecord | undefined> {
    const { rows } = await this.db.query<ImportRecord>(
      `SELECT id, merchant_id, actor, status, dry_run, columns, options, rows_read, rejected, error,
         error_code, created_at, finished_at FROM imports WHERE id = $1 AND merchant_id = $2`,
      [id, merchantId],
    );
    return rows[0];
  }

  private async insertIssues(merchantId: string, id: string, issues: IssueView[]): Promise<void> {
    await this.db.query(
      `INSERT INTO import_issues (import_id, merchant_id, row, level, code, reason)
       SELECT $1, $2, r, l, c, m FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[])
         AS t(r, l, c, m)
       ON CONFLICT DO NOTHING`,
      [
        id,
        merchantId,
        issues.map((i) => i.row),
        issues.map((i) => i.level),
        issues.map((i) => i.code),
        issues.map((i) => i.reason),
      ],
    );
  }

  private async insertOutcomes(
    merchantId: string,
    id: string,
    outcomes: { row: number; outcome: Outcome }[],
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO import_outcomes (import_id, merchant_id, row, outcome)
       SELECT $1, $2, r, o FROM unnest($3::bigint[], $4::text[]) AS t(r, o)
       ON CONFLICT DO NOTHING`,
      [id, merchantId, outcomes.map((o) => o.row), outcomes.map((o) => o.outcome)],
    );
  }
}

/** What a round read before its rows ran (see `prefetch`). */
interface Prefetched {
  /** Fingerprint (hex) → the active customer it was imported into. */
  fingerprints: Map<string, string>;
  /** The records the rows' ids name, as they were read. */
  named: Map<string, CustomerRecord>;
  holders(data: ImportRow): { holders: string[]; held: Held };
}

/** What a row's id resolves through: the record's status, and the survivor of a merge. */
interface CustomerRecord {
  status: CustomerStatus;
  mergedInto: string | null;
}

interface RowContext {
  merchantId: string;
  id: string;
  actor: string;
  fingerprintKey: Uint8Array;
  /**
   * The round before this one, settled: a row that lost an identifier to a row of that round
   * still being committed waits for it, then resolves again against what it wrote.
   */
  before?: Promise<unknown>;
}

/**
 * A dry run: each row resolved as the import would resolve it, against the customers there are
 * and the rows before it in the file, writing nothing but the report. The customers the earlier
 * rows would create or change are kept here as they would be, so a row that disagrees with one
 * of them is predicted as the import writes it (apart, with a suggestion), not as an update.
 */
class DryRun {
  /** Identifier (`kind:value`) → the customer earlier rows would leave holding it. */
  private readonly owners = new Map<string, string>();
  /** The customers earlier rows would create or change, as they would be after them. */
  private readonly views = new Map<string, CustomerView>();
  /** Earlier rows, canonical: the same row again is unchanged, as its fingerprint makes it. */
  private readonly rows = new Set<string>();
  private created = 0;

  constructor(
    private readonly importer: Importer,
    private readonly merchantId: string,
  ) {}

  async predict(data: ImportRow): Promise<{ outcome: Outcome; issue?: RowIssue }> {
    const canonical = canonicalJson(data as unknown as JsonValue);
    if (this.rows.has(canonical) || (await this.importer.knownRow(this.merchantId, data))) {
      return { outcome: "unchanged" };
    }
    let target: string | undefined;
    try {
      target =
        data.customerId === undefined
          ? undefined
          : await this.importer.named(this.merchantId, data.customerId);
    } catch (err) {
      if (err instanceof ApiError) return rejectedAs(err);
      throw err;
    }
    this.rows.add(canonical);
    const holders: string[] = [];
    const held = new Set<string>();
    for (const { kind, value } of identifiersOf(data)) {
      const key = `${kind}:${value}`;
      const holder = this.owners.has(key)
        ? this.owners.get(key)
        : await this.importer.holderOf(this.merchantId, kind, value);
      if (!holder) continue;
      held.add(key);
      if (!holders.includes(holder)) holders.push(holder);
    }
    if (target && holders.some((h) => h !== target)) return rejectedAs(namedConflict());
    const only = target ?? (holders.length === 1 ? holders[0] : undefined);
    if (only) {
      const view = this.views.get(only) ?? (await this.importer.customer(this.merchantId, only));
      if (!view) return this.create(data);
      if (!target && emailConflicts(view, data)) return this.apart(data, held, "email_conflict");
      const { patch } = fillPatch(view, data);
      if (Object.keys(patch).length === 0) return { outcome: "unchanged" };
      this.views.set(only, patched(view, patch));
      this.own(only, identifiersOf(data));
      return { outcome: "updated" };
    }
    if (holders.length > 1) return this.apart(data, held, "identifier_conflict");
    return this.create(data);
  }

  private create(data: ImportRow): { outcome: Outcome } {
    const id = `dry-run:${this.created++}`;
    this.views.set(id, viewOf(id, data));
    this.own(id, identifiersOf(data));
    return { outcome: "created" };
  }

  private apart(
    data: ImportRow,
    held: Set<string>,
    reason: SuggestionReason,
  ): { outcome: Outcome; issue: RowIssue } {
    this.create(withoutHeld(data, held));
    return { outcome: "created", issue: suggestionNote(reason, true) };
  }

  private own(id: string, identifiers: { kind: IdentityKind; value: string }[]): void {
    for (const { kind, value } of identifiers) {
      const key = `${kind}:${value}`;
      if (!this.owners.has(key)) this.owners.set(key, id);
    }
  }
}

type SuggestionReason = "email_conflict" | "identifier_conflict";

/** A dry run's prediction of a row the import would refuse. */
const rejectedAs = (err: ApiError): { outcome: Outcome; issue: RowIssue } => ({
  outcome: "rejected",
  issue: { level: "error", code: err.code, reason: safeReason(err) },
});

/** A row whose id names one customer while another holds one of its identifiers. */
const namedConflict = () =>
  new ApiError(
    409,
    "identity_conflict",
    "its id names one customer, and another customer holds one of its identifiers: merge them, or correct the file",
  );

/** The warning of a row created apart with a merge suggestion (`dry`: one a dry run predicts). */
function suggestionNote(reason: SuggestionReason, dry = false): RowIssue {
  const outcome = dry ? "would be created apart" : "created apart";
  return {
    level: "warning",
    code: "merge_suggested",
    reason:
      reason === "email_conflict"
        ? `its email differs from that of the customer its other identifiers match: ${outcome}, with a merge suggestion`
        : `its identifiers belong to different customers: ${outcome}, with a merge suggestion`,
  };
}

/** A customer a dry run would create from a row, as a view `fillPatch` can compare with. */
function viewOf(id: string, data: ImportRow): CustomerView {
  return {
    id,
    status: "active",
    mergedInto: null,
    name: data.name ?? null,
    emails: data.emails ?? [],
    phones: (data.phones ?? []).map((number) => ({ number, valid: true })),
    birthday: data.birthday ?? null,
    address: data.address ?? null,
    identities: data.identities ?? [],
    language: data.language ?? null,
    tags: data.tags ?? [],
    attributes: present(data.attributes),
    stage: data.stage ?? "prospect",
    country: null,
    birthMonth: null,
    ageBand: null,
    createdAt: "",
    updatedAt: "",
    head: null,
    verified: [],
  };
}

function present(
  attributes: Record<string, number | boolean | string | null> | undefined,
): Record<string, number | boolean | string> {
  return Object.fromEntries(
    Object.entries(attributes ?? {}).filter(
      (e): e is [string, number | boolean | string] => e[1] !== null,
    ),
  );
}

/** A view with a `fillPatch` patch applied, which only adds. */
function patched(view: CustomerView, patch: CustomerPatch): CustomerView {
  return {
    ...view,
    name: patch.name ?? view.name,
    emails: patch.emails ?? view.emails,
    phones: patch.phones ? patch.phones.map((number) => ({ number, valid: true })) : view.phones,
    birthday: patch.birthday ?? view.birthday,
    address: patch.address ?? view.address,
    identities: patch.identities ?? view.identities,
    language: patch.language ?? view.language,
    tags: patch.tags ?? view.tags,
    attributes: { ...view.attributes, ...present(patch.attributes) },
    stage: patch.stage ?? view.stage,
  };
}

/** Every identifier of a row, by priority: emails, phones, then channel identities. */
function identifiersOf(data: ImportRow): { kind: IdentityKind; value: string }[] {
  return [
    ...(data.emails ?? []).map((value) => ({ kind: "email" as const, value })),
    ...(data.phones ?? []).map((value) => ({ kind: "phone" as const, value })),
    ...(data.identities ?? []).map((i) => ({ kind: i.type as IdentityKind, value: i.value })),
  ];
}

/** Rows that share an identifier (or are the same row), in one group each, in file order. */
/** What ties rows together: the row itself (a name alone, twice, is one person) and each identifier. */
function keysOf(r: { data: ImportRow; fingerprint: Uint8Array }): string[] {
  return [
    `row:${toHex(r.fingerprint)}`,
    ...(r.data.customerId ? [`id:${r.data.customerId}`] : []),
    ...identifiersOf(r.data).map(({ kind, value }) => `${kind}:${value}`),
  ];
}

function groupByIdentifier<T extends { row: number; data: ImportRow; fingerprint: Uint8Array }>(
  rows: T[],
): T[][] {
  const parent = rows.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i] as number] as number;
      i = parent[i] as number;
    }
    return i;
  };
  const owner = new Map<string, number>();
  rows.forEach((r, i) => {
    for (const k of keysOf(r)) {
      const j = owner.get(k);
      if (j === undefined) owner.set(k, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, T[]>();
  rows.forEach((r, i) => {
    const g = find(i);
    const list = groups.get(g) ?? [];
    list.push(r);
    groups.set(g, list);
  });
  return [...groups.values()];
}

/**
 * The row's email is not the customer's, who has one already, and nothing else the row says
 * points elsewhere: a second person sharing a phone (a household, a shop's counter) more often
 * than a second address of one person.
 */
function emailConflicts(view: CustomerView, data: ImportRow): boolean {
  const emails = data.emails ?? [];
  return (
    emails.length > 0 && view.emails.length > 0 && !emails.some((e) => view.emails.includes(e))
  );
}

/** What the row adds to a customer: missing identifiers and fields; nothing is overwritten. */
function fillPatch(
  view: CustomerView,
  data: ImportRow,
): { patch: CustomerPatch; notes: RowIssue[] } {
  const patch: CustomerPatch = {};
  const notes: RowIssue[] = [];
  const add = (kind: IdentityKind, have: string[], extra: string[]) => {
    const added = extra.filter((v) => !have.includes(v));
    if (added.length === 0) return undefined;
    const room = IDENTITY_LIMIT[kind] - have.length;
    if (added.length > room) {
      notes.push({
        level: "warning",
        code: "too_many_identities",
        reason: `the customer would hold more than ${IDENTITY_LIMIT[kind]} ${kind} identities: ${added.length - Math.max(room, 0)} not added`,
      });
    }
    const kept = added.slice(0, Math.max(room, 0));
    return kept.length > 0 ? [...have, ...kept] : undefined;
  };
  const emails = add("email", view.emails, data.emails ?? []);
  if (emails) patch.emails = emails;
  const phones = add(
    "phone",
    view.phones.map((p) => p.number),
    data.phones ?? [],
  );
  if (phones) patch.phones = phones;
  let identitiesChanged = false;
  const identities = [...view.identities];
  for (const kind of CHANNEL_KINDS) {
    const have = view.identities.filter((i) => i.type === kind).map((i) => i.value);
    const more = add(
      kind,
      have,
      (data.identities ?? []).filter((i) => i.type === kind).map((i) => i.value),
    );
    if (more) {
      identitiesChanged = true;
      for (const value of more.slice(have.length)) identities.push({ type: kind, value });
    }
  }
  if (identitiesChanged) patch.identities = identities;
  if (view.name === null && data.name !== undefined) patch.name = data.name;
  if (view.birthday === null && data.birthday !== undefined) patch.birthday = data.birthday;
  if (view.address === null && data.address !== undefined) patch.address = data.address;
  if (view.language === null && data.language !== undefined) patch.language = data.language;
  if (view.stage === "prospect" && data.stage !== undefined && data.stage !== "prospect") {
    patch.stage = data.stage;
  }
  const tags = (data.tags ?? []).filter((t) => !view.tags.includes(t));
  if (tags.length > 0) patch.tags = [...view.tags, ...tags];
  const attributes = Object.fromEntries(
    Object.entries(data.attributes ?? {}).filter(([k]) => !(k in view.attributes)),
  );
  if (Object.keys(attributes).length > 0) patch.attributes = attributes;
  return { patch, notes };
}

/** The row without the identifiers other customers hold (the new customer cannot take them). */
/** Identifier (`kind:value`) of a row → the active customer holding it. */
type Held = Map<string, string>;

/**
 * Why a row's record and one customer it met were paired, in identifier kinds only: the kinds
 * of the row's identifiers that customer holds, and the kinds both have with no value in
 * common (an identifier has one holder, so a row's value held elsewhere or by nobody is not
 * one of that customer's).
 */
function pairing(
  data: ImportRow,
  held: Held,
  other: string,
  otherKinds: readonly string[],
): { shared: IdentityKind[]; differing: IdentityKind[] } {
  const ids = identifiersOf(data);
  const kinds = [...new Set(ids.map((i) => i.kind))];
  const shared = kinds.filter((k) =>
    ids.some((i) => i.kind === k && held.get(`${i.kind}:${i.value}`) === other),
  );
  return {
    shared,
    differing: kinds.filter((k) => !shared.includes(k) && otherKinds.includes(k)),
  };
}

function withoutHeld(data: ImportRow, held: ReadonlySet<string> | Held): ImportRow {
  const keep = (kind: string, v: string) => !held.has(`${kind}:${v}`);
  const emails = (data.emails ?? []).filter((v) => keep("email", v));
  const phones = (data.phones ?? []).filter((v) => keep("phone", v));
  const identities = (data.identities ?? []).filter((i) => keep(i.type, i.value));
  const { emails: _e, phones: _p, identities: _i, ...rest } = data;
  return {
    ...rest,
    ...(emails.length > 0 ? { emails } : {}),
    ...(phones.length > 0 ? { phones } : {}),
    ...(identities.length > 0 ? { identities } : {}),
  };
}

function customerOf(entries: CommittedEntry[]): string {
  const p = entries[0]?.entry.payload as { customerId?: string } | undefined;
  if (!p?.customerId) throw new Error("a profile entry without its customer");
  return p.customerId;
}

const stagingDeletes = (merchantId: string, id: string): Statement[] => [
  {
    sql: "DELETE FROM import_rows WHERE import_id = $1 AND merchant_id = $2",
    params: [id, merchantId],
  },
  {
    sql: "DELETE FROM vault_data_keys WHERE customer_id = $1 AND merchant_id = $2",
    params: [id, merchantId],
  },
];

/** The file line a record starts on: the line after the last one read, past blank lines. */
function lineOf(raw: string, lastLine: number): number {
  const blank = /^(?:\r?\n)*/.exec(raw)?.[0] ?? "";
  return lastLine + 1 + (blank.match(/\n/g)?.length ?? 0);
}

/** The line of the quote that never closed, in a record starting on `line`. */
function quoteLine(raw: string, line: number): number {
  const text = raw.replace(/^(?:\r?\n)*/, "");
  let quoted = false;
  let opened = -1;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else quoted = false;
      }
    } else if (c === '"' && fieldStart) {
      quoted = true;
      opened = i;
    }
    fieldStart = !quoted && (c === "," || c === ";" || c === "\t" || c === "|" || c === "\n");
  }
  if (opened < 0) return line;
  return line + (text.slice(0, opened).match(/\n/g)?.length ?? 0);
}

function csvCode(code: string): string {
  switch (code) {
    case "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH":
    case "CSV_RECORD_INCONSISTENT_COLUMNS":
      return "wrong_field_count";
    case "CSV_QUOTE_NOT_CLOSED":
      return "unclosed_quote";
    case "CSV_MAX_RECORD_SIZE":
      return "row_too_long";
    default:
      return "malformed_row";
  }
}

/** Passes the bytes on as they are, or fails with 400 invalid_utf8 at the first that are not UTF-8. */
function utf8Check(): Transform {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const notUtf8 = () =>
    new ApiError(
      400,
      "invalid_utf8",
      "the file is not UTF-8 text: save it as CSV UTF-8 (a spreadsheet's Latin-1 or Windows-1252 export is not)",
    );
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        // `stream`: a character cut in two between chunks is whole in the next.
        decoder.decode(chunk, { stream: true });
        done(null, chunk);
      } catch {
        done(notUtf8());
      }
    },
    flush(done) {
      try {
        decoder.decode();
        done();
      } catch {
        done(notUtf8());
      }
    },
  });
}

/** A parse error in words, without the values csv-parse's own messages quote. */
function describeCsvError(
  err: CsvError,
  line: number,
  expected: number | undefined,
  got?: number,
): string {
  switch (err.code) {
    case "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH":
    case "CSV_RECORD_INCONSISTENT_COLUMNS":
      return `wrong number of fields: ${got ?? "a different number"} instead of ${expected} (line ${line})`;
    case "CSV_QUOTE_NOT_CLOSED":
      return `a quote opened on line ${line} never closes (the rest of the file is inside it)`;
    case "INVALID_OPENING_QUOTE":
      return `a quote in the middle of an unquoted field (line ${line}); quote the whole field`;
    case "CSV_INVALID_CLOSING_QUOTE":
    case "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE":
      return `characters after a closing quote (line ${line})`;
    case "CSV_MAX_RECORD_SIZE":
      return `the row is longer than ${MAX_ROW_BYTES / 1024} KiB (line ${line}); is a quote left open?`;
    default:
      return `malformed CSV (${err.code}, line ${line})`;
  }
}

/** An error's reason, without personal values (the API's messages for values quote them). */
function safeReason(err: ApiError): string {
  if (/^invalid_(phone|email|identity)$/.test(err.code)) return `${err.code.replace("_", " ")}`;
  return err.message;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

const notFound = (id: string) => new ApiError(404, "not_found", `import ${id} not found`);

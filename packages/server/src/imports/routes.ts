import { Readable } from "node:stream";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { isCountryCode } from "../customers/countries.js";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Limit } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import { type DataUse, PROFILE, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import { parseMap } from "./columns.js";
import { attributeKeys, csvHeader, csvLine, csvRow, exportPages } from "./export.js";
import type { Importer } from "./importer.js";

const ImportId = IdOf("imp", "an import");

const ImportView = z.object({
  id: z.string(),
  kind: z.literal("customers"),
  status: z
    .enum(["uploading", "running", "interrupted", "completed", "failed"])
    .describe("interrupted: stopped by an error, resume it; failed: the upload did not complete"),
  dryRun: z.boolean(),
  columns: z.array(
    z.object({
      header: z.string(),
      field: z.string().nullable().describe("null: the column is not imported"),
    }),
  ),
  rowsRead: z.number().describe("data rows in the file (the header excluded)"),
  processed: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  rejected: z.number(),
  skipped: z.number().describe("rows without any value"),
  warnings: z.number(),
  suggestions: z.number().describe("merge suggestions made (or, in a dry run, that would be)"),
  error: z.string().nullable().describe("why it failed or stopped, in the node's English"),
  errorCode: z
    .string()
    .nullable()
    .describe(
      "the same as a code: upload_failed, node_stopped, processing_failed, or the code of the file's refusal (invalid_utf8, …)",
    ),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

const Flag = z.enum(["true", "false"]).optional();

// Imports have no position of their own (the other lists page by a ledger index): their
// cursor names the last import of the page, opaque as the others are.
const encodeImportCursor = (id: string) => Buffer.from(`i1:${id}`).toString("base64url");

const invalidCursor = () =>
  new ApiError(400, "invalid_cursor", "cursor is not one this API gave out (use `next`)");

function decodeImportCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,100}$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf8")
    : "";
  const m = /^i1:(imp_[A-Za-z0-9_-]{1,64})$/.exec(text);
  if (!m?.[1]) throw invalidCursor();
  return m[1];
}

/** How long an upload may send nothing before it is cut off (it has no overall deadline). */
const UPLOAD_IDLE_MS = 60_000;

export function importRoutes(
  app: App,
  deps: {
    importer: Importer;
    customers: Customers;
    db: Queryable;
    dataUse: DataUse;
    clock: Clock;
  },
) {
  const { importer } = deps;
  const tags = ["imports"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read imports");
  const write = requireRole(can.write, "import customers");
  const params = z.strictObject({ id: ImportId });

  // The CSV is read as a stream by the import itself: no body limit, and only on this route.
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser("text/csv", (_req, payload, done) => done(null, payload));
    scope.post(
      "/v1/imports/customers",
      {
        config: { ownBody: true },
        onRequest: [
          write,
          async (req, reply) => {
            // Node's request deadline is for a whole request; an upload of a million rows takes
            // longer, so this one is cut off only when it stalls. The connection is not reused.
            const socket = req.raw.socket as typeof req.raw.socket & {
              parser?: { remove?: () => void };
            };
            socket.parser?.remove?.();
            if (typeof socket.setTimeout === "function") {
              socket.setTimeout(UPLOAD_IDLE_MS, () => socket.destroy());
            }
            reply.header("connection", "close");
          },
        ],
        schema: {
          tags,
          security,
          summary: "Import customers from a CSV file sent as the body (Content-Type: text/csv)",
          description:
            "The body streams (no size limit). Columns map themselves by header name (name, email, phone, birthday, language, tags, stage, address fields, channel identities such as wechat or loyalty card, attributes.<key>), or by `map`. An `id` column, as an export writes it, makes a row the merchant's customer of that id (a merged record's survivor; an erased customer's row is rejected, `customer_erased`, as is one whose identifiers another customer holds, `identity_conflict`); an id no customer of the merchant has is ignored. A bad row is rejected with its number (counted from 1 after the header) and reason; the rest go in. Answers 202 while the rows are written (follow GET /v1/imports/{id}), 200 for a dry run or with wait=true.",
          querystring: z.strictObject({
            dryRun: Flag.describe("true: check and resolve every row, write nothing"),
            wait: Flag.describe("true: answer once every row is written"),
            map: z
              .string()
              .max(4000)
              .optional()
              .describe('JSON object header → field (or null to skip): {"Mobile":"phone"}'),
            delimiter: z.enum([",", ";", "tab", "|"]).optional().describe("default ,"),
            // Checked by the handler, so that any country that is none is one code.
            country: z
              .string()
              .max(100)
              .optional()
              .describe(
                "the country of phone numbers written without +: ISO 3166-1 alpha-2, upper case, such as FR (400 invalid_country otherwise)",
              ),
          }),
          response: { 200: ImportView, 202: ImportView, ...errorResponses },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        if (!(req.body instanceof Readable)) {
          throw new ApiError(415, "unsupported_media_type", "send the file as text/csv");
        }
        const charset = /charset=([^;\s]+)/i.exec(req.headers["content-type"] ?? "")?.[1];
        if (charset && !/^"?utf-?8"?$/i.test(charset)) {
          throw new ApiError(415, "unsupported_charset", "send the CSV in UTF-8");
        }
        const q = req.query;
        // The same list as an address's country: two capitals such as ZZ would only make every
        // number written without + a rejected row.
        if (
          q.country !== undefined &&
          !(/^[A-Z]{2}$/.test(q.country) && isCountryCode(q.country))
        ) {
          throw new ApiError(
            400,
            "invalid_country",
            "country must be an ISO 3166-1 alpha-2 code in capitals, such as FR, that names a country",
          );
        }
        const dryRun = q.dryRun === "true";
        const view = await importer.upload(p.merchantId, actorOf(p), req.body, {
          dryRun,
          map: parseMap(q.map),
          delimiter: q.delimiter === "tab" ? "\t" : (q.delimiter ?? ","),
          ...(q.country ? { country: q.country } : {}),
        });
        // Read to its end: the idle cut-off was for the upload, not for `wait=true`'s writing.
        const socket = req.raw.socket;
        if (typeof socket.setTimeout === "function") socket.setTimeout(0);
        if (dryRun) return reply.code(200).send(view);
        if (q.wait === "true") {
          await importer.process(p.merchantId, view.id);
          return reply.code(200).send((await importer.view(p.merchantId, view.id)) ?? view);
        }
        importer.process(p.merchantId, view.id).catch((err) => req.log.error(err));
        return reply.code(202).send(view);
      },
    );
  });

  app.get(
    "/v1/imports",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The merchant's imports, newest first",
        querystring: z.strictObject({
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(100, 20),
        }),
        response: {
          200: z.object({ imports: z.array(ImportView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await importer.list(principalOf(req).merchantId, {
        after: q.cursor === undefined ? undefined : decodeImportCursor(q.cursor),
        limit: q.limit,
      });
      // A well-formed cursor naming no import of this merchant's was not given to them.
      if (!page) throw invalidCursor();
      return {
        imports: page.imports,
        next: page.next === null ? null : encodeImportCursor(page.next),
      };
    },
  );

  app.get(
    "/v1/imports/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "An import's progress: rows read, created, updated, unchanged, rejected",
        params,
        response: { 200: ImportView, ...errorResponses },
      },
    },
    async (req) => {
      const v = await importer.view(principalOf(req).merchantId, req.params.id);
      if (!v) throw new ApiError(404, "not_found", `import ${req.params.id} not found`);
      return v;
    },
  );

  app.get(
    "/v1/imports/:id/errors",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "An import's rejected rows with their reasons (and warnings, if asked), by row",
        params,
        querystring: z.strictObject({
          warnings: Flag.describe("true: warnings too (values left out, merge suggestions)"),
          after: z
            .string()
            .regex(/^(0|[1-9][0-9]{0,14})$/, "must be a row number")
            .optional()
            .describe("`next` of the previous page"),
          limit: Limit(1000, 100),
        }),
        response: {
          200: z.object({
            errors: z.array(
              z.object({
                row: z.number().describe("counted from 1 after the header"),
                line: z.number().nullable().describe("the file line, when the reason names one"),
                level: z.enum(["error", "warning"]),
                code: z.string(),
                reason: z.string(),
              }),
            ),
            next: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const page = await importer.issues(principalOf(req).merchantId, req.params.id, {
        warnings: req.query.warnings === "true",
        after: Number(req.query.after ?? 0),
        limit: req.query.limit,
      });
      return { errors: page.items, next: page.next };
    },
  );

  app.post(
    "/v1/imports/:id/resume",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Resume an interrupted import from its last committed row",
        params,
        response: { 202: ImportView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const view = await importer.resume(principalOf(req).merchantId, req.params.id);
      return reply.code(202).send(view);
    },
  );

  const SuggestionParams = z.strictObject({ id: IdOf("ms", "a merge suggestion") });
  /** A suggestion of the merchant's, or a 404 (another merchant's is not found either). */
  const suggestionStatus = async (merchantId: string, id: string) => {
    const { rows } = await deps.db.query<{ status: string }>(
      "SELECT status FROM merge_suggestions WHERE id = $1 AND merchant_id = $2",
      [id, merchantId],
    );
    const status = rows[0]?.status;
    if (!status) throw new ApiError(404, "not_found", `merge suggestion ${id} not found`);
    return status;
  };

  app.post(
    "/v1/merge-suggestions/:id/dismiss",
    {
      onRequest: write,
      schema: {
        tags: ["customers"],
        security,
        summary: "Dismiss a suggestion: the two are different people (merging one settles it too)",
        params: SuggestionParams,
        response: {
          200: z.object({ id: z.string(), status: z.literal("dismissed") }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const status = await suggestionStatus(p.merchantId, req.params.id);
      // Only an open one, in one statement: two dismissals cannot both succeed.
      const { rows: done } = await deps.db.query(
        `UPDATE merge_suggestions SET status = 'dismissed', dismissed_by = $3, dismissed_at = $4
         WHERE id = $1 AND merchant_id = $2 AND status = 'open' RETURNING id`,
        [req.params.id, p.merchantId, actorOf(p), new Date(deps.clock.now()).toISOString()],
      );
      if (done.length === 0) {
        throw new ApiError(409, "suggestion_closed", `this suggestion is already ${status}`);
      }
      return { id: req.params.id, status: "dismissed" as const };
    },
  );

  app.post(
    "/v1/merge-suggestions/:id/reopen",
    {
      onRequest: write,
      schema: {
        tags: ["customers"],
        security,
        summary: "Reopen a dismissed suggestion (dismissed by mistake): it is open again",
        params: SuggestionParams,
        response: {
          200: z.object({ id: z.string(), status: z.literal("open") }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const merchantId = principalOf(req).merchantId;
      const status = await suggestionStatus(merchantId, req.params.id);
      // Only a dismissed one: a merged pair is undone by unmerging, not here.
      const { rows: done } = await deps.db.query(
        `UPDATE merge_suggestions SET status = 'open', dismissed_by = NULL, dismissed_at = NULL
         WHERE id = $1 AND merchant_id = $2 AND status = 'dismissed' RETURNING id`,
        [req.params.id, merchantId],
      );
      if (done.length === 0) {
        throw new ApiError(
          409,
          "suggestion_not_dismissed",
          status === "merged"
            ? "this suggestion was settled by a merge: unmerge the customers instead"
            : `this suggestion is ${status}, not dismissed`,
        );
      }
      return { id: req.params.id, status: "open" as const };
    },
  );

  app.get(
    "/v1/merge-suggestions",
    {
      onRequest: read,
      schema: {
        tags: ["customers"],
        security,
        summary: "Pairs of customers that may be one person, for staff to merge or dismiss",
        querystring: z.strictObject({
          status: z
            .enum(["open", "dismissed", "all"])
            .optional()
            .describe("default open; dismissed: the ones staff settled as two people"),
          limit: Limit(500, 100),
        }),
        response: {
          200: z.object({ suggestions: z.array(Suggestion) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { rows } = await deps.db.query<SuggestionRow>(
        `SELECT ${SUGGESTION_COLUMNS} FROM merge_suggestions
         WHERE merchant_id = $1 ${req.query.status === "all" ? "" : req.query.status === "dismissed" ? "AND status = 'dismissed'" : "AND status = 'open'"}
         ORDER BY created_at DESC, id LIMIT $2`,
        [principalOf(req).merchantId, req.query.limit],
      );
      return { suggestions: rows.map(suggestionView) };
    },
  );

  // One suggestion, whatever its status: a page about one pair reads it alone, not out of a
  // list that holds only the newest.
  app.get(
    "/v1/merge-suggestions/:id",
    {
      onRequest: read,
      schema: {
        tags: ["customers"],
        security,
        summary: "One merge suggestion, open, dismissed or merged",
        params: SuggestionParams,
        response: { 200: Suggestion, ...errorResponses },
      },
    },
    async (req) => {
      const { rows } = await deps.db.query<SuggestionRow>(
        `SELECT ${SUGGESTION_COLUMNS} FROM merge_suggestions WHERE id = $1 AND merchant_id = $2`,
        [req.params.id, principalOf(req).merchantId],
      );
      const row = rows[0];
      if (!row) throw new ApiError(404, "not_found", `merge suggestion ${req.params.id} not found`);
      return suggestionView(row);
    },
  );

  app.get(
    "/v1/customers/export",
    {
      // Every customer's personal data at once: for the roles that work with it, as segment
      // exports are.
      onRequest: requireRole(can.write, "export customers"),
      schema: {
        tags: ["customers"],
        security,
        summary: "Every active customer, streamed as CSV (the import's columns) or JSON",
        querystring: z.strictObject({ format: z.enum(["csv", "json"]).optional() }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        response: { ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const format = req.query.format ?? "csv";
      const use = await deps.dataUse.use(req);
      const pages = exportPages(deps.db, deps.customers, p.merchantId, (ids) =>
        deps.dataUse.record(req, use, ids, PROFILE, "export"),
      );
      const date = new Date().toISOString().slice(0, 10);
      reply
        .header("cache-control", "no-store")
        .header("content-disposition", `attachment; filename="customers-${date}.${format}"`);
      if (format === "json") {
        reply.type("application/json; charset=utf-8");
        // A stream is sent as it is: no response schema applies to it.
        return reply.send(Readable.from(jsonStream(pages)) as never);
      }
      const attributes = await attributeKeys(deps.db, p.merchantId);
      reply.type("text/csv; charset=utf-8");
      return reply.send(Readable.from(csvStream(pages, attributes)) as never);
    },
  );
}

async function* csvStream(
  pages: AsyncGenerator<import("../customers/customers.js").CustomerView[]>,
  attributes: string[],
): AsyncGenerator<string> {
  yield csvLine(csvHeader(attributes));
  for await (const page of pages) {
    yield page.map((c) => csvLine(csvRow(c, attributes))).join("");
  }
}

async function* jsonStream(
  pages: AsyncGenerator<import("../customers/customers.js").CustomerView[]>,
): AsyncGenerator<string> {
  yield '{"customers":[';
  let first = true;
  for await (const page of pages) {
    for (const c of page) {
      yield `${first ? "\n" : ",\n"}${JSON.stringify(c)}`;
      first = false;
    }
  }
  yield "\n]}\n";
}

const Suggestion = z.object({
  id: z.string(),
  customerId: z.string().describe("the customer created apart"),
  otherId: z.string().describe("the customer it may be"),
  reason: z.enum(["identifier_conflict", "email_conflict"]),
  identifiers: z
    .object({
      shared: z
        .array(z.string())
        .describe("kinds of identifier the row shared with the other customer"),
      differing: z.array(z.string()).describe("kinds both have, with no value in common"),
    })
    .nullable()
    .describe(
      "why the two were paired, in identifier kinds only (email, phone, card…); null on a suggestion made before 2026-12-07",
    ),
  source: z.string().describe("where it came from: import:<id>"),
  status: z.enum(["open", "dismissed", "merged"]),
  createdAt: z.string(),
  dismissedBy: z.string().nullable().describe("the actor who dismissed it"),
  dismissedAt: z.string().nullable(),
});

const SUGGESTION_COLUMNS = `id, customer_id, other_id, reason, source, status, created_at,
  dismissed_by, dismissed_at, shared_kinds, differing_kinds`;

interface SuggestionRow {
  id: string;
  customer_id: string;
  other_id: string;
  reason: "identifier_conflict" | "email_conflict";
  source: string;
  status: "open" | "dismissed" | "merged";
  created_at: string | Date;
  dismissed_by: string | null;
  dismissed_at: string | Date | null;
  shared_kinds: unknown;
  differing_kinds: unknown;
}

function suggestionView(r: SuggestionRow): z.infer<typeof Suggestion> {
  return {
    id: r.id,
    customerId: r.customer_id,
    otherId: r.other_id,
    reason: r.reason,
    identifiers: Array.isArray(r.shared_kinds)
      ? {
          shared: r.shared_kinds.map(String),
          differing: Array.isArray(r.differing_kinds) ? r.differing_kinds.map(String) : [],
        }
      : null,
    source: r.source,
    status: r.status,
    createdAt: new Date(r.created_at).toISOString(),
    dismissedBy: r.dismissed_by,
    dismissedAt: r.dismissed_at === null ? null : new Date(r.dismissed_at).toISOString(),
  };
}

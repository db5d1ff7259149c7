import { z } from "zod";
import { type App, principalOf, requireRole } from "../http/app.js";
import { decodeCursor, encodeCursor } from "../http/cursor.js";
import { errorResponses, IdOf, Limit } from "../http/schemas.js";
import { type DataUse, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import type { Notes } from "./notes.js";

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "must be 1 to 200 printable ASCII characters without spaces")
  .optional()
  .describe("a retry with the same key and body returns the first answer (200) and writes nothing");

// Bidirectional overrides and isolates reorder what a reader sees (Trojan Source); other
// control characters than line breaks and tabs hide text in logs and screens.
const NoteText = z
  .string()
  .max(10_000)
  .refine((s) => s.trim() !== "", "must not be empty")
  .refine((s) => !/[^\P{Cc}\n\r\t]/u.test(s), "must not contain control characters")
  .refine(
    (s) => !/[\u202a-\u202e\u2066-\u2069]/.test(s),
    "must not contain bidirectional controls (U+202A-202E, U+2066-2069)",
  )
  .describe("kept in the vault under the customer's key; the entry holds its commitment");

const NoteView = z.object({
  id: z.string(),
  customerId: z.string(),
  text: z.string().nullable().describe("null once the customer was erased"),
  author: z.string().describe("the ledger actor that wrote it"),
  createdAt: z.string(),
  entryIndex: z.number(),
});

/** Staff notes on a customer: staff, admins and owners write, every role reads. */
export function noteRoutes(app: App, deps: { notes: Notes; dataUse: DataUse }) {
  const { notes, dataUse } = deps;
  const tags = ["customers"];
  const security = [{ apiKey: [] }];
  const customer = z.strictObject({ id: IdOf("c", "a customer") });

  app.post(
    "/v1/customers/:id/notes",
    {
      onRequest: requireRole(can.write, "write notes"),
      schema: {
        tags,
        security,
        summary: "Add a note about a customer: its text to the vault, its commitment to the ledger",
        params: customer,
        headers: z.object({ "idempotency-key": IdempotencyKey }),
        body: z.strictObject({ text: NoteText }),
        response: { 200: NoteView, 201: NoteView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const { note, replayed } = await notes.add(
        p.merchantId,
        req.params.id,
        actorOf(p),
        req.body.text,
        req.headers["idempotency-key"],
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      reply.code(replayed ? 200 : 201);
      return note;
    },
  );

  app.get(
    "/v1/customers/:id/notes",
    {
      onRequest: requireRole(can.read, "read notes"),
      schema: {
        tags,
        security,
        summary: "A customer's notes, newest first (deleted ones are gone)",
        params: customer,
        headers: z.object({ "patron-purpose": PurposeHeader }),
        querystring: z.strictObject({
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(100, 25),
        }),
        response: {
          200: z.object({ notes: z.array(NoteView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const page = await notes.list(p.merchantId, req.params.id, {
        before: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
        limit: req.query.limit,
      });
      if (page.notes.some((n) => n.text !== null)) {
        await dataUse.record(req, use, [req.params.id], ["notes"], "notes");
      }
      return { notes: page.notes, next: page.next === null ? null : encodeCursor(page.next) };
    },
  );

  app.delete(
    "/v1/customers/:id/notes/:noteId",
    {
      onRequest: requireRole(can.write, "delete notes"),
      schema: {
        tags,
        security,
        summary: "Delete a note: an entry says so, and the vault drops its text",
        params: z.strictObject({ id: IdOf("c", "a customer"), noteId: IdOf("n", "a note") }),
        response: {
          200: z.object({ id: z.string(), deletedAt: z.string(), entryIndex: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const r = await notes.remove(p.merchantId, req.params.id, req.params.noteId, actorOf(p));
      return { id: r.id, deletedAt: r.time, entryIndex: Number(r.index) };
    },
  );
}

import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { decodeCursor, encodeCursor } from "../http/cursor.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import { type DataUse, PROFILE, PurposeHeader } from "../privacy/index.js";
import { segmentFilter } from "../segments/segments.js";
import { actorOf, can } from "../tenancy/roles.js";
import type { Vault } from "../vault/vault.js";
import type { Customers } from "./customers.js";
import { InteractionInput, type Interactions, MAX_INTERACTION_BATCH } from "./interactions.js";
import { CHANNEL_KINDS, CustomerInput, CustomerPatch, STAGES } from "./profile.js";
import { timeline } from "./timeline.js";

const CustomerId = IdOf("c", "a customer");

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "must be 1 to 200 printable ASCII characters without spaces")
  .optional()
  .describe("a retry with the same key and body returns the first answer (200) and writes nothing");

/** A customer as the API shows it (also segment members). */
export const CustomerView = z.object({
  id: z.string(),
  status: z
    .enum(["active", "erased", "merged"])
    .describe("merged: absorbed by `mergedInto` until unmerged"),
  mergedInto: z.string().nullable(),
  name: z.string().nullable(),
  emails: z.array(z.string()),
  phones: z.array(
    z.object({
      number: z.string().describe("E.164"),
      valid: z.boolean().describe("false: a possible number, but not in an assigned range"),
    }),
  ),
  birthday: z.string().nullable(),
  address: z.record(z.string(), z.string()).nullable(),
  identities: z.array(z.object({ type: z.enum(CHANNEL_KINDS), value: z.string() })),
  language: z.string().nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])),
  stage: z.enum(STAGES),
  country: z.string().nullable(),
  birthMonth: z.number().nullable(),
  ageBand: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  head: z
    .number()
    .nullable()
    .describe("index of the customer's latest entry: walk `subjects[].prev` from it (their chain)"),
  verified: z
    .array(z.object({ type: z.enum(["email", "phone"]), value: z.string() }))
    .describe("the emails and phones the customer proved control of, by a link or a code"),
});

export function customerRoutes(
  app: App,
  deps: {
    customers: Customers;
    interactions: Interactions;
    vault: Vault;
    db: Queryable;
    dataUse: DataUse;
  },
) {
  const { customers, interactions, dataUse } = deps;
  /** Routes that reveal personal data document the purpose header (decision 11). */
  const purposeHeaders = z.object({ "patron-purpose": PurposeHeader });
  const tags = ["customers"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read customers");
  const write = requireRole(can.write, "change customers");
  const params = z.strictObject({ id: CustomerId });

  app.post(
    "/v1/customers",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Create a customer: personal fields go to the vault, the entry holds commitments",
        headers: z.object({ "idempotency-key": IdempotencyKey, "patron-purpose": PurposeHeader }),
        body: CustomerInput,
        response: { 200: CustomerView, 201: CustomerView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      // A record nobody can find again (no name to search, no identifier to look up) is a
      // mistake, as an import row of nothing is; the console's form asks for one too.
      const named =
        b.name !== undefined ||
        b.email !== undefined ||
        b.phone !== undefined ||
        (b.emails?.length ?? 0) > 0 ||
        (b.phones?.length ?? 0) > 0 ||
        (b.identities?.length ?? 0) > 0;
      if (!named) {
        throw new ApiError(
          400,
          "no_identifier",
          "a customer needs a name, an email, a phone or a channel identity",
        );
      }
      const use = await dataUse.use(req);
      const { id, replayed } = await customers.create(
        p.merchantId,
        actorOf(p),
        req.body,
        req.headers["idempotency-key"],
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      reply.code(replayed ? 200 : 201);
      const view = (await customers.get(p.merchantId, id)) as z.infer<typeof CustomerView>;
      await dataUse.record(req, use, [id], PROFILE, "create");
      return view;
    },
  );

  app.get(
    "/v1/customers",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "List and search customers, newest first",
        headers: purposeHeaders,
        querystring: z.strictObject({
          query: Label(200)
            .optional()
            .describe(
              "an email or phone finds its holder; other text matches names by whole tokens, case- and accent-insensitive (a Chinese name by the whole name, its surname or given name)",
            ),
          tag: z.string().max(40).optional(),
          stage: z.enum(STAGES).optional(),
          segment: IdOf("s", "a segment").optional().describe("only the segment's members"),
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(100, 25),
        }),
        response: {
          200: z.object({ customers: z.array(CustomerView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const use = await dataUse.use(req);
      const page = await customers.list(p.merchantId, {
        query: q.query,
        tag: q.tag,
        stage: q.stage,
        where:
          q.segment === undefined
            ? undefined
            : await segmentFilter(deps.db, p.merchantId, q.segment),
        before: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
        limit: q.limit,
      });
      await dataUse.record(
        req,
        use,
        page.customers.filter((c) => c.status === "active").map((c) => c.id),
        PROFILE,
        q.query === undefined ? "list" : "search",
      );
      return {
        customers: page.customers,
        next: page.next === null ? null : encodeCursor(page.next),
      };
    },
  );

  app.get(
    "/v1/customers/lookup",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The customer holding an exact email, phone or channel identity",
        headers: purposeHeaders,
        querystring: z.strictObject({
          email: z.string().max(254).optional(),
          phone: z.string().max(40).optional(),
          identity: z
            .string()
            .max(220)
            .optional()
            .describe(`<type>:<value>, type one of ${CHANNEL_KINDS.join(", ")}`),
        }),
        response: { 200: CustomerView, ...errorResponses },
      },
    },
    async (req) => {
      const use = await dataUse.use(req);
      const found = await customers.lookup(principalOf(req).merchantId, req.query);
      if (!found) throw new ApiError(404, "not_found", "no customer holds this identifier");
      await dataUse.record(req, use, [found.id], PROFILE, "lookup");
      return found;
    },
  );

  app.get(
    "/v1/customers/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A customer's profile and the head of their chain",
        params,
        headers: purposeHeaders,
        response: { 200: CustomerView, ...errorResponses },
      },
    },
    async (req) => {
      const use = await dataUse.use(req);
      const c = await customers.get(principalOf(req).merchantId, req.params.id);
      if (!c) throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      if (c.status === "active") await dataUse.record(req, use, [c.id], PROFILE, "read");
      return c;
    },
  );

  app.patch(
    "/v1/customers/:id",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Change a customer's profile: one entry naming the changed fields",
        params,
        headers: purposeHeaders,
        body: CustomerPatch,
        response: { 200: CustomerView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      await customers.update(p.merchantId, req.params.id, actorOf(p), req.body);
      const view = (await customers.get(p.merchantId, req.params.id)) as z.infer<
        typeof CustomerView
      >;
      await dataUse.record(req, use, [view.id], PROFILE, "update");
      return view;
    },
  );

  app.post(
    "/v1/customers/:id/erase",
    {
      onRequest: requireRole(can.manageKeys, "erase customers"),
      schema: {
        tags,
        security,
        summary:
          "Erase a customer on request: crypto-shreds their data key and indexes; every proof still verifies",
        params,
        response: {
          200: z.object({ id: z.string(), erasedAt: z.string(), entryIndex: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const r = await customers.erase(p.merchantId, req.params.id, actorOf(p), "request");
      return { id: r.id, erasedAt: r.time, entryIndex: Number(r.index) };
    },
  );

  app.get(
    "/v1/customers/:id/timeline",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "Everything recorded about a customer, newest first: their chain through the log",
        params,
        headers: purposeHeaders,
        querystring: z.strictObject({
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                index: z.number(),
                type: z.string(),
                time: z.string(),
                actor: z.string(),
                payload: z.unknown(),
                text: z
                  .object({ summary: z.string().nullable(), content: z.string().nullable() })
                  .nullable()
                  .optional(),
                note: z.string().nullable().optional().describe("a note's text (note.added)"),
              }),
            ),
            next: z.string().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const [status, merged] = await Promise.all([
        customers.status(p.merchantId, req.params.id),
        customers.mergedInto(p.merchantId, req.params.id),
      ]);
      if (!status) throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      const page = await timeline(deps.db, deps.vault, p.merchantId, req.params.id, {
        before: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
        limit: req.query.limit,
        merged,
      });
      const revealed = [
        ...(page.items.some((i) => i.text) ? (["interactions"] as const) : []),
        ...(page.items.some((i) => i.note) ? (["notes"] as const) : []),
      ];
      // A merged record's text still opens, and a survivor's shows its absorbed records' text:
      // every record whose text the page holds is used.
      if (status !== "erased" && revealed.length > 0) {
        await dataUse.record(req, use, [req.params.id, ...merged], revealed, "timeline");
      }
      return { items: page.items, next: page.next === null ? null : encodeCursor(page.next) };
    },
  );

  const Recorded = z.object({
    interactionId: z.string(),
    customerId: z.string(),
    entryIndex: z.number(),
  });
  const Failed = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

  app.post(
    "/v1/interactions",
    {
      onRequest: write,
      // A batch of 1,000 with their text does not fit the default limit.
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags,
        security,
        summary: `Record an interaction, or a batch of up to ${MAX_INTERACTION_BATCH} as { interactions: [...] }`,
        headers: z.object({
          "idempotency-key": IdempotencyKey.describe("for a single interaction, not a batch"),
        }),
        body: z.union([
          InteractionInput,
          z.strictObject({
            interactions: z.array(InteractionInput).min(1).max(MAX_INTERACTION_BATCH),
          }),
        ]),
        response: {
          200: Recorded,
          201: z.union([Recorded, z.object({ results: z.array(z.union([Recorded, Failed])) })]),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const actor = actorOf(p);
      reply.code(201);
      const one = async (i: z.infer<typeof InteractionInput>, key?: string) => {
        const r = await interactions.record(p.merchantId, actor, i, key);
        if (r.replayed) reply.header("idempotent-replayed", "true").code(200);
        return { interactionId: r.id, customerId: r.customerId, entryIndex: Number(r.index) };
      };
      if (!("interactions" in req.body)) return one(req.body, req.headers["idempotency-key"]);
      if (req.headers["idempotency-key"] !== undefined) {
        throw new ApiError(
          400,
          "invalid_request",
          "Idempotency-Key applies to a single interaction; a batch is retried item by item",
        );
      }
      const settled = await interactions.recordMany(p.merchantId, actor, req.body.interactions);
      const results = settled.map((s) => {
        if (s.status === "fulfilled") {
          const r = s.value;
          return { interactionId: r.id, customerId: r.customerId, entryIndex: Number(r.index) };
        }
        const err: unknown = s.reason;
        // Reported per item, 5xx too: the others may have committed, and the answer says so.
        if (err instanceof ApiError && err.status < 500) {
          return { error: { code: err.code, message: err.message } };
        }
        req.log.error(err);
        return { error: { code: "internal", message: "internal error; retry this item" } };
      });
      return { results };
    },
  );
}

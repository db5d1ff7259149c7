import { z } from "zod";
import type { Customers, CustomerView as Member } from "../customers/customers.js";
import { CustomerView } from "../customers/routes.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { decodeCursor, encodeCursor } from "../http/cursor.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import { type DataUse, PROFILE, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import { parseCondition } from "./condition.js";
import { exportStream } from "./export.js";
import { filterOf, type Segments } from "./segments.js";

/** A segment's name, without the spaces around it (names are compared without them too). */
const SegmentName = Label(100).transform((s) => s.trim());

const SegmentId = IdOf("s", "a segment");

const Condition = z
  .unknown()
  .describe(
    'JsonLogic over the facts in clear (stage, tags, language, country, ageBand, birthMonth, channels, createdAt, attributes.<key>), such as {"and": [{"in": ["vip", {"var": "tags"}]}, {"==": [{"var": "stage"}, "loyal"]}]}; see the guide for the operators',
  );

const SegmentView = z.object({
  id: z.string(),
  name: z.string(),
  condition: z.unknown(),
  createdAt: z.string(),
  updatedAt: z.string(),
  entryIndex: z.number().describe("the entry that last defined or changed it"),
});

const EXPORT_PAGE = 500;

export function segmentRoutes(
  app: App,
  deps: { segments: Segments; customers: Customers; dataUse: DataUse },
) {
  const { segments, customers, dataUse } = deps;
  const tags = ["segments"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read segments");
  const write = requireRole(can.write, "change segments");
  const params = z.strictObject({ id: SegmentId });
  const purposeHeaders = z.object({ "patron-purpose": PurposeHeader });

  app.post(
    "/v1/segments",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Define a segment: a named condition, a sealed entry on the merchant's chain",
        description:
          "Names are kept without the spaces around them, and are unique among the merchant's segments ignoring case: `409 segment_name_taken` (`details: [{path: \"body/name\"}]`). A deleted segment's name is free again.",
        body: z.strictObject({ name: SegmentName, condition: Condition }),
        response: { 201: SegmentView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const { id } = await segments.define(p.merchantId, actorOf(p), req.body);
      reply.code(201);
      return (await segments.get(p.merchantId, id)) as z.infer<typeof SegmentView>;
    },
  );

  app.get(
    "/v1/segments",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The merchant's segments, newest first",
        querystring: z.strictObject({
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({ segments: z.array(SegmentView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const page = await segments.list(principalOf(req).merchantId, {
        before: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
        limit: req.query.limit,
      });
      return { segments: page.segments, next: page.next === null ? null : encodeCursor(page.next) };
    },
  );

  app.post(
    "/v1/segments/preview",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "How many active customers a condition selects now (the builder's live count)",
        body: z.strictObject({ condition: Condition }),
        response: { 200: z.object({ count: z.number() }), ...errorResponses },
      },
    },
    async (req) => ({
      count: await segments.count(principalOf(req).merchantId, parseCondition(req.body.condition)),
    }),
  );

  app.get(
    "/v1/segments/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A segment, with how many customers it holds now",
        params,
        response: {
          200: SegmentView.extend({ count: z.number().describe("its active members now") }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const merchantId = principalOf(req).merchantId;
      const s = await segments.get(merchantId, req.params.id);
      if (!s) throw new ApiError(404, "not_found", `segment ${req.params.id} not found`);
      return { ...s, count: await segments.count(merchantId, parseCondition(s.condition)) };
    },
  );

  app.patch(
    "/v1/segments/:id",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Rename a segment or change its condition: one entry naming what changed",
        description:
          "A name another of the merchant's segments has (ignoring case and spaces around it) is `409 segment_name_taken`; changing only its case is a rename.",
        params,
        body: z
          .strictObject({ name: SegmentName.optional(), condition: Condition.optional() })
          .refine((b) => b.name !== undefined || b.condition !== undefined, {
            message: "give a name or a condition",
          }),
        response: { 200: SegmentView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      await segments.change(p.merchantId, req.params.id, actorOf(p), req.body);
      const s = await segments.get(p.merchantId, req.params.id);
      if (!s) throw new ApiError(404, "not_found", `segment ${req.params.id} not found`);
      return s;
    },
  );

  app.delete(
    "/v1/segments/:id",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Delete a segment (its entries stay on the ledger)",
        params,
        response: {
          200: z.object({ id: z.string(), deletedAt: z.string(), entryIndex: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const r = await segments.remove(p.merchantId, req.params.id, actorOf(p));
      return { id: r.id, deletedAt: r.time, entryIndex: Number(r.index) };
    },
  );

  app.get(
    "/v1/segments/:id/members",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A page of the segment's members, newest first, as GET /v1/customers shows them",
        params,
        headers: purposeHeaders,
        querystring: z.strictObject({
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
      const merchantId = principalOf(req).merchantId;
      const use = await dataUse.use(req);
      const page = await customers.list(merchantId, {
        where: await segments.filter(merchantId, req.params.id),
        before: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
        limit: req.query.limit,
      });
      await dataUse.record(
        req,
        use,
        page.customers.map((c) => c.id),
        PROFILE,
        "segment members",
      );
      return {
        customers: page.customers,
        next: page.next === null ? null : encodeCursor(page.next),
      };
    },
  );

  app.get(
    "/v1/segments/:id/export",
    {
      // Every member's personal data at once: staff, admins and owners, not auditors.
      onRequest: requireRole(can.write, "export customers"),
      schema: {
        tags,
        security,
        summary: "Every member of the segment, streamed as CSV or as a JSON array",
        params,
        headers: purposeHeaders,
        querystring: z.strictObject({ format: z.enum(["csv", "json"]).prefault("csv") }),
        response: {
          200: z
            .string()
            .describe("text/csv with a header row, or application/json: an array of customers"),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const merchantId = principalOf(req).merchantId;
      const use = await dataUse.use(req);
      const s = await segments.get(merchantId, req.params.id);
      if (!s) throw new ApiError(404, "not_found", `segment ${req.params.id} not found`);
      const where = filterOf(parseCondition(s.condition));
      async function* pages(): AsyncGenerator<Member[]> {
        let before: bigint | undefined;
        for (;;) {
          const page = await customers.list(merchantId, { where, before, limit: EXPORT_PAGE });
          // Recorded page by page, before the page leaves: what was revealed is on record.
          await dataUse.record(
            req,
            use,
            page.customers.map((c) => c.id),
            PROFILE,
            "segment export",
          );
          yield page.customers;
          if (page.next === null) return;
          before = page.next;
        }
      }
      const format = req.query.format;
      const file = `segment-${s.id}.${format}`;
      reply
        .header(
          "content-type",
          format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
        )
        .header("content-disposition", `attachment; filename="${file}"`)
        .header("cache-control", "no-store");
      // Fastify pipes a stream as it is; the 200 schema only documents what it holds.
      return reply.send(exportStream(pages(), format) as unknown as string);
    },
  );
}

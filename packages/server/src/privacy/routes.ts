import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { decodeCursor, encodeCursor } from "../http/cursor.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import { actorOf, can, ROLES } from "../tenancy/roles.js";
import { CATEGORIES } from "./access-log.js";
import { type DataUse, PURPOSE_ID } from "./data-use.js";
import { BASES } from "./purposes.js";

const PurposeView = z.object({
  id: z.string(),
  name: z.string(),
  basis: z.enum(BASES),
  note: z.string().nullable().describe("the balancing test of a legitimate interest"),
  defaultFor: z.array(z.enum(ROLES)).describe("roles whose requests use it when they name none"),
  retired: z.boolean(),
  entryIndex: z.number().nullable().describe("the entry that declared it; null: built in"),
});

const ProvenRecordView = z.object({
  id: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  at: z.string(),
  role: z.string(),
  purpose: z.string(),
  basis: z.string(),
  categories: z.array(z.enum(CATEGORIES)),
  action: z.string(),
  batch: z
    .object({
      entryIndex: z.number().describe("the access.recorded entry holding the batch's root"),
      leafIndex: z.number(),
      size: z.number(),
      root: z.string().describe("hex: RFC 9162 root over the batch's records"),
      proof: z.array(z.string()).describe("hex: inclusion proof of SHA-256(0x00 ‖ JCS(record))"),
    })
    .nullable()
    .describe("null until the record's batch is committed (every few seconds)"),
});

export function privacyRoutes(app: App, deps: { dataUse: DataUse; db: Queryable }) {
  const { purposes, access } = deps.dataUse;
  const security = [{ apiKey: [] }];

  app.get(
    "/v1/purposes",
    {
      onRequest: requireRole(can.read, "read purposes"),
      schema: {
        tags: ["privacy"],
        security,
        summary: "The purposes this merchant uses personal data for, each with its lawful basis",
        response: { 200: z.object({ purposes: z.array(PurposeView) }), ...errorResponses },
      },
    },
    async (req) => ({ purposes: await purposes.list(principalOf(req).merchantId) }),
  );

  app.put(
    "/v1/purposes/:id",
    {
      onRequest: requireRole(can.manageKeys, "declare purposes"),
      schema: {
        tags: ["privacy"],
        security,
        summary: "Declare or change a purpose and its lawful basis: a sealed entry",
        params: z.strictObject({
          id: z.string().regex(PURPOSE_ID, "must be lower case letters, digits and _ (1 to 40)"),
        }),
        body: z.strictObject({
          name: Label(100),
          basis: z
            .enum(BASES)
            .describe(
              "consent: only for a purpose customers consent to (marketing_email, …); each use then needs the customer's valid consent",
            ),
          note: z.string().max(2000).optional().describe("required for legitimate_interest"),
          defaultFor: z.array(z.enum(ROLES)).max(ROLES.length).optional(),
          retired: z.boolean().optional(),
        }),
        response: { 200: PurposeView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return purposes.declare(p.merchantId, actorOf(p), req.params.id, req.body);
    },
  );

  app.get(
    "/v1/customers/:id/data-access",
    {
      onRequest: requireRole(can.read, "read access records"),
      schema: {
        tags: ["privacy"],
        security,
        summary:
          "Every use of a customer's personal data, newest first, each with its proof against the batch entry that committed it",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        querystring: z.strictObject({
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({ records: z.array(ProvenRecordView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      // Erased customers keep their records: what was used before the erasure stays accountable.
      const { rows } = await deps.db.query(
        "SELECT 1 FROM customers WHERE id = $1 AND merchant_id = $2",
        [req.params.id, p.merchantId],
      );
      if (rows.length === 0) {
        throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      }
      const page = await access.list(p.merchantId, req.params.id, {
        before: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
        limit: req.query.limit,
      });
      return {
        records: page.records,
        next: page.next === null ? null : encodeCursor(page.next),
      };
    },
  );
}

import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import { type App, customerOf, principalOf, requireCustomer, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Limit } from "../http/schemas.js";
import { type DataUse, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import { ADJUSTMENT_REASONS } from "./adjustment-entries.js";
import { AdjustmentInput, type Adjustments } from "./adjustments.js";
import type { Transfers } from "./transfers.js";

const TransferView = z.object({
  transferId: z.string(),
  direction: z.enum(["sent", "received"]),
  counterparty: z.string().describe("the other customer's id"),
  points: z.number(),
  entryIndex: z.number().describe("this side's entry: points.sent or points.received"),
  at: z.string(),
  hasMessage: z.boolean(),
  message: z
    .string()
    .nullable()
    .optional()
    .describe("the message (the portal only, from the customer's own vault copy)"),
});

const TransferPage = z.object({
  transfers: z.array(TransferView).describe("newest first"),
  next: z.number().nullable().describe("pass as `before` for the next page"),
});

const AdjustmentView = z.object({
  id: z.string(),
  customerId: z.string(),
  direction: z.enum(["credit", "debit"]),
  points: z.number(),
  reason: z.enum(ADJUSTMENT_REASONS),
  note: z.string().nullable().describe("null once the customer was erased"),
  status: z
    .enum(["pending", "applied", "approved", "rejected"])
    .describe(
      "`applied` at once (up to the threshold), `pending` until decided, then `approved` (applied) or `rejected`",
    ),
  requestedBy: z.string(),
  requestedAt: z.string(),
  requestIndex: z.number().describe("the adjustment.requested entry"),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decidedIndex: z.number().nullable(),
  appliedIndex: z.number().nullable().describe("the points.adjusted entry"),
});

const Before = z
  .string()
  .regex(/^[0-9]{1,19}$/, "must be an entry index")
  .transform((s) => BigInt(s))
  .optional();

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
  .optional()
  .describe("a repeat with the same key and body returns the first answer");

/** Transfers' listings and adjustments' routes; transfers are sent by `POST /v1/commands`. */
export function moveRoutes(
  app: App,
  deps: {
    customers: Customers;
    transfers: Transfers;
    adjustments: Adjustments;
    dataUse: DataUse;
  },
) {
  const { customers, transfers, adjustments, dataUse } = deps;
  const tags = ["loyalty"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read the loyalty programme");
  const write = requireRole(can.write, "adjust points");
  const decide = requireRole(can.manageKeys, "approve or reject adjustments");

  app.get(
    "/v1/customers/:id/transfers",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A customer's transfers, sent and received, newest first",
        description:
          "Transfers are signed by customers (`points.transfer` at `POST /v1/commands`). Staff see that a message exists, never its text.",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        querystring: z.strictObject({ before: Before, limit: Limit(1000, 100) }),
        response: { 200: TransferPage, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const status = await customers.status(p.merchantId, req.params.id);
      if (!status) throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      const page = await transfers.list(p.merchantId, req.params.id, {
        ...(req.query.before === undefined ? {} : { before: req.query.before }),
        limit: req.query.limit,
        messages: false,
      });
      if (status === "active") {
        await dataUse.record(req, use, [req.params.id], ["loyalty"], "transfers");
      }
      return page;
    },
  );

  app.get(
    "/v1/portal/transfers",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary: "The signed-in customer's transfers, sent and received, with their messages",
        querystring: z.strictObject({ before: Before, limit: Limit(1000, 100) }),
        response: { 200: TransferPage, ...errorResponses },
      },
    },
    async (req) => {
      const who = customerOf(req);
      return transfers.list(who.merchantId, who.customerId, {
        ...(req.query.before === undefined ? {} : { before: req.query.before }),
        limit: req.query.limit,
        messages: true,
      });
    },
  );

  app.post(
    "/v1/loyalty/adjustments",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Credit or debit a customer's points, with a reason code and a note",
        description:
          "Up to the programme's `adjustments.approvalThreshold` points (default 1000) it applies at once (`applied`); above it, it is `pending` until an owner or admin other than the requester approves or rejects it. A debit takes points soonest-expiring first and is refused with `409 insufficient_points` when the available balance is short: when asked (a pending one too) and again when approved. The note goes to the vault; the entry carries its commitment.",
        headers: z.object({ "idempotency-key": IdempotencyKey, "patron-purpose": PurposeHeader }),
        body: AdjustmentInput,
        response: { 200: AdjustmentView, 201: AdjustmentView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const r = await adjustments.create(
        p.merchantId,
        actorOf(p),
        req.body,
        req.headers["idempotency-key"],
      );
      await dataUse.record(req, use, [r.adjustment.customerId], ["loyalty"], "adjustment");
      if (r.replayed) reply.header("idempotent-replayed", "true");
      reply.code(r.replayed ? 200 : 201);
      return r.adjustment;
    },
  );

  app.get(
    "/v1/loyalty/adjustments",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "Adjustments: pending first (oldest first), then the others newest first",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        querystring: z.strictObject({
          status: z.enum(["pending", "applied", "approved", "rejected"]).optional(),
          customerId: IdOf("c", "a customer").optional(),
          limit: Limit(1000, 100),
        }),
        response: { 200: z.object({ adjustments: z.array(AdjustmentView) }), ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const list = await adjustments.list(p.merchantId, {
        ...(req.query.status ? { status: req.query.status } : {}),
        ...(req.query.customerId ? { customerId: req.query.customerId } : {}),
        limit: req.query.limit,
      });
      const shown = [...new Set(list.filter((a) => a.note !== null).map((a) => a.customerId))];
      if (shown.length > 0) await dataUse.record(req, use, shown, ["loyalty"], "adjustments");
      return { adjustments: list };
    },
  );

  for (const [verb, approve] of [
    ["approve", true],
    ["reject", false],
  ] as const) {
    app.post(
      `/v1/loyalty/adjustments/:id/${verb}`,
      {
        onRequest: decide,
        schema: {
          tags,
          security,
          summary: approve
            ? "Approve a pending adjustment and apply it (an owner or admin, not its requester)"
            : "Reject a pending adjustment (an owner or admin, not its requester)",
          params: z.strictObject({ id: IdOf("adj", "an adjustment") }),
          headers: z.object({ "patron-purpose": PurposeHeader }),
          response: { 200: AdjustmentView, ...errorResponses },
        },
      },
      async (req) => {
        const p = principalOf(req);
        const use = await dataUse.use(req);
        const view = approve
          ? await adjustments.approve(p.merchantId, actorOf(p), p.role, req.params.id)
          : await adjustments.reject(p.merchantId, actorOf(p), p.role, req.params.id);
        await dataUse.record(req, use, [view.customerId], ["loyalty"], "adjustment");
        return view;
      },
    );
  }
}

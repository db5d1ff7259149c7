import type { FastifyRequest } from "fastify";
import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import { type App, customerOf, principalOf, requireCustomer, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Limit } from "../http/schemas.js";
import { type DataUse, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import { type Catalogue, RewardId, RewardInput, RewardPatch } from "./catalogue.js";
import { CaptureInput, CodeInput, HoldInput, type Redemptions } from "./redemptions.js";

const RewardView = z.object({
  id: z.string(),
  version: z.number().describe("1 at creation, one more per change (its reward.set entries)"),
  name: z.string(),
  points: z.number().describe("its cost in points"),
  stock: z.number().nullable().describe("how many are left; null: unlimited"),
  perCustomerLimit: z.number().nullable(),
  active: z.boolean(),
  updatedAt: z.string(),
  entryIndex: z.number().describe("its latest reward.set entry"),
});

export const RedemptionView = z.object({
  id: z.string(),
  customerId: z.string(),
  kind: z.enum(["discount", "reward"]),
  reward: z.object({ id: z.string(), version: z.number() }).nullable(),
  points: z.number(),
  value: z.number().describe("the points' worth in minor units of currency, rounded down"),
  currency: z.string(),
  status: z
    .enum(["held", "captured", "released", "expired"])
    .describe("as of now; a hold past its timeout is expired (released) at once"),
  code: z.string().nullable().describe("the till's one-time code while held, else null"),
  qr: z.string().nullable().describe("what the QR code holds while held, else null"),
  expiresAt: z.string(),
  requestedBy: z.enum(["customer", "merchant"]),
  reference: z.string().nullable(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  heldEntry: z.number().describe("the redemption.held entry"),
  closedEntry: z.number().nullable().describe("its redemption.captured or .released entry"),
});

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
  .optional()
  .describe("a repeat with the same key and body returns the first answer");

const RedemptionParams = z.strictObject({ id: IdOf("rd", "a redemption") });

export function redemptionRoutes(
  app: App,
  deps: {
    customers: Customers;
    catalogue: Catalogue;
    redemptions: Redemptions;
    dataUse: DataUse;
  },
): void {
  const { catalogue, redemptions, dataUse } = deps;
  const tags = ["loyalty"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read the catalogue and redemptions");
  const till = requireRole(can.write, "hold, capture or release redemptions");
  const admin = requireRole(can.manageKeys, "change the catalogue");
  const headers = z.object({
    "idempotency-key": IdempotencyKey,
    "patron-purpose": PurposeHeader,
  });

  app.post(
    "/v1/loyalty/rewards",
    {
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Add a reward to the catalogue: a public reward.set entry",
        body: RewardInput,
        response: { 201: RewardView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      reply.code(201);
      return catalogue.create(p.merchantId, actorOf(p), req.body);
    },
  );

  app.get(
    "/v1/loyalty/rewards",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The catalogue: every reward, active or not, oldest first",
        response: { 200: z.object({ rewards: z.array(RewardView) }), ...errorResponses },
      },
    },
    async (req) => ({ rewards: await catalogue.list(principalOf(req).merchantId) }),
  );

  app.get(
    "/v1/loyalty/rewards/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "One reward of the catalogue",
        params: z.strictObject({ id: RewardId }),
        response: { 200: RewardView, ...errorResponses },
      },
    },
    async (req) => catalogue.get(principalOf(req).merchantId, req.params.id),
  );

  app.patch(
    "/v1/loyalty/rewards/:id",
    {
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Change a reward (a new reward.set version); `stock` sets what is left",
        description: "`409 unchanged` when nothing changes; `404` for an unknown reward.",
        params: z.strictObject({ id: RewardId }),
        body: RewardPatch,
        response: { 200: RewardView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return catalogue.update(p.merchantId, actorOf(p), req.params.id, req.body);
    },
  );

  app.delete(
    "/v1/loyalty/rewards/:id",
    {
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Withdraw a reward: it is deactivated (a reward.set entry), its history stays",
        description: "Holds already made can still be captured or released.",
        params: z.strictObject({ id: RewardId }),
        response: { 200: RewardView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return catalogue.update(p.merchantId, actorOf(p), req.params.id, { active: false });
    },
  );

  app.post(
    "/v1/redemptions",
    {
      onRequest: till,
      schema: {
        tags,
        security,
        summary:
          "Hold a customer's points for a checkout discount (`points`) or a reward (`rewardId`)",
        description:
          "A sealed redemption.held entry takes the points from the customer's lots, soonest-expiring first, and gives the till a one-time code (and its QR payload) that lapses with the hold (`ttlSeconds`, default 900). `capture: true` captures at once. Refusals write nothing: `409 insufficient_points`, `out_of_stock`, `limit_reached`; `404` for an unknown customer or reward. Idempotent by Idempotency-Key.",
        headers,
        body: HoldInput,
        response: { 200: RedemptionView, 201: RedemptionView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const key = req.headers["idempotency-key"];
      const r = await redemptions.hold(p.merchantId, actorOf(p), req.body, {
        requestedBy: "merchant",
        ...(key === undefined ? {} : { idempotencyKey: key }),
        // The access record commits with the hold when no consent decides the use.
        record: (customerId) =>
          dataUse.statements(req, use, [customerId], ["loyalty"], "redemption"),
      });
      if (!r.recorded) await dataUse.record(req, use, [r.customerId], ["loyalty"], "redemption");
      if (r.replayed) reply.header("idempotent-replayed", "true");
      reply.code(r.replayed ? 200 : 201);
      const { replayed: _, recorded: __, ...view } = r;
      return view;
    },
  );

  app.get(
    "/v1/redemptions/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "One redemption, as of now",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        params: RedemptionParams,
        response: { 200: RedemptionView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const r = await redemptions.get(p.merchantId, req.params.id);
      await dataUse.record(req, use, [r.customerId], ["loyalty"], "redemption");
      return r;
    },
  );

  app.get(
    "/v1/redemptions/code/:code",
    {
      onRequest: till,
      schema: {
        tags,
        security,
        summary: "The redemption a till's code (or QR payload) names, before capturing it",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        params: z.strictObject({ code: CodeInput }),
        response: { 200: RedemptionView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const r = await redemptions.byCode(p.merchantId, req.params.code);
      await dataUse.record(req, use, [r.customerId], ["loyalty"], "redemption");
      return r;
    },
  );

  const tillAction = async (
    req: FastifyRequest,
    body: unknown,
    ref: { id: string } | { code: string },
    action: "capture" | "release",
  ) => {
    const p = principalOf(req);
    const use = await dataUse.use(req);
    const key = req.headers["idempotency-key"] as string | undefined;
    if (action === "capture") {
      // The access record commits with the capture when no consent decides the use.
      const { recorded, ...view } = await redemptions.capture(
        p.merchantId,
        actorOf(p),
        ref,
        parseCapture(body),
        key,
        (customerId) => dataUse.statements(req, use, [customerId], ["loyalty"], "redemption"),
      );
      if (!recorded) await dataUse.record(req, use, [view.customerId], ["loyalty"], "redemption");
      return view;
    }
    const r = await redemptions.release(p.merchantId, actorOf(p), ref, {
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
    await dataUse.record(req, use, [r.customerId], ["loyalty"], "redemption");
    return r;
  };

  for (const action of ["capture", "release"] as const) {
    const verb =
      action === "capture"
        ? "Capture a hold at the till: its points are burned (redemption.captured). Single use; `409 hold_expired` after its timeout, `409 already_captured`, `409 already_released`"
        : "Release a hold: its points go back to their lots (redemption.released; `reason: expired` once past its timeout)";
    app.post(
      `/v1/redemptions/:id/${action}`,
      {
        // Capture's optional `{reference}` is parsed by the handler; release takes no body.
        config: { ownBody: action === "capture" },
        onRequest: till,
        schema: {
          tags,
          security,
          summary: `${action === "capture" ? "Capture" : "Release"} a redemption by id`,
          description: `${verb}. ${action === "capture" ? "Optional body `{reference}` (the till's receipt number), parsed here: no body is fine. " : ""}Idempotent by Idempotency-Key.`,
          headers,
          params: RedemptionParams,

          response: { 200: RedemptionView, ...errorResponses },
        },
      },
      async (req) => tillAction(req, req.body, { id: req.params.id }, action),
    );
    app.post(
      `/v1/redemptions/${action}`,
      {
        onRequest: till,
        schema: {
          tags,
          security,
          summary: `${action === "capture" ? "Capture" : "Release"} a redemption by its one-time code`,
          description: `${verb}. \`code\`: as typed (XXXX-XXXX) or the QR payload. Idempotent by Idempotency-Key.`,
          headers,
          body:
            action === "capture"
              ? CaptureInput.extend({ code: CodeInput })
              : z.strictObject({ code: CodeInput }),
          response: { 200: RedemptionView, ...errorResponses },
        },
      },
      async (req) => {
        const { code, ...rest } = req.body as { code: string; reference?: string };
        return tillAction(req, rest, { code }, action);
      },
    );
  }

  app.get(
    "/v1/customers/:id/redemptions",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A customer's redemptions, newest first, as of now",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        querystring: z.strictObject({ limit: Limit(1000, 100) }),
        response: {
          200: z.object({ redemptions: z.array(RedemptionView) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const status = await deps.customers.status(p.merchantId, req.params.id);
      if (!status) throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      const list = await redemptions.list(p.merchantId, [req.params.id], req.query.limit);
      if (status === "active") {
        await dataUse.record(req, use, [req.params.id], ["loyalty"], "redemptions");
      }
      return { redemptions: list };
    },
  );

  // The portal: the customer's own redemptions (with their codes) and the active catalogue.
  // Holding and releasing are signed commands at POST /v1/commands.
  app.get(
    "/v1/portal/redemptions",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary: "The customer's own redemptions at this merchant, with the till's code while held",
        querystring: z.strictObject({ limit: Limit(1000, 100) }),
        response: {
          200: z.object({ redemptions: z.array(RedemptionView) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      return { redemptions: await redemptions.list(who.merchantId, who.records, req.query.limit) };
    },
  );

  app.get(
    "/v1/portal/rewards",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary: "The merchant's active rewards",
        response: { 200: z.object({ rewards: z.array(RewardView) }), ...errorResponses },
      },
    },
    async (req) => ({ rewards: await catalogue.list(customerOf(req).merchantId, true) }),
  );
}

function parseCapture(body: unknown): { reference?: string } {
  const r = CaptureInput.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ApiError(
      400,
      "invalid_request",
      `body${issue?.path.length ? `.${issue.path.join(".")}` : ""}: ${issue?.message}`,
    );
  }
  return r.data.reference === undefined ? {} : { reference: r.data.reference };
}

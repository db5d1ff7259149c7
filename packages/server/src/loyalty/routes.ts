import { RULE_ID } from "@patron/rules";
import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Limit } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import { type DataUse, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import { EXPIRY_SWEEP_LIMIT } from "./expiry.js";
import { liability, listMembers } from "./members.js";
import { MAX_ORDER_BATCH, OrderInput, type OrderResult, type Orders } from "./orders.js";
import { customerPoints } from "./points.js";
import { ProgrammeInput, ProgrammeSchema } from "./programme.js";
import type { Programmes } from "./programmes.js";
import { RefundInput, type Refunds } from "./refunds.js";
import type { Rules } from "./rules.js";
import { SimulateInput, type Simulator } from "./simulate.js";
import type { LoyaltySweeper } from "./sweeper.js";
import { tierView } from "./tiers.js";

const RuleId = z.string().regex(RULE_ID, "must be a rule id: 1 to 64 letters, digits, _ or -");

const ProgrammeView = z.object({
  merchantId: z.string(),
  programme: ProgrammeSchema,
  entryIndex: z.number().nullable().describe("the programme.set entry; null: the default"),
  updatedAt: z.string().nullable(),
});

/** A rule's publication or retirement, as the merchant's and the public reads list them. */
export const RuleHistoryEvent = z.object({
  event: z.enum(["published", "retired"]),
  version: z.number(),
  hash: z.string().nullable(),
  effectiveFrom: z.string(),
  effectiveUntil: z.string().nullable(),
  replaced: z
    .boolean()
    .describe("a later publication or retirement replaced it before it took effect"),
  entryIndex: z.number(),
  recordedAt: z.string(),
});

const RuleView = z.object({
  id: z.string(),
  status: z
    .enum(["draft", "scheduled", "active", "retired"])
    .describe("as of now: a version in force, the first one later, ended, or never published"),
  draft: z
    .object({
      document: z.unknown(),
      hash: z.string(),
      version: z.number().describe("the version publishing it would make"),
      updatedAt: z.string(),
    })
    .nullable(),
  current: z
    .object({
      version: z.number(),
      hash: z.string(),
      effectiveFrom: z.string(),
      document: z.unknown(),
    })
    .nullable()
    .describe("the version in force now"),
  history: z.array(
    RuleHistoryEvent.extend({
      name: z.string().nullable().describe("a publication's document's name; null: a retirement"),
      validFrom: z
        .string()
        .nullable()
        .describe("the validity the document sets itself (validFrom), apart from publication"),
      validUntil: z
        .string()
        .nullable()
        .describe("the document's own end (validUntil); null: none, or a retirement"),
    }),
  ),
});

/** A simulation's window may leave out its end: up to now, read when it runs. */
const SimulateBody = SimulateInput.extend({
  to: SimulateInput.shape.to
    .optional()
    .describe("its end (exclusive), not after now; left out: now"),
});

/** publish and retire: an optional body, `{}` or none at all. */
const WhenInput = z.strictObject({
  effectiveFrom: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("RFC 3339: when it takes effect (default now); never in the past"),
});

const OrderView = z.object({
  orderId: z.string(),
  customerId: z.string(),
  points: z.number().describe("the points awarded, in all"),
  awards: z.array(z.object({ rule: z.string(), version: z.number(), points: z.number() })),
  availableAt: z
    .string()
    .nullable()
    .describe("when the points become available (after the return window); null: no points"),
  entryIndex: z.number().describe("the order.recorded entry; points.awarded is the next one"),
  tier: z
    .object({ from: z.string().nullable(), to: z.string().nullable() })
    .nullable()
    .describe(
      "the tier change this order brought (a tier.changed entry right after points.awarded); null: none",
    ),
});

const SetOutcome = z.object({
  points: z.number(),
  cost: z.number().describe("minor units, at the programme's point value"),
  orders: z.number(),
  customers: z.number(),
  rules: z.array(
    z.object({
      rule: z.string(),
      version: z.number(),
      points: z.number(),
      orders: z.number(),
      failed: z.number(),
    }),
  ),
});

const LotView = z.object({
  id: z.string(),
  points: z.number(),
  remaining: z.number(),
  source: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("order"), orderId: z.string(), entryIndex: z.number() }),
      z.object({ type: z.literal("transfer"), transferId: z.string(), entryIndex: z.number() }),
      z.object({
        type: z.literal("adjustment"),
        adjustmentId: z.string(),
        entryIndex: z.number(),
      }),
    ])
    .describe(
      "an order (its order.recorded entry), a transfer received (its points.received entry) or a staff credit (its points.adjusted entry)",
    ),
  awardedAt: z.string(),
  availableAt: z.string(),
  expiresAt: z.string().nullable(),
  status: z.enum(["pending", "available", "expired"]),
});

const QualificationView = z.object({
  tier: z.string(),
  metric: z.enum(["points", "spend"]),
  figure: z.number().describe("points earned or spend (minor units) in the window"),
  threshold: z.number(),
  months: z.number(),
  windowStart: z.string().describe("orders recorded after it count"),
  windowEnd: z.string(),
});

const view = (r: OrderResult) => ({
  orderId: r.orderId,
  customerId: r.customerId,
  points: r.points,
  awards: r.awards,
  availableAt: r.availableAt,
  entryIndex: r.entryIndex,
  tier: r.tier,
});

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
  .optional()
  .describe("the refund's id: a repeat with the same key and body returns the first answer");

const RefundView = z.object({
  orderId: z.string(),
  customerId: z.string(),
  refundId: z.string().nullable(),
  full: z.boolean(),
  pointsBefore: z.number(),
  pointsAfter: z.number(),
  reversed: z.number().describe("the points taken back"),
  debt: z.number().describe("of them, those the customer now owes"),
  writtenOff: z.number().describe("of them, those written off"),
  entryIndex: z.number(),
});

/** A customer's points as staff and the customer's own portal read them. */
export const PointsResponse = z.object({
  customerId: z.string(),
  pointName: z.string(),
  balance: z.number().describe("the available points"),
  pending: z.number().describe("points still in their return window"),
  held: z.number().describe("points held for redemptions not captured yet (not in balance)"),
  debt: z.number(),
  tier: z.string().nullable().describe("the customer's tier; null: none"),
  tierProgress: z.object({
    current: QualificationView.nullable().describe("keeping the tier held"),
    next: QualificationView.nullable().describe("reaching the next tier up"),
  }),
  expired: z
    .number()
    .describe("points of expired lots the sweep has not written off yet (not in balance)"),
  lots: z.array(LotView).describe("lots with points left, newest first"),
  lotCount: z.number(),
});

export function loyaltyRoutes(
  app: App,
  deps: {
    db: Queryable;
    clock: Clock;
    customers: Customers;
    programmes: Programmes;
    rules: Rules;
    orders: Orders;
    refunds: Refunds;
    simulator: Simulator;
    sweeper: LoyaltySweeper;
    dataUse: DataUse;
  },
) {
  const { programmes, rules, orders, simulator, dataUse } = deps;
  const tags = ["loyalty"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read the loyalty programme");
  const write = requireRole(can.write, "record orders or draft rules");
  const admin = requireRole(can.manageKeys, "change the programme or publish rules");
  const ruleParams = z.strictObject({ id: RuleId });

  app.get(
    "/v1/loyalty/programme",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The merchant's loyalty programme (the default until set)",
        response: { 200: ProgrammeView, ...errorResponses },
      },
    },
    async (req) => programmes.get(principalOf(req).merchantId),
  );

  app.put(
    "/v1/loyalty/programme",
    {
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Change the programme: a public programme.set entry with the whole programme",
        description: "Fields left out keep their value; nothing is written when nothing changes.",
        body: ProgrammeInput,
        response: { 200: ProgrammeView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return (await programmes.set(p.merchantId, actorOf(p), req.body)).view;
    },
  );

  app.post(
    "/v1/loyalty/rules",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Save a draft rule: a new rule, or the next version of one (replacing its draft)",
        description:
          "The document is validated (docs/rules.md); `400 invalid_rule` names every fault by its path in `details.errors`. Drafts are not on the ledger until published.",
        body: z.strictObject({
          id: RuleId.optional().describe("the rule's id; made up when left out"),
          document: z.record(z.string(), z.unknown()).describe("the rule document"),
        }),
        response: { 200: RuleView, 201: RuleView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const saved = await rules.saveDraft(p.merchantId, actorOf(p), req.body.id, req.body.document);
      reply.code(saved.created ? 201 : 200);
      return rules.get(p.merchantId, saved.id);
    },
  );

  app.get(
    "/v1/loyalty/rules",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The merchant's rules: drafts, versions in force, scheduled and retired ones",
        response: { 200: z.object({ rules: z.array(RuleView) }), ...errorResponses },
      },
    },
    async (req) => ({ rules: await rules.list(principalOf(req).merchantId) }),
  );

  app.get(
    "/v1/loyalty/rules/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "One rule: its draft, its version in force and every publication and retirement",
        params: ruleParams,
        response: { 200: RuleView, ...errorResponses },
      },
    },
    async (req) => rules.get(principalOf(req).merchantId, req.params.id),
  );

  app.delete(
    "/v1/loyalty/rules/:id/draft",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Drop a rule's draft",
        params: ruleParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await rules.deleteDraft(principalOf(req).merchantId, req.params.id);
      reply.code(204);
      return null;
    },
  );

  const when = (body: unknown) => {
    const r = WhenInput.safeParse(body ?? {});
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new ApiError(
        400,
        "invalid_request",
        `body${issue?.path.length ? `/${issue.path.join("/")}` : ""}: ${issue?.message}`,
      );
    }
    return r.data.effectiveFrom === undefined ? undefined : Date.parse(r.data.effectiveFrom);
  };
  const Published = z.object({
    id: z.string(),
    version: z.number(),
    hash: z.string(),
    effectiveFrom: z.string(),
    entryIndex: z.number(),
  });

  app.post(
    "/v1/loyalty/rules/:id/publish",
    {
      config: { ownBody: true },
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Publish a rule's draft as its next version: a public rule.published entry",
        description:
          "Optional body `{effectiveFrom}` (RFC 3339): when it takes effect, default now; `400 effective_in_past` before now. It supersedes the rule's previous version from then on, and replaces anything of the rule scheduled at or after that time. `409 no_draft`, `409 unchanged` when the draft is the version that already holds from that time on with nothing scheduled after it (publishing a version scheduled for later sooner is allowed).",
        params: ruleParams,
        response: { 201: Published, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await rules.publish(p.merchantId, actorOf(p), req.params.id, when(req.body));
      reply.code(201);
      return { id: req.params.id, ...r };
    },
  );

  app.post(
    "/v1/loyalty/rules/:id/retire",
    {
      config: { ownBody: true },
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Retire a rule: a public rule.retired entry; it no longer applies from then on",
        description:
          "Optional body `{effectiveFrom}` (RFC 3339), default now; never in the past. It replaces anything of the rule scheduled at or after that time, a later retirement too: the latest decision wins. `409 not_published`; `409 already_retired` when the rule is retired from that time on already (retired now, or a retirement scheduled at or before it).",
        params: ruleParams,
        response: {
          201: z.object({
            id: z.string(),
            version: z.number(),
            effectiveFrom: z.string(),
            entryIndex: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await rules.retire(p.merchantId, actorOf(p), req.params.id, when(req.body));
      reply.code(201);
      return { id: req.params.id, ...r };
    },
  );

  app.post(
    "/v1/loyalty/simulate",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary:
          "Run a rule set over a past window's orders and compare it with the rules in force",
        description:
          "`rules`: rule ids (a rule's draft, else its version in force) and `{id, document}`; `from` and `to` (RFC 3339) the window, `to` left out: up to now; writes nothing. At most 1,000,000 orders in the window (`400 window_too_large`).",
        body: SimulateBody,
        response: {
          200: z.object({
            from: z.string(),
            to: z.string(),
            orders: z.number(),
            customers: z.number(),
            currency: z.string(),
            valuePer100Points: z.number(),
            draft: SetOutcome,
            published: SetOutcome,
            difference: z.object({ points: z.number(), cost: z.number(), customers: z.number() }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      simulator.simulate(principalOf(req).merchantId, {
        ...req.body,
        to: req.body.to ?? new Date(deps.clock.now()).toISOString(),
      }),
  );

  const Failed = z.object({
    orderId: z.string(),
    error: z.object({ code: z.string(), message: z.string() }),
  });

  app.post(
    "/v1/orders",
    {
      onRequest: write,
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags,
        security,
        summary: `Record an order and award its points, or a batch of up to ${MAX_ORDER_BATCH} as { orders: [...] }`,
        description:
          "Idempotent by `orderId`: the same order again is answered 200 with the first answer; other content under the same id is `409 order_conflict`. In a batch each order stands alone and `results` says what became of each.",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        body: z.union([
          OrderInput,
          z.strictObject({ orders: z.array(OrderInput).min(1).max(MAX_ORDER_BATCH) }),
        ]),
        response: {
          200: OrderView,
          201: z.union([
            OrderView,
            z.object({
              results: z.array(z.union([OrderView.extend({ replayed: z.boolean() }), Failed])),
            }),
          ]),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const actor = actorOf(p);
      const use = await dataUse.use(req);
      if (!("orders" in req.body)) {
        const r = await orders.record(p.merchantId, actor, req.body);
        await dataUse.record(req, use, [r.customerId], ["loyalty"], "order");
        if (r.replayed) reply.header("idempotent-replayed", "true");
        reply.code(r.replayed ? 200 : 201);
        return view(r);
      }
      const inputs = req.body.orders;
      const settled = await orders.recordMany(p.merchantId, actor, inputs);
      const results = settled.map((s, n) => {
        if (s.status === "fulfilled") return { ...view(s.value), replayed: s.value.replayed };
        const err: unknown = s.reason;
        const orderId = inputs[n]?.orderId ?? "";
        // Reported per order, 5xx too: the others may have committed, and the answer says so.
        if (err instanceof ApiError && err.status < 500) {
          return { orderId, error: { code: err.code, message: err.message } };
        }
        req.log.error(err);
        return {
          orderId,
          error: { code: "internal", message: "internal error; retry this order" },
        };
      });
      const recorded = settled.flatMap((s) =>
        s.status === "fulfilled" ? [s.value.customerId] : [],
      );
      await dataUse.record(req, use, recorded, ["loyalty"], "order");
      reply.code(201);
      return { results };
    },
  );

  app.post(
    "/v1/orders/:orderId/refund",
    {
      config: { ownBody: true },
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Refund an order in full (no lines) or by line, reversing the points it no longer earns",
        description:
          "A partial refund recomputes the awards over the order net of its refunds with the rule versions of the order, and reverses the difference: from the order's own lot first (pending or not), then the available lots soonest-expiring first, then the oldest; what was already spent becomes a debt later earnings repay (`debtPolicy: recover`) or is written off (`write_off`). Idempotent by Idempotency-Key or `refundId`; returning more than remains is `409 over_refund`.",
        params: z.strictObject({ orderId: z.string().regex(/^[\x21-\x7e]{1,100}$/) }),
        headers: z.object({ "idempotency-key": IdempotencyKey, "patron-purpose": PurposeHeader }),
        response: {
          200: RefundView,
          201: RefundView,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      // The body is optional (none: a full refund), so it is parsed here.
      const body = RefundInput.safeParse(req.body ?? {});
      if (!body.success) {
        const issue = body.error.issues[0];
        throw new ApiError(
          400,
          "invalid_request",
          `body${issue?.path.length ? `.${issue.path.join(".")}` : ""}: ${issue?.message}`,
        );
      }
      const use = await dataUse.use(req);
      const r = await deps.refunds.refund(
        p.merchantId,
        actorOf(p),
        req.params.orderId,
        body.data,
        req.headers["idempotency-key"],
      );
      await dataUse.record(req, use, [r.customerId], ["loyalty"], "refund");
      if (r.replayed) reply.header("idempotent-replayed", "true");
      reply.code(r.replayed ? 200 : 201);
      const { replayed: _, ...out } = r;
      return out;
    },
  );

  app.post(
    "/v1/loyalty/sweep",
    {
      onRequest: admin,
      schema: {
        tags,
        security,
        summary: "Run the loyalty sweep for this merchant now (the node runs it on a timer)",
        description:
          "In this order: writes the release (reason expired) of every hold that lapsed, a sealed points.expired entry per customer whose lots expired by now, and a sealed tier.changed entry per customer whose tier's window no longer qualifies them. Idempotent: a second run finds nothing. Bounded: at most 500 holds a run, and `more` says customers with expired points were left for the next run.",
        querystring: z.strictObject({
          limit: Limit(EXPIRY_SWEEP_LIMIT, EXPIRY_SWEEP_LIMIT).describe(
            `most customers to expire points of, and to re-evaluate tiers of, 1 to ${EXPIRY_SWEEP_LIMIT} (default ${EXPIRY_SWEEP_LIMIT})`,
          ),
        }),
        response: {
          200: z.object({
            released: z.number().describe("lapsed holds whose release it wrote"),
            expired: z.object({
              customers: z.number(),
              points: z.number(),
              more: z.boolean(),
            }),
            tiers: z.object({ evaluated: z.number(), changed: z.number() }),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const actor = actorOf(p);
      const limit = req.query.limit;
      return deps.sweeper.run(actor, { merchantId: p.merchantId, limit });
    },
  );

  const LiabilityRow = z.object({
    points: z.number(),
    available: z.number(),
    pending: z.number(),
    value: z.number().describe("minor units, at the programme's point value"),
    lots: z.number(),
  });

  app.get(
    "/v1/loyalty/members",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The members: customers given points, most recently awarded first, with balances",
        description:
          "Each member's available balance, pending points, debt and lots with points left, as `GET /v1/customers/{id}/points` computes them now. An access record names the customers listed (loyalty and contact data).",
        headers: z.object({ "patron-purpose": PurposeHeader }),
        querystring: z.strictObject({
          cursor: z
            .string()
            .regex(/^[1-9][0-9]{0,18}$/, "must be the `next` of the previous page")
            .optional()
            .describe("`next` of the previous page"),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({
            pointName: z.string(),
            members: z.array(
              z.object({
                customerId: z.string(),
                name: z.string().nullable().describe("null: none, or not an active customer"),
                status: z.enum(["active", "erased", "merged"]).nullable(),
                balance: z.number().describe("the available points"),
                pending: z.number(),
                debt: z.number(),
                lots: z.number().describe("lots with points left"),
                lastAwardedAt: z.string(),
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
      const page = await listMembers(deps.db, p.merchantId, deps.clock.now(), {
        limit: req.query.limit,
        before: req.query.cursor === undefined ? undefined : BigInt(req.query.cursor),
      });
      const ids = page.members.map((m) => m.customerId);
      const [statuses, names, { programme }] = await Promise.all([
        deps.customers.statuses(p.merchantId, ids),
        deps.customers.names(p.merchantId, ids),
        programmes.get(p.merchantId),
      ]);
      await dataUse.record(
        req,
        use,
        ids.filter((id) => statuses.get(id) === "active"),
        ["contact", "loyalty"],
        "members",
      );
      return {
        pointName: programme.pointName,
        members: page.members.map((m) => ({
          ...m,
          name: names.get(m.customerId) ?? null,
          status: statuses.get(m.customerId) ?? null,
        })),
        next: page.next,
      };
    },
  );

  app.get(
    "/v1/loyalty/liability",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "The points outstanding at their value, by the month they expire",
        description:
          "Every lot with points left (pending or available), valued at the programme's point value (minor units, rounded half up), grouped by its expiry month in the programme's time zone; lots that do not expire are the row with `month: null`, last. Debt is given apart and is not in the total. No personal data: no access record.",
        response: {
          200: z.object({
            asOf: z.string(),
            pointName: z.string(),
            currency: z.string(),
            valuePer100Points: z.number(),
            timeZone: z.string(),
            total: LiabilityRow.extend({ customers: z.number() }),
            debt: z.object({ points: z.number(), value: z.number(), customers: z.number() }),
            months: z.array(
              LiabilityRow.extend({
                month: z.string().nullable().describe("YYYY-MM; null: lots without expiry"),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { programme } = await programmes.get(p.merchantId);
      return liability(deps.db, p.merchantId, deps.clock.now(), programme);
    },
  );

  app.get(
    "/v1/customers/:id/points",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A customer's points: available balance, pending, debt, tier and lots",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        querystring: z.strictObject({ limit: Limit(1000, 100).describe("most lots to list") }),
        response: {
          200: PointsResponse,
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const status = await deps.customers.status(p.merchantId, req.params.id);
      if (!status) throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      const { programme } = await programmes.get(p.merchantId);
      const now = deps.clock.now();
      const tier = await tierView(deps.db, p.merchantId, req.params.id, programme, now);
      const points = await customerPoints(deps.db, p.merchantId, req.params.id, now, {
        pointName: programme.pointName,
        limit: req.query.limit,
        tier,
      });
      if (status === "active") {
        await dataUse.record(req, use, [req.params.id], ["loyalty"], "points");
      }
      return points;
    },
  );
}

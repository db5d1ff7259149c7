import { z } from "zod";
import { INTERACTION_KINDS } from "../customers/interactions.js";
import { CustomerPatch } from "../customers/profile.js";
import { type App, customerOf, principalOf, requireCustomer, requireRole } from "../http/app.js";
import { errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import type { DataUse } from "../privacy/index.js";
import { PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import {
  EXTENSION_REASONS,
  IDENTITY_CHECKS,
  REJECTION_REASONS,
  REQUEST_CHANNELS,
  REQUEST_KINDS,
} from "./entries.js";
import type { SubjectRequests } from "./requests.js";
import { HELD_FIELDS, type Retention } from "./retention.js";

const RequestView = z.object({
  id: z.string(),
  customerId: z.string(),
  kind: z.enum(REQUEST_KINDS),
  channel: z.string(),
  status: z.enum(["received", "verified", "completed", "rejected"]),
  checks: z.array(z.string()),
  receivedAt: z.string(),
  dueAt: z.string().describe("one month from receipt; up to two more when extended"),
  extended: z.boolean(),
  overdue: z.boolean(),
  closedAt: z.string().nullable(),
  reason: z.string().nullable(),
  receivedIndex: z.number(),
  entryIndex: z.number(),
});

const unique = (xs: readonly string[]) => new Set(xs).size === xs.length;

const PolicyBody = z
  .strictObject({
    name: Label(100),
    note: Label(500).describe(
      "the law or rule that requires keeping, in the merchant's words (no personal data)",
    ),
    years: z.number().int().min(1).max(30),
    fields: z
      .array(z.enum(HELD_FIELDS))
      .max(HELD_FIELDS.length)
      .refine(unique, "must not name a field twice")
      .default([]),
    interactionKinds: z
      .array(z.enum(INTERACTION_KINDS))
      .max(INTERACTION_KINDS.length)
      .refine(unique, "must not name a kind twice")
      .default([])
      .describe("the interactions whose texts are kept (purchases, say), within `years`"),
  })
  // A policy that keeps nothing would tell the customer an erasure keeps something.
  .refine((p) => p.fields.length + p.interactionKinds.length > 0, {
    error: "a policy keeps at least one field or kind of interaction",
    path: ["fields"],
  });

export function rightsRoutes(
  app: App,
  d: { requests: SubjectRequests; retention: Retention; dataUse: DataUse },
) {
  const tags = ["data-subject rights"];
  const security = [{ apiKey: [] }];
  const requestParams = z.strictObject({ id: IdOf("dsr", "a data-subject request") });

  app.get(
    "/v1/subject-requests",
    {
      onRequest: requireRole(can.read, "read data-subject requests"),
      schema: {
        tags,
        security,
        summary: "The data-subject request queue, soonest deadline first",
        querystring: z.strictObject({
          status: z.enum(["open", "closed"]).optional(),
          customer: IdOf("c", "a customer").optional(),
          limit: Limit(500, 100),
        }),
        response: { 200: z.object({ requests: z.array(RequestView) }), ...errorResponses },
      },
    },
    async (req) => ({
      requests: await d.requests.list(principalOf(req).merchantId, {
        status: req.query.status,
        customerIds: req.query.customer ? [req.query.customer] : undefined,
        limit: req.query.limit,
      }),
    }),
  );

  app.post(
    "/v1/customers/:id/requests",
    {
      onRequest: requireRole(can.write, "record data-subject requests"),
      schema: {
        tags,
        security,
        summary: "Record a request that came by email, post, phone, in person or to staff",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        body: z.strictObject({
          kind: z.enum(REQUEST_KINDS),
          channel: z.enum(REQUEST_CHANNELS).exclude(["portal"]),
          checks: z
            .array(z.enum(IDENTITY_CHECKS).exclude(["key_signature"]))
            .max(5)
            .default([])
            .describe("identity checks already done; none: the request waits for them"),
        }),
        response: { 201: RequestView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await d.requests.receive(p.merchantId, req.params.id, req.body, actorOf(p));
      reply.code(201);
      return r;
    },
  );

  app.get(
    "/v1/subject-requests/:id",
    {
      onRequest: requireRole(can.read, "read data-subject requests"),
      schema: {
        tags,
        security,
        summary: "One data-subject request",
        params: requestParams,
        response: { 200: RequestView, ...errorResponses },
      },
    },
    async (req) => d.requests.get(principalOf(req).merchantId, req.params.id),
  );

  app.post(
    "/v1/subject-requests/:id/verify",
    {
      onRequest: requireRole(can.write, "verify data-subject requests"),
      schema: {
        tags,
        security,
        summary: "Record the identity checks done on the requester",
        params: requestParams,
        body: z.strictObject({
          checks: z
            .array(z.enum(IDENTITY_CHECKS).exclude(["key_signature"]))
            .min(1)
            .max(5),
        }),
        response: { 200: RequestView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return d.requests.verify(p.merchantId, req.params.id, req.body.checks, actorOf(p));
    },
  );

  app.post(
    "/v1/subject-requests/:id/extend",
    {
      onRequest: requireRole(can.manageKeys, "extend data-subject requests"),
      schema: {
        tags,
        security,
        summary: "Extend the deadline by one or two months (Art. 12(3)), once",
        params: requestParams,
        body: z.strictObject({
          months: z.union([z.literal(1), z.literal(2)], {
            error: "must be 1 or 2 (Art. 12(3) allows two further months at most)",
          }),
          reason: z.enum(EXTENSION_REASONS),
        }),
        response: { 200: RequestView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return d.requests.extend(
        p.merchantId,
        req.params.id,
        req.body.months,
        req.body.reason,
        actorOf(p),
      );
    },
  );

  app.post(
    "/v1/subject-requests/:id/reject",
    {
      onRequest: requireRole(can.manageKeys, "reject data-subject requests"),
      schema: {
        tags,
        security,
        summary: "Refuse a request, with the reason the law allows",
        params: requestParams,
        body: z.strictObject({ reason: z.enum(REJECTION_REASONS) }),
        response: { 200: RequestView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return d.requests.reject(p.merchantId, req.params.id, req.body.reason, actorOf(p));
    },
  );

  app.post(
    "/v1/subject-requests/:id/execute",
    {
      onRequest: requireRole(can.manageKeys, "carry out data-subject requests"),
      schema: {
        tags,
        security,
        summary:
          "Carry a verified request out: erase, rectify (with `patch`), or export for access and portability",
        description:
          "An erasure keeps what the merchant's retention policies require, under a key of its own, and its entry says so. An access or export request answers the export bundle to send the customer (it verifies with `patron verify`).",
        params: requestParams,
        headers: z.object({ "patron-purpose": PurposeHeader }),
        body: z.strictObject({
          patch: CustomerPatch.optional().describe("a rectification's corrected fields"),
        }),
        response: {
          200: z.object({
            request: RequestView,
            export: z.record(z.string(), z.unknown()).optional(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const r = await d.requests.get(p.merchantId, req.params.id);
      // An export reveals everything: it is a use of personal data like any other.
      const use = r.kind === "access" || r.kind === "export" ? await d.dataUse.use(req) : undefined;
      const done = await d.requests.execute(
        p.merchantId,
        req.params.id,
        actorOf(p),
        req.body.patch,
      );
      if (use) {
        await d.dataUse.record(
          req,
          use,
          [r.customerId],
          ["contact", "demographics", "interactions", "notes"],
          "subject-request.export",
        );
      }
      return done;
    },
  );

  app.get(
    "/v1/portal/requests",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary: "The customer's own data-subject requests and where each stands",
        response: { 200: z.object({ requests: z.array(RequestView) }), ...errorResponses },
      },
    },
    async (req) => {
      const who = customerOf(req);
      return {
        requests: await d.requests.list(who.merchantId, { customerIds: who.records, limit: 500 }),
      };
    },
  );

  const policyParams = z.strictObject({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "lower-case letters, digits and _"),
  });
  const PolicyView = z.object({
    id: z.string(),
    name: z.string(),
    note: z.string(),
    years: z.number(),
    fields: z.array(z.string()),
    interactionKinds: z.array(z.string()),
  });

  app.get(
    "/v1/retention-policies",
    {
      onRequest: requireRole(can.read, "read retention policies"),
      schema: {
        tags,
        security,
        summary: "What an erasure keeps, for how long and why",
        response: { 200: z.object({ policies: z.array(PolicyView) }), ...errorResponses },
      },
    },
    async (req) => ({ policies: await d.retention.policies(principalOf(req).merchantId) }),
  );

  app.get(
    "/v1/portal/retention-policies",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary:
          "What an erasure here would keep, for how long and why: the merchant's retention policies, shown before the customer erases themselves",
        response: { 200: z.object({ policies: z.array(PolicyView) }), ...errorResponses },
      },
    },
    async (req) => ({ policies: await d.retention.policies(customerOf(req).merchantId) }),
  );

  app.put(
    "/v1/retention-policies/:id",
    {
      onRequest: requireRole(can.manageKeys, "set retention policies"),
      schema: {
        tags,
        security,
        summary: "Set a retention policy (an entry on the merchant's chain)",
        params: policyParams,
        body: PolicyBody,
        response: { 200: PolicyView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return d.retention.setPolicy(p.merchantId, { id: req.params.id, ...req.body }, actorOf(p));
    },
  );

  app.delete(
    "/v1/retention-policies/:id",
    {
      onRequest: requireRole(can.manageKeys, "remove retention policies"),
      schema: {
        tags,
        security,
        summary: "Remove a retention policy (holds already made run to their end)",
        params: policyParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await d.retention.removePolicy(p.merchantId, req.params.id, actorOf(p));
      reply.code(204);
      return null;
    },
  );

  app.get(
    "/v1/customers/:id/retention",
    {
      onRequest: requireRole(can.read, "read retention holds"),
      schema: {
        tags,
        security,
        summary: "What an erasure kept of this customer, under which policy, until when",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        response: {
          200: z.object({
            holds: z.array(
              z.object({
                id: z.string(),
                policyId: z.string(),
                until: z.string(),
                values: z.number(),
                erasedIndex: z.number(),
                shreddedIndex: z.number().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      holds: await d.retention.holds(principalOf(req).merchantId, req.params.id),
    }),
  );

  app.get(
    "/v1/retention-holds/:id/values",
    {
      onRequest: requireRole((r) => r === "owner", "read held records"),
      schema: {
        tags,
        security,
        summary: "The records a hold keeps, decrypted (owners only; an access record is written)",
        params: z.strictObject({ id: IdOf("hold", "a retention hold") }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        response: {
          200: z.object({
            customerId: z.string(),
            values: z.array(
              z.object({ field: z.string(), version: z.number(), value: z.unknown() }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const use = await d.dataUse.use(req);
      const p = principalOf(req);
      const held = await d.retention.open(p.merchantId, req.params.id);
      await d.dataUse.record(
        req,
        use,
        [held.customerId],
        ["contact", "purchase_history"],
        "retention.read",
      );
      return {
        customerId: held.customerId,
        values: held.values.map((v) => ({ field: v.field, version: v.version, value: v.value })),
      };
    },
  );
}

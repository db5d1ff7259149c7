import { z } from "zod";
import { type App, principalOf, requireOperator, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Label } from "../http/schemas.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { actorOf, can, OPERATOR_ACTOR, ROLES, withArticle } from "./roles.js";
import type { Tenancy } from "./tenancy.js";

const MerchantIdParam = IdOf("m", "a merchant");
const KeyIdParam = IdOf("k", "an API key");

const KeyView = z.object({
  id: z.string(),
  role: z.enum(ROLES),
  label: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  entryIndex: z.number(),
});

const MerchantView = z.object({
  id: z.string(),
  name: z.string(),
  head: z
    .number()
    .nullable()
    .describe("index of the merchant's latest entry: walk `subjects[].prev` from it (its chain)"),
});

export function tenancyRoutes(app: App, tenancy: Tenancy, sequencer: Sequencer) {
  const tags = ["merchants"];
  const security = [{ apiKey: [] }];
  const merchantView = async (id: string) => {
    const m = await tenancy.merchant(id);
    if (!m) return undefined;
    const head = await sequencer.headOf(id);
    return { ...m, head: head === undefined ? null : Number(head) };
  };

  app.post(
    "/v1/merchants",
    {
      onRequest: requireOperator,
      schema: {
        tags,
        security,
        summary: "Create a merchant and its first owner key (the node operator's key)",
        body: z.strictObject({ name: Label(200) }),
        response: {
          201: z.object({
            id: z.string(),
            name: z.string(),
            ownerKey: z.string().describe("shown once; only its hash is kept"),
            entryIndex: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const m = await tenancy.createMerchantWithOwner(req.body.name, OPERATOR_ACTOR);
      reply.code(201);
      return { id: m.id, name: req.body.name, ownerKey: m.ownerKey, entryIndex: Number(m.index) };
    },
  );

  app.get(
    "/v1/merchants/me",
    {
      onRequest: requireRole(can.read, "read"),
      schema: {
        tags,
        security,
        summary: "The calling key's merchant and the head of its chain",
        response: { 200: MerchantView, ...errorResponses },
      },
    },
    async (req) => {
      const m = await merchantView(principalOf(req).merchantId);
      if (!m) throw new ApiError(404, "not_found", "merchant not found");
      return m;
    },
  );

  app.get(
    "/v1/merchants/:id",
    {
      schema: {
        tags,
        summary: "A merchant: its public registration and the head of its chain",
        params: z.strictObject({ id: MerchantIdParam }),
        response: { 200: MerchantView, ...errorResponses },
      },
    },
    async (req) => {
      const m = await merchantView(req.params.id);
      if (!m) throw new ApiError(404, "not_found", `merchant ${req.params.id} not found`);
      return m;
    },
  );

  app.get(
    "/v1/me",
    {
      onRequest: requireRole(can.read, "read"),
      schema: {
        tags,
        security,
        summary: "Who is calling: the merchant, and the API key or the signed-in staff member",
        response: {
          200: z.object({
            merchant: z.object({ id: z.string(), name: z.string() }),
            key: z
              .object({ id: z.string(), role: z.enum(ROLES) })
              .nullable()
              .describe("the API key; null for a staff member's session"),
            staff: z
              .object({ id: z.string(), role: z.enum(ROLES) })
              .nullable()
              .describe("the staff member signed in; null for an API key"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const merchant = await tenancy.merchant(p.merchantId);
      if (!merchant) throw new ApiError(404, "not_found", "merchant not found");
      const who = p.staffId === undefined ? "key" : "staff";
      return {
        merchant,
        key: who === "key" ? { id: p.keyId, role: p.role } : null,
        staff: who === "staff" ? { id: p.staffId as string, role: p.role } : null,
      };
    },
  );

  app.get(
    "/v1/api-keys",
    {
      onRequest: requireRole(can.manageKeys, "manage API keys"),
      schema: {
        tags,
        security,
        summary: "The merchant's API keys (never the secrets)",
        response: { 200: z.object({ keys: z.array(KeyView) }), ...errorResponses },
      },
    },
    async (req) => ({ keys: await tenancy.listKeys(principalOf(req).merchantId) }),
  );

  app.post(
    "/v1/api-keys",
    {
      onRequest: requireRole(can.manageKeys, "manage API keys"),
      schema: {
        tags,
        security,
        summary: "Create an API key; the secret is returned once and never stored",
        body: z.strictObject({
          role: z.enum(ROLES),
          label: Label(100),
        }),
        response: {
          201: z.object({
            id: z.string(),
            key: z.string(),
            role: z.enum(ROLES),
            label: z.string(),
            entryIndex: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (!can.grant(p.role, req.body.role)) {
        throw new ApiError(
          403,
          "forbidden",
          `${withArticle(p.role)} key cannot create ${withArticle(req.body.role)} key`,
        );
      }
      const k = await tenancy.createKey(p.merchantId, req.body.role, req.body.label, actorOf(p));
      reply.code(201);
      return {
        id: k.id,
        key: k.key,
        role: req.body.role,
        label: req.body.label,
        entryIndex: Number(k.index),
      };
    },
  );

  app.delete(
    "/v1/api-keys/:id",
    {
      onRequest: requireRole(can.manageKeys, "manage API keys"),
      schema: {
        tags,
        security,
        summary: "Revoke an API key",
        params: z.strictObject({ id: KeyIdParam }),
        response: {
          200: z.object({ id: z.string(), revokedAt: z.string(), entryIndex: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const r = await tenancy.revokeKey(p.merchantId, req.params.id, p, actorOf(p));
      return { id: req.params.id, revokedAt: r.time, entryIndex: Number(r.index) };
    },
  );
}

import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import { CustomerView } from "../customers/routes.js";
import { type App, customerOf, principalOf, requireCustomer, requireRole } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf } from "../http/schemas.js";
import { actorOf, can } from "../tenancy/roles.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import { DEFAULT_INVITE_HOURS, type Invites, qrSvg } from "./invites.js";
import type { CustomerKeys } from "./keys.js";
import { RECOVERY_CHECKS, type Recoveries } from "./recovery.js";
import type { Sessions } from "./sessions.js";

export interface IdentityRouteDeps {
  customers: Customers;
  keys: CustomerKeys;
  invites: Invites;
  recoveries: Recoveries;
  sessions: Sessions;
  tenancy: Tenancy;
  /** Where the portal is served: links in invites and join QR codes point there. */
  portalUrl: () => string;
}

const customerParams = z.strictObject({ id: IdOf("c", "a customer") });
const recoveryParams = z.strictObject({ id: IdOf("rec", "a recovery") });
const merchantParams = z.strictObject({ id: IdOf("m", "a merchant") });
const DidKey = z
  .string()
  .regex(/^did:key:z[1-9A-HJ-NP-Za-km-z]{40,120}$/, "must be a did:key")
  .describe("the customer's new did:key (Ed25519 or a P-256 passkey)");

const RecoveryView = z.object({
  id: z.string(),
  customerId: z.string(),
  oldKey: z.string(),
  newKey: z.string(),
  status: z.enum(["pending", "vetoed", "cancelled", "completed"]),
  completesAt: z.string().describe("when the time-lock ends and the new key is bound"),
  startedIndex: z.number(),
  endedIndex: z.number().nullable(),
});

const SessionView = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});

const Signed = z
  .object({
    command: z.unknown(),
    signature: z.string().optional(),
    webauthn: z.unknown().optional(),
  })
  .describe("a signed session.open command whose payload is { challenge }");

export function identityRoutes(app: App, d: IdentityRouteDeps) {
  const staffTags = ["customer keys"];
  const portalTags = ["portal"];
  const security = [{ apiKey: [] }];

  const activeCustomer = async (merchantId: string, id: string) => {
    const status = await d.customers.status(merchantId, id);
    if (status === undefined) throw new ApiError(404, "not_found", `customer ${id} not found`);
    if (status !== "active") {
      throw new ApiError(409, `customer_${status}`, `customer ${id} is ${status}`);
    }
  };

  app.post(
    "/v1/customers/:id/invites",
    {
      onRequest: requireRole(can.write, "invite customers"),
      schema: {
        tags: staffTags,
        security,
        summary: "Invite a customer to claim their profile with a key (a code, a link, a QR code)",
        description:
          "The code is shown once and is single-use; the customer signs `customer.claim` with `{ code }`. Refused when the profile already has a key (a lost key is recovered instead).",
        params: customerParams,
        body: z
          .strictObject({
            expiresInHours: z
              .number()
              .int()
              .min(1)
              .max(720)
              .optional()
              .describe(`how long the code is valid (default ${DEFAULT_INVITE_HOURS} h)`),
          })
          // A request without a body reaches validation as null.
          .nullish(),
        response: {
          201: z.object({
            id: z.string(),
            customerId: z.string(),
            code: z.string(),
            url: z.string(),
            qr: z.string().describe("an SVG image of the link, for the till"),
            expiresAt: z.string(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await activeCustomer(p.merchantId, req.params.id);
      if (await d.keys.active(p.merchantId, req.params.id)) {
        throw new ApiError(
          409,
          "already_claimed",
          "this profile already has a key; a lost key is replaced by a recovery",
        );
      }
      const invite = await d.invites.create(
        p.merchantId,
        req.params.id,
        actorOf(p),
        req.body?.expiresInHours,
      );
      // The code rides in the fragment: it never reaches a server log on the way to the portal.
      const url = `${d.portalUrl()}/me/claim/${p.merchantId}#code=${invite.code}`;
      reply.code(201);
      return { ...invite, url, qr: await qrSvg(url) };
    },
  );

  app.get(
    "/v1/customers/:id/invites",
    {
      onRequest: requireRole(can.read, "read invites"),
      schema: {
        tags: staffTags,
        security,
        summary: "A customer's invites (never their codes)",
        params: customerParams,
        response: {
          200: z.object({
            invites: z.array(
              z.object({
                id: z.string(),
                createdAt: z.string(),
                expiresAt: z.string(),
                claimed: z.boolean(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      invites: await d.invites.list(principalOf(req).merchantId, req.params.id),
    }),
  );

  app.get(
    "/v1/customers/:id/key",
    {
      onRequest: requireRole(can.read, "read customer keys"),
      schema: {
        tags: staffTags,
        security,
        summary: "The key a customer signs with here, and their recoveries",
        params: customerParams,
        response: {
          200: z.object({
            key: z.string().nullable().describe("the customer's did:key here, or null"),
            recoveries: z.array(RecoveryView),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const m = principalOf(req).merchantId;
      if ((await d.customers.status(m, req.params.id)) === undefined) {
        throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      }
      return {
        key: await d.keys.active(m, req.params.id),
        recoveries: await d.recoveries.list(m, req.params.id),
      };
    },
  );

  app.post(
    "/v1/customers/:id/recoveries",
    {
      onRequest: requireRole(can.manageKeys, "recover customer keys"),
      schema: {
        tags: staffTags,
        security,
        summary: "Start a recovery after a lost key: the new key binds when the time-lock ends",
        description:
          "Owners and admins only, after checking the customer's identity. The current key and the customer's emails and phones are told; the current key can veto (`key.veto`) until `completesAt`.",
        params: customerParams,
        body: z.strictObject({
          key: DidKey,
          checks: z
            .array(z.enum(RECOVERY_CHECKS))
            .min(1)
            .max(RECOVERY_CHECKS.length)
            .describe("the identity checks done"),
        }),
        response: { 201: RecoveryView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await d.recoveries.start(p.merchantId, req.params.id, req.body, actorOf(p));
      reply.code(201);
      return r;
    },
  );

  for (const action of ["cancel", "complete"] as const) {
    app.post(
      `/v1/recoveries/:id/${action}`,
      {
        onRequest: requireRole(can.manageKeys, `${action} recoveries`),
        schema: {
          tags: staffTags,
          security,
          summary:
            action === "cancel"
              ? "Withdraw a recovery in its time-lock"
              : "Complete a recovery whose time-lock has ended (the node also does it every minute)",
          params: recoveryParams,
          response: { 200: RecoveryView, ...errorResponses },
        },
      },
      async (req) => {
        const p = principalOf(req);
        return action === "cancel"
          ? d.recoveries.cancel(p.merchantId, req.params.id, actorOf(p))
          : d.recoveries.complete(p.merchantId, req.params.id, actorOf(p));
      },
    );
  }

  app.get(
    "/v1/merchants/:id/join",
    {
      schema: {
        tags: portalTags,
        summary: "A merchant's join link and QR code (public)",
        params: merchantParams,
        response: {
          200: z.object({
            merchant: z.object({ id: z.string(), name: z.string() }),
            url: z.string(),
            qr: z.string().describe("an SVG image of the link"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const merchant = await d.tenancy.merchant(req.params.id);
      if (!merchant) throw new ApiError(404, "not_found", `merchant ${req.params.id} not found`);
      const url = `${d.portalUrl()}/me/join/${merchant.id}`;
      return { merchant, url, qr: await qrSvg(url) };
    },
  );

  app.post(
    "/v1/portal/challenges",
    {
      schema: {
        tags: portalTags,
        summary: "A single-use sign-in challenge, valid for five minutes",
        body: z.strictObject({ merchant: IdOf("m", "a merchant") }),
        response: {
          201: z.object({ challenge: z.string(), expiresAt: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      if (!(await d.tenancy.merchant(req.body.merchant))) {
        throw new ApiError(404, "unknown_merchant", `merchant ${req.body.merchant} not found`);
      }
      reply.code(201);
      return d.sessions.challenge(req.body.merchant);
    },
  );

  app.post(
    "/v1/portal/sessions",
    {
      schema: {
        tags: portalTags,
        summary: "Sign in: a session.open command signed with the customer's key",
        description:
          "The command's payload is `{ challenge }` from POST /v1/portal/challenges. The answer's token is a bearer token for /v1/portal/*, valid for an hour.",
        body: Signed,
        response: {
          201: z.object({
            token: z.string(),
            session: SessionView,
            customerId: z.string(),
            merchantId: z.string(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { command, signature, webauthn } = req.body;
      const body = webauthn === undefined ? { command, signature } : { command, webauthn };
      const opened = await d.sessions.open(body, req.headers["user-agent"]);
      reply.code(201);
      return {
        token: opened.token,
        session: opened.session,
        customerId: opened.customer.customerId,
        merchantId: opened.customer.merchantId,
      };
    },
  );

  const customerSecurity = [{ customerSession: [] }];

  app.get(
    "/v1/portal/me",
    {
      onRequest: requireCustomer,
      schema: {
        tags: portalTags,
        security: customerSecurity,
        summary: "The signed-in customer's own profile, decrypted for them",
        response: {
          200: z.object({
            merchant: z.object({ id: z.string(), name: z.string() }),
            key: z.string(),
            profile: CustomerView,
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const profile = await d.customers.get(who.merchantId, who.customerId);
      const merchant = await d.tenancy.merchant(who.merchantId);
      if (!profile || !merchant) throw new ApiError(404, "not_found", "no profile");
      return { merchant, key: who.actor, profile };
    },
  );

  app.get(
    "/v1/portal/sessions",
    {
      onRequest: requireCustomer,
      schema: {
        tags: portalTags,
        security: customerSecurity,
        summary: "The customer's open sessions",
        response: { 200: z.object({ sessions: z.array(SessionView) }), ...errorResponses },
      },
    },
    async (req) => ({ sessions: await d.sessions.list(customerOf(req)) }),
  );

  app.delete(
    "/v1/portal/sessions/:id",
    {
      onRequest: requireCustomer,
      schema: {
        tags: portalTags,
        security: customerSecurity,
        summary: "End a session (this one: sign out; another: a lost device)",
        params: z.strictObject({ id: IdOf("ses", "a session") }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await d.sessions.revoke(customerOf(req), req.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    "/v1/portal/recoveries",
    {
      onRequest: requireCustomer,
      schema: {
        tags: portalTags,
        security: customerSecurity,
        summary: "Recoveries of the customer's key: one under way can be vetoed (key.veto)",
        response: { 200: z.object({ recoveries: z.array(RecoveryView) }), ...errorResponses },
      },
    },
    async (req) => {
      const who = customerOf(req);
      return { recoveries: await d.recoveries.list(who.merchantId, who.customerId) };
    },
  );
}

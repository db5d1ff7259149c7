import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Channels } from "../channels/index.js";
import { type App, principalOf, requireRole, useSessions } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { ErrorBody, errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import { type DataUse, PurposeHeader } from "../privacy/index.js";
import { can, ROLES } from "../tenancy/roles.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import type { Ceremony, Passkeys } from "./passkeys.js";
import { MAX_PASSWORD, MIN_PASSWORD } from "./passwords.js";
import { csrfMatches, csrfTokenOf, type SignedIn, type Staff } from "./staff.js";

/** The session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS (see docs/security.md). */
export const SESSION_COOKIE = "patron_session";

const StaffId = IdOf("s", "a staff user");
const Email = z.email().max(254).describe("the staff user's email; compared case-insensitively");
const Password = z
  .string()
  .min(MIN_PASSWORD)
  .max(MAX_PASSWORD)
  .describe(`${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
const LinkToken = z.string().min(1).max(200).describe("the token from the emailed link");
const MerchantId = IdOf("m", "a merchant")
  .optional()
  .describe("needed only when the email belongs to staff of several merchants");

const StaffView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(["invited", "active", "disabled"]),
  createdAt: z.string(),
  disabledAt: z.string().nullable(),
  entryIndex: z.number().describe("the entry that created the staff user"),
});

const SessionView = z.object({
  staff: StaffView,
  merchant: z.object({ id: z.string(), name: z.string() }),
  csrfToken: z
    .string()
    .describe("send as x-csrf-token on every POST, PUT, PATCH and DELETE the cookie authenticates"),
  expiresAt: z.string(),
});

const throttled = { ...errorResponses, 429: ErrorBody };

export function staffRoutes(
  app: App,
  deps: {
    staff: Staff;
    passkeys: Passkeys;
    tenancy: Tenancy;
    channels: Channels;
    publicUrl(): string;
    /** Messages to customers reveal their contact details: recorded as a use (decision 11). */
    dataUse?: DataUse;
  },
) {
  const { staff, passkeys, tenancy, channels } = deps;
  const tags = ["staff"];
  const security: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { session: [] }];
  const manage = requireRole(can.manageKeys, "manage staff");

  useSessions(app, {
    cookie: SESSION_COOKIE,
    authenticate: (token) => staff.authenticate(token),
    csrfMatches,
  });

  const sessionOf = (req: FastifyRequest) => {
    const token = req.cookies[SESSION_COOKIE];
    const p = req.principal;
    if (!token || !p?.staffId) {
      throw new ApiError(401, "unauthorized", "this endpoint needs a staff session (sign in)");
    }
    return { token, principal: p, staffId: p.staffId };
  };

  const view = async (merchantId: string, staffId: string) => {
    const v = await staff.get(merchantId, staffId);
    if (!v) throw new ApiError(404, "not_found", `staff user ${staffId} not found`);
    return v;
  };

  /** Login CSRF: another site must not sign a browser in to an account of its choosing. */
  const refuseForeignSignIn = (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `${req.protocol}://${req.host}`) {
      throw new ApiError(403, "csrf_failed", `a sign-in may not come from ${origin}`);
    }
  };

  const signedIn = async (req: FastifyRequest, reply: FastifyReply, s: SignedIn) => {
    const merchantId = s.token.slice(0, s.token.indexOf("."));
    const merchant = await tenancy.merchant(merchantId);
    if (!merchant) throw new ApiError(404, "not_found", "merchant not found");
    setSession(req, reply, s.token, s.expiresAt);
    return { staff: s.staff, merchant, csrfToken: s.csrfToken, expiresAt: s.expiresAt };
  };

  /**
   * Where a passkey ceremony may have run: the node's public address, and the address the
   * request reached (a node on localhost is reached as localhost, not as 127.0.0.1). The
   * authenticator scopes every credential to its relying party, and the keys checked here were
   * registered through this node, so an assertion made for another site cannot pass.
   */
  const ceremoniesOf = (req: FastifyRequest): Ceremony[] => {
    const bases = [deps.publicUrl(), `${req.protocol}://${req.host}`];
    return bases.flatMap((base) => {
      try {
        const url = new URL(base);
        return [{ origin: url.origin, rpId: url.hostname }];
      } catch {
        return [];
      }
    });
  };

  const setSession = (req: FastifyRequest, reply: FastifyReply, token: string, expires: string) =>
    reply.header("cache-control", "no-store").setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "strict",
      secure: req.protocol === "https",
      path: "/",
      expires: new Date(expires),
    });

  app.post(
    "/v1/staff/session",
    {
      schema: {
        tags,
        summary:
          "Sign in with email and password: sets the HttpOnly session cookie, returns the CSRF token",
        body: z.strictObject({
          email: Email,
          password: z.string().max(MAX_PASSWORD),
          merchantId: MerchantId,
        }),
        response: { 200: SessionView, ...throttled },
      },
    },
    async (req, reply) => {
      refuseForeignSignIn(req);
      const s = await staff.signIn(req.body.email, req.body.password, req.body.merchantId, req.ip);
      return signedIn(req, reply, s);
    },
  );

  app.delete(
    "/v1/staff/session",
    {
      schema: {
        tags,
        security,
        summary: "Sign out: the session is revoked on the server and the cookie cleared",
        response: { 200: z.object({ signedOut: z.literal(true) }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { token } = sessionOf(req);
      await staff.signOut(token);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return { signedOut: true as const };
    },
  );

  app.get(
    "/v1/staff/me",
    {
      schema: {
        tags,
        security,
        summary: "The signed-in staff user, their merchant and the session's CSRF token",
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { token, principal, staffId } = sessionOf(req);
      const [me, merchant, expiresAt] = await Promise.all([
        view(principal.merchantId, staffId),
        tenancy.merchant(principal.merchantId),
        staff.sessionExpiry(token),
      ]);
      if (!merchant) throw new ApiError(404, "not_found", "merchant not found");
      if (!expiresAt) throw new ApiError(401, "unauthorized", "the session ended meanwhile");
      reply.header("cache-control", "no-store");
      return { staff: me, merchant, csrfToken: csrfTokenOf(token), expiresAt };
    },
  );

  app.get(
    "/v1/staff",
    {
      onRequest: manage,
      schema: {
        tags,
        security,
        summary: "The merchant's staff users, in the order they were created",
        response: { 200: z.object({ staff: z.array(StaffView) }), ...errorResponses },
      },
    },
    async (req) => ({ staff: await staff.list(principalOf(req).merchantId) }),
  );

  app.post(
    "/v1/staff/invitations",
    {
      onRequest: manage,
      schema: {
        tags,
        security,
        summary:
          "Invite a staff user: an entry naming the role (never the email), and an emailed single-use link",
        body: z.strictObject({ email: Email, role: z.enum(ROLES) }),
        response: {
          201: z.object({
            staff: StaffView,
            expiresAt: z.string().describe("when the invitation link stops working"),
            delivery: z
              .enum(["smtp", "sms", "outbox", "failed"])
              .describe("how the email left: SMTP, or the local outbox; failed: see the log"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await staff.invite(p, req.body.email, req.body.role);
      reply.code(201);
      return {
        staff: await view(p.merchantId, r.staffId),
        expiresAt: r.expiresAt,
        delivery: r.delivery,
      };
    },
  );

  app.post(
    "/v1/staff/invitations/accept",
    {
      schema: {
        tags,
        summary: "Accept an invitation: the emailed link's token and a password of your choice",
        body: z.strictObject({ token: LinkToken, password: Password }),
        response: {
          200: z.object({ staffId: z.string(), merchantId: z.string() }),
          ...throttled,
        },
      },
    },
    async (req) => {
      staff.throttleAddress(req.ip);
      return staff.acceptInvitation(req.body.token, req.body.password);
    },
  );

  app.post(
    "/v1/staff/password-reset",
    {
      schema: {
        tags,
        summary:
          "Email a single-use password reset link; the answer is the same whether the email is known",
        body: z.strictObject({ email: Email, merchantId: MerchantId }),
        response: { 202: z.object({ status: z.literal("requested") }), ...throttled },
      },
    },
    async (req, reply) => {
      await staff.requestReset(req.body.email, req.body.merchantId, req.ip);
      reply.code(202);
      return { status: "requested" as const };
    },
  );

  app.post(
    "/v1/staff/password-reset/confirm",
    {
      schema: {
        tags,
        summary: "Set a new password with the emailed token; every session of the account ends",
        body: z.strictObject({ token: LinkToken, password: Password }),
        response: {
          200: z.object({ staffId: z.string(), merchantId: z.string() }),
          ...throttled,
        },
      },
    },
    async (req) => {
      staff.throttleAddress(req.ip);
      return staff.confirmReset(req.body.token, req.body.password);
    },
  );

  const params = z.strictObject({ id: StaffId });
  const Changed = z.object({ staff: StaffView, entryIndex: z.number() });

  app.patch(
    "/v1/staff/:id",
    {
      onRequest: manage,
      schema: {
        tags,
        security,
        summary: "Change a staff user's role (an entry on the merchant's chain)",
        params,
        body: z.strictObject({ role: z.enum(ROLES) }),
        response: { 200: Changed, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const e = await staff.changeRole(p, req.params.id, req.body.role);
      return { staff: await view(p.merchantId, req.params.id), entryIndex: Number(e.index) };
    },
  );

  app.post(
    "/v1/staff/:id/disable",
    {
      onRequest: manage,
      schema: {
        tags,
        security,
        summary: "Disable a staff user: their sessions and pending links end (an entry)",
        params,
        response: { 200: Changed, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const e = await staff.disable(p, req.params.id);
      return { staff: await view(p.merchantId, req.params.id), entryIndex: Number(e.index) };
    },
  );

  const Base64Url = (min: number, max: number) =>
    z
      .string()
      .regex(new RegExp(`^[A-Za-z0-9_-]{${min},${max}}$`), "must be base64url without padding");
  const CredentialId = Base64Url(16, 200).describe("the credential's id (rawId), base64url");
  const Assertion = z
    .strictObject({
      authenticatorData: Base64Url(50, 4096),
      clientDataJSON: Base64Url(20, 4096),
      signature: Base64Url(8, 200),
    })
    .describe("navigator.credentials.get()'s response, each member base64url");
  const Challenge = Base64Url(43, 43).describe("from POST /v1/staff/passkeys/challenge");
  const PasskeyView = z.object({
    id: z.string(),
    label: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  });

  app.post(
    "/v1/staff/passkeys/challenge",
    {
      schema: {
        tags,
        summary: "A single-use challenge (five minutes) for a passkey ceremony",
        response: {
          200: z.object({ challenge: z.string(), expiresAt: z.string() }),
          ...throttled,
        },
      },
    },
    async (req) => {
      staff.throttleAddress(req.ip);
      return passkeys.challenge();
    },
  );

  app.post(
    "/v1/staff/passkeys",
    {
      schema: {
        tags,
        security,
        summary:
          "Register a passkey for the signed-in staff user: its key, and an assertion over a challenge proving it is held",
        body: z.strictObject({
          credentialId: CredentialId,
          publicKey: z
            .string()
            .regex(/^([A-Za-z0-9_-]{44}|[A-Za-z0-9_-]{87})$/, "must be a P-256 point, base64url")
            .describe("the ES256 public key as a SEC1 point (33 or 65 bytes), base64url"),
          label: Label(100),
          challenge: Challenge,
          assertion: Assertion,
        }),
        response: { 201: PasskeyView, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { principal, staffId } = sessionOf(req);
      const p = await passkeys.register(principal.merchantId, staffId, req.body, ceremoniesOf(req));
      reply.code(201);
      return p;
    },
  );

  app.get(
    "/v1/staff/passkeys",
    {
      schema: {
        tags,
        security,
        summary: "The signed-in staff user's passkeys",
        response: { 200: z.object({ passkeys: z.array(PasskeyView) }), ...errorResponses },
      },
    },
    async (req) => {
      const { principal, staffId } = sessionOf(req);
      return { passkeys: await passkeys.list(principal.merchantId, staffId) };
    },
  );

  app.delete(
    "/v1/staff/passkeys/:id",
    {
      schema: {
        tags,
        security,
        summary: "Remove one of the signed-in staff user's passkeys",
        params: z.strictObject({ id: CredentialId }),
        response: { 200: z.object({ removed: z.literal(true) }), ...errorResponses },
      },
    },
    async (req) => {
      const { principal, staffId } = sessionOf(req);
      await passkeys.remove(principal.merchantId, staffId, req.params.id);
      return { removed: true as const };
    },
  );

  app.post(
    "/v1/staff/passkeys/session",
    {
      schema: {
        tags,
        summary: "Sign in with a passkey: sets the session cookie, as the password sign-in does",
        body: z.strictObject({
          credentialId: CredentialId,
          challenge: Challenge,
          assertion: Assertion,
        }),
        response: { 200: SessionView, ...throttled },
      },
    },
    async (req, reply) => {
      refuseForeignSignIn(req);
      staff.throttleAddress(req.ip);
      return signedIn(req, reply, await passkeys.signIn(req.body, ceremoniesOf(req)));
    },
  );

  app.get(
    "/v1/outbox",
    {
      // Owners only: held invitations and password resets carry sign-in links, and an admin
      // reading an owner's reset link would become that owner.
      onRequest: requireRole((r) => r === "owner", "read the outbox"),
      schema: {
        tags: ["outbox"],
        security,
        summary:
          "Mail and SMS held locally because no SMTP server or SMS gateway is configured, newest first",
        querystring: z.strictObject({ limit: Limit(200, 50) }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        response: {
          200: z.object({
            messages: z.array(
              z.object({
                id: z.string(),
                channel: z.enum(["mail", "sms"]),
                to: z.string(),
                subject: z.string().optional(),
                text: z.string(),
                createdAt: z.string(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const use = await deps.dataUse?.use(req);
      const messages = await channels.outbox.list(principalOf(req).merchantId, req.query.limit);
      const customers = messages.flatMap((m) => (m.customerId ? [m.customerId] : []));
      if (use && deps.dataUse)
        await deps.dataUse.record(req, use, customers, ["contact"], "outbox");
      return { messages: messages.map(({ customerId: _c, ...m }) => m) };
    },
  );
}

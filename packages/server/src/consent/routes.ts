import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { decodeCursor, encodeCursor } from "../http/cursor.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Label, Limit } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { PURPOSE_ID } from "../privacy/data-use.js";
import { CONSENT_PURPOSES } from "../privacy/purposes.js";
import { actorOf, can, type Principal } from "../tenancy/roles.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import type { Consents } from "./consents.js";
import { CONSENT_CATEGORIES, STAFF_METHODS } from "./entries.js";
import type { Issuer } from "./issuer.js";
import { type Marketing, UNSUBSCRIBE_TOKEN } from "./marketing.js";
import type { PartnerReads } from "./partner.js";
import type { ConsentRequests } from "./requests.js";
import { Categories, ConsentId, Instant, MerchantId, Purposes, RevokeOn } from "./schemas.js";
import { type ConsentRow, ROW_COLUMNS } from "./state.js";
import {
  ConsentView,
  GranteeConsentView,
  granteeView,
  receiptFacts,
  STATUSES,
  toView,
} from "./views.js";

export interface ConsentRoutesDeps {
  db: Queryable;
  sequencer: Sequencer;
  clock: Clock;
  tenancy: Tenancy;
  consents: Consents;
  requests: ConsentRequests;
  marketing: Marketing;
  partners: PartnerReads;
  issuer: Issuer;
}

const CustomerId = IdOf("c", "a customer");
const RequestId = z.string().regex(/^cr_[A-Za-z0-9_-]{16}$/, "must be a consent request id (cr_…)");
const Token = z.string().regex(/^[A-Za-z0-9_-]{32}$/, "must be the token from the link");
const UnsubscribeToken = z
  .string()
  .regex(UNSUBSCRIBE_TOKEN, "must be the token of an unsubscribe link");

const GrantBody = z.strictObject({
  grantee: MerchantId.optional().describe("default: this merchant; or a partner merchant"),
  purposes: Purposes,
  categories: Categories,
  validFrom: Instant.optional(),
  validUntil: Instant,
  revokeOn: RevokeOn.optional(),
  method: z.enum(STAFF_METHODS).describe("how the customer gave it; double_opt_in emails a link"),
  text: z
    .string()
    .max(20_000)
    .refine((s) => s.trim() !== "", "must not be empty")
    .describe("the exact text shown; rests in the vault"),
  textVersion: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      "must be a version label such as marketing-2026-03",
    ),
  shownAt: Instant.optional().describe("when the text was shown; default now"),
  email: z.string().max(254).optional().describe("double_opt_in: which of the customer's emails"),
});

const Receipt = z.object({
  receipt: z.string().describe("a W3C VC 2.0 credential as a JWT (typ vc+jwt, EdDSA)"),
  jwks: z.string().describe("where the issuer's keys are: /v1/merchants/{id}/issuer"),
});

/** The page an emailed link opens: one button, so link scanners that fetch it change nothing. */
const PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

const ms = (s: string | undefined) => (s === undefined ? undefined : Date.parse(s));

export function consentRoutes(app: App, deps: ConsentRoutesDeps) {
  const { consents, clock } = deps;
  const tags = ["consent"];
  const security = [{ apiKey: [] }];
  const read = requireRole(can.read, "read consents");
  const write = requireRole(can.write, "record consents");

  /** The consent, if the caller holds it or is its grantee; the same 404 otherwise. */
  const visible = async (p: Principal, id: string) => {
    const row = await consents.row(id, p.merchantId);
    if (!row) {
      throw new ApiError(404, "not_found", `consent ${id} not found`);
    }
    const view = toView(row, clock.now());
    return { row, view, holder: row.merchant_id === p.merchantId };
  };

  app.post(
    "/v1/customers/:id/consents",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Record a customer's consent given without a key (at the till, on a web form, by phone, on paper), or email a double opt-in link",
        params: z.strictObject({ id: CustomerId }),
        body: GrantBody,
        response: {
          201: z.object({ consent: ConsentView, receipt: z.string() }),
          202: z.object({
            requestId: z.string(),
            expiresAt: z.string(),
            delivery: z.enum(["smtp", "sms", "outbox"]),
          }),
          ...errorResponses,
          502: errorResponses[409],
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const now = clock.now();
      const shownAt = ms(b.shownAt) ?? now;
      if (shownAt > now + 60_000) {
        throw new ApiError(400, "invalid_shown_at", "shownAt is in the future");
      }
      if (b.email !== undefined && b.method !== "double_opt_in") {
        throw new ApiError(400, "invalid_request", "email names where a double opt-in link goes");
      }
      const terms = {
        grantee: b.grantee ?? p.merchantId,
        purposes: b.purposes,
        categories: b.categories,
        validFrom: ms(b.validFrom),
        validUntil: Date.parse(b.validUntil),
        revokeOn: b.revokeOn ?? [],
      };
      await consents.checkCustomer(p.merchantId, req.params.id);
      await consents.checkTerms(terms);
      if (b.method === "double_opt_in") {
        const started = await deps.requests.start({
          merchantId: p.merchantId,
          customerId: req.params.id,
          actor: actorOf(p),
          terms,
          text: b.text,
          textVersion: b.textVersion,
          email: b.email,
        });
        reply.code(202);
        return started;
      }
      const { consentId, draft } = await consents.grant({
        merchantId: p.merchantId,
        customerId: req.params.id,
        actor: actorOf(p),
        terms,
        method: b.method,
        shown: { text: b.text, textVersion: b.textVersion, shownAt },
      });
      await deps.sequencer.execute(draft);
      const { view } = await visible(p, consentId);
      reply.code(201);
      return { consent: view, receipt: await deps.issuer.receipt(receiptFacts(view)) };
    },
  );

  app.get(
    "/v1/customers/:id/consents",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A customer's consents, newest first",
        params: z.strictObject({ id: CustomerId }),
        response: { 200: z.object({ consents: z.array(ConsentView) }), ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { rows: known } = await deps.db.query(
        "SELECT 1 FROM customers WHERE id = $1 AND merchant_id = $2",
        [req.params.id, p.merchantId],
      );
      if (known.length === 0) {
        throw new ApiError(404, "not_found", `customer ${req.params.id} not found`);
      }
      const { rows } = await deps.db.query<ConsentRow>(
        `SELECT ${ROW_COLUMNS} FROM consents WHERE merchant_id = $1 AND customer_id = $2
         ORDER BY granted_idx DESC LIMIT 1000`,
        [p.merchantId, req.params.id],
      );
      const now = clock.now();
      return { consents: rows.map((r) => toView(r, now)) };
    },
  );

  app.get(
    "/v1/consents",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary:
          "This merchant's customers' consents, newest first: by purpose, grantee and status as of now",
        querystring: z.strictObject({
          purpose: z.enum(CONSENT_PURPOSES).optional(),
          grantee: MerchantId.optional(),
          status: z.enum(STATUSES).optional(),
          cursor: z.string().max(100).optional().describe("`next` of the previous page"),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({ consents: z.array(ConsentView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const now = new Date(clock.now()).toISOString();
      const params: unknown[] = [p.merchantId, q.limit + 1];
      const where = ["merchant_id = $1"];
      const add = (sql: (n: number) => string, v: unknown) => {
        params.push(v);
        where.push(sql(params.length));
      };
      if (q.purpose) add((n) => `purposes @> $${n}::jsonb`, JSON.stringify([q.purpose]));
      if (q.grantee) add((n) => `grantee = $${n}`, q.grantee);
      if (q.cursor !== undefined)
        add((n) => `granted_idx < $${n}`, decodeCursor(q.cursor).toString());
      // As of now: a consent past its end is lapsed before the sweep writes it.
      const t = (n: number) => `$${n}::timestamptz`;
      if (q.status === "revoked") where.push("status = 'revoked'");
      else if (q.status === "active") {
        add((n) => `status = 'active' AND valid_from <= ${t(n)} AND valid_until > ${t(n)}`, now);
      } else if (q.status === "scheduled") {
        add((n) => `status = 'active' AND valid_from > ${t(n)}`, now);
      } else if (q.status === "lapsed") {
        add((n) => `(status = 'lapsed' OR (status = 'active' AND valid_until <= ${t(n)}))`, now);
      }
      const { rows } = await deps.db.query<ConsentRow>(
        `SELECT ${ROW_COLUMNS} FROM consents WHERE ${where.join(" AND ")}
         ORDER BY granted_idx DESC LIMIT $2`,
        params,
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        consents: page.map((r) => toView(r, clock.now())),
        next: rows.length > q.limit && last ? encodeCursor(BigInt(last.granted_idx)) : null,
      };
    },
  );

  app.get(
    "/v1/consents/received",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "Consents other merchants' customers gave this merchant, newest first",
        querystring: z.strictObject({
          cursor: z.string().max(100).optional(),
          limit: Limit(200, 50),
        }),
        response: {
          200: z.object({ consents: z.array(GranteeConsentView), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const params: unknown[] = [p.merchantId, q.limit + 1];
      if (q.cursor !== undefined) params.push(decodeCursor(q.cursor).toString());
      const { rows } = await deps.db.query<ConsentRow>(
        `SELECT ${ROW_COLUMNS} FROM consents WHERE grantee = $1 AND merchant_id <> $1
         ${q.cursor === undefined ? "" : "AND granted_idx < $3"}
         ORDER BY granted_idx DESC LIMIT $2`,
        params,
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        consents: page.map((r) => granteeView(toView(r, clock.now()))),
        next: rows.length > q.limit && last ? encodeCursor(BigInt(last.granted_idx)) : null,
      };
    },
  );

  app.get(
    "/v1/consents/:id",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary: "A consent: whole to the merchant holding the data, its terms to the grantee",
        params: z.strictObject({ id: ConsentId }),
        response: { 200: z.union([ConsentView, GranteeConsentView]), ...errorResponses },
      },
    },
    async (req) => {
      const { view, holder } = await visible(principalOf(req), req.params.id);
      return holder ? view : granteeView(view);
    },
  );

  app.get(
    "/v1/consents/:id/receipt",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary:
          "The consent's receipt: a verifiable credential signed with the merchant's issuer key",
        params: z.strictObject({ id: ConsentId }),
        response: { 200: Receipt, ...errorResponses },
      },
    },
    async (req) => {
      const { view } = await visible(principalOf(req), req.params.id);
      return {
        receipt: await deps.issuer.receipt(receiptFacts(view)),
        jwks: `/v1/merchants/${view.merchantId}/issuer`,
      };
    },
  );

  app.post(
    "/v1/consents/:id/revoke",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary: "Record that a customer without a key withdrew a consent (at the till, by phone…)",
        params: z.strictObject({ id: ConsentId }),
        body: z.strictObject({
          method: z.enum(STAFF_METHODS).exclude(["double_opt_in"]).describe("how they withdrew it"),
        }),
        response: { 200: ConsentView, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { holder } = await visible(p, req.params.id);
      if (!holder) throw new ApiError(404, "not_found", `consent ${req.params.id} not found`);
      await consents.execute(
        consents.end({
          merchantId: p.merchantId,
          consentId: req.params.id,
          actor: actorOf(p),
          reason: "staff",
          method: req.body.method,
        }),
        req.params.id,
      );
      return (await visible(p, req.params.id)).view;
    },
  );

  app.get(
    "/v1/consents/:id/data",
    {
      onRequest: read,
      schema: {
        tags,
        security,
        summary:
          "A partner's read under a consent: the granted categories only, while it holds; every attempt is an access record",
        params: z.strictObject({ id: ConsentId }),
        headers: z.object({
          "patron-purpose": z
            .string()
            .regex(PURPOSE_ID)
            .optional()
            .describe("one of the consent's purposes; default its first"),
        }),
        querystring: z.strictObject({
          categories: z
            .string()
            .max(200)
            .optional()
            .describe(`comma-separated, of ${CONSENT_CATEGORIES.join(", ")}; default all granted`),
        }),
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async (req) => {
      const listed = req.query.categories?.split(",").map((s) => s.trim());
      const parsedCats = listed ? Categories.safeParse(listed) : undefined;
      if (parsedCats && !parsedCats.success) {
        throw new ApiError(
          400,
          "invalid_request",
          `categories: must be distinct values of ${CONSENT_CATEGORIES.join(", ")}`,
        );
      }
      const named = req.headers["patron-purpose"];
      return deps.partners.read(principalOf(req), req.params.id, {
        categories: parsedCats?.data,
        purpose: typeof named === "string" ? named : undefined,
      }) as unknown as Record<string, unknown>;
    },
  );

  app.get(
    "/v1/merchants/:id/issuer",
    {
      schema: {
        tags,
        summary: "The merchant's issuer keys (JWKS): what consent receipts verify against",
        params: z.strictObject({ id: MerchantId }),
        response: {
          200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      if (!(await deps.tenancy.merchant(req.params.id))) {
        throw new ApiError(404, "not_found", `merchant ${req.params.id} not found`);
      }
      reply.header("cache-control", "public, max-age=300");
      return (await deps.issuer.jwks(req.params.id)) as { keys: Record<string, unknown>[] };
    },
  );

  app.post(
    "/v1/customers/:id/marketing-emails",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Send a marketing email under the customer's consent, with one-click unsubscribe (RFC 8058)",
        params: z.strictObject({ id: CustomerId }),
        body: z.strictObject({
          subject: Label(200),
          text: z
            .string()
            .max(20_000)
            .refine((s) => s.trim() !== "", "must not be empty"),
        }),
        response: {
          201: z.object({
            consentId: z.string(),
            delivery: z.enum(["smtp", "sms", "outbox"]),
          }),
          ...errorResponses,
          502: errorResponses[409],
        },
      },
    },
    async (req, reply) => {
      const sent = await deps.marketing.send(principalOf(req), req.params.id, req.body);
      reply.code(201);
      return sent;
    },
  );

  app.get(
    "/v1/consent-requests/:id/confirm",
    {
      schema: {
        tags,
        summary:
          "The page a double opt-in link opens: a button that confirms (GET changes nothing)",
        params: z.strictObject({ id: RequestId }),
        querystring: z.strictObject({ token: Token }),
      },
    },
    async (req, reply) => {
      reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
      return page(
        "Confirm your consent",
        `<form method="post" action="/v1/consent-requests/${req.params.id}/confirm-link"><input type="hidden" name="token" value="${req.query.token}"><button type="submit">Confirm</button></form>`,
      );
    },
  );

  app.get(
    "/v1/unsubscribe/:token",
    {
      schema: {
        tags,
        summary: "The page an unsubscribe link opens in a browser: a button (GET changes nothing)",
        params: z.strictObject({ token: UnsubscribeToken }),
      },
    },
    async (req, reply) => {
      reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
      return page(
        "Unsubscribe",
        `<form method="post" action="/v1/unsubscribe/${req.params.token}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe from marketing email</button></form>`,
      );
    },
  );

  // The link's form and RFC 8058 one-click POSTs are form-encoded: parsed on these routes only.
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post(
      "/v1/consent-requests/:id/confirm-link",
      {
        schema: {
          tags,
          summary: "Confirm a double opt-in by its link's token (the page's form posts here)",
          params: z.strictObject({ id: RequestId }),
          body: z.strictObject({ token: Token }),
        },
      },
      async (req, reply) => {
        await deps.requests.confirm(req.params.id, req.body.token);
        reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
        return page("Consent confirmed", "<p>Thank you. You can close this page.</p>");
      },
    );
    scope.post(
      "/v1/unsubscribe/:token",
      {
        config: { ownBody: true },
        schema: {
          tags,
          summary:
            "One-click unsubscribe (RFC 8058): withdraws marketing email from the consent; no key, no cookie",
          // RFC 8058 sends `List-Unsubscribe=One-Click`; the token alone decides, so any body
          // (or none) is taken.
          params: z.strictObject({ token: UnsubscribeToken }),
        },
      },
      async (req, reply) => {
        await deps.marketing.unsubscribe(req.params.token);
        reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
        return page("Unsubscribed", "<p>You will get no more marketing email from us.</p>");
      },
    );
  });
}

import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { type App, principalOf, requireRole } from "../http/app.js";
import { errorResponses, IdOf } from "../http/schemas.js";
import { actorOf, can } from "../tenancy/roles.js";
import type { Verifications } from "./verifications.js";

const VerificationId = z
  .string()
  .regex(/^vf_[A-Za-z0-9_-]{16}$/, "must be a verification id (vf_…)");
const Token = z.string().regex(/^[A-Za-z0-9_-]{32}$/, "must be the token from the link");
const Code = z.string().regex(/^[0-9]{6}$|^[A-Za-z0-9_-]{32}$/, "must be the 6-digit code");

const Confirmed = z.object({
  customerId: z.string(),
  merged: z
    .string()
    .nullable()
    .describe("the record the verified identifier joined to this one, merged into it"),
  entryIndex: z.number(),
});

/** The page an emailed link opens: one button, so link scanners that fetch it confirm nothing. */
const PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

/** Identity verifications: staff start them; a code or a link confirms them. */
export function verificationRoutes(app: App, deps: { verifications: Verifications }) {
  const { verifications } = deps;
  const tags = ["customers"];
  const security = [{ apiKey: [] }];
  const write = requireRole(can.write, "verify identifiers");

  app.post(
    "/v1/customers/:id/verifications",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Send a link (email) or a code (SMS) that proves the customer controls an identifier; confirmed, it may merge the record holding it",
        params: z.strictObject({ id: IdOf("c", "a customer") }),
        body: z.union(
          [
            z.strictObject({ email: z.string().min(3).max(254) }),
            z.strictObject({ phone: z.string().min(2).max(40) }),
          ],
          { error: "give exactly one of email or phone" },
        ),
        response: {
          201: z.object({
            id: z.string(),
            kind: z.enum(["email", "phone"]),
            expiresAt: z.string(),
            delivery: z.enum(["smtp", "sms", "outbox"]),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const [kind, value] =
        "email" in req.body
          ? (["email", req.body.email] as const)
          : (["phone", req.body.phone] as const);
      const started = await verifications.start(p.merchantId, req.params.id, kind, value);
      reply.code(201);
      return started;
    },
  );

  app.post(
    "/v1/verifications/:id/confirm",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Confirm a verification with the code the customer received (at the till, on the phone)",
        params: z.strictObject({ id: VerificationId }),
        body: z.strictObject({ code: Code }),
        response: {
          200: Confirmed,
          ...errorResponses,
          410: errorResponses[404],
          429: errorResponses[404],
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return verifications.confirm(req.params.id, req.body.code, actorOf(p), p.merchantId);
    },
  );

  app.get(
    "/v1/verifications/:id/confirm",
    {
      schema: {
        tags,
        summary: "The page an emailed link opens: a button that confirms (no state changes on GET)",
        params: z.strictObject({ id: VerificationId }),
        querystring: z.strictObject({ token: Token }),
      },
    },
    async (req, reply) => {
      reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
      return page(
        "Confirm your email address",
        `<form method="post" action="/v1/verifications/${req.params.id}/confirm-link"><input type="hidden" name="token" value="${req.query.token}"><button type="submit">Confirm</button></form>`,
      );
    },
  );

  // The page's form posts `token=…` form-encoded: parsed on this route only.
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post(
      "/v1/verifications/:id/confirm-link",
      {
        schema: {
          tags,
          summary: "Confirm an email by the token of its link (the page's form posts here)",
          params: z.strictObject({ id: VerificationId }),
          body: z.strictObject({ token: Token }),
        },
      },
      async (req, reply) => {
        await verifications.confirm(req.params.id, req.body.token, "node:email-link");
        reply.header("content-security-policy", PAGE_CSP).type("text/html; charset=utf-8");
        return page("Email address confirmed", "<p>Thank you. You can close this page.</p>");
      },
    );
  });
}

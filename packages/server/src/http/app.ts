import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { isWellFormedUnicode } from "@patron/ledger";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { type Principal, type Role, withArticle } from "../tenancy/roles.js";
import { ApiError } from "./errors.js";
import {
  API_CSP,
  BASE_HEADERS,
  boundConnections,
  clientErrorHandler,
  codeOfStatus,
  frameworkErrors,
  jsonBodyText,
  RouteMethods,
  refuseExpectation,
  refuseRepeatedHeaders,
} from "./hardening.js";

export type App = FastifyInstance<
  import("node:http").Server,
  import("node:http").IncomingMessage,
  import("node:http").ServerResponse,
  import("fastify").FastifyBaseLogger,
  ZodTypeProvider
>;

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
    /** Set when the bearer token is the node operator's key. */
    operator?: boolean;
    /** Set when the bearer token is a customer's portal session. */
    customer?: CustomerPrincipal;
  }
  interface FastifyContextConfig {
    /**
     * The handler reads the body itself (an optional body, a stream): a route without a body
     * schema is otherwise refused any body with members.
     */
    ownBody?: boolean;
  }
}

/** A customer signed in to the portal with their key for one merchant. */
export interface CustomerPrincipal {
  merchantId: string;
  customerId: string;
  /** The did:key that signed in. */
  actor: string;
  sessionId: string;
  /** The records whose entries they see: their own, and those merged into it. */
  records: readonly string[];
}

/** Portal session tokens start with this, so they are never taken for API keys. */
export const CUSTOMER_TOKEN_PREFIX = "pcs_";

const customerAuthenticators = new WeakMap<
  object,
  (token: string) => Promise<CustomerPrincipal | undefined>
>();

/** Customer sessions by bearer token (the identity domain supplies them). */
export function useCustomerSessions(
  app: App,
  authenticate: (token: string) => Promise<CustomerPrincipal | undefined>,
): void {
  customerAuthenticators.set(app, authenticate);
}

/** An onRequest hook for the portal's routes: a customer's session, nothing else. */
export async function requireCustomer(req: FastifyRequest) {
  if (!req.customer) {
    throw new ApiError(
      401,
      "unauthorized",
      "this endpoint needs a customer session (sign in with your key: POST /v1/portal/sessions)",
    );
  }
}

/** The signed-in customer, for handlers behind `requireCustomer`. */
export function customerOf(req: FastifyRequest): CustomerPrincipal {
  if (!req.customer)
    throw new ApiError(401, "unauthorized", "this endpoint needs a customer session");
  return req.customer;
}

export interface AppOptions {
  logger?: boolean;
  bodyLimit?: number;
  /** Resolves an API key to who holds it, or undefined when no such active key exists. */
  authenticate: (token: string) => Promise<Principal | "operator" | undefined>;
  version: string;
  /** How long a client has to send a whole request, headers and body (default 10 s). */
  requestTimeoutMs?: number;
  /** Connections one client address may hold open at once (default 128; 0: no bound). */
  maxConnectionsPerClient?: number;
}

/**
 * Staff sessions by cookie (the staff domain supplies them). A request the cookie authenticates
 * that changes state must carry the session's CSRF token and come from the node's own origin.
 */
export interface SessionAuthenticator {
  cookie: string;
  authenticate(token: string): Promise<Principal | undefined>;
  csrfMatches(session: string, header: string): boolean;
}

const sessionAuthenticators = new WeakMap<object, SessionAuthenticator>();

export function useSessions(app: App, sessions: SessionAuthenticator): void {
  sessionAuthenticators.set(app, sessions);
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Routes that authenticate by what they carry (a customer's signature, decision 10; an emailed
 * link's token): a staff cookie beside it is ignored, so it needs no CSRF token either.
 */
const SIGNATURE_AUTHENTICATED = new Set([
  "/v1/commands",
  "/v1/verifications/:id/confirm-link",
  "/v1/consent-requests/:id/confirm-link",
  "/v1/unsubscribe/:token",
]);

/** Refuses a state-changing request a session cookie authenticates unless it proves its origin. */
function refuseCrossSite(req: FastifyRequest, sessions: SessionAuthenticator, session: string) {
  const refuse = (why: string): never => {
    throw new ApiError(403, "csrf_failed", why);
  };
  const header = req.headers["x-csrf-token"];
  if (typeof header !== "string" || !sessions.csrfMatches(session, header)) {
    refuse(
      "a request signed in by the session cookie needs its x-csrf-token (from sign-in or /v1/staff/me)",
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${req.protocol}://${req.host}`) {
    refuse(`a request signed in by the session cookie may not come from ${origin}`);
  }
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    refuse(`a request signed in by the session cookie may not come from a ${site} page`);
  }
}

/** The longest path segment a route parameter takes, and the longest URL. */
const MAX_PARAM_LENGTH = 200;
const MAX_URL_LENGTH = 8192;

/** The HTTP shell every domain's routes plug into: validation, errors, auth, OpenAPI. */
export async function createApp(opts: AppOptions): Promise<App> {
  const deadline = opts.requestTimeoutMs ?? 10_000;
  const app = Fastify({
    logger: opts.logger
      ? {
          level: "info",
          // Query strings carry lookups (emails, phones) and link tokens: logged as the path alone.
          serializers: {
            req: (req: { method: string; url: string; ip?: string }) => ({
              method: req.method,
              url: req.url.split("?")[0],
              remoteAddress: req.ip,
            }),
          },
        }
      : false,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: deadline,
    // Answered by the onRequest hook below, in the API's shape: requests while closing (503)
    // and requests without Host (400), which Node would answer with an empty body.
    return503OnClosing: false,
    http: {
      requireHostHeader: false,
      headersTimeout: deadline,
      // Node checks the deadlines every connectionsCheckingInterval: a fraction of the
      // deadline, so a slow client is cut off close to it.
      requestTimeout: deadline,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(deadline / 4))),
    },
    clientErrorHandler: clientErrorHandler(deadline),
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  app.server.on("checkExpectation", refuseExpectation);
  const refused = boundConnections(app.server, opts.maxConnectionsPerClient ?? 128);
  // Node's own 503 while closing has neither the error shape nor the headers: answered here.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });

  // Every path's methods, for 405. The explorer's catch-all GET is not an API path's method.
  const methods = new RouteMethods();
  app.addHook("onRoute", (route) => {
    if (route.url !== "/*") methods.add(route.url, route.method);
  });

  // Every request body is JSON; anything else is refused with 415 rather than half-parsed.
  app.removeContentTypeParser("text/plain");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    try {
      done(null, parseJsonBody(jsonBodyText(req.headers["content-type"], body as Buffer)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Patron API",
        version: opts.version,
        description:
          "Verifiable CRM and coalition loyalty. Ledger reads are public; writes need an API key (`Authorization: Bearer <key>`). Errors are `{ error: { code, message } }`.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer" },
          session: { type: "apiKey", in: "cookie", name: "patron_session" },
          customerSession: {
            type: "http",
            scheme: "bearer",
            description: "a customer's portal session (pcs_…), from POST /v1/portal/sessions",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // Swagger UI's own CSP (hashes of its inline code), and never inside another site's frame.
    staticCSP: true,
    transformStaticCSP: (csp) =>
      csp
        .replace(/frame-ancestors [^;]*/, "frame-ancestors 'none'")
        // A node served over plain HTTP must still load its own /docs assets.
        .replace(/\s*upgrade-insecure-requests;?/, "")
        .replace(/\s*$/, ""),
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  // Parses the Cookie header for staff sessions; registered before the hook below reads it.
  await app.register(cookie);

  app.addHook("onSend", async (req, reply, payload) => {
    // Answered before its body arrived (a refused key, an unknown path): the connection is not
    // kept, so the client cannot keep it busy sending the rest.
    if (!req.raw.complete) reply.header("connection", "close");
    for (const [name, value] of Object.entries(BASE_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    // Pages (the explorer, /docs) set their own policy; anything else loads and runs nothing.
    if (!reply.hasHeader("content-security-policy")) {
      reply.header("content-security-policy", API_CSP);
    }
    return payload;
  });

  app.addHook("onRequest", async (req, reply) => {
    if (refused.has(req.raw.socket)) {
      // Over the connection bound: already answered 429 on the socket.
      req.raw.socket.destroy();
      return reply.hijack();
    }
    if (closing) throw new ApiError(503, "shutting_down", "the node is shutting down");
    if (!req.headers.host) {
      throw new ApiError(400, "missing_host", "an HTTP/1.1 request needs a Host header");
    }
    // An unknown path or method is answered before any body is read.
    if (req.is404) notFound(req.url, req.method);
    if (req.url.length > MAX_URL_LENGTH) {
      throw new ApiError(
        414,
        "uri_too_long",
        `the URL is longer than ${MAX_URL_LENGTH} characters`,
      );
    }
    refuseRepeatedHeaders(req);
    const header = req.headers.authorization;
    if (!header) {
      // No bearer key: a staff session cookie may authenticate; a stale one reads as none.
      const sessions = sessionAuthenticators.get(app);
      const session = sessions ? req.cookies[sessions.cookie] : undefined;
      if (!sessions || !session || SIGNATURE_AUTHENTICATED.has(req.routeOptions.url ?? "")) return;
      const principal = await sessions.authenticate(session);
      if (!principal) return;
      if (STATE_CHANGING.has(req.method)) refuseCrossSite(req, sessions, session);
      req.principal = principal;
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m?.[1]) {
      throw new ApiError(401, "unauthorized", "Authorization must be `Bearer <api key>`");
    }
    const customers = customerAuthenticators.get(app);
    if (customers && m[1].startsWith(CUSTOMER_TOKEN_PREFIX)) {
      const customer = await customers(m[1]);
      if (!customer) {
        throw new ApiError(401, "session_expired", "the session has ended: sign in again");
      }
      req.customer = customer;
      return;
    }
    const principal = await opts.authenticate(m[1]);
    if (!principal) throw new ApiError(401, "unauthorized", "unknown or revoked API key");
    if (principal === "operator") req.operator = true;
    else req.principal = principal;
  });

  // One check of the body against what the route takes. A route with a body schema: many
  // clients send `Content-Type: application/json` on every request, bodyless ones too, so an
  // empty body parses as no body, and only a route that needs one refuses it (one whose fields
  // are all optional takes none as `{}`, which is what such a client means). A route without
  // one takes no fields: one sent anyway is refused as an unknown field would be, not silently
  // dropped (no body and `{}` pass, as many clients send them), unless its handler reads the
  // body itself (`ownBody`).
  app.addHook("preValidation", async (req) => {
    const body = req.routeOptions.schema?.body;
    if (body) {
      if (req.body === undefined && !accepts(body, undefined)) {
        if (accepts(body, {})) {
          req.body = {};
          return;
        }
        throw new ApiError(
          400,
          "invalid_request",
          "this endpoint needs a JSON body (Content-Type: application/json); the request has none",
        );
      }
      return;
    }
    if (STATE_CHANGING.has(req.method) && !req.routeOptions.config.ownBody) refuseBody(req.body);
  });

  // Path parameters and query strings, decoded, may not hold NUL either.
  app.addHook("preValidation", async (req) => {
    for (const part of [req.params, req.query]) {
      if (!part || typeof part !== "object") continue;
      for (const v of Object.values(part as Record<string, unknown>)) {
        const values = Array.isArray(v) ? v : [v];
        if (values.some((x) => typeof x === "string" && x.includes("\0"))) {
          throw new ApiError(400, "nul_character", "the URL has a %00 (NUL) character");
        }
      }
    }
  });

  /** Why no route answers: a path segment too long (414), another method (405), or none (404). */
  const notFound = (url: string, method = "GET"): never => {
    const path = url.split("?")[0] ?? "/";
    // The router does not match a parameter over its length limit; say so rather than 404.
    if (path.split("/").some((segment) => segment.length > MAX_PARAM_LENGTH)) {
      throw new ApiError(
        414,
        "uri_too_long",
        `a path segment is longer than ${MAX_PARAM_LENGTH} characters`,
      );
    }
    const allowed = methods.allowed(path);
    if (allowed.length > 0 && !allowed.includes(method)) {
      throw new ApiError(
        405,
        "method_not_allowed",
        `${path} answers ${allowed.join(", ")}, not ${method}`,
        undefined,
        { allow: allowed.join(", ") },
      );
    }
    throw new ApiError(404, "not_found", `no route for ${method} ${path}`);
  };

  app.setNotFoundHandler((req) => notFound(req.url, req.method));

  app.setErrorHandler((err, req, reply) => {
    const { status, code, message, details } = describeError(err);
    if (status >= 500) req.log.error(err);
    if (err instanceof ApiError && err.headers) reply.headers(err.headers);
    reply.code(status).send({ error: { code, message, ...(details ? { details } : {}) } });
  });

  return app as unknown as App;
}

/** Refuses a body for a route that takes none, in the shape of a strict schema's answer. */
export function refuseBody(body: unknown): void {
  if (body === undefined) return;
  const isObject = typeof body === "object" && body !== null && !Array.isArray(body);
  const keys = isObject ? Object.keys(body) : [];
  if (isObject && keys.length === 0) return;
  const named = keys.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 100)));
  if (keys.length > 5) named.push(`and ${keys.length - 5} more`);
  const message = isObject
    ? `Unrecognized key${keys.length > 1 ? "s" : ""}: ${named.join(", ")} (this endpoint takes no body)`
    : "this endpoint takes no body: send none, or {}";
  throw new ApiError(400, "invalid_request", `body/: ${message}`, [{ path: "body/", message }]);
}

/**
 * A request body as JSON; empty means no body. Refused: nesting over 64 levels, NUL, lone
 * surrogates, and keys named `__proto__` or `constructor` (Fastify's own parser refuses them
 * too, calling the JSON invalid): merged into an object they could reach its prototype, and no
 * Patron request has a field of either name.
 */
export function parseJsonBody(body: string): unknown {
  if (body.trim() === "") return undefined;
  const depth = nesting(body);
  if (depth > MAX_JSON_DEPTH) {
    // Canonicalising and validating recurse: a few thousand levels would overflow the stack.
    throw new ApiError(
      400,
      "json_too_deep",
      `the JSON body nests ${depth > 10_000 ? "over 10000" : depth} levels deep; at most ${MAX_JSON_DEPTH} are allowed`,
    );
  }
  try {
    return JSON.parse(body, (key, value) => {
      if (key === "__proto__" || key === "constructor") {
        throw new ApiError(
          400,
          "invalid_request",
          `JSON keys named __proto__ or constructor are not allowed (found "${key}")`,
        );
      }
      // PostgreSQL's text and jsonb cannot hold U+0000: refused rather than failing in storage.
      if (key.includes("\0") || (typeof value === "string" && value.includes("\0"))) {
        throw new ApiError(400, "nul_character", "the JSON body has a U+0000 (NUL) character");
      }
      // A \ud800 escape parses to a lone surrogate: no UTF-8 text, no canonical JSON, no entry.
      if (!isWellFormedUnicode(key) || (typeof value === "string" && !isWellFormedUnicode(value))) {
        throw new ApiError(
          400,
          "invalid_unicode",
          "the JSON body has a lone surrogate (an unpaired \\uD800-\\uDFFF escape)",
        );
      }
      return value;
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "malformed_json", `malformed JSON body: ${(err as Error).message}`);
  }
}

const MAX_JSON_DEPTH = 64;

/** How deep arrays and objects nest in JSON text (brackets inside strings do not count). */
function nesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > 10_001) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** A zod issue as the validation error carries it: an invalid union has each branch's issues. */
interface Issue {
  path: readonly PropertyKey[];
  code: string;
  message: string;
  errors?: unknown;
}

/**
 * A union's "Invalid input" replaced by the issues of the branch the input was meant for, so
 * the answer names the field (`body/amount: must be an integer…`, not `body/: Invalid input`):
 * a branch whose own level is of another type or value, or has keys it does not know, is not
 * the one meant. When exactly one is left, its issues are the answer; otherwise the union's own
 * issue stands. Branch issues' paths are relative to the union's.
 */
function unionIssues(issue: Issue): Issue[] {
  const branches = Array.isArray(issue.errors) ? (issue.errors as Issue[][]) : [];
  if (issue.code !== "invalid_union" || branches.length === 0) return [issue];
  const mismatch = (b: Issue[]) =>
    b.some(
      (i) =>
        i.path.length === 0 &&
        (i.code === "invalid_type" || i.code === "invalid_value" || i.code === "unrecognized_keys"),
    );
  const fits = branches.filter((b) => !mismatch(b));
  // None meant (a number where an object goes), or more than one (`{}` for an email or a
  // phone): the union's own message, which claims no more than it knows.
  const [meant] = fits;
  if (fits.length !== 1 || !meant || meant.length === 0) return [issue];
  return meant.flatMap((i) => unionIssues({ ...i, path: [...issue.path, ...i.path] }));
}

function describeError(err: unknown): {
  status: number;
  code: string;
  message: string;
  details?: unknown;
} {
  if (err instanceof ApiError) {
    return { status: err.status, code: err.code, message: err.message, details: err.details };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issues = err.validation.flatMap((v) =>
      unionIssues({
        path: v.instancePath
          .split("/")
          .slice(1)
          .filter((k) => k !== ""),
        code: v.keyword,
        message: v.message ?? "",
        errors: (v.params as { errors?: unknown } | undefined)?.errors,
      }).map((i) => ({
        path: `${err.validationContext ?? ""}/${i.path.join("/")}`,
        message: i.message,
      })),
    );
    return {
      status: 400,
      code: "invalid_request",
      message: issues.map((i) => `${i.path || "request"}: ${i.message}`).join("; "),
      details: issues,
    };
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, code: "body_too_large", message: "request body is too large" };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        code: "unsupported_media_type",
        message: "send the body as application/json",
      };
  }
  if (err instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return { status: 400, code: "malformed_json", message: `malformed JSON body: ${e.message}` };
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: e.statusCode,
      code: codeOfStatus(e.statusCode),
      message: e.message ?? "bad request",
    };
  }
  return { status: 500, code: "internal", message: "internal error" };
}

/**
 * An onRequest hook that demands an API key whose role passes `allowed`: refused before the body
 * is read, so a client without the right key cannot hold a request open by sending it slowly.
 */
export function requireRole(allowed: (r: Role) => boolean, what: string) {
  return async (req: FastifyRequest) => {
    if (req.operator) {
      throw new ApiError(
        403,
        "forbidden",
        `the operator key creates merchants; it cannot ${what} (use a merchant's key)`,
      );
    }
    if (!req.principal) {
      throw new ApiError(
        401,
        "unauthorized",
        "this endpoint needs an API key (Authorization: Bearer <key>)",
      );
    }
    if (!allowed(req.principal.role)) {
      throw new ApiError(403, "forbidden", `${withArticle(req.principal.role)} key cannot ${what}`);
    }
  };
}

/** An onRequest hook that demands the node operator's key (before the body, as above). */
export async function requireOperator(req: FastifyRequest) {
  if (!req.operator) {
    throw new ApiError(
      req.principal ? 403 : 401,
      req.principal ? "forbidden" : "unauthorized",
      "this endpoint needs the node operator's key (Authorization: Bearer <operator key>)",
    );
  }
}

/** The caller, for handlers behind `requireRole`. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(401, "unauthorized", "this endpoint needs an API key");
  return req.principal;
}

/** Whether a route's body schema takes `value` (undefined: it is `.optional()`; `{}`: every
 * field is). */
function accepts(schema: unknown, value: unknown): boolean {
  const parse = (schema as { safeParse?: (v: unknown) => { success: boolean } }).safeParse;
  return typeof parse === "function" && parse.call(schema, value).success;
}

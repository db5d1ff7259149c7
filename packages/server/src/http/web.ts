import { existsSync, statSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { App } from "./app.js";

// This module runs from packages/server/src/http under tests and from packages/server/dist/http
// in production: three levels up is packages/ either way.
const here = dirname(fileURLToPath(import.meta.url));
export const defaultWebRoot = resolve(here, "../../../web/dist");

/** Paths that belong to the API: they keep its JSON 404 instead of the explorer's page. */
function isApiPath(path: string): boolean {
  return (
    path === "/v1" ||
    path.startsWith("/v1/") ||
    path.startsWith("/docs") ||
    path === "/openapi.json" ||
    path === "/health" ||
    path.startsWith("/health/")
  );
}

const acceptsHtml = (req: FastifyRequest) => (req.headers.accept ?? "").includes("text/html");

/** The customer portal's pages: its own HTML entry (me.html), its own routes below /me. */
const isPortalPath = (path: string) => path === "/me" || path.startsWith("/me/");

// The explorer is all same-origin: its code, its styles and the API it verifies. Nothing
// inline, so a hostile ledger entry shown on a page can never run as script. The one other
// place the pages may call is the chain's public JSON-RPC endpoint (PATRON_CHAIN_PUBLIC_RPC_URL),
// where the portal and the explorer read the anchoring contract themselves.
export function contentSecurityPolicy(connect: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...connect].join(" "),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function pageHeaders(reply: FastifyReply, csp: string) {
  reply
    .header("content-security-policy", csp)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cache-control", "no-cache");
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Patron: explorer not built</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #0f172a">
<h1 style="font-size: 1.5rem">The ledger explorer is not built</h1>
<p>This node serves the explorer from <code>packages/web/dist</code>, which does not exist yet. Build it with</p>
<pre style="background: #f1f4f8; padding: .75rem 1rem; border-radius: 8px">npm run build</pre>
<p>and reload this page. The API works meanwhile: see <a href="/docs">/docs</a>.</p>
</body></html>
`;

/**
 * Serves the ledger explorer (packages/web/dist): its files as they are, and index.html for any
 * other page path a browser asks for, so client-side routes survive a reload or a shared link.
 * Paths under /me get the customer portal's page (me.html) instead.
 * API paths and requests that do not want HTML keep the API's JSON 404.
 */
export async function registerWeb(
  app: App,
  opts: {
    root?: string;
    /** URLs the pages may also call (their origins go into connect-src): the public RPC URL. */
    connect?: readonly string[];
  } = {},
): Promise<void> {
  const root = resolve(opts.root ?? defaultWebRoot);
  const csp = contentSecurityPolicy(
    [...new Set((opts.connect ?? []).map((u) => new URL(u).origin))].sort(),
  );
  // serve: false: files are looked up per request, so a rebuild while the node runs is served
  // without a restart (the plugin would otherwise list the directory once, at start).
  await app.register(fastifyStatic, { root, serve: false });

  const fileUnder = (path: string): string | undefined => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    if (decoded.includes("\0")) return undefined;
    const full = resolve(root, `.${decoded}`);
    if (!full.startsWith(root + sep)) return undefined;
    try {
      return statSync(full).isFile() ? relative(root, full).split(sep).join("/") : undefined;
    } catch {
      return undefined;
    }
  };

  app.get("/*", { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split("?")[0] ?? "/";
    if (isApiPath(path)) return reply.callNotFound();
    const file = path === "/" ? undefined : fileUnder(path);
    if (file && !file.endsWith(".html")) {
      // Vite names built assets by their content hash, so they never change.
      const immutable = file.startsWith("assets/");
      if (!immutable) reply.header("cache-control", "no-cache");
      return reply.sendFile(file, {
        maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0,
        immutable,
        cacheControl: immutable,
      });
    }
    if (file) {
      pageHeaders(reply, csp);
      return reply.sendFile(file, { cacheControl: false });
    }
    // The root is the explorer's front door whatever the client accepts; deeper paths are
    // pages only for a client that asks for one.
    if (path !== "/" && !acceptsHtml(req)) return reply.callNotFound();
    const page = isPortalPath(path) ? "me.html" : "index.html";
    if (!existsSync(resolve(root, page))) {
      return reply
        .code(503)
        .type("text/html; charset=utf-8")
        .header(
          "content-security-policy",
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        )
        .send(NOT_BUILT);
    }
    pageHeaders(reply, csp);
    return reply.sendFile(page, { cacheControl: false });
  });
}

import type { z } from "zod";
import { ApiError } from "../../lib/api.js";

// The console's calls to the node, signed in by the HttpOnly session cookie the browser sends
// by itself. Every state-changing call carries the session's CSRF token (decision 10), and
// every answer is parsed with its schema before a page sees it: the console trusts no answer.

/** An API error with the per-field issues the node lists for a request it refused. */
export class ConsoleApiError extends ApiError {
  override name = "ConsoleApiError";
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(status, code, message);
  }
}

let csrfToken: string | undefined;

/** Remembered from sign-in or /v1/staff/me; only in memory, so it leaves with the tab. */
export function setCsrfToken(token: string | undefined) {
  csrfToken = token;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body. */
  body?: unknown;
  /** A body sent as it is, with its content type (a CSV file). */
  raw?: { data: Blob | string; type: string };
  headers?: Record<string, string>;
}

export function pathWith(path: string, query?: CallOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== "") params.set(k, String(v));
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

async function send(method: Method, path: string, opts: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.raw) {
    headers["content-type"] = opts.raw.type;
    body = opts.raw.data;
  } else if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(pathWith(path, opts.query), {
      method,
      headers,
      body,
      credentials: "same-origin",
    });
  } catch {
    throw new ConsoleApiError(0, "unreachable", "The node cannot be reached.");
  }
  if (res.ok) return res;
  let code = "http_error";
  let message = `${res.status} ${res.statusText}`.trim();
  let details: unknown;
  try {
    const parsed = (await res.json()) as {
      error?: { code?: unknown; message?: unknown; details?: unknown };
    };
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
    details = parsed.error?.details;
  } catch {
    // not the API's JSON error shape: keep the status line
  }
  throw new ConsoleApiError(res.status, code, message, details);
}

/** Calls the API and parses its JSON answer with `schema`. */
export async function call<S extends z.ZodType>(
  method: Method,
  path: string,
  schema: S,
  opts: CallOptions = {},
): Promise<z.infer<S>> {
  const res = await send(method, path, opts);
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new ConsoleApiError(200, "bad_answer", `${path} did not answer JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ConsoleApiError(200, "bad_answer", `${path}: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

/** Calls the API for an answer without a body (204 No Content). */
export async function callNoContent(
  method: Method,
  path: string,
  opts: CallOptions = {},
): Promise<void> {
  await send(method, path, opts);
}

/** The field a refused request's issue is about, from the node's `details` (`body/emails/0`). */
export function issuesByField(err: unknown): Map<string, string> {
  const found = new Map<string, string>();
  if (!(err instanceof ConsoleApiError) || !Array.isArray(err.details)) return found;
  for (const issue of err.details as unknown[]) {
    if (typeof issue !== "object" || issue === null) continue;
    const { path, message } = issue as { path?: unknown; message?: unknown };
    if (typeof path !== "string" || typeof message !== "string") continue;
    const field = path.replace(/^body\/?/, "").split("/")[0];
    if (field && !found.has(field)) found.set(field, message);
  }
  return found;
}

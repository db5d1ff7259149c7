import type { z } from "zod";
import { ApiError } from "../../lib/api.js";

// The portal's calls to the node. Signed-in calls carry the customer's session token as a
// Bearer token (it lives in this tab's sessionStorage only: session/session.ts). Every answer
// is parsed with its schema before a page sees it: the portal trusts no answer.

/** An API error with the details the node sent (per-field issues, a recovery id…). */
export class PortalApiError extends ApiError {
  override name = "PortalApiError";
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(status, code, message);
  }
}

type Method = "GET" | "POST" | "DELETE";

export interface CallOptions {
  body?: unknown;
  /** The customer session's bearer token. */
  token?: string;
}

async function send(method: Method, path: string, opts: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: "omit",
    });
  } catch {
    throw new PortalApiError(0, "unreachable", "The node cannot be reached.");
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
  throw new PortalApiError(res.status, code, message, details);
}

/** Calls the API and parses its JSON answer with `schema` (204: undefined). */
export async function call<S extends z.ZodType>(
  method: Method,
  path: string,
  schema: S,
  opts: CallOptions = {},
): Promise<z.infer<S>> {
  const res = await send(method, path, opts);
  if (res.status === 204) return schema.parse(undefined);
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new PortalApiError(200, "bad_answer", `${path} did not answer JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new PortalApiError(200, "bad_answer", `${path}: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

/** Calls the API for a text answer (the ledger's verifier key), trimmed. */
export async function callText(path: string, opts: CallOptions = {}): Promise<string> {
  const res = await send("GET", path, opts);
  return (await res.text()).trim();
}

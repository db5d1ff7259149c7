import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "./errors.js";

/**
 * What the HTTP layer refuses before any route runs, and how: every refusal, whether Fastify,
 * Node's HTTP parser or a route raises it, is `{ error: { code, message } }` with a code that
 * names its status. docs/security.md lists them.
 */

/** The code of an error with this status when nothing more specific is known. */
export function codeOfStatus(status: number): string {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 406:
      return "not_acceptable";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 411:
      return "length_required";
    case 413:
      return "body_too_large";
    case 414:
      return "uri_too_long";
    case 415:
      return "unsupported_media_type";
    case 416:
      return "range_not_satisfiable";
    case 417:
      return "expectation_failed";
    case 429:
      return "too_many_requests";
    case 431:
      return "headers_too_large";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

/** Headers on every response: nothing is sniffed into another type, nothing is framed. */
export const BASE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** For API responses (JSON, proofs): no content of their own may load or run anything. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * An error answered straight on the socket, where Node's HTTP parser or the connection bound
 * stops a request before Fastify sees it. The connection is closed after it.
 */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  const headers = {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
    "content-security-policy": API_CSP,
    ...BASE_HEADERS,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n${lines.join("")}\r\n${body}`;
}

/**
 * Fastify's `clientErrorHandler`: Node's parser found the request malformed, too slow, or its
 * headers too large.
 */
export function clientErrorHandler(
  deadlineMs: number,
): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    // A response already under way on this socket (pipelining) must not get bytes spliced in.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    let answer: string;
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      answer = rawErrorResponse(
        408,
        "request_timeout",
        `the request was not received in full within ${deadlineMs / 1000} s`,
      );
    } else if (err.code === "HPE_HEADER_OVERFLOW") {
      answer = rawErrorResponse(
        431,
        "headers_too_large",
        "the request line and headers are too large (16 KiB at most)",
      );
    } else {
      answer = rawErrorResponse(400, "bad_request", "the request is not valid HTTP/1.1");
    }
    if (socket.writable) socket.end(answer);
    socket.destroySoon();
  };
}

/** Fastify's `frameworkErrors`: a URL that cannot be decoded, or a path parameter too long. */
export function frameworkErrors(
  err: Error & { code?: string },
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  // Raised before routing: no hook runs for it, so the headers are set here.
  reply.headers({ ...BASE_HEADERS, "content-security-policy": API_CSP });
  if (err.code === "FST_ERR_MAX_PARAM_LENGTH") {
    reply
      .code(414)
      .send({ error: { code: "uri_too_long", message: "a path segment is too long" } });
  } else if (err.code === "FST_ERR_BAD_URL") {
    reply.code(400).send({
      error: { code: "bad_url", message: "the URL's path is not valid percent-encoding" },
    });
  } else {
    reply.code(500).send({ error: { code: "internal", message: "internal error" } });
  }
}

/**
 * `Expect` other than `100-continue`: Node would answer 417 with an empty body. Nothing here
 * supports another expectation.
 */
export function refuseExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    error: {
      code: "expectation_failed",
      message: "the only Expect this server supports is 100-continue",
    },
  });
  res.writeHead(417, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    connection: "close",
    "content-security-policy": API_CSP,
    ...BASE_HEADERS,
  });
  res.end(body);
}

/**
 * Bounds the connections one client address holds open at once (0: no bound). A connection over
 * the bound is answered 429 and closed before anything of its request is read.
 */
export function boundConnections(server: Server, perClient: number): WeakSet<Socket> {
  const refused = new WeakSet<Socket>();
  if (perClient <= 0) return refused;
  const open = new Map<string, number>();
  // Before Node's own listener: a refused socket is marked before any request on it is parsed.
  server.prependListener("connection", (socket: Socket) => {
    const address = clientOf(socket.remoteAddress ?? "");
    const n = (open.get(address) ?? 0) + 1;
    if (n > perClient) {
      refused.add(socket);
      socket.end(
        rawErrorResponse(
          429,
          "too_many_connections",
          `this address already has ${perClient} connections open; reuse one (keep-alive) or close some`,
        ),
      );
      socket.destroySoon();
      return;
    }
    open.set(address, n);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return refused;
}

/**
 * Whom a connection counts against: its IPv4 address, or the /64 of an IPv6 one (a client is
 * usually given a whole /64, and could take a new address from it for every connection).
 */
export function clientOf(address: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1] as string;
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.split("%")[0]?.split("::") ?? [];
  const left = head === "" ? [] : head.split(":");
  const right = address.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = address.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || "0", 16).toString(16))
    .join(":")}::/64`;
}

/** Headers a request may carry once at most: a second one is refused, not silently dropped. */
const SINGLE_HEADERS = new Set(["authorization", "content-type", "content-length", "host"]);

/** Refuses a request that repeats a header which must appear once (Node keeps the first). */
export function refuseRepeatedHeaders(req: FastifyRequest): void {
  const raw = req.raw.rawHeaders;
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) {
      throw new ApiError(400, "repeated_header", `the ${name} header appears more than once`);
    }
    seen.add(name);
  }
}

/**
 * The methods each route path answers, to tell "no such path" (404) from "not with this method"
 * (405 with `Allow`). Paths are Fastify patterns; `:name` matches one segment, `*` the rest.
 */
export class RouteMethods {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];
  private readonly byUrl = new Map<string, Set<string>>();

  add(url: string, methods: string | string[]): void {
    let set = this.byUrl.get(url);
    if (!set) {
      set = new Set();
      this.byUrl.set(url, set);
      const source = url
        .split("/")
        .map((seg) => {
          if (seg === "*") return ".*";
          if (seg.startsWith(":")) return "[^/]+";
          return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        })
        .join("/");
      this.routes.push({ pattern: new RegExp(`^${source}$`), methods: set });
    }
    for (const m of Array.isArray(methods) ? methods : [methods]) set.add(m.toUpperCase());
  }

  /** Methods some route answers at this path (empty: no route has the path). */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const r of this.routes) {
      if (r.pattern.test(path)) for (const m of r.methods) methods.add(m);
    }
    return [...methods].sort();
  }
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * A JSON body's text: UTF-8 (RFC 8259 §8.1), decoded strictly. A ledger must record exactly what
 * it was sent, so bytes that are not UTF-8 and any other declared charset are refused rather
 * than replaced with U+FFFD.
 */
export function jsonBodyText(contentType: string | undefined, body: Buffer): string {
  const charset = CHARSET.exec(contentType ?? "")?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new ApiError(
      415,
      "unsupported_charset",
      `JSON bodies are UTF-8; this one declares charset=${charset}`,
    );
  }
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new ApiError(400, "invalid_utf8", "the request body is not valid UTF-8");
  }
}

// ignoreBOM: false (the default) would strip a byte-order mark silently; JSON has none.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

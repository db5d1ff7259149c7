import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientOf } from "../src/http/hardening.js";
import { auditLedger } from "../src/ledger/audit.js";
import { type PatronNode, startNode } from "../src/node.js";
import { type Backend, backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce } from "./command-signing.js";
import { openIdle, type RawResponse, rawExchange } from "./raw-http.js";

// Each fault the fuzzing pass found, as its repro, against a node listening on 127.0.0.1.

const DEADLINE_MS = 600;
const digest = (s: string) => createHash("sha256").update(s).digest("hex");

/** The documented error shape, with a code that names the status. */
function expectError(r: RawResponse | undefined, status: number, code: string) {
  expect(r, "no response").toBeDefined();
  const res = r as RawResponse;
  expect(res.status, res.body).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.headers["x-content-type-options"]).toBe("nosniff");
  const body = JSON.parse(res.body);
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error as { code: string; message: string };
}

describe("connections counted per client", () => {
  it("counts IPv4 by address and IPv6 by its /64", () => {
    expect(clientOf("127.0.0.1")).toBe("127.0.0.1");
    expect(clientOf("::ffff:10.0.0.7")).toBe("10.0.0.7");
    expect(clientOf("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientOf("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(clientOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientOf("::1")).toBe("0:0:0:0::/64");
  });
});

describe.each(backends)("hostile input, on $name", (backend: Backend) => {
  let node: PatronNode;
  let port: number;
  let key: string;
  let cleanup: () => void;
  beforeAll(async () => {
    const c = backend.config({ requestTimeoutMs: DEADLINE_MS, maxConnectionsPerClient: 8 });
    cleanup = c.cleanup;
    node = await startNode(c.config, { schema: c.schema, listen: true });
    port = Number(new URL(node.url).port);
    key = node.ownerKey as string;
  });
  afterAll(async () => {
    await node?.close();
    cleanup?.();
  });

  const size = () => node.sequencer.head.size;
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const lines = Object.entries({
      host: "x",
      "content-type": "application/json",
      "content-length": String(bytes.length),
      ...headers,
    }).map(([k, v]) => `${k}: ${v}\r\n`);
    return rawExchange(port, [`POST ${path} HTTP/1.1\r\n${lines.join("")}\r\n`, bytes]);
  };
  const get = (path: string, headers: string[] = []) =>
    rawExchange(port, [
      `GET ${path} HTTP/1.1\r\nhost: x\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`,
    ]);

  it("1. refuses a request without a key before its body arrives", async () => {
    const before = size();
    const r = await rawExchange(
      port,
      [
        'POST /v1/attestations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"digest":',
      ],
      { waitMs: 5000 },
    );
    expectError(r, 401, "unauthorized");
    // Answered at once, not when the deadline cut the request off.
    expect((r as RawResponse).ms).toBeLessThan(DEADLINE_MS);
    // And the connection is not kept for the rest of the body.
    expect(r?.headers.connection).toBe("close");
    expect(size()).toBe(before);
  });

  it("1. answers 408 when an authorised body or the headers are not sent in time", async () => {
    const before = size();
    const slowBody = await rawExchange(
      port,
      [
        `POST /v1/attestations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"digest":`,
      ],
      { waitMs: 10_000 },
    );
    expectError(slowBody, 408, "request_timeout");
    expect((slowBody as RawResponse).ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    const slowHeaders = await rawExchange(port, ["GET /health HTTP/1.1\r\nHost: x\r\n"], {
      waitMs: 10_000,
    });
    expectError(slowHeaders, 408, "request_timeout");
    expect(size()).toBe(before);
  });

  it("1. bounds the connections one address holds open", async () => {
    const idle = await Promise.all(Array.from({ length: 8 }, () => openIdle(port)));
    try {
      const over = await get("/health");
      expectError(over, 429, "too_many_connections");
    } finally {
      for (const c of idle) c.socket.destroy();
    }
    // Closed connections no longer count (the server sees them close a moment later).
    let again = await get("/health");
    for (let i = 0; i < 50 && again?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await get("/health");
    }
    expect(again?.status).toBe(200);
  });

  it("3. refuses positions beyond what storage holds with 400", async () => {
    for (const path of [
      "/v1/ledger/checkpoints?after=9223372036854775808",
      "/v1/ledger/entries/9223372036854775808",
      "/v1/ledger/entries?from=18446744073709551615",
      "/v1/ledger/proofs/consistency?from=1&to=9223372036854775808",
    ]) {
      expectError(await get(path), 400, "invalid_request");
    }
    // The largest bigint is a valid (if empty) cursor.
    const r = await get("/v1/ledger/checkpoints?after=9223372036854775807");
    expect(r?.status).toBe(200);
  });

  it("4. refuses a lone surrogate with 400, with or without an Idempotency-Key", async () => {
    const before = size();
    const body = `{"digest":"${digest("x")}","subject":"x\\ud800x"}`;
    const auth = { authorization: `Bearer ${key}` };
    expectError(await post("/v1/attestations", body, auth), 400, "invalid_unicode");
    expectError(
      await post("/v1/attestations", body, { ...auth, "idempotency-key": "k1" }),
      400,
      "invalid_unicode",
    );
    expectError(
      await post("/v1/attestations", `{"digest":"${digest("x")}","\\udc00":1}`, auth),
      400,
      "invalid_unicode",
    );
    expect(size()).toBe(before);
  });

  it("refuses NUL, which PostgreSQL's text cannot hold, in bodies, paths and queries", async () => {
    const before = size();
    const auth = { authorization: `Bearer ${key}` };
    const body = `{"digest":"${digest("n")}","subject":"a\\u0000b"}`;
    expectError(await post("/v1/attestations", body, auth), 400, "nul_character");
    expectError(await get("/v1/merchants/m_%00"), 400, "nul_character");
    expectError(await get(`/v1/attestations?digest=${digest("n")}%00`), 400, "nul_character");
    // Ids are checked for their shape: a malformed one is a 400, an unknown one a 404.
    expectError(await get("/v1/merchants/nobody"), 400, "invalid_request");
    expectError(await get("/v1/merchants/m_nobody"), 404, "not_found");
    expect(size()).toBe(before);
  });

  it("5. refuses bytes that are not UTF-8, and charsets other than UTF-8", async () => {
    const before = size();
    const auth = { authorization: `Bearer ${key}` };
    const bad = Buffer.concat([
      Buffer.from(`{"digest":"${digest("y")}","subject":"caf`),
      Buffer.from([0xe9]),
      Buffer.from('"}'),
    ]);
    expectError(await post("/v1/attestations", bad, auth), 400, "invalid_utf8");
    const latin1 = { ...auth, "content-type": "application/json; charset=ISO-8859-1" };
    expectError(await post("/v1/attestations", bad, latin1), 415, "unsupported_charset");
    expect(size()).toBe(before);
    const utf8 = { ...auth, "content-type": 'application/json; charset="UTF-8"' };
    const ok = await post("/v1/attestations", `{"digest":"${digest("y")}","subject":"café"}`, utf8);
    expect(ok?.status).toBe(201);
    expect(size()).toBe(before + 1n);
  });

  it("6. gives every error the documented shape, whoever raises it", async () => {
    expectError(await get("/v1/ledger/entries/%"), 400, "bad_url");
    expectError(await get(`/v1/ledger/entries/${"1".repeat(300)}`), 414, "uri_too_long");
    expectError(await get("/health", [`x-big: ${"a".repeat(20_000)}`]), 431, "headers_too_large");
    expectError(
      await rawExchange(port, ["GET /health HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n"]),
      417,
      "expectation_failed",
    );
    expectError(await rawExchange(port, ["BREW /health HTTP/1.1\r\n\r\n"]), 400, "bad_request");
    const docs = await get("/docs/static/..");
    expect(docs?.status).toBeGreaterThanOrEqual(400);
    expect(docs?.status).toBeLessThan(500);
    const status = (docs as RawResponse).status;
    expectError(docs, status, status === 403 ? "forbidden" : "not_found");
    expectError(
      await post("/v1/attestations", "{", { authorization: `Bearer ${key}` }),
      400,
      "malformed_json",
    );
  });

  it("7. sends security headers on /docs, JSON and static files", async () => {
    const docs = await get("/docs/");
    expect(docs?.status).toBe(200);
    const csp = (docs as RawResponse).headers["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // A node on plain HTTP must load its own /docs assets.
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(docs?.headers["x-content-type-options"]).toBe("nosniff");
    expect(docs?.headers["x-frame-options"]).toBe("DENY");
    const asset = await get("/docs/static/swagger-ui.css");
    expect(asset?.status).toBe(200);
    expect(asset?.headers["x-content-type-options"]).toBe("nosniff");
    const health = await get("/health");
    expect(health?.headers["x-content-type-options"]).toBe("nosniff");
    expect(health?.headers["content-security-policy"]).toContain("default-src 'none'");
  });

  it("7. refuses two Authorization headers, and answers 405 with Allow for a wrong method", async () => {
    expectError(
      await get("/v1/api-keys", [`Authorization: Bearer ${key}`, "Authorization: Bearer other"]),
      400,
      "repeated_header",
    );
    const wrong = await rawExchange(port, ["DELETE /v1/attestations HTTP/1.1\r\nHost: x\r\n\r\n"]);
    expectError(wrong, 405, "method_not_allowed");
    expect(wrong?.headers.allow).toBe("GET, HEAD, POST");
    expectError(await get("/v1/no-such-thing"), 404, "not_found");
  });

  it("8. takes decimal digits only as numbers, and refuses hidden characters in labels", async () => {
    for (const limit of ["0x10", "1e3", "%2B5", "%201", "0", "-1", "1.5", "10001"]) {
      expectError(await get(`/v1/ledger/entries?limit=${limit}`), 400, "invalid_request");
    }
    expect((await get("/v1/ledger/entries?limit=10"))?.status).toBe(200);
    const before = size();
    for (const label of [
      "evil\u202etxt.exe",
      "a\u200bb",
      "x\u2066y\u2069",
      "\ufeffname",
      "soft\u00adhyphen",
      "tag\u{e0041}",
    ]) {
      const body = JSON.stringify({ role: "staff", label });
      expectError(
        await post("/v1/api-keys", body, { authorization: `Bearer ${key}` }),
        400,
        "invalid_request",
      );
    }
    expect(size()).toBe(before);
    // A garbled key on a public read is still refused: it is most likely a client bug.
    expectError(
      await get("/v1/ledger/checkpoints", ["Authorization: Basic abc"]),
      401,
      "unauthorized",
    );
  });

  it("refuses JSON nested deeper than 64 levels, and a request without Host", async () => {
    const before = size();
    // A well-formed command with a deep payload: its canonical form is computed to check the
    // signature, which used to overflow the stack (500) before the signature was looked at.
    const command = {
      v: 1,
      type: "test.note",
      ledger: node.identity.origin,
      actor: ed25519Signer().did,
      merchant: "m_demo",
      nonce: nonce(),
      expires: new Date(Date.now() + 3600_000).toISOString(),
      payload: "PAYLOAD",
    };
    const deep = JSON.stringify({ command, signature: "A".repeat(86) }).replace(
      '"PAYLOAD"',
      `${"[".repeat(2500)}${"]".repeat(2500)}`,
    );
    expectError(await post("/v1/commands", deep), 400, "json_too_deep");
    const deepAttestation = `{"digest":"${digest("d")}","note":${"[".repeat(65)}${"]".repeat(65)}}`;
    expectError(
      await post("/v1/attestations", deepAttestation, { authorization: `Bearer ${key}` }),
      400,
      "json_too_deep",
    );
    expectError(await rawExchange(port, ["GET /health HTTP/1.1\r\n\r\n"]), 400, "missing_host");
    expect(size()).toBe(before);
  });

  it("answers an unknown path or a wrong method before reading the body", async () => {
    // The body is not JSON: were it read first, this would be 400 malformed_json.
    const wrong = await post("/health", "{");
    expectError(wrong, 405, "method_not_allowed");
    expect(wrong?.headers.allow).toBe("GET, HEAD");
    expectError(await post("/v1/nothing-here", "{"), 404, "not_found");
  });

  it("leaves a ledger that audits clean", async () => {
    const report = await auditLedger(node.db, {
      origin: node.identity.origin,
      verifierKey: node.identity.verifierKey,
    });
    expect(report.problems).toEqual([]);
  });
});

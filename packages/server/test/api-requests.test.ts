import { createHash } from "node:crypto";
import { verifyReceipt } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/http/app.js";
import { ProofService } from "../src/ledger/proofs.js";
import { ledgerRoutes } from "../src/ledger/routes.js";
import { pglite } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

type Answer = { statusCode: number; json(): { error: { code: string; message: string } } };
const failure = (r: Answer) => ({
  status: r.statusCode,
  code: r.json().error?.code,
  message: r.json().error?.message,
});

describe("HTTP API: requests as clients send them", () => {
  let t: TestNode;
  beforeAll(async () => {
    // A batch window long enough that concurrent writes share a checkpoint.
    t = await testNode(pglite, { batchWaitMs: 30 });
  });
  afterAll(async () => t?.close());

  const json = { "content-type": "application/json" };
  const mkKey = (role: string, key = t.ownerKey) =>
    t.node.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: { ...json, ...t.auth(key) },
      payload: JSON.stringify({ role, label: `${role} key` }),
    });

  it("gives entry indices of API keys as JSON numbers, as the OpenAPI document says", async () => {
    const created = await mkKey("staff");
    expect(created.statusCode).toBe(201);
    const key = created.json();
    expect(key.entryIndex).toBe(Number(size(t.node)) - 1);
    // Key entries are sealed: the merchant's own key reads them whole, the public does not.
    const entry = (
      await t.node.app.inject({ url: `/v1/ledger/entries/${key.entryIndex}`, headers: t.auth() })
    ).json();
    expect(entry.entry).toMatchObject({ type: "apikey.created", payload: { keyId: key.id } });
    expect(entry.sealed).toBe(true);
    const outsider = (await t.node.app.inject(`/v1/ledger/entries/${key.entryIndex}`)).json();
    expect(outsider).toEqual({ index: key.entryIndex, leafHash: entry.leafHash, sealed: true });

    const list = (await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth() })).json();
    for (const k of list.keys) expect(typeof k.entryIndex).toBe("number");
    expect(list.keys.find((k: { id: string }) => k.id === key.id).entryIndex).toBe(key.entryIndex);

    const revoked = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${key.id}`,
      headers: t.auth(),
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().entryIndex).toBe(Number(size(t.node)) - 1);

    const spec = (await t.node.app.inject("/openapi.json")).json();
    const keys = spec.paths["/v1/api-keys"];
    const schemaOf = (op: { responses: Record<string, unknown> }, status: string) =>
      (op.responses[status] as { content: { "application/json": { schema: unknown } } }).content[
        "application/json"
      ].schema as { properties: Record<string, { type: string }> };
    expect(schemaOf(keys.post, "201").properties.entryIndex?.type).toBe("number");
    expect(
      schemaOf(spec.paths["/v1/api-keys/{id}"].delete, "200").properties.entryIndex?.type,
    ).toBe("number");
  });

  it("names roles with the right article in refusals", async () => {
    const admin = (await mkKey("admin")).json().key;
    const auditor = (await mkKey("auditor")).json().key;
    const staff = (await mkKey("staff")).json().key;
    const ownerByAdmin = await mkKey("owner", admin);
    expect(failure(ownerByAdmin)).toMatchObject({
      status: 403,
      message: "an admin key cannot create an owner key",
    });
    const write = await t.node.app.inject({
      method: "POST",
      url: "/v1/attestations",
      headers: { ...json, ...t.auth(auditor) },
      payload: JSON.stringify({ digest: digest("by an auditor") }),
    });
    expect(failure(write)).toMatchObject({
      status: 403,
      message: "an auditor key cannot write to the ledger",
    });
    const list = await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth(staff) });
    expect(failure(list)).toMatchObject({
      status: 403,
      message: "a staff key cannot manage API keys",
    });
    const owners = (await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth() }))
      .json()
      .keys.filter((k: { role: string }) => k.role === "owner");
    const revokeOwner = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${owners[0].id}`,
      headers: t.auth(admin),
    });
    expect(failure(revokeOwner)).toMatchObject({
      status: 403,
      message: "an admin key cannot revoke an owner key",
    });
  });

  it("takes bodyless requests sent with Content-Type: application/json", async () => {
    const key = (await mkKey("auditor")).json();
    const revoke = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${key.id}`,
      headers: { ...json, ...t.auth() },
      payload: "",
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().id).toBe(key.id);
    const me = await t.node.app.inject({
      url: "/v1/me",
      headers: { ...json, ...t.auth(), "content-length": "0" },
    });
    expect(me.statusCode).toBe(200);
  });

  it("refuses a missing body where one is needed, with a clear 400, and writes nothing", async () => {
    const before = size(t.node);
    const cases: [Record<string, string>, string | undefined][] = [
      [{ ...json, ...t.auth() }, ""],
      [{ ...json, ...t.auth() }, "  \n"],
      [t.auth(), undefined],
    ];
    for (const [headers, payload] of cases) {
      const r = await t.node.app.inject({
        method: "POST",
        url: "/v1/attestations",
        headers,
        payload,
      });
      expect(failure(r)).toMatchObject({ status: 400, code: "invalid_request" });
      expect(r.json().error.message).toContain("needs a JSON body");
    }
    expect(size(t.node)).toBe(before);
  });

  it("takes no body as {} where a body's fields are all optional", async () => {
    const spec = (await t.node.app.inject("/openapi.json")).json() as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content?: Record<string, { schema?: { type?: string; required?: string[] } }>;
            };
          }
        >
      >;
    };
    // Routes of one resource by its id, an unknown one here: nothing is written either way.
    const optional = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => {
          const schema = op.requestBody?.content?.["application/json"]?.schema;
          return schema?.type === "object" && (schema.required ?? []).length === 0;
        })
        .map(([m]) => `${m.toUpperCase()} ${path}`)
        .filter((route) => route.includes("{")),
    );
    expect(optional).toContain("POST /v1/subject-requests/{id}/execute");
    const before = size(t.node);
    for (const route of optional) {
      const [method, path] = route.split(" ") as [string, string];
      const call = (payload: string) =>
        t.node.app.inject({
          method: method as "POST",
          url: path.replace(/\{[^}]+\}/g, "x_unknown1"),
          headers: { ...json, ...t.auth() },
          payload,
        });
      const [none, empty] = [await call(""), await call("{}")];
      expect(none.statusCode, `${route}: ${none.body}`).toBe(empty.statusCode);
      expect(none.json().error?.code, route).toBe(empty.json().error?.code);
    }
    // Without Content-Type either, as curl -X POST sends it: the id is what is wrong.
    const execute = await t.node.app.inject({
      method: "POST",
      url: "/v1/subject-requests/dsr_unknown1/execute",
      headers: t.auth(),
    });
    expect(failure(execute)).toMatchObject({ status: 404, code: "not_found" });
    expect(size(t.node)).toBe(before);
  });

  it("refuses a body with fields on every state-changing route that takes none, and writes nothing", async () => {
    // These read an optional body themselves (each refuses fields it does not know), a CSV
    // stream, or RFC 8058's one-click form, which any body may carry.
    const ownBody = new Set([
      "POST /v1/loyalty/rules/{id}/publish",
      "POST /v1/loyalty/rules/{id}/retire",
      "POST /v1/redemptions/{id}/capture",
      "POST /v1/orders/{orderId}/refund",
      "POST /v1/imports/customers",
      "POST /v1/unsubscribe/{token}",
    ]);
    const spec = (await t.node.app.inject("/openapi.json")).json() as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    const bodyless = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m, op]) => m !== "get" && !op.requestBody)
        .map(([m]) => `${m.toUpperCase()} ${path}`)
        .filter((route) => !ownBody.has(route)),
    );
    expect(bodyless).toContain("POST /v1/merge-suggestions/{id}/dismiss");
    expect(bodyless).toContain("POST /v1/customers/{id}/erase");
    const before = size(t.node);
    const refused: string[] = [];
    const skipped = new Set<string>();
    for (const route of bodyless) {
      const [method, path] = route.split(" ") as [string, string];
      const url = path.replace(/\{[^}]+\}/g, "x_unknown1");
      for (const payload of ['{"x":1}', "[]", "1", "null"]) {
        const r = await t.node.app.inject({
          method: method as "POST",
          url,
          headers: { ...json, ...t.auth() },
          payload,
        });
        // A route the owner's key may not call is refused before its body is read.
        if (r.statusCode === 401 || r.statusCode === 403) {
          skipped.add(route);
          continue;
        }
        expect(failure(r), `${route} ${payload}`).toMatchObject({
          status: 400,
          code: "invalid_request",
        });
        expect(r.json().error.message).toMatch(
          payload === '{"x":1}' ? /^body\/: Unrecognized key: "x"/ : /takes no body/,
        );
        if (payload === '{"x":1}') refused.push(route);
      }
    }
    expect(size(t.node)).toBe(before);
    expect(refused.length).toBeGreaterThan(20);
    expect(refused).toContain("POST /v1/loyalty/adjustments/{id}/approve");
    // Only the portal's sign-out, which needs a customer's session, is out of the owner's reach.
    expect([...skipped]).toEqual(["DELETE /v1/portal/sessions/{id}"]);
  });

  it("takes no body and {} alike where a route takes no body", async () => {
    for (const payload of ["{}", " { } ", ""]) {
      const key = (await mkKey("auditor")).json();
      const r = await t.node.app.inject({
        method: "DELETE",
        url: `/v1/api-keys/${key.id}`,
        headers: { ...json, ...t.auth() },
        payload,
      });
      expect(r.statusCode, payload).toBe(200);
    }
    const key = (await mkKey("auditor")).json();
    const refused = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${key.id}`,
      headers: { ...json, ...t.auth() },
      payload: '{"reason":"left","at":1}',
    });
    expect(failure(refused)).toMatchObject({
      status: 400,
      code: "invalid_request",
      message: 'body/: Unrecognized keys: "reason", "at" (this endpoint takes no body)',
    });
    const keys = (await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth() })).json().keys;
    expect(keys.find((k: { id: string }) => k.id === key.id).revokedAt ?? null).toBeNull();
  });

  it("refuses __proto__ and constructor keys as such, not as malformed JSON", async () => {
    const before = size(t.node);
    const bodies = [
      `{"digest":"${digest("p")}","__proto__":{"x":1}}`,
      `{"digest":"${digest("p")}","note":"n","\\u005f_proto__":{}}`,
      `{"digest":"${digest("p")}","constructor":{"prototype":{"x":1}}}`,
      `{"digest":"${digest("p")}","subject":{"__proto__":null}}`,
    ];
    for (const payload of bodies) {
      const r = await t.node.app.inject({
        method: "POST",
        url: "/v1/attestations",
        headers: { ...json, ...t.auth() },
        payload,
      });
      expect(failure(r)).toMatchObject({ status: 400, code: "invalid_request" });
      expect(r.json().error.message).toMatch(/__proto__ or constructor are not allowed/);
    }
    const broken = await t.node.app.inject({
      method: "POST",
      url: "/v1/attestations",
      headers: { ...json, ...t.auth() },
      payload: '{"digest": ',
    });
    expect(failure(broken)).toMatchObject({ status: 400, code: "malformed_json" });
    expect(size(t.node)).toBe(before);
  });

  it("says an Idempotency-Key may not contain spaces", async () => {
    const r = await t.node.app.inject({
      method: "POST",
      url: "/v1/attestations",
      headers: { ...json, ...t.auth(), "idempotency-key": "a b" },
      payload: JSON.stringify({ digest: digest("spaced") }),
    });
    expect(failure(r)).toMatchObject({ status: 400, code: "invalid_request" });
    expect(r.json().error.message).toContain("printable ASCII characters without spaces");
  });

  describe("receipts", () => {
    it("says anchoring is off rather than asking to wait for an anchor that never comes", async () => {
      const r = await t.node.app.inject("/v1/ledger/receipts/0?anchored=true");
      expect(failure(r)).toMatchObject({ status: 409, code: "not_anchored" });
      expect(r.json().error.message).toContain("anchoring is off on this node");
      expect(r.json().error.message).not.toContain("retry");
    });

    it("asks to retry when the node anchors but no anchor covers the entry yet", async () => {
      const app = await createApp({ authenticate: async () => undefined, version: "test" });
      ledgerRoutes(app, {
        db: t.node.db,
        sequencer: t.node.sequencer,
        proofs: new ProofService(t.node.db, () => t.node.sequencer.edgeTiles),
        verifierKey: t.node.identity.verifierKey,
        origin: t.node.identity.origin,
        anchoring: true,
      });
      try {
        const r = await app.inject("/v1/ledger/receipts/0?anchored=true");
        expect(failure(r)).toMatchObject({ status: 409, code: "not_anchored" });
        expect(r.json().error.message).toContain("retry after the next anchor");
      } finally {
        await app.close();
      }
    });

    it("refuses size together with anchored=true", async () => {
      const n = Number(size(t.node));
      const r = await t.node.app.inject(`/v1/ledger/receipts/0?anchored=true&size=${n}`);
      expect(failure(r)).toMatchObject({ status: 400, code: "invalid_request" });
      expect(r.json().error.message).toMatch(/size or anchored=true, not both/);
      // anchored=false leaves size alone.
      const plain = await t.node.app.inject(`/v1/ledger/receipts/0?anchored=false&size=${n}`);
      expect(plain.statusCode).toBe(200);
    });

    it("answers a size past the tree like the proof endpoints, and a size between checkpoints with 404", async () => {
      // Concurrent writes share a batch, so some sizes get no checkpoint of their own.
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          t.node.app.inject({
            method: "POST",
            url: "/v1/attestations",
            headers: { ...json, ...t.auth() },
            payload: JSON.stringify({ digest: digest(`batch ${i}`) }),
          }),
        ),
      );
      const n = Number(size(t.node));
      const past = await t.node.app.inject(`/v1/ledger/receipts/0?size=${n + 1}`);
      const proof = await t.node.app.inject(`/v1/ledger/proofs/inclusion?index=0&size=${n + 1}`);
      expect(failure(past)).toMatchObject({ status: 400, code: "invalid_range" });
      expect(failure(proof)).toMatchObject({ status: 400, code: "invalid_range" });

      const cps = (await t.node.app.inject("/v1/ledger/checkpoints?limit=1000"))
        .json()
        .checkpoints.map((c: { size: number }) => c.size);
      const gap = Array.from({ length: n }, (_, i) => i + 1).find((s) => !cps.includes(s));
      expect(gap).toBeDefined();
      const missing = await t.node.app.inject(`/v1/ledger/receipts/0?size=${gap}`);
      expect(failure(missing)).toMatchObject({ status: 404, code: "not_found" });
      expect(missing.json().error.message).toContain(`no checkpoint was signed at size ${gap}`);
      expect(missing.json().error.message).toContain("GET /v1/ledger/checkpoints");

      const at = cps.find((s: number) => s > 1 && s < n) ?? n;
      const sealed = await t.node.app.inject(`/v1/ledger/receipts/1?size=${at}`);
      expect(failure(sealed)).toMatchObject({ status: 403, code: "sealed_entry" });
      const ok = await t.node.app.inject({
        url: `/v1/ledger/receipts/1?size=${at}`,
        headers: t.auth(),
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers["content-type"]).toMatch(/^text\/plain/);
      const key = (await t.node.app.inject("/v1/ledger/key")).body.trim();
      expect(verifyReceipt(ok.body, key).index).toBe(1n);
      const beyond = await t.node.app.inject(`/v1/ledger/receipts/${at}?size=${at}`);
      expect(failure(beyond)).toMatchObject({ status: 400, code: "invalid_range" });
      const asJson = await t.node.app.inject({
        url: `/v1/ledger/receipts/1?size=${at}&format=json`,
        headers: t.auth(),
      });
      expect(asJson.json()).toMatchObject({ index: 1, size: at, receipt: ok.body, anchor: null });
    });

    it("declares its media types and error answers in the OpenAPI document", async () => {
      const spec = (await t.node.app.inject("/openapi.json")).json();
      const responses = spec.paths["/v1/ledger/receipts/{index}"].get.responses;
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(["200", "400", "404", "409"]));
      expect(Object.keys(responses["200"].content)).toEqual(
        expect.arrayContaining(["text/plain", "application/json"]),
      );
      expect(responses["409"].content["application/json"].schema.properties).toHaveProperty(
        "error",
      );
    });
  });
});

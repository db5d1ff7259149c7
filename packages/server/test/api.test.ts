import { createHash } from "node:crypto";
import {
  formatReceipt,
  parseReceipt,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
} from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pglite } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const digest = (s: string) => createHash("sha256").update(s).digest("hex");
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

describe("HTTP API", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await testNode(pglite);
  });
  afterAll(async () => t?.close());

  const post = (body: unknown, headers: Record<string, string> = t.auth()) =>
    t.node.app.inject({
      method: "POST",
      url: "/v1/attestations",
      headers: { "content-type": "application/json", ...headers },
      payload: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("reports health and serves the OpenAPI document and docs page", async () => {
    const h = await t.node.app.inject("/health");
    expect(h.statusCode).toBe(200);
    expect(h.json()).toMatchObject({ status: "ok", database: "pglite" });
    const spec = (await t.node.app.inject("/openapi.json")).json();
    expect(spec.openapi).toBe("3.1.0");
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        "/v1/attestations",
        "/v1/ledger/entries/{index}",
        "/v1/ledger/receipts/{index}",
      ]),
    );
    const docs = await t.node.app.inject("/docs/");
    expect(docs.statusCode).toBe(200);
  });

  it("notarises a digest and returns its index and leaf hash once committed", async () => {
    const before = size(t.node);
    const r = await post({ digest: digest("contract v1"), subject: "supplier contract" });
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body.index).toBe(Number(before));
    expect(body.leafHash).toMatch(/^[0-9a-f]{64}$/);
    const entry = (await t.node.app.inject(`/v1/ledger/entries/${body.index}`)).json();
    expect(entry.leafHash).toBe(body.leafHash);
    expect(entry.entry).toMatchObject({
      type: "attestation.created",
      payload: { digest: digest("contract v1"), subject: "supplier contract" },
    });
    const found = (
      await t.node.app.inject(`/v1/attestations?digest=${digest("contract v1")}`)
    ).json();
    expect(found.attestations).toHaveLength(1);
  });

  it("makes retries with the same Idempotency-Key safe", async () => {
    const headers = { ...t.auth(), "idempotency-key": "order-42" };
    const a = await post({ digest: digest("x") }, headers);
    const b = await post({ digest: digest("x") }, headers);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(200);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    expect(b.json()).toEqual(a.json());
    const c = await post({ digest: digest("y") }, headers);
    expect(c.statusCode).toBe(409);
    expect(c.json().error.code).toBe("idempotency_conflict");
  });

  it("rejects bad input with a 4xx, a code and a message, and writes nothing", async () => {
    const before = size(t.node);
    const cases: [
      string,
      () => Promise<{ statusCode: number; json(): { error: { code: string; message: string } } }>,
      number,
      string,
    ][] = [
      ["no key", () => post({ digest: digest("a") }, {}), 401, "unauthorized"],
      [
        "unknown key",
        () => post({ digest: digest("a") }, t.auth("pat_nope_nope_nope_nope_nope_nope_nope")),
        401,
        "unauthorized",
      ],
      [
        "malformed authorization",
        () => post({ digest: digest("a") }, { authorization: "Basic abc" }),
        401,
        "unauthorized",
      ],
      ["malformed JSON", () => post("{ not json"), 400, "malformed_json"],
      ["wrong type", () => post({ digest: 42 }), 400, "invalid_request"],
      ["unknown field", () => post({ digest: digest("a"), extra: 1 }), 400, "invalid_request"],
      ["bad digest", () => post({ digest: "abc" }), 400, "invalid_request"],
      ["digest not hex", () => post({ digest: "z".repeat(64) }), 400, "invalid_request"],
      [
        "subject too long",
        () => post({ digest: digest("a"), subject: "s".repeat(201) }),
        400,
        "invalid_request",
      ],
      [
        "control characters",
        () => post({ digest: digest("a"), note: "a\u0007b" }),
        400,
        "invalid_request",
      ],
      [
        "NUL, which storage cannot hold",
        () => post({ digest: digest("a"), note: "a\u0000b" }),
        400,
        "nul_character",
      ],
      [
        "oversized body",
        () => post({ digest: digest("a"), note: "n".repeat(100_000) }),
        413,
        "body_too_large",
      ],
      [
        "bad idempotency key",
        () => post({ digest: digest("a") }, { ...t.auth(), "idempotency-key": "has space" }),
        400,
        "invalid_request",
      ],
      [
        "not JSON",
        () =>
          t.node.app.inject({
            method: "POST",
            url: "/v1/attestations",
            headers: { ...t.auth(), "content-type": "text/plain" },
            payload: "hello",
          }),
        415,
        "unsupported_media_type",
      ],
    ];
    for (const [name, send, status, code] of cases) {
      const r = await send();
      expect({ name, status: r.statusCode, code: r.json().error?.code }).toEqual({
        name,
        status,
        code,
      });
      expect(r.json().error.message.length).toBeGreaterThan(5);
    }
    expect(size(t.node)).toBe(before);
  });

  it("enforces roles: auditors read, staff write, admins cannot mint owners, revoked keys stop working", async () => {
    const mk = async (role: string, key = t.ownerKey) => {
      const r = await t.node.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: t.auth(key),
        payload: { role, label: `${role} key` },
      });
      return r;
    };
    const auditor = (await mk("auditor")).json();
    const admin = (await mk("admin")).json();
    expect(auditor.key).toMatch(/^pat_/);
    const before = size(t.node);
    const denied = await post({ digest: digest("a") }, t.auth(auditor.key));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe("forbidden");
    expect((await mk("owner", admin.key)).statusCode).toBe(403);
    const staff = (await mk("staff", admin.key)).json();
    expect((await post({ digest: digest("by staff") }, t.auth(staff.key))).statusCode).toBe(201);
    const me = (await t.node.app.inject({ url: "/v1/me", headers: t.auth(staff.key) })).json();
    expect(me.key.role).toBe("staff");
    const revoke = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${staff.id}`,
      headers: t.auth(admin.key),
    });
    expect(revoke.statusCode).toBe(200);
    expect((await post({ digest: digest("after revoke") }, t.auth(staff.key))).statusCode).toBe(
      401,
    );
    const list = (await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth() })).json();
    expect(list.keys.find((k: { id: string }) => k.id === staff.id).revokedAt).toBeTruthy();
    // Creating and revoking keys are ledger entries too (the staff key, its attestation, its revocation).
    expect(size(t.node)).toBe(before + 3n);
    const owners = list.keys.filter((k: { role: string }) => k.role === "owner");
    const last = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${owners[0].id}`,
      headers: t.auth(),
    });
    expect(last.statusCode).toBe(409);
  });

  it("pages through entries and 404s past the end", async () => {
    const n = Number(size(t.node));
    const page = (await t.node.app.inject("/v1/ledger/entries?from=0&limit=2")).json();
    expect(page.entries.map((e: { index: number }) => e.index)).toEqual([0, 1]);
    expect(page.next).toBe(2);
    expect(page.size).toBe(n);
    const last = (await t.node.app.inject(`/v1/ledger/entries?from=${n - 1}&limit=10`)).json();
    expect(last.next).toBeNull();
    expect((await t.node.app.inject(`/v1/ledger/entries/${n}`)).statusCode).toBe(404);
    expect((await t.node.app.inject("/v1/ledger/entries/-1")).statusCode).toBe(400);
    expect((await t.node.app.inject("/v1/ledger/entries?limit=5000")).statusCode).toBe(400);
  });

  it("serves proofs that verify against the signed checkpoint", async () => {
    const note = (await t.node.app.inject("/v1/ledger/checkpoint")).body;
    const key = (await t.node.app.inject("/v1/ledger/key")).body.trim();
    const cp = verifyCheckpoint(note, key);
    const n = Number(cp.size);
    for (let i = 0; i < n; i++) {
      const p = (
        await t.node.app.inject(`/v1/ledger/proofs/inclusion?index=${i}&size=${n}`)
      ).json();
      expect(verifyInclusion(i, n, fromHex(p.leafHash), p.proof.map(fromHex), cp.root)).toBe(true);
    }
    const cps = (await t.node.app.inject("/v1/ledger/checkpoints?limit=1000")).json().checkpoints;
    const first = cps[0];
    const c = (
      await t.node.app.inject(`/v1/ledger/proofs/consistency?from=${first.size}&to=${n}`)
    ).json();
    expect(
      verifyConsistency(first.size, n, c.proof.map(fromHex), fromHex(first.root), cp.root),
    ).toBe(true);
    expect(
      (await t.node.app.inject(`/v1/ledger/proofs/inclusion?index=${n}&size=${n}`)).statusCode,
    ).toBe(400);
    expect(
      (await t.node.app.inject(`/v1/ledger/proofs/inclusion?index=0&size=${n + 5}`)).statusCode,
    ).toBe(400);
  });

  it("issues receipts that verify offline, and rejects tampered ones", async () => {
    const key = (await t.node.app.inject("/v1/ledger/key")).body.trim();
    // A public entry: a sealed one's receipt goes only to its parties.
    const { entries } = (await t.node.app.inject("/v1/ledger/entries?from=1&limit=100")).json();
    const index = entries.find((e: { sealed: boolean }) => !e.sealed).index as number;
    const receipt = (await t.node.app.inject(`/v1/ledger/receipts/${index}`)).body;
    const ok = verifyReceipt(receipt, key);
    expect(ok.index).toBe(BigInt(index));
    expect(ok.entry?.type).toBeTruthy();

    const parsed = parseReceipt(receipt);
    const proof = parsed.proof.map((p) => p.slice());
    (proof[0] as Uint8Array)[3] ^= 0x10;
    expect(() => verifyReceipt(formatReceipt({ ...parsed, proof }), key)).toThrow();

    const other = await testNode(pglite);
    try {
      const otherKey = (await other.node.app.inject("/v1/ledger/key")).body.trim();
      expect(() => verifyReceipt(receipt, otherKey)).toThrow();
      const otherNote = (await other.node.app.inject("/v1/ledger/checkpoint")).body;
      expect(() =>
        verifyReceipt(formatReceipt({ ...parsed, checkpoint: otherNote }), key),
      ).toThrow();
    } finally {
      await other.close();
    }
  });
});

import { randomBytes } from "node:crypto";
import { attachmentCommitment, verifyHistory } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData } from "./personal-data.js";

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;
const json = { "content-type": "application/json" };
const PERSONAL = [
  "Rosa Retained",
  "rosa.retained@example.org",
  "12 Invoice Street",
  "Invoice 2026-118: 3 pairs",
  "Looked at sandals",
];

describe.each(backends)("data-subject rights ($name)", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const entry = async (i: number) => (await call("GET", `/v1/ledger/entries/${i}`)).json().entry;

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 31, 12));
    t = await testNode(backend, { retentionSweepMs: 20 }, { clock });
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("sets retention policies as entries, owners and admins only", async () => {
    const policy = {
      name: "Invoices",
      note: "Accounting records are kept ten years (commercial code)",
      years: 10,
      fields: ["name", "address"],
      interactionKinds: ["purchase"],
    };
    const r = await call("PUT", "/v1/retention-policies/invoices", policy);
    expect(r.statusCode, r.body).toBe(200);
    expect((await call("GET", "/v1/retention-policies")).json().policies).toEqual([
      { id: "invoices", ...policy },
    ]);
    const staff = (await call("POST", "/v1/api-keys", { label: "till", role: "staff" })).json().key;
    const before = size(t.node);
    const forbidden = await call("PUT", "/v1/retention-policies/x", policy, {
      authorization: `Bearer ${staff}`,
    });
    expect(forbidden.statusCode).toBe(403);
    for (const bad of [
      { ...policy, years: 0 },
      { ...policy, fields: ["tags"] },
      { ...policy, interactionKinds: ["gossip"] },
      { ...policy, note: "   " },
      { ...policy, name: "Invoices\u202e" },
      { ...policy, fields: ["name", "name"] },
      { ...policy, interactionKinds: ["purchase", "purchase"] },
      { ...policy, fields: [], interactionKinds: [] },
      { ...policy, fields: undefined, interactionKinds: undefined },
    ]) {
      const r = await call("PUT", "/v1/retention-policies/x", bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    const empty = await call("PUT", "/v1/retention-policies/x", {
      ...policy,
      fields: [],
      interactionKinds: [],
    });
    expect(empty.json().error.message).toBe(
      "body/fields: a policy keeps at least one field or kind of interaction",
    );
    expect((await call("PUT", "/v1/retention-policies/Bad-Id", policy)).statusCode).toBe(400);
    expect((await call("DELETE", "/v1/retention-policies/none")).statusCode).toBe(404);
    expect(size(t.node)).toBe(before);
  });

  let rosa: string;
  let holdId: string;

  it("takes an erasure request through identity checks, its deadline and execution, keeping what the law requires", async () => {
    rosa = (
      await call("POST", "/v1/customers", {
        name: "Rosa Retained",
        email: "rosa.retained@example.org",
        address: { line1: "12 Invoice Street", city: "Lyon", country: "FR" },
      })
    ).json().id;
    const base = { channel: "store", direction: "inbound", customerId: rosa };
    for (const i of [
      {
        ...base,
        kind: "purchase",
        occurredAt: "2026-01-20T10:00:00Z",
        summary: "Invoice 2026-118: 3 pairs",
      },
      { ...base, kind: "visit", occurredAt: "2026-01-21T10:00:00Z", summary: "Looked at sandals" },
    ]) {
      expect((await call("POST", "/v1/interactions", i)).statusCode).toBe(201);
    }
    const r = await call("POST", `/v1/customers/${rosa}/requests`, {
      kind: "erasure",
      channel: "email",
    });
    expect(r.statusCode, r.body).toBe(201);
    const req = r.json();
    // One open request of a kind at a time: a second asks for nothing more, and writes nothing.
    const ledger = size(t.node);
    const twice = await call("POST", `/v1/customers/${rosa}/requests`, {
      kind: "erasure",
      channel: "phone",
    });
    expect([twice.statusCode, twice.json().error.code]).toEqual([409, "request_open"]);
    expect(twice.json().error.message).toContain(req.id);
    expect(twice.json().error.details).toEqual({ requestId: req.id });
    // Even sent at the same time: one of them is taken.
    const [a, b] = await Promise.all(
      ["access", "access"].map((kind) =>
        call("POST", `/v1/customers/${rosa}/requests`, { kind, channel: "email" }),
      ),
    );
    expect([a?.statusCode, b?.statusCode].sort()).toEqual([201, 409]);
    const access = (a?.statusCode === 201 ? a : b)?.json();
    expect(size(t.node)).toBe(ledger + 1n);
    // Closed, a kind can be asked for again.
    const rejected = await call("POST", `/v1/subject-requests/${access.id}/reject`, {
      reason: "excessive",
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    const reopened = await call("POST", `/v1/customers/${rosa}/requests`, {
      kind: "access",
      channel: "email",
    });
    expect(reopened.statusCode, reopened.body).toBe(201);
    expect(
      (
        await call("POST", `/v1/subject-requests/${reopened.json().id}/reject`, {
          reason: "excessive",
        })
      ).statusCode,
    ).toBe(200);
    // Received 31 January: due the last day of February, a month on.
    expect(req).toMatchObject({
      status: "received",
      checks: [],
      dueAt: "2026-02-28T12:00:00.000Z",
      overdue: false,
    });
    const early = await call("POST", `/v1/subject-requests/${req.id}/execute`, {});
    expect([early.statusCode, early.json().error.code]).toEqual([409, "not_verified"]);
    const verified = await call("POST", `/v1/subject-requests/${req.id}/verify`, {
      checks: ["id_document"],
    });
    expect(verified.json()).toMatchObject({ status: "verified", checks: ["id_document"] });
    const tooLong = await call("POST", `/v1/subject-requests/${req.id}/extend`, {
      months: 3,
      reason: "complexity",
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.message).toMatch(/^body\/months: must be 1 or 2/);
    const ext = await call("POST", `/v1/subject-requests/${req.id}/extend`, {
      months: 2,
      reason: "complexity",
    });
    expect(ext.json()).toMatchObject({ extended: true, dueAt: "2026-04-28T12:00:00.000Z" });
    const again = await call("POST", `/v1/subject-requests/${req.id}/extend`, {
      months: 1,
      reason: "complexity",
    });
    expect(again.json().error.code).toBe("already_extended");
    const open = (await call("GET", "/v1/subject-requests?status=open")).json().requests;
    expect(open.map((x: { id: string }) => x.id)).toContain(req.id);

    const done = await call("POST", `/v1/subject-requests/${req.id}/execute`, {});
    expect(done.statusCode, done.body).toBe(200);
    const closed = done.json().request;
    expect(closed).toMatchObject({ status: "completed", closedAt: expect.any(String) });
    expect((await call("GET", `/v1/customers/${rosa}`)).json().status).toBe("erased");
    const closing = await entry(closed.entryIndex);
    const erasure = await entry(closing.payload.entryIndex);
    expect(erasure.type).toBe("customer.erased");
    // The erasure says what it kept, under which policy, until when: no values.
    expect(erasure.payload.kept).toEqual([
      {
        holdId: expect.stringMatching(/^hold_/),
        policyId: "invoices",
        policy: "Invoices",
        until: "2036-01-20T10:00:00.000Z",
        values: 3,
      },
    ]);
    holdId = erasure.payload.kept[0].holdId;
    const holds = (await call("GET", `/v1/customers/${rosa}/retention`)).json().holds;
    expect(holds).toEqual([
      expect.objectContaining({ id: holdId, values: 3, shreddedIndex: null }),
    ]);
    const held = await call("GET", `/v1/retention-holds/${holdId}/values`);
    expect(held.statusCode, held.body).toBe(200);
    const values = held.json().values.map((v: { field: string; value: unknown }) => v.value);
    expect(JSON.stringify(values)).toContain("Rosa Retained");
    expect(JSON.stringify(values)).toContain("Invoice 2026-118: 3 pairs");
    expect(JSON.stringify(values)).not.toContain("sandals");
    expect(JSON.stringify(values)).not.toContain("rosa.retained@example.org");
    const closedAgain = await call("POST", `/v1/subject-requests/${req.id}/reject`, {
      reason: "excessive",
    });
    expect(closedAgain.json().error.code).toBe("request_closed");
    // Held values rest encrypted like everything else.
    await expectNoPersonalData(t, PERSONAL);
  });

  it("takes a request signed in the portal, and executes an export the customer can verify", async () => {
    const k = ed25519Signer();
    const salt = randomBytes(16);
    const values = { name: "Portal Requester" };
    const cmd = (type: string, payload: Record<string, unknown>) =>
      ({
        v: 1,
        type,
        ledger: t.node.identity.origin,
        actor: k.did,
        merchant,
        nonce: nonce(),
        expires: new Date(clock.now() + HOUR).toISOString(),
        payload,
      }) as Record<string, never>;
    const joined = await call(
      "POST",
      "/v1/commands",
      {
        ...k.sign(cmd("customer.join", { attached: attachmentCommitment(salt, values) })),
        attached: { salt: salt.toString("base64url"), values },
      },
      {},
    );
    expect(joined.statusCode, joined.body).toBe(201);
    const bad = await call(
      "POST",
      "/v1/commands",
      k.sign(cmd("request.submit", { kind: "forget-me" })),
      {},
    );
    expect(bad.json().error.code).toBe("invalid_payload");
    const r = await call(
      "POST",
      "/v1/commands",
      k.sign(cmd("request.submit", { kind: "export" })),
      {},
    );
    expect(r.statusCode, r.body).toBe(201);
    const received = await entry(r.json().entries[0].index);
    expect(received).toMatchObject({ type: "request.received", actor: k.did });
    const id = received.payload.requestId;
    const req = (await call("GET", `/v1/subject-requests/${id}`)).json();
    expect(req).toMatchObject({ channel: "portal", status: "verified", checks: ["key_signature"] });

    const done = await call("POST", `/v1/subject-requests/${id}/execute`, {});
    expect(done.statusCode, done.body).toBe(200);
    const bundle = done.json().export;
    expect(bundle.profile.name).toBe("Portal Requester");
    const key = (await call("GET", "/v1/ledger/key", undefined, {})).body.trim();
    const check = verifyHistory({
      checkpoint: bundle.ledger.checkpoint,
      verifierKey: key,
      records: bundle.customer.records,
      entries: bundle.entries,
      fields: bundle.fields,
    });
    expect(check.problems).toEqual([]);
    // The customer sees their requests in the portal.
    const ch = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const token = (
      await call("POST", "/v1/portal/sessions", k.sign(cmd("session.open", { challenge: ch })), {})
    ).json().token;
    const mine = await call("GET", "/v1/portal/requests", undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(mine.json().requests).toEqual([expect.objectContaining({ id, status: "completed" })]);
    // And, before erasing themselves, what an erasure here would keep and why.
    const kept = await call("GET", "/v1/portal/retention-policies", undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json().policies).toEqual([
      expect.objectContaining({ id: "invoices", years: 10, fields: ["name", "address"] }),
    ]);
    expect((await call("GET", "/v1/portal/retention-policies", undefined, {})).statusCode).toBe(
      401,
    );
  });

  it("closes an erased customer's open requests with the erasure, so none runs overdue", async () => {
    const open = async (customerId: string, kind: string) => {
      const r = await call("POST", `/v1/customers/${customerId}/requests`, {
        kind,
        channel: "email",
        checks: ["verified_email"],
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json().id as string;
    };
    const closed = async (id: string) =>
      (await call("GET", `/v1/subject-requests/${id}`)).json() as {
        status: string;
        reason: string | null;
        overdue: boolean;
        entryIndex: number;
      };
    // Erased by executing an erasure request: the other requests close in the same command.
    const erik = (await call("POST", "/v1/customers", { name: "Erik" })).json().id;
    const [access, erasure] = [await open(erik, "access"), await open(erik, "erasure")];
    const done = await call("POST", `/v1/subject-requests/${erasure}/execute`, {});
    expect(done.statusCode, done.body).toBe(200);
    const erasedAt = (await closed(erasure)).entryIndex;
    expect(await closed(access)).toMatchObject({
      status: "rejected",
      reason: "no_such_data",
      overdue: false,
    });
    const closing = await entry((await closed(access)).entryIndex);
    expect(closing.type).toBe("request.closed");
    // The erasure request itself is closed after, naming the erasure's entry.
    expect((await entry(erasedAt)).payload.entryIndex).toBeLessThan(erasedAt);
    // Erased by staff directly: an open erasure request is what was done.
    const ines = (await call("POST", "/v1/customers", { name: "Ines" })).json().id;
    const [wanted, exported] = [await open(ines, "erasure"), await open(ines, "export")];
    const erased = await call("POST", `/v1/customers/${ines}/erase`, {});
    expect(erased.statusCode, erased.body).toBe(200);
    expect(await closed(wanted)).toMatchObject({ status: "completed", overdue: false });
    expect(await closed(exported)).toMatchObject({ status: "rejected", reason: "no_such_data" });
    // In the erasure's own command: right after its entry.
    expect((await closed(wanted)).entryIndex).toBeGreaterThan(erased.json().entryIndex);
    clock.advance(60 * 24 * HOUR);
    const overdue = (await call("GET", "/v1/subject-requests?status=open")).json().requests;
    expect(
      overdue.filter((r: { customerId: string }) => [erik, ines].includes(r.customerId)),
    ).toEqual([]);
  });

  it("shreds a hold when it ends, on the clock", async () => {
    clock.advance(10 * YEAR + 30 * 24 * HOUR);
    await vi.waitFor(
      async () => {
        const holds = (await call("GET", `/v1/customers/${rosa}/retention`)).json().holds;
        expect(holds[0].shreddedIndex).toEqual(expect.any(Number));
      },
      { timeout: 5_000, interval: 25 },
    );
    const gone = await call("GET", `/v1/retention-holds/${holdId}/values`);
    expect([gone.statusCode, gone.json().error.code]).toEqual([410, "shredded"]);
    const { rows } = await t.node.db.query(
      "SELECT count(*)::int AS n FROM retention_values WHERE hold_id = $1",
      [holdId],
    );
    expect(rows[0]).toEqual({ n: 0 });
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
  });
});

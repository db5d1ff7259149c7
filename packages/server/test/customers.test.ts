import { commitment, decodeEntry, verifyReceipt } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData } from "./personal-data.js";

const json = { "content-type": "application/json" };

/** Personal values the tests write: none may appear in the ledger or in clear anywhere. */
const PERSONAL = [
  "José García",
  "jose garcia",
  "jose.garcia@example.com",
  "JOSE.GARCIA@EXAMPLE.COM",
  "+33612345678",
  "06 12 34 56 78",
  "欧阳娜娜",
  "nana.ouyang@example.cn",
  "+8613812345678",
  "12 rue des Lilas",
  "wx_nana_88",
  "Bought running shoes",
  "Size 42, paid by card",
  "new.person@example.net",
];

/** An interaction in the store, as a till would send it. */
const inStore = (kind: string) => ({
  channel: "store",
  direction: "inbound",
  kind,
  occurredAt: "2026-11-30T10:00:00Z",
});

describe.each(backends)("customers ($name)", (backend) => {
  let t: TestNode;
  let other: { id: string; key: string };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const call = (method: string, url: string, body?: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...bearer(key) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  let jose: string;
  let nana: string;

  beforeAll(async () => {
    t = await testNode(backend, { defaultCountry: "FR" });
    const created = await t.node.app.inject({
      method: "POST",
      url: "/v1/merchants",
      headers: { ...json, ...bearer(t.operatorKey) },
      payload: JSON.stringify({ name: "Another merchant" }),
    });
    other = { id: created.json().id, key: created.json().ownerKey };
  });
  afterAll(async () => {
    await t?.close();
  });

  it("creates a profile whose entry holds commitments and facts, never the values", async () => {
    const before = size(t.node);
    const r = await call("POST", "/v1/customers", {
      name: "José García",
      email: "JOSE.GARCIA@EXAMPLE.COM",
      phones: ["06 12 34 56 78"],
      birthday: "1990-03-14",
      address: { line1: "12 rue des Lilas", city: "Lyon", country: "FR" },
      language: "fr",
      tags: ["vip", "newsletter"],
      attributes: { shoe_size: 42, member: true },
    });
    expect(r.statusCode, r.body).toBe(201);
    const c = r.json();
    jose = c.id;
    expect(c).toMatchObject({
      id: expect.stringMatching(/^c_/),
      status: "active",
      name: "José García",
      emails: ["jose.garcia@example.com"],
      phones: [{ number: "+33612345678", valid: true }],
      birthday: "1990-03-14",
      stage: "prospect",
      country: "FR",
      birthMonth: 3,
      language: "fr",
      tags: ["vip", "newsletter"],
      attributes: { shoe_size: 42, member: true },
    });
    expect(size(t.node)).toBe(before + 1n);
    expect(c.head).toBe(Number(before));

    const [row] = await listEntries(t.node.db, before, before + 1n);
    const entry = decodeEntry((row as { data: Uint8Array }).data);
    expect(entry.type).toBe("customer.created");
    expect(entry.salt).toBeDefined();
    expect(entry.subjects).toEqual([
      { customer: jose, prev: null },
      { merchant: expect.stringMatching(/^m_/), prev: expect.any(Number) },
    ]);
    const payload = entry.payload as { fields: Record<string, string>; facts: { tags: string[] } };
    expect(Object.keys(payload.fields).sort()).toEqual([
      "address",
      "birthday",
      "email",
      "name",
      "phone",
    ]);
    expect(payload.facts.tags).toEqual(["vip", "newsletter"]);
    // The vault gives the customer value and salt; the commitment in the entry is theirs.
    const name = await t.node.db.query(
      "SELECT version FROM vault_fields WHERE customer_id = $1 AND field = 'name'",
      [jose],
    );
    expect(BigInt(name.rows[0]?.version as bigint)).toBe(before);
  });

  it("lets the customer recompute every commitment from the vault's value and salt", async () => {
    const { Vault } = await import("../src/vault/vault.js");
    const { loadKeyStore } = await import("../src/vault/keystore.js");
    const vault = new Vault(t.node.db, loadKeyStore(t.config.dataDir, {}));
    const m = (await call("GET", "/v1/merchants/me")).json().id;
    const history = await vault.history(m, jose);
    expect(history.length).toBe(5);
    const [row] = await listEntries(
      t.node.db,
      BigInt(history[0]?.version ?? 0),
      BigInt(history[0]?.version ?? 0) + 1n,
    );
    const entry = decodeEntry((row as { data: Uint8Array }).data);
    const fields = (entry.payload as { fields: Record<string, string> }).fields;
    for (const h of history) {
      const c = commitment(h.salt, {
        customer: jose,
        field: h.field,
        version: h.version,
        value: h.value,
      });
      expect(Buffer.from(c).toString("base64url")).toBe(fields[h.field]);
    }
  });

  it("creates a Chinese profile with channel identities", async () => {
    const r = await call("POST", "/v1/customers", {
      name: "欧阳娜娜",
      emails: ["nana.ouyang@example.cn"],
      phone: "+86 138 1234 5678",
      identities: [
        { type: "wechat", value: "wx_nana_88" },
        { type: "card", value: "LC-0001" },
      ],
      language: "zh-CN",
      stage: "loyal",
      tags: ["vip"],
    });
    expect(r.statusCode, r.body).toBe(201);
    nana = r.json().id;
    expect(r.json()).toMatchObject({
      phones: [{ number: "+8613812345678" }],
      identities: [
        { type: "card", value: "LC-0001" },
        { type: "wechat", value: "wx_nana_88" },
      ],
      country: "CN",
      stage: "loyal",
    });
  });

  it("looks customers up by email, phone and identity, and 404s otherwise", async () => {
    const by = async (q: string) => call("GET", `/v1/customers/lookup?${q}`);
    expect((await by("email=Jose.Garcia%40example.com")).json().id).toBe(jose);
    expect((await by("phone=%2B33%206%2012%2034%2056%2078")).json().id).toBe(jose);
    expect((await by("phone=0612345678")).json().id).toBe(jose);
    expect((await by("identity=wechat:wx_nana_88")).json().id).toBe(nana);
    expect((await by("identity=card:LC-0001")).json().id).toBe(nana);
    const none = await by("email=nobody%40example.com");
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe("not_found");
    expect((await by("identity=shoe:1")).json().error.code).toBe("invalid_identity");
    expect((await by("email=a%40b.fr&phone=0612345678")).statusCode).toBe(400);
    expect((await by("")).statusCode).toBe(400);
  });

  it("searches names by whole tokens, case- and accent-insensitive, in both scripts", async () => {
    const ids = async (query: string) =>
      (await call("GET", `/v1/customers?query=${encodeURIComponent(query)}`))
        .json()
        .customers.map((c: { id: string }) => c.id);
    expect(await ids("garcia")).toEqual([jose]);
    expect(await ids("JOSÉ")).toEqual([jose]);
    expect(await ids("jose garcia")).toEqual([jose]);
    expect(await ids("gar")).toEqual([]);
    expect(await ids("欧阳娜娜")).toEqual([nana]);
    expect(await ids("欧阳")).toEqual([nana]);
    expect(await ids("娜娜")).toEqual([nana]);
    expect(await ids("jose.garcia@example.com")).toEqual([jose]);
    expect(await ids("+86 138 1234 5678")).toEqual([nana]);
  });

  it("filters by tag and stage and pages with a cursor", async () => {
    for (let i = 0; i < 3; i++) {
      expect(
        (await call("POST", "/v1/customers", { name: `Page ${i}`, tags: ["paged"] })).statusCode,
      ).toBe(201);
    }
    const list = async (q: string) => (await call("GET", `/v1/customers?${q}`)).json();
    expect((await list("stage=loyal")).customers.map((c: { id: string }) => c.id)).toEqual([nana]);
    expect((await list("tag=vip")).customers).toHaveLength(2);
    const first = await list("tag=paged&limit=2");
    expect(first.customers.map((c: { name: string }) => c.name)).toEqual(["Page 2", "Page 1"]);
    const second = await list(`tag=paged&limit=2&cursor=${first.next}`);
    expect(second.customers.map((c: { name: string }) => c.name)).toEqual(["Page 0"]);
    expect(second.next).toBeNull();
    const bad = await call("GET", "/v1/customers?cursor=bm9wZQ");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_cursor");
    // Digits past what storage holds: refused as a cursor, not a database error.
    const huge = Buffer.from("c1:9999999999999999999").toString("base64url");
    for (const url of [
      `/v1/customers?cursor=${huge}`,
      `/v1/customers/${jose}/timeline?cursor=${huge}`,
    ]) {
      expect((await call("GET", url)).json().error.code).toBe("invalid_cursor");
    }
    expect((await call("GET", "/v1/customers?stage=vip")).statusCode).toBe(400);
  });

  it("changes a profile with one entry naming only the changed fields", async () => {
    const before = size(t.node);
    const r = await call("PATCH", `/v1/customers/${jose}`, {
      phones: ["+33 6 12 34 56 78", "+1 999 555 0100"],
      stage: "repeat",
      attributes: { member: null, visits: 3 },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      stage: "repeat",
      attributes: { shoe_size: 42, visits: 3 },
      phones: [
        { number: "+33612345678", valid: true },
        { number: "+19995550100", valid: false },
      ],
    });
    expect(size(t.node)).toBe(before + 1n);
    const [row] = await listEntries(t.node.db, before, before + 1n);
    const entry = decodeEntry((row as { data: Uint8Array }).data);
    expect(entry.type).toBe("customer.updated");
    expect(Object.keys((entry.payload as { fields: object }).fields)).toEqual(["phone"]);
    expect(entry.subjects?.[0]).toEqual({ customer: jose, prev: expect.any(Number) });
    expect(r.json().head).toBe(Number(before));
    // The new phone finds the customer; a PATCH that changes nothing writes nothing.
    expect((await call("GET", "/v1/customers/lookup?phone=%2B19995550100")).json().id).toBe(jose);
    const same = await call("PATCH", `/v1/customers/${jose}`, { stage: "repeat" });
    expect(same.statusCode).toBe(200);
    expect(size(t.node)).toBe(before + 1n);
    // Identities replace the channel lists: only the kinds that change are named.
    const current = same.json().identities as { type: string; value: string }[];
    const handle = await call("PATCH", `/v1/customers/${jose}`, {
      identities: [...current, { type: "instagram", value: "@jose.runs" }],
    });
    expect(handle.statusCode, handle.body).toBe(200);
    const [changed] = await listEntries(t.node.db, before + 1n, before + 2n);
    const fields = (
      decodeEntry((changed as { data: Uint8Array }).data).payload as {
        fields: object;
      }
    ).fields;
    expect(Object.keys(fields)).toEqual(["instagram"]);
  });

  it("never gives one identifier to two customers, even when asked at once", async () => {
    const before = size(t.node);
    const taken = await call("POST", "/v1/customers", {
      name: "X",
      email: "jose.garcia@example.com",
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({
      code: "identity_in_use",
      details: { customerId: jose },
    });
    const race = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call("POST", "/v1/customers", { name: `Racer ${i}`, email: "race@example.org" }),
      ),
    );
    expect(race.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(size(t.node)).toBe(before + 1n);
  });

  it("replays a retried create or interaction with the same Idempotency-Key, and refuses another body", async () => {
    const before = size(t.node);
    const post = (url: string, body: unknown, key: string) =>
      t.node.app.inject({
        method: "POST",
        url,
        headers: { ...json, ...bearer(t.ownerKey), "idempotency-key": key },
        payload: JSON.stringify(body),
      });
    const body = { name: "Retry Person", email: "retry@example.org" };
    const first = await post("/v1/customers", body, "import-row-1");
    expect(first.statusCode).toBe(201);
    const again = await post("/v1/customers", body, "import-row-1");
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json().id).toBe(first.json().id);
    const other = await post("/v1/customers", { ...body, name: "Someone Else" }, "import-row-1");
    expect(other.json().error.code).toBe("idempotency_conflict");
    const visit = { ...inStore("visit"), customerId: first.json().id, summary: "Came by" };
    const i1 = await post("/v1/interactions", visit, "till-7-receipt-1");
    const i2 = await post("/v1/interactions", visit, "till-7-receipt-1");
    expect([i1.statusCode, i2.statusCode]).toEqual([201, 200]);
    expect(i2.json()).toEqual(i1.json());
    const batch = await post("/v1/interactions", { interactions: [visit] }, "k");
    expect(batch.statusCode).toBe(400);
    expect(size(t.node)).toBe(before + 2n);
  });

  it("refuses bad input with a clear 4xx and writes nothing", async () => {
    const before = size(t.node);
    const cases: [unknown, string][] = [
      [{ name: "A", phone: "12" }, "invalid_phone"],
      [{ name: "A", phone: "+33 1" }, "invalid_phone"],
      [{ name: "A", email: "not an email" }, "invalid_email"],
      [{ name: "A", favouriteColour: "blue" }, "invalid_request"],
      [{ name: "A", stage: "married" }, "invalid_request"],
      [{ name: "A", birthday: "1990-02-30" }, "invalid_request"],
      [{ name: "A", birthday: "1899-12-31" }, "invalid_request"],
      // Born next year: a typo, not a customer.
      [{ name: "A", birthday: `${new Date().getUTCFullYear() + 1}-01-01` }, "invalid_request"],
      [{ name: " \u3000 " }, "invalid_request"],
      [{ name: "A", address: { city: "  " } }, "invalid_request"],
      [{ name: "A", address: { country: "ZZ" } }, "invalid_request"],
      [{ name: "A", address: { country: "fr" } }, "invalid_request"],
      [{ name: "A", language: "not a language!" }, "invalid_request"],
      [
        { name: "A", emails: Array.from({ length: 11 }, (_, i) => `a${i}@b.fr`) },
        "invalid_request",
      ],
      [{ name: "A\u202e" }, "invalid_request"],
      [{ name: "A", identities: [{ type: "wechat", value: "  " }] }, "invalid_identity"],
      // Nothing to find the record by again.
      [{}, "no_identifier"],
      [{ tags: ["vip"], stage: "loyal", emails: [] }, "no_identifier"],
    ];
    for (const [body, code] of cases) {
      const r = await call("POST", "/v1/customers", body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code, JSON.stringify(body)).toBe(code);
      expect(r.json().error.message.length).toBeGreaterThan(5);
    }
    const patch = await call("PATCH", `/v1/customers/${jose}`, { phones: ["+1 2"] });
    expect(patch.json().error.code).toBe("invalid_phone");
    // The refusals name what they are about, for a form to mark the field.
    expect(patch.json().error.details).toMatchObject({ value: "+1 2" });
    const blank = await call("PATCH", `/v1/customers/${jose}`, { name: "   " });
    expect(blank.statusCode, blank.body).toBe(400);
    expect(blank.json().error.message).toBe("body/name: must not be blank");
    const empty = await call("POST", "/v1/customers", {
      name: "A",
      identities: [{ type: "wechat", value: "  " }],
    });
    expect(empty.json().error.details).toEqual({ type: "wechat" });
    const many = await call("POST", "/v1/customers", {
      name: "A",
      identities: Array.from({ length: 6 }, (_, i) => ({ type: "wechat", value: `w${i}` })),
    });
    expect(many.statusCode, many.body).toBe(400);
    expect(many.json().error).toMatchObject({
      code: "too_many_identities",
      details: { type: "wechat", max: 5 },
    });
    // Two capitals that name no country, on create and on change: the field is named.
    for (const [method, url] of [
      ["POST", "/v1/customers"],
      ["PATCH", `/v1/customers/${jose}`],
    ] as const) {
      const nowhere = await call(method, url, { name: "A", address: { country: "ZZ" } });
      expect(nowhere.statusCode, nowhere.body).toBe(400);
      expect(nowhere.json().error).toMatchObject({
        code: "invalid_request",
        details: [
          {
            path: "body/address/country",
            message: "must be an ISO 3166-1 alpha-2 code such as FR; this one names no country",
          },
        ],
      });
    }
    expect((await call("GET", `/v1/customers/${jose}`)).json().address).not.toMatchObject({
      country: "ZZ",
    });
    expect(size(t.node)).toBe(before);
  });

  it("shows another merchant's key nothing: the same 404 as for no customer", async () => {
    const as = (method: string, url: string, body?: unknown) => call(method, url, body, other.key);
    const missing = "c_doesnotexist";
    for (const id of [jose, missing]) {
      for (const [method, url, body] of [
        ["GET", `/v1/customers/${id}`],
        ["PATCH", `/v1/customers/${id}`, { stage: "lapsed" }],
        ["POST", `/v1/customers/${id}/erase`],
      ] as const) {
        const r = await as(method, url, body);
        expect(r.statusCode, `${method} ${url}`).toBe(404);
        expect(r.json().error.message).toBe(`customer ${id} not found`);
      }
    }
    expect(
      (await as("GET", "/v1/customers/lookup?email=jose.garcia%40example.com")).statusCode,
    ).toBe(404);
    expect((await as("GET", "/v1/customers?query=garcia")).json().customers).toEqual([]);
    expect((await as("GET", "/v1/customers")).json().customers).toEqual([]);
    // The other merchant may hold the same email for its own customer.
    expect(
      (await as("POST", "/v1/customers", { email: "jose.garcia@example.com" })).statusCode,
    ).toBe(201);
  });

  it("answers another merchant's customer and a missing one along the same path, query for query", async () => {
    // No timing difference by construction: both run exactly the same statements before the
    // 404, so nothing but the database's own noise can tell them apart. Counted on the real
    // database, not timed.
    const db = t.node.db;
    const original = db.query.bind(db);
    const seen: string[] = [];
    db.query = ((sql: string, params?: unknown[]) => {
      seen.push(sql.replace(/\s+/g, " ").trim());
      return original(sql, params);
    }) as typeof db.query;
    const trace = async (url: string) => {
      seen.length = 0;
      const r = await call("GET", url, undefined, other.key);
      return { status: r.statusCode, body: r.json(), statements: [...seen] };
    };
    try {
      for (const path of ["", "/timeline", "/notes", "/data-access"]) {
        const theirs = await trace(`/v1/customers/${jose}${path}`);
        const none = await trace(`/v1/customers/c_AAAAAAAAAAAAAAAAAAAAAA${path}`);
        expect(theirs.status, path).toBe(404);
        expect(none.status, path).toBe(404);
        expect(theirs.body.error.code).toBe(none.body.error.code);
        expect(theirs.statements, path).toEqual(none.statements);
      }
      const held = await trace("/v1/customers/lookup?email=nana.ouyang%40example.cn");
      const unheld = await trace("/v1/customers/lookup?email=nobody.at.all%40example.com");
      expect(held.status).toBe(404);
      expect(unheld.status).toBe(404);
      expect(held.statements).toEqual(unheld.statements);
    } finally {
      db.query = original;
    }
  });

  it("records interactions by id or by identifier hints, creating unknown customers", async () => {
    const before = size(t.node);
    const base = inStore("purchase");
    const byId = await call("POST", "/v1/interactions", {
      ...base,
      customerId: jose,
      summary: "Bought running shoes",
      content: "Size 42, paid by card",
      amount: { value: 12999, currency: "EUR" },
    });
    expect(byId.statusCode, byId.body).toBe(201);
    expect(byId.json()).toMatchObject({
      customerId: jose,
      interactionId: expect.stringMatching(/^i_/),
    });
    // Hints: the phone finds José; an unknown email creates a customer.
    const batch = await call("POST", "/v1/interactions", {
      interactions: [
        {
          ...base,
          channel: "phone",
          kind: "call",
          identity: { phone: "+33612345678" },
          summary: "Asked about returns",
        },
        { ...base, channel: "email", kind: "email", identity: { email: "new.person@example.net" } },
        {
          ...base,
          channel: "chat",
          kind: "message",
          identity: { email: "jose.garcia@example.com", phone: "+19995550100" },
        },
        { ...base, kind: "visit", customerId: "c_nobody" },
      ],
    });
    expect(batch.statusCode, batch.body).toBe(201);
    const results = batch.json().results;
    expect(results[0].customerId).toBe(jose);
    expect(results[1].customerId).not.toBe(jose);
    expect(results[2].customerId).toBe(jose);
    expect(results[3].error.code).toBe("not_found");
    const created = (await call("GET", `/v1/customers/${results[1].customerId}`)).json();
    expect(created.emails).toEqual(["new.person@example.net"]);
    // one interaction by id, three by hints, one new customer
    expect(size(t.node)).toBe(before + 5n);
  });

  it("refuses hints that point at two customers, and bad interactions, writing nothing", async () => {
    const before = size(t.node);
    const base = inStore("visit");
    const conflict = await call("POST", "/v1/interactions", {
      ...base,
      identity: { email: "jose.garcia@example.com", wechat: "wx_nana_88" },
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe("identity_conflict");
    for (const body of [
      { ...base },
      { ...base, customerId: jose, channel: "fax" },
      { ...base, customerId: jose, occurredAt: "yesterday" },
      { ...base, customerId: jose, amount: { value: 1.5, currency: "EUR" } },
      { interactions: [] },
      { interactions: Array.from({ length: 1001 }, () => ({ ...base, customerId: jose })) },
      {
        interactions: [
          { ...base, customerId: jose },
          { ...base, customerId: jose, extra: 1 },
        ],
      },
    ]) {
      const r = await call("POST", "/v1/interactions", body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    // Dated next year, or before the epoch (a typo, an unset timestamp): refused before its
    // hints could create a customer.
    const nextYear = `${new Date().getUTCFullYear() + 1}-06-01T10:00:00Z`;
    for (const [occurredAt, message] of [
      [nextYear, "occurredAt is more than a day ahead"],
      ["1800-12-01T10:00:00Z", "occurredAt must be after 1970-01-01T00:00:00Z"],
      ["1970-01-01T00:00:00Z", "occurredAt must be after 1970-01-01T00:00:00Z"],
      ["1970-01-01T01:00:00+02:00", "occurredAt must be after 1970-01-01T00:00:00Z"],
    ]) {
      for (const body of [
        { ...base, customerId: jose, occurredAt },
        { ...base, identity: { email: "from.the.future@example.net" }, occurredAt },
      ]) {
        const r = await call("POST", "/v1/interactions", body);
        expect(r.statusCode, r.body).toBe(400);
        expect(r.json().error.code).toBe("invalid_occurred_at");
        expect(r.json().error.message).toContain(message);
      }
    }
    const batch = await call("POST", "/v1/interactions", {
      interactions: [{ ...base, customerId: jose, occurredAt: nextYear }],
    });
    expect(batch.json().results[0].error.code).toBe("invalid_occurred_at");
    expect(size(t.node)).toBe(before);
    const lookup = await call("GET", "/v1/customers/lookup?email=from.the.future%40example.net");
    expect(lookup.statusCode).toBe(404);
  });

  it("shows one timeline of every entry about the customer, newest first, with the text", async () => {
    const r = await call("GET", `/v1/customers/${jose}/timeline?limit=3`);
    expect(r.statusCode, r.body).toBe(200);
    const page = r.json();
    expect(page.items).toHaveLength(3);
    const indices = page.items.map((i: { index: number }) => i.index);
    expect(indices).toEqual([...indices].sort((a, b) => b - a));
    const rest = (await call("GET", `/v1/customers/${jose}/timeline?cursor=${page.next}`)).json();
    const all = [...page.items, ...rest.items];
    expect(all.map((i: { type: string }) => i.type)).toEqual(
      expect.arrayContaining(["customer.created", "customer.updated", "interaction.recorded"]),
    );
    expect(all.at(-1).type).toBe("customer.created");
    const shoes = all.find(
      (i: { text?: { summary: string } }) => i.text?.summary === "Bought running shoes",
    );
    expect(shoes).toMatchObject({
      text: { content: "Size 42, paid by card" },
      payload: { amount: { value: 12999, currency: "EUR" } },
    });
    // Exactly the entries whose subjects name the customer, from a full scan of the log.
    const scanned = (await listEntries(t.node.db, 0n, size(t.node)))
      .map((e) => ({ index: Number(e.index), entry: decodeEntry(e.data) }))
      .filter((e) => e.entry.subjects?.some((s) => "customer" in s && s.customer === jose))
      .map((e) => e.index)
      .reverse();
    expect(all.map((i: { index: number }) => i.index)).toEqual(scanned);
    expect(
      (await call("GET", `/v1/customers/${jose}/timeline`, undefined, other.key)).statusCode,
    ).toBe(404);
  });

  it("keeps no personal value in clear in any table or entry", async () => {
    await expectNoPersonalData(t, PERSONAL);
  });

  it("crypto-shreds an erased customer; proofs and audit still hold", async () => {
    const head = (await call("GET", `/v1/customers/${nana}`)).json().head as number;
    const r = await call("POST", `/v1/customers/${nana}/erase`);
    expect(r.statusCode, r.body).toBe(200);
    const after = (await call("GET", `/v1/customers/${nana}`)).json();
    expect(after).toMatchObject({
      status: "erased",
      name: null,
      emails: [],
      phones: [],
      identities: [],
    });
    expect((await call("GET", "/v1/customers/lookup?identity=wechat:wx_nana_88")).statusCode).toBe(
      404,
    );
    expect((await call("GET", "/v1/customers?query=%E6%AC%A7%E9%98%B3")).json().customers).toEqual(
      [],
    );
    expect(
      (await call("PATCH", `/v1/customers/${nana}`, { stage: "lapsed" })).json().error.code,
    ).toBe("customer_erased");
    expect((await call("POST", `/v1/customers/${nana}/erase`)).json().error.code).toBe(
      "already_erased",
    );
    const late = await call("POST", "/v1/interactions", { ...inStore("visit"), customerId: nana });
    expect(late.json().error.code).toBe("customer_erased");
    const timeline = await call("GET", `/v1/customers/${nana}/timeline`);
    expect(timeline.json().items[0].type).toBe("customer.erased");
    const vault = await t.node.db.query(
      "SELECT count(*)::int AS n FROM vault_fields WHERE customer_id = $1",
      [nana],
    );
    expect(vault.rows[0]?.n).toBe(0);
    // Its identifier is free again.
    expect(
      (
        await call("POST", "/v1/customers", {
          identities: [{ type: "wechat", value: "wx_nana_88" }],
        })
      ).statusCode,
    ).toBe(201);
    const key = (await t.node.app.inject("/v1/ledger/key")).body.trim();
    const receipt = await t.node.app.inject({
      url: `/v1/ledger/receipts/${head}`,
      headers: bearer(t.ownerKey),
    });
    expect(verifyReceipt(receipt.body, key).index).toBe(BigInt(head));
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
    await expectNoPersonalData(t, PERSONAL);
  });
});

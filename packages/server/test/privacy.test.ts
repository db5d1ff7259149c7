import { decodeHex, hashLeaf, verifyInclusion } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { type AccessRecord, recordBytes } from "../src/privacy/access-log.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };

interface ProvenRecord extends AccessRecord {
  batch: {
    entryIndex: number;
    leafIndex: number;
    size: number;
    root: string;
    proof: string[];
  } | null;
}

describe.each(backends)("purposes and access records ($name)", (backend) => {
  let t: TestNode;
  let staffKey: string;
  let auditorKey: string;
  let other: { id: string; key: string };
  let customer: string;
  const call = (
    method: string,
    url: string,
    body?: unknown,
    key = t.ownerKey,
    headers: Record<string, string> = {},
  ) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${key}`, ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const records = async (id = customer, key = t.ownerKey) => {
    const r = await call("GET", `/v1/customers/${id}/data-access?limit=200`, undefined, key);
    expect(r.statusCode, r.body).toBe(200);
    return r.json().records as ProvenRecord[];
  };

  beforeAll(async () => {
    // No timer: the test commits batches itself.
    t = await testNode(backend, { accessBatchMs: 0 });
    const key = async (role: string) =>
      (await call("POST", "/v1/api-keys", { role, label: role })).json().key as string;
    staffKey = await key("staff");
    auditorKey = await key("auditor");
    const m = await call("POST", "/v1/merchants", { name: "Elsewhere" }, t.operatorKey);
    other = { id: m.json().id, key: m.json().ownerKey };
    const c = await call("POST", "/v1/customers", { name: "Mei Lin", email: "mei@example.com" });
    expect(c.statusCode, c.body).toBe(201);
    customer = c.json().id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("starts every merchant with customer service on contract, the default of every role", async () => {
    const r = await call("GET", "/v1/purposes", undefined, auditorKey);
    expect(r.statusCode).toBe(200);
    expect(r.json().purposes).toEqual([
      {
        id: "customer_service",
        name: "Customer service",
        basis: "contract",
        note: null,
        defaultFor: ["owner", "admin", "staff", "auditor"],
        retired: false,
        entryIndex: null,
      },
    ]);
  });

  it("records each reading of a customer with its purpose, basis, role and categories", async () => {
    const before = (await records()).length;
    expect((await call("GET", `/v1/customers/${customer}`, undefined, staffKey)).statusCode).toBe(
      200,
    );
    expect(
      (await call("GET", "/v1/customers/lookup?email=MEI@example.com", undefined, auditorKey))
        .statusCode,
    ).toBe(200);
    const list = await records();
    expect(list.length).toBe(before + 2);
    // Newest first: the lookup, then the read.
    expect(list[0]).toMatchObject({
      customerId: customer,
      role: "auditor",
      purpose: "customer_service",
      basis: "contract",
      categories: ["contact", "demographics"],
      action: "lookup",
      batch: null,
    });
    expect(list[1]).toMatchObject({ role: "staff", action: "read" });
    // The customer sees the role, never which key or employee: that stays internal.
    expect(JSON.stringify(list)).not.toMatch(/key:|staff:/);
  });

  it("commits a merchant's records as one sealed entry and proves each record against it", async () => {
    await call("GET", `/v1/customers?query=Mei`, undefined, staffKey);
    const sizeBefore = size(t.node);
    expect(await t.node.accessLog.flush()).toBeGreaterThan(0);
    // One entry for this merchant's batch.
    expect(size(t.node)).toBe(sizeBefore + 1n);
    const list = await records();
    expect(list.every((r) => r.batch !== null)).toBe(true);
    const first = list[0] as ProvenRecord;
    expect(first.action).toBe("search");
    const batch = first.batch as NonNullable<ProvenRecord["batch"]>;
    // The entry holds the root; only the merchant is its subject.
    const e = (await call("GET", `/v1/ledger/entries/${batch.entryIndex}`)).json();
    expect(e.type).toBe("access.recorded");
    expect(e.entry.payload).toMatchObject({ root: batch.root, count: expect.any(Number) });
    expect(e.entry.subjects).toEqual([
      { merchant: e.entry.payload.merchantId, prev: expect.any(Number) },
    ]);
    // Anyone else sees only its leaf hash.
    expect((await t.node.app.inject(`/v1/ledger/entries/${batch.entryIndex}`)).json().sealed).toBe(
      true,
    );
    for (const r of list) {
      const { batch: b, ...record } = r;
      if (!b) throw new Error("not committed");
      const leaf = hashLeaf(recordBytes(record));
      expect(
        verifyInclusion(
          b.leafIndex,
          b.size,
          leaf,
          b.proof.map((h) => decodeHex(h)),
          decodeHex(b.root),
        ),
      ).toBe(true);
      // A record changed after the fact no longer verifies.
      const forged = hashLeaf(recordBytes({ ...record, purpose: "marketing" }));
      expect(
        verifyInclusion(
          b.leafIndex,
          b.size,
          forged,
          b.proof.map((h) => decodeHex(h)),
          decodeHex(b.root),
        ),
      ).toBe(false);
    }
    // Nothing pending: a second flush writes nothing.
    expect(await t.node.accessLog.flush()).toBe(0);
    expect(size(t.node)).toBe(sizeBefore + 1n);
  });

  it("uses the purpose a request names, and refuses one never declared before reading", async () => {
    const before = (await records()).length;
    const sizeBefore = size(t.node);
    const unknown = await call("GET", `/v1/customers/${customer}`, undefined, t.ownerKey, {
      "patron-purpose": "marketing",
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe("unknown_purpose");
    const malformed = await call("GET", `/v1/customers/${customer}`, undefined, t.ownerKey, {
      "patron-purpose": "Marketing!",
    });
    expect(malformed.statusCode).toBe(400);
    expect((await records()).length).toBe(before);
    expect(size(t.node)).toBe(sizeBefore);

    const declared = await call("PUT", "/v1/purposes/fraud_prevention", {
      name: "Fraud prevention",
      basis: "legitimate_interest",
      note: "Card fraud costs customers and the shop; checks use only order patterns.",
    });
    expect(declared.statusCode, declared.body).toBe(200);
    expect(declared.json()).toMatchObject({ id: "fraud_prevention", defaultFor: [] });
    const r = await call("GET", `/v1/customers/${customer}`, undefined, t.ownerKey, {
      "patron-purpose": "fraud_prevention",
    });
    expect(r.statusCode).toBe(200);
    expect((await records())[0]).toMatchObject({
      purpose: "fraud_prevention",
      basis: "legitimate_interest",
    });
  });

  it("moves a role's default to the purpose declared for it, and keeps every role with one", async () => {
    const moved = await call("PUT", "/v1/purposes/service_quality", {
      name: "Service quality",
      basis: "legitimate_interest",
      note: "Reviewing how requests were handled improves service for every customer.",
      defaultFor: ["staff"],
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const all = (await call("GET", "/v1/purposes")).json().purposes as {
      id: string;
      defaultFor: string[];
    }[];
    expect(all.find((p) => p.id === "customer_service")?.defaultFor).toEqual([
      "owner",
      "admin",
      "auditor",
    ]);
    await call("GET", `/v1/customers/${customer}`, undefined, staffKey);
    expect((await records())[0]).toMatchObject({ role: "staff", purpose: "service_quality" });

    const sizeBefore = size(t.node);
    const orphan = await call("PUT", "/v1/purposes/service_quality", {
      name: "Service quality",
      basis: "legitimate_interest",
      note: "as before",
      defaultFor: [],
    });
    expect(orphan.statusCode).toBe(409);
    expect(orphan.json().error.code).toBe("role_without_purpose");
    const retiring = await call("PUT", "/v1/purposes/service_quality", {
      name: "Service quality",
      basis: "legitimate_interest",
      note: "as before",
      retired: true,
    });
    expect(retiring.statusCode).toBe(409);
    expect(retiring.json().error.code).toBe("purpose_is_default");
    expect(size(t.node)).toBe(sizeBefore);
  });

  it("keeps every role with a default that is in force when declarations race", async () => {
    const declare = (body: Record<string, unknown>) =>
      call("PUT", "/v1/purposes/audit_trail", {
        name: "Audit trail",
        basis: "legal_obligation",
        ...body,
      });
    expect((await declare({})).statusCode).toBe(200);
    // At once: make it the auditors' default, and retire it. Whichever comes second sees the
    // first: a retired purpose is never a role's default.
    const answers = await Promise.all([
      declare({ defaultFor: ["auditor"] }),
      declare({ retired: true }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual(
      answers[0]?.statusCode === 200 && answers[1]?.statusCode === 409 ? [200, 409] : [200, 200],
    );
    const all = (await call("GET", "/v1/purposes")).json().purposes as {
      id: string;
      defaultFor: string[];
      retired: boolean;
    }[];
    const holders = all.filter((p) => p.defaultFor.includes("auditor"));
    expect(holders).toHaveLength(1);
    expect(holders[0]?.retired).toBe(false);
    expect((await call("GET", `/v1/customers/${customer}`, undefined, auditorKey)).statusCode).toBe(
      200,
    );
  });

  it("refuses bad declarations with a clear 4xx and writes nothing", async () => {
    const sizeBefore = size(t.node);
    const cases: [string, unknown, number, string, string?][] = [
      [
        "/v1/purposes/x",
        { name: "X", basis: "legitimate_interest" },
        400,
        "balancing_note_required",
      ],
      [
        "/v1/purposes/x",
        { name: "X", basis: "legitimate_interest", note: "  " },
        400,
        "balancing_note_required",
      ],
      ["/v1/purposes/x", { name: "X", basis: "consent" }, 400, "not_a_consent_purpose"],
      ["/v1/purposes/x", { name: "X", basis: "whim" }, 400, "invalid_request"],
      ["/v1/purposes/x", { name: "X", basis: "contract", extra: 1 }, 400, "invalid_request"],
      ["/v1/purposes/Bad-Id", { name: "X", basis: "contract" }, 400, "invalid_request"],
      [
        "/v1/purposes/x",
        { name: "X", basis: "contract", defaultFor: ["king"] },
        400,
        "invalid_request",
      ],
      ["/v1/purposes/x", { name: "X", basis: "contract" }, 403, "forbidden", staffKey],
    ];
    for (const [url, body, status, code, key] of cases) {
      const r = await call("PUT", url, body, key ?? t.ownerKey);
      expect(r.statusCode, `${JSON.stringify(body)}: ${r.body}`).toBe(status);
      expect(r.json().error.code).toBe(code);
    }
    expect(size(t.node)).toBe(sizeBefore);
  });

  it("shows another merchant neither the records nor whether the customer exists", async () => {
    const theirs = await call("GET", `/v1/customers/${customer}/data-access`, undefined, other.key);
    const none = await call(
      "GET",
      "/v1/customers/c_AAAAAAAAAAAAAAAAAAAAAA/data-access",
      undefined,
      other.key,
    );
    expect(theirs.statusCode).toBe(404);
    expect(none.statusCode).toBe(404);
    expect(theirs.json().error.code).toBe(none.json().error.code);
    // Their purposes are their own.
    expect((await call("GET", "/v1/purposes", undefined, other.key)).json().purposes).toHaveLength(
      1,
    );
  });

  it("group-commits records: concurrent and back-to-back uses are all recorded, none waits forever", async () => {
    const before = (await records()).length;
    const use = { purpose: "customer_service", basis: "contract" } as const;
    const { rows } = await t.node.db.query<{ merchant_id: string }>(
      "SELECT merchant_id FROM customers WHERE id = $1",
      [customer],
    );
    const principal = {
      merchantId: rows[0]?.merchant_id as string,
      keyId: "k_test",
      role: "owner" as const,
    };
    // Back to back: each record starts right as the previous drain ends.
    for (let i = 0; i < 5; i++) {
      await t.node.accessLog.record(principal, use, [customer], ["contact"], "read");
    }
    // Concurrent: waves arriving while an INSERT is in flight share the next one.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        new Promise((r) => setTimeout(r, i % 7)).then(() =>
          t.node.accessLog.record(principal, use, [customer], ["contact"], "read"),
        ),
      ),
    );
    expect((await records()).length).toBe(before + 45);
  });

  it("pages records with a cursor and refuses a forged one", async () => {
    const first = await call("GET", `/v1/customers/${customer}/data-access?limit=2`);
    expect(first.json().records).toHaveLength(2);
    const next = first.json().next as string;
    const second = await call(
      "GET",
      `/v1/customers/${customer}/data-access?limit=2&cursor=${next}`,
    );
    expect(second.statusCode).toBe(200);
    const ids = [...first.json().records, ...second.json().records].map(
      (r: { id: string }) => r.id,
    );
    expect(new Set(ids).size).toBe(ids.length);
    const bad = await call("GET", `/v1/customers/${customer}/data-access?cursor=zzz`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_cursor");
  });

  it("keeps the purposes projection rebuildable and the log auditable", async () => {
    await t.node.accessLog.flush();
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
  });
});

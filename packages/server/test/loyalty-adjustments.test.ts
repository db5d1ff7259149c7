import { decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };

describe.each(backends)("loyalty adjustments on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let merchant: string;
  let n = 0;
  let admin: string;
  let admin2: string;
  let staff: string;
  let auditor: string;
  let alice: string;

  const call = (method: string, url: string, body?: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const adjust = (body: Record<string, unknown>, key = staff) =>
    call("POST", "/v1/loyalty/adjustments", body, key);

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  async function customer() {
    const r = await call("POST", "/v1/customers", {
      name: "Adjusted Customer",
      email: `a${++n}.${backend.name}@example.com`,
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  }

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as {
      balance: number;
      lots: { points: number; remaining: number; source: Record<string, unknown> }[];
    };

  const count = async (table: string) => {
    const { rows } = await t.node.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${table}`,
    );
    return Number(rows[0]?.n);
  };
  const written = async () => ({
    size: size(t.node),
    adjustments: await count("loyalty_adjustments"),
    lots: await count("loyalty_lots"),
    vault: await count("vault_fields"),
    alice: (await points(alice)).balance,
  });

  const audit = () =>
    auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 3, 1, 9));
    t = await testNode(backend, {}, { clock });
    origin = t.node.identity.origin;
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    const key = async (role: string) => {
      const r = await call("POST", "/v1/api-keys", { role, label: `${role} ${++n}` });
      expect(r.statusCode, r.body).toBe(201);
      return r.json().key as string;
    };
    admin = await key("admin");
    admin2 = await key("admin");
    staff = await key("staff");
    auditor = await key("auditor");
    alice = await customer();
  });
  afterAll(async () => t?.close());

  it("credits and debits below the threshold at once, the note in the vault only", async () => {
    const note = "Coffee machine broke during her visit; Alice was very patient";
    const r = await adjust({
      customerId: alice,
      direction: "credit",
      points: 300,
      reason: "service_recovery",
      note,
    });
    expect(r.statusCode, r.body).toBe(201);
    const credit = r.json();
    expect(credit).toMatchObject({
      customerId: alice,
      direction: "credit",
      points: 300,
      reason: "service_recovery",
      note,
      status: "applied",
      decidedBy: null,
      appliedIndex: credit.requestIndex + 1,
    });
    expect(credit.requestedBy).toMatch(/^merchant:m_[^/]+\/key:/);
    const requested = await entry(credit.requestIndex);
    const applied = await entry(credit.appliedIndex);
    expect(requested.type).toBe("adjustment.requested");
    expect(requested.payload).toMatchObject({
      adjustmentId: credit.id,
      direction: "credit",
      points: 300,
      reason: "service_recovery",
      threshold: 1000,
      pending: false,
    });
    expect(applied.type).toBe("points.adjusted");
    expect(applied.payload).toMatchObject({
      request: credit.requestIndex,
      lot: { points: 300, availableAt: applied.time, expiresAt: null },
      taken: [],
    });
    // The note is personal text: its commitment is on the ledger, its words only in the vault.
    expect(JSON.stringify(requested)).not.toContain("patient");
    expect(typeof requested.payload.note).toBe("string");
    const mine = await points(alice);
    expect(mine.balance).toBe(300);
    expect(mine.lots[0]?.source).toEqual({
      type: "adjustment",
      adjustmentId: credit.id,
      entryIndex: credit.appliedIndex,
    });

    const d = await adjust({
      customerId: alice,
      direction: "debit",
      points: 120,
      reason: "correction",
      note: "Double credit at the till",
    });
    expect(d.statusCode, d.body).toBe(201);
    const debit = await entry(d.json().appliedIndex);
    expect(debit.payload).toMatchObject({
      direction: "debit",
      points: 120,
      lot: null,
      taken: [{ lot: credit.appliedIndex, points: 120 }],
    });
    expect((await points(alice)).balance).toBe(180);
  });

  it("refuses every bad adjustment with its code, writing nothing", async () => {
    const good = {
      customerId: alice,
      direction: "credit",
      points: 10,
      reason: "goodwill",
      note: "A note",
    };
    const cases: [string, Record<string, unknown>, string, number, string][] = [
      [
        "a debit above the balance",
        { ...good, direction: "debit", points: 181 },
        staff,
        409,
        "insufficient_points",
      ],
      [
        "a debit above the balance and the threshold (it would wait)",
        { ...good, direction: "debit", points: 5000 },
        staff,
        409,
        "insufficient_points",
      ],
      ["an unknown customer", { ...good, customerId: "c_nobody" }, staff, 404, "not_found"],
      ["no points", { ...good, points: 0 }, staff, 400, "invalid_request"],
      ["a fraction", { ...good, points: 2.5 }, staff, 400, "invalid_request"],
      ["an unknown reason", { ...good, reason: "because" }, staff, 400, "invalid_request"],
      ["an unknown direction", { ...good, direction: "sideways" }, staff, 400, "invalid_request"],
      ["no note", { ...good, note: undefined }, staff, 400, "invalid_request"],
      ["an empty note", { ...good, note: "" }, staff, 400, "invalid_request"],
      ["a long note", { ...good, note: "x".repeat(2001) }, staff, 400, "invalid_request"],
      ["an extra field", { ...good, lot: 1 }, staff, 400, "invalid_request"],
      ["by an auditor", good, auditor, 403, "forbidden"],
    ];
    const before = await written();
    for (const [what, body, key, status, code] of cases) {
      const r = await adjust(body, key);
      expect({ what, status: r.statusCode, code: r.json().error?.code }, r.body).toEqual({
        what,
        status,
        code,
      });
    }
    expect(await written()).toEqual(before);
  });

  it("waits above the threshold until a second owner or admin approves it", async () => {
    const r = await adjust({
      customerId: alice,
      direction: "credit",
      points: 5000,
      reason: "migration",
      note: "Balance from the old card scheme",
    });
    expect(r.statusCode, r.body).toBe(201);
    const pending = r.json();
    expect(pending).toMatchObject({ status: "pending", appliedIndex: null });
    expect(size(t.node)).toBe(BigInt(pending.requestIndex + 1));
    expect((await entry(pending.requestIndex)).payload).toMatchObject({ pending: true });
    expect((await points(alice)).balance).toBe(180);

    // Listed first, before the applied ones.
    const list = (await call("GET", "/v1/loyalty/adjustments", undefined, staff)).json();
    expect(list.adjustments[0]).toMatchObject({ id: pending.id, status: "pending" });
    expect(list.adjustments.slice(1).every((a: { status: string }) => a.status !== "pending")).toBe(
      true,
    );
    const only = (
      await call("GET", `/v1/loyalty/adjustments?status=pending`, undefined, staff)
    ).json();
    expect(only.adjustments.map((a: { id: string }) => a.id)).toEqual([pending.id]);

    // Not by staff, not by the requester, not an unknown one: nothing written.
    const requester = await adjust(
      {
        customerId: alice,
        direction: "credit",
        points: 2000,
        reason: "goodwill",
        note: "Asked by an admin",
      },
      admin,
    );
    expect(requester.statusCode).toBe(201);
    const before = await written();
    const refusals: [string, string, number, string][] = [
      [pending.id, staff, 403, "forbidden"],
      [pending.id, auditor, 403, "forbidden"],
      [requester.json().id, admin, 403, "same_staff"],
      ["adj_nothing", admin, 404, "not_found"],
    ];
    for (const [id, key, status, code] of refusals) {
      const a = await call("POST", `/v1/loyalty/adjustments/${id}/approve`, undefined, key);
      expect({ id, status: a.statusCode, code: a.json().error?.code }).toEqual({
        id,
        status,
        code,
      });
    }
    expect(await written()).toEqual(before);

    const approved = await call(
      "POST",
      `/v1/loyalty/adjustments/${pending.id}/approve`,
      undefined,
      admin,
    );
    expect(approved.statusCode, approved.body).toBe(200);
    const a = approved.json();
    expect(a).toMatchObject({ status: "approved", decidedIndex: pending.requestIndex + 2 });
    expect(a.appliedIndex).toBe(a.decidedIndex + 1);
    expect(a.decidedBy).not.toBe(a.requestedBy);
    const decision = await entry(a.decidedIndex);
    expect(decision).toMatchObject({
      type: "adjustment.approved",
      payload: { adjustmentId: pending.id, request: pending.requestIndex, role: "admin" },
    });
    expect(decision.actor).toBe(a.decidedBy);
    expect((await points(alice)).balance).toBe(5180);

    // Decided once: a second approval or a rejection is refused.
    for (const verb of ["approve", "reject"]) {
      const again = await call(
        "POST",
        `/v1/loyalty/adjustments/${pending.id}/${verb}`,
        undefined,
        admin2,
      );
      expect({ status: again.statusCode, code: again.json().error?.code }).toEqual({
        status: 409,
        code: "not_pending",
      });
    }

    // The admin's own request: rejected by the owner, nothing changes.
    const rejected = await call(
      "POST",
      `/v1/loyalty/adjustments/${requester.json().id}/reject`,
      undefined,
      t.ownerKey,
    );
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json()).toMatchObject({ status: "rejected", appliedIndex: null });
    expect((await entry(rejected.json().decidedIndex)).payload).toMatchObject({ role: "owner" });
    expect((await points(alice)).balance).toBe(5180);
  });

  it("takes the threshold from the programme, and refuses a pending debit the balance lost", async () => {
    const r = await call("PUT", "/v1/loyalty/programme", {
      adjustments: { approvalThreshold: 50 },
    });
    expect(r.statusCode, r.body).toBe(200);
    const bob = await customer();
    const credit = await adjust({
      customerId: bob,
      direction: "credit",
      points: 50,
      reason: "goodwill",
      note: "Welcome",
    });
    expect(credit.json().status).toBe("applied");
    // Above the threshold and above the balance: refused when asked, as it would be approved.
    const early = await written();
    const over = await adjust({
      customerId: bob,
      direction: "debit",
      points: 51,
      reason: "fraud",
      note: "Shared card",
    });
    expect({ status: over.statusCode, error: over.json().error }).toEqual({
      status: 409,
      error: {
        code: "insufficient_points",
        message: "a debit of 51 points, 50 available",
        details: { available: 50 },
      },
    });
    expect(await written()).toEqual(early);
    // Covered when asked: it waits; the balance then goes below it before it is approved.
    await adjust({
      customerId: bob,
      direction: "credit",
      points: 50,
      reason: "goodwill",
      note: "Again",
    });
    const debit = await adjust({
      customerId: bob,
      direction: "debit",
      points: 51,
      reason: "fraud",
      note: "Shared card",
    });
    expect(debit.json().status).toBe("pending");
    const spent = await adjust({
      customerId: bob,
      direction: "debit",
      points: 50,
      reason: "fraud",
      note: "First card",
    });
    expect(spent.json().status).toBe("applied");
    const before = await written();
    const a = await call(
      "POST",
      `/v1/loyalty/adjustments/${debit.json().id}/approve`,
      undefined,
      admin,
    );
    expect({ status: a.statusCode, code: a.json().error?.code }).toEqual({
      status: 409,
      code: "insufficient_points",
    });
    expect(await written()).toEqual(before);
    const still = (
      await call("GET", `/v1/loyalty/adjustments?customerId=${bob}`, undefined, staff)
    ).json();
    expect(still.adjustments[0]).toMatchObject({ id: debit.json().id, status: "pending" });
    expect(
      (await call("POST", `/v1/loyalty/adjustments/${debit.json().id}/reject`, undefined, admin))
        .statusCode,
    ).toBe(200);
    await call("PUT", "/v1/loyalty/programme", { adjustments: { approvalThreshold: 1000 } });
  });

  it("applies a pending adjustment once when two admins approve it at the same time", async () => {
    const r = await adjust({
      customerId: alice,
      direction: "debit",
      points: 1500,
      reason: "correction",
      note: "Decided twice at once",
    });
    expect(r.json().status).toBe("pending");
    const before = (await points(alice)).balance;
    const answers = await Promise.all(
      [admin, admin2, t.ownerKey].map((key) =>
        call("POST", `/v1/loyalty/adjustments/${r.json().id}/approve`, undefined, key),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409]);
    expect(
      answers
        .filter((a) => a.statusCode === 409)
        .every((a) => a.json().error.code === "not_pending"),
    ).toBe(true);
    expect((await points(alice)).balance).toBe(before - 1500);
  });

  it("answers a retry with the same Idempotency-Key once", async () => {
    const body = {
      customerId: alice,
      direction: "credit",
      points: 7,
      reason: "other",
      note: "Retried",
    };
    const headers = { "idempotency-key": `adj-${backend.name}` };
    const first = await t.node.app.inject({
      method: "POST",
      url: "/v1/loyalty/adjustments",
      headers: { ...json, authorization: `Bearer ${staff}`, ...headers },
      payload: JSON.stringify(body),
    });
    expect(first.statusCode, first.body).toBe(201);
    const before = await written();
    const again = await t.node.app.inject({
      method: "POST",
      url: "/v1/loyalty/adjustments",
      headers: { ...json, authorization: `Bearer ${staff}`, ...headers },
      payload: JSON.stringify(body),
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(await written()).toEqual(before);
  });

  it("passes the audit, which re-executes adjustments and names a forged approval", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const rebuilt = await auditProjections(t.node.db, projectors);
    expect(rebuilt.problems).toEqual([]);
    expect(rebuilt.tables).toContain("loyalty_adjustments");

    // A pending adjustment "approved" by its own requester, and a credit above what it asked.
    const r = await adjust({
      customerId: alice,
      direction: "credit",
      points: 4000,
      reason: "goodwill",
      note: "Self-approved",
    });
    const p = r.json();
    const parties = [{ customer: alice }, { merchant }];
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "adjustment.approved",
          actor: p.requestedBy,
          parties,
          sealed: true,
          payload: {
            merchantId: merchant,
            customerId: alice,
            adjustmentId: p.id,
            request: p.requestIndex,
            role: "admin",
          },
        },
        {
          type: "points.adjusted",
          actor: p.requestedBy,
          parties,
          sealed: true,
          payload: (ctx) => ({
            merchantId: merchant,
            customerId: alice,
            adjustmentId: p.id,
            request: p.requestIndex,
            direction: "credit",
            points: 4000,
            lot: { points: 9000, availableAt: new Date(ctx.time).toISOString(), expiresAt: null },
            taken: [],
          }),
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = (i: number) =>
      bad.problems.filter((x) => x.at === String(forged[i]?.index)).map((x) => x.message);
    expect(
      at(0).some((m) => /requester decides their own/.test(m)),
      at(0).join("\n"),
    ).toBe(true);
    expect(at(1).some((m) => /a credit makes one lot of its points/.test(m))).toBe(true);
    expect(bad.problems.some((x) => x.at === "loyalty")).toBe(true);
  });
});

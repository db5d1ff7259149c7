import { decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { loyaltyAuditor } from "../src/loyalty/audit.js";
import { Rules } from "../src/loyalty/rules.js";
import { type SimulateInput, Simulator } from "../src/loyalty/simulate.js";
import { LoyaltyState } from "../src/loyalty/state.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { EARN_RULES } from "./loyalty-helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const json = { "content-type": "application/json" };

/** The five earning rules of the tests (docs/loyalty.md shows them too). */
const RULES = EARN_RULES;

describe.each(backends)("loyalty on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let alice: string;
  let bob: string;
  let aliceEmail: string;

  const call = (method: string, url: string, body?: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const iso = (ms: number) => new Date(ms).toISOString();

  async function customer(email: string) {
    const r = await call("POST", "/v1/customers", { name: "Test Customer", email });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  const order = (over: Record<string, unknown> = {}) => ({
    orderId: `o-${Math.random().toString(36).slice(2, 10)}`,
    customer: { id: alice },
    amount: 12345,
    currency: "EUR",
    items: [
      { sku: "p1", category: "shoes", quantity: 1, unitPrice: 8000 },
      { sku: "p2", category: "socks", quantity: 2, unitPrice: 1000 },
    ],
    channel: "web",
    occurredAt: iso(clock.now() - 60_000),
    ...over,
  });

  const byRule = (awards: { rule: string; points: number }[]) =>
    Object.fromEntries(awards.map((a) => [a.rule, a.points]));

  async function draftAndPublish(id: string, document: unknown, effectiveFrom?: string) {
    const d = await call("POST", "/v1/loyalty/rules", { id, document });
    expect([200, 201], d.body).toContain(d.statusCode);
    const p = await call(
      "POST",
      `/v1/loyalty/rules/${id}/publish`,
      effectiveFrom ? { effectiveFrom } : undefined,
    );
    expect(p.statusCode, p.body).toBe(201);
    return p.json();
  }

  beforeAll(async () => {
    // Thursday 1 January 2026, 09:00 UTC.
    clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    t = await testNode(backend, {}, { clock });
    origin = t.node.identity.origin;
    aliceEmail = `alice.${backend.name}@example.com`;
    alice = await customer(aliceEmail);
    bob = await customer(`bob.${backend.name}@example.com`);
  });
  afterAll(async () => t?.close());

  it("has a programme from the start, and changing it is a public entry", async () => {
    const r = await call("GET", "/v1/loyalty/programme");
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      entryIndex: null,
      programme: {
        pointName: "points",
        valuePer100Points: 100,
        currency: "EUR",
        returnWindowDays: 0,
        expiry: { policy: "none" },
        transfers: { allowed: true, receivedAvailability: "immediate" },
        tiers: [],
        timeZone: "UTC",
      },
    });
    const bad = await call("PUT", "/v1/loyalty/programme", { timeZone: "Mars/Olympus" });
    expect(bad.statusCode).toBe(400);
    const staff = await call("POST", "/v1/api-keys", { role: "staff", label: "till" });
    expect(staff.statusCode, staff.body).toBe(201);
    const refused = await call(
      "PUT",
      "/v1/loyalty/programme",
      { pointName: "stars" },
      staff.json().key,
    );
    expect(refused.statusCode).toBe(403);

    const set = await call("PUT", "/v1/loyalty/programme", { pointName: "stars" });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().programme.pointName).toBe("stars");
    const e = await t.node.app.inject(`/v1/ledger/entries/${set.json().entryIndex}`);
    expect(e.json().entry).toMatchObject({
      type: "programme.set",
      payload: { programme: { pointName: "stars", currency: "EUR" } },
    });
    // The same again writes nothing.
    const before = size(t.node);
    expect((await call("PUT", "/v1/loyalty/programme", { pointName: "stars" })).statusCode).toBe(
      200,
    );
    expect(size(t.node)).toBe(before);
  });

  it("refuses a draft with the fault's path, and writes nothing", async () => {
    const before = size(t.node);
    const base = { name: "bad", kind: "earn", action: { type: "fixed", points: 1 } };
    let deep: unknown = ["a"];
    for (let i = 0; i < 34; i++) deep = [deep];
    let deeper: unknown = true;
    for (let i = 0; i < 40; i++) deeper = { "!": [deeper] };
    const cases: [string, unknown, string, string][] = [
      [
        "unknown operator",
        { ...base, condition: { foo: [1] } },
        "document.condition.foo",
        "unsupported_operator",
      ],
      [
        "a float",
        { ...base, condition: true, action: { type: "fixed", points: 1.5 } },
        "document.action.points",
        "not_an_integer",
      ],
      [
        "a __proto__ path",
        { ...base, condition: { var: "customer.__proto__" } },
        "document.condition.var",
        "forbidden_path",
      ],
      [
        "deep nesting",
        { ...base, condition: { in: ["a", deep] } },
        "document.condition.in.1",
        "too_deep",
      ],
      [
        "division",
        { ...base, condition: { "/": [4, 2] } },
        "document.condition./",
        "unsupported_operator",
      ],
      [
        "an unknown field",
        { ...base, condition: true, extra: 1 },
        "document.extra",
        "unknown_field",
      ],
    ];
    for (const [what, document, path, code] of cases) {
      const r = await call("POST", "/v1/loyalty/rules", { id: "bad", document });
      expect(r.statusCode, what).toBe(400);
      expect(r.json().error.code, what).toBe("invalid_rule");
      expect(r.json().error.details.errors[0], what).toMatchObject({ code });
      expect(r.json().error.details.errors[0].path.startsWith(path), `${what}: ${r.body}`).toBe(
        true,
      );
      expect(r.json().error.message, what).toContain(path);
    }
    // Deeper than a request body may nest: refused before the document is read.
    const tooDeep = await call("POST", "/v1/loyalty/rules", {
      id: "bad",
      document: { ...base, condition: deeper },
    });
    expect(tooDeep.statusCode).toBe(400);
    expect(tooDeep.json().error.code).toBe("json_too_deep");
    const badId = await call("POST", "/v1/loyalty/rules", { id: "a.b", document: RULES.base });
    expect(badId.statusCode).toBe(400);
    expect((await call("GET", "/v1/loyalty/rules")).json().rules).toEqual([]);
    const { rows } = await t.node.db.query("SELECT 1 FROM loyalty_rule_drafts");
    expect(rows).toHaveLength(0);
    expect(size(t.node)).toBe(before);
  });

  it("publishes now or later, never in the past; a new version supersedes; retire ends", async () => {
    const d = await call("POST", "/v1/loyalty/rules", { id: "promo", document: RULES.base });
    expect(d.statusCode, d.body).toBe(201);
    expect(d.json()).toMatchObject({ id: "promo", status: "draft", current: null, history: [] });
    expect(d.json().draft.version).toBe(1);
    const before = size(t.node);
    const past = await call("POST", "/v1/loyalty/rules/promo/publish", {
      effectiveFrom: iso(clock.now() - 1000),
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().error.code).toBe("effective_in_past");
    expect(size(t.node)).toBe(before);

    const now = await call("POST", "/v1/loyalty/rules/promo/publish");
    expect(now.statusCode, now.body).toBe(201);
    expect(now.json()).toMatchObject({ id: "promo", version: 1, effectiveFrom: iso(clock.now()) });
    // A public entry carrying the whole document and its hash, readable by anyone.
    const e = (await t.node.app.inject(`/v1/ledger/entries/${now.json().entryIndex}`)).json();
    expect(e.sealed).toBe(false);
    expect(e.entry).toMatchObject({
      type: "rule.published",
      payload: { ruleId: "promo", version: 1, hash: now.json().hash, document: RULES.base },
    });
    let rule = (await call("GET", "/v1/loyalty/rules/promo")).json();
    expect(rule).toMatchObject({ status: "active", draft: null, current: { version: 1 } });
    expect((await call("POST", "/v1/loyalty/rules/promo/publish")).json().error.code).toBe(
      "no_draft",
    );

    // Version 2 from tomorrow: version 1 holds until then.
    const later = iso(clock.now() + DAY);
    await call("POST", "/v1/loyalty/rules", { id: "promo", document: RULES.first });
    const v2 = await call("POST", "/v1/loyalty/rules/promo/publish", { effectiveFrom: later });
    expect(v2.statusCode, v2.body).toBe(201);
    expect(v2.json()).toMatchObject({ version: 2, effectiveFrom: later });
    rule = (await call("GET", "/v1/loyalty/rules/promo")).json();
    expect(rule.current.version).toBe(1);
    expect(rule.history.map((h: { effectiveUntil: string }) => h.effectiveUntil)).toEqual([
      later,
      null,
    ]);
    clock.advance(DAY);
    rule = (await call("GET", "/v1/loyalty/rules/promo")).json();
    expect(rule).toMatchObject({ status: "active", current: { version: 2 } });

    // The same document again is no new version.
    await call("POST", "/v1/loyalty/rules", { id: "promo", document: RULES.first });
    expect((await call("POST", "/v1/loyalty/rules/promo/publish")).json().error.code).toBe(
      "unchanged",
    );
    expect((await call("DELETE", "/v1/loyalty/rules/promo/draft")).statusCode).toBe(204);

    const retired = await call("POST", "/v1/loyalty/rules/promo/retire");
    expect(retired.statusCode, retired.body).toBe(201);
    expect(retired.json()).toMatchObject({ version: 2 });
    rule = (await call("GET", "/v1/loyalty/rules/promo")).json();
    expect(rule).toMatchObject({ status: "retired", current: null });
    expect((await call("POST", "/v1/loyalty/rules/promo/retire")).json().error.code).toBe(
      "already_retired",
    );
    expect((await call("POST", "/v1/loyalty/rules/nosuch/retire")).statusCode).toBe(404);

    // Only admins publish.
    const staff = (await call("POST", "/v1/api-keys", { role: "staff", label: "s" })).json().key;
    await call("POST", "/v1/loyalty/rules", { id: "promo", document: RULES.base }, staff);
    expect(
      (await call("POST", "/v1/loyalty/rules/promo/publish", undefined, staff)).statusCode,
    ).toBe(403);
    await call("DELETE", "/v1/loyalty/rules/promo/draft");
  });

  it("retires sooner than a scheduled retirement: the latest decision wins", async () => {
    await draftAndPublish("sched", RULES.base);
    clock.advance(HOUR);
    const later = iso(clock.now() + 30 * DAY);
    const first = await call("POST", "/v1/loyalty/rules/sched/retire", { effectiveFrom: later });
    expect(first.statusCode, first.body).toBe(201);
    expect((await call("GET", "/v1/loyalty/rules/sched")).json().status).toBe("active");

    // At or after the scheduled retirement: nothing would change; refused, naming its time.
    const before = size(t.node);
    for (const effectiveFrom of [later, iso(clock.now() + 40 * DAY)]) {
      const again = await call("POST", "/v1/loyalty/rules/sched/retire", { effectiveFrom });
      expect(again.statusCode, again.body).toBe(409);
      expect(again.json().error.code).toBe("already_retired");
      expect(again.json().error.message).toContain(later);
    }
    expect(size(t.node)).toBe(before);

    // Sooner (now): accepted; the scheduled retirement is replaced and never takes effect.
    const now = await call("POST", "/v1/loyalty/rules/sched/retire");
    expect(now.statusCode, now.body).toBe(201);
    expect(now.json()).toMatchObject({ version: 1, effectiveFrom: iso(clock.now()) });
    const rule = (await call("GET", "/v1/loyalty/rules/sched")).json();
    expect(rule).toMatchObject({ status: "retired", current: null });
    expect(
      rule.history.map((h: { event: string; replaced: boolean; effectiveUntil: string | null }) => [
        h.event,
        h.replaced,
        h.effectiveUntil,
      ]),
    ).toEqual([
      ["published", false, iso(clock.now())],
      ["retired", true, null],
      ["retired", false, null],
    ]);
    const merchantId = (await call("GET", "/v1/loyalty/programme")).json().merchantId;
    const book = await new LoyaltyState(t.node.db, t.node.sequencer, clock).book(merchantId);
    expect(book.versionAt("sched", clock.now())).toBeUndefined();
    expect(book.versionAt("sched", clock.now() - 1)?.version).toBe(1);
    expect(book.get("sched")?.events.map((e) => e.kind)).toEqual(["published", "retired"]);
    const twice = await call("POST", "/v1/loyalty/rules/sched/retire");
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.message).toContain(`since ${iso(clock.now())}`);

    // A retired rule with a version scheduled for later: retiring now cancels that version.
    await call("POST", "/v1/loyalty/rules", { id: "sched", document: RULES.first });
    const v2 = await call("POST", "/v1/loyalty/rules/sched/publish", { effectiveFrom: later });
    expect(v2.statusCode, v2.body).toBe(201);
    const cancel = await call("POST", "/v1/loyalty/rules/sched/retire");
    expect(cancel.statusCode, cancel.body).toBe(201);
    const after = (await call("GET", "/v1/loyalty/rules/sched")).json();
    expect(after.history.at(-2)).toMatchObject({ event: "published", version: 2, replaced: true });

    // A version scheduled for later may be published again sooner; the same one now, not.
    await call("POST", "/v1/loyalty/rules", { id: "sched", document: RULES.first });
    expect(
      (await call("POST", "/v1/loyalty/rules/sched/publish", { effectiveFrom: later })).statusCode,
    ).toBe(201);
    await call("POST", "/v1/loyalty/rules", { id: "sched", document: RULES.first });
    const sooner = await call("POST", "/v1/loyalty/rules/sched/publish");
    expect(sooner.statusCode, sooner.body).toBe(201);
    expect((await call("GET", "/v1/loyalty/rules/sched")).json()).toMatchObject({
      status: "active",
      current: { version: 4 },
    });
    await call("POST", "/v1/loyalty/rules", { id: "sched", document: RULES.first });
    expect((await call("POST", "/v1/loyalty/rules/sched/publish")).json().error.code).toBe(
      "unchanged",
    );
    await call("DELETE", "/v1/loyalty/rules/sched/draft");
    const last = await call("POST", "/v1/loyalty/rules/sched/retire");
    expect(last.statusCode, last.body).toBe(201);

    // The auditor accepts all of it, and names a retirement that changes nothing (fed directly:
    // the node refuses to write one).
    const auditor = loyaltyAuditor();
    const found: { at: string; message: string }[] = [];
    const rows = await listEntries(t.node.db, 0n, size(t.node));
    for (const r of rows) auditor.visit(r.index, decodeEntry(r.data), (p) => found.push(p));
    expect(found).toEqual([]);
    const again = await entry(last.json().entryIndex);
    auditor.visit(size(t.node), again, (p) => found.push(p));
    expect(found).toContainEqual({
      kind: "invariant",
      at: String(size(t.node)),
      message: "rule.retired: rule sched is already retired",
    });
  });

  it("lists each publication with its document's name and own validity, apart from when it holds", async () => {
    const own = { ...RULES.base, name: "Christmas bonus", validUntil: "2027-01-01T00:00:00Z" };
    await call("POST", "/v1/loyalty/rules", { id: "xmas", document: own });
    const later = iso(clock.now() + DAY);
    const p = await call("POST", "/v1/loyalty/rules/xmas/publish", { effectiveFrom: later });
    expect(p.statusCode, p.body).toBe(201);
    const rule = (await call("GET", "/v1/loyalty/rules/xmas")).json();
    // Scheduled: no version in force and no draft, yet its name is known.
    expect(rule).toMatchObject({ status: "scheduled", current: null, draft: null });
    expect(rule.history).toMatchObject([
      {
        event: "published",
        name: "Christmas bonus",
        validFrom: null,
        validUntil: "2027-01-01T00:00:00Z",
        effectiveFrom: later,
        effectiveUntil: null,
      },
    ]);
    expect((await call("POST", "/v1/loyalty/rules/xmas/retire")).statusCode).toBe(201);
    const retired = (await call("GET", "/v1/loyalty/rules/xmas")).json();
    expect(retired.history.at(-1)).toMatchObject({
      event: "retired",
      name: null,
      validFrom: null,
      validUntil: null,
    });
  });

  it("earns points on an order by five published rules, named with their inputs", async () => {
    // Saturday 3 January 2026, 10:00 UTC.
    clock.set(Date.UTC(2026, 0, 3, 10));
    for (const [id, doc] of Object.entries(RULES)) await draftAndPublish(id, doc);
    const list = (await call("GET", "/v1/loyalty/rules")).json().rules;
    expect(
      list
        .filter((r: { status: string }) => r.status === "active")
        .map((r: { id: string }) => r.id),
    ).toEqual(["base", "first", "shoes", "web", "weekend"]);

    const first = order({ orderId: "A-1" });
    const r = await call("POST", "/v1/orders", first);
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json();
    // base 123, shoes 2 × 8000 / 100 = 160, first order 50, weekend 123 capped to 30 a day,
    // web doubles base: 123 more.
    expect(byRule(body.awards)).toEqual({
      base: 123,
      shoes: 160,
      first: 50,
      weekend: 30,
      web: 123,
    });
    expect(body).toMatchObject({ orderId: "A-1", customerId: alice, points: 486 });
    expect(body.availableAt).toBe(iso(clock.now()));
    for (const a of body.awards) expect(a.version).toBe(1);

    // Sealed entries on the customer's chain: the order, then its awards with their inputs.
    const o = await entry(body.entryIndex);
    const w = await entry(body.entryIndex + 1);
    expect(o.salt).toBeDefined();
    expect(w.salt).toBeDefined();
    expect(o).toMatchObject({ type: "order.recorded", payload: { orderId: "A-1", amount: 12345 } });
    expect(w.type).toBe("points.awarded");
    expect(w.subjects?.[0]).toMatchObject({ customer: alice });
    const awards = w.payload.awards as {
      rule: string;
      hash: string;
      inputs: Record<string, unknown>;
      cappedBy?: string;
    }[];
    const weekend = awards.find((a) => a.rule === "weekend");
    expect(weekend).toMatchObject({
      cappedBy: "day",
      inputs: { "time.weekday": 6, "order.amount": 12345 },
    });
    expect(awards.find((a) => a.rule === "first")?.inputs).toEqual({ "customer.orders": 0 });
    const anon = (await t.node.app.inject(`/v1/ledger/entries/${body.entryIndex + 1}`)).json();
    expect(anon.sealed).toBe(true);
    expect(anon.entry).toBeUndefined();

    // The second order of the day: no first-order bonus, the weekend cap is used up.
    const second = await call(
      "POST",
      "/v1/orders",
      order({ orderId: "A-2", channel: "store", amount: 5000, items: [] }),
    );
    expect(second.statusCode, second.body).toBe(201);
    expect(byRule(second.json().awards)).toEqual({ base: 50, weekend: 0 });
    expect(second.json().points).toBe(50);

    // A retry is answered as the first time; other content under the same id is refused.
    const before = size(t.node);
    const again = await call("POST", "/v1/orders", first);
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(body);
    const conflict = await call("POST", "/v1/orders", { ...first, amount: 99 });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe("order_conflict");
    expect(size(t.node)).toBe(before);

    // Identity hints find the customer through the blind index.
    const byEmail = await call(
      "POST",
      "/v1/orders",
      order({
        orderId: "A-3",
        customer: { email: aliceEmail.toUpperCase() },
        amount: 100,
        items: [],
        channel: "store",
      }),
    );
    expect(byEmail.statusCode, byEmail.body).toBe(201);
    expect(byEmail.json()).toMatchObject({ customerId: alice, points: 1 });
  });

  it("records a batch, each order on its own", async () => {
    clock.set(Date.UTC(2026, 0, 3, 11));
    const before = size(t.node);
    const a = order({
      orderId: "B-1",
      customer: { id: bob },
      amount: 1000,
      items: [],
      channel: "store",
    });
    const r = await call("POST", "/v1/orders", {
      orders: [
        a,
        order({
          orderId: "B-2",
          customer: { id: bob },
          amount: 2000,
          items: [{ sku: "p3", category: "care", quantity: 4, unitPrice: 500 }],
          channel: "store",
        }),
        { ...a, amount: 1001 },
        order({ orderId: "B-3", customer: { id: "c_nosuchcustomer" } }),
        order({ orderId: "A-1" }),
        a,
      ],
    });
    expect(r.statusCode, r.body).toBe(201);
    const results = r.json().results;
    // Bob's first order: base 10, first 50, weekend 10; his second: base 20, weekend 20 (cap 30).
    expect(results[0]).toMatchObject({
      orderId: "B-1",
      customerId: bob,
      points: 70,
      replayed: false,
    });
    expect(results[1]).toMatchObject({ orderId: "B-2", points: 40 });
    expect(byRule(results[1].awards)).toEqual({ base: 20, weekend: 20 });
    expect(results[2]).toMatchObject({ orderId: "B-1", error: { code: "order_conflict" } });
    expect(results[3]).toMatchObject({ orderId: "B-3", error: { code: "not_found" } });
    // A-1 again, its occurredAt an hour later: other content under the same id.
    expect(results[4]).toMatchObject({ orderId: "A-1", error: { code: "order_conflict" } });
    expect(results[5]).toMatchObject({ orderId: "B-1", points: 70, replayed: true });
    expect(size(t.node)).toBe(before + 4n);
  });

  it("refuses bad orders with a code and message, and writes nothing", async () => {
    const before = size(t.node);
    const cases: [string, unknown, number, string][] = [
      ["unknown customer", order({ customer: { id: "c_nobody" } }), 404, "not_found"],
      ["unknown email", order({ customer: { email: "nobody@example.com" } }), 404, "not_found"],
      [
        "id and email",
        order({ customer: { id: alice, email: aliceEmail } }),
        400,
        "invalid_request",
      ],
      ["a float amount", order({ amount: 123.45 }), 400, "invalid_request"],
      ["a negative amount", order({ amount: -1 }), 400, "invalid_request"],
      ["an amount as text", order({ amount: "100" }), 400, "invalid_request"],
      [
        "a float price",
        order({ items: [{ sku: "p", category: "c", quantity: 1, unitPrice: 9.99 }] }),
        400,
        "invalid_request",
      ],
      [
        "a float quantity",
        order({ items: [{ sku: "p", category: "c", quantity: 0.5, unitPrice: 1 }] }),
        400,
        "invalid_request",
      ],
      ["another currency", order({ currency: "USD" }), 400, "currency_mismatch"],
      ["a bad currency", order({ currency: "euro" }), 400, "invalid_request"],
      [
        "far in the future",
        order({ occurredAt: iso(clock.now() + 3 * DAY) }),
        400,
        "invalid_occurred_at",
      ],
      [
        "before the epoch",
        order({ occurredAt: "1800-12-01T10:00:00Z" }),
        400,
        "invalid_occurred_at",
      ],
      ["at the epoch", order({ occurredAt: "1970-01-01T00:00:00Z" }), 400, "invalid_occurred_at"],
      ["an unknown field", { ...order(), coupon: "x" }, 400, "invalid_request"],
      ["no order id", { ...order(), orderId: undefined }, 400, "invalid_request"],
      [
        "items worth more than the amount",
        order({
          amount: 100,
          items: [{ sku: "p", category: "c", quantity: 1, unitPrice: 999999 }],
        }),
        400,
        "items_exceed_amount",
      ],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await call("POST", "/v1/orders", body);
      expect(r.statusCode, `${what}: ${r.body}`).toBe(status);
      expect(r.json().error.code, what).toBe(code);
      expect(r.json().error.message, what).toBeTruthy();
    }
    // A schema error names the field and what it must be, in a single order or in a batch
    // (not the body's "Invalid input": the body is one order or a batch of them).
    const named: [unknown, string][] = [
      [order({ amount: 123.45 }), "body/amount: must be an integer"],
      [{ ...order(), items: undefined }, "body/items: "],
      [
        { orders: [order(), order({ quantity: 1 })] },
        'body/orders/1: Unrecognized key: "quantity"',
      ],
      [{ orders: [order(), order({ amount: 1.5 })] }, "body/orders/1/amount: must be an integer"],
      [{ orders: "all" }, "body/orders: "],
    ];
    for (const [body, message] of named) {
      const r = await call("POST", "/v1/orders", body);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().error.message).toContain(message);
      expect(r.json().error.message).not.toContain("Invalid input;");
    }
    const noItems = await call("POST", "/v1/orders", { ...order(), items: undefined });
    expect(noItems.json().error).toMatchObject({
      code: "invalid_request",
      message: "body/items: Invalid input: expected array, received undefined",
      details: [{ path: "body/items" }],
    });
    // The items' total is named; one more cent than the amount is refused, in a batch too.
    const over = await call(
      "POST",
      "/v1/orders",
      order({ amount: 100, items: [{ sku: "p", category: "c", quantity: 1, unitPrice: 999999 }] }),
    );
    expect(over.json().error.message).toContain("add up to 999999");
    expect(over.json().error.details).toEqual({ itemsTotal: 999999, amount: 100 });
    const items = [
      { sku: "p1", category: "shoes", quantity: 3, unitPrice: 3000 },
      { sku: "p2", category: "socks", quantity: 2, unitPrice: 501 },
    ];
    const batch = await call("POST", "/v1/orders", {
      orders: [order({ orderId: "X-1", amount: 10001, items })],
    });
    expect(batch.statusCode, batch.body).toBe(201);
    expect(batch.json().results[0]).toMatchObject({
      orderId: "X-1",
      error: { code: "items_exceed_amount" },
    });
    expect(batch.json().results[0].error.message).toContain("add up to 10002");
    expect(size(t.node)).toBe(before);
  });

  it("simulates a draft set over past orders, compared with the published set", async () => {
    await call("PUT", "/v1/loyalty/programme", { valuePer100Points: 50 });
    // Draft version 2 of base: 2 points per 100.
    const d = await call("POST", "/v1/loyalty/rules", {
      id: "base",
      document: { ...RULES.base, action: { type: "per_amount", points: 2, per: 100 } },
    });
    expect(d.statusCode, d.body).toBe(200);
    const window = { from: iso(Date.UTC(2026, 0, 3)), to: iso(Date.UTC(2026, 0, 3, 10, 30)) };
    const r = await call("POST", "/v1/loyalty/simulate", { rules: ["base", "web"], ...window });
    expect(r.statusCode, r.body).toBe(200);
    const s = r.json();
    // A-1 (486), A-2 (50) and A-3 (1), all Alice's.
    expect(s).toMatchObject({ orders: 3, customers: 1, currency: "EUR", valuePer100Points: 50 });
    expect(s.published).toMatchObject({ points: 537, cost: 269, orders: 3, customers: 1 });
    // base 246 + web 246; A-2: base 100; A-3: base 2.
    expect(s.draft).toMatchObject({ points: 594, cost: 297, orders: 3, customers: 1 });
    expect(s.draft.rules).toEqual([
      { rule: "base", version: 2, points: 348, orders: 3, failed: 0 },
      { rule: "web", version: 1, points: 246, orders: 1, failed: 0 },
    ]);
    expect(s.difference).toEqual({ points: 57, cost: 28, customers: 1 });
    // The same report read a page of one or two orders at a time, and over a wider window.
    const merchantId = (await call("GET", "/v1/loyalty/programme")).json().merchantId;
    const wide = { from: iso(Date.UTC(2025, 11, 1)), to: iso(clock.now()) };
    const whole = (await call("POST", "/v1/loyalty/simulate", { rules: ["base"], ...wide })).json();
    expect(whole.orders).toBe(3);
    // `to` left out: up to now.
    const open = await call("POST", "/v1/loyalty/simulate", { rules: ["base"], from: wide.from });
    expect(open.statusCode, open.body).toBe(200);
    expect(open.json()).toEqual(whole);
    const late = await call("POST", "/v1/loyalty/simulate", {
      rules: ["base"],
      from: iso(clock.now() + 1000),
    });
    expect(late.json().error.code).toBe("invalid_window");
    const noFrom = await call("POST", "/v1/loyalty/simulate", { rules: ["base"] });
    expect(noFrom.json().error).toMatchObject({ code: "invalid_request" });
    expect(noFrom.json().error.message).toContain("body/from");
    const noDocument = await call("POST", "/v1/loyalty/simulate", {
      rules: [{ id: "flat" }],
      from: wide.from,
    });
    expect(noDocument.json().error.message).toBe(
      "body/rules/0/document: Invalid input: expected record, received undefined",
    );
    for (const pageSize of [1, 2]) {
      const state = new LoyaltyState(t.node.db, t.node.sequencer, clock);
      const rules = new Rules(t.node.db, t.node.sequencer, clock, state);
      const paged = new Simulator(t.node.db, clock, state, rules, { pageSize });
      const again = async (body: SimulateInput) =>
        JSON.parse(JSON.stringify(await paged.simulate(merchantId, body)));
      expect(await again({ rules: ["base", "web"], ...window })).toEqual(s);
      expect(await again({ rules: ["base"], ...wide })).toEqual(whole);
    }
    // A window with more orders than a simulation may evaluate is refused before any is read.
    {
      const state = new LoyaltyState(t.node.db, t.node.sequencer, clock);
      const rules = new Rules(t.node.db, t.node.sequencer, clock, state);
      const capped = new Simulator(t.node.db, clock, state, rules, { maxOrders: 2 });
      await expect(
        capped.simulate(merchantId, { rules: ["base"], ...window }),
      ).rejects.toMatchObject({ status: 400, code: "window_too_large" });
    }

    // A document inline; an unknown id; a window in the future; an invalid document.
    const inline = await call("POST", "/v1/loyalty/simulate", {
      rules: [
        {
          id: "flat",
          document: {
            name: "10 a order",
            kind: "earn",
            condition: true,
            action: { type: "fixed", points: 10 },
          },
        },
      ],
      ...window,
    });
    expect(inline.statusCode, inline.body).toBe(200);
    expect(inline.json().draft).toMatchObject({ points: 30, orders: 3 });
    expect(
      (await call("POST", "/v1/loyalty/simulate", { rules: ["nosuch"], ...window })).statusCode,
    ).toBe(404);
    const future = await call("POST", "/v1/loyalty/simulate", {
      rules: [],
      from: window.from,
      to: iso(clock.now() + HOUR),
    });
    expect(future.json().error.code).toBe("invalid_window");
    const bad = await call("POST", "/v1/loyalty/simulate", {
      rules: [
        {
          id: "x",
          document: {
            name: "x",
            kind: "earn",
            condition: { "/": [1, 2] },
            action: { type: "fixed", points: 1 },
          },
        },
      ],
      ...window,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.errors[0].path).toBe("rules.0.document.condition./");
    await call("DELETE", "/v1/loyalty/rules/base/draft");
    await call("PUT", "/v1/loyalty/programme", { valuePer100Points: 100 });
  });

  it("keeps points pending for the return window, then available on the clock", async () => {
    const carol = await customer(`carol.${backend.name}@example.com`);
    const set = await call("PUT", "/v1/loyalty/programme", { returnWindowDays: 14 });
    expect(set.json().programme.returnWindowDays).toBe(14);
    const recorded = clock.now();
    const r = await call(
      "POST",
      "/v1/orders",
      order({
        orderId: "C-1",
        customer: { id: carol },
        amount: 10000,
        items: [],
        channel: "store",
      }),
    );
    expect(r.statusCode, r.body).toBe(201);
    // base 100, first 50, weekend 30 (capped).
    expect(r.json()).toMatchObject({ points: 180, availableAt: iso(recorded + 14 * DAY) });

    let points = (await call("GET", `/v1/customers/${carol}/points`)).json();
    expect(points).toMatchObject({
      customerId: carol,
      pointName: "stars",
      balance: 0,
      pending: 180,
      debt: 0,
      tier: null,
      lotCount: 1,
    });
    expect(points.lots[0]).toMatchObject({
      points: 180,
      remaining: 180,
      source: { type: "order", orderId: "C-1", entryIndex: r.json().entryIndex },
      availableAt: iso(recorded + 14 * DAY),
      expiresAt: null,
      status: "pending",
    });
    clock.advance(14 * DAY - 1);
    expect((await call("GET", `/v1/customers/${carol}/points`)).json()).toMatchObject({
      balance: 0,
      pending: 180,
    });
    clock.advance(1);
    points = (await call("GET", `/v1/customers/${carol}/points`)).json();
    expect(points).toMatchObject({ balance: 180, pending: 0 });
    expect(points.lots[0].status).toBe("available");

    // Alice's points were available at once (no return window then): 486 + 50 + 1.
    const a = (await call("GET", `/v1/customers/${alice}/points?limit=2`)).json();
    expect(a).toMatchObject({ balance: 537, pending: 0, lotCount: 3 });
    expect(a.lots).toHaveLength(2);
    expect((await call("GET", "/v1/customers/c_nobody/points")).statusCode).toBe(404);

    // Reading a customer's points is a use of their loyalty data.
    await t.node.accessLog.flush();
    const uses = (await call("GET", `/v1/customers/${carol}/data-access`)).json().records;
    expect(
      uses.some(
        (u: { action: string; categories: string[] }) =>
          u.action === "points" && u.categories.includes("loyalty"),
      ),
    ).toBe(true);
    await call("PUT", "/v1/loyalty/programme", { returnWindowDays: 0 });
  });

  it("audit re-executes every award, and fails naming a forged one", async () => {
    const audit = () =>
      auditLedger(t.node.db, {
        origin,
        verifierKey: t.node.identity.verifierKey,
        entries: () => entryAuditorOf(domains, origin),
      });
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    expect(projections.tables).toEqual(
      expect.arrayContaining([
        "loyalty_programmes",
        "loyalty_rule_events",
        "loyalty_orders",
        "loyalty_awards",
        "loyalty_lots",
      ]),
    );

    // A row of the projection edited behind the log's back.
    await t.node.db.query(
      "UPDATE loyalty_awards SET points = points + 1000 WHERE order_id = 'A-1' AND rule_id = 'base'",
    );
    const tampered = await auditProjections(t.node.db, projectors);
    expect(tampered.problems.map((p) => p.at)).toContain("loyalty_awards");
    await t.node.db.query(
      "UPDATE loyalty_awards SET points = points - 1000 WHERE order_id = 'A-1' AND rule_id = 'base'",
    );

    // A node that awards more than the rules give: the entries hash and chain correctly, but
    // the award does not recompute, nor does the set.
    const real = (
      await call(
        "POST",
        "/v1/orders",
        order({ orderId: "D-1", amount: 2000, items: [], channel: "store" }),
      )
    ).json();
    const o = await entry(real.entryIndex);
    const w = await entry(real.entryIndex + 1);
    const forgedOrder = { ...o.payload, orderId: "D-2" };
    const awards = (w.payload.awards as { rule: string; points: number }[]).map((a) =>
      a.rule === "base" ? { ...a, points: a.points + 100 } : a,
    );
    const points = (w.payload.points as number) + 100;
    const lot = { ...(w.payload.lot as Record<string, unknown>), points };
    const parties = [{ customer: alice }, { merchant: o.payload.merchantId as string }];
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "order.recorded",
          actor: o.actor,
          payload: forgedOrder as never,
          parties,
          sealed: true,
        },
        {
          type: "points.awarded",
          actor: o.actor,
          payload: (ctx) =>
            ({
              ...w.payload,
              orderId: "D-2",
              awards,
              points,
              lot,
              order: Number(ctx.index) - 1,
            }) as never,
          parties,
          sealed: true,
        },
      ],
    });
    const at = String(forged[1]?.index);
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const mine = bad.problems.filter((p) => p.at === at).map((p) => p.message);
    expect(
      mine.some((m) => /award 0 \(rule base v1\) differs when recomputed/.test(m)),
      mine.join("\n"),
    ).toBe(true);
    expect(mine.some((m) => /not what the rules in force give/.test(m))).toBe(true);
    // The forged order also has a context from before Alice's D-1 order.
    expect(mine.some((m) => /earlier orders/.test(m))).toBe(true);

    // An order without its award set.
    const alone = await t.node.sequencer.execute({
      entries: [
        {
          type: "order.recorded",
          actor: o.actor,
          payload: { ...o.payload, orderId: "D-3" } as never,
          parties,
          sealed: true,
        },
      ],
    });
    const unawarded = await audit();
    expect(
      unawarded.problems.some(
        (p) =>
          p.at === String(alone[0]?.index) && /not followed by its points.awarded/.test(p.message),
      ),
    ).toBe(true);

    // The same order id twice (the orders table refuses it, so the auditor is fed directly).
    const auditor = loyaltyAuditor();
    const found: { at: string; message: string }[] = [];
    const rows = await listEntries(t.node.db, 0n, size(t.node));
    for (const r of rows) auditor.visit(r.index, decodeEntry(r.data), (p) => found.push(p));
    auditor.visit(size(t.node), o, (p) => found.push(p));
    auditor.finish((p) => found.push(p));
    expect(found).toContainEqual({
      kind: "invariant",
      at: String(size(t.node)),
      message: `order.recorded: order D-1 was already recorded at entry ${real.entryIndex}`,
    });
  });
});

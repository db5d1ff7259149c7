import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { addMonths, endOfMonth } from "../src/loyalty/expiry.js";
import { ProgrammeSchema } from "../src/loyalty/programme.js";
import { projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { BASE_RULE, loyaltyCalls, publishRules, startLoyaltyNode } from "./loyalty-helpers.js";

const json = { "content-type": "application/json" };
const DAY = 86_400_000;

interface Points {
  balance: number;
  pending: number;
  expired: number;
  lotCount: number;
  lots: { id: string; remaining: number; expiresAt: string | null; status: string }[];
}

describe("expiry arithmetic", () => {
  it("adds calendar months, clamping the day, and finds the end of a month", () => {
    expect(new Date(addMonths(Date.UTC(2026, 0, 31, 9), 1)).toISOString()).toBe(
      "2026-02-28T09:00:00.000Z",
    );
    expect(new Date(addMonths(Date.UTC(2026, 2, 15), -3)).toISOString()).toBe(
      "2025-12-15T00:00:00.000Z",
    );
    // 23:30 on 31 Jan in UTC+8 is 1 Feb local: its month ends at local midnight of 1 Mar.
    expect(new Date(endOfMonth(Date.UTC(2026, 0, 31, 23, 30), 480)).toISOString()).toBe(
      "2026-02-28T16:00:00.000Z",
    );
  });

  it("reads programmes set before expiry policies existed", () => {
    const old = {
      pointName: "points",
      valuePer100Points: 100,
      currency: "EUR",
      returnWindowDays: 0,
      expiry: { policy: "none" },
      transfers: { allowed: true, receivedAvailability: "immediate" },
      tiers: [],
      timeZone: "UTC",
    };
    expect(ProgrammeSchema.parse(old)).toMatchObject({ expiry: { policy: "none" } });
  });
});

describe.each(backends)("loyalty expiry on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  const { call, customer, entry, order, sweep, audit } = loyaltyCalls(
    () => ({ t, clock }),
    `e.${backend.name}.`,
  );
  const iso = (ms: number) => new Date(ms).toISOString();

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as Points;

  const programme = async (body: unknown) => {
    const r = await call("PUT", "/v1/loyalty/programme", body);
    expect(r.statusCode, r.body).toBe(200);
  };

  /** The customer's points.expired entries. */
  const expiries = async (customerId: string) => {
    const { rows } = await t.node.db.query<{ entry_idx: string | number }>(
      "SELECT entry_idx FROM loyalty_expiries WHERE customer_id = $1 ORDER BY entry_idx",
      [customerId],
    );
    return Promise.all(rows.map((r) => entry(Number(r.entry_idx))));
  };

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(backend, {
      "web-short": {
        name: "Web points last 10 days",
        kind: "expiry",
        condition: true,
        scope: { channels: ["web"] },
        action: { type: "expire", days: 10 },
      },
    }));
  });
  afterAll(async () => t?.close());

  it("refuses bad expiry policies with a 4xx, writing nothing", async () => {
    const before = size(t.node);
    for (const expiry of [
      { policy: "fixed" },
      { policy: "fixed", months: 0 },
      { policy: "fixed", months: 121 },
      { policy: "fixed", months: 1.5 },
      { policy: "fixed", months: "3" },
      { policy: "fixed", months: 3, endOfMonth: "yes" },
      { policy: "inactivity" },
      { policy: "inactivity", months: -1 },
      { policy: "none", months: 3 },
      { policy: "sometimes", months: 3 },
      {},
      "none",
    ]) {
      const r = await call("PUT", "/v1/loyalty/programme", { expiry });
      expect(r.statusCode, JSON.stringify(expiry)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    expect(size(t.node)).toBe(before);
    const p = await call("GET", "/v1/loyalty/programme");
    expect(p.json().programme.expiry).toEqual({ policy: "none" });
  });

  it("fixed: a lot expires months after it was earned; balances are right before the sweep, which writes points.expired once", async () => {
    await programme({ expiry: { policy: "fixed", months: 1 } });
    const c = await customer();
    const o = await order(c, "F-1", 5000);
    expect(o.points).toBe(50);
    const earned = clock.now();
    const lot = (await points(c)).lots[0];
    expect(lot?.expiresAt).toBe(iso(addMonths(earned, 1)));
    const awarded = await entry(o.entryIndex + 1);
    expect(awarded.payload.lot).toMatchObject({ expiresAt: iso(addMonths(earned, 1)) });

    // Just before: still available. Past it: gone from the balance, with no entry yet.
    clock.set(addMonths(earned, 1) - 1);
    expect(await points(c)).toMatchObject({ balance: 50, expired: 0 });
    const sizeBefore = size(t.node);
    expect((await sweep()).expired.customers).toBe(0);
    expect(size(t.node)).toBe(sizeBefore);
    clock.set(addMonths(earned, 1));
    const past = await points(c);
    expect(past).toMatchObject({ balance: 0, pending: 0, expired: 50 });
    expect(past.lots[0]?.status).toBe("expired");

    const s = await sweep();
    expect(s.expired).toMatchObject({ customers: 1, points: 50, more: false });
    const [e, ...more] = await expiries(c);
    expect(more).toEqual([]);
    expect(e?.type).toBe("points.expired");
    expect(e?.salt).toBeDefined();
    expect(e?.payload).toEqual({
      merchantId: awarded.payload.merchantId,
      customerId: c,
      points: 50,
      lots: [{ lot: o.entryIndex + 1, expiresAt: iso(addMonths(earned, 1)), points: 50 }],
    });
    expect(await points(c)).toMatchObject({ balance: 0, expired: 0, lotCount: 0 });

    // Idempotent: a second run, and a later one, find nothing.
    const after = size(t.node);
    expect((await sweep()).expired).toMatchObject({ customers: 0, points: 0 });
    clock.advance(DAY);
    expect((await sweep()).expired).toMatchObject({ customers: 0, points: 0 });
    expect(size(t.node)).toBe(after);
  });

  it("the sweep is bounded per run: what is left waits for the next", async () => {
    await programme({ expiry: { policy: "fixed", months: 1 } });
    const [c1, c2] = [await customer(), await customer()];
    await order(c1, "B-1", 1000);
    await order(c2, "B-2", 2000);
    clock.set(addMonths(clock.now(), 1) + 1);
    // Staff may not run it.
    const staff = (await call("POST", "/v1/api-keys", { role: "staff", label: "till" })).json().key;
    const refused = await t.node.app.inject({
      method: "POST",
      url: "/v1/loyalty/sweep",
      headers: { authorization: `Bearer ${staff}` },
    });
    expect(refused.statusCode).toBe(403);
    for (const limit of ["0", "501", "x"]) {
      const bad = await call("POST", `/v1/loyalty/sweep?limit=${limit}`);
      expect(bad.statusCode, limit).toBe(400);
    }
    // Both expired at the same instant: one per run, whichever comes first.
    const first = (await call("POST", "/v1/loyalty/sweep?limit=1")).json().expired;
    expect(first).toMatchObject({ customers: 1, more: true });
    const second = (await call("POST", "/v1/loyalty/sweep?limit=1")).json().expired;
    expect(second).toMatchObject({ customers: 1, more: false });
    expect([first.points, second.points].sort()).toEqual([10, 20]);
    expect((await sweep()).expired.customers).toBe(0);
    expect((await expiries(c1)).length + (await expiries(c2)).length).toBe(2);
  });

  it("one run releases lapsed holds first, then writes off what expired, their points included", async () => {
    await programme({ expiry: { policy: "fixed", months: 1 } });
    const c = await customer();
    await order(c, "H-1", 1000);
    const held = await call("POST", "/v1/redemptions", {
      customerId: c,
      points: 4,
      ttlSeconds: 60,
    });
    expect(held.statusCode, held.body).toBe(201);
    const hold = held.json() as { id: string };
    clock.set(addMonths(clock.now(), 1) + 1);
    // Read as lapsed and expired already; nothing written yet.
    expect((await call("GET", `/v1/redemptions/${hold.id}`)).json()).toMatchObject({
      status: "expired",
      closedEntry: null,
    });
    expect(await points(c)).toMatchObject({ balance: 0, expired: 10 });
    const s = await sweep();
    expect(s.released).toBe(1);
    // The 4 points the release gave back to their lot expire with the 6 left in it.
    expect(s.expired).toMatchObject({ customers: 1, points: 10, more: false });
    const closed = (await call("GET", `/v1/redemptions/${hold.id}`)).json();
    expect((await entry(closed.closedEntry)).payload).toMatchObject({
      reason: "expired",
      points: 4,
    });
    expect((await expiries(c)).map((e) => e.payload.points)).toEqual([10]);
    expect(await points(c)).toMatchObject({ balance: 0, expired: 0 });
    expect((await sweep()).released).toBe(0);
    expect((await audit()).problems).toEqual([]);
  });

  it("fixed with endOfMonth: a lot lasts to the end of the month it reaches", async () => {
    clock.set(Date.UTC(2026, 4, 10, 12));
    await programme({ expiry: { policy: "fixed", months: 2, endOfMonth: true } });
    const c = await customer();
    await order(c, "M-1", 1000);
    expect((await points(c)).lots[0]?.expiresAt).toBe("2026-08-01T00:00:00.000Z");
  });

  it("an expiry rule gives its orders' lots their own expiry, recorded with its inputs", async () => {
    clock.set(Date.UTC(2026, 5, 1, 12));
    await programme({ expiry: { policy: "fixed", months: 12 } });
    const c = await customer();
    const o = await order(c, "R-1", 2000, "web");
    const awarded = await entry(o.entryIndex + 1);
    expect(awarded.payload.expiryAwards).toEqual([
      expect.objectContaining({
        rule: "web-short",
        version: 1,
        kind: "expiry",
        days: 10,
        points: 0,
        inputs: { "order.channel": "web" },
      }),
    ]);
    expect((awarded.payload.lot as { expiresAt: string }).expiresAt).toBe(
      iso(clock.now() + 10 * DAY),
    );
    // A store order has no expiry award: the programme's policy holds.
    const s = await order(c, "R-2", 2000);
    const storeAward = await entry(s.entryIndex + 1);
    expect(storeAward.payload.expiryAwards).toBeUndefined();
    expect((storeAward.payload.lot as { expiresAt: string }).expiresAt).toBe(
      iso(addMonths(clock.now(), 12)),
    );
    clock.advance(10 * DAY);
    expect(await points(c)).toMatchObject({ balance: 20, expired: 20 });
  });

  it("inactivity: each order renews the lots still alive; expired lots stay expired before the sweep", async () => {
    clock.set(Date.UTC(2026, 8, 1, 9));
    await programme({ expiry: { policy: "inactivity", months: 2 } });
    const c = await customer();
    const a = await order(c, "I-1", 3000);
    const t0 = clock.now();
    expect((await points(c)).lots[0]?.expiresAt).toBe(iso(addMonths(t0, 2)));
    expect((await entry(a.entryIndex + 1)).payload.activeUntil).toBe(iso(addMonths(t0, 2)));

    // A month on, an order keeps both lots alive for two months from it.
    clock.set(addMonths(t0, 1));
    const t1 = clock.now();
    await order(c, "I-2", 2000);
    const renewed = await points(c);
    expect(renewed.balance).toBe(50);
    expect(renewed.lots.map((l) => l.expiresAt)).toEqual([
      iso(addMonths(t1, 2)),
      iso(addMonths(t1, 2)),
    ]);
    // Past the first deadline, the renewal holds.
    clock.set(addMonths(t0, 2) + DAY);
    expect(await points(c)).toMatchObject({ balance: 50, expired: 0 });

    // Inactive past the renewed deadline: expired, and a new order does not bring them back.
    clock.set(addMonths(t1, 2) + DAY);
    expect(await points(c)).toMatchObject({ balance: 0, expired: 50 });
    await order(c, "I-3", 1000);
    expect(await points(c)).toMatchObject({ balance: 10, expired: 50 });

    await sweep();
    const [e] = await expiries(c);
    expect(e?.payload).toMatchObject({ customerId: c, points: 50 });
    expect(e?.payload.lots).toHaveLength(2);
    expect(await points(c)).toMatchObject({ balance: 10, expired: 0, lotCount: 1 });
  });

  it("audit re-executes expiry entries, and fails naming a forged one", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    expect(projections.tables).toEqual(expect.arrayContaining(["loyalty_expiries"]));

    // A lot that has not expired, expired all the same.
    const c = await customer();
    const o = await order(c, "X-1", 4000);
    const awarded = await entry(o.entryIndex + 1);
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "points.expired",
          actor: awarded.actor,
          payload: {
            merchantId: awarded.payload.merchantId as string,
            customerId: c,
            points: 40,
            lots: [{ lot: o.entryIndex + 1, expiresAt: iso(clock.now()), points: 40 }],
          },
          parties: [{ customer: c }, { merchant: awarded.payload.merchantId as string }],
          sealed: true,
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = String(forged[0]?.index);
    const mine = bad.problems.filter((p) => p.at === at).map((p) => p.message);
    expect(
      mine.some((m) =>
        /points\.expired: it expires .* the lots expired at its time are \[\]/.test(m),
      ),
      mine.join("\n"),
    ).toBe(true);
  });
});

describe.each(backends)("the node's loyalty sweep on $name", (backend) => {
  it("writes off expired points and releases lapsed holds on its one timer once the clock passes them", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    const t = await testNode(backend, { loyaltySweepMs: 20 }, { clock });
    try {
      const call = (method: string, url: string, body?: unknown) =>
        t.node.app.inject({
          method: method as "GET",
          url,
          headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${t.ownerKey}` },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
      await publishRules(t, { base: BASE_RULE });
      const set = await call("PUT", "/v1/loyalty/programme", {
        expiry: { policy: "fixed", months: 1 },
      });
      expect(set.statusCode, set.body).toBe(200);
      const c = await call("POST", "/v1/customers", { name: "Timer", email: "timer@example.com" });
      const id = c.json().id as string;
      const o = await call("POST", "/v1/orders", {
        orderId: "T-1",
        customer: { id },
        amount: 700,
        currency: "EUR",
        items: [],
        channel: "store",
        occurredAt: new Date(clock.now()).toISOString(),
      });
      expect(o.statusCode, o.body).toBe(201);
      const held = await call("POST", "/v1/redemptions", {
        customerId: id,
        points: 2,
        ttlSeconds: 60,
      });
      expect(held.statusCode, held.body).toBe(201);
      const hold = held.json().id as string;
      const count = async () => {
        const { rows } = await t.node.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM loyalty_expiries WHERE customer_id = $1",
          [id],
        );
        return rows[0]?.n;
      };
      expect(await count()).toBe(0);
      clock.set(addMonths(clock.now(), 1) + 1);
      await vi.waitFor(async () => expect(await count()).toBe(1), {
        timeout: 5_000,
        interval: 25,
      });
      const p = (await call("GET", `/v1/customers/${id}/points`)).json();
      expect(p).toMatchObject({ balance: 0, expired: 0, lotCount: 0 });
      // The same run wrote the hold's release first: its 2 points expired with the lot.
      const closed = (await call("GET", `/v1/redemptions/${hold}`)).json();
      expect(closed).toMatchObject({ status: "expired" });
      expect(closed.closedEntry).toEqual(expect.any(Number));
    } finally {
      await t.close();
    }
  });
});

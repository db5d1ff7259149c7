import { decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode } from "./helpers.js";
import { publishRules, startLoyaltyNode } from "./loyalty-helpers.js";

const json = { "content-type": "application/json" };

describe.each(backends)("loyalty refunds on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let n = 0;

  const call = (
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: {
        ...(body === undefined ? {} : json),
        authorization: `Bearer ${t.ownerKey}`,
        ...headers,
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const iso = (ms: number) => new Date(ms).toISOString();

  async function customer() {
    const r = await call("POST", "/v1/customers", {
      name: "Test Customer",
      email: `c${++n}.${backend.name}@example.com`,
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  async function order(
    customerId: string,
    orderId: string,
    items: { sku: string; quantity: number; unitPrice: number }[],
  ) {
    const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
    const r = await call("POST", "/v1/orders", {
      orderId,
      customer: { id: customerId },
      amount,
      currency: "EUR",
      items: items.map((i) => ({ ...i, category: "misc" })),
      channel: "store",
      occurredAt: iso(clock.now() - 60_000),
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { points: number; entryIndex: number; awards: { rule: string }[] };
  }

  const refund = (orderId: string, body?: unknown, headers?: Record<string, string>) =>
    call("POST", `/v1/orders/${orderId}/refund`, body, headers);

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as {
      balance: number;
      debt: number;
    };

  const audit = () =>
    auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });

  /** Spends points as a till does: a hold, then its capture, each answered 201/200. */
  async function spend(customerId: string, by: number) {
    const h = await call("POST", "/v1/redemptions", { customerId, points: by });
    expect(h.statusCode, h.body).toBe(201);
    const c = await call("POST", "/v1/redemptions/capture", { code: h.json().code });
    expect(c.statusCode, c.body).toBe(200);
    expect(c.json()).toMatchObject({ status: "captured", points: by });
  }

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(
      backend,
      {
        big: {
          name: "100 points on orders of 100.00 or more",
          kind: "earn",
          condition: { ">=": [{ var: "order.amount" }, 10000] },
          action: { type: "fixed", points: 100 },
        },
      },
      { config: {} },
    ));
    origin = t.node.identity.origin;
  });
  afterAll(async () => t?.close());

  it("refunds an order in full, reversing every award", async () => {
    const c = await customer();
    const o = await order(c, "F-1", [{ sku: "a", quantity: 1, unitPrice: 5000 }]);
    expect(o.points).toBe(50);
    clock.advance(1000);
    const r = await refund("F-1", {});
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ full: true, pointsBefore: 50, pointsAfter: 0, reversed: 50 });
    expect(r.json()).toMatchObject({ debt: 0, writtenOff: 0 });
    expect(await points(c)).toMatchObject({ balance: 0, debt: 0 });
    const refunded = await entry(r.json().entryIndex);
    expect(refunded.type).toBe("order.refunded");
    expect(refunded.payload).toMatchObject({ orderId: "F-1", awards: [], full: true });
    const reversed = await entry(r.json().entryIndex + 1);
    expect(reversed.type).toBe("points.reversed");
    expect(reversed.payload).toMatchObject({
      points: 50,
      taken: [{ lot: o.entryIndex + 1, points: 50 }],
    });
  });

  it("a partial refund recomputes with the order's rule versions and reverses the difference", async () => {
    const c = await customer();
    const o = await order(c, "T-1", [
      { sku: "a", quantity: 1, unitPrice: 8000 },
      { sku: "b", quantity: 2, unitPrice: 2000 },
    ]);
    expect(o.points).toBe(220); // 120 + 100 for crossing 100.00
    // A later version of the threshold rule, which the refunds must not use.
    clock.advance(1000);
    await publishRules(t, {
      big: {
        name: "100 points on orders of 50.00 or more",
        kind: "earn",
        condition: { ">=": [{ var: "order.amount" }, 5000] },
        action: { type: "fixed", points: 100 },
      },
    });
    clock.advance(1000);
    const one = await refund("T-1", { lines: [{ sku: "b", quantity: 1 }] });
    expect(one.statusCode, one.body).toBe(201);
    expect(one.json()).toMatchObject({
      full: false,
      pointsBefore: 220,
      pointsAfter: 200,
      reversed: 20,
    });
    // Below the threshold of the version in force at the order: its award goes entirely.
    const two = await refund("T-1", { lines: [{ sku: "b", quantity: 1 }] });
    expect(two.json()).toMatchObject({ pointsBefore: 200, pointsAfter: 80, reversed: 120 });
    const e = await entry(two.json().entryIndex);
    expect(e.payload.net).toMatchObject({ amount: 8000 });
    expect((e.payload.awards as { rule: string; version: number }[]).map((a) => a.rule)).toEqual([
      "base",
    ]);
    expect(await points(c)).toMatchObject({ balance: 80, debt: 0 });
  });

  it("refuses over-refunds, unknown orders and answers repeats the same, writing nothing", async () => {
    const c = await customer();
    await order(c, "R-1", [{ sku: "a", quantity: 3, unitPrice: 1000 }]);
    const before = size(t.node);
    const over = await refund("R-1", { lines: [{ sku: "a", quantity: 4 }] });
    expect(over.statusCode).toBe(409);
    expect(over.json().error.code).toBe("over_refund");
    const other = await refund("R-1", { lines: [{ sku: "zz", quantity: 1 }] });
    expect(other.json().error.code).toBe("over_refund");
    expect((await refund("NOPE", {})).statusCode).toBe(404);
    expect(size(t.node)).toBe(before);

    const key = { "idempotency-key": "rf-1" };
    const first = await refund("R-1", { lines: [{ sku: "a", quantity: 1 }] }, key);
    expect(first.statusCode, first.body).toBe(201);
    const again = await refund("R-1", { lines: [{ sku: "a", quantity: 1 }] }, key);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const conflict = await refund("R-1", { lines: [{ sku: "a", quantity: 2 }] }, key);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe("refund_conflict");
    const byId = await refund("R-1", { refundId: "rf-2" });
    expect(byId.statusCode).toBe(201);
    expect(byId.json()).toMatchObject({ refundId: "rf-2", full: true, reversed: 20 });
    expect((await refund("R-1", { refundId: "rf-2" })).statusCode).toBe(200);
    const twice = await refund("R-1");
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe("over_refund");
    expect(size(t.node)).toBe(before + 4n);
    expect(await points(c)).toMatchObject({ balance: 0, debt: 0 });
  });

  it("audit re-executes refunds, and fails naming a forged reversal", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    expect(projections.tables).toEqual(
      expect.arrayContaining(["loyalty_refunds", "loyalty_debts", "loyalty_lots"]),
    );

    const c = await customer();
    const o = await order(c, "X-1", [{ sku: "a", quantity: 4, unitPrice: 1000 }]);
    const real = (await refund("X-1", { lines: [{ sku: "a", quantity: 1 }] })).json();
    const r = await entry(real.entryIndex);
    const parties = [{ customer: c }, { merchant: r.payload.merchantId as string }];
    // A refund of nothing whose reversal takes 25 points all the same.
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "order.refunded",
          actor: r.actor,
          payload: {
            ...r.payload,
            refundId: "forged",
            lines: [],
            pointsBefore: real.pointsAfter,
          } as never,
          parties,
          sealed: true,
        },
        {
          type: "points.reversed",
          actor: r.actor,
          payload: (ctx) =>
            ({
              merchantId: r.payload.merchantId,
              customerId: c,
              orderId: "X-1",
              refund: Number(ctx.index) - 1,
              points: 25,
              taken: [{ lot: o.entryIndex + 1, points: 25 }],
              debt: 0,
              writtenOff: 0,
            }) as never,
          parties,
          sealed: true,
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = String(forged[1]?.index);
    const mine = bad.problems.filter((p) => p.at === at).map((p) => p.message);
    expect(
      mine.some((m) => /reverses 25 points, the refund 0/.test(m)),
      mine.join("\n"),
    ).toBe(true);
  });

  it("a refund after the points were spent records a debt the next earnings repay", async () => {
    const c = await customer();
    // 100 + 100: the threshold rule's current version starts at 50.00.
    const o = await order(c, "S-1", [{ sku: "a", quantity: 1, unitPrice: 10000 }]);
    expect(o.points).toBe(200);
    await spend(c, 150);
    const r = await refund("S-1");
    expect(r.json()).toMatchObject({ reversed: 200, debt: 150, writtenOff: 0 });
    expect(await points(c)).toMatchObject({ balance: 0, debt: 150 });
    const two = await order(c, "S-2", [{ sku: "a", quantity: 1, unitPrice: 3000 }]);
    expect(two.points).toBe(30);
    expect((await entry(two.entryIndex + 1)).payload).toMatchObject({ debtRepaid: 30 });
    expect(await points(c)).toMatchObject({ balance: 0, debt: 120 });
    await order(c, "S-3", [{ sku: "a", quantity: 1, unitPrice: 20000 }]);
    expect(await points(c)).toMatchObject({ balance: 180, debt: 0 });
  });

  it("write_off policy writes the shortfall off", async () => {
    const set = await call("PUT", "/v1/loyalty/programme", { debtPolicy: "write_off" });
    expect(set.statusCode, set.body).toBe(200);
    const c = await customer();
    const o = await order(c, "W-1", [{ sku: "a", quantity: 1, unitPrice: 5000 }]);
    expect(o.points).toBe(150);
    await spend(c, 150);
    const r = await refund("W-1", {});
    expect(r.json()).toMatchObject({ reversed: 150, debt: 0, writtenOff: 150 });
    expect(await points(c)).toMatchObject({ balance: 0, debt: 0 });
    const e = await entry(r.json().entryIndex + 1);
    expect(e.payload).toMatchObject({ writtenOff: 150, taken: [] });
  });
});

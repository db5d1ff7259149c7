import { randomBytes } from "node:crypto";
import { attachmentCommitment } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { addMonths } from "../src/loyalty/expiry.js";
import { projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import type { TestNode } from "./helpers.js";
import { loyaltyCalls, startLoyaltyNode } from "./loyalty-helpers.js";

// Points that come in otherwise than by an order (a staff credit, points received by a
// transfer) are treated as earned points are: they repay the customer's debt first, and their
// lot gets the programme's expiry policy as of its making (a received lot no later than the
// lots it was sent from). The auditor re-executes both, and the projections rebuild alike.

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Points {
  balance: number;
  debt: number;
  lots: { points: number; remaining: number; expiresAt: string | null }[];
}

describe.each(backends)("credits and points received on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  const { call, customer, entry, order, audit } = loyaltyCalls(
    () => ({ t, clock }),
    `credit.${backend.name}.`,
  );

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as Points;
  const programme = async (body: unknown) => {
    const r = await call("PUT", "/v1/loyalty/programme", body);
    expect(r.statusCode, r.body).toBe(200);
  };
  const adjust = async (customerId: string, direction: "credit" | "debit", points: number) => {
    const r = await call("POST", "/v1/loyalty/adjustments", {
      customerId,
      direction,
      points,
      reason: "goodwill",
      note: `A ${direction} of ${points}`,
    });
    expect(r.statusCode, r.body).toBe(201);
    const a = r.json() as { appliedIndex: number; requestIndex: number; id: string };
    return { ...a, applied: await entry(a.appliedIndex) };
  };
  const refund = async (orderId: string) => {
    const r = await call("POST", `/v1/orders/${orderId}/refund`, {});
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { debt: number };
  };

  /** A customer with a key, joined by a signed command. */
  async function join(s: Signer) {
    const salt = randomBytes(16);
    const values = { name: "Credit Tester", email: `k${randomBytes(4).toString("hex")}@x.org` };
    const signed = s.sign({
      v: 1,
      type: "customer.join",
      ledger: t.node.identity.origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: iso(clock.now() + HOUR),
      payload: { attached: attachmentCommitment(salt, values as never) },
    } as never);
    const r = await call("POST", "/v1/commands", {
      ...signed,
      attached: { salt: salt.toString("base64url"), values },
    });
    expect(r.statusCode, r.body).toBe(201);
    return (await entry(r.json().entries[0].index)).payload.customerId as string;
  }
  const send = async (s: Signer, to: string, points: number) => {
    const r = await call(
      "POST",
      "/v1/commands",
      s.sign({
        v: 1,
        type: "points.transfer",
        ledger: t.node.identity.origin,
        actor: s.did,
        merchant,
        nonce: nonce(),
        expires: iso(clock.now() + HOUR),
        payload: { to, points },
      } as never),
    );
    expect(r.statusCode, r.body).toBe(201);
    const [, received] = r.json().entries as { index: number }[];
    return entry(received?.index as number);
  };
  /** A customer who owes `debt` points: earned, spent by a debit, then refunded. */
  async function debtor(customerId: string, debt: number) {
    const orderId = `D-${customerId}`;
    await order(customerId, orderId, debt * 100);
    await adjust(customerId, "debit", debt);
    expect((await refund(orderId)).debt).toBe(debt);
    expect(await points(customerId)).toMatchObject({ balance: 0, debt });
  }

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(backend));
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
  });
  afterAll(async () => t?.close());

  it("a staff credit repays the customer's debt first, as earnings do", async () => {
    const c = await customer();
    await debtor(c, 150);
    const first = await adjust(c, "credit", 100);
    expect(first.applied.payload).toMatchObject({
      direction: "credit",
      points: 100,
      lot: { points: 100, expiresAt: null },
      debtRepaid: 100,
    });
    expect(await points(c)).toMatchObject({ balance: 0, debt: 50 });
    const second = await adjust(c, "credit", 80);
    expect(second.applied.payload).toMatchObject({ lot: { points: 80 }, debtRepaid: 50 });
    const after = await points(c);
    expect(after).toMatchObject({ balance: 30, debt: 0 });
    expect(after.lots.map((l) => [l.points, l.remaining])).toEqual([[80, 30]]);
    // Without debt, nothing is repaid and the field is left out.
    const third = await adjust(c, "credit", 5);
    expect(third.applied.payload).not.toHaveProperty("debtRepaid");
    expect((await points(c)).balance).toBe(35);
  });

  it("points received repay the receiver's debt first", async () => {
    const alice = ed25519Signer();
    const bob = ed25519Signer();
    const aliceId = await join(alice);
    const bobId = await join(bob);
    await order(aliceId, `A-${aliceId}`, 20_000);
    await debtor(bobId, 100);
    const first = await send(alice, bobId, 60);
    expect(first.type).toBe("points.received");
    expect(first.payload).toMatchObject({ points: 60, lot: { points: 60 }, debtRepaid: 60 });
    expect(await points(bobId)).toMatchObject({ balance: 0, debt: 40 });
    const second = await send(alice, bobId, 50);
    expect(second.payload).toMatchObject({ lot: { points: 50 }, debtRepaid: 40 });
    expect(await points(bobId)).toMatchObject({ balance: 10, debt: 0 });
    expect((await points(aliceId)).balance).toBe(200 - 110);
  });

  it("a credit's lot gets the programme's expiry policy as of the credit", async () => {
    const c = await customer();
    await programme({ expiry: { policy: "fixed", months: 6 } });
    const fixed = await adjust(c, "credit", 40);
    expect(fixed.applied.payload.lot).toEqual({
      points: 40,
      availableAt: fixed.applied.time,
      expiresAt: iso(addMonths(Date.parse(fixed.applied.time), 6)),
    });
    await programme({ expiry: { policy: "fixed", months: 6, endOfMonth: true } });
    const monthEnd = await adjust(c, "credit", 2);
    expect(monthEnd.applied.payload.lot).toMatchObject({ expiresAt: "2026-08-01T00:00:00.000Z" });
    // Inactivity: months from the credit, renewed by the customer's next order.
    await programme({ expiry: { policy: "inactivity", months: 3 } });
    const idle = await adjust(c, "credit", 7);
    const made = Date.parse(idle.applied.time);
    expect(idle.applied.payload.lot).toEqual({
      points: 7,
      availableAt: idle.applied.time,
      expiresAt: iso(addMonths(made, 3)),
      ownExpiresAt: null,
    });
    clock.advance(30 * 86_400_000);
    await order(c, `I-${c}`, 100);
    const lots = (await points(c)).lots;
    const renewed = iso(addMonths(clock.now(), 3));
    // The order renews every unexpired lot to its activeUntil, never past a lot's own expiry
    // (the fixed-policy credits' are later): the credits' lots are renewed as earned ones are.
    expect(lots.find((l) => l.points === 7)?.expiresAt).toBe(renewed);
    expect(lots.find((l) => l.points === 40)?.expiresAt).toBe(renewed);
    await programme({ expiry: { policy: "none" } });
    expect((await adjust(c, "credit", 1)).applied.payload.lot).toMatchObject({ expiresAt: null });
  });

  it("a received lot gets the programme's expiry as of its receipt, never later than the lots sent", async () => {
    const alice = ed25519Signer();
    const bob = ed25519Signer();
    const aliceId = await join(alice);
    const bobId = await join(bob);
    // Earned under no expiry: Alice's lot never expires.
    await order(aliceId, `E-${aliceId}`, 10_000);
    await programme({ expiry: { policy: "fixed", months: 2 } });
    clock.advance(86_400_000);
    const received = await send(alice, bobId, 30);
    const at = Date.parse(received.time);
    expect(received.payload.lot).toEqual({
      points: 30,
      availableAt: received.time,
      expiresAt: iso(addMonths(at, 2)),
    });
    // Earned now, under the policy: Bob's points sent back keep their sooner expiry.
    await order(bobId, `E-${bobId}`, 1000);
    const earnedExpiry = (await points(bobId)).lots.map((l) => l.expiresAt).sort()[0] as string;
    clock.advance(86_400_000);
    const back = await send(bob, aliceId, 35);
    expect(back.payload.lot).toMatchObject({ points: 35, expiresAt: earnedExpiry });
    expect(Date.parse(earnedExpiry)).toBeLessThan(addMonths(Date.parse(back.time), 2));
    await programme({ expiry: { policy: "none" } });
  });

  it("passes the audit, which re-executes both, and the projections rebuild alike", async () => {
    expect((await audit()).problems).toEqual([]);
    const rebuilt = await auditProjections(t.node.db, projectors);
    expect(rebuilt.problems).toEqual([]);
    expect(rebuilt.tables).toEqual(expect.arrayContaining(["loyalty_lots", "loyalty_debts"]));
  });

  it("audit names a credit that does not repay the debt or expire as the programme says", async () => {
    const c = await customer();
    await debtor(c, 20);
    await programme({ expiry: { policy: "fixed", months: 1 } });
    // Above the threshold: it waits, and the forged approval and credit follow it.
    const r = await call("POST", "/v1/loyalty/adjustments", {
      customerId: c,
      direction: "credit",
      points: 5000,
      reason: "goodwill",
      note: "Forged",
    });
    expect(r.statusCode, r.body).toBe(201);
    const p = r.json();
    const parties = [{ customer: c }, { merchant }];
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "adjustment.approved",
          actor: "merchant:someone-else",
          parties,
          sealed: true,
          payload: {
            merchantId: merchant,
            customerId: c,
            adjustmentId: p.id,
            request: p.requestIndex,
            role: "admin",
          },
        },
        {
          type: "points.adjusted",
          actor: "merchant:someone-else",
          parties,
          sealed: true,
          payload: (ctx) => ({
            merchantId: merchant,
            customerId: c,
            adjustmentId: p.id,
            request: p.requestIndex,
            direction: "credit",
            points: 5000,
            lot: { points: 5000, availableAt: iso(ctx.time), expiresAt: null },
            taken: [],
          }),
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = String(forged[1]?.index);
    const mine = bad.problems.filter((x) => x.at === at).map((x) => x.message);
    expect(mine.some((m) => /expiring as the programme's policy says/.test(m))).toBe(true);
    expect(
      mine.some((m) => /repays 0 points of debt, not 20/.test(m)),
      mine.join("\n"),
    ).toBe(true);
  });
});

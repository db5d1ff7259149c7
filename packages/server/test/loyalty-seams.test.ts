import { randomBytes } from "node:crypto";
import { attachmentCommitment, decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { applyProjector, type CommittedEntry } from "../src/ledger/sequencer.js";
import { listEntries } from "../src/ledger/store.js";
import { addMonths } from "../src/loyalty/expiry.js";
import { loyaltyProjectors } from "../src/loyalty/projections.js";
import { redemptionsProjector } from "../src/loyalty/redemption-projections.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import type { TestNode } from "./helpers.js";
import { startLoyaltyNode } from "./loyalty-helpers.js";
import { expectViewsMatchLots } from "./loyalty-views.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const json = { "content-type": "application/json" };

interface Points {
  tier: string | null;
  tierProgress: { current: { figure: number } | null; next: { figure: number } | null };
  balance: number;
  pending: number;
  held: number;
  debt: number;
  expired: number;
  lots: { id: string; remaining: number; expiresAt: string | null; status: string }[];
}

describe("projecting one batch", () => {
  const at = (index: number, type: string, payload: Record<string, unknown>) =>
    ({
      index: BigInt(index),
      entry: { type, payload, time: "2026-01-05T09:00:00.000Z", actor: "x" },
      data: new Uint8Array(),
      leafHash: new Uint8Array(),
    }) as unknown as CommittedEntry;

  it("applies a hold's take from a lot before a later order's renewal, and a release's after it, in log order", () => {
    const batch = [
      at(10, "redemption.held", {
        merchantId: "m",
        customerId: "c",
        redemptionId: "rd_1",
        reward: null,
        taken: [{ lot: 8, points: 100 }],
      }),
      at(11, "points.awarded", {
        merchantId: "m",
        customerId: "c",
        orderId: "o",
        order: 9,
        points: 0,
        awards: [],
        context: {},
        lot: null,
        activeUntil: "2026-02-05T09:00:00.000Z",
      }),
      at(12, "redemption.released", {
        merchantId: "m",
        customerId: "c",
        redemptionId: "rd_1",
        reward: null,
        returned: [{ lot: 8, points: 100 }],
      }),
    ];
    // The sequencer runs each projector over the batch's entries of its types, in its order.
    const lots = [...loyaltyProjectors, redemptionsProjector]
      .flatMap((p) =>
        p.statements(batch.filter((e) => p.types === "*" || p.types.includes(e.entry.type))),
      )
      .filter((st) => /UPDATE loyalty_lots/.test(st.sql))
      .map((st) => (/expires_at = CASE/.test(st.sql) ? "renew" : String(st.params?.[1])));
    expect(lots).toEqual(["-100", "renew", "100"]);
  });
});

/**
 * The seams between the loyalty features built apart (orders and refunds, redemptions,
 * transfers and adjustments, expiry and tiers): one log exercising them together, where the
 * balance read, the sequencer's staged wallet (before and after a restart), the projections
 * rebuilt from the log and the auditor's invariant must all agree.
 */
describe.each(backends)("loyalty seams on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let merchant: string;
  let n = 0;

  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const iso = (ms: number) => new Date(ms).toISOString();
  const cmd = (s: Signer, type: string, payload: Record<string, unknown>) =>
    ({
      v: 1,
      type,
      ledger: origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: iso(clock.now() + HOUR),
      payload,
    }) as Record<string, never>;

  /** A customer with a key of their own (transfers are signed by the sender). */
  async function member(): Promise<{ s: Signer; id: string }> {
    const s = ed25519Signer();
    const values = { name: "Seam Tester", email: `seam${++n}.${backend.name}@example.org` };
    const salt = randomBytes(16);
    const r = await call(
      "POST",
      "/v1/commands",
      {
        ...s.sign(cmd(s, "customer.join", { attached: attachmentCommitment(salt, values) })),
        attached: { salt: salt.toString("base64url"), values },
      },
      {},
    );
    expect(r.statusCode, r.body).toBe(201);
    return { s, id: (await entry(r.json().entries[0].index)).payload.customerId as string };
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  /** An order worth `points` (1 point per 1.00). */
  async function earn(customerId: string, points: number) {
    const orderId = `SEAM-${++n}`;
    const r = await call("POST", "/v1/orders", {
      orderId,
      customer: { id: customerId },
      amount: points * 100,
      currency: "EUR",
      items: [{ sku: "a", category: "misc", quantity: 1, unitPrice: points * 100 }],
      channel: "store",
      occurredAt: iso(clock.now() - 60_000),
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().points).toBe(points);
    return { orderId, lot: `l_${r.json().entryIndex + 1}` };
  }

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as Points;
  const hold = (customerId: string, pts: number, ttlSeconds = 3600) =>
    call("POST", "/v1/redemptions", { customerId, points: pts, ttlSeconds });
  const programme = async (body: unknown) => {
    const r = await call("PUT", "/v1/loyalty/programme", body);
    expect(r.statusCode, r.body).toBe(200);
  };
  const send = async (from: Signer, to: string, pts: number) => {
    const r = await call(
      "POST",
      "/v1/commands",
      from.sign(cmd(from, "points.transfer", { to, points: pts })),
      {},
    );
    expect(r.statusCode, r.body).toBe(201);
  };
  /** The points the customer's points.expired entries wrote off. */
  const writtenOff = async (customerId: string) => {
    const { rows } = await t.node.db.query<{ n: string | number }>(
      "SELECT coalesce(sum(points), 0) AS n FROM loyalty_expiries WHERE customer_id = $1",
      [customerId],
    );
    return Number(rows[0]?.n);
  };
  /** The sequencer forgets what it staged and reads the projections again (a restart). */
  const restart = () => (t.node.sequencer as unknown as { recover(): Promise<void> }).recover();

  /**
   * What the balance read says can be spent, the sequencer agrees to: a hold of all of it is
   * taken (and released again), and one point more is refused.
   */
  async function spendableAgrees(customerId: string) {
    const { balance } = await points(customerId);
    if (balance > 0) {
      const h = await hold(customerId, balance);
      expect(h.statusCode, `a hold of the balance (${balance}): ${h.body}`).toBe(201);
      const r = await call("POST", `/v1/redemptions/${h.json().id}/release`, {});
      expect(r.statusCode, r.body).toBe(200);
    }
    const more = await hold(customerId, balance + 1);
    expect(more.statusCode, more.body).toBe(409);
    expect(more.json().error.code).toBe("insufficient_points");
    return balance;
  }

  async function clean() {
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    const { programme } = (await call("GET", "/v1/loyalty/programme")).json();
    await expectViewsMatchLots(t.node.db, merchant, clock.now(), programme);
    const audit = await auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });
    expect(audit.problems).toEqual([]);
  }

  beforeAll(async () => {
    // The tests release lapsed holds themselves (the node's sweep waits a day).
    ({ t, clock } = await startLoyaltyNode(backend, {}, { start: Date.UTC(2026, 0, 5, 9) }));
    origin = t.node.identity.origin;
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
  });
  afterAll(async () => t?.close());

  it("an order while all of a lot is held: the projections rebuilt from the log apply the hold before the renewal, as the node did", async () => {
    await programme({ expiry: { policy: "inactivity", months: 1 } });
    const { id } = await member();
    const first = await earn(id, 100);
    const h = await hold(id, 100);
    expect(h.statusCode, h.body).toBe(201);
    // The order at the till renews the customer's lots with points left; the held one has none.
    clock.advance(10 * 60_000);
    await earn(id, 10);
    const before = (await points(id)).lots.find((l) => l.id === first.lot);
    expect(before).toBeUndefined();
    // Redemptions' changes to the lots are applied in the log's order with the orders' ones:
    // the rebuild does not renew a lot the hold had emptied first.
    await clean();
    const r = await call("POST", `/v1/redemptions/${h.json().id}/release`, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(await spendableAgrees(id)).toBe(110);
    await restart();
    expect(await spendableAgrees(id)).toBe(110);
    await clean();
  });

  it("a lot given back by a release keeps its own expiry, so a later order renews it as the projections do", async () => {
    await programme({ expiry: { policy: "inactivity", months: 1 } });
    const { id } = await member();
    const start = clock.now();
    await earn(id, 100);
    // Held in full and released: the lot comes back into the staged wallet.
    const h = await hold(id, 100);
    expect(h.statusCode, h.body).toBe(201);
    expect((await call("POST", `/v1/redemptions/${h.json().id}/release`, {})).statusCode).toBe(200);
    // An order 20 days on keeps it alive a month from then.
    clock.set(start + 20 * DAY);
    await earn(id, 5);
    const lots = (await points(id)).lots;
    expect(lots.every((l) => l.expiresAt === iso(addMonths(clock.now(), 1)))).toBe(true);
    // Past the first month: the renewed lot is spendable by the node as the balance says.
    clock.set(addMonths(start, 1) + DAY);
    expect(await spendableAgrees(id)).toBe(105);
    await restart();
    expect(await spendableAgrees(id)).toBe(105);
    await clean();
  });

  it("points received by transfer keep the expiry they were sent with: the receiver's order does not lengthen it, in the node, the projections and the audit", async () => {
    await programme({ expiry: { policy: "inactivity", months: 1 } });
    const alice = await member();
    const bob = await member();
    const start = clock.now();
    await earn(alice.id, 100);
    clock.advance(DAY);
    await send(alice.s, bob.id, 100);
    const received = (await points(bob.id)).lots[0];
    expect(received?.expiresAt).toBe(iso(addMonths(start, 1)));
    clock.set(start + 20 * DAY);
    await earn(bob.id, 7);
    const lots = (await points(bob.id)).lots;
    expect(lots.map((l) => l.expiresAt)).toEqual([
      iso(addMonths(clock.now(), 1)),
      iso(addMonths(start, 1)),
    ]);
    clock.set(addMonths(start, 1) + DAY);
    expect(await points(bob.id)).toMatchObject({ balance: 7, expired: 100 });
    expect(await spendableAgrees(bob.id)).toBe(7);
    await restart();
    expect(await spendableAgrees(bob.id)).toBe(7);
    await clean();
    const swept = await call("POST", "/v1/loyalty/sweep");
    expect(swept.statusCode, swept.body).toBe(200);
    expect(await points(bob.id)).toMatchObject({ balance: 7, expired: 0 });
    await clean();
  });

  it("a hold on a lot that expires while held: the held points are the hold's until it closes; released (or lapsed) they expire with their lot, in the read, the sweep, a restart and the audit", async () => {
    await programme({ expiry: { policy: "fixed", months: 1 } });
    const { id } = await member();
    const start = clock.now();
    await earn(id, 100);
    const end = addMonths(start, 1);
    clock.set(end - HOUR);
    const released = (await hold(id, 60, 3 * 3600)).json();
    const lapsing = (await hold(id, 30, 3 * 3600)).json();
    const captured = (await hold(id, 10, 3 * 3600)).json();
    expect(await points(id)).toMatchObject({ balance: 0, held: 100, expired: 0 });

    // The lot expires: nothing was left in it, so the sweep has nothing to write off.
    clock.set(end + HOUR);
    expect(await points(id)).toMatchObject({ balance: 0, held: 100, expired: 0 });
    expect((await call("POST", "/v1/loyalty/sweep")).statusCode).toBe(200);
    expect(await writtenOff(id)).toBe(0);
    // Held points can still be captured at the till until the hold's own timeout.
    const cap = await call("POST", "/v1/redemptions/capture", { code: captured.code });
    expect(cap.statusCode, cap.body).toBe(200);
    await restart();
    // A release gives its points back to their lot, which has expired: expired, not balance.
    const r = await call("POST", `/v1/redemptions/${released.id}/release`, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(await points(id)).toMatchObject({ balance: 0, held: 30, expired: 60 });
    expect(await spendableAgrees(id)).toBe(0);
    // The other lapses: read as expired points at once, written off once its release is.
    clock.set(end + 2 * HOUR);
    expect(await points(id)).toMatchObject({ balance: 0, held: 0, expired: 90 });
    // The expiry sweep writes the lapsed hold's release first, then writes off all 90.
    expect((await call("POST", "/v1/loyalty/sweep")).statusCode).toBe(200);
    expect(await writtenOff(id)).toBe(90);
    const gone = await call("GET", `/v1/redemptions/${lapsing.id}`);
    expect(gone.json()).toMatchObject({ status: "expired" });
    expect(gone.json().closedEntry).not.toBeNull();
    expect(await points(id)).toMatchObject({ balance: 0, held: 0, expired: 0, debt: 0 });
    await restart();
    expect(await spendableAgrees(id)).toBe(0);
    await clean();
  });

  it("debt across the features: a refund after the points were sent away is owed; a release repays it before the lots, and so do a credit and points received; the next order repays the rest; a debit takes only what is available", async () => {
    await programme({ expiry: { policy: "none" }, debtPolicy: "recover" });
    const alice = await member();
    const bob = await member();
    const o = await earn(alice.id, 100);
    await send(alice.s, bob.id, 70);
    const h = await hold(alice.id, 30);
    expect(h.statusCode, h.body).toBe(201);
    // The order is refunded: its lot is empty (70 sent, 30 held), so all 100 are owed.
    const refund = await call("POST", `/v1/orders/${o.orderId}/refund`, {});
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json()).toMatchObject({ reversed: 100, debt: 100 });
    expect(await points(alice.id)).toMatchObject({ balance: 0, held: 30, debt: 100 });
    // The receiver keeps what was sent: their lot is theirs.
    expect(await points(bob.id)).toMatchObject({ balance: 70, debt: 0 });
    // The release repays 30 of the debt, giving nothing back to the lot.
    const r = await call("POST", `/v1/redemptions/${h.json().id}/release`, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(await points(alice.id)).toMatchObject({ balance: 0, held: 0, debt: 70 });
    // A credit by staff repays the debt first, as earnings do; so do points received.
    const credit = await call("POST", "/v1/loyalty/adjustments", {
      customerId: alice.id,
      direction: "credit",
      points: 20,
      reason: "goodwill",
      note: "seam test",
    });
    expect(credit.statusCode, credit.body).toBe(201);
    expect(await points(alice.id)).toMatchObject({ balance: 0, debt: 50 });
    await send(bob.s, alice.id, 30);
    expect(await points(alice.id)).toMatchObject({ balance: 0, debt: 20 });
    expect(await points(bob.id)).toMatchObject({ balance: 40, debt: 0 });
    // The next order repays the rest; its lot keeps the other 60.
    await earn(alice.id, 80);
    expect(await points(alice.id)).toMatchObject({ balance: 60, debt: 0 });
    // A debit beyond what is available is refused, writing nothing; within it, it applies.
    const over = await call("POST", "/v1/loyalty/adjustments", {
      customerId: alice.id,
      direction: "debit",
      points: 61,
      reason: "correction",
      note: "seam test",
    });
    expect(over.statusCode, over.body).toBe(409);
    expect(over.json().error.code).toBe("insufficient_points");
    const debit = await call("POST", "/v1/loyalty/adjustments", {
      customerId: alice.id,
      direction: "debit",
      points: 5,
      reason: "correction",
      note: "seam test",
    });
    expect(debit.statusCode, debit.body).toBe(201);
    expect(await points(alice.id)).toMatchObject({ balance: 55, debt: 0 });
    await restart();
    expect(await spendableAgrees(alice.id)).toBe(55);
    expect(await spendableAgrees(bob.id)).toBe(40);
    await clean();
  });

  it("a hold that lapsed gives its points back before a transfer, a debit or a refund spends them, as the balance read already shows", async () => {
    await programme({ expiry: { policy: "none" } });
    const alice = await member();
    const bob = await member();
    const o = await earn(alice.id, 100);
    const lapse = async (pts: number) => {
      expect((await hold(alice.id, pts, 60)).statusCode).toBe(201);
      clock.advance(2 * 60_000);
      expect(await points(alice.id)).toMatchObject({ balance: pts, held: 0 });
    };
    // A transfer of what the read shows.
    await lapse(100);
    await send(alice.s, bob.id, 40);
    await lapse(60);
    // A debit of what the read shows.
    const debit = await call("POST", "/v1/loyalty/adjustments", {
      customerId: alice.id,
      direction: "debit",
      points: 60,
      reason: "correction",
      note: "seam test",
    });
    expect(debit.statusCode, debit.body).toBe(201);
    expect(await points(alice.id)).toMatchObject({ balance: 0, held: 0, debt: 0 });
    await earn(alice.id, 50);
    expect((await hold(alice.id, 50, 60)).statusCode).toBe(201);
    clock.advance(2 * 60_000);
    // A refund of the first order: its lot is empty, so 100 are owed, less nothing lapsed.
    const refund = await call("POST", `/v1/orders/${o.orderId}/refund`, {});
    expect(refund.statusCode, refund.body).toBe(201);
    // The lapsed hold was released before: the reversal took the 50 from the lots.
    expect(refund.json()).toMatchObject({ reversed: 100, debt: 50 });
    expect(await points(alice.id)).toMatchObject({ balance: 0, held: 0, debt: 50 });
    await restart();
    expect(await spendableAgrees(alice.id)).toBe(0);
    expect(await spendableAgrees(bob.id)).toBe(40);
    await clean();
  });

  it("tiers count orders net of their refunds: points received, credited, held or spent do not move the figure; a refund lowers it and the sweep downgrades", async () => {
    await programme({
      expiry: { policy: "none" },
      tiers: [
        {
          id: "silver",
          name: "Silver",
          qualification: { metric: "points", threshold: 100, months: 3 },
        },
      ],
    });
    const alice = await member();
    const bob = await member();
    // Bob reaches silver by an order; alice is sent 500 points and credited 300: no tier.
    const o = await earn(bob.id, 100);
    expect(await points(bob.id)).toMatchObject({ tier: "silver" });
    await earn(alice.id, 10);
    await send(bob.s, alice.id, 90);
    const credit = await call("POST", "/v1/loyalty/adjustments", {
      customerId: alice.id,
      direction: "credit",
      points: 300,
      reason: "goodwill",
      note: "seam test",
    });
    expect(credit.statusCode, credit.body).toBe(201);
    expect(await points(alice.id)).toMatchObject({
      balance: 400,
      tier: null,
      tierProgress: { next: { figure: 10 } },
    });
    expect((await call("POST", "/v1/loyalty/sweep")).statusCode).toBe(200);
    expect(await points(alice.id)).toMatchObject({ tier: null });
    // Bob sent his points away: still silver (earned), and a capture does not change that.
    const h = await hold(bob.id, 10);
    expect(h.statusCode, h.body).toBe(201);
    expect(
      (await call("POST", "/v1/redemptions/capture", { code: h.json().code })).statusCode,
    ).toBe(200);
    expect(await points(bob.id)).toMatchObject({
      tier: "silver",
      tierProgress: { current: { figure: 100 } },
    });
    // His order is refunded: the figure is 0 at once, the downgrade is the sweep's.
    const refund = await call("POST", `/v1/orders/${o.orderId}/refund`, {});
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json()).toMatchObject({ reversed: 100, debt: 100 });
    expect((await call("POST", "/v1/loyalty/sweep")).statusCode).toBe(200);
    expect(await points(bob.id)).toMatchObject({ tier: null, debt: 100 });
    await restart();
    await clean();
    await programme({ tiers: [] });
  });

  it("the members and liability views the projections keep equal a full aggregation of the lots after a mixed history, and after the projections are rebuilt from the log", async () => {
    // A zone 5:45 ahead of UTC, so month ends fall on quarter hours; month-end expiry; pending.
    await programme({
      timeZone: "Asia/Kathmandu",
      expiry: { policy: "fixed", months: 1, endOfMonth: true },
      returnWindowDays: 3,
      debtPolicy: "recover",
    });
    const alice = await member();
    const bob = await member();
    const cy = await member();
    const o = await earn(alice.id, 120);
    await earn(bob.id, 40);
    clock.advance(4 * DAY);
    await earn(cy.id, 15);
    await send(alice.s, bob.id, 50);
    // Holds: one captured, one released, one left to lapse.
    const captured = (await hold(alice.id, 20)).json();
    expect(
      (await call("POST", "/v1/redemptions/capture", { code: captured.code })).statusCode,
    ).toBe(200);
    const released = (await hold(bob.id, 30)).json();
    expect((await call("POST", `/v1/redemptions/${released.id}/release`, {})).statusCode).toBe(200);
    expect((await hold(bob.id, 10, 60)).statusCode).toBe(201);
    // Adjustments both ways.
    for (const [direction, pts] of [
      ["credit", 25],
      ["debit", 5],
    ] as const) {
      const r = await call("POST", "/v1/loyalty/adjustments", {
        customerId: cy.id,
        direction,
        points: pts,
        reason: direction === "credit" ? "goodwill" : "correction",
        note: "views test",
      });
      expect(r.statusCode, r.body).toBe(201);
    }
    // Alice's order refunded after most of its points were sent and spent: a debt.
    const refund = await call("POST", `/v1/orders/${o.orderId}/refund`, {});
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json().debt).toBeGreaterThan(0);
    await earn(alice.id, 10);
    await clean();
    // The lots of the first month expire and are swept; newer ones stay.
    clock.set(addMonths(clock.now(), 1) + 2 * DAY);
    await earn(bob.id, 33);
    await clean();
    expect((await call("POST", "/v1/loyalty/sweep")).statusCode).toBe(200);
    await clean();
    const members = (await call("GET", "/v1/loyalty/members")).json().members;
    expect(members.length).toBeGreaterThanOrEqual(3);

    // The loyalty projections rebuilt for good from the log, a few entries at a time.
    const mine = [...loyaltyProjectors, redemptionsProjector];
    await t.node.db.transaction(async (tx) => {
      for (const table of mine.flatMap((p) => p.tables).reverse()) {
        await tx.query(`DELETE FROM ${table}`);
      }
      const { rows } = await tx.query<{ n: unknown }>("SELECT count(*) AS n FROM ledger_entries");
      const total = BigInt(String(rows[0]?.n));
      for (let from = 0n; from < total; from += 3n) {
        const page = (await listEntries(tx, from, from + 3n)).map((e) => ({
          index: e.index,
          entry: decodeEntry(e.data),
          data: e.data,
          leafHash: e.leafHash,
        }));
        for (const p of mine) {
          const batch = page.filter((c) => p.types === "*" || p.types.includes(c.entry.type));
          if (batch.length > 0) await applyProjector(tx, p, batch);
        }
      }
    });
    await restart();
    await clean();
    expect((await call("GET", "/v1/loyalty/members")).json().members).toEqual(members);
  });
});

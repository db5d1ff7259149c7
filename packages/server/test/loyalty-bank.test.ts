import { randomBytes } from "node:crypto";
import { attachmentCommitment, decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import type { TestNode } from "./helpers.js";
import { startLoyaltyNode } from "./loyalty-helpers.js";

/**
 * The bank test (issue 9): 32 clients at once earn, transfer, redeem, refund and retry with the
 * same idempotency keys (and replay signed commands) against one node. Afterwards the ledger's
 * audit re-executes everything, the projections rebuild to what is stored, no available balance
 * is negative, every order has one award set, and the points add up from the API's own answers.
 */
const CLIENTS = 32;
const STEPS = 10;
const CUSTOMERS = 12;
const HOUR = 3_600_000;
const json = { "content-type": "application/json" };

/** A small deterministic generator, so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(backends)("the loyalty bank test on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let merchant: string;
  const signers: Signer[] = [];
  const ids: string[] = [];
  const orders: { orderId: string; customer: string; amount: number }[] = [];
  const outcomes = new Map<string, number>();
  const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);

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
        authorization: `Bearer ${t.ownerKey}`,
        ...(body === undefined ? {} : json),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const command = (body: unknown) =>
    t.node.app.inject({
      method: "POST",
      url: "/v1/commands",
      headers: json,
      payload: JSON.stringify(body),
    });
  const signed = (s: Signer, type: string, payload: Record<string, unknown>) =>
    s.sign({
      v: 1,
      type,
      ledger: origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: new Date(clock.now() + HOUR).toISOString(),
      payload,
    } as Record<string, never>);

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(
      backend,
      {
        big: {
          name: "50 points over 80.00",
          kind: "earn",
          condition: { ">=": [{ var: "order.amount" }, 8000] },
          action: { type: "fixed", points: 50 },
        },
      },
      { start: Date.UTC(2026, 4, 4, 10), config: {} },
    ));
    origin = t.node.identity.origin;
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    for (let i = 0; i < CUSTOMERS; i++) {
      const s = ed25519Signer();
      const salt = randomBytes(16);
      const values = { name: `Bank Customer ${i}`, email: `bank${i}.${backend.name}@example.org` };
      const r = await command({
        ...s.sign({
          v: 1,
          type: "customer.join",
          ledger: origin,
          actor: s.did,
          merchant,
          nonce: nonce(),
          expires: new Date(clock.now() + HOUR).toISOString(),
          payload: { attached: attachmentCommitment(salt, values as never) },
        } as Record<string, never>),
        attached: { salt: salt.toString("base64url"), values },
      });
      expect(r.statusCode, r.body).toBe(201);
      signers.push(s);
      ids.push((await entry(r.json().entries[0].index)).payload.customerId as string);
    }
  });
  afterAll(async () => t?.close());

  /** One order, sent twice: the repeat must answer the first response. */
  async function earn(client: number, step: number, rnd: () => number) {
    const who = Math.floor(rnd() * CUSTOMERS);
    const amount = 500 + Math.floor(rnd() * 12_000);
    const order = {
      orderId: `B-${client}-${step}`,
      customer: { id: ids[who] },
      amount,
      currency: "EUR",
      items: [{ sku: "sku-1", category: "general", quantity: 1, unitPrice: amount }],
      channel: "store",
      occurredAt: new Date(clock.now() - 60_000).toISOString(),
    };
    const first = await call("POST", "/v1/orders", order);
    expect(first.statusCode, first.body).toBe(201);
    const again = await call("POST", "/v1/orders", order);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().points).toBe(first.json().points);
    orders.push({ orderId: order.orderId, customer: ids[who] as string, amount });
    count("earn");
  }

  /**
   * A signed transfer, then the very same command again: the replay of a committed one is
   * refused. A refused transfer spent no nonce, so its second sending is a first commit, which
   * succeeds if other clients' points arrived in between.
   */
  async function transfer(rnd: () => number) {
    const from = Math.floor(rnd() * CUSTOMERS);
    const to = (from + 1 + Math.floor(rnd() * (CUSTOMERS - 1))) % CUSTOMERS;
    const body = signed(signers[from] as Signer, "points.transfer", {
      to: ids[to],
      points: 1 + Math.floor(rnd() * 80),
    });
    const r = await command(body);
    if (r.statusCode === 201) count("transfer");
    else {
      expect(r.statusCode, r.body).toBe(409);
      expect(r.json().error.code, r.body).toBe("insufficient_points");
      count("transfer refused");
    }
    const replay = await command(body);
    if (r.statusCode !== 201 && replay.statusCode === 201) {
      count("transfer");
      return;
    }
    expect(replay.statusCode, replay.body).toBeGreaterThanOrEqual(400);
    expect(replay.statusCode).toBeLessThan(500);
    if (r.statusCode === 201) expect(replay.json().error.code, replay.body).toBe("nonce_reused");
  }

  /** A hold at the till, retried with its key, then captured or released (retried too). */
  async function redeem(client: number, step: number, rnd: () => number) {
    const who = ids[Math.floor(rnd() * CUSTOMERS)] as string;
    const key = { "idempotency-key": `H-${client}-${step}` };
    const body = { customerId: who, points: 1 + Math.floor(rnd() * 60) };
    const held = await call("POST", "/v1/redemptions", body, key);
    if (held.statusCode === 409) {
      expect(held.json().error.code, held.body).toBe("insufficient_points");
      count("hold refused");
      return;
    }
    expect(held.statusCode, held.body).toBe(201);
    const again = await call("POST", "/v1/redemptions", body, key);
    expect(again.json().id).toBe(held.json().id);
    const action = rnd() < 0.7 ? "capture" : "release";
    const ck = { "idempotency-key": `C-${client}-${step}` };
    const url = `/v1/redemptions/${held.json().id}/${action}`;
    const done = await call("POST", url, action === "capture" ? {} : undefined, ck);
    expect(done.statusCode, done.body).toBe(200);
    const repeat = await call("POST", url, action === "capture" ? {} : undefined, ck);
    expect(repeat.statusCode, repeat.body).toBe(200);
    expect(repeat.json().closedEntry).toBe(done.json().closedEntry);
    count(action);
  }

  /** A refund of one of the orders so far, in full, retried with its key. */
  async function refund(client: number, step: number, rnd: () => number) {
    const o = orders[Math.floor(rnd() * orders.length)];
    if (!o) return;
    const key = { "idempotency-key": `R-${client}-${step}` };
    const r = await call("POST", `/v1/orders/${o.orderId}/refund`, {}, key);
    if (r.statusCode === 409) {
      // Refunded in full already, by this client or another.
      expect(r.json().error.code, r.body).toBe("over_refund");
      count("refund refused");
      return;
    }
    expect(r.statusCode, r.body).toBe(201);
    const again = await call("POST", `/v1/orders/${o.orderId}/refund`, {}, key);
    expect(again.statusCode, again.body).toBe(200);
    count("refund");
  }

  it("keeps every invariant with 32 clients earning, transferring, redeeming and refunding", async () => {
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const rnd = prng(0x5eed + client);
        for (let step = 0; step < STEPS; step++) {
          const x = rnd();
          if (step < 2 || x < 0.35) await earn(client, step, rnd);
          else if (x < 0.6) await transfer(rnd);
          else if (x < 0.85) await redeem(client, step, rnd);
          else await refund(client, step, rnd);
        }
      }),
    );
    // The mix really ran: each kind of operation happened, refusals among them.
    for (const what of ["earn", "transfer", "capture", "release", "refund"]) {
      expect(outcomes.get(what) ?? 0, what).toBeGreaterThan(0);
    }

    // The ledger re-executed: awards, transfers, holds, refunds, and the points invariant.
    const audit = await auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });
    expect(audit.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);

    // One award set per order, however often it was sent.
    const { rows } = await t.node.db.query<{ order_id: string; n: string | number }>(
      `SELECT order_id, count(DISTINCT entry_idx) AS n FROM loyalty_awards
       WHERE merchant_id = $1 GROUP BY order_id HAVING count(DISTINCT entry_idx) > 1`,
      [merchant],
    );
    expect(rows).toEqual([]);
    const recorded = await t.node.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM loyalty_orders WHERE merchant_id = $1",
      [merchant],
    );
    expect(Number(recorded.rows[0]?.n)).toBe(orders.length);

    // No negative balance, and what the API shows adds up with what the lots hold.
    let shown = 0;
    for (const id of ids) {
      const p = (await call("GET", `/v1/customers/${id}/points`)).json();
      expect(p.balance, id).toBeGreaterThanOrEqual(0);
      expect(p.pending + p.held + p.debt, id).toBeGreaterThanOrEqual(0);
      shown += p.balance + p.pending + p.held;
    }
    const lots = await t.node.db.query<{ n: string | number }>(
      "SELECT coalesce(sum(remaining), 0) AS n FROM loyalty_lots WHERE merchant_id = $1",
      [merchant],
    );
    const held = await t.node.db.query<{ n: string | number }>(
      "SELECT coalesce(sum(points), 0) AS n FROM loyalty_redemptions WHERE merchant_id = $1 AND status = 'held'",
      [merchant],
    );
    expect(shown).toBe(Number(lots.rows[0]?.n) + Number(held.rows[0]?.n));
  }, 300_000);
});

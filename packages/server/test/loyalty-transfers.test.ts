import { randomBytes } from "node:crypto";
import { attachmentCommitment, decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import type { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { DEFAULT_PROGRAMME } from "../src/loyalty/programme.js";
import { receivedLot } from "../src/loyalty/transfers.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode } from "./helpers.js";
import { startLoyaltyNode } from "./loyalty-helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const json = { "content-type": "application/json" };

describe("the receiver's lot", () => {
  it("expires by the programme's policy as of its receipt, or with the soonest-expiring lot the points came from if sooner: never lengthens a life", () => {
    const lots = [
      { lot: 1n, expiresAt: null },
      { lot: 2n, expiresAt: 5_000 },
      { lot: 3n, expiresAt: 9_000 },
    ];
    const taken = [{ lot: 2 }, { lot: 3 }, { lot: 1 }];
    expect(receivedLot(DEFAULT_PROGRAMME, 10, 1000, lots, taken)).toEqual({
      points: 10,
      availableAt: 1000,
      expiresAt: 5_000,
      own: 5_000,
    });
    expect(receivedLot(DEFAULT_PROGRAMME, 10, 1000, lots, [{ lot: 1 }]).expiresAt).toBeNull();
    // The programme's policy as of the receipt, when it is sooner than the lots sent.
    const at = Date.UTC(2026, 0, 10, 12);
    const fixed = { ...DEFAULT_PROGRAMME, expiry: { policy: "fixed" as const, months: 1 } };
    expect(receivedLot(fixed, 10, at, lots, [{ lot: 1 }])).toMatchObject({
      expiresAt: Date.UTC(2026, 1, 10, 12),
      own: Date.UTC(2026, 1, 10, 12),
    });
    expect(receivedLot(fixed, 10, at, lots, [{ lot: 2 }]).expiresAt).toBe(5_000);
    // Inactivity: months from the receipt, which an order may renew up to the lots sent.
    const idle = { ...DEFAULT_PROGRAMME, expiry: { policy: "inactivity" as const, months: 2 } };
    expect(receivedLot(idle, 10, at, lots, [{ lot: 1 }])).toMatchObject({
      expiresAt: Date.UTC(2026, 2, 10, 12),
      own: null,
    });
    const waiting = {
      ...DEFAULT_PROGRAMME,
      returnWindowDays: 2,
      transfers: { allowed: true, receivedAvailability: "return_window" as const },
    };
    expect(receivedLot(waiting, 10, 1000, lots, [{ lot: 1 }]).availableAt).toBe(1000 + 2 * DAY);
  });
});

describe.each(backends)("loyalty transfers on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let merchant: string;
  let n = 0;
  let alice: Signer;
  let aliceId: string;
  let bob: Signer;
  let bobId: string;
  let carolId: string;

  const call = (
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = t.auth(),
  ) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const post = (body: unknown) => call("POST", "/v1/commands", body, {});
  const cmd = (
    s: Signer,
    type: string,
    payload: Record<string, unknown>,
    over: { expires?: string; ledger?: string } = {},
  ) =>
    ({
      v: 1,
      type,
      ledger: over.ledger ?? origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: over.expires ?? new Date(clock.now() + HOUR).toISOString(),
      payload,
    }) as Record<string, never>;
  /** A command with values beside it, committed to by its signed payload. */
  const withValues = (
    s: Signer,
    type: string,
    payload: Record<string, unknown>,
    values: Record<string, unknown>,
    by: Signer = s,
  ) => {
    const salt = randomBytes(16);
    const attached = attachmentCommitment(salt, values as never);
    return {
      ...by.sign(cmd(s, type, { ...payload, attached })),
      attached: { salt: salt.toString("base64url"), values },
    };
  };
  /** A signed transfer (and its message beside it). */
  const transfer = (
    s: Signer,
    to: string,
    points: number,
    message?: string,
    over: { expires?: string; ledger?: string } = {},
  ) =>
    message === undefined
      ? s.sign(cmd(s, "points.transfer", { to, points }, over))
      : withValues(s, "points.transfer", { to, points }, { message });

  async function join(s: Signer) {
    const r = await post(
      withValues(s, "customer.join", {}, { name: "Transfer Tester", email: `t${++n}@example.org` }),
    );
    expect(r.statusCode, r.body).toBe(201);
    return (await entry(r.json().entries[0].index)).payload.customerId as string;
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  async function earn(customerId: string, points: number) {
    const r = await call("POST", "/v1/orders", {
      orderId: `O-${++n}`,
      customer: { id: customerId },
      amount: points * 100,
      currency: "EUR",
      items: [],
      channel: "store",
      occurredAt: new Date(clock.now() - 60_000).toISOString(),
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().points).toBe(points);
  }

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as {
      balance: number;
      pending: number;
      lots: {
        points: number;
        remaining: number;
        source: Record<string, unknown>;
        status: string;
      }[];
    };

  const count = async (table: string) => {
    const { rows } = await t.node.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${table}`,
    );
    return Number(rows[0]?.n);
  };
  /** What a transfer writes: the log, transfers, lots and vault rows, and the balances. */
  const written = async () => ({
    size: size(t.node),
    transfers: await count("loyalty_transfers"),
    lots: await count("loyalty_lots"),
    vault: await count("vault_fields"),
    alice: (await points(aliceId)).balance,
    bob: (await points(bobId)).balance,
  });

  const audit = () =>
    auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });

  const programme = async (body: unknown) => {
    const r = await call("PUT", "/v1/loyalty/programme", body);
    expect(r.statusCode, r.body).toBe(200);
  };

  beforeAll(async () => {
    ({ t, clock } = await startLoyaltyNode(
      backend,
      {},
      { start: Date.UTC(2026, 2, 1, 9), config: {} },
    ));
    origin = t.node.identity.origin;
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    alice = ed25519Signer();
    bob = ed25519Signer();
    aliceId = await join(alice);
    bobId = await join(bob);
    const c = await call("POST", "/v1/customers", { name: "Carol Keyless", email: "carol@x.org" });
    expect(c.statusCode, c.body).toBe(201);
    carolId = c.json().id;
    await earn(aliceId, 1000);
  });
  afterAll(async () => t?.close());

  it("sends points by a signed command: two sealed entries, each naming its own side", async () => {
    const message = "Happy birthday, Bob!";
    const r = await post(transfer(alice, bobId, 150, message));
    expect(r.statusCode, r.body).toBe(201);
    const [sent, received] = r.json().entries as { index: number; type: string }[];
    expect([sent?.type, received?.type]).toEqual(["points.sent", "points.received"]);
    expect(received?.index).toBe((sent?.index as number) + 1);

    const s = await entry(sent?.index as number);
    const v = await entry(received?.index as number);
    expect(s.actor).toBe(alice.did);
    expect(s.payload).toMatchObject({
      merchantId: merchant,
      customerId: aliceId,
      points: 150,
      taken: [{ points: 150 }],
    });
    expect(typeof s.payload.message).toBe("string");
    expect(s.subjects?.map((x) => ("customer" in x ? x.customer : x.merchant))).toEqual([
      aliceId,
      merchant,
    ]);
    expect(v.payload).toMatchObject({
      customerId: bobId,
      points: 150,
      sent: sent?.index,
      transferId: s.payload.transferId,
      lot: { points: 150, availableAt: v.time, expiresAt: null },
    });
    expect(v.subjects?.map((x) => ("customer" in x ? x.customer : x.merchant))).toEqual([
      bobId,
      merchant,
    ]);
    // The sender's entry carries no balance of the receiver's, nor the receiver's of the sender.
    expect(JSON.stringify(v.payload)).not.toContain(aliceId);
    expect(JSON.stringify(s.payload)).not.toContain(bobId);
    // Both keep the signed command; the message is in neither, in clear.
    expect(s.signed).toEqual(v.signed);
    expect(JSON.stringify(s)).not.toContain("birthday");
    expect(JSON.stringify(v)).not.toContain("birthday");
    // Sealed: the public sees leaf hashes only.
    const outside = (await call("GET", `/v1/ledger/entries/${sent?.index}`, undefined, {})).json();
    expect(outside).toMatchObject({ sealed: true });
    expect(outside.entry).toBeUndefined();

    expect((await points(aliceId)).balance).toBe(850);
    const bobs = await points(bobId);
    expect(bobs.balance).toBe(150);
    expect(bobs.lots[0]).toMatchObject({
      points: 150,
      remaining: 150,
      status: "available",
      source: { type: "transfer", transferId: s.payload.transferId, entryIndex: received?.index },
    });

    // Staff see that there is a message; the customers read it from their own vault copy.
    const staff = (await call("GET", `/v1/customers/${bobId}/transfers`)).json();
    expect(staff.transfers[0]).toEqual({
      transferId: s.payload.transferId,
      direction: "received",
      counterparty: aliceId,
      points: 150,
      entryIndex: received?.index,
      at: v.time,
      hasMessage: true,
    });
    for (const [who, direction, other] of [
      [bob, "received", aliceId],
      [alice, "sent", bobId],
    ] as const) {
      const c = await call("POST", "/v1/portal/challenges", { merchant }, {});
      const token = (
        await call(
          "POST",
          "/v1/portal/sessions",
          who.sign(cmd(who, "session.open", { challenge: c.json().challenge })),
          {},
        )
      ).json().token;
      const mine = await call("GET", "/v1/portal/transfers", undefined, {
        authorization: `Bearer ${token}`,
      });
      expect(mine.statusCode, mine.body).toBe(200);
      expect(mine.json().transfers[0]).toMatchObject({
        direction,
        counterparty: other,
        points: 150,
        message,
      });
    }
    // Without a session the portal listing is refused.
    expect((await call("GET", "/v1/portal/transfers", undefined, {})).statusCode).toBe(401);
  });

  it("sends to a customer without a key, and without a message", async () => {
    const r = await post(transfer(alice, carolId, 50));
    expect(r.statusCode, r.body).toBe(201);
    const s = await entry(r.json().entries[0].index);
    expect(s.payload.message).toBeUndefined();
    expect((await points(carolId)).balance).toBe(50);
    expect((await points(aliceId)).balance).toBe(800);
  });

  it("refuses every bad transfer with its code, writing nothing", async () => {
    const stranger = ed25519Signer();
    const cases: [string, unknown, number, string][] = [
      ["more than the balance", transfer(alice, bobId, 801), 409, "insufficient_points"],
      ["to oneself", transfer(alice, aliceId, 1), 400, "self_transfer"],
      ["to nobody", transfer(alice, "c_nobody", 1), 404, "recipient_not_found"],
      ["no points", transfer(alice, bobId, 0), 400, "invalid_payload"],
      ["a fraction", transfer(alice, bobId, 1.5), 400, "invalid_payload"],
      ["negative points", transfer(alice, bobId, -5), 400, "invalid_payload"],
      ["a bad id", transfer(alice, "bob", 1), 400, "invalid_payload"],
      [
        "an extra field",
        alice.sign(cmd(alice, "points.transfer", { to: bobId, points: 1, note: "x" })),
        400,
        "invalid_payload",
      ],
      ["a message too long", transfer(alice, bobId, 1, "x".repeat(501)), 400, "invalid_request"],
      [
        "other values beside",
        withValues(alice, "points.transfer", { to: bobId, points: 1 }, { name: "Alice" }),
        400,
        "invalid_request",
      ],
      [
        "a message not committed to",
        {
          ...alice.sign(cmd(alice, "points.transfer", { to: bobId, points: 1 })),
          attached: { salt: randomBytes(16).toString("base64url"), values: { message: "hi" } },
        },
        400,
        "attachment_uncommitted",
      ],
      // The ledger's bars for signed commands.
      [
        "forged",
        { ...transfer(alice, bobId, 1), signature: transfer(stranger, bobId, 1).signature },
        401,
        "invalid_signature",
      ],
      [
        "expired",
        transfer(alice, bobId, 1, undefined, { expires: new Date(clock.now() - 1).toISOString() }),
        400,
        "command_expired",
      ],
      [
        "another ledger",
        transfer(alice, bobId, 1, undefined, { ledger: "example.com/another-log" }),
        400,
        "wrong_ledger",
      ],
      ["an unbound key", transfer(stranger, bobId, 1), 403, "unknown_actor"],
    ];
    const before = await written();
    for (const [what, body, status, code] of cases) {
      const r = await post(body);
      expect({ what, status: r.statusCode, code: r.json().error?.code }, r.body).toEqual({
        what,
        status,
        code,
      });
    }
    expect(await written()).toEqual(before);

    // Replayed: the first is taken, the same bytes again are refused.
    const once = transfer(alice, bobId, 10);
    expect((await post(once)).statusCode).toBe(201);
    const after = await written();
    const again = await post(once);
    expect({ status: again.statusCode, code: again.json().error?.code }).toEqual({
      status: 409,
      code: "nonce_reused",
    });
    expect(await written()).toEqual(after);

    // A rotated key no longer sends.
    const old = ed25519Signer();
    const oldId = await join(old);
    await earn(oldId, 20);
    const next = ed25519Signer();
    const accept = next.sign(cmd(next, "key.accept", { from: old.did }));
    expect((await post(old.sign(cmd(old, "key.rotate", { accept })))).statusCode).toBe(201);
    const snapshot = await written();
    const rotated = await post(transfer(old, bobId, 5));
    expect({ status: rotated.statusCode, code: rotated.json().error?.code }).toEqual({
      status: 403,
      code: "key_rotated",
    });
    expect(await written()).toEqual(snapshot);
    expect((await post(transfer(next, bobId, 5))).statusCode).toBe(201);
  });

  it("applies the programme's switch and limits, refusing with their codes and writing nothing", async () => {
    const base = { allowed: true, receivedAvailability: "immediate" };
    const refused = async (limits: Record<string, unknown>, pts: number, code: string) => {
      await programme({ transfers: { ...base, ...limits } });
      const before = await written();
      const r = await post(transfer(alice, bobId, pts));
      expect({ limits, status: r.statusCode, code: r.json().error?.code }, r.body).toEqual({
        limits,
        status: 403,
        code,
      });
      expect(await written()).toEqual(before);
    };
    await refused({ allowed: false }, 1, "transfers_disabled");
    await refused({ minPoints: 10 }, 9, "transfer_below_minimum");
    await refused({ maxPoints: 100 }, 101, "transfer_above_maximum");
    // What was sent earlier today counts: 10 + 150 + 50 already went out before 09:01.
    await programme({ transfers: { ...base, dailyMaxPoints: 250, dailyMaxCount: 5 } });
    expect((await post(transfer(alice, bobId, 40))).statusCode).toBe(201);
    await refused({ dailyMaxPoints: 250 }, 1, "daily_transfer_limit");
    await refused({ dailyMaxCount: 4 }, 1, "daily_transfer_count");
    // The next calendar day starts afresh.
    clock.advance(DAY);
    await programme({ transfers: { ...base, dailyMaxPoints: 250, dailyMaxCount: 4 } });
    expect((await post(transfer(alice, bobId, 1))).statusCode).toBe(201);
    // Refused as a PUT: minimum above maximum, a negative limit.
    for (const bad of [
      { ...base, minPoints: 10, maxPoints: 5 },
      { ...base, dailyMaxPoints: -1 },
    ]) {
      const r = await call("PUT", "/v1/loyalty/programme", { transfers: bad });
      expect(r.statusCode, r.body).toBe(400);
    }
    await programme({ transfers: base });
  });

  it("keeps received points pending for the return window when the programme says so", async () => {
    await programme({
      returnWindowDays: 14,
      transfers: { allowed: true, receivedAvailability: "return_window" },
    });
    const before = (await points(carolId)).balance;
    const r = await post(transfer(alice, carolId, 30));
    expect(r.statusCode, r.body).toBe(201);
    expect(await points(carolId)).toMatchObject({ balance: before, pending: 30 });
    clock.advance(14 * DAY);
    expect(await points(carolId)).toMatchObject({ balance: before + 30, pending: 0 });
    await programme({
      returnWindowDays: 0,
      transfers: { allowed: true, receivedAvailability: "immediate" },
    });
  });

  it("never overspends under concurrent transfers from one sender", async () => {
    const erin = ed25519Signer();
    const erinId = await join(erin);
    await earn(erinId, 100);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => post(transfer(erin, bobId, 10))),
    );
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(10);
    const refused = results.filter((r) => r.statusCode !== 201);
    expect(refused.every((r) => r.json().error.code === "insufficient_points")).toBe(true);
    expect(await points(erinId)).toMatchObject({ balance: 0, pending: 0 });
    const { rows } = await t.node.db.query<{ n: string | number; s: string | number }>(
      "SELECT count(*) AS n, sum(points) AS s FROM loyalty_transfers WHERE from_customer = $1",
      [erinId],
    );
    expect({ n: Number(rows[0]?.n), s: Number(rows[0]?.s) }).toEqual({ n: 10, s: 100 });
  });

  it("refuses an erased receiver as unknown, writing nothing", async () => {
    const c = await call("POST", "/v1/customers", { name: "Dora Gone", email: "dora@x.org" });
    const doraId = c.json().id as string;
    expect((await call("POST", `/v1/customers/${doraId}/erase`)).statusCode).toBe(200);
    const before = await written();
    const r = await post(transfer(alice, doraId, 1, "Are you there?"));
    expect({ status: r.statusCode, code: r.json().error?.code }).toEqual({
      status: 404,
      code: "recipient_not_found",
    });
    expect(await written()).toEqual(before);
  });

  it("refuses a receiver erased after an earlier transfer at once, writing nothing", async () => {
    const c = await call("POST", "/v1/customers", { name: "Ed Later", email: "ed@x.org" });
    const edId = c.json().id as string;
    // Seen active by the first transfer: the node reads the receiver's status no more.
    const ok = await post(transfer(alice, edId, 1));
    expect(ok.statusCode, ok.body).toBe(201);
    expect((await call("POST", `/v1/customers/${edId}/erase`)).statusCode).toBe(200);
    const before = await written();
    const r = await post(transfer(alice, edId, 1));
    expect({ status: r.statusCode, code: r.json().error?.code }).toEqual({
      status: 404,
      code: "recipient_not_found",
    });
    expect(await written()).toEqual(before);
  });

  it("writes both sides or neither: a failing commit leaves no half transfer", async () => {
    const before = await written();
    // The batch's transaction fails at the transfer's projection: neither entry is kept.
    await t.node.db.query("ALTER TABLE loyalty_transfers RENAME TO loyalty_transfers_away");
    let r: Awaited<ReturnType<typeof post>>;
    try {
      r = await post(transfer(alice, bobId, 5));
    } finally {
      await t.node.db.query("ALTER TABLE loyalty_transfers_away RENAME TO loyalty_transfers");
    }
    expect(r.statusCode).toBeGreaterThanOrEqual(500);
    expect(await written()).toEqual(before);
    const ok = await post(transfer(alice, bobId, 5));
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().entries).toHaveLength(2);
  });

  it("passes the audit, which re-executes every transfer and names a tampered one", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const rebuilt = await auditProjections(t.node.db, projectors);
    expect(rebuilt.problems).toEqual([]);
    expect(rebuilt.tables).toContain("loyalty_transfers");

    // A node that credits the receiver more than was sent: the entries chain and hash, but
    // the received lot is not what the transfer gives, and the points no longer add up.
    const signed = transfer(alice, bobId, 5) as {
      command: Record<string, never>;
      signature: string;
    };
    const parties = (c: string) => [{ customer: c }, { merchant }];
    const forged = await t.node.sequencer.execute({
      signed: signed as never,
      entries: [
        {
          type: "points.sent",
          actor: alice.did,
          parties: parties(aliceId),
          sealed: true,
          payload: {
            merchantId: merchant,
            customerId: aliceId,
            transferId: "t_forged",
            points: 5,
            taken: [],
          },
        },
        {
          type: "points.received",
          actor: alice.did,
          parties: parties(bobId),
          sealed: true,
          payload: (ctx) => ({
            merchantId: merchant,
            customerId: bobId,
            transferId: "t_forged",
            sent: Number(ctx.index) - 1,
            points: 5,
            lot: { points: 500, availableAt: new Date(ctx.time).toISOString(), expiresAt: null },
          }),
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = (i: number) =>
      bad.problems.filter((p) => p.at === String(forged[i]?.index)).map((p) => p.message);
    expect(
      at(0).some((m) => /soonest expiring first/.test(m)),
      at(0).join("\n"),
    ).toBe(true);
    expect(at(0).some((m) => /takes 0 points from lots, not 5/.test(m))).toBe(true);
    expect(
      at(1).some((m) => /its lot is not the points sent/.test(m)),
      at(1).join("\n"),
    ).toBe(true);
    expect(
      bad.problems.some((p) => p.at === "loyalty" && /differ from the balances/.test(p.message)),
    ).toBe(true);
  });
});

import { randomBytes } from "node:crypto";
import { attachmentCommitment, decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { Redemptions } from "../src/loyalty/redemptions.js";
import { domains, entryAuditorOf, projectors, startNode } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode } from "./helpers.js";
import { BASE_RULE, publishRules, startLoyaltyNode } from "./loyalty-helpers.js";

const json = { "content-type": "application/json" };
const HOUR = 3_600_000;

interface Redemption {
  id: string;
  customerId: string;
  kind: string;
  points: number;
  value: number;
  status: string;
  code: string | null;
  qr: string | null;
  expiresAt: string;
  heldEntry: number;
  closedEntry: number | null;
}

describe.each(backends)("loyalty redemptions on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let origin: string;
  let merchant: string;
  let n = 0;

  const call = (
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${t.ownerKey}` },
  ) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const iso = (ms: number) => new Date(ms).toISOString();

  async function customer() {
    const r = await call("POST", "/v1/customers", {
      name: "Redeeming Customer",
      email: `r${++n}.${backend.name}@example.com`,
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  }

  /** An order earning `points` (the rule gives 1 point per 1.00). */
  async function earn(customerId: string, points: number) {
    const r = await call("POST", "/v1/orders", {
      orderId: `O-${++n}`,
      customer: { id: customerId },
      amount: points * 100,
      currency: "EUR",
      items: [{ sku: "a", category: "misc", quantity: 1, unitPrice: points * 100 }],
      channel: "store",
      occurredAt: iso(clock.now() - 60_000),
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().points).toBe(points);
    return r.json().entryIndex + 1;
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  const points = async (id: string) =>
    (await call("GET", `/v1/customers/${id}/points`)).json() as {
      balance: number;
      held: number;
      debt: number;
      lots: { id: string; remaining: number }[];
    };
  const hold = (body: unknown, headers: Record<string, string> = {}) =>
    call("POST", "/v1/redemptions", body, { authorization: `Bearer ${t.ownerKey}`, ...headers });
  const count = async (table: string) => {
    const { rows } = await t.node.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${table}`,
    );
    return Number(rows[0]?.n);
  };
  const written = async () => ({
    size: size(t.node),
    redemptions: await count("loyalty_redemptions"),
    rewards: await count("loyalty_rewards"),
  });
  const audit = () =>
    auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains, origin),
    });

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
  const signed = (s: Signer, type: string, payload: Record<string, unknown>) =>
    call("POST", "/v1/commands", s.sign(cmd(s, type, payload)), {});

  beforeAll(async () => {
    // The tests run the sweep themselves, so none comes between a step and its check.
    ({ t, clock } = await startLoyaltyNode(backend, {}, { start: Date.UTC(2026, 2, 1, 9) }));
    origin = t.node.identity.origin;
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
  });
  afterAll(async () => t?.close());

  it("holds a checkout discount, shows it held, and captures it once by its code", async () => {
    const c = await customer();
    const lot = await earn(c, 500);
    const r = await hold({ customerId: c, points: 200 });
    expect(r.statusCode, r.body).toBe(201);
    const h = r.json() as Redemption;
    expect(h).toMatchObject({ customerId: c, kind: "discount", points: 200, status: "held" });
    expect(h.value).toBe(200); // 100 minor units per 100 points, the default
    expect(h.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(h.qr).toBe(`patron:redeem:${merchant}:${h.code?.replace("-", "")}`);
    expect(Date.parse(h.expiresAt) - clock.now()).toBe(15 * 60_000);
    expect(await points(c)).toMatchObject({ balance: 300, held: 200 });

    const e = await entry(h.heldEntry);
    expect(e.type).toBe("redemption.held");
    expect(e.salt).toBeDefined();
    expect(e.subjects?.map((s) => Object.values(s)[0])).toEqual([c, merchant]);
    expect(e.payload).toMatchObject({ points: 200, taken: [{ lot, points: 200 }] });

    const shown = await call("GET", `/v1/redemptions/code/${h.code?.toLowerCase()}`);
    expect(shown.statusCode, shown.body).toBe(200);
    expect(shown.json().id).toBe(h.id);

    clock.advance(1000);
    const cap = await call("POST", "/v1/redemptions/capture", { code: h.code, reference: "T-9" });
    expect(cap.statusCode, cap.body).toBe(200);
    expect(cap.json()).toMatchObject({ status: "captured", code: null, reference: "T-9" });
    const captured = await entry(cap.json().closedEntry);
    expect(captured.type).toBe("redemption.captured");
    expect(captured.payload).toMatchObject({ held: h.heldEntry, points: 200 });
    expect(await points(c)).toMatchObject({ balance: 300, held: 0 });

    // Single use: the code and the id are spent.
    const before = await written();
    const again = await call("POST", "/v1/redemptions/capture", { code: h.code });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("already_captured");
    const byId = await call("POST", `/v1/redemptions/${h.id}/capture`, {});
    expect(byId.json().error.code).toBe("already_captured");
    const release = await call("POST", `/v1/redemptions/${h.id}/release`);
    expect(release.json().error.code).toBe("already_captured");
    expect(await written()).toEqual(before);

    const list = await call("GET", `/v1/customers/${c}/redemptions`);
    expect(list.json().redemptions.map((x: Redemption) => x.status)).toEqual(["captured"]);
  });

  it("a release gives the points back to the lots they came from, soonest-expiring first", async () => {
    const c = await customer();
    const first = await earn(c, 100);
    const second = await earn(c, 100);
    const h = (await hold({ customerId: c, points: 150 })).json() as Redemption;
    expect((await entry(h.heldEntry)).payload.taken).toEqual([
      { lot: first, points: 100 },
      { lot: second, points: 50 },
    ]);
    const lots = (await points(c)).lots;
    expect(lots.map((l) => l.remaining)).toEqual([50]);
    const r = await call("POST", `/v1/redemptions/${h.id}/release`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: "released", code: null });
    const released = await entry(r.json().closedEntry);
    expect(released.payload).toMatchObject({
      reason: "released",
      points: 150,
      returned: [
        { lot: first, points: 100 },
        { lot: second, points: 50 },
      ],
    });
    const after = await points(c);
    expect(after).toMatchObject({ balance: 200, held: 0 });
    expect(after.lots.map((l) => l.remaining)).toEqual([100, 100]);
    // Held points are not spendable elsewhere: a second hold sees only what is left.
    const a = (await hold({ customerId: c, points: 180 })).json() as Redemption;
    const b = await hold({ customerId: c, points: 30 });
    expect(b.statusCode).toBe(409);
    expect(b.json().error.code).toBe("insufficient_points");
    expect((await call("POST", "/v1/redemptions/release", { code: a.code })).statusCode).toBe(200);
  });

  it("a hold lapses at its timeout on the clock: released on read, its release written next", async () => {
    const c = await customer();
    await earn(c, 100);
    const h = (await hold({ customerId: c, points: 80, ttlSeconds: 60 })).json() as Redemption;
    expect(await points(c)).toMatchObject({ balance: 20, held: 80 });
    clock.advance(59_999);
    expect((await call("GET", `/v1/redemptions/${h.id}`)).json().status).toBe("held");
    clock.advance(1);
    const read = (await call("GET", `/v1/redemptions/${h.id}`)).json();
    expect(read).toMatchObject({ status: "expired", code: null, closedEntry: null });
    expect(await points(c)).toMatchObject({ balance: 100, held: 0 });
    const before = await written();
    const late = await call("POST", "/v1/redemptions/capture", { code: h.code });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe("hold_expired");
    expect(await written()).toEqual(before);

    // The customer's next hold writes the lapsed one's release first, then spends its points.
    const next = await hold({ customerId: c, points: 90 });
    expect(next.statusCode, next.body).toBe(201);
    const lapsed = (await call("GET", `/v1/redemptions/${h.id}`)).json();
    expect(lapsed.status).toBe("expired");
    const released = await entry(lapsed.closedEntry);
    expect(released.type).toBe("redemption.released");
    expect(released.payload).toMatchObject({ reason: "expired", points: 80 });
    expect(Date.parse(released.time)).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));
    expect(await points(c)).toMatchObject({ balance: 10, held: 90 });

    // A release asked for after the timeout is an expiry too.
    clock.advance(16 * 60_000);
    const r = await call("POST", `/v1/redemptions/${next.json().id}/release`);
    expect(r.statusCode, r.body).toBe(200);
    expect((await entry(r.json().closedEntry)).payload.reason).toBe("expired");
    expect(await points(c)).toMatchObject({ balance: 100, held: 0 });
  });

  it("a refund while the points are held makes a debt, which their release repays first", async () => {
    const c = await customer();
    await earn(c, 100);
    const order = `O-${n}`;
    const h = (await hold({ customerId: c, points: 100 })).json() as Redemption;
    const r = await call("POST", `/v1/orders/${order}/refund`);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ reversed: 100, debt: 100 });
    expect(await points(c)).toMatchObject({ balance: 0, held: 100, debt: 100 });
    const rel = await call("POST", `/v1/redemptions/${h.id}/release`);
    expect(rel.statusCode, rel.body).toBe(200);
    expect((await entry(rel.json().closedEntry)).payload).toMatchObject({
      points: 100,
      returned: [],
      debtRepaid: 100,
    });
    expect(await points(c)).toMatchObject({ balance: 0, held: 0, debt: 0 });
  });

  it("the sweep writes the release of every hold that lapsed, once", async () => {
    const sweep = () => (Redemptions.of(t.node.sequencer) as Redemptions).sweep();
    const c = await customer();
    await earn(c, 100);
    const h = (await hold({ customerId: c, points: 30, ttlSeconds: 30 })).json() as Redemption;
    const open = (await hold({ customerId: c, points: 20, ttlSeconds: 600 })).json() as Redemption;
    expect(await sweep()).toBe(0);
    clock.advance(30_000);
    expect(await sweep()).toBe(1);
    const lapsed = (await call("GET", `/v1/redemptions/${h.id}`)).json();
    const e = await entry(lapsed.closedEntry);
    expect(e.actor).toBe("node:redemption-sweep");
    expect(e.payload).toMatchObject({ reason: "expired", points: 30 });
    const before = size(t.node);
    expect(await sweep()).toBe(0);
    expect(size(t.node)).toBe(before);
    expect((await call("GET", `/v1/redemptions/${open.id}`)).json().status).toBe("held");
    expect(await points(c)).toMatchObject({ balance: 80, held: 20 });
  });

  it("is idempotent by Idempotency-Key on holds and captures", async () => {
    const c = await customer();
    await earn(c, 100);
    const key = { "idempotency-key": `h-${backend.name}` };
    const first = await hold({ customerId: c, points: 40 }, key);
    expect(first.statusCode).toBe(201);
    const again = await hold({ customerId: c, points: 40 }, key);
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json().id).toBe(first.json().id);
    const other = await hold({ customerId: c, points: 41 }, key);
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe("idempotency_conflict");
    expect(await points(c)).toMatchObject({ balance: 60, held: 40 });

    const auth = { authorization: `Bearer ${t.ownerKey}`, "idempotency-key": "cap-1" };
    const url = `/v1/redemptions/${first.json().id}/capture`;
    // No body at all: the body is optional.
    const cap = await call("POST", url, undefined, auth);
    expect(cap.statusCode, cap.body).toBe(200);
    const before = size(t.node);
    const cap2 = await call("POST", url, undefined, auth);
    expect(cap2.statusCode, cap2.body).toBe(200);
    expect(cap2.json()).toEqual(cap.json());
    expect(size(t.node)).toBe(before);
  });

  it("a customer signs a hold; the portal shows its code; the till captures it by QR", async () => {
    const s = ed25519Signer();
    const values = { name: "Signing Customer", email: `s.${backend.name}@example.org` };
    const salt = randomBytes(16);
    const join = await call(
      "POST",
      "/v1/commands",
      {
        ...s.sign(cmd(s, "customer.join", { attached: attachmentCommitment(salt, values) })),
        attached: { salt: salt.toString("base64url"), values },
      },
      {},
    );
    expect(join.statusCode, join.body).toBe(201);
    const c = (await entry(join.json().entries[0].index)).payload.customerId as string;
    await earn(c, 300);

    const r = await signed(s, "redemption.hold", { points: 120 });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().entries.map((e: { type: string }) => e.type)).toEqual(["redemption.held"]);
    const e = await entry(r.json().entries[0].index);
    expect(e.actor).toBe(s.did);
    expect(e.signed).toBeDefined();
    expect(e.payload).toMatchObject({ customerId: c, requestedBy: "customer", points: 120 });

    const ch = await call("POST", "/v1/portal/challenges", { merchant }, {});
    const session = await call(
      "POST",
      "/v1/portal/sessions",
      s.sign(cmd(s, "session.open", { challenge: ch.json().challenge })),
      {},
    );
    expect(session.statusCode, session.body).toBe(201);
    const mine = await call("GET", "/v1/portal/redemptions", undefined, {
      authorization: `Bearer ${session.json().token}`,
    });
    expect(mine.statusCode, mine.body).toBe(200);
    const [held] = mine.json().redemptions as Redemption[];
    expect(held).toMatchObject({ status: "held", points: 120 });
    // The customer's export holds their redemptions too.
    const exported = await call("GET", "/v1/portal/export", undefined, {
      authorization: `Bearer ${session.json().token}`,
    });
    expect(exported.statusCode, exported.body.slice(0, 300)).toBe(200);
    expect(exported.json().sections.redemptions).toMatchObject([{ id: held?.id, points: 120 }]);
    expect(exported.json().sections.loyalty[0]).toMatchObject({ held: 120 });
    const cap = await call("POST", "/v1/redemptions/capture", { code: held?.qr });
    expect(cap.statusCode, cap.body).toBe(200);
    expect(cap.json().status).toBe("captured");

    // The customer may release their own hold, never another's.
    const h2 = await signed(s, "redemption.hold", { points: 100 });
    const id = (await entry(h2.json().entries[0].index)).payload.redemptionId;
    const other = await customer();
    await earn(other, 50);
    const theirs = (await hold({ customerId: other, points: 50 })).json() as Redemption;
    const before = await written();
    const refused = await signed(s, "redemption.release", { redemptionId: theirs.id });
    expect(refused.statusCode).toBe(404);
    const bad = await signed(s, "redemption.hold", { points: 1.5 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_payload");
    const both = await signed(s, "redemption.hold", { points: 1, rewardId: "rw_x" });
    expect(both.json().error.code).toBe("invalid_payload");
    const much = await signed(s, "redemption.hold", { points: 1000 });
    expect(much.statusCode).toBe(409);
    expect(much.json().error.code).toBe("insufficient_points");
    expect(await written()).toEqual(before);
    const rel = await signed(s, "redemption.release", { redemptionId: id });
    expect(rel.statusCode, rel.body).toBe(201);
    expect(await points(c)).toMatchObject({ balance: 180, held: 0 });
  });

  it("keeps a catalogue of rewards as public entries, with stock and per-customer limits", async () => {
    const r = await call("POST", "/v1/loyalty/rewards", {
      name: "Free coffee",
      points: 50,
      stock: 2,
      perCustomerLimit: 1,
    });
    expect(r.statusCode, r.body).toBe(201);
    const reward = r.json();
    expect(reward).toMatchObject({ version: 1, stock: 2, perCustomerLimit: 1, active: true });
    const e = await entry(reward.entryIndex);
    expect(e.type).toBe("reward.set");
    expect(e.salt).toBeUndefined();
    const patched = await call("PATCH", `/v1/loyalty/rewards/${reward.id}`, { points: 60 });
    expect(patched.json()).toMatchObject({ version: 2, points: 60, stock: 2 });
    const before = await written();
    const same = await call("PATCH", `/v1/loyalty/rewards/${reward.id}`, { points: 60 });
    expect(same.statusCode).toBe(409);
    expect(same.json().error.code).toBe("unchanged");
    expect((await call("PATCH", "/v1/loyalty/rewards/rw_none", { points: 1 })).statusCode).toBe(
      404,
    );
    expect((await call("GET", "/v1/loyalty/rewards/rw_none")).statusCode).toBe(404);
    expect(await written()).toEqual(before);

    const a = await customer();
    await earn(a, 200);
    const got = await hold({ customerId: a, rewardId: reward.id, capture: true });
    expect(got.statusCode, got.body).toBe(201);
    expect(got.json()).toMatchObject({ kind: "reward", status: "captured", points: 60 });
    expect(got.json().reward).toEqual({ id: reward.id, version: 2 });
    const limit = await hold({ customerId: a, rewardId: reward.id });
    expect(limit.statusCode).toBe(409);
    expect(limit.json().error.code).toBe("limit_reached");
    expect((await call("GET", `/v1/loyalty/rewards/${reward.id}`)).json().stock).toBe(1);
    expect(await points(a)).toMatchObject({ balance: 140, held: 0 });

    // A release gives the stock back.
    const b = await customer();
    await earn(b, 100);
    const held = (await hold({ customerId: b, rewardId: reward.id })).json() as Redemption;
    expect((await call("GET", `/v1/loyalty/rewards/${reward.id}`)).json().stock).toBe(0);
    const none = await customer();
    await earn(none, 100);
    const out = await hold({ customerId: none, rewardId: reward.id });
    expect(out.statusCode).toBe(409);
    expect(out.json().error.code).toBe("out_of_stock");
    await call("POST", `/v1/redemptions/${held.id}/release`);
    expect((await call("GET", `/v1/loyalty/rewards/${reward.id}`)).json().stock).toBe(1);

    const withdrawn = await call("DELETE", `/v1/loyalty/rewards/${reward.id}`);
    expect(withdrawn.json()).toMatchObject({ active: false, version: 3 });
    const off = await hold({ customerId: none, rewardId: reward.id });
    expect(off.json().error.code).toBe("reward_inactive");
    const list = (await call("GET", "/v1/loyalty/rewards")).json().rewards;
    expect(list.map((x: { id: string }) => x.id)).toContain(reward.id);
  });

  it("lets exactly one of many concurrent redemptions take the last item", async () => {
    const r = await call("POST", "/v1/loyalty/rewards", {
      name: "Last mug",
      points: 10,
      stock: 1,
    });
    const id = r.json().id;
    const customers = [];
    for (let i = 0; i < 6; i++) {
      const c = await customer();
      await earn(c, 20);
      customers.push(c);
    }
    const before = size(t.node);
    const results = await Promise.all(
      customers.map((c) => hold({ customerId: c, rewardId: id, capture: true })),
    );
    const codes = results.map((x) => x.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409]);
    for (const x of results) {
      if (x.statusCode === 409) expect(x.json().error.code).toBe("out_of_stock");
    }
    expect(size(t.node)).toBe(before + 2n);
    expect((await call("GET", `/v1/loyalty/rewards/${id}`)).json().stock).toBe(0);
  });

  it("never gives two open holds one code: refused before queueing, or in the sequencer's order", async () => {
    const r = Redemptions.of(t.node.sequencer) as unknown as { newCode: () => string };
    const draw = r.newCode;
    const c = await customer();
    await earn(c, 100);
    try {
      // A code that an open hold has already: refused before anything is queued.
      let first = "";
      r.newCode = () => {
        first = draw.call(r);
        return first;
      };
      const a = await hold({ customerId: c, points: 5 });
      expect(a.statusCode, a.body).toBe(201);
      r.newCode = () => first;
      const before = await written();
      const same = await hold({ customerId: c, points: 5 });
      expect(same.statusCode, same.body).toBe(409);
      expect(same.json().error.code).toBe("code_collision");
      expect(await written()).toEqual(before);

      // Two holds at once with one fresh code: one of them is refused, before queueing or by the
      // sequencer's check (which reads no database: the first hold is staged by then).
      const fresh = draw.call(r);
      r.newCode = () => fresh;
      const both = await Promise.all([
        hold({ customerId: c, points: 1 }),
        hold({ customerId: c, points: 1 }),
      ]);
      expect(both.map((x) => x.statusCode).sort()).toEqual([201, 409]);
      expect(both.find((x) => x.statusCode === 409)?.json().error.code).toBe("code_collision");
      expect(await written()).toEqual({
        ...before,
        size: before.size + 1n,
        redemptions: before.redemptions + 1,
      });
      expect((await points(c)).held).toBe(6);

      // Once the hold is captured its code is free again.
      const open = both.find((x) => x.statusCode === 201)?.json() as Redemption;
      expect((await call("POST", `/v1/redemptions/${open.id}/capture`, {})).statusCode).toBe(200);
      const again = await hold({ customerId: c, points: 1 });
      expect(again.statusCode, again.body).toBe(201);
    } finally {
      r.newCode = draw;
    }
  });

  it("answers the till from what it wrote: each answer is what a read gives, each use recorded once", async () => {
    const c = await customer();
    await earn(c, 300);
    const recorded = async () => {
      const { rows } = await t.node.db.query<{ n: string | number }>(
        "SELECT count(*) AS n FROM access_records WHERE customer_id = $1 AND action = 'redemption'",
        [c],
      );
      return Number(rows[0]?.n);
    };
    // Every answer that shows a redemption records the use, reads too: counted here.
    let uses = 0;
    const read = async (id: string) => {
      uses++;
      return (await call("GET", `/v1/redemptions/${id}`)).json();
    };

    const h = await hold({ customerId: c, points: 10 });
    expect(h.statusCode, h.body).toBe(201);
    expect(await recorded()).toBe(++uses);
    expect(await read(h.json().id)).toEqual(h.json());

    // A replay answers as of now (a read), and records the use again.
    const keyed = await hold({ customerId: c, points: 20 }, { "idempotency-key": `k-${c}` });
    expect(keyed.statusCode, keyed.body).toBe(201);
    expect(await recorded()).toBe(++uses);
    const replay = await hold({ customerId: c, points: 20 }, { "idempotency-key": `k-${c}` });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toEqual(keyed.json());
    expect(await recorded()).toBe(++uses);
    expect(await read(keyed.json().id)).toEqual(keyed.json());

    const captured = await call("POST", `/v1/redemptions/${h.json().id}/capture`, {
      reference: "R-1",
    });
    expect(captured.statusCode, captured.body).toBe(200);
    expect(captured.json()).toMatchObject({ status: "captured", reference: "R-1", code: null });
    expect(await recorded()).toBe(++uses);
    expect(await read(h.json().id)).toEqual(captured.json());
    // By its code, which the hold that knows it answers for.
    const byCode = await call("POST", "/v1/redemptions/capture", { code: keyed.json().code });
    expect(byCode.statusCode, byCode.body).toBe(200);
    expect(await recorded()).toBe(++uses);
    expect(await read(keyed.json().id)).toEqual(byCode.json());

    // Held and captured in one command, and a reward of the catalogue.
    const reward = await call("POST", "/v1/loyalty/rewards", { name: "Tea", points: 30 });
    expect(reward.statusCode, reward.body).toBe(201);
    const both = await hold({
      customerId: c,
      rewardId: reward.json().id,
      capture: true,
      reference: "R-2",
    });
    expect(both.statusCode, both.body).toBe(201);
    expect(both.json()).toMatchObject({
      status: "captured",
      kind: "reward",
      reward: { id: reward.json().id, version: 1 },
      points: 30,
      reference: "R-2",
    });
    expect(await recorded()).toBe(++uses);
    expect(await read(both.json().id)).toEqual(both.json());

    // A refused capture writes nothing and records nothing.
    const again = await call("POST", `/v1/redemptions/${h.json().id}/capture`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("already_captured");
    const unknown = await call("POST", "/v1/redemptions/rd_nope/capture", {});
    expect(unknown.statusCode).toBe(404);
    expect(await recorded()).toBe(uses);
  });

  it("releases a customer's lapsed holds before the next hold, reading for them only when one lapsed", async () => {
    const c = await customer();
    await earn(c, 100);
    const db = t.node.db;
    const query = db.query;
    let reads = 0;
    db.query = ((sql: string, params?: unknown[]) => {
      if (/FROM loyalty_redemptions/.test(sql)) reads++;
      return query.call(db, sql, params);
    }) as typeof db.query;
    try {
      const lapsing = (
        await hold({ customerId: c, points: 30, ttlSeconds: 60 })
      ).json() as Redemption;
      const open = await hold({ customerId: c, points: 10 });
      expect(open.statusCode, open.body).toBe(201);
      // Nothing lapsed: neither hold looked for lapsed holds in the projection.
      expect(reads).toBe(0);

      clock.advance(60_000);
      // Points enough without the lapsed hold's, which is released first all the same.
      const next = await hold({ customerId: c, points: 10 });
      expect(next.statusCode, next.body).toBe(201);
      expect(reads).toBeGreaterThan(0);
      const released = (await call("GET", `/v1/redemptions/${lapsing.id}`)).json();
      expect(released.status).toBe("expired");
      expect(released.closedEntry).toBeLessThan(next.json().heldEntry);
      expect((await entry(released.closedEntry)).payload).toMatchObject({ reason: "expired" });
      expect(await points(c)).toMatchObject({ balance: 80, held: 20 });

      // Released: the next hold reads nothing again.
      reads = 0;
      expect((await hold({ customerId: c, points: 5 })).statusCode).toBe(201);
      expect(reads).toBe(0);
    } finally {
      db.query = query;
    }
  });

  it("refuses a hold at once for a customer erased or merged since an earlier hold, writing nothing", async () => {
    const gone = await customer();
    const absorbed = await customer();
    const survivor = await customer();
    for (const c of [gone, absorbed]) {
      await earn(c, 50);
      // Seen active: the node knows them now, and reads their status no more.
      expect((await hold({ customerId: c, points: 10 })).statusCode).toBe(201);
    }
    expect((await call("POST", `/v1/customers/${gone}/erase`)).statusCode).toBe(200);
    const m = await call("POST", `/v1/customers/${survivor}/merge`, { from: absorbed });
    expect(m.statusCode, m.body).toBe(200);
    const before = await written();
    for (const c of [gone, absorbed]) {
      const r = await hold({ customerId: c, points: 10 });
      expect({ status: r.statusCode, code: r.json().error?.code }).toEqual({
        status: 404,
        code: "not_found",
      });
    }
    expect(await written()).toEqual(before);
    // Unmerged, the customer is active again.
    const u = await call("POST", `/v1/customers/${absorbed}/unmerge`);
    expect(u.statusCode, u.body).toBe(200);
    expect((await hold({ customerId: absorbed, points: 10 })).statusCode).toBe(201);
  });

  it("refuses every bad input with its 4xx, writing nothing", async () => {
    const c = await customer();
    await earn(c, 100);
    // Another merchant's QR code names nothing here.
    const foreign = "m_AnotherMerchant";
    const before = await written();
    const bad: [unknown, number, string][] = [
      [{ customerId: c, points: 0 }, 400, "invalid_request"],
      [{ customerId: c, points: 1.5 }, 400, "invalid_request"],
      [{ customerId: c, points: -3 }, 400, "invalid_request"],
      [{ customerId: c }, 400, "invalid_request"],
      [{ customerId: c, points: 5, rewardId: "rw_x" }, 400, "invalid_request"],
      [{ customerId: c, points: 5, ttlSeconds: 5 }, 400, "invalid_request"],
      [{ customerId: c, points: 5, ttlSeconds: 100_000 }, 400, "invalid_request"],
      [{ customerId: c, points: 5, extra: 1 }, 400, "invalid_request"],
      [{ customerId: "nobody", points: 5 }, 400, "invalid_request"],
      [{ customerId: "c_unknown", points: 5 }, 404, "not_found"],
      [{ customerId: c, points: 101 }, 409, "insufficient_points"],
      [{ customerId: c, rewardId: "rw_unknown" }, 404, "not_found"],
    ];
    for (const [body, status, code] of bad) {
      const r = await hold(body);
      expect(r.statusCode, `${JSON.stringify(body)}: ${r.body}`).toBe(status);
      if (status !== 400) expect(r.json().error.code).toBe(code);
    }
    const tills: [string, string, unknown, number][] = [
      ["POST", "/v1/redemptions/capture", { code: "ZZZZ-ZZZZ" }, 404],
      ["POST", "/v1/redemptions/capture", { code: "not a code!" }, 400],
      ["POST", "/v1/redemptions/capture", { code: `patron:redeem:${foreign}:ABCD1234` }, 404],
      ["POST", "/v1/redemptions/capture", {}, 400],
      ["POST", "/v1/redemptions/release", { code: "ZZZZ-ZZZZ" }, 404],
      ["POST", "/v1/redemptions/rd_unknown/capture", {}, 404],
      ["POST", "/v1/redemptions/rd_unknown/capture", { reference: "with space" }, 400],
      ["POST", "/v1/redemptions/nope/release", undefined, 400],
      ["GET", "/v1/redemptions/rd_unknown", undefined, 404],
      ["GET", "/v1/redemptions/code/ZZZZZZZZ", undefined, 404],
      ["GET", "/v1/customers/c_unknown/redemptions", undefined, 404],
      ["POST", "/v1/loyalty/rewards", { name: "", points: 10 }, 400],
      ["POST", "/v1/loyalty/rewards", { name: "Mug", points: 0 }, 400],
      ["POST", "/v1/loyalty/rewards", { name: "Mug", points: 10, stock: -1 }, 400],
      ["POST", "/v1/loyalty/rewards", { name: "Mug", points: 10, perCustomerLimit: 0 }, 400],
      ["POST", "/v1/loyalty/rewards", { name: "Mug\u0007", points: 10 }, 400],
      ["PATCH", "/v1/loyalty/rewards/rw_unknown", {}, 400],
      ["GET", "/v1/portal/redemptions", undefined, 401],
    ];
    for (const [method, url, body, status] of tills) {
      const r = await call(method, url, body);
      expect(r.statusCode, `${method} ${url} ${JSON.stringify(body)}: ${r.body}`).toBe(status);
    }
    // Staff of the auditor role read, but do not hold.
    const key = await call("POST", "/v1/api-keys", { label: "audit", role: "auditor" });
    expect(key.statusCode, key.body).toBe(201);
    const asAuditor = await call(
      "POST",
      "/v1/redemptions",
      { customerId: c, points: 5 },
      { authorization: `Bearer ${key.json().key}` },
    );
    expect(asAuditor.statusCode).toBe(403);
    const w = await written();
    expect({ ...w, size: w.size - 1n }).toEqual(before); // the API key's own entry
  });

  it("refuses a discount worth nothing at the programme's value, naming the minimum", async () => {
    const c = await customer();
    await earn(c, 100);
    const set = (valuePer100Points: number) =>
      call("PUT", "/v1/loyalty/programme", { valuePer100Points });
    expect((await set(50)).statusCode).toBe(200);
    const before = await written();
    const one = await hold({ customerId: c, points: 1 });
    expect({ status: one.statusCode, error: one.json().error }).toEqual({
      status: 400,
      error: {
        code: "discount_worthless",
        message:
          "a discount of 1 point is worth 0 EUR at 50 minor units per 100 points: a discount takes at least 2 points",
        details: { minimumPoints: 2, valuePer100Points: 50 },
      },
    });
    expect((await set(33)).statusCode).toBe(200);
    const three = await hold({ customerId: c, points: 3 });
    expect(three.json().error.details).toEqual({ minimumPoints: 4, valuePer100Points: 33 });
    expect((await set(0)).statusCode).toBe(200);
    const none = await hold({ customerId: c, points: 100 });
    expect(none.json().error).toMatchObject({
      code: "discount_worthless",
      details: { minimumPoints: null, valuePer100Points: 0 },
    });
    // A reward is the thing itself, whatever its points are worth.
    const reward = await call("POST", "/v1/loyalty/rewards", { name: "Sticker", points: 1 });
    expect(reward.statusCode, reward.body).toBe(201);
    const sticker = await hold({ customerId: c, rewardId: reward.json().id });
    expect(sticker.statusCode, sticker.body).toBe(201);
    expect(sticker.json()).toMatchObject({ kind: "reward", points: 1, value: 0 });
    expect((await written()).size).toBe(before.size + 4n); // 2 programme.set, reward.set, the hold
    // The minimum holds, worth one cent.
    expect((await set(33)).statusCode).toBe(200);
    const four = await hold({ customerId: c, points: 4 });
    expect(four.statusCode, four.body).toBe(201);
    expect(four.json()).toMatchObject({ kind: "discount", points: 4, value: 1 });
    expect((await set(100)).statusCode).toBe(200);
    const single = await hold({ customerId: c, points: 1 });
    expect(single.json()).toMatchObject({ points: 1, value: 1 });
  });

  it("audit re-executes redemptions, and names a forged capture", async () => {
    const clean = await audit();
    expect(clean.problems).toEqual([]);
    const projections = await auditProjections(t.node.db, projectors);
    expect(projections.problems).toEqual([]);
    expect(projections.tables).toEqual(
      expect.arrayContaining(["loyalty_rewards", "loyalty_redemptions", "loyalty_lots"]),
    );
    // A redemption marked released behind the log's back is found by the rebuild.
    const { rows } = await t.node.db.query<{ redemption_id: string }>(
      "SELECT redemption_id FROM loyalty_redemptions WHERE status = 'captured' LIMIT 1",
    );
    await t.node.db.query(
      "UPDATE loyalty_redemptions SET status = 'released' WHERE redemption_id = $1",
      [rows[0]?.redemption_id],
    );
    const tampered = await auditProjections(t.node.db, projectors);
    expect(tampered.problems.map((p) => `${p.kind} ${p.at}`)).toContain(
      "projection loyalty_redemptions",
    );
    await t.node.db.query(
      "UPDATE loyalty_redemptions SET status = 'captured' WHERE redemption_id = $1",
      [rows[0]?.redemption_id],
    );

    const c = await customer();
    await earn(c, 100);
    const h = (await hold({ customerId: c, points: 70, ttlSeconds: 60 })).json() as Redemption;
    const real = await entry(h.heldEntry);
    const parties = [{ customer: c }, { merchant }];
    clock.advance(61_000);
    // A capture after the timeout, of more points than were held.
    const forged = await t.node.sequencer.execute({
      entries: [
        {
          type: "redemption.captured",
          actor: real.actor,
          payload: {
            merchantId: merchant,
            customerId: c,
            redemptionId: h.id,
            held: h.heldEntry,
            points: 90,
            reference: null,
          },
          parties,
          sealed: true,
        },
      ],
    });
    const bad = await audit();
    expect(bad.ok).toBe(false);
    const at = String(forged[0]?.index);
    const mine = bad.problems.filter((p) => p.at === at).map((p) => p.message);
    expect(
      mine.some((m) => /captures 90 points of a hold of 70/.test(m)),
      mine.join("\n"),
    ).toBe(true);
    expect(
      mine.some((m) => /captured after it lapsed/.test(m)),
      mine.join("\n"),
    ).toBe(true);
  });
});

describe.each(backends)("redemptions across a restart on $name", (backend) => {
  it("knows the open holds' codes, and captures a hold it did not stage", async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
    // The sweeper waits a day: the lapsed hold is released by the hold that needs it.
    const c = backend.config({ loyaltySweepMs: 86_400_000 });
    let node = await startNode(c.config, { schema: c.schema, listen: false, clock });
    try {
      const key = node.ownerKey as string;
      const call = (n: typeof node, method: string, url: string, body?: unknown) =>
        n.app.inject({
          method: method as "GET",
          url,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : json) },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
      await publishRules({ node, ownerKey: key }, { base: BASE_RULE });
      clock.advance(60_000);
      const customer = await call(node, "POST", "/v1/customers", { name: "Restarting Customer" });
      expect(customer.statusCode, customer.body).toBe(201);
      const id = customer.json().id as string;
      const order = await call(node, "POST", "/v1/orders", {
        orderId: "O-restart",
        customer: { id },
        amount: 10_000,
        currency: "EUR",
        items: [],
        channel: "store",
        occurredAt: new Date(clock.now() - 1000).toISOString(),
      });
      expect(order.statusCode, order.body).toBe(201);
      const h = await call(node, "POST", "/v1/redemptions", { customerId: id, points: 10 });
      expect(h.statusCode, h.body).toBe(201);
      const lapsing = await call(node, "POST", "/v1/redemptions", {
        customerId: id,
        points: 20,
        ttlSeconds: 60,
      });
      expect(lapsing.statusCode, lapsing.body).toBe(201);
      await node.close();
      clock.advance(60_000);

      node = await startNode(c.config, { schema: c.schema, listen: false, clock });
      // A new hold drawing the open hold's code is refused: the node read the open codes.
      const r = Redemptions.of(node.sequencer) as unknown as { newCode: () => string };
      r.newCode = () => (h.json().code as string).replace("-", "");
      const same = await call(node, "POST", "/v1/redemptions", { customerId: id, points: 5 });
      expect(same.statusCode, same.body).toBe(409);
      expect(same.json().error.code).toBe("code_collision");
      delete (r as { newCode?: unknown }).newCode;
      // The hold staged before the restart is read once, then captured.
      const captured = await call(node, "POST", `/v1/redemptions/${h.json().id}/capture`, {});
      expect(captured.statusCode, captured.body).toBe(200);
      expect(captured.json()).toMatchObject({ status: "captured", points: 10, customerId: id });
      expect((await call(node, "GET", `/v1/redemptions/${h.json().id}`)).json()).toEqual(
        captured.json(),
      );
      // The hold that lapsed while the node was down is released before the next one.
      const fresh = await call(node, "POST", "/v1/redemptions", { customerId: id, points: 5 });
      expect(fresh.statusCode, fresh.body).toBe(201);
      const lapsed = (await call(node, "GET", `/v1/redemptions/${lapsing.json().id}`)).json();
      expect(lapsed).toMatchObject({ status: "expired" });
      expect(lapsed.closedEntry).toBeLessThan(fresh.json().heldEntry);
    } finally {
      await node.close();
      c.cleanup();
    }
  });
});

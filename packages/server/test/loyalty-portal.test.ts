import {
  decodeBase64,
  decodeEntry,
  decodeHex,
  type Entry,
  hashLeaf,
  parseVerifierKey,
  verifyCheckpoint,
  verifyHistory,
  verifyInclusion,
} from "@patron/ledger";
import { type Award, checkAward, ruleHash, ruleVersion } from "@patron/rules";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/ledger/clock.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const json = { "content-type": "application/json" };

const COFFEE = {
  name: "Coffee",
  kind: "earn",
  condition: true,
  scope: { categories: ["coffee"] },
  action: { type: "per_amount", points: 10, per: 100 },
};

interface Proven {
  index: number;
  data: string;
  proof: string[];
}

/** Opens proven entries as the portal does: the checkpoint's signature, then each proof. */
function openProven(key: string, note: string, entries: Proven[]): Map<number, Entry> {
  const cp = verifyCheckpoint(note, parseVerifierKey(key));
  const out = new Map<number, Entry>();
  for (const e of entries) {
    const bytes = decodeBase64(e.data);
    const ok = verifyInclusion(
      BigInt(e.index),
      cp.size,
      hashLeaf(bytes),
      e.proof.map(decodeHex),
      cp.root,
    );
    if (!ok) throw new Error(`entry ${e.index} is not in the checkpoint`);
    out.set(e.index, decodeEntry(bytes));
  }
  return out;
}

describe.each(backends)("loyalty in the portal's API ($name)", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let verifierKey: string;
  let ana: Signer;
  let anaId: string;
  let token: string;

  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const cmd = (s: Signer, type: string, payload: Record<string, unknown> = {}) =>
    ({
      v: 1,
      type,
      ledger: t.node.identity.origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: new Date(clock.now() + HOUR).toISOString(),
      payload,
    }) as Record<string, never>;
  const me = () => ({ authorization: `Bearer ${token}` });
  const publish = async (id: string, document: unknown, effectiveFrom?: string) => {
    const d = await call("POST", "/v1/loyalty/rules", { id, document });
    expect([200, 201], d.body).toContain(d.statusCode);
    const p = await call(
      "POST",
      `/v1/loyalty/rules/${id}/publish`,
      effectiveFrom ? { effectiveFrom } : undefined,
    );
    expect(p.statusCode, p.body).toBe(201);
    return p.json() as { version: number; hash: string; entryIndex: number };
  };
  const order = (orderId: string, over: Record<string, unknown> = {}) =>
    call("POST", "/v1/orders", {
      orderId,
      customer: { id: anaId },
      amount: 1200,
      currency: "EUR",
      items: [{ sku: "flat-white", category: "coffee", quantity: 3, unitPrice: 400 }],
      channel: "store",
      occurredAt: new Date(clock.now() - 60_000).toISOString(),
      ...over,
    });

  /** A session of an hour: opened again after the clock moves on. */
  const signIn = async () => {
    const c = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const opened = await call(
      "POST",
      "/v1/portal/sessions",
      ana.sign(cmd(ana, "session.open", { challenge: c })),
      {},
    );
    expect(opened.statusCode, opened.body).toBe(201);
    token = opened.json().token;
  };

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 2, 2, 9));
    t = await testNode(backend, {}, { clock });
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    verifierKey = (await call("GET", "/v1/ledger/key", undefined, {})).body.trim();
    ana = ed25519Signer();
    const joined = await call("POST", "/v1/commands", ana.sign(cmd(ana, "customer.join")), {});
    expect(joined.statusCode, joined.body).toBe(201);
    anaId = (await call("GET", `/v1/ledger/entries/${joined.json().entries[0].index}`)).json().entry
      .payload.customerId;
    await signIn();
  });
  afterAll(async () => t?.close());

  it("shows the signed-in customer their points: nothing at first, with the programme's terms", async () => {
    const r = await call("GET", "/v1/portal/points", undefined, me());
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      customerId: anaId,
      pointName: "points",
      balance: 0,
      pending: 0,
      debt: 0,
      tier: null,
      lots: [],
      lotCount: 0,
      programme: { returnWindowDays: 0, tiers: [] },
    });
  });

  it("refuses the points without a customer session, and with a staff key, writing nothing", async () => {
    const before = size(t.node);
    const none = await call("GET", "/v1/portal/points", undefined, {});
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("unauthorized");
    const staff = await call("GET", "/v1/portal/points");
    expect(staff.statusCode).toBe(401);
    const bad = await call("GET", "/v1/portal/points?limit=0", undefined, me());
    expect(bad.statusCode).toBe(400);
    const unknown = await call("GET", "/v1/portal/points?lots=1", undefined, me());
    expect(unknown.statusCode).toBe(400);
    expect(size(t.node)).toBe(before);
  });

  it("lists pending and available lots with their dates as the return window passes", async () => {
    expect(
      (await call("PUT", "/v1/loyalty/programme", { pointName: "beans", returnWindowDays: 7 }))
        .statusCode,
    ).toBe(200);
    await publish("coffee", COFFEE);
    const o = await order("C-1");
    expect(o.statusCode, o.body).toBe(201);
    expect(o.json().points).toBe(120);
    // Another customer's points are not this customer's.
    const other = (await call("POST", "/v1/customers", { name: "Someone Else" })).json().id;
    expect((await order("C-X", { customer: { id: other } })).statusCode).toBe(201);

    const p = (await call("GET", "/v1/portal/points", undefined, me())).json();
    expect(p).toMatchObject({
      customerId: anaId,
      pointName: "beans",
      balance: 0,
      pending: 120,
      lotCount: 1,
      programme: { pointName: "beans", returnWindowDays: 7 },
    });
    expect(p.lots).toEqual([
      expect.objectContaining({
        points: 120,
        remaining: 120,
        status: "pending",
        expiresAt: null,
        source: { type: "order", orderId: "C-1", entryIndex: o.json().entryIndex },
      }),
    ]);
    clock.advance(8 * DAY);
    // The session of an hour ended meanwhile.
    expect((await call("GET", "/v1/portal/points", undefined, me())).statusCode).toBe(401);
    await signIn();
    const later = (await call("GET", "/v1/portal/points", undefined, me())).json();
    expect(later).toMatchObject({ balance: 120, pending: 0 });
    expect(later.lots[0].status).toBe("available");
    await call("PUT", "/v1/loyalty/programme", { returnWindowDays: 0 });
  });

  it("publishes the rules and programme to anyone, proven, with no draft in sight", async () => {
    // A draft never published, and a draft of the next version of a published rule.
    await call("POST", "/v1/loyalty/rules", {
      id: "secret",
      document: { ...COFFEE, name: "Secret plan" },
    });
    await call("POST", "/v1/loyalty/rules", {
      id: "coffee",
      document: { ...COFFEE, name: "Coffee draft v2" },
    });
    // A version scheduled for later, and a rule retired from a later date.
    const soon = new Date(clock.now() + 10 * DAY).toISOString();
    await publish("pastry", {
      name: "Pastry",
      kind: "earn",
      condition: true,
      action: { type: "fixed", points: 5 },
    });
    const v2 = await publish(
      "pastry",
      {
        name: "Pastry more",
        kind: "earn",
        condition: true,
        action: { type: "fixed", points: 8 },
      },
      soon,
    );
    const retireAt = new Date(clock.now() + 20 * DAY).toISOString();
    const retired = await call("POST", "/v1/loyalty/rules/pastry/retire", {
      effectiveFrom: retireAt,
    });
    expect(retired.statusCode, retired.body).toBe(201);

    const before = size(t.node);
    const r = await call("GET", `/v1/merchants/${merchant}/loyalty/rules`, undefined, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(size(t.node)).toBe(before);
    const body = r.json();
    expect(r.body).not.toContain("Secret plan");
    expect(r.body).not.toContain("Coffee draft v2");
    expect(body.rules.map((x: { id: string }) => x.id)).toEqual(["coffee", "pastry"]);
    const pastry = body.rules[1];
    expect(pastry.status).toBe("active");
    expect(pastry.current).toMatchObject({ version: 1 });
    expect(pastry.history.map((h: { event: string; effectiveFrom: string }) => h.event)).toEqual([
      "published",
      "published",
      "retired",
    ]);
    expect(pastry.history[1]).toMatchObject({ version: v2.version, effectiveFrom: soon });
    expect(pastry.history[2]).toMatchObject({ effectiveFrom: retireAt });
    expect(body.programme.programme.pointName).toBe("beans");

    // Every publication's entry is proven, and its document hashes to what it says.
    const entries = openProven(verifierKey, body.checkpoint, body.entries);
    const events = body.rules.flatMap((x: { history: { entryIndex: number }[] }) => x.history);
    for (const h of events) expect(entries.has(h.entryIndex)).toBe(true);
    expect(entries.get(body.programme.entryIndex)?.type).toBe("programme.set");
    const published = [...entries.values()].filter((e) => e.type === "rule.published");
    expect(published.length).toBe(3);
    for (const e of published) {
      const p = e.payload as { document: unknown; hash: string; merchantId: string };
      expect(ruleHash(p.document)).toBe(p.hash);
      expect(p.merchantId).toBe(merchant);
    }
  });

  it("lets the customer recompute their award from their history and the published rule", async () => {
    const rulesBody = (
      await call("GET", `/v1/merchants/${merchant}/loyalty/rules`, undefined, {})
    ).json();
    const publicEntries = openProven(verifierKey, rulesBody.checkpoint, rulesBody.entries);
    const h = (await call("GET", "/v1/portal/history?limit=1000", undefined, me())).json();
    const verified = verifyHistory({
      checkpoint: h.checkpoint,
      verifierKey,
      records: h.records,
      entries: h.entries,
      fields: [],
    });
    expect(verified.problems).toEqual([]);
    const awarded = verified.entries.filter((e) => e.entry.type === "points.awarded");
    expect(awarded.length).toBe(1);
    const payload = awarded[0]?.entry.payload as { awards: Award[]; points: number };
    expect(payload.points).toBe(120);
    for (const award of payload.awards) {
      const pub = [...publicEntries.values()].find((e) => {
        const p = e.payload as { ruleId: string; version: number };
        return (
          e.type === "rule.published" && p.ruleId === award.rule && p.version === award.version
        );
      });
      const p = pub?.payload as { ruleId: string; version: number; hash: string; document: never };
      const rv = ruleVersion(p.ruleId, p.version, p.document, p.hash);
      expect(checkAward(rv, award)).toMatchObject({ ok: true });
    }
  });

  it("answers 404 for a merchant that does not exist and 400 for what is not a merchant id", async () => {
    const missing = await call("GET", "/v1/merchants/m_nobodyhere/loyalty/rules", undefined, {});
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("not_found");
    const bad = await call("GET", "/v1/merchants/nope/loyalty/rules", undefined, {});
    expect(bad.statusCode).toBe(400);
  });

  it("shows a new merchant's default programme and no rules", async () => {
    const m = await call("POST", "/v1/merchants", { name: "Quiet Shop" }, t.auth(t.operatorKey));
    expect(m.statusCode, m.body).toBe(201);
    const r = await call("GET", `/v1/merchants/${m.json().id}/loyalty/rules`, undefined, {});
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      rules: [],
      entries: [],
      programme: { entryIndex: null },
    });
  });
});

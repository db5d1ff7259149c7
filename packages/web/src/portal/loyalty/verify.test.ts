import {
  type Entry,
  encodeBase64,
  encodeEntry,
  encodeHex,
  generateNoteKeys,
  hashLeaf,
  inclusionProof,
  type JsonValue,
  rootFromLeafHashes,
  signCheckpoint,
} from "@patron/ledger";
import { evaluateRules, ruleHash, ruleVersion, validateRule } from "@patron/rules";
import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import type { ProvenHistoryEntry } from "../verify/history.js";
import { describeRule, formula } from "./describe.js";
import type { PublishedRules } from "./schemas.js";
import { qualifying } from "./tiers.js";
import { checkLoyaltyHistory, checkPublished } from "./verify.js";

// A merchant's published rule on a small signed log, and an order's award computed with it as
// the node computes it: the portal's checks pass, then fail where the bytes or the award lie.

const ORIGIN = "test.example/log";
const keys = generateNoteKeys(ORIGIN);
const M = "m_cafe";
const COFFEE = {
  name: "Coffee",
  kind: "earn",
  condition: true,
  scope: { categories: ["coffee"] },
  action: { type: "per_amount", points: 10, per: 100 },
};
const hash = ruleHash(COFFEE);
const entry = (e: Partial<Entry> & Pick<Entry, "type">): Entry => ({
  v: 1,
  actor: "node",
  time: "2026-03-02T09:00:00Z",
  payload: {},
  ...e,
});
const published = entry({
  type: "rule.published",
  payload: {
    merchantId: M,
    ruleId: "coffee",
    version: 3,
    hash,
    document: COFFEE,
    effectiveFrom: "2026-03-02T09:00:00.000Z",
  },
  subjects: [{ merchant: M, prev: null }],
});
const log = [entry({ type: "merchant.created" }), published];
const bytes = log.map(encodeEntry);
const leaves = bytes.map((b) => hashLeaf(b));
const checkpoint = signCheckpoint(
  { origin: ORIGIN, size: BigInt(log.length), root: rootFromLeafHashes(leaves), extensions: [] },
  keys.signerKey,
);
const answer = (over: Partial<PublishedRules> = {}): PublishedRules => ({
  merchantId: M,
  size: log.length,
  checkpoint,
  programme: {
    programme: {
      pointName: "beans",
      valuePer100Points: 100,
      currency: "EUR",
      returnWindowDays: 0,
      tiers: [],
      timeZone: "UTC",
    },
    entryIndex: null,
    updatedAt: null,
  },
  rules: [
    {
      id: "coffee",
      status: "active",
      current: { version: 3, hash, effectiveFrom: "2026-03-02T09:00:00.000Z" },
      history: [
        {
          event: "published",
          version: 3,
          hash,
          effectiveFrom: "2026-03-02T09:00:00.000Z",
          effectiveUntil: null,
          replaced: false,
          entryIndex: 1,
          recordedAt: "2026-03-02T09:00:00.000Z",
        },
      ],
    },
  ],
  entries: [
    {
      index: 1,
      data: encodeBase64(bytes[1] as Uint8Array),
      proof: inclusionProof(leaves, 1).map(encodeHex),
    },
  ],
  ...over,
});

const rv = ruleVersion("coffee", 3, COFFEE, hash);
const { awards } = evaluateRules([rv], {
  order: {
    amount: 1200,
    channel: "store",
    items: [{ product: "flat-white", category: "coffee", amount: 1200, quantity: 3 }],
  },
  customer: {},
  time: {},
});
const awarded = (points: number, list = awards): ProvenHistoryEntry => ({
  index: 7,
  fields: [],
  entry: entry({
    type: "points.awarded",
    payload: {
      merchantId: M,
      customerId: "c_ana",
      orderId: "C-1",
      awards: list as unknown as JsonValue,
      points,
    },
  }),
});

describe("the portal's loyalty checks", () => {
  it("proves the published rule and recomputes the award: 120 beans by Coffee v3", () => {
    const check = checkPublished(answer(), keys.verifierKey, M);
    expect(check.problems).toEqual([]);
    expect(check.versions.get("coffee@3")?.rv.hash).toBe(hash);
    expect(awards.map((a) => a.points)).toEqual([120]);
    const v = checkLoyaltyHistory([awarded(120)], check);
    expect(v).toMatchObject({ awards: 1, recomputed: 1, failed: 0 });
    expect(v.rows[0]?.awards[0]).toMatchObject({
      rule: "coffee",
      name: "Coffee",
      version: 3,
      recomputed: 120,
      state: "ok",
    });
  });

  it("names an award that does not recompute, and a total that is not its awards'", () => {
    const check = checkPublished(answer(), keys.verifierKey, M);
    const forged = awards.map((a) => ({ ...a, points: 220 }));
    const v = checkLoyaltyHistory([awarded(220, forged)], check);
    expect(v.failed).toBe(1);
    expect(v.rows[0]?.awards[0]).toMatchObject({
      state: "mismatch",
      recorded: 220,
      recomputed: 120,
    });
    const total = checkLoyaltyHistory([awarded(500)], check);
    expect(total.rows[0]?.ok).toBe(false);
    expect(total.rows[0]?.problems[0]).toMatch(/add up to 120/);
  });

  it("checks a refund's awards over the net order, and what it leaves", () => {
    const check = checkPublished(answer(), keys.verifierKey, M);
    const net = evaluateRules([rv], {
      order: {
        amount: 800,
        channel: "store",
        items: [{ product: "flat-white", category: "coffee", amount: 800, quantity: 2 }],
      },
      customer: {},
      time: {},
    }).awards;
    const refunded = (after: number): ProvenHistoryEntry => ({
      index: 9,
      fields: [],
      entry: entry({
        type: "order.refunded",
        payload: {
          merchantId: M,
          orderId: "C-1",
          full: false,
          awards: net as unknown as JsonValue,
          pointsBefore: 120,
          pointsAfter: after,
        },
      }),
    });
    const ok = checkLoyaltyHistory([refunded(80)], check);
    expect(ok.rows[0]).toMatchObject({ ok: true, pointsAfter: 80 });
    expect(ok.rows[0]?.awards[0]).toMatchObject({ recomputed: 80, state: "ok" });
    const wrong = checkLoyaltyHistory([refunded(100)], check);
    expect(wrong.rows[0]?.problems[0]).toMatch(/give 80/);
    expect(wrong.failed).toBe(1);
  });

  it("refuses a rule whose bytes changed, whose document is not its hash, or from another merchant", () => {
    const changed = new TextDecoder().decode(bytes[1]).replace('"points":10', '"points":20');
    const tampered = answer({
      entries: [
        {
          index: 1,
          data: encodeBase64(new TextEncoder().encode(changed)),
          proof: inclusionProof(leaves, 1).map(encodeHex),
        },
      ],
    });
    const check = checkPublished(tampered, keys.verifierKey, M);
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toMatchObject({ kind: "inclusion", entry: 1 });
    // An award by a version that did not verify is not called recomputed.
    const v = checkLoyaltyHistory([awarded(120)], check);
    expect(v.rows[0]?.awards[0]?.state).toBe("unverified");
    expect(checkPublished(answer(), keys.verifierKey, "m_other").problems[0]?.kind).toBe(
      "merchant",
    );
    const other = generateNoteKeys(ORIGIN);
    expect(checkPublished(answer(), other.verifierKey, M).problems[0]?.kind).toBe("checkpoint");
    const missing = checkPublished(answer({ entries: [] }), keys.verifierKey, M);
    expect(missing.problems[0]).toMatchObject({ kind: "missing", entry: 1 });
  });

  it("says a rule in words, and a condition as a formula", () => {
    const t = (key: string, options: Record<string, unknown> = {}) => {
      let node: unknown = en;
      const count = options.count;
      for (const part of key.split(".")) node = (node as Record<string, unknown>)[part];
      if (typeof node !== "string" && count !== undefined) {
        const parts = key.split(".");
        const last = parts.pop() as string;
        let parent: unknown = en;
        for (const part of parts) parent = (parent as Record<string, unknown>)[part];
        node = (parent as Record<string, string>)[`${last}_${count === 1 ? "one" : "other"}`];
      }
      return String(node).replace(/{{(\w+)}}/g, (_, k: string) => String(options[k]));
    };
    const rule = validateRule({
      ...COFFEE,
      caps: { order: 50, period: { points: 200, unit: "month" } },
      validUntil: "2026-12-31T23:00:00Z",
    });
    if (!rule.ok) throw new Error("invalid");
    const words = describeRule(rule.rule, {
      pointName: "beans",
      currency: "EUR",
      language: "en",
      t,
    });
    expect(words.gives).toBe(
      "10 beans for every €1.00 spent (rounded down), on orders with items in coffee.",
    );
    expect(words.details).toEqual(["At most 50 beans per order and 200 beans a month."]);
    expect(words.validity).toMatch(/^Valid until /);
    expect(words.condition).toBeUndefined();
    const say = (doc: Record<string, unknown>, pointName = "stars") => {
      const r = validateRule({ name: "r", kind: "earn", condition: true, ...doc });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return describeRule(r.rule, { pointName, currency: "EUR", language: "en", t });
    };
    // One star, not "1 stars"; a cap of one too.
    const one = say({ action: { type: "per_amount", points: 1, per: 100 }, caps: { day: 1 } });
    expect(one.gives).toBe("1 star for every €1.00 spent (rounded down), on every order.");
    expect(one.details).toEqual(["At most 1 star a day."]);
    // A first order is said in words, not "on every order" beside a condition.
    const first = say({
      condition: { "==": [{ var: "customer.orders" }, 0] },
      action: { type: "fixed", points: 100 },
    });
    expect(first.gives).toBe("100 stars for each order, on a first order.");
    expect(first.condition).toBeUndefined();
    // Any other condition: its formula, and no "on every order".
    const weekend = say({
      condition: { in: [{ var: "time.weekday" }, [6, 7]] },
      action: { type: "fixed", points: 5 },
      validUntil: "2027-03-08T00:00:00Z",
    });
    expect(weekend.gives).toBe("5 stars for each order.");
    expect(weekend.condition).toBe("time.weekday in [6, 7]");
    expect(weekend.details).toEqual([]);
    expect(weekend.validity).toMatch(/^Valid until March 8, 2027/);
    // A sentence the point name starts has its capital.
    const expire = say({ kind: "expiry", action: { type: "expire", days: 30 } });
    expect(expire.gives).toMatch(/^Stars earned under it expire after 30 days/);
    expect(formula({ "==": [{ var: "customer.orders" }, 0] })).toBe("customer.orders = 0");
    expect(formula({ in: [{ var: "time.weekday" }, [6, 7]] })).toBe("time.weekday in [6, 7]");
  });

  it("counts toward a tier what the verified history holds in the window", () => {
    const at = (time: string, type: string, payload: Record<string, unknown>) => ({
      index: 0,
      fields: [],
      entry: entry({ type, time, payload: payload as JsonValue }),
    });
    const entries = [
      at("2026-03-01T00:00:00Z", "points.reversed", { points: 30 }),
      at("2026-02-01T00:00:00Z", "points.awarded", { points: 100 }),
      at("2025-01-01T00:00:00Z", "points.awarded", { points: 1000 }),
    ];
    expect(qualifying(entries, "points", 12, Date.parse("2026-03-02T00:00:00Z"))).toBe(70);
  });
});

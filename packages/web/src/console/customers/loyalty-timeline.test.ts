import i18next from "i18next";
import { describe, expect, it } from "vitest";
import { en } from "../i18n/en.js";
import { zhCN } from "../i18n/zh-CN.js";
import {
  LOYALTY_TIMELINE_TYPES,
  type LoyaltyTimelineType,
  loyaltyLine,
} from "./loyalty-timeline.js";

const m = "m_1";
const c = "c_1";
/** One payload per entry type, as packages/server/src/loyalty/*entries.ts writes them. */
const SAMPLES: Record<LoyaltyTimelineType, unknown[]> = {
  "order.recorded": [
    {
      merchantId: m,
      customerId: c,
      orderId: "T-1001",
      amount: 12000,
      currency: "EUR",
      channel: "store",
      items: [{ sku: "esp", category: "coffee", quantity: 2, unitPrice: 6000 }],
      occurredAt: "2026-12-01T10:00:00Z",
    },
  ],
  "points.awarded": [
    {
      merchantId: m,
      customerId: c,
      orderId: "T-1001",
      order: 4,
      context: {},
      awards: [
        { rule: "base", version: 1, hash: "h", kind: "earn", points: 120, inputs: {} },
        { rule: "none", version: 2, hash: "h", kind: "earn", points: 0, inputs: {} },
      ],
      points: 120,
      lot: null,
      debtRepaid: 1,
    },
  ],
  "order.refunded": [
    { orderId: "T-1001", full: true, pointsBefore: 120, pointsAfter: 0 },
    { orderId: "T-1001", full: false, pointsBefore: 120, pointsAfter: 60 },
  ],
  "points.reversed": [{ orderId: "T-1001", points: 60, taken: [], debt: 10, writtenOff: 5 }],
  "points.expired": [{ points: 1, lots: [] }],
  "tier.changed": [
    {
      from: "silver",
      to: "gold",
      direction: "up",
      trigger: "order",
      qualification: { tier: "gold", metric: "points", figure: 1200, threshold: 1000, months: 12 },
    },
    {
      from: "gold",
      to: "silver",
      direction: "down",
      qualification: { metric: "spend", figure: 50000, threshold: 100000, months: 1 },
    },
    { from: null, to: "silver", direction: "up" },
    { from: "silver", to: null, direction: "down" },
  ],
  "adjustment.requested": [
    { adjustmentId: "a1", direction: "credit", points: 500, reason: "goodwill", pending: true },
    { adjustmentId: "a2", direction: "debit", points: 5, reason: "fraud", pending: false },
  ],
  "adjustment.approved": [{ adjustmentId: "a1" }],
  "adjustment.rejected": [{ adjustmentId: "a1" }],
  "points.adjusted": [
    { direction: "credit", points: 500 },
    { direction: "debit", points: 5 },
  ],
  "redemption.held": [
    { kind: "reward", reward: { id: "mug", version: 1 }, points: 300, value: 300, currency: "EUR" },
    { kind: "discount", reward: null, points: 250, value: 250, currency: "EUR" },
  ],
  "redemption.captured": [{ points: 300, reference: "R-9" }],
  "redemption.released": [
    { points: 300, reason: "released" },
    { points: 300, reason: "expired" },
  ],
  "points.sent": [{ transferId: "t1", points: 50 }],
  "points.received": [{ transferId: "t1", points: 50 }],
};

async function translator(lng: string) {
  const i18n = i18next.createInstance();
  await i18n.init({
    resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
    lng,
    fallbackLng: false,
    interpolation: { escapeValue: false },
  });
  return i18n;
}

describe("loyaltyLine", () => {
  const ctx = {
    pointName: "stars",
    language: "en",
    tierNames: new Map([
      ["silver", "Silver"],
      ["gold", "Gold"],
    ]),
    currency: "EUR",
  };

  it("names every loyalty entry type of the server, and no other type", () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(LOYALTY_TIMELINE_TYPES).sort());
    expect(loyaltyLine("note.added", {}, ctx)).toBeUndefined();
    expect(loyaltyLine("toString", {}, ctx)).toBeUndefined();
  });

  it("gives each its key figure in words, in English and Chinese, every key in both catalogues", async () => {
    for (const lng of ["en", "zh-CN"]) {
      const i18n = await translator(lng);
      for (const [type, payloads] of Object.entries(SAMPLES)) {
        for (const payload of payloads) {
          const line = loyaltyLine(type, payload, { ...ctx, language: lng });
          expect(line, type).toBeDefined();
          for (const w of [line?.title, ...(line?.details ?? [])]) {
            if (!w) continue;
            // With `count`, `exists` looks for the plural form the count takes.
            expect(i18n.exists(w.key, w.values), `${lng} ${type} ${w.key}`).toBe(true);
            const text = i18n.t(w.key, w.values);
            expect(text, `${lng} ${type}`).not.toMatch(/{{|timeline\./);
          }
        }
      }
    }
  });

  it("says the points, the order and its amount, the tiers from and to", async () => {
    const i18n = await translator("en");
    const say = (type: LoyaltyTimelineType, i = 0) => {
      const line = loyaltyLine(type, SAMPLES[type][i], ctx);
      if (!line) throw new Error(type);
      return [line.title, ...line.details].map((w) => i18n.t(w.key, w.values));
    };
    expect(say("order.recorded")).toEqual(["Order T-1001 recorded: €120.00", "1 line"]);
    expect(say("points.awarded")).toEqual([
      "Earned 120 stars on order T-1001",
      "By rule base v1",
      "1 star of it repaid a debt",
    ]);
    expect(say("order.refunded", 1)).toEqual([
      "Order T-1001 refunded in part",
      "Its stars: 120 → 60",
    ]);
    expect(say("points.expired")).toEqual(["1 star expired"]);
    expect(say("tier.changed")[0]).toBe("Tier up: Silver → Gold");
    expect(say("tier.changed")[1]).toBe(
      "1,200 stars earned in the last 12 months (threshold 1,000)",
    );
    expect(say("tier.changed", 1)).toEqual([
      "Tier down: Gold → Silver",
      "€500.00 spent in the last month (threshold €1,000.00)",
    ]);
    expect(say("tier.changed", 2)).toEqual(["Tier reached: Silver"]);
    expect(say("tier.changed", 3)).toEqual(["Tier left: Silver"]);
    expect(say("adjustment.requested")).toEqual([
      "Staff asked to credit 500 stars (goodwill)",
      "Waits for a second staff member's approval",
    ]);
    expect(say("redemption.held", 1)).toEqual(["250 stars held for a €2.50 discount"]);
    expect(say("redemption.released", 1)).toEqual(["A hold lapsed: 300 stars given back"]);
  });

  it("keeps a space between Chinese words and a Latin point name", async () => {
    const i18n = await translator("zh-CN");
    const line = loyaltyLine("points.sent", SAMPLES["points.sent"][0], {
      ...ctx,
      language: "zh-CN",
    });
    expect(line && i18n.t(line.title.key, line.title.values)).toBe("向另一位客户转出 50 stars");
  });
});

import type { App } from "../http/app.js";
import { random } from "./customers.js";

/**
 * The demo merchant's loyalty programme (issue 9): a programme with tiers, five published
 * earning rules, a catalogue of rewards and 12 months of orders for the demo customers. Everything goes through the
 * public API with the owner key, so every order is evaluated by the sequencer against the
 * published rules and its awards can be recomputed like any other.
 *
 * The orders happened in the past (`occurredAt`), but they are recorded now: the ledger's time
 * never goes backwards, and the sequencer's time is the time of an award (the rules in force,
 * `time.weekday`, the caps' days). So the demo's history is an import: each order keeps the day
 * it was placed, and its points carry the time of the first start. The programme's return window
 * is set after the import, so the imported points are available at once and later orders' are
 * pending for 14 days, as the two `programme.set` entries say.
 */

const DAY = 86_400_000;

/** The programme, first without a return window (the import), then with one. */
export const DEMO_PROGRAMME = {
  pointName: "stars",
  valuePer100Points: 50,
  currency: "EUR",
  timeZone: "Europe/Lisbon",
  tiers: [
    {
      id: "silver",
      name: "Silver",
      qualification: { metric: "points", threshold: 500, months: 12 },
    },
    { id: "gold", name: "Gold", qualification: { metric: "points", threshold: 1500, months: 12 } },
  ],
} as const;
export const DEMO_RETURN_WINDOW_DAYS = 14;

/** The five earning rules, by id, in the order they are published. */
export function demoRules(now: number): Record<string, Record<string, unknown>> {
  return {
    base: {
      name: "1 star per euro",
      kind: "earn",
      condition: true,
      action: { type: "per_amount", points: 1, per: 100 },
    },
    shoes: {
      name: "Double stars on shoes",
      kind: "earn",
      condition: true,
      scope: { categories: ["shoes"] },
      action: { type: "per_amount", points: 1, per: 100, items: { categories: ["shoes"] } },
    },
    welcome: {
      name: "100 stars on a first order",
      kind: "earn",
      condition: { "==": [{ var: "customer.orders" }, 0] },
      action: { type: "fixed", points: 100 },
    },
    weekend: {
      name: "Weekend campaign: double base stars",
      kind: "earn",
      condition: { in: [{ var: "time.weekday" }, [6, 7]] },
      action: { type: "multiplier", factor: 2, rules: ["base"] },
      // A campaign: the next three months.
      validUntil: new Date(now + 91 * DAY).toISOString(),
    },
    app: {
      name: "App orders: 2 more stars per euro, at most 100 an order",
      kind: "earn",
      condition: true,
      scope: { channels: ["app"] },
      action: { type: "per_amount", points: 2, per: 100 },
      caps: { order: 100 },
    },
  };
}

/**
 * The rewards of the demo catalogue, as `POST /v1/loyalty/rewards` takes them (each a public
 * `reward.set` entry): costs in stars (100 stars are worth €0.50), stock (null: unlimited) and
 * how many one customer may redeem.
 */
export const DEMO_REWARDS = [
  { name: "Sports bottle", points: 800, stock: 100, perCustomerLimit: 1 },
  { name: "Running socks", points: 1500, stock: 40, perCustomerLimit: 2 },
  { name: "€10 voucher", points: 2000, stock: null, perCustomerLimit: 3 },
  { name: "Shoe care kit", points: 2500, stock: 25, perCustomerLimit: 1 },
] as const;

const CATALOGUE: [sku: string, category: string, unitPrice: number][] = [
  ["run-01", "shoes", 8999],
  ["run-02", "shoes", 12999],
  ["trail-01", "shoes", 10999],
  ["socks-3", "socks", 1299],
  ["socks-wool", "socks", 1799],
  ["insoles", "care", 2499],
  ["spray", "care", 899],
  ["tee", "apparel", 2999],
  ["jacket", "apparel", 7999],
  ["gift-25", "gift-cards", 2500],
];
const CHANNELS = ["store", "store", "store", "web", "web", "app"];
const STORES = ["lisbon-1", "porto-1", "paris-1"];

/** One demo order, as `POST /v1/orders` takes it, but for the customer's id. */
export interface DemoOrder {
  /** Which of the demo customers (their position in `demoCustomers`). */
  customer: number;
  order: Record<string, unknown>;
}

/**
 * The demo customers' orders over the 12 months before `now`, oldest first: most customers
 * order a few times, some often, some never.
 */
export function demoOrders(customers: number, now: number): DemoOrder[] {
  const r = random(20261208);
  const out: (DemoOrder & { at: number })[] = [];
  for (let c = 0; c < customers; c++) {
    const roll = r();
    const count =
      roll < 0.15 ? 0 : roll < 0.85 ? 1 + Math.floor(r() * 6) : 6 + Math.floor(r() * 12);
    for (let k = 0; k < count; k++) {
      const at = now - DAY - Math.floor(r() * 364 * DAY);
      const lines = 1 + Math.floor(r() * 3);
      const items: { sku: string; category: string; quantity: number; unitPrice: number }[] = [];
      for (let l = 0; l < lines; l++) {
        const [sku, category, unitPrice] = CATALOGUE[
          Math.floor(r() * CATALOGUE.length)
        ] as (typeof CATALOGUE)[number];
        if (items.some((i) => i.sku === sku)) continue;
        items.push({ sku, category, quantity: 1 + Math.floor(r() * 2), unitPrice });
      }
      const channel = CHANNELS[Math.floor(r() * CHANNELS.length)] as string;
      const amount = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
      out.push({
        customer: c,
        at,
        order: {
          orderId: `demo-${String(c).padStart(5, "0")}-${k}`,
          amount,
          currency: "EUR",
          items,
          channel,
          ...(channel === "store"
            ? { store: STORES[Math.floor(r() * STORES.length)] as string }
            : {}),
          occurredAt: new Date(at).toISOString(),
        },
      });
    }
  }
  out.sort((a, b) => a.at - b.at);
  return out.map(({ customer, order }) => ({ customer, order }));
}

/**
 * Sets the demo programme, publishes the five rules, fills the catalogue and records the demo
 * customers' orders, through the API. `customerIds` are the demo customers' ids, in the order `demoCustomers`
 * made them. Resolves to what it wrote; a failure names the request that failed.
 */
export async function seedDemoLoyalty(
  app: App,
  key: string,
  now: number,
  customerIds: readonly string[],
): Promise<{ rules: number; rewards: number; orders: number; points: number }> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const call = async (method: "POST" | "PUT", url: string, body: unknown, status: number) => {
    const res = await app.inject({ method, url, headers, payload: JSON.stringify(body) });
    if (res.statusCode !== status)
      throw new Error(`demo ${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await call("PUT", "/v1/loyalty/programme", { ...DEMO_PROGRAMME, returnWindowDays: 0 }, 200);
  const rules = Object.entries(demoRules(now));
  for (const [id, document] of rules) {
    await call("POST", "/v1/loyalty/rules", { id, document }, 201);
    await call("POST", `/v1/loyalty/rules/${id}/publish`, {}, 201);
  }
  for (const reward of DEMO_REWARDS) await call("POST", "/v1/loyalty/rewards", reward, 201);
  let orders = 0;
  let points = 0;
  const all = demoOrders(customerIds.length, now);
  for (let i = 0; i < all.length; i += 1000) {
    const batch = all.slice(i, i + 1000).map((o) => ({
      ...o.order,
      customer: { id: customerIds[o.customer] },
    }));
    const res = await call("POST", "/v1/orders", { orders: batch }, 201);
    for (const x of res.results as { points?: number; error?: unknown }[]) {
      if (x.error) throw new Error(`demo order: ${JSON.stringify(x)}`);
      points += x.points ?? 0;
    }
    orders += batch.length;
  }
  await call("PUT", "/v1/loyalty/programme", { returnWindowDays: DEMO_RETURN_WINDOW_DAYS }, 200);
  return { rules: rules.length, rewards: DEMO_REWARDS.length, orders, points };
}

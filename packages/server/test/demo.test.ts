import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoCustomers } from "../src/demo/customers.js";
import { DEMO_RETURN_WINDOW_DAYS, DEMO_REWARDS, demoOrders } from "../src/demo/loyalty.js";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData, expectNoPersonalDataInDump } from "./personal-data.js";

const COUNT = 60;

describe("the demo customers' emails", () => {
  it("spell their names' letters out, as people write their address", () => {
    const people = demoCustomers(500, Date.UTC(2026, 11, 7));
    const soren = people.filter((p) => String(p.body.name).startsWith("Søren "));
    expect(soren.length).toBeGreaterThan(0);
    for (const p of soren) expect(p.body.email).toMatch(/^soren\./);
    for (const p of people) expect(p.body.email).toMatch(/^[a-z]+\.[a-z]+[0-9]{3}@example\.c/);
  });
});

describe.each(backends)("the demo customers of a first start ($name)", (backend) => {
  let t: TestNode;
  const get = (url: string) =>
    t.node.app.inject({ url, headers: { authorization: `Bearer ${t.ownerKey}` } });
  /** Every personal value the demo wrote: names, emails, phones, handles, interaction text. */
  const seeded = () => {
    const people = demoCustomers(COUNT, t.node.clock.now());
    return [
      ...new Set(
        people.flatMap((p) => [
          p.body.name as string,
          p.body.email as string,
          (p.body.phone as string).replace(/\s/g, ""),
          ...((p.body.identities as { value: string }[] | undefined) ?? [])
            .map((i) => i.value)
            .filter((v) => !v.startsWith("LC-")),
          ...p.interactions.map((i) => i.summary as string),
        ]),
      ),
    ];
  };

  beforeAll(async () => {
    t = await testNode(backend, { demoData: true, demoCustomers: COUNT });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it("adds customers in both scripts, with identities and a year of interactions", async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await get(`/v1/customers?limit=100${cursor ? `&cursor=${cursor}` : ""}`)
      ).json() as { customers: { id: string; identities: unknown[] }[]; next: string | null };
      ids.push(...page.customers.map((c) => c.id));
      cursor = page.next;
    } while (cursor);
    expect(ids).toHaveLength(COUNT);
    const people = demoCustomers(COUNT, t.node.clock.now());
    const chinese = people.find((p) => /\p{Script=Han}/u.test(p.body.name as string));
    const latin = people.find((p) => !/\p{Script=Han}/u.test(p.body.name as string));
    for (const p of [chinese, latin]) {
      const name = p?.body.name as string;
      const found = (await get(`/v1/customers?query=${encodeURIComponent(name)}`)).json()
        .customers as { id: string; name: string }[];
      expect(found.map((c) => c.name)).toContain(name);
      const timeline = (await get(`/v1/customers/${found[0]?.id}/timeline?limit=200`)).json()
        .items as { type: string; time: string }[];
      expect(timeline.filter((i) => i.type === "interaction.recorded").length).toBeGreaterThan(0);
    }
    // Interactions spread over the past twelve months.
    const times = people.flatMap((p) =>
      p.interactions.map((i) => Date.parse(i.occurredAt as string)),
    );
    const now = t.node.clock.now();
    expect(Math.min(...times)).toBeGreaterThan(now - 366 * 86_400_000);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(180 * 86_400_000);
  });

  it("gives the demo merchant a programme with tiers, five published rules and a year of orders", async () => {
    const programme = (await get("/v1/loyalty/programme")).json().programme;
    expect(programme.pointName).toBe("stars");
    expect(programme.returnWindowDays).toBe(DEMO_RETURN_WINDOW_DAYS);
    expect(programme.tiers.map((x: { id: string }) => x.id)).toEqual(["silver", "gold"]);
    const rules = (await get("/v1/loyalty/rules")).json().rules as {
      id: string;
      status: string;
    }[];
    expect(rules.map((r) => r.status)).toEqual(Array(5).fill("active"));
    // A catalogue of rewards, each through the catalogue's path: a public reward.set entry.
    const rewards = (await get("/v1/loyalty/rewards")).json().rewards as {
      name: string;
      points: number;
      stock: number | null;
      perCustomerLimit: number | null;
      active: boolean;
      version: number;
      entryIndex: number;
    }[];
    expect(
      rewards.map(({ name, points, stock, perCustomerLimit }) => ({
        name,
        points,
        stock,
        perCustomerLimit,
      })),
    ).toEqual(DEMO_REWARDS);
    expect(rewards.every((x) => x.active && x.version === 1)).toBe(true);
    expect(rewards.some((x) => x.stock !== null && x.perCustomerLimit !== null)).toBe(true);
    for (const x of rewards) {
      const e = (await get(`/v1/ledger/entries/${x.entryIndex}`)).json();
      expect(e.entry).toMatchObject({ type: "reward.set", payload: { version: 1 } });
    }

    // Every order recorded through the order path, each with its awards.
    const now = t.node.clock.now();
    const expected = demoOrders(COUNT, now);
    const { rows } = await t.node.db.query<{
      n: string | number;
      first: Date | string;
      last: Date | string;
      points: string | number;
      awarded: string | number;
    }>(
      `SELECT count(*) AS n, min(occurred_at) AS first, max(occurred_at) AS last,
              sum(points) AS points, count(awarded_idx) AS awarded FROM loyalty_orders`,
    );
    const r = rows[0];
    expect(Number(r?.n)).toBe(expected.length);
    expect(Number(r?.awarded)).toBe(expected.length);
    expect(Number(r?.points)).toBeGreaterThan(0);
    // Placed over the past twelve months (recorded now: see demo/loyalty.ts).
    const first = new Date(r?.first as string).getTime();
    const last = new Date(r?.last as string).getTime();
    expect(first).toBeGreaterThan(now - 366 * 86_400_000);
    expect(last).toBeLessThan(now);
    expect(last - first).toBeGreaterThan(270 * 86_400_000);

    // The customer with most orders: the first-order bonus once, points available at once.
    const counts = new Map<number, number>();
    for (const o of expected) counts.set(o.customer, (counts.get(o.customer) ?? 0) + 1);
    const [busiest] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? [0];
    const { rows: who } = await t.node.db.query<{ customer_id: string }>(
      "SELECT customer_id FROM loyalty_orders WHERE order_id = $1",
      [expected.find((o) => o.customer === busiest)?.order.orderId],
    );
    const id = who[0]?.customer_id;
    const { rows: welcome } = await t.node.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM loyalty_awards WHERE customer_id = $1 AND rule_id = 'welcome'",
      [id],
    );
    expect(Number(welcome[0]?.n)).toBe(1);
    const points = (await get(`/v1/customers/${id}/points`)).json();
    expect(points.balance).toBeGreaterThan(0);
    expect(points.pending).toBe(0);
  });

  it("rests none of their personal values in clear, in any table, entry or dump; nor after erasure", async () => {
    const values = seeded();
    await t.node.accessLog.flush();
    await expectNoPersonalData(t, values);
    await expectNoPersonalDataInDump(t, values);
    const first = (await get("/v1/customers?limit=1")).json().customers[0].id as string;
    const erased = await t.node.app.inject({
      method: "POST",
      url: `/v1/customers/${first}/erase`,
      headers: { authorization: `Bearer ${t.ownerKey}` },
    });
    expect(erased.statusCode).toBe(200);
    await expectNoPersonalData(t, values);
    await expectNoPersonalDataInDump(t, values);
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
    // Two scans of every table and dump, an erasure, and an audit and rebuild of a year of
    // demo data: longer than a unit test's 30 s on a busy two-core machine.
  }, 180_000);
});

describe.each(backends)("PATRON_DEMO_DATA=0 ($name)", (backend) => {
  it("leaves out the demo loyalty programme, rules and orders", async () => {
    const t = await testNode(backend, { demoData: false, demoCustomers: COUNT });
    try {
      const get = (url: string) =>
        t.node.app.inject({ url, headers: { authorization: `Bearer ${t.ownerKey}` } });
      expect((await get("/v1/loyalty/programme")).json().programme.pointName).toBe("points");
      expect((await get("/v1/loyalty/rules")).json().rules).toEqual([]);
      expect((await get("/v1/loyalty/rewards")).json().rewards).toEqual([]);
      const { rows } = await t.node.db.query<{ n: string | number }>(
        "SELECT count(*) AS n FROM loyalty_orders",
      );
      expect(Number(rows[0]?.n)).toBe(0);
    } finally {
      await t.close();
    }
  }, 180_000);
});

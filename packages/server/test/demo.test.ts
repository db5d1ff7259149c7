import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoCustomers } from "../src/demo/customers.js";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData, expectNoPersonalDataInDump } from "./personal-data.js";

const COUNT = 60;

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
  });
});

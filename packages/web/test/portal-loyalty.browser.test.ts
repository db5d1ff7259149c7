import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeEntry } from "@patron/ledger";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEntries } from "../../server/src/ledger/store.js";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import {
  axeChecker,
  joinPortal,
  launchBrowser,
  newWatchedPage,
  ownerApi,
  requireChromium,
  startBrowserNode,
} from "./browser-support.js";

// Loyalty in the customer portal as a customer uses it: a real node (PGlite, no chain) serving
// a fresh build of packages/web, driven in Debian's chromium. The merchant publishes a rule and
// records an order through the API; the customer, signed in with a key kept in the browser,
// sees the award recomputed in the page by @patron/rules from the published rule version. Then
// the rules served are tampered with on the way (the browser's own routing, as a proxy would),
// and the node records an award its rule does not give: both are red alerts. Screenshots on a
// desktop and a phone go to test-artifacts/portal/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/portal/", import.meta.url));
requireChromium("portal loyalty");

const COFFEE = {
  name: "Coffee",
  kind: "earn",
  condition: true,
  scope: { categories: ["coffee"] },
  action: { type: "per_amount", points: 10, per: 100 },
};

describe.runIf(haveBrowser)("loyalty in the customer portal, in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let browser: Browser;
  let merchant: { id: string; name: string };
  let page: Page;
  let customerId = "";
  let orderEntry = 0;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const found: string[] = [];

  const api = ownerApi(() => node);
  const publish = async (id: string, document: unknown, effectiveFrom?: string) => {
    const d = await api("/v1/loyalty/rules", { method: "POST", body: { id, document } });
    expect([200, 201], JSON.stringify(d.body)).toContain(d.status);
    const p = await api(`/v1/loyalty/rules/${id}/publish`, {
      method: "POST",
      body: effectiveFrom ? { effectiveFrom } : {},
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
  };
  const entryAt = async (index: number) => {
    const [row] = await listEntries(node.db, BigInt(index), BigInt(index) + 1n);
    const e = decodeEntry((row as { data: Uint8Array }).data);
    return { actor: e.actor, payload: e.payload as Record<string, unknown> };
  };

  const newPage = (name: string) => newWatchedPage(browser, contexts, problems, name);

  /** axe-core against WCAG 2.2 AA, desktop and phone, each screenshotted; no sideways scroll on a phone. */
  const axeCheck = axeChecker(artifacts, { sideways: "phone" });
  const axe = async (name: string) => {
    found.push(...(await axeCheck(page, name)));
  };

  beforeAll(async () => {
    ({ tmp, node } = await startBrowserNode("portal-loyalty", artifacts));
    const me = await api("/v1/merchants/me");
    merchant = { id: me.body.id as string, name: me.body.name as string };
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("joins and signs in with a key kept in the browser; no points yet", async () => {
    page = await newPage("loyalty");
    customerId = await joinPortal(page, node, api, merchant, {
      name: "Ana Lima",
      email: "ana.lima@example.com",
    });
    await page.getByTestId("tab-points").click();
    await page.getByTestId("loyalty-no-lots").waitFor();
    expect(await page.getByTestId("loyalty-balance").textContent()).toContain("0");
    await axe("loyalty-empty");
  });

  it("place an order and see the award recomputed in the portal", async () => {
    // Coffee v1 to v3 now, v4 announced for next month; a 14-day return window.
    expect(
      (await api("/v1/loyalty/programme", { method: "PUT", body: { returnWindowDays: 14 } }))
        .status,
    ).toBe(200);
    await publish("coffee", { ...COFFEE, description: "Our first coffee rule." });
    await publish("coffee", { ...COFFEE, description: "Coffee, second wording." });
    await publish("coffee", COFFEE);
    const nextMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await publish(
      "coffee",
      { ...COFFEE, action: { type: "per_amount", points: 12, per: 100 } },
      nextMonth,
    );
    const o = await api("/v1/orders", {
      method: "POST",
      body: {
        orderId: "C-1",
        customer: { id: customerId },
        amount: 1200,
        currency: "EUR",
        items: [{ sku: "flat-white", category: "coffee", quantity: 3, unitPrice: 400 }],
        channel: "store",
        occurredAt: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    expect(o.status, JSON.stringify(o.body)).toBe(201);
    expect(o.body.points).toBe(120);
    orderEntry = o.body.entryIndex as number;

    // The balance: pending for the return window, one lot with its dates.
    await page.reload();
    await page.getByTestId("loyalty-lot").waitFor();
    expect(await page.getByTestId("loyalty-pending").textContent()).toContain("120");
    expect(await page.getByTestId("loyalty-balance").textContent()).toContain("0");
    expect(await page.getByTestId("loyalty-lot").getAttribute("data-status")).toBe("pending");
    expect(await page.getByTestId("loyalty-lot-expires").textContent()).toBe("Never");
    expect(await page.getByTestId("loyalty-no-tiers").count()).toBe(1);
    await axe("loyalty-overview");

    // By keyboard, to the history: the award recomputed here from the published rule.
    await page.getByTestId("loyalty-nav-history").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/points\/history$/);
    const line = page.getByTestId("award-recomputed");
    await line.waitFor({ timeout: 60_000 });
    expect(await line.textContent()).toContain("Recomputed here: 120 points, rule Coffee v3");
    await page.getByTestId("loyalty-verified").waitFor();
    expect(await page.getByTestId("loyalty-mismatch").count()).toBe(0);
    expect(
      await page
        .getByTestId("loyalty-entry")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))),
    ).toEqual(["points.awarded", "order.recorded"]);
    await axe("loyalty-history");

    // The rules in plain words, and what changes when.
    await page.getByTestId("loyalty-nav-rules").click();
    await page.getByTestId("rules-verified").waitFor();
    expect(await page.getByTestId("rule-words").textContent()).toBe(
      "10 points for every €1.00 spent (rounded down), on orders with items in coffee.",
    );
    expect(await page.getByTestId("rules-upcoming").textContent()).toContain(
      "Coffee v4 takes effect, replacing v3",
    );
    // A sentence the point name starts has its capital.
    expect(await page.getByTestId("programme-terms").textContent()).toContain(
      "Points stay pending for 14 days after an order",
    );
    await axe("loyalty-rules");

    // In Simplified Chinese.
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "现行规则" }).waitFor();
    await axe("loyalty-rules-zh");
    await page.getByTestId("loyalty-nav-history").click();
    await page.getByTestId("award-recomputed").waitFor();
    expect(await page.getByTestId("award-recomputed").textContent()).toContain(
      "已在本浏览器重新计算：120 points，规则 Coffee 第 3 版",
    );
    await axe("loyalty-history-zh");
    await page.getByTestId("language-switch").selectOption("en");
  });

  it("shows the tiers and the progress toward the next, counted from the verified history", async () => {
    const tiers = [
      {
        id: "silver",
        name: "Silver",
        qualification: { metric: "points", threshold: 500, months: 12 },
      },
      {
        id: "gold",
        name: "Gold",
        qualification: { metric: "spend", threshold: 100000, months: 12 },
      },
    ];
    expect((await api("/v1/loyalty/programme", { method: "PUT", body: { tiers } })).status).toBe(
      200,
    );
    await page.goto(`${node.url}/me/m/${merchant.id}/points`);
    await page.getByTestId("loyalty-tier-progress").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("loyalty-tier").textContent()).toBe("You have no tier yet.");
    expect(await page.getByTestId("loyalty-tier-progress").textContent()).toContain(
      "120 points earned in the last 12 months, 380 more for Silver",
    );
    expect(await page.getByText("Gold: €1,000.00 spent over the last 12 months").count()).toBe(1);
    await axe("loyalty-overview-tiers");
  });

  it("recomputes a partial refund's awards over what is left of the order", async () => {
    const r = await api("/v1/orders/C-1/refund", {
      method: "POST",
      body: { lines: [{ sku: "flat-white", quantity: 1 }] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ pointsBefore: 120, pointsAfter: 80, reversed: 40 });
    await page.goto(`${node.url}/me/m/${merchant.id}/points/history`);
    await page.getByTestId("loyalty-verified").waitFor({ timeout: 60_000 });
    expect(
      await page
        .getByTestId("loyalty-entry")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))),
    ).toEqual(["points.reversed", "order.refunded", "points.awarded", "order.recorded"]);
    expect(await page.getByTestId("award-recomputed").allTextContents()).toEqual([
      expect.stringContaining("Recomputed here: 80 points, rule Coffee v3"),
      expect.stringContaining("Recomputed here: 120 points, rule Coffee v3"),
    ]);
    await axe("loyalty-history-refund");
  });

  it("shows a red alert when the published rules served were changed on the way", async () => {
    // A proxy between the node and the browser makes Coffee give 20 points per euro.
    await page.route("**/v1/merchants/*/loyalty/rules", async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { entries: { data: string }[] };
      for (const e of body.entries) {
        const text = Buffer.from(e.data, "base64").toString("utf8");
        e.data = Buffer.from(text.replaceAll('"points":10', '"points":20')).toString("base64");
      }
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${node.url}/me/m/${merchant.id}/points/history`);
    await page.getByTestId("loyalty-mismatch").waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("award-recomputed").count()).toBe(0);
    expect(await page.getByTestId("loyalty-verified").count()).toBe(0);
    expect(await page.getByTestId("rules-problem").first().textContent()).toMatch(
      /is not in the signed checkpoint/,
    );
    await axe("loyalty-history-rules-tampered");
    await page.getByTestId("loyalty-nav-rules").click();
    await page.getByTestId("rules-failed").waitFor();
    expect(await page.getByTestId("rule").count()).toBe(0);
    await page.unroute("**/v1/merchants/*/loyalty/rules");
  });

  it("shows a red alert when the node recorded an award its published rule does not give", async () => {
    // A node that awards more than the rules give: the entries are in the log and on the
    // customer's chain, so the history verifies; the award does not recompute.
    const o = await entryAt(orderEntry);
    const w = await entryAt(orderEntry + 1);
    const awards = (w.payload.awards as { rule: string; points: number }[]).map((a) => ({
      ...a,
      points: a.points + 100,
    }));
    const points = (w.payload.points as number) + 100;
    const parties = [{ customer: customerId }, { merchant: merchant.id }];
    await node.sequencer.execute({
      entries: [
        {
          type: "order.recorded",
          actor: o.actor,
          payload: { ...o.payload, orderId: "C-2" } as never,
          parties,
          sealed: true,
        },
        {
          type: "points.awarded",
          actor: w.actor,
          payload: (ctx) =>
            ({
              ...w.payload,
              orderId: "C-2",
              awards,
              points,
              lot: { ...(w.payload.lot as Record<string, unknown>), points },
              order: Number(ctx.index) - 1,
            }) as never,
          parties,
          sealed: true,
        },
      ],
    });
    await page.goto(`${node.url}/me/m/${merchant.id}/points/history`);
    await page.getByTestId("loyalty-mismatch").waitFor({ timeout: 60_000 });
    const bad = page.getByTestId("award-mismatch");
    expect(await bad.textContent()).toContain(
      "Does not match: the award records 220 points, rule Coffee v3 gives 120",
    );
    // The honest awards still recompute; nothing says all match.
    expect(await page.getByTestId("award-recomputed").count()).toBe(2);
    expect(await page.getByTestId("loyalty-verified").count()).toBe(0);
    expect(await page.getByTestId("loyalty-mismatch").getAttribute("role")).toBe("alert");
    await axe("loyalty-history-award-forged");
  });

  it("left no accessibility violations, page errors or CSP reports behind", () => {
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});

import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import {
  axeChecker,
  countWrites,
  describedError,
  fillSignIn,
  launchConsole,
  ownerApi,
  requireChromium,
  signInStaff,
  startBrowserNode,
} from "./browser-support.js";

// The console's loyalty screens (issue 9) as a merchant uses them: the programme saved, a rule
// written in a form, refused by the node with the paths of its faults when written as JSON,
// simulated over past orders against the rules in force, then published now and its next
// version at a later time; the members with their balances and the liability by expiry month.
// A real node (PGlite, no chain) serving a fresh build of packages/web, driven in Debian's
// chromium; each result is read back from the node's API too. Screenshots, on a desktop and on
// a phone, go to test-artifacts/console/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));
requireChromium("console loyalty");

const DAY = 86_400_000;
/** `datetime-local` text of an instant, in the browser's (and this process's) time zone. */
const local = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

describe.runIf(haveBrowser)("console loyalty screens in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  let login: { email: string; password: string };
  let zoe: string;
  let hugo: string;
  let later: number;
  const problems: string[] = [];
  const dialogs: string[] = [];

  const shot = (name: string) =>
    page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const api = ownerApi(() => node);
  /** Entries the page's actions write (batched access records are not counted). */
  const ledgerSize = () => countWrites(node);
  const fieldError = (field: Locator) => describedError(page, field);
  /** axe-core against WCAG 2.2 AA on a desktop and a phone, each kept as page-<name>-<size>.png. */
  const axeCheck = axeChecker(artifacts, { shotPrefix: "page-" });
  const axeNow = (name: string, on: Page = page) => axeCheck(on, name);
  const newCustomer = async (body: Record<string, unknown>) => {
    const r = await api("/v1/customers", { method: "POST", body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const order = async (
    orderId: string,
    customer: string,
    items: { sku: string; category: string; quantity: number; unitPrice: number }[],
  ) => {
    const r = await api("/v1/orders", {
      method: "POST",
      body: {
        orderId,
        customer: { id: customer },
        amount: items.reduce((s, i) => s + i.quantity * i.unitPrice, 0),
        currency: "EUR",
        items,
        channel: "store",
        occurredAt: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as {
      points: number;
      awards: { rule: string; version: number; points: number }[];
    };
  };
  const editor = () => page.getByTestId("rule-editor");

  beforeAll(async () => {
    ({ tmp, node, login } = await startBrowserNode("console-loyalty", artifacts, {
      PATRON_ACCESS_BATCH_MS: "300",
    }));
    zoe = await newCustomer({ name: "Zoë Martin", emails: ["zoe.martin@cafe.fr"] });
    hugo = await newCustomer({ name: "Hugo Laurent", emails: ["hugo.laurent@cafe.fr"] });
    // The rule in force: 1 point per 1.00; two past orders earn by it.
    const draft = await api("/v1/loyalty/rules", {
      method: "POST",
      body: {
        id: "base",
        document: {
          name: "1 point per 1.00",
          kind: "earn",
          condition: true,
          action: { type: "per_amount", points: 1, per: 100 },
        },
      },
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    expect((await api("/v1/loyalty/rules/base/publish", { method: "POST" })).status).toBe(201);
    expect(
      (
        await order("T-1001", zoe, [
          { sku: "esp", category: "coffee", quantity: 2, unitPrice: 6000 },
        ])
      ).points,
    ).toBe(120);
    expect(
      (await order("T-1002", hugo, [{ sku: "tea", category: "tea", quantity: 1, unitPrice: 4550 }]))
        .points,
    ).toBe(45);
    ({ context, page } = await launchConsole(tmp, problems, dialogs));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 90_000);

  it("signs in from a link to the programme, which the navigation offers", async () => {
    await page.goto(`${node.url}/console/loyalty/programme`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await fillSignIn(page, login);
    await page.waitForURL(/\/console\/loyalty\/programme$/);
    await page.getByRole("heading", { name: "Loyalty programme", level: 1 }).waitFor();
    const nav = page.getByRole("navigation", { name: "Console" });
    expect(await nav.getByRole("link", { name: "Loyalty" }).getAttribute("aria-current")).toBe(
      "page",
    );
    const sub = page.getByRole("navigation", { name: "Loyalty" });
    expect(await sub.getByRole("link", { name: "Programme" }).getAttribute("aria-current")).toBe(
      "page",
    );
    for (const name of ["Rules", "Members", "Liability"]) {
      await sub.getByRole("link", { name }).waitFor();
    }
  }, 90_000);

  it("saves the programme: refusals beside the fields, then one programme.set entry", async () => {
    // A transfer limit set through the API, which the form does not show, must survive a save.
    const limits = {
      allowed: true,
      receivedAvailability: "immediate",
      maxPoints: 300,
      dailyMaxCount: 5,
    };
    expect(
      (await api("/v1/loyalty/programme", { method: "PUT", body: { transfers: limits } })).status,
    ).toBe(200);
    await page.reload();
    const form = page.getByTestId("programme-form");
    await form.getByTestId("programme-point-name").waitFor();
    expect(await form.getByTestId("programme-point-name").inputValue()).toBe("points");
    expect(await form.getByTestId("programme-point-value").inputValue()).toBe("0.01");
    // The adjustments' approval threshold the programme has not set: the node's default.
    const threshold = form.getByTestId("programme-approval-threshold");
    expect(await threshold.inputValue()).toBe("1000");
    const before = await ledgerSize();
    // Caught before anything is sent.
    await form.getByTestId("programme-currency").fill("EU");
    await form.getByTestId("programme-point-value").fill("0.00001");
    await threshold.fill("1.5");
    await form.getByTestId("programme-save").click();
    await expect
      .poll(() => fieldError(form.getByTestId("programme-currency")))
      .toBe("A three-letter ISO 4217 code such as EUR or CNY.");
    expect(await fieldError(form.getByTestId("programme-point-value"))).toContain("0.01");
    expect(await fieldError(threshold)).toBe("A whole number of points from 0 to 1,000,000,000.");
    // The node refuses a time zone it does not know, beside the field.
    await form.getByTestId("programme-currency").fill("EUR");
    await form.getByTestId("programme-point-value").fill("0.02");
    await threshold.fill("2500");
    await form.getByTestId("programme-time-zone").fill("Mars/Olympus");
    await form.getByTestId("programme-save").click();
    // Doubling the point value is confirmed first, with the old and new worth of 100 points.
    await form.getByTestId("programme-value-confirm").waitFor();
    expect(await form.getByTestId("programme-value-confirm").textContent()).toContain(
      "100 points would be worth €2.00 instead of €1.00. A change of +100 %.",
    );
    expect(await ledgerSize()).toBe(before);
    await form.getByTestId("programme-value-confirm-save").click();
    await expect
      .poll(() => fieldError(form.getByTestId("programme-time-zone")))
      .toContain("IANA time zone");
    expect(await ledgerSize()).toBe(before);
    // A tier, with an id error first.
    await form.getByTestId("programme-time-zone").fill("Europe/Paris");
    await form.getByTestId("programme-point-name").fill("stars");
    await form.getByTestId("programme-return-window").fill("0");
    await form.getByTestId("tier-add").click();
    const tier = form.getByTestId("tier-row").first();
    await tier.getByTestId("tier-name").fill("Silver");
    await tier.getByTestId("tier-id").fill("Silver!");
    await tier.getByTestId("tier-threshold").fill("500");
    await tier.getByTestId("tier-months").fill("12");
    await form.getByTestId("programme-save").click();
    await expect.poll(() => fieldError(tier.getByTestId("tier-id"))).toContain("Lower-case");
    await tier.getByTestId("tier-id").fill("silver");
    await form.getByTestId("tier-add").click();
    const gold = form.getByTestId("tier-row").nth(1);
    await gold.getByTestId("tier-name").fill("Gold");
    await gold.getByTestId("tier-id").fill("gold");
    await gold.getByTestId("tier-metric").selectOption("spend");
    await gold.getByTestId("tier-threshold").fill("1000.50");
    await gold.getByTestId("tier-months").fill("12");
    await form.getByTestId("programme-save").click();
    await form.getByTestId("programme-value-confirm-save").click();
    await expect
      .poll(() => form.getByTestId("programme-saved").textContent())
      .toMatch(/^Saved: entry #\d+\.$/);
    expect(await ledgerSize()).toBe(before + 1);
    const p = (await api("/v1/loyalty/programme")).body;
    expect(p.programme).toMatchObject({
      pointName: "stars",
      valuePer100Points: 200,
      currency: "EUR",
      timeZone: "Europe/Paris",
      tiers: [
        {
          id: "silver",
          name: "Silver",
          qualification: { metric: "points", threshold: 500, months: 12 },
        },
        {
          id: "gold",
          name: "Gold",
          qualification: { metric: "spend", threshold: 100050, months: 12 },
        },
      ],
      expiry: { policy: "none" },
      transfers: limits,
      adjustments: { approvalThreshold: 2500 },
    });
    // Removing a tier and saving again is one more entry; saving unchanged writes none.
    await form.getByRole("button", { name: "Remove tier Gold" }).click();
    await form.getByTestId("programme-save").click();
    await expect
      .poll(async () => (await api("/v1/loyalty/programme")).body.programme)
      .toMatchObject({ tiers: [{ id: "silver" }] });
    expect(await ledgerSize()).toBe(before + 2);
    await form.getByTestId("programme-save").click();
    await expect
      .poll(() => form.getByTestId("programme-saved").textContent())
      .toBe("Nothing changed: no entry written.");
    expect(await ledgerSize()).toBe(before + 2);
    await shot("loyalty-programme");
    expect(await axeNow("loyalty-programme")).toEqual([]);
  }, 90_000);

  it("lists the rule in force, and shows the node's faults of a rule with their paths", async () => {
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Rules" })
      .click();
    const base = page.locator('tr[data-rule="base"]');
    await base.waitFor();
    expect(await base.textContent()).toContain("In force");
    expect(await base.textContent()).toContain("v1");
    await page.getByTestId("rule-new").click();
    await page.getByRole("heading", { name: "New rule", level: 1 }).waitFor();
    await editor().getByTestId("rule-id").fill("coffee");
    await editor().getByTestId("rule-template").selectOption("category_bonus");
    await editor().getByTestId("rule-field-name").fill("Coffee: 2 more stars per 1.00");
    await editor().getByTestId("rule-field-categories").fill("coffee");
    await editor().getByTestId("rule-field-points").fill("2");
    await editor().getByTestId("rule-field-per").fill("1");
    // As JSON, the form's document; broken by hand, the node names each fault by its path.
    await editor().getByTestId("rule-mode-json").click();
    const json = editor().getByTestId("rule-json");
    const good = JSON.parse(await json.inputValue());
    expect(good).toEqual({
      name: "Coffee: 2 more stars per 1.00",
      kind: "earn",
      condition: true,
      action: { type: "per_amount", points: 2, per: 100 },
      scope: { categories: ["coffee"] },
    });
    await json.fill(
      JSON.stringify({
        ...good,
        condition: { regex: [{ var: "order.channel" }, "^web"] },
        action: { ...good.action, points: 1.5 },
      }),
    );
    const before = await ledgerSize();
    await editor().getByTestId("rule-save").click();
    const faults = page.getByTestId("rule-problem");
    await faults.first().waitFor();
    const listed = await faults.allTextContents();
    expect(listed.join("\n")).toMatch(/^condition\.regex unsupported operator "regex"$/m);
    expect(listed.join("\n")).toMatch(/^action\.points 1\.5 is not an integer$/m);
    expect(await json.getAttribute("aria-invalid")).toBe("true");
    expect(await ledgerSize()).toBe(before);
    expect((await api("/v1/loyalty/rules/coffee")).status).toBe(404);
    await shot("loyalty-rule-faults");
    // The same faults as the simulation finds them: nothing is run.
    await page.getByTestId("simulate-run").click();
    await expect.poll(async () => (await faults.allTextContents()).length).toBe(4);
    // This document fits no form.
    await editor().getByTestId("rule-mode-form").click();
    expect(await page.getByTestId("rule-mode-note").textContent()).toBe(
      "This rule does not fit a form: edit it as JSON.",
    );
    // The good one does, and is saved from the form as the rule's draft.
    await json.fill(JSON.stringify(good, null, 2));
    await editor().getByTestId("rule-mode-form").click();
    expect(await editor().getByTestId("rule-template").inputValue()).toBe("category_bonus");
    expect(await editor().getByTestId("rule-field-categories").inputValue()).toBe("coffee");
    await editor().getByTestId("rule-save").click();
    await page.waitForURL(/\/console\/loyalty\/rules\/coffee$/);
    await page.getByRole("heading", { name: "Coffee: 2 more stars per 1.00", level: 1 }).waitFor();
    // A draft is not on the ledger.
    expect(await ledgerSize()).toBe(before);
    expect((await api("/v1/loyalty/rules/coffee")).body).toMatchObject({
      status: "draft",
      draft: { version: 1, document: good },
    });
  }, 90_000);

  it("simulates the rule over past orders beside the rules in force, then publishes it", async () => {
    const sim = page.getByTestId("simulation");
    await sim.getByTestId("simulate-from").fill(local(Date.now() - 7 * DAY));
    await sim.getByTestId("simulate-run").click();
    const report = sim.getByTestId("simulation-report");
    await report.waitFor();
    // Zoë's 120.00 of coffee earns 240 more stars, worth 4.80 at 0.02 a star; Hugo's tea none.
    const cells = async (row: string) =>
      (await report.getByTestId(row).locator("td").allTextContents()).map((s) => s.trim());
    expect(await cells("simulate-points")).toEqual(["405", "165", "+240"]);
    expect(await cells("simulate-cost")).toEqual(["€8.10", "€3.30", "+€4.80"]);
    expect(await cells("simulate-customers")).toEqual(["2", "2", "1 customer's total changes"]);
    expect(await report.textContent()).toContain("2 orders of 2 customers");
    const byRule = report.getByTestId("simulate-rules");
    expect(await byRule.locator('tr[data-rule="coffee"] td').allTextContents()).toEqual([
      "coffee",
      "240",
      "1",
      "0",
    ]);
    await shot("loyalty-simulation");
    expect(await axeNow("loyalty-rule-simulated")).toEqual([]);
    // Publish now: one public rule.published entry; the next coffee order earns by it.
    const before = await ledgerSize();
    const publish = page.getByTestId("publish-form");
    expect(await publish.getByTestId("publish-submit").textContent()).toContain("Publish v1");
    await publish.getByTestId("publish-submit").click();
    await expect
      .poll(() => page.getByTestId("publish-done").textContent())
      .toMatch(/^Published v1 \(entry #\d+\), in force from/);
    expect(await ledgerSize()).toBe(before + 1);
    const rule = (await api("/v1/loyalty/rules/coffee")).body;
    expect(rule).toMatchObject({ status: "active", draft: null, current: { version: 1 } });
    await page.getByTestId("history-row").first().waitFor();
    const placed = await order("T-1003", zoe, [
      { sku: "lat", category: "coffee", quantity: 1, unitPrice: 450 },
    ]);
    expect(placed.awards).toEqual([
      { rule: "base", version: 1, points: 4 },
      { rule: "coffee", version: 1, points: 9 },
    ]);
  }, 90_000);

  it("publishes the rule's next version at a later time: scheduled, the current one in force until then", async () => {
    await page.reload();
    await editor().getByTestId("rule-field-points").fill("3");
    await editor().getByTestId("rule-field-name").fill("Coffee: 3 more stars per 1.00");
    // Unsaved changes keep the draft from being published.
    await editor().getByTestId("rule-save").click();
    await page.getByTestId("publish-form").waitFor();
    expect(await page.getByTestId("publish-form").textContent()).toContain("version 2");
    await editor().getByTestId("rule-field-points").fill("4");
    await page.getByTestId("publish-unsaved").waitFor();
    expect(await page.getByTestId("publish-submit").isDisabled()).toBe(true);
    await editor().getByTestId("rule-field-points").fill("3");
    await page.getByTestId("publish-unsaved").waitFor({ state: "detached" });
    // A time in the past is caught; a later one is published as scheduled.
    await page.getByTestId("publish-later").check();
    await page.getByTestId("publish-at").fill(local(Date.now() - DAY));
    await page.getByTestId("publish-submit").click();
    expect(await page.getByTestId("publish-error").textContent()).toBe(
      "Choose a time in the future.",
    );
    later = Date.now() + 2 * DAY;
    later -= later % 60_000;
    await page.getByTestId("publish-at").fill(local(later));
    await page.getByTestId("publish-submit").click();
    await page.getByTestId("publish-done").waitFor();
    const rule = (await api("/v1/loyalty/rules/coffee")).body as {
      status: string;
      current: { version: number };
      history: { version: number; effectiveFrom: string; effectiveUntil: string | null }[];
    };
    expect(rule.status).toBe("active");
    expect(rule.current.version).toBe(1);
    expect(rule.history.map((h) => [h.version, Date.parse(h.effectiveFrom) === later])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(Date.parse(rule.history[0]?.effectiveUntil ?? "")).toBe(later);
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Rules" })
      .click();
    const row = page.locator('tr[data-rule="coffee"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("v1");
    expect(await row.textContent()).not.toContain("Until further notice");
    expect(await row.getByTestId("rule-next").textContent()).toBe(" then v2");
    await shot("loyalty-rules");
    expect(await axeNow("loyalty-rules")).toEqual([]);
  }, 90_000);

  it("retires a rule from the list: one rule.retired entry, Retired there and on its page", async () => {
    const before = await ledgerSize();
    const row = page.locator('tr[data-rule="base"]');
    await row.getByRole("button", { name: "Retire now: 1 point per 1.00" }).click();
    await expect.poll(async () => (await row.textContent()) ?? "").toContain("Retired");
    expect(await row.getByTestId("rule-retire").count()).toBe(0);
    expect(dialogs).toEqual(["Retire base? It no longer applies to orders from now on."]);
    expect(await ledgerSize()).toBe(before + 1);
    expect((await api("/v1/loyalty/rules/base")).body).toMatchObject({ status: "retired" });
    // Orders from now on earn by coffee alone.
    const placed = await order("T-1004", hugo, [
      { sku: "lat", category: "coffee", quantity: 1, unitPrice: 1000 },
    ]);
    expect(placed.awards).toEqual([{ rule: "coffee", version: 1, points: 20 }]);
    // Its page: the editor starts from its last publication, read from the ledger, in its form.
    await row.getByTestId("rule-link").click();
    // Retired, it keeps the name of its last publication.
    await page.getByRole("heading", { name: "1 point per 1.00", level: 1 }).waitFor();
    expect(await editor().getByTestId("rule-template").inputValue()).toBe("per_amount");
    expect(await editor().getByTestId("rule-field-name").inputValue()).toBe("1 point per 1.00");
    expect(await editor().getByTestId("rule-field-per").inputValue()).toBe("1");
    expect(await page.getByTestId("publish-form").count()).toBe(0);
    expect(await page.getByTestId("rule-retire").count()).toBe(0);
    const history = page.getByTestId("history-row");
    await history.nth(1).waitFor();
    expect(await history.nth(1).textContent()).toContain("Retired");
  }, 90_000);

  it("lists a scheduled rule by its name, and a rule's own validity apart from its retirement", async () => {
    const validUntil = "2027-03-08T12:00:00.000Z";
    const draft = await api("/v1/loyalty/rules", {
      method: "POST",
      body: {
        id: "xmas",
        document: {
          name: "Christmas bonus",
          kind: "earn",
          condition: true,
          action: { type: "fixed", points: 10 },
          validUntil,
        },
      },
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const from = new Date(Date.now() + 7 * DAY).toISOString();
    const published = await api("/v1/loyalty/rules/xmas/publish", {
      method: "POST",
      body: { effectiveFrom: from },
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    // Published through the API: the list is read afresh.
    await page.goto(`${node.url}/console/loyalty/rules`);
    const row = page.locator('tr[data-rule="xmas"]');
    await row.waitFor();
    expect(await row.getByTestId("rule-link").textContent()).toBe("Christmas bonus");
    expect(await row.textContent()).toContain("Scheduled");
    const until = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });
    expect(await row.getByTestId("rule-validity").textContent()).toBe(
      `Until ${until.format(new Date(validUntil))}`,
    );
    await row.getByTestId("rule-link").click();
    await page.getByRole("heading", { name: "Christmas bonus", level: 1 }).waitFor();
    const version = page.getByTestId("history-row").first();
    expect(await version.getByTestId("rule-validity").textContent()).toBe(
      `Until ${until.format(new Date(validUntil))}`,
    );
    // At 1366 px the retire button sits below the versions, over none of their labels.
    await page.setViewportSize({ width: 1366, height: 900 });
    const table = await page.getByTestId("rule-history").boundingBox();
    const retire = await page.getByTestId("rule-retire").boundingBox();
    expect(table && retire && retire.y >= table.y + table.height).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(await axeNow("loyalty-rule-scheduled")).toEqual([]);
    expect((await api("/v1/loyalty/rules/xmas/retire", { method: "POST" })).status).toBe(201);
  }, 90_000);

  it("lists the members with their balances, as each customer's points say", async () => {
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Members" })
      .click();
    const rows = page.getByTestId("member-row");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    // Hugo was awarded last: first.
    expect(await rows.first().getAttribute("data-customer")).toBe(hugo);
    const cells = async (r: Locator) =>
      (await r.locator("td").allTextContents()).map((s) => s.trim());
    const [hugoRow, zoeRow] = [await cells(rows.first()), await cells(rows.nth(1))];
    expect(zoeRow.slice(0, 5)).toEqual(["Zoë Martin", "133", "0", "0", "2"]);
    expect(hugoRow.slice(0, 5)).toEqual(["Hugo Laurent", "65", "0", "0", "2"]);
    for (const [id, r] of [
      [zoe, zoeRow],
      [hugo, hugoRow],
    ] as const) {
      const points = (await api(`/v1/customers/${id}/points`)).body;
      expect(String(points.balance)).toBe(r[1]);
    }
    await rows.nth(1).getByRole("link", { name: "Zoë Martin" }).waitFor();
    await shot("loyalty-members");
    expect(await axeNow("loyalty-members")).toEqual([]);
  }, 90_000);

  it("shows a member's points on their 360, and their loyalty entries in words on the timeline", async () => {
    await page.getByTestId("member-row").nth(1).getByRole("link", { name: "Zoë Martin" }).click();
    const card = page.getByTestId("customer-loyalty");
    await card.waitFor();
    const points = (await api(`/v1/customers/${zoe}/points`)).body as {
      balance: number;
      pending: number;
      tier: string | null;
    };
    expect(await card.getByTestId("customer-points-balance").textContent()).toBe(
      `${points.balance} stars`,
    );
    expect(await card.getByTestId("customer-points-pending").textContent()).toBe(
      `${points.pending} stars`,
    );
    expect(await card.getByTestId("customer-points-held").textContent()).toBe("0 stars");
    expect(await card.getByTestId("customer-points-debt").textContent()).toBe("0 stars");
    expect(await card.getByTestId("customer-points-tier").textContent()).toBe(
      points.tier === null ? "No tier" : "Silver",
    );
    expect(await card.getByTestId("customer-points-adjust").getAttribute("href")).toBe(
      `/console/loyalty/adjustments?customer=${zoe}`,
    );
    const timeline = page.getByTestId("timeline");
    const order = timeline.locator('li[data-type="order.recorded"]').last();
    await order.waitFor();
    expect(await order.locator("strong").textContent()).toBe("Order T-1001 recorded: €120.00");
    const awarded = timeline.locator('li[data-type="points.awarded"]').last();
    expect(await awarded.locator("strong").textContent()).toBe("Earned 120 stars on order T-1001");
    expect(await awarded.getByTestId("timeline-loyalty-detail").textContent()).toBe(
      "By rule base v1",
    );
    await shot("customer-loyalty");
    expect(await axeNow("customer-loyalty")).toEqual([]);
    // Back to the members, where the next test's loyalty navigation is.
    await page.goBack();
    await page.getByTestId("member-table").waitFor();
  }, 90_000);

  it("shows the liability: the outstanding stars at their value, lots without expiry their own row", async () => {
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Liability" })
      .click();
    await page.getByTestId("liability-table").waitFor();
    expect(await page.getByTestId("liability-points").textContent()).toBe("198");
    expect(await page.getByTestId("liability-value").textContent()).toBe("€3.96");
    const rows = page.getByTestId("liability-row");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-month")).toBe("never");
    expect((await rows.first().textContent())?.startsWith("No expiry")).toBe(true);
    expect(await page.getByTestId("liability-debt").textContent()).toBe(
      "0 points (€0.00), 0 customers",
    );
    const l = (await api("/v1/loyalty/liability")).body;
    expect(l).toMatchObject({ total: { points: 198, value: 396, lots: 4, customers: 2 } });
    await shot("loyalty-liability");
    expect(await axeNow("loyalty-liability")).toEqual([]);
  }, 90_000);

  it("switches the loyalty pages to Chinese, with no axe violation there either", async () => {
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "积分负债", level: 1 }).waitFor();
    const found = await axeNow("loyalty-liability-zh");
    await page
      .getByRole("navigation", { name: "会员积分" })
      .getByRole("link", { name: "规则" })
      .click();
    await page.locator('tr[data-rule="coffee"]').waitFor();
    await page.locator('tr[data-rule="coffee"]').getByTestId("rule-link").click();
    await page.getByTestId("rule-editor").waitFor();
    found.push(...(await axeNow("loyalty-rule-zh")));
    await page.goto(`${node.url}/console/loyalty/programme`);
    await page.getByTestId("programme-form").waitFor();
    found.push(...(await axeNow("loyalty-programme-zh")));
    // A member's 360: their points and loyalty entries in Chinese.
    await page.goto(`${node.url}/console/customers/${zoe}`);
    await page.getByTestId("customer-loyalty").waitFor();
    const awarded = page.locator('li[data-type="points.awarded"]').last();
    await awarded.waitFor();
    expect(await awarded.locator("strong").textContent()).toBe("订单 T-1001 获得 120 stars");
    found.push(...(await axeNow("customer-loyalty-zh")));
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Timeline", level: 2 }).waitFor();
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
    expect(dialogs).toHaveLength(1);
  });

  describe("as a staff member", () => {
    let browser: Browser;
    let staff: Page;

    beforeAll(async () => {
      ({ browser, page: staff } = await signInStaff(
        node,
        api,
        { email: "barista@cafe.fr", role: "staff", password: "a barista's long secret" },
        problems,
      ));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it("reads the programme without a control to change it", async () => {
      await staff.goto(`${node.url}/console/loyalty/programme`);
      const form = staff.getByTestId("programme-form");
      await form.waitFor();
      expect(await form.getByTestId("programme-point-name").inputValue()).toBe("stars");
      expect(await form.getByTestId("programme-point-name").isDisabled()).toBe(true);
      for (const id of ["programme-save", "tier-add", "tier-remove"]) {
        expect(await staff.getByTestId(id).count(), id).toBe(0);
      }
      await staff.getByText("Owners and admins change the programme.").waitFor();
      expect(await axeNow("loyalty-programme-staff", staff)).toEqual([]);
    }, 90_000);

    it("drafts a rule and simulates it, but does not publish; the node refuses what is not offered", async () => {
      await staff.goto(`${node.url}/console/loyalty/rules/coffee`);
      const edit = staff.getByTestId("rule-editor");
      await edit.getByTestId("rule-field-points").fill("5");
      await edit.getByTestId("rule-save").click();
      await expect
        .poll(
          async () =>
            ((await api("/v1/loyalty/rules/coffee")).body.draft as { version?: number } | null)
              ?.version,
        )
        .toBe(3);
      await staff.getByTestId("simulate-run").click();
      await staff.getByTestId("simulation-report").waitFor();
      await staff.getByTestId("publish-admins-only").waitFor();
      expect(await staff.getByTestId("publish-submit").count()).toBe(0);
      expect(await staff.getByTestId("rule-retire").count()).toBe(0);
      await staff.getByTestId("rule-drop-draft").waitFor();
      const refused = await staff.evaluate(async () => {
        const me = await (await fetch("/v1/staff/me")).json();
        const send = async (method: string, path: string, body: unknown) => {
          const res = await fetch(path, {
            method,
            headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
            body: JSON.stringify(body),
          });
          return `${res.status} ${(await res.json()).error?.code}`;
        };
        return [
          await send("POST", "/v1/loyalty/rules/coffee/publish", {}),
          await send("POST", "/v1/loyalty/rules/coffee/retire", {}),
          await send("PUT", "/v1/loyalty/programme", { pointName: "beans" }),
        ];
      });
      expect(refused).toEqual(Array(3).fill("403 forbidden"));
      expect(await axeNow("loyalty-rule-staff", staff)).toEqual([]);
      expect(problems).toEqual([]);
    }, 90_000);
  });
});

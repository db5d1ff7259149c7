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

// The console's loyalty operations (issue 9): the catalogue of rewards (created, refused beside
// a field, changed, withdrawn), a customer's hold made at the API and captured at the console's
// till by its one-time code (the stock goes down; the refusals read in words), and an adjustment
// above the approval threshold asked by a staff member and approved by the owner, whose own
// request waits for a colleague. A real node (PGlite, no chain) serving a fresh build of
// packages/web, driven in Debian's chromium; results are read back from the node's API.
// Screenshots, on a desktop and on a phone, go to test-artifacts/console/.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));
requireChromium("console loyalty operations");

describe.runIf(haveBrowser)("console loyalty catalogue, adjustments and till in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  let login: { email: string; password: string };
  let zoe: string;
  const problems: string[] = [];

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
  const rewardRow = (name: string) =>
    page.getByTestId("reward-row").filter({ has: page.getByText(name, { exact: true }) });
  const hold = async (body: Record<string, unknown>) => {
    const r = await api("/v1/redemptions", { method: "POST", body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; code: string; points: number; status: string };
  };
  const balance = async (customer: string) =>
    (await api(`/v1/customers/${customer}/points`)).body.balance as number;

  beforeAll(async () => {
    ({ tmp, node, login } = await startBrowserNode("console-loyalty-ops", artifacts, {
      PATRON_ACCESS_BATCH_MS: "300",
    }));
    zoe = await newCustomer({ name: "Zoë Martin", emails: ["zoe.martin@cafe.fr"] });
    // 1 point per 1.00; two orders give Zoë 600 points, available at once.
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
    for (const [id, price] of [
      ["T-2001", 25000],
      ["T-2002", 35000],
    ] as const) {
      const r = await api("/v1/orders", {
        method: "POST",
        body: {
          orderId: id,
          customer: { id: zoe },
          amount: price,
          currency: "EUR",
          items: [{ sku: "beans", category: "coffee", quantity: 1, unitPrice: price }],
          channel: "store",
          occurredAt: new Date(Date.now() - 60_000).toISOString(),
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    expect(await balance(zoe)).toBe(600);
    ({ context, page } = await launchConsole(tmp, problems));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 90_000);

  it("signs in to the catalogue, which the loyalty navigation offers with the till and adjustments", async () => {
    await page.goto(`${node.url}/console/loyalty/catalogue`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await fillSignIn(page, login);
    await page.waitForURL(/\/console\/loyalty\/catalogue$/);
    await page.getByRole("heading", { name: "Catalogue", level: 1 }).waitFor();
    const sub = page.getByRole("navigation", { name: "Loyalty" });
    expect(await sub.getByRole("link", { name: "Catalogue" }).getAttribute("aria-current")).toBe(
      "page",
    );
    for (const name of ["Programme", "Rules", "Members", "Liability", "Adjustments", "Till"]) {
      await sub.getByRole("link", { name }).waitFor();
    }
    await page.getByTestId("rewards-empty").waitFor();
  }, 90_000);

  it("creates rewards: faults beside their fields, the node's too; changes one and withdraws another", async () => {
    const form = page.getByTestId("reward-form").and(page.locator('[data-reward="new"]'));
    const before = await ledgerSize();
    await form.getByTestId("reward-name").fill("Free espresso");
    await form.getByTestId("reward-points").fill("0");
    await form.getByTestId("reward-save").click();
    await expect
      .poll(() => fieldError(form.getByTestId("reward-points")))
      .toBe("A whole number, 1 or more.");
    // More stock than the node takes: refused beside the field, nothing written.
    await form.getByTestId("reward-points").fill("100");
    await form.getByTestId("reward-stock").fill("5000000000");
    await form.getByTestId("reward-save").click();
    await expect.poll(() => fieldError(form.getByTestId("reward-stock"))).not.toBe("");
    expect(await ledgerSize()).toBe(before);
    await shot("loyalty-catalogue-refused");
    await form.getByTestId("reward-stock").fill("5");
    await form.getByTestId("reward-limit").fill("2");
    await form.getByTestId("reward-stock").press("Enter");
    await rewardRow("Free espresso").waitFor();
    await expect
      .poll(() => page.getByTestId("catalogue-message").textContent())
      .toBe("Free espresso added to the catalogue.");
    await form.getByTestId("reward-name").fill("Mug");
    await form.getByTestId("reward-points").fill("400");
    await form.getByTestId("reward-save").click();
    await rewardRow("Mug").waitFor();
    // Change the espresso's stock: version 2.
    await rewardRow("Free espresso").getByTestId("reward-edit").click();
    const edit = page.locator('[data-testid="reward-form"]:not([data-reward="new"])');
    expect(await edit.getByTestId("reward-stock").inputValue()).toBe("5");
    await edit.getByTestId("reward-stock").fill("3");
    await edit.getByTestId("reward-save").click();
    await expect
      .poll(() => page.getByTestId("catalogue-message").textContent())
      .toBe("Free espresso saved as version 2.");
    await expect
      .poll(() => rewardRow("Free espresso").getByTestId("reward-stock-left").textContent())
      .toBe("3");
    // Withdraw the mug.
    await rewardRow("Mug").getByTestId("reward-deactivate").click();
    await expect.poll(() => rewardRow("Mug").textContent()).toContain("Withdrawn");
    const rewards = (await api("/v1/loyalty/rewards")).body.rewards as Record<string, unknown>[];
    expect(
      rewards.map((r) => [r.name, r.points, r.stock, r.perCustomerLimit, r.active, r.version]),
    ).toEqual([
      ["Free espresso", 100, 3, 2, true, 2],
      ["Mug", 400, null, null, false, 2],
    ]);
    await shot("loyalty-catalogue");
    expect(await axeNow("loyalty-catalogue")).toEqual([]);
  }, 90_000);

  it("captures a reward's hold at the till by its code, and the stock goes down", async () => {
    const rewards = (await api("/v1/loyalty/rewards")).body.rewards as {
      id: string;
      name: string;
    }[];
    const espresso = rewards.find((r) => r.name === "Free espresso")?.id as string;
    const held = await hold({ customerId: zoe, rewardId: espresso });
    expect(held).toMatchObject({ points: 100, status: "held" });
    expect((await api(`/v1/loyalty/rewards/${espresso}`)).body.stock).toBe(2);
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Till" })
      .click();
    await page.getByRole("heading", { name: "Till", level: 1 }).waitFor();
    // Too short, caught before asking; then typed as staff do, lower case without the dash.
    await page.getByTestId("till-code").fill("K7QX");
    await page.getByTestId("till-code").press("Enter");
    await expect
      .poll(() => page.getByTestId("till-refusal").textContent())
      .toContain("8 letters and digits");
    await page.getByTestId("till-code").fill(held.code.replace("-", "").toLowerCase());
    await page.getByTestId("till-code").press("Enter");
    await page.getByTestId("till-hold").waitFor();
    expect(await page.getByTestId("till-hold").getByRole("heading").textContent()).toBe(
      "Reward: Free espresso",
    );
    expect(await page.getByTestId("till-points").textContent()).toBe("100");
    expect(await page.getByTestId("till-value").textContent()).toBe("€1.00");
    expect(await page.getByTestId("till-status").getAttribute("data-status")).toBe("held");
    expect(await page.getByTestId("till-refusal").count()).toBe(0);
    expect(await axeNow("loyalty-till-held")).toEqual([]);
    await page.getByTestId("till-reference").fill("T-4411");
    await page.getByTestId("till-capture").click();
    await expect
      .poll(() => page.getByTestId("till-done").textContent())
      .toMatch(/^Captured: 100 points spent \(entry #\d+\)\.$/);
    expect(await page.getByTestId("till-status").getAttribute("data-status")).toBe("captured");
    const after = (await api(`/v1/redemptions/${held.id}`)).body;
    expect(after).toMatchObject({ status: "captured", reference: "T-4411" });
    expect(await balance(zoe)).toBe(500);
    expect((await api(`/v1/loyalty/rewards/${espresso}`)).body.stock).toBe(2);
    await shot("loyalty-till-captured");
    // The code is single use: looked up again, it is shown captured, without the buttons.
    await page.getByTestId("till-code").fill(held.code);
    await page.getByTestId("till-find").click();
    await expect
      .poll(() => page.getByTestId("till-refusal").getAttribute("data-code"))
      .toBe("already_captured");
    expect(await page.getByTestId("till-status").getAttribute("data-status")).toBe("captured");
    expect(await page.getByTestId("till-capture").count()).toBe(0);
    // A code no hold has, in words.
    await page.getByTestId("till-code").fill("ZZZZ-ZZZZ");
    await page.getByTestId("till-find").click();
    await expect
      .poll(() => page.getByTestId("till-refusal").getAttribute("data-code"))
      .toBe("not_found");
    expect(await page.getByTestId("till-refusal").textContent()).toContain("No hold has this code");
    // The catalogue shows the stock left.
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Catalogue" })
      .click();
    await expect
      .poll(() => rewardRow("Free espresso").getByTestId("reward-stock-left").textContent())
      .toBe("2");
  }, 90_000);

  it("explains a hold captured elsewhere meanwhile, and releases a discount", async () => {
    const first = await hold({ customerId: zoe, points: 50 });
    await page.goto(`${node.url}/console/loyalty/till`);
    await page.getByTestId("till-code").fill(first.code);
    await page.getByTestId("till-code").press("Enter");
    await page.getByTestId("till-hold").waitFor();
    expect(await page.getByTestId("till-hold").getByRole("heading").textContent()).toBe(
      "Checkout discount",
    );
    // Another till captures it first.
    const other = await api(`/v1/redemptions/${first.id}/capture`, { method: "POST", body: {} });
    expect(other.status).toBe(200);
    const size = await ledgerSize();
    await page.getByTestId("till-capture").click();
    await expect
      .poll(() => page.getByTestId("till-refusal").getAttribute("data-code"))
      .toBe("already_captured");
    expect(await page.getByTestId("till-refusal").textContent()).toBe(
      "This hold was captured already: the points are spent.",
    );
    await expect
      .poll(() => page.getByTestId("till-status").getAttribute("data-status"))
      .toBe("captured");
    expect(await page.getByTestId("till-capture").count()).toBe(0);
    expect(await ledgerSize()).toBe(size);
    await shot("loyalty-till-refused");
    const second = await hold({ customerId: zoe, points: 30 });
    expect(await balance(zoe)).toBe(420);
    await page.getByTestId("till-code").fill(second.code);
    await page.getByTestId("till-code").press("Enter");
    await expect
      .poll(() => page.getByTestId("till-status").getAttribute("data-status"))
      .toBe("held");
    await page.getByTestId("till-release").click();
    await expect
      .poll(() => page.getByTestId("till-done").textContent())
      .toBe("Released: 30 points went back to the customer.");
    expect(await balance(zoe)).toBe(450);
  }, 90_000);

  it("applies a small adjustment at once; the owner's large one waits for a colleague", async () => {
    await page
      .getByRole("navigation", { name: "Loyalty" })
      .getByRole("link", { name: "Adjustments" })
      .click();
    await page.getByRole("heading", { name: "Adjustments", level: 1 }).waitFor();
    const form = page.getByTestId("adjustment-form");
    await form.getByTestId("adjustment-customer").fill("zoe");
    await form.getByTestId("adjustment-points").fill("40");
    await form.getByTestId("adjustment-submit").click();
    await expect
      .poll(() => fieldError(form.getByTestId("adjustment-customer")))
      .toContain("customer id");
    expect(await fieldError(form.getByTestId("adjustment-note"))).toBe("Say why, in a few words.");
    // A debit larger than the balance: the node's refusal beside the points.
    await form.getByTestId("adjustment-customer").fill(zoe);
    await form.getByTestId("adjustment-direction").selectOption("debit");
    await form.getByTestId("adjustment-points").fill("900");
    await form.getByTestId("adjustment-reason").selectOption("correction");
    await form.getByTestId("adjustment-note").fill("Counted twice at the till");
    const size = await ledgerSize();
    await form.getByTestId("adjustment-submit").click();
    await expect.poll(() => fieldError(form.getByTestId("adjustment-points"))).not.toBe("");
    expect(await ledgerSize()).toBe(size);
    await form.getByTestId("adjustment-direction").selectOption("credit");
    await form.getByTestId("adjustment-points").fill("40");
    await form.getByTestId("adjustment-reason").selectOption("goodwill");
    await form.getByTestId("adjustment-note").fill("Birthday coffee");
    await form.getByTestId("adjustment-submit").click();
    await expect
      .poll(() => form.getByTestId("adjustment-result").textContent())
      .toMatch(/^Applied: entry #\d+\.$/);
    expect(await balance(zoe)).toBe(490);
    await form.getByTestId("adjustment-customer").fill(zoe);
    await form.getByTestId("adjustment-points").fill("1500");
    await form.getByTestId("adjustment-reason").selectOption("migration");
    await form.getByTestId("adjustment-note").fill("Points from the old card");
    await form.getByTestId("adjustment-submit").click();
    await expect
      .poll(() => form.getByTestId("adjustment-result").textContent())
      .toContain("waiting for another owner or admin");
    expect(await balance(zoe)).toBe(490);
    const own = page.getByTestId("adjustment-row").first();
    expect(await own.getByTestId("adjustment-status").getAttribute("data-status")).toBe("pending");
    await own.getByTestId("adjustment-own").waitFor();
    expect(await own.getByTestId("adjustment-approve").count()).toBe(0);
    // The node refuses it too.
    const id = (await own.getAttribute("data-adjustment")) as string;
    const refused = await page.evaluate(async (adj) => {
      const me = await (await fetch("/v1/staff/me")).json();
      const res = await fetch(`/v1/loyalty/adjustments/${adj}/approve`, {
        method: "POST",
        headers: { "x-csrf-token": me.csrfToken },
      });
      return `${res.status} ${(await res.json()).error?.code}`;
    }, id);
    expect(refused).toBe("403 same_staff");
  }, 90_000);

  describe("with a staff member", () => {
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

    it("asks for an adjustment above the threshold, which the owner approves", async () => {
      await staff.goto(`${node.url}/console/loyalty/adjustments?customer=${zoe}`);
      const form = staff.getByTestId("adjustment-form");
      expect(await form.getByTestId("adjustment-customer").inputValue()).toBe(zoe);
      await form.getByTestId("adjustment-points").fill("2000");
      await form.getByTestId("adjustment-reason").selectOption("service_recovery");
      await form.getByTestId("adjustment-note").fill("The machine broke during the visit");
      await form.getByTestId("adjustment-submit").click();
      await expect
        .poll(() => form.getByTestId("adjustment-result").textContent())
        .toContain("waiting for another owner or admin");
      const row = staff
        .getByTestId("adjustment-row")
        .filter({ hasText: "The machine broke during the visit" });
      await row.getByText("Waiting for an owner or admin.").waitFor();
      expect(await staff.getByTestId("adjustment-approve").count()).toBe(0);
      // The catalogue reads, without controls to change it.
      await staff.goto(`${node.url}/console/loyalty/catalogue`);
      await staff.getByTestId("reward-table").waitFor();
      expect(await staff.getByTestId("reward-form").count()).toBe(0);
      expect(await staff.getByTestId("reward-edit").count()).toBe(0);
      await staff.getByText("Owners and admins change the catalogue.").waitFor();
      expect(await axeNow("loyalty-catalogue-staff", staff)).toEqual([]);

      await page.reload();
      const pending = page
        .getByTestId("adjustment-row")
        .filter({ hasText: "The machine broke during the visit" });
      expect(await pending.getByTestId("adjustment-status").getAttribute("data-status")).toBe(
        "pending",
      );
      // Pending first, oldest first: the owner's own, then the staff member's.
      const statuses = await page
        .getByTestId("adjustment-status")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
      expect(statuses).toEqual(["pending", "pending", "applied"]);
      await shot("loyalty-adjustments-pending");
      expect(await axeNow("loyalty-adjustments")).toEqual([]);
      await pending.getByTestId("adjustment-approve").click();
      await expect
        .poll(() => page.getByTestId("adjustment-decided").textContent())
        .toBe(`Approved: 2,000 points for ${zoe}.`);
      await expect
        .poll(() => pending.getByTestId("adjustment-status").getAttribute("data-status"))
        .toBe("approved");
      expect(await balance(zoe)).toBe(2490);
      const list = (await api(`/v1/loyalty/adjustments?customerId=${zoe}`)).body
        .adjustments as Record<string, unknown>[];
      const approved = list.find((a) => a.points === 2000) as Record<string, unknown>;
      expect(approved).toMatchObject({ status: "approved", reason: "service_recovery" });
      expect(approved.requestedBy).not.toBe(approved.decidedBy);
      await shot("loyalty-adjustments");
      expect(problems).toEqual([]);
    }, 120_000);
  });

  it("shows the three screens in Chinese, with no axe violation there either", async () => {
    await page.goto(`${node.url}/console/loyalty/till`);
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "收银台", level: 1 }).waitFor();
    const found = await axeNow("loyalty-till-zh");
    await page.goto(`${node.url}/console/loyalty/adjustments`);
    await page.getByTestId("adjustment-table").waitFor();
    found.push(...(await axeNow("loyalty-adjustments-zh")));
    await page.goto(`${node.url}/console/loyalty/catalogue`);
    await page.getByTestId("reward-table").waitFor();
    found.push(...(await axeNow("loyalty-catalogue-zh")));
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Catalogue", level: 1 }).waitFor();
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  }, 90_000);
});

import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import {
  axeChecker,
  confirmSigning,
  joinPortal,
  launchBrowser,
  newWatchedPage,
  ownerApi,
  requireChromium,
  startBrowserNode,
} from "./browser-support.js";

// Points that move, in the customer portal: a real node (PGlite, no chain) serving a fresh build
// of packages/web, driven in Debian's chromium, with two customers in two browser contexts,
// each with a key kept in their browser. One sends the other points with a message (signed
// `points.transfer`, the message beside the command); the other sees the points and the
// message. Then a reward is redeemed in the portal (signed `redemption.hold`), the test reads
// the one-time code off the page and a simulated till captures it with the merchant's API key;
// the portal shows it used, the balance down and the stock one less. Screenshots on a desktop
// and a phone go to test-artifacts/portal/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/portal/", import.meta.url));
requireChromium("portal loyalty moves");

const WELCOME = {
  name: "Welcome",
  kind: "earn",
  condition: true,
  action: { type: "fixed", points: 500 },
};

describe.runIf(haveBrowser)("points that move in the customer portal, in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let browser: Browser;
  let merchant: { id: string; name: string };
  let ana: Page;
  let bo: Page;
  let boId = "";
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const found: string[] = [];

  const api = ownerApi(() => node);
  const newPage = (name: string) => newWatchedPage(browser, contexts, problems, name);

  /** axe-core against WCAG 2.2 AA, desktop and phone, each screenshotted; no sideways scroll on a phone. */
  const axeCheck = axeChecker(artifacts, { sideways: "phone" });
  const axe = async (page: Page, name: string) => {
    found.push(...(await axeCheck(page, name)));
  };

  const sign = confirmSigning;
  /** Joins the merchant as `name` in a new browser context and signs in; their customer id. */
  const joinAs = (page: Page, name: string, email: string) =>
    joinPortal(page, node, api, merchant, { name, email });

  const text = async (page: Page, testId: string) =>
    ((await page.getByTestId(testId).first().textContent()) ?? "").replace(/\s+/g, " ").trim();

  beforeAll(async () => {
    ({ tmp, node } = await startBrowserNode("portal-moves", artifacts));
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

  it("two customers join; one earns points", async () => {
    ana = await newPage("ana");
    bo = await newPage("bo");
    const anaId = await joinAs(ana, "Ana Lima", "ana.moves@example.com");
    boId = await joinAs(bo, "Bo Chen", "bo.moves@example.com");
    const d = await api("/v1/loyalty/rules", {
      method: "POST",
      body: { id: "welcome", document: WELCOME },
    });
    expect([200, 201], JSON.stringify(d.body)).toContain(d.status);
    const p = await api("/v1/loyalty/rules/welcome/publish", { method: "POST", body: {} });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const o = await api("/v1/orders", {
      method: "POST",
      body: {
        orderId: "M-1",
        customer: { id: anaId },
        amount: 1000,
        currency: "EUR",
        items: [{ sku: "beans", category: "coffee", quantity: 1, unitPrice: 1000 }],
        channel: "store",
        occurredAt: new Date(Date.now() - 60_000).toISOString(),
      },
    });
    expect(o.status, JSON.stringify(o.body)).toBe(201);
    expect(o.body.points).toBe(500);
  }, 60_000);

  it("transfer points between two customers", async () => {
    // Bo reads his customer id off his own page, to give it to Ana.
    await bo.getByTestId("tab-points").click();
    await bo.getByTestId("loyalty-nav-transfer").click();
    await expect.poll(() => text(bo, "transfer-my-id")).toBe(boId);
    await bo.getByTestId("transfers-none").waitFor();

    // Ana, by keyboard, to the Send section.
    await ana.getByTestId("tab-points").click();
    await ana.getByTestId("loyalty-nav-transfer").focus();
    await ana.keyboard.press("Enter");
    await ana.waitForURL(/\/points\/transfer$/);
    await expect
      .poll(() => text(ana, "transfer-available"))
      .toContain("You have 500 points to send");
    await axe(ana, "loyalty-transfer");

    // What the page catches before anything is signed: a malformed id, her own id, too many.
    await ana.getByTestId("transfer-to").fill("bo@example.com");
    await ana.getByTestId("transfer-points").fill("600");
    await ana.getByTestId("transfer-submit").click();
    expect(await ana.getByTestId("transfer-to").getAttribute("aria-invalid")).toBe("true");
    expect(await ana.getByTestId("transfer-points").getAttribute("aria-invalid")).toBe("true");
    expect(await ana.getByTestId("sign-dialog").count()).toBe(0);
    expect(await ana.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe(
      "transfer-to",
    );

    // What the node refuses, in words with its code: nobody with that id; over the limit.
    await ana.getByTestId("transfer-to").fill("c_nobody");
    await ana.getByTestId("transfer-points").fill("50");
    await ana.getByTestId("transfer-submit").click();
    await sign(ana, /Send 50 points to customer c_nobody/);
    await ana.getByTestId("transfer-error").waitFor();
    expect(await ana.getByTestId("transfer-error").getAttribute("data-code")).toBe(
      "recipient_not_found",
    );
    await expect
      .poll(() => text(ana, "transfer-error"))
      .toContain("No customer of this merchant has that id.");
    const limited = await api("/v1/loyalty/programme", {
      method: "PUT",
      body: { transfers: { allowed: true, receivedAvailability: "immediate", maxPoints: 300 } },
    });
    expect(limited.status, JSON.stringify(limited.body)).toBe(200);
    await ana.reload();
    await ana.getByTestId("transfer-to").fill(boId);
    await ana.getByTestId("transfer-points").fill("400");
    await ana.getByTestId("transfer-submit").click();
    await sign(ana, /Send 400 points/);
    await ana.getByTestId("transfer-error").waitFor();
    expect(await ana.getByTestId("transfer-error").getAttribute("data-code")).toBe(
      "transfer_above_maximum",
    );
    await expect
      .poll(() => text(ana, "transfer-error"))
      .toContain("more points than the programme's largest");
    await expect.poll(() => text(ana, "transfer-available")).toContain("500");

    // A transfer with a message: the dialog shows it in plain words before it is signed.
    await ana.getByTestId("transfer-points").fill("150");
    await ana.getByTestId("transfer-message").fill("Happy birthday, Bo! 生日快乐");
    // By keyboard: from the message, Tab to the button and Enter.
    await ana.getByTestId("transfer-message").focus();
    await ana.keyboard.press("Tab");
    expect(await ana.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe(
      "transfer-submit",
    );
    await ana.keyboard.press("Enter");
    const dialog = ana.getByTestId("sign-dialog");
    await dialog.waitFor();
    await expect
      .poll(() => text(ana, "sign-what"))
      .toBe(
        `Send 150 points to customer ${boId} at ${merchant.name}. They leave your balance at once and cannot be taken back.`,
      );
    expect(await ana.locator('[data-testid="sign-shared"] dt').textContent()).toBe("Message");
    expect(await ana.locator('[data-testid="sign-shared"] dd').textContent()).toBe(
      "Happy birthday, Bo! 生日快乐",
    );
    // The exact command carries {to, points} and only the message's commitment.
    const exact = JSON.parse((await ana.getByTestId("sign-exact").textContent()) ?? "{}");
    expect(exact.type).toBe("points.transfer");
    expect(Object.keys(exact.payload).sort()).toEqual(["attached", "points", "to"]);
    expect(JSON.stringify(exact)).not.toContain("birthday");
    await ana.screenshot({ path: join(artifacts, "loyalty-transfer-sign-desktop.png") });
    await ana.getByTestId("sign-confirm").click();
    await dialog.waitFor({ state: "detached" });
    await ana.getByTestId("transfer-sent").waitFor();
    await expect.poll(() => text(ana, "transfer-sent")).toBe(`Sent 150 points to ${boId}.`);
    await ana.getByTestId("transfer").first().waitFor();
    expect(await ana.getByTestId("transfer").first().getAttribute("data-direction")).toBe("sent");
    await expect.poll(() => text(ana, "transfer-row-message")).toBe("Happy birthday, Bo! 生日快乐");
    await expect
      .poll(() => text(ana, "transfer-available"))
      .toContain("You have 350 points to send");
    await axe(ana, "loyalty-transfer-sent");

    // Bo sees the points and the message.
    await bo.reload();
    await bo.getByTestId("transfer").first().waitFor();
    expect(await bo.getByTestId("transfer").first().getAttribute("data-direction")).toBe(
      "received",
    );
    await expect.poll(() => text(bo, "transfer-row-points")).toBe("+150 points");
    await expect.poll(() => text(bo, "transfer-row-message")).toBe("Happy birthday, Bo! 生日快乐");
    await axe(bo, "loyalty-transfer-received");
    await bo.getByTestId("loyalty-nav-overview").click();
    await bo.getByTestId("loyalty-balance").waitFor();
    await expect.poll(() => text(bo, "loyalty-balance")).toBe("150 points");
    await expect
      .poll(() => text(bo, "loyalty-lot-source"))
      .toBe("Points another customer sent you");
    // In his points history, verified in the browser: the points received.
    await bo.getByTestId("loyalty-nav-history").click();
    await bo.getByTestId("loyalty-verified").waitFor({ timeout: 60_000 });
    expect(
      await bo
        .getByTestId("loyalty-entry")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))),
    ).toEqual(["points.received"]);
    await expect
      .poll(() => text(bo, "loyalty-entry"))
      .toContain("+150 points from another customer.");
    // The node's own view agrees.
    const pts = await api(`/v1/customers/${boId}/points`);
    expect(pts.body.balance).toBe(150);

    // In Simplified Chinese.
    await bo.getByTestId("language-switch").selectOption("zh-CN");
    await bo.getByTestId("loyalty-nav-transfer").click();
    await bo.getByRole("heading", { name: "转出与转入" }).waitFor();
    await expect.poll(() => text(bo, "transfer")).toContain("转入");
    await axe(bo, "loyalty-transfer-zh");
  }, 180_000);

  it("redeem a reward and capture it at a simulated till", async () => {
    const made = await api("/v1/loyalty/rewards", {
      method: "POST",
      body: { name: "Coffee mug", points: 200, stock: 3, perCustomerLimit: 1 },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const rewardId = made.body.id as string;

    await ana.getByTestId("loyalty-nav-redeem").click();
    await ana.waitForURL(/\/points\/redeem$/);
    const reward = ana.getByTestId("reward");
    await reward.waitFor();
    await expect
      .poll(() => text(ana, "reward-terms"))
      .toBe("3 left. At most 1 per customer; you have 0.");
    await expect.poll(() => text(ana, "redeem-balance")).toBe("350 points");
    await axe(ana, "loyalty-redeem");

    // Redeem: the dialog names the reward and its cost; the code appears with its QR code.
    await ana.getByTestId("reward-redeem").focus();
    await ana.keyboard.press("Enter");
    await sign(ana, /Redeem “Coffee mug” at .* for 200 points/);
    const card = ana.getByTestId("redeem-code-card");
    await card.waitFor();
    const code = await text(ana, "redeem-code");
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(await ana.getByTestId("redeem-qr").getAttribute("data-payload")).toBe(
      `patron:redeem:${merchant.id}:${code.replace("-", "")}`,
    );
    expect(await ana.getByTestId("redeem-qr").getAttribute("src")).toMatch(/^data:image\/svg\+xml/);
    await expect.poll(() => text(ana, "redeem-countdown")).toMatch(/^Valid for \d\d:\d\d more/);
    // The new code's heading has the focus, for a screen reader and the keyboard.
    expect(await ana.evaluate(() => document.activeElement?.tagName)).toBe("H3");
    await ana.getByTestId("redeem-balance").filter({ hasText: "150 points" }).waitFor();
    await expect.poll(() => text(ana, "redeem-held")).toBe("200 points");
    expect(await ana.getByTestId("redemption").first().getAttribute("data-status")).toBe("held");
    await axe(ana, "loyalty-redeem-code");

    // The till: what the code stands for, then capture, with the merchant's API key.
    const till = await api(`/v1/redemptions/code/${code}`);
    expect(till.status, JSON.stringify(till.body)).toBe(200);
    expect(till.body).toMatchObject({ status: "held", points: 200, kind: "reward" });
    const captured = await api("/v1/redemptions/capture", {
      method: "POST",
      body: { code, reference: "T-4411" },
    });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body.status).toBe("captured");
    const again = await api("/v1/redemptions/capture", { method: "POST", body: { code } });
    expect(again.status).toBe(409);
    expect((again.body.error as { code: string }).code).toBe("already_captured");

    // The portal sees it used (it reads again while a code is open), the balance down.
    await ana
      .locator('[data-testid="redemption"][data-status="captured"]')
      .waitFor({ timeout: 30_000 });
    expect(await card.count()).toBe(0);
    await expect.poll(() => text(ana, "redemption")).toContain("Used at the till");
    await expect.poll(() => text(ana, "redemption")).toContain("receipt T-4411");
    await ana.getByTestId("redeem-held").filter({ hasText: "0 points" }).waitFor();
    await expect.poll(() => text(ana, "redeem-balance")).toBe("150 points");
    const stock = await api(`/v1/loyalty/rewards/${rewardId}`);
    expect(stock.body.stock).toBe(2);
    const pts = await api(
      `/v1/customers/${(till.body as { customerId: string }).customerId}/points`,
    );
    expect(pts.body).toMatchObject({ balance: 150, held: 0 });
    // Its limit reached, the reward cannot be redeemed again.
    await ana.reload();
    await ana.getByTestId("reward").waitFor();
    await expect
      .poll(() => text(ana, "reward-terms"))
      .toContain("2 left. At most 1 per customer; you have 1.");
    expect(await ana.getByTestId("reward-redeem").isDisabled()).toBe(true);
    await axe(ana, "loyalty-redeem-captured");
  }, 120_000);

  it("a discount code, given back before the till uses it", async () => {
    await ana.getByTestId("discount-points").fill("abc");
    await ana.getByTestId("discount-submit").click();
    expect(await ana.getByTestId("discount-points").getAttribute("aria-invalid")).toBe("true");
    // One point is worth a cent here, so no minimum above one is shown.
    expect(await ana.getByTestId("discount-minimum").count()).toBe(0);
    // At half a cent a point, a discount takes two; one is refused before anything is signed.
    const half = await api("/v1/loyalty/programme", {
      method: "PUT",
      body: { valuePer100Points: 50 },
    });
    expect(half.status, JSON.stringify(half.body)).toBe(200);
    await ana.reload();
    await expect
      .poll(() => text(ana, "discount-minimum"))
      .toBe("At least 2 points (worth €0.01): fewer are worth nothing.");
    await ana.getByTestId("discount-points").fill("1");
    await ana.getByTestId("discount-submit").click();
    expect(await ana.getByTestId("discount-points").getAttribute("aria-invalid")).toBe("true");
    expect(await ana.getByTestId("sign-dialog").count()).toBe(0);
    const back = await api("/v1/loyalty/programme", {
      method: "PUT",
      body: { valuePer100Points: 100 },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    await ana.reload();
    await ana.getByTestId("discount-points").waitFor();
    await expect.poll(() => ana.getByTestId("discount-minimum").count()).toBe(0);
    await ana.getByTestId("discount-points").fill("100");
    await expect.poll(() => text(ana, "discount-worth")).toBe("Worth €1.00 off.");
    await ana.getByTestId("discount-submit").click();
    await sign(ana, /Set 100 points aside at .* for a discount at the till/);
    await ana.getByTestId("redeem-code-card").waitFor();
    const code = await text(ana, "redeem-code");
    await ana.getByTestId("redeem-balance").filter({ hasText: "50 points" }).waitFor();

    await ana.getByTestId("redeem-release").click();
    await sign(ana, new RegExp(`Give back hold ${code} at`));
    await ana.locator('[data-testid="redemption"][data-status="released"]').waitFor();
    expect(await ana.getByTestId("redeem-code-card").count()).toBe(0);
    await ana.getByTestId("redeem-balance").filter({ hasText: "150 points" }).waitFor();
    // The till can no longer use it.
    const late = await api("/v1/redemptions/capture", { method: "POST", body: { code } });
    expect(late.status).toBe(409);
    expect((late.body.error as { code: string }).code).toBe("already_released");

    // Ana's points history: everything that moved, verified in the browser.
    await ana.getByTestId("loyalty-nav-history").click();
    await ana.getByTestId("loyalty-verified").waitFor({ timeout: 60_000 });
    expect(
      await ana
        .getByTestId("loyalty-entry")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-type"))),
    ).toEqual([
      "redemption.released",
      "redemption.held",
      "redemption.captured",
      "redemption.held",
      "points.sent",
      "points.awarded",
      "order.recorded",
    ]);
    await axe(ana, "loyalty-history-moves");
    await ana.getByTestId("loyalty-nav-redeem").click();

    // In Simplified Chinese.
    await ana.getByTestId("language-switch").selectOption("zh-CN");
    await ana.getByRole("heading", { name: "我的兑换" }).waitFor();
    await expect.poll(() => text(ana, "redemption-status")).toBe("已退回");
    await axe(ana, "loyalty-redeem-zh");
    await ana.getByTestId("language-switch").selectOption("en");
  }, 90_000);

  it("left no accessibility violations, page errors or CSP reports behind", () => {
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});

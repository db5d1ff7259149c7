import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import {
  axeChecker,
  DESKTOP,
  launchBrowser,
  newWatchedPage,
  ownerApi,
  requireChromium,
  startBrowserNode,
} from "./browser-support.js";

// The customer portal's consents, data-subject requests and erasure, as a customer uses them:
// a real node (PGlite, no chain) serving a fresh build of packages/web, driven in Debian's
// chromium, with an Ed25519 key kept in the browser. Every change is signed after the signing
// dialog has said what it does; the node's state is checked through the staff API. Screenshots,
// on a desktop and on a phone, go to test-artifacts/portal/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/portal/", import.meta.url));
requireChromium("portal rights");

interface Consent {
  id: string;
  status: string;
  grantee: string;
  purposes: string[];
  categories: string[];
  endedReason: string | null;
  method: string;
}

describe.runIf(haveBrowser)("the customer portal's consents, requests and erasure", () => {
  let tmp: string;
  let node: PatronNode;
  let browser: Browser;
  let merchant: { id: string; name: string };
  let page: Page;
  let customerId = "";
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const found: string[] = [];

  const api = ownerApi(() => node);
  const entries = async (type: string) => {
    const { rows } = await node.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM ledger_entries WHERE type = $1",
      [type],
    );
    return Number(rows[0]?.n);
  };
  const staffConsents = async () =>
    (await api(`/v1/customers/${customerId}/consents`)).body.consents as Consent[];
  const consentItem = (id: string) =>
    page.locator(`[data-testid="consent"][data-consent-id="${id}"]`);

  const newPage = (name: string) =>
    newWatchedPage(browser, contexts, problems, name, { acceptDownloads: true });

  /** axe-core against WCAG 2.2 AA, desktop and phone, each screenshotted; no sideways scroll on a desktop or phone. */
  const axeCheck = axeChecker(artifacts, { sideways: "every size" });
  const axe = async (p: Page, name: string) => {
    found.push(...(await axeCheck(p, name)));
  };

  /** The signing dialog: checks what it says, then signs. */
  const sign = async (says: RegExp, shot?: string) => {
    const dialog = page.getByTestId("sign-dialog");
    await dialog.waitFor();
    expect(await page.getByTestId("sign-what").textContent()).toMatch(says);
    if (shot) await axe(page, shot);
    const type = await dialog.getAttribute("data-command-type");
    await page.getByTestId("sign-confirm").click();
    await page
      .locator(`[data-testid="sign-dialog"][data-command-type="${type}"]`)
      .waitFor({ state: "detached" });
  };

  beforeAll(async () => {
    ({ tmp, node } = await startBrowserNode("portal-rights", artifacts));
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

  it("joins and signs in with a key kept in the browser", async () => {
    page = await newPage("rights");
    await page.goto(`${node.url}/me/join/${merchant.id}`);
    // Each kind of key has its radio beside its name, on a desktop and on a phone (a long hint
    // once pushed the name under its radio).
    for (const size of [DESKTOP, { width: 390, height: 844 }]) {
      await page.setViewportSize(size);
      for (const kind of ["passkey", "ed25519"]) {
        const radio = await page.getByTestId(`key-kind-${kind}`).boundingBox();
        const label = await page
          .locator(`label[for="${await page.getByTestId(`key-kind-${kind}`).getAttribute("id")}"]`)
          .boundingBox();
        expect(radio && label, kind).toBeTruthy();
        if (!radio || !label) continue;
        expect(label.x, `${kind} at ${size.width}px`).toBeGreaterThan(radio.x + radio.width);
        expect(Math.abs(label.y - radio.y), `${kind} at ${size.width}px`).toBeLessThan(
          radio.height,
        );
      }
    }
    await page.setViewportSize(DESKTOP);
    // On 127.0.0.1 passkeys are refused by the browser: the page says why, and what works.
    expect(await page.getByTestId("key-kind-passkey").isDisabled()).toBe(true);
    expect(await page.getByTestId("key-choice").textContent()).toContain(
      "Passkeys do not work on an IP address such as 127.0.0.1: open this page by a domain name to use one (on this computer, localhost).",
    );
    await page.getByTestId("field-name").fill("Inès Moreau");
    await page.getByTestId("field-email").fill("ines@example.com");
    await page.getByTestId("join-submit").click();
    await sign(/Become a customer/);
    // The sign-in that follows says the joining worked.
    await page.getByTestId("joined-sign-in").waitFor();
    await page.getByTestId("sign-in").click();
    await sign(/Sign in to/);
    await page.getByTestId("profile").waitFor();
    // On a phone every section's tab is on the screen: none hides past its edge.
    await page.setViewportSize({ width: 390, height: 844 });
    const tabs = page.getByRole("navigation", { name: "Account sections" }).getByRole("link");
    expect(await tabs.count()).toBe(7);
    for (const box of await tabs.evaluateAll((links) =>
      links.map((l) => {
        const r = l.getBoundingClientRect();
        return { text: l.textContent, left: r.left, right: r.right };
      }),
    )) {
      expect(box.left, box.text ?? "").toBeGreaterThanOrEqual(0);
      expect(box.right, box.text ?? "").toBeLessThanOrEqual(390);
    }
    await page.setViewportSize(DESKTOP);
    const list = await api(`/v1/customers?query=${encodeURIComponent("ines@example.com")}`);
    customerId = ((list.body.customers as { id: string }[])[0] as { id: string }).id;
    expect(customerId).toMatch(/^c_/);
  });

  it("says plainly when the merchant asks for no consent", async () => {
    await page.getByRole("link", { name: "Consents", exact: true }).click();
    await page.getByTestId("consents-none").waitFor();
    await page.getByTestId("no-purposes").waitFor();
    expect(await page.getByTestId("no-purposes").textContent()).toContain(
      `${merchant.name} asks for no consent`,
    );
    expect(await page.getByTestId("grant-form").count()).toBe(0);
    await axe(page, "consents-no-purposes");
  });

  let first = "";

  it("gives a consent: bad terms are refused in the page, a cancelled signature sends nothing", async () => {
    for (const [id, name] of [
      ["marketing_email", "Our newsletter"],
      ["analytics", "How our customers shop"],
    ] as const) {
      const declared = await api(`/v1/purposes/${id}`, {
        method: "PUT",
        body: { name, basis: "consent" },
      });
      expect(declared.status, JSON.stringify(declared.body)).toBeLessThan(300);
    }
    await page.reload();
    await page.getByTestId("grant-form").waitFor();
    // One year unless the customer chooses otherwise.
    expect(await page.getByTestId("field-duration").inputValue()).toBe("12");
    await axe(page, "consents-grant");
    // Nothing chosen, and an end in the past: refused in the page, nothing to sign.
    await page.getByTestId("field-duration").selectOption("date");
    await page.getByTestId("field-until").fill("2020-01-01");
    await page.getByTestId("grant-submit").click();
    await page.getByText("Choose at least one purpose.").waitFor();
    await page.getByText("Choose at least one kind of data.").waitFor();
    await page.getByText("Choose a day after today.").waitFor();
    expect(await page.getByTestId("sign-dialog").count()).toBe(0);
    await axe(page, "consents-grant-invalid");
    await page.getByTestId("field-duration").selectOption("12");
    await page.getByTestId("check-purposes-marketing_email").check();
    await page.getByTestId("check-purposes-analytics").check();
    await page.getByTestId("check-categories-contact").check();
    await page.getByTestId("check-categories-purchase_history").check();
    // Cancelling the signature sends nothing.
    const before = await entries("consent.granted");
    await page.getByTestId("grant-submit").click();
    await page.getByTestId("sign-dialog").waitFor();
    await page.getByTestId("sign-cancel").click();
    await page.getByTestId("grant-error-cancelled").waitFor();
    expect(await entries("consent.granted")).toBe(before);
    // Now for real: the dialog says what is allowed, to whom and until when.
    await page.getByTestId("grant-submit").click();
    const until = new Date();
    until.setUTCFullYear(until.getUTCFullYear() + 1);
    await sign(
      new RegExp(
        `Consent to ${merchant.name} using your contact details, purchase history for How our customers shop, Our newsletter, until ${until.toISOString().slice(0, 10)}`,
      ),
      "sign-consent-grant",
    );
    await page.getByTestId("grant-done").waitFor();
    const item = page.getByTestId("consent").first();
    await item.waitFor();
    expect(await item.getAttribute("data-status")).toBe("active");
    expect(await item.getByTestId("consent-status").textContent()).toBe("Active");
    expect(await item.getByTestId("consent-purposes").textContent()).toBe(
      "How our customers shop, Our newsletter",
    );
    expect(await item.getByTestId("consent-grantee").textContent()).toBe(
      `${merchant.name} (this merchant)`,
    );
    first = (await item.getAttribute("data-consent-id")) ?? "";
    const held = await staffConsents();
    expect(held).toEqual([
      expect.objectContaining({
        id: first,
        status: "active",
        method: "signature",
        purposes: ["analytics", "marketing_email"],
        categories: ["contact", "purchase_history"],
      }),
    ]);
    expect(await entries("consent.granted")).toBe(before + 1);
    await axe(page, "consents-active");
  });

  it("shows the receipt, decoded, its signature checked against the merchant's key", async () => {
    const item = consentItem(first);
    await item.getByTestId("receipt-open").click();
    const check = item.getByTestId("receipt-check");
    await check.waitFor();
    expect(await check.getAttribute("data-ok")).toBe("true");
    expect(await check.textContent()).toMatch(/Signature checked/);
    // What it states, in words (the exact codes are in the claims).
    expect(await item.getByTestId("receipt-status").textContent()).toBe("Active");
    expect(await item.getByTestId("receipt-purposes").textContent()).toBe(
      "How our customers shop, Our newsletter",
    );
    expect(await item.getByTestId("receipt-categories").textContent()).toBe(
      "contact details, purchase history",
    );
    expect(await item.getByTestId("receipt-grantee").textContent()).toBe(
      `${merchant.name} (this merchant)`,
    );
    const claims = JSON.parse((await item.getByTestId("receipt-claims").textContent()) ?? "{}");
    expect(claims.header).toMatchObject({ alg: "EdDSA", typ: "vc+jwt" });
    expect(claims.claims.credentialSubject.consent).toMatchObject({
      id: first,
      purposes: ["analytics", "marketing_email"],
      status: "active",
    });
    await item.locator("details").first().locator("summary").click();
    await axe(page, "consents-receipt");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      item.getByTestId("receipt-download").click(),
    ]);
    expect(download.suggestedFilename()).toBe(`consent-${first}.jwt`);
    const jwt = readFileSync((await download.path()) as string, "utf8");
    expect(jwt.split(".")).toHaveLength(3);
    const staff = await api(`/v1/consents/${first}/receipt`);
    expect(
      JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()),
    ).toMatchObject({
      credentialSubject: { consent: { id: first } },
    });
    expect(staff.status).toBe(200);
    await item.getByTestId("receipt-open").click();
  });

  it("narrows the consent: fewer purposes, refused in the page when nothing would change", async () => {
    const item = consentItem(first);
    await item.getByTestId("narrow-open").click();
    await item.getByTestId("narrow-submit").click();
    await item.getByText("Nothing would change").waitFor();
    await item.getByTestId("check-purposes-analytics").uncheck();
    await item.getByTestId("check-purposes-marketing_email").uncheck();
    await item.getByTestId("narrow-submit").click();
    await item.getByText("Choose at least one purpose.").waitFor();
    expect(await page.getByTestId("sign-dialog").count()).toBe(0);
    await axe(page, "consents-narrow-invalid");
    await item.getByTestId("check-purposes-marketing_email").check();
    await item.getByTestId("narrow-submit").click();
    await sign(
      new RegExp(
        `Narrow your consent “How our customers shop, Our newsletter” \\(${first}\\) at ${merchant.name}: from now on it covers only Our newsletter, with your contact details, purchase history`,
      ),
      "sign-consent-narrow",
    );
    await expect
      .poll(() => item.getByTestId("consent-purposes").textContent())
      .toBe("Our newsletter");
    expect(await item.getAttribute("data-status")).toBe("active");
    expect((await staffConsents())[0]).toMatchObject({
      id: first,
      status: "active",
      purposes: ["marketing_email"],
      categories: ["contact", "purchase_history"],
    });
  });

  it("withdraws the consent after a confirmation", async () => {
    const item = consentItem(first);
    await item.getByTestId("revoke-open").click();
    await item.getByTestId("revoke-panel").waitFor();
    await axe(page, "consents-revoke-confirm");
    await item.getByTestId("revoke-confirm").click();
    await sign(new RegExp(`Withdraw your consent .*${first}.* at ${merchant.name}`));
    await expect.poll(() => item.getAttribute("data-status")).toBe("revoked");
    expect(await item.getByTestId("consent-status").textContent()).toBe("Withdrawn");
    expect(await item.getByTestId("consent-ended").textContent()).toContain("withdrawn by you");
    expect(await item.getByTestId("revoke-open").count()).toBe(0);
    expect((await staffConsents())[0]).toMatchObject({
      id: first,
      status: "revoked",
      endedReason: "customer",
    });
    await axe(page, "consents-revoked");
  });

  it("shows the node's refusal beside the form: a consent staff ended meanwhile", async () => {
    await page.getByTestId("check-purposes-marketing_email").check();
    await page.getByTestId("check-categories-contact").check();
    await page.getByTestId("field-duration").selectOption("1");
    await page.getByTestId("grant-submit").click();
    await sign(/Consent to .* using your contact details for Our newsletter/);
    await expect.poll(() => page.getByTestId("consent").count()).toBe(2);
    const second =
      (await page.getByTestId("consent").first().getAttribute("data-consent-id")) ?? "";
    expect(second).not.toBe(first);
    // Withdrawn by phone, through staff, while the page still shows it active.
    const revoked = await api(`/v1/consents/${second}/revoke`, {
      method: "POST",
      body: { method: "phone" },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    const item = consentItem(second);
    expect(await item.getAttribute("data-status")).toBe("active");
    await item.getByTestId("revoke-open").click();
    await item.getByTestId("revoke-confirm").click();
    await sign(/Withdraw your consent/);
    const refusal = item.getByTestId("revoke-error");
    await refusal.waitFor();
    expect(await refusal.getAttribute("data-code")).toBe("consent_ended");
    expect(await refusal.textContent()).toContain("This consent has already ended.");
    await axe(page, "consents-refused");
  });

  it("reads in Simplified Chinese", async () => {
    await page.reload();
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "您的同意" }).waitFor();
    await page.getByRole("link", { name: "您的权利" }).waitFor();
    expect(await page.getByTestId("consent-status").first().textContent()).toBe("已撤回");
    // The receipt states it in Chinese too, no code left bare.
    const item = consentItem(first);
    await item.getByTestId("receipt-open").click();
    await item.getByTestId("receipt-check").waitFor();
    expect(await item.getByTestId("receipt-status").textContent()).toBe("已撤回");
    expect(await item.getByTestId("receipt-categories").textContent()).not.toMatch(/[a-z]/);
    await axe(page, "consents-zh");
    await item.getByTestId("receipt-open").click();
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Your consents" }).waitFor();
  });

  it("consents to a partner, whose read gets only what was granted, and is refused once withdrawn", async () => {
    const made = await api("/v1/merchants", {
      method: "POST",
      body: { name: "Partner Café" },
      key: node.operatorKey,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const partner = { id: made.body.id as string, key: made.body.ownerKey as string };
    const declared = await api("/v1/purposes/sharing", {
      method: "PUT",
      body: { name: "Shared with our partners", basis: "consent" },
    });
    expect(declared.status, JSON.stringify(declared.body)).toBeLessThan(300);
    await page.reload();
    await page.getByTestId("grant-form").waitFor();
    await page.getByTestId("check-purposes-sharing").check();
    await page.getByTestId("check-categories-contact").check();
    await page.getByTestId("field-grantee").selectOption(partner.id);
    await page.getByTestId("grant-submit").click();
    await sign(/Consent to Partner Café using your contact details for Shared with our partners/);
    await page.getByTestId("grant-done").waitFor();
    const held = (await staffConsents()).find((c) => c.grantee === partner.id);
    expect(held).toMatchObject({
      status: "active",
      purposes: ["sharing"],
      categories: ["contact"],
    });
    const id = (held as Consent).id;
    const read = (query = "") => api(`/v1/consents/${id}/data${query}`, { key: partner.key });
    // While it holds: the partner reads the granted category, addressed by the consent alone.
    const ok = await read();
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ consentId: id, categories: ["contact"] });
    expect(JSON.stringify(ok.body)).not.toContain(customerId);
    const more = await read("?categories=contact,demographics");
    expect([more.status, (more.body.error as { code: string }).code]).toEqual([
      403,
      "consent_required",
    ]);
    // Withdrawn in the portal: the partner's next read is refused, and the refusal recorded.
    const item = consentItem(id);
    await item.getByTestId("revoke-open").click();
    await item.getByTestId("revoke-confirm").click();
    await sign(new RegExp(`Withdraw your consent .*${id}`));
    await expect.poll(() => item.getAttribute("data-status")).toBe("revoked");
    const refused = await read();
    expect([refused.status, (refused.body.error as { code: string }).code]).toEqual([
      403,
      "consent_required",
    ]);
    const { rows } = await node.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM access_records WHERE customer_id = $1 AND action LIKE '%_refused'",
      [customerId],
    );
    expect(Number(rows[0]?.n)).toBe(2);
  });

  it("shows every use of the data in words: refused ones as refused, a consent by its id, the merchant's own purposes by name", async () => {
    const declared = await api("/v1/purposes/fraud_prevention", {
      method: "PUT",
      body: {
        name: "Fraud prevention",
        basis: "legitimate_interest",
        note: "Card fraud harms customers and the shop; checks use order patterns only.",
      },
    });
    expect(declared.status, JSON.stringify(declared.body)).toBeLessThan(300);
    const read = await fetch(`${node.url}/v1/customers/${customerId}`, {
      headers: { authorization: `Bearer ${node.ownerKey}`, "patron-purpose": "fraud_prevention" },
    });
    expect(read.status).toBe(200);
    expect((await api(`/v1/customers/${customerId}/points`)).status).toBe(200);
    await page.getByRole("link", { name: "Data use", exact: true }).click();
    await page.getByTestId("data-use-table").waitFor();
    const row = (action: string) =>
      page.locator(`[data-testid="data-use-row"][data-action="${action}"]`).first();
    // The partner's read after the withdrawal: refused, and said so in words.
    const refused = row("partner_read_refused");
    expect(await refused.getByTestId("data-use-role").textContent()).toBe("A partner merchant");
    expect(await refused.getByTestId("data-use-action").textContent()).toBe(
      "Read by the partner you consented to Refused",
    );
    expect(await refused.getByTestId("data-use-basis").textContent()).toBe(
      "Needs your consent: none covered it",
    );
    await page.getByTestId("data-use-refused-note").waitFor();
    // The partner's read while the consent held: the consent by its id.
    const allowed = row("partner_read");
    expect(await allowed.getByTestId("data-use-basis").textContent()).toMatch(
      /^Your consent cn_[\w-]+$/,
    );
    expect(await allowed.getByTestId("data-use-refused").count()).toBe(0);
    expect(await row("read").getByTestId("data-use-purpose").textContent()).toBe(
      "Fraud prevention",
    );
    expect(await row("points").getByTestId("data-use-action").textContent()).toBe(
      "Looked at your points",
    );
    // No record reads as a bare code.
    for (const cell of await page.getByTestId("data-use-action").allTextContents()) {
      expect(cell).not.toMatch(/_|\./);
    }
    await axe(page, "data-use-words");
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "您的数据如何被使用" }).waitFor();
    expect(await refused.getByTestId("data-use-action").textContent()).toBe(
      "由您同意的合作商家读取 已拒绝",
    );
    expect(await row("points").getByTestId("data-use-action").textContent()).toBe("查看了您的积分");
    await axe(page, "data-use-words-zh");
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "How your data was used" }).waitFor();
  });

  it("sends a data-subject request signed with the key, and sees it listed with its deadline", async () => {
    await page.getByRole("link", { name: "Your rights", exact: true }).click();
    await page.getByTestId("requests-none").waitFor();
    await page.getByTestId("request-submit").click();
    await page.getByText("Choose what you ask for.").waitFor();
    expect(await page.getByTestId("sign-dialog").count()).toBe(0);
    await axe(page, "requests");
    await page.getByTestId("request-kind-export").check();
    await page.getByTestId("request-submit").click();
    await sign(
      new RegExp(
        `Ask ${merchant.name}, .*: Your data in a file to take elsewhere. They have one month`,
      ),
      "sign-request",
    );
    await page.getByTestId("request-sent").waitFor();
    const item = page.getByTestId("request").first();
    await item.waitFor();
    expect(await item.getByTestId("request-kind").textContent()).toBe(
      "Your data in a file to take elsewhere",
    );
    expect(await item.getByTestId("request-status").textContent()).toBe("Being handled");
    const staff = await api(`/v1/subject-requests?customer=${customerId}`);
    const [request] = staff.body.requests as {
      id: string;
      kind: string;
      channel: string;
      status: string;
      checks: string[];
      dueAt: string;
    }[];
    expect(request).toMatchObject({
      kind: "export",
      channel: "portal",
      status: "verified",
      checks: ["key_signature"],
    });
    expect(await item.getAttribute("data-request-id")).toBe(request?.id);
    expect(await item.getByTestId("request-due").locator("time").getAttribute("datetime")).toBe(
      request?.dueAt,
    );
    // Written the way this browser (en-GB) writes dates: the day before the month, 24 hours.
    expect(await item.getByTestId("request-due").locator("time").textContent()).toMatch(
      /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$/,
    );
    await axe(page, "requests-listed");
  });

  it("erases the customer after a typed confirmation: the node says erased, the session is gone", async () => {
    const policy = await api("/v1/retention-policies/invoices", {
      method: "PUT",
      body: {
        name: "Invoices",
        note: "Accounting records are kept ten years (commercial code)",
        years: 10,
        fields: ["name", "address"],
        interactionKinds: ["purchase"],
      },
    });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    await page.reload();
    await page.getByTestId("erase-open").click();
    const kept = page.getByTestId("retention-policy");
    await kept.waitFor();
    expect(await kept.textContent()).toContain("Invoices");
    expect(await kept.textContent()).toContain("kept for 10 years");
    expect(await kept.textContent()).toContain("name, address");
    // A policy on purchases keeps the name and address only with purchases: the page says so.
    expect(await kept.textContent()).toContain(
      "Records kept, those of the last 10 years: purchases",
    );
    expect(await kept.getByTestId("retention-only-if").textContent()).toBe(
      "If you have none of these records, this keeps nothing of yours.",
    );
    // A copy first is a download away, not a request to wait a month for.
    expect(await page.getByTestId("erase-download-first").getAttribute("href")).toBe(
      `/me/m/${merchant.id}/history`,
    );
    await page.getByTestId("field-words").fill("erase it");
    await page.getByTestId("erase-submit").click();
    await page.getByText("Type the words exactly as shown to confirm.").waitFor();
    expect(await page.getByTestId("sign-dialog").count()).toBe(0);
    await axe(page, "erase-confirm");
    const token = await page.evaluate(
      (m) => JSON.parse(sessionStorage.getItem(`patron.portal.session.${m}`) ?? "{}").token,
      merchant.id,
    );
    expect(token).toMatch(/^pcs_/);
    // The profile page's check left the last verified head in this browser.
    const remembered = `patron.portal.verified.${merchant.id}.${customerId}`;
    expect(await page.evaluate((k) => localStorage.getItem(k), remembered)).not.toBeNull();
    await page.getByTestId("field-words").fill("erase my data");
    await page.getByTestId("erase-submit").click();
    await sign(
      new RegExp(`Close your account at ${merchant.name} and erase your data`),
      "sign-erase",
    );
    await page.getByTestId("erased").waitFor();
    await page.getByTestId("erased-session").waitFor();
    expect(await page.getByTestId("erased-entry").textContent()).toMatch(/entry \d+/);
    expect((await api(`/v1/customers/${customerId}`)).body.status).toBe("erased");
    const after = await fetch(`${node.url}/v1/portal/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);
    expect(
      await page.evaluate((m) => sessionStorage.getItem(`patron.portal.session.${m}`), merchant.id),
    ).toBeNull();
    // Nothing of their history stays in the browser.
    expect(await page.evaluate((k) => localStorage.getItem(k), remembered)).toBeNull();
    await axe(page, "erased");
    // The browser holds no account there any more.
    await page.getByRole("link", { name: "Back to your accounts" }).click();
    await page.getByTestId("no-accounts").waitFor();
    // Back at the merchant's address: the account is closed, and only joining again is offered
    // (no recovery of a key the erased record keeps).
    await page.goto(`${node.url}/me/m/${merchant.id}`);
    await page.getByTestId("erased-here").waitFor();
    expect(await page.getByTestId("go-recover").count()).toBe(0);
    await axe(page, "erased-here");
  });

  it("joins the same merchant again from this browser, with a new key", async () => {
    const erasedKey = (await api(`/v1/customers/${customerId}/key`)).body.key;
    await page.goto(`${node.url}/me/join/${merchant.id}`);
    await page.getByTestId("field-name").fill("Inès Moreau");
    await page.getByTestId("join-submit").click();
    await sign(/Become a customer/);
    await page.getByTestId("sign-in").click();
    await sign(/Sign in to/);
    await page.getByTestId("profile").waitFor();
    const key = (await page.getByTestId("profile-key").textContent()) ?? "";
    expect(key).toMatch(/^did:key:z/);
    expect(key).not.toBe(erasedKey);
    expect(await page.getByTestId("profile-name").textContent()).toBe("Inès Moreau");
  });

  it("left no accessibility violations, page errors or CSP reports behind", () => {
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});

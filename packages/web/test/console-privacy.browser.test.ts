import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Locator, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import { ed25519Signer, nonce, type Signer } from "../../server/test/command-signing.js";
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

// The console's privacy screens as a merchant uses them (issue 8): purposes and consents, a
// customer's key (invites, recovery), data-subject requests and retention. A real node
// (PGlite, no chain) serving a fresh build of packages/web, driven in Debian's chromium; each
// result is read back from the node's API too. Screenshots, on a desktop and on a phone, go
// to test-artifacts/console/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));
requireChromium("console privacy");

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A secp256k1 did:key (W3C did:key test vector): well formed, but not a key Patron takes. */
const SECP256K1_DID = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";
const CONSENT_TEXT =
  "Yes, send me offers by email and SMS. 是的，请通过电子邮件和短信给我发送优惠信息。";

/** Months added as the node adds them (the 31st + 1 month is the end of the next month). */
const addMonths = (ms: number, months: number) => {
  const d = new Date(ms);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.toISOString();
};
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.runIf(haveBrowser)("console privacy screens in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  let login: { email: string; password: string };
  let merchant: string;
  /** Zoë: consents, an invite she claims, a recovery started and cancelled. */
  let zoe: string;
  let zoeKey: Signer;
  /** Hugo: asks to be erased; a purchase the retention policy keeps. */
  let hugo: string;
  /** Léa: requests rejected; no key, so auditors would see the invite button if offered. */
  let lea: string;
  let erasureId: string;
  let rejectedId: string;
  let marketingConsent: string;
  /** The signed-in owner's staff id, as entries name who recorded them. */
  let ownerStaff: string;
  const problems: string[] = [];
  const dialogs: string[] = [];

  const shot = (name: string) =>
    page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const api = ownerApi(() => node);
  /** Entries the page's actions write (batched access records are not counted). */
  const ledgerSize = () => countWrites(node);
  /** A card of the page by its heading. */
  const card = (title: string, on: Page = page): Locator =>
    on.locator("section.card", {
      has: on.getByRole("heading", { name: title, exact: true, level: 2 }),
    });
  const fieldError = (field: Locator) => describedError(page, field);
  /** axe-core against WCAG 2.2 AA on a desktop and a phone, each kept as page-<name>-<size>.png. */
  const axeCheck = axeChecker(artifacts, { shotPrefix: "page-" });
  const axeNow = (name: string, on: Page = page) => axeCheck(on, name);
  /** A signed command as a customer's portal sends it. */
  const command = (s: Signer, type: string, payload: Record<string, unknown>) =>
    s.sign({
      v: 1,
      type,
      ledger: node.identity.origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: new Date(Date.now() + HOUR).toISOString(),
      payload,
    } as never);
  const newCustomer = async (body: Record<string, unknown>) => {
    const r = await api("/v1/customers", { method: "POST", body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const openCustomer = async (id: string) => {
    await page.goto(`${node.url}/console/customers/${id}`);
    await page.getByTestId("profile-name").first().waitFor();
    await page.waitForLoadState("networkidle");
  };

  beforeAll(async () => {
    ({ tmp, node, login } = await startBrowserNode("console-privacy", artifacts, {
      PATRON_ACCESS_BATCH_MS: "300",
    }));
    merchant = (await api("/v1/merchants/me")).body.id as string;
    zoe = await newCustomer({ name: "Zoë Martin", emails: ["zoe.martin@boutique.fr"] });
    hugo = await newCustomer({
      name: "Hugo Laurent",
      emails: ["hugo.laurent@boutique.fr"],
      phones: ["+33 6 12 34 56 78"],
      address: { line1: "12 rue des Lilas", city: "Lyon", postcode: "69003", country: "FR" },
    });
    const purchase = await api("/v1/interactions", {
      method: "POST",
      body: {
        customerId: hugo,
        channel: "store",
        direction: "inbound",
        kind: "purchase",
        occurredAt: new Date().toISOString(),
        summary: "Winter coat, invoice F-2026-0042",
        content: "1 × winter coat, 189.00 EUR",
      },
    });
    expect(purchase.status, JSON.stringify(purchase.body)).toBe(201);
    lea = await newCustomer({ name: "李娜", emails: ["li.na@shop.example.cn"], language: "zh-CN" });
    ({ context, page } = await launchConsole(tmp, problems, dialogs, { acceptDownloads: true }));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("signs in from a link to the Consents page, which the navigation offers", async () => {
    await page.goto(`${node.url}/console/consents`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await fillSignIn(page, login);
    await page.waitForURL(/\/console\/consents$/);
    ownerStaff = await page.evaluate(
      async () => (await (await fetch("/v1/staff/me")).json()).staff.id,
    );
    await page.getByRole("heading", { name: "Consents", level: 1 }).waitFor();
    await page.getByTestId("consents-empty").getByText("No consent recorded yet.").waitFor();
    const nav = page.getByRole("navigation", { name: "Console" });
    expect(await nav.getByRole("link", { name: "Consents" }).getAttribute("aria-current")).toBe(
      "page",
    );
    await nav.getByRole("link", { name: "Requests" }).waitFor();
  });

  it("declares a purpose on consent; the node refuses one customers cannot consent to, beside the form", async () => {
    const purposes = page.getByTestId("purpose-table");
    // The built-in purpose every role uses by default.
    await purposes.locator('tr[data-purpose="customer_service"]').waitFor();
    const before = await ledgerSize();
    const form = page.locator("form.purpose-form");
    // A legitimate interest needs its balancing test: caught before anything is sent.
    await form.getByTestId("field-id").fill("fraud_checks");
    await form.getByTestId("field-name").fill("Fraud checks");
    await form.getByTestId("purpose-basis-select").selectOption("legitimate_interest");
    await form.getByTestId("purpose-submit").click();
    await expect
      .poll(() => fieldError(form.getByTestId("field-note")))
      .toBe("A legitimate interest needs its balancing test.");
    // Consent is a basis only for what customers can consent to: the node says so.
    await form.getByTestId("field-id").fill("newsletter");
    await form.getByTestId("field-name").fill("Newsletter");
    await form.getByTestId("purpose-basis-select").selectOption("consent");
    await form.getByTestId("purpose-submit").click();
    await expect
      .poll(() => form.getByTestId("purpose-error").textContent())
      .toContain("only a purpose customers can consent to may rest on consent");
    expect(await ledgerSize()).toBe(before);
    expect(
      ((await api("/v1/purposes")).body.purposes as { id: string }[]).map((p) => p.id),
    ).toEqual(["customer_service"]);
    await shot("purpose-refused");
    await form.getByTestId("field-id").fill("marketing_email");
    await form.getByTestId("field-name").fill("Marketing emails");
    await form.getByTestId("purpose-submit").click();
    const row = purposes.locator('tr[data-purpose="marketing_email"]');
    await row.waitFor();
    expect(await row.getByTestId("purpose-basis").textContent()).toBe("consent");
    expect(await form.getByTestId("field-id").inputValue()).toBe("");
    expect(await ledgerSize()).toBe(before + 1);
    const declared = ((await api("/v1/purposes")).body.purposes as Record<string, unknown>[]).find(
      (p) => p.id === "marketing_email",
    );
    expect(declared).toMatchObject({ name: "Marketing emails", basis: "consent", retired: false });
    expect(typeof declared?.entryIndex).toBe("number");
  });

  it("changes a declared purpose from its Edit button: the form filled in, one more entry", async () => {
    const before = await ledgerSize();
    const form = page.locator("form.purpose-form");
    await page.getByRole("button", { name: "Edit Marketing emails" }).click();
    expect(await form.getByTestId("field-id").inputValue()).toBe("marketing_email");
    expect(await form.getByTestId("purpose-basis-select").inputValue()).toBe("consent");
    await form.getByTestId("field-name").fill("Offers by email");
    await form.getByTestId("purpose-submit").click();
    await page
      .getByTestId("purpose-table")
      .locator('tr[data-purpose="marketing_email"]', { hasText: "Offers by email" })
      .waitFor();
    expect(await ledgerSize()).toBe(before + 1);
    const changed = ((await api("/v1/purposes")).body.purposes as Record<string, unknown>[]).find(
      (p) => p.id === "marketing_email",
    );
    expect(changed).toMatchObject({ name: "Offers by email", basis: "consent" });
    await shot("purposes");
    expect(await axeNow("consents")).toEqual([]);
  });

  it("records a customer's consent with the text shown; the node's refusal beside the form", async () => {
    await openCustomer(zoe);
    const consents = card("Consents");
    await consents.getByTestId("consents-empty").waitFor();
    const form = consents.locator("form.consent-form");
    const before = await ledgerSize();
    // Nothing ticked, no text: caught before anything is sent.
    await form.getByTestId("consent-submit").click();
    await form.getByText("Tick at least one purpose.").waitFor();
    await expect
      .poll(() => fieldError(form.getByTestId("consent-text")))
      .toBe("Paste the exact text the customer was shown.");
    await expect
      .poll(() => fieldError(form.getByTestId("field-textVersion")))
      .toContain("version label");
    await form.getByTestId("consent-purposes").getByLabel("Marketing by email").check();
    await form.getByTestId("consent-purposes").getByLabel("Marketing by SMS").check();
    await form.getByTestId("consent-method").selectOption("till");
    await form.getByTestId("consent-text").fill(CONSENT_TEXT);
    await form.getByTestId("field-textVersion").fill("marketing-2026-03");
    // Six years ahead: only the node knows a consent runs five at most.
    await form.getByTestId("field-validUntil").fill(isoDate(Date.now() + 6 * 365 * DAY));
    await form.getByTestId("consent-submit").click();
    await expect
      .poll(() => form.getByTestId("consent-error").textContent())
      .toContain("a consent may run at most five years");
    expect(await ledgerSize()).toBe(before);
    await shot("consent-refused");
    const until = isoDate(Date.now() + 365 * DAY);
    await form.getByTestId("field-validUntil").fill(until);
    await form.getByTestId("consent-submit").click();
    await form.getByTestId("consent-done").getByText("Consent recorded.").waitFor();
    expect(await form.getByTestId("consent-error").count()).toBe(0);
    const row = consents.getByTestId("consent-row");
    await expect.poll(() => row.count()).toBe(1);
    const text = (await row.first().textContent()) as string;
    expect(text).toContain("Marketing by email, Marketing by SMS");
    expect(text).toContain("contact");
    expect(text).toContain("At the till (text marketing-2026-03)");
    expect(await row.first().getByTestId("consent-status").textContent()).toBe("Active");
    expect(await ledgerSize()).toBe(before + 1);
    // The node has it with its evidence: the version, when it was shown, who recorded it.
    const listed = (await api(`/v1/customers/${zoe}/consents`)).body.consents as Record<
      string,
      unknown
    >[];
    expect(listed).toHaveLength(1);
    const c = listed[0] as Record<string, unknown> & {
      evidence: { textVersion: string; text: string; shownAt: string };
    };
    marketingConsent = c.id as string;
    expect(c).toMatchObject({
      customerId: zoe,
      grantee: merchant,
      purposes: ["marketing_email", "marketing_sms"],
      categories: ["contact"],
      method: "till",
      status: "active",
      validUntil: `${until}T23:59:59.000Z`,
    });
    expect(c.evidence.textVersion).toBe("marketing-2026-03");
    expect(Date.now() - Date.parse(c.evidence.shownAt)).toBeLessThan(60_000);
    expect(c.recordedBy).toBe(`merchant:${merchant}/staff:${ownerStaff}`);
    // The text itself rests in the vault: the ledger's entry holds only its commitment.
    expect(c.evidence.text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await node.db.query<{ type: string }>(
      "SELECT type FROM ledger_entries WHERE idx = $1",
      [c.entryIndex],
    );
    expect(rows[0]?.type).toBe("consent.granted");
    // The form is ready for the next one: text and purposes cleared, the version kept.
    expect(await form.getByTestId("consent-text").inputValue()).toBe("");
    expect(await form.getByTestId("field-textVersion").inputValue()).toBe("marketing-2026-03");
    // On the customer's timeline, in words, verified like every entry.
    const granted = page.getByTestId("timeline").locator('li[data-type="consent.granted"]');
    await granted.getByText("Consent given").waitFor();
    expect(await granted.textContent()).toContain("Marketing by email, Marketing by SMS");
    await granted.getByTestId("entry-verified").waitFor();
    await shot("consent-recorded");
    // A second, on paper, for analytics of purchases.
    await form.getByTestId("consent-purposes").getByLabel("Analytics").check();
    await form.getByTestId("consent-categories").getByLabel("contact", { exact: true }).uncheck();
    await form
      .getByTestId("consent-categories")
      .getByLabel("purchase history", { exact: true })
      .check();
    await form.getByTestId("consent-method").selectOption("paper");
    await form.getByTestId("consent-text").fill("I agree to the analysis of my purchases.");
    await form.getByTestId("field-textVersion").fill("analytics-v1");
    await form.getByTestId("consent-submit").click();
    await expect.poll(() => row.count()).toBe(2);
    expect(await ledgerSize()).toBe(before + 2);
  });

  it("lists the merchant's consents on the Consents page by purpose and status, filters in the address", async () => {
    await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Consents" })
      .click();
    await page.waitForURL(/\/console\/consents$/);
    const rows = page.getByTestId("consent-table").getByTestId("consent-row");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.getByTestId("consent-count").textContent()).toBe("2 consents shown");
    // Each links to its customer.
    expect(await rows.first().getByRole("link").getAttribute("href")).toBe(
      `/console/customers/${zoe}`,
    );
    await page.getByTestId("consent-filter-purpose").selectOption("marketing_email");
    await page.waitForURL(/\?purpose=marketing_email$/);
    const byPurpose = (await api("/v1/consents?purpose=marketing_email")).body.consents as {
      id: string;
    }[];
    expect(byPurpose.map((c) => c.id)).toEqual([marketingConsent]);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-consent")).toBe(marketingConsent);
    await page.getByTestId("consent-filter-status").selectOption("active");
    await page.waitForURL(/\?purpose=marketing_email&status=active$/);
    await expect.poll(() => rows.count()).toBe(1);
    await shot("consents-filtered");
    await page.getByTestId("consent-filter-status").selectOption("revoked");
    await page
      .getByTestId("consents-empty")
      .getByText("No consent matches these filters.")
      .waitFor();
    expect((await api("/v1/consents?status=revoked")).body.consents).toEqual([]);
    // Opened from the address, the filters are the page's.
    await page.goto(`${node.url}/console/consents?purpose=analytics&status=active`);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByTestId("consent-filter-purpose").inputValue()).toBe("analytics");
    expect(await page.getByTestId("consent-filter-status").inputValue()).toBe("active");
    expect(await axeNow("consents-filtered")).toEqual([]);
  });

  it("revokes a consent the customer withdrew by phone: Revoked on their page, in the list and on the node", async () => {
    await openCustomer(zoe);
    const consents = card("Consents");
    const row = consents.locator(`tr[data-consent="${marketingConsent}"]`);
    const before = await ledgerSize();
    await row.getByTestId("consent-revoke").click();
    await row.getByTestId("consent-revoke-method").selectOption("phone");
    await row.getByTestId("consent-revoke-confirm").click();
    await expect.poll(() => row.getByTestId("consent-status").textContent()).toBe("Revoked");
    expect(await row.textContent()).toContain("recorded by staff");
    expect(await row.getByTestId("consent-revoke").count()).toBe(0);
    expect(await ledgerSize()).toBe(before + 1);
    await page
      .getByTestId("timeline")
      .locator('li[data-type="consent.revoked"]')
      .getByText("Consent withdrawn")
      .waitFor();
    const revoked = (await api(`/v1/consents/${marketingConsent}`)).body;
    expect(revoked).toMatchObject({ status: "revoked", endedReason: "staff" });
    // A read for marketing now is refused, and its record says so in words, not as a code.
    const refused = await fetch(`${node.url}/v1/customers/${zoe}`, {
      headers: { authorization: `Bearer ${node.ownerKey}`, "patron-purpose": "marketing_email" },
    });
    expect(refused.status).toBe(403);
    await openCustomer(zoe);
    const record = page
      .getByTestId("access-records")
      .locator('tr[data-action="read_refused"]')
      .first();
    await record.waitFor();
    expect(await record.getByTestId("access-action").textContent()).toBe("read refused");
    expect(await record.getByTestId("access-basis").textContent()).toBe(
      "marketing_email (no consent covered it)",
    );
    // The other consent stands.
    const others = consents.locator(`tr[data-consent]:not([data-consent="${marketingConsent}"])`);
    expect(await others.getByTestId("consent-status").textContent()).toBe("Active");
    await page.goto(`${node.url}/console/consents?status=revoked`);
    const rows = page.getByTestId("consent-table").getByTestId("consent-row");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-consent")).toBe(marketingConsent);
    await page.getByTestId("consent-filter-status").selectOption("active");
    await page.waitForURL(/\?status=active$/);
    // The list read again for the new filter (the last one stays shown until it comes).
    await expect
      .poll(
        async () => (await rows.count()) === 1 && (await rows.first().getAttribute("data-consent")),
      )
      .not.toBe(marketingConsent);
  });

  it("emails a double opt-in link: the consent is recorded once the customer confirms it", async () => {
    await openCustomer(lea);
    const consents = card("Consents");
    await consents.getByTestId("consents-empty").waitFor();
    const form = consents.locator("form.consent-form");
    await form.getByTestId("consent-purposes").getByLabel("Personalisation").check();
    await form.getByTestId("consent-method").selectOption("double_opt_in");
    // The link goes to the customer's email, theirs by default.
    expect(await form.getByTestId("field-email").inputValue()).toBe("li.na@shop.example.cn");
    await form.getByTestId("consent-text").fill("我同意根据我的购买记录个性化推荐。");
    await form.getByTestId("field-textVersion").fill("personalisation-zh-1");
    const before = await ledgerSize();
    await form.getByRole("button", { name: "Email the opt-in link" }).click();
    await form.getByTestId("consent-done").getByText("Link sent.", { exact: false }).waitFor();
    // Nothing is recorded until the customer confirms.
    expect(await ledgerSize()).toBe(before);
    expect((await api(`/v1/customers/${lea}/consents`)).body.consents).toEqual([]);
    const mail = ((await api("/v1/outbox")).body.messages as { to: string; text: string }[]).find(
      (m) => m.to === "li.na@shop.example.cn",
    );
    const link =
      /\/v1\/consent-requests\/(cr_[A-Za-z0-9_-]+)\/confirm\?token=([A-Za-z0-9_-]+)/.exec(
        mail?.text ?? "",
      );
    expect(link).not.toBeNull();
    const confirmed = await fetch(`${node.url}/v1/consent-requests/${link?.[1]}/confirm-link`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${link?.[2]}`,
    });
    expect(confirmed.status).toBe(200);
    expect(await ledgerSize()).toBe(before + 1);
    await page.reload();
    const row = card("Consents").getByTestId("consent-row");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("Double opt-in by email (text personalisation-zh-1)");
    expect(await row.getByTestId("consent-status").textContent()).toBe("Active");
    const listed = (await api(`/v1/customers/${lea}/consents`)).body.consents as {
      method: string;
      evidence: { requestId: string };
    }[];
    expect(listed).toEqual([
      expect.objectContaining({ method: "double_opt_in", purposes: ["personalisation"] }),
    ]);
    expect(listed[0]?.evidence.requestId).toBe(link?.[1]);
  });

  it("invites the customer to claim their profile: a code, a link and a QR code with an accessible name", async () => {
    await openCustomer(zoe);
    const key = card("Key");
    await key.getByTestId("customer-key-none").getByText("No key yet.").waitFor();
    const before = await ledgerSize();
    await key.getByTestId("invite-create").click();
    const result = key.getByTestId("invite-result");
    await result.waitFor();
    const code = (await result.getByTestId("invite-code").textContent()) as string;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    // The link carries the code in its fragment, to the portal's claim page.
    await result.getByText(`/me/claim/${merchant}#code=${code}`, { exact: false }).waitFor();
    // The QR code is an image with a name, drawn from the node's SVG (never put in as markup).
    const qr = result.getByRole("img", {
      name: "QR code of the invite link, for the customer's phone",
    });
    await qr.waitFor();
    await expect
      .poll(() => qr.evaluate((i) => (i as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);
    const src = (await qr.getAttribute("src")) as string;
    expect(src.startsWith("data:image/svg+xml")).toBe(true);
    expect(decodeURIComponent(src.slice(src.indexOf(",") + 1))).toMatch(/<svg[\s>]/);
    // The invite is listed, open; the node keeps it without its code.
    const invites = key.getByTestId("invite-row");
    await expect.poll(() => invites.count()).toBe(1);
    expect(await invites.first().textContent()).toContain("Open");
    const listed = (await api(`/v1/customers/${zoe}/invites`)).body.invites as Record<
      string,
      unknown
    >[];
    expect(listed).toEqual([expect.objectContaining({ claimed: false })]);
    expect(JSON.stringify(listed)).not.toContain(code);
    // An invite is no ledger entry: the code's hash waits in the node's table.
    expect(await ledgerSize()).toBe(before);
    await shot("invite");
    expect(await axeNow("customer-invite")).toEqual([]);
    // Zoë claims it from her phone: her key signs customer.claim with the code.
    zoeKey = ed25519Signer();
    const claimed = await fetch(`${node.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(command(zoeKey, "customer.claim", { code })),
    });
    expect(claimed.status, await claimed.text()).toBe(201);
    await page.reload();
    await key.getByTestId("customer-key").getByText(zoeKey.did).waitFor();
    expect(await key.getByTestId("invite-create").count()).toBe(0);
    expect((await api(`/v1/customers/${zoe}/invites`)).body.invites).toEqual([
      expect.objectContaining({ claimed: true }),
    ]);
  });

  it("starts a recovery to a new did:key: refusals beside the key, the time-lock counting down, then cancels it", async () => {
    const key = card("Key");
    const form = key.locator("form.recovery-form");
    const field = form.getByTestId("field-key");
    const before = await ledgerSize();
    // Not a did:key at all: caught before anything is sent.
    await field.fill("did:key:not-a-key");
    await form.getByTestId("recovery-checks").getByLabel("Identity document").check();
    await form.getByTestId("recovery-start").click();
    await expect.poll(() => fieldError(field)).toBe("This is not a did:key.");
    // Well formed, but a secp256k1 key: the node decodes it and refuses it, beside the field.
    await field.fill(SECP256K1_DID);
    await form.getByTestId("recovery-start").click();
    await expect.poll(() => fieldError(field)).toContain("unsupported key type secp256k1");
    // The key she has now is no new key.
    await field.fill(zoeKey.did);
    await form.getByTestId("recovery-start").click();
    await expect.poll(() => fieldError(field)).toContain("already known here");
    expect(await ledgerSize()).toBe(before);
    expect(((await api(`/v1/customers/${zoe}/key`)).body.recoveries as unknown[]).length).toBe(0);
    await shot("recovery-refused");
    // Her new phone's key.
    const lost = ed25519Signer();
    await field.fill(lost.did);
    await form.getByTestId("recovery-checks").getByLabel("In person").check();
    const started = Date.now();
    await form.getByTestId("recovery-start").click();
    const recovery = key.getByTestId("recovery");
    await recovery.waitFor();
    expect(await recovery.getByTestId("recovery-status").textContent()).toBe("In its time-lock");
    expect(await recovery.textContent()).toContain(lost.did);
    // 72 hours by default, counted down to the second.
    const first = (await recovery.getByTestId("recovery-countdown").textContent()) as string;
    expect(first).toMatch(/^2 d 23 h 5\d min \d{1,2} s left$/);
    await expect
      .poll(() => recovery.getByTestId("recovery-countdown").textContent(), { timeout: 5000 })
      .not.toBe(first);
    // Not to complete before the time-lock ends; one recovery at a time.
    expect(await recovery.getByTestId("recovery-complete").isDisabled()).toBe(true);
    const hint = (await recovery
      .getByTestId("recovery-complete")
      .getAttribute("aria-describedby")) as string;
    expect(await page.locator(`[id="${hint}"]`).textContent()).toBe(
      "Completes once the time-lock ends.",
    );
    expect(await key.locator("form.recovery-form").count()).toBe(0);
    expect(await ledgerSize()).toBe(before + 1);
    const onNode = (await api(`/v1/customers/${zoe}/key`)).body as {
      key: string;
      recoveries: Record<string, unknown>[];
    };
    expect(onNode.key).toBe(zoeKey.did);
    expect(onNode.recoveries).toHaveLength(1);
    const r = onNode.recoveries[0] as { id: string; completesAt: string };
    expect(onNode.recoveries[0]).toMatchObject({
      oldKey: zoeKey.did,
      newKey: lost.did,
      status: "pending",
    });
    expect(Math.abs(Date.parse(r.completesAt) - (started + 72 * HOUR))).toBeLessThan(60_000);
    expect(await recovery.getAttribute("data-recovery")).toBe(r.id);
    await shot("recovery");
    expect(await axeNow("customer-recovery")).toEqual([]);
    await recovery.getByTestId("recovery-cancel").click();
    await expect
      .poll(() => recovery.getByTestId("recovery-status").textContent())
      .toBe("Cancelled");
    expect(dialogs.at(-1)).toContain("Cancel this recovery?");
    expect(await recovery.getByTestId("recovery-countdown").count()).toBe(0);
    expect(await recovery.getByTestId("recovery-cancel").count()).toBe(0);
    expect(await ledgerSize()).toBe(before + 2);
    const after = (await api(`/v1/customers/${zoe}/key`)).body as {
      key: string;
      recoveries: Record<string, unknown>[];
    };
    expect(after.key).toBe(zoeKey.did);
    expect(after.recoveries[0]).toMatchObject({ id: r.id, status: "cancelled" });
    const timeline = page.getByTestId("timeline");
    await timeline.getByText("Key recovery cancelled").waitFor();
    await timeline.getByText("Key recovery started").waitFor();
    await timeline.getByText("Key bound").waitFor();
    // Another recovery may start again.
    await key.locator("form.recovery-form").waitFor();
    await key.getByTestId("customer-key").getByText(zoeKey.did).waitFor();
  });

  it("sets a retention policy and edits it: refusals beside the fields, each change an entry", async () => {
    await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Requests" })
      .click();
    await page.waitForURL(/\/console\/requests$/);
    await page.getByRole("heading", { name: "Requests", level: 1 }).waitFor();
    const policies = card("Retention policies");
    await policies.getByText("No policy: an erasure keeps nothing.").waitFor();
    const form = policies.locator("form.policy-form");
    const before = await ledgerSize();
    await form.getByTestId("field-id").fill("Invoices");
    await form.getByTestId("field-name").fill("Invoices");
    await form.getByTestId("field-years").fill("40");
    await form.getByTestId("policy-submit").click();
    await expect
      .poll(() => fieldError(form.getByTestId("field-id")))
      .toBe("Lower-case letters, digits and _, starting with a letter.");
    await expect
      .poll(() => fieldError(form.getByTestId("field-note")))
      .toBe("Say which law or rule requires keeping.");
    await expect
      .poll(() => fieldError(form.getByTestId("field-years")))
      .toBe("From 1 to 30 years.");
    expect(await ledgerSize()).toBe(before);
    await form.getByTestId("field-id").fill("invoices");
    await form
      .getByTestId("field-note")
      .fill("Commercial code art. L123-22: accounting records are kept 10 years");
    await form.getByTestId("field-years").fill("10");
    // Nothing ticked to keep: the console says so beside the choices, and sends nothing.
    let sent = 0;
    const count = (r: Request) => {
      if (r.method() === "PUT" && r.url().includes("/v1/retention-policies/")) sent++;
    };
    page.on("request", count);
    await form.getByTestId("policy-submit").click();
    const choices = form.getByTestId("policy-fields");
    const keepsNothing = "Tick at least one field or kind of interaction to keep.";
    await choices.getByText(keepsNothing).waitFor();
    const describedBy = (await choices.getAttribute("aria-describedby")) ?? "";
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(keepsNothing);
    expect(await form.getByRole("alert").count()).toBe(0);
    page.off("request", count);
    expect(sent).toBe(0);
    expect(await ledgerSize()).toBe(before);
    await form.getByTestId("policy-fields").getByLabel("Name").check();
    await form.getByTestId("policy-fields").getByLabel("Address").check();
    await form.getByTestId("policy-kinds").getByLabel("Purchase").check();
    // Once a box is ticked, the message goes.
    await expect.poll(() => choices.getByText(keepsNothing).count()).toBe(0);
    await form.getByTestId("policy-submit").click();
    const row = policies.locator('tr[data-policy="invoices"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("Name, Address; Purchase");
    expect(await ledgerSize()).toBe(before + 1);
    // Edit: the form takes the policy as it is; a change replaces it.
    await policies.getByRole("button", { name: "Edit Invoices" }).click();
    expect(await form.getByTestId("field-id").inputValue()).toBe("invoices");
    expect(await form.getByTestId("field-years").inputValue()).toBe("10");
    expect(await form.getByTestId("policy-fields").getByLabel("Address").isChecked()).toBe(true);
    expect(await form.getByTestId("policy-kinds").getByLabel("Purchase").isChecked()).toBe(true);
    await form.getByTestId("field-years").fill("6");
    await form.getByTestId("policy-fields").getByLabel("Address").uncheck();
    await form.getByTestId("policy-submit").click();
    await expect.poll(() => row.locator("td").nth(1).textContent()).toBe("6");
    expect(await row.textContent()).toContain("Name; Purchase");
    expect(await ledgerSize()).toBe(before + 2);
    expect((await api("/v1/retention-policies")).body.policies).toEqual([
      {
        id: "invoices",
        name: "Invoices",
        note: "Commercial code art. L123-22: accounting records are kept 10 years",
        years: 6,
        fields: ["name"],
        interactionKinds: ["purchase"],
      },
    ]);
    await shot("retention-policies");
  });

  it("shows the node's refusal to remove a policy a colleague removed meanwhile, and reads the list again", async () => {
    const set = await api("/v1/retention-policies/loyalty_log", {
      method: "PUT",
      body: {
        name: "Loyalty log",
        note: "Loyalty scheme terms, art. 9",
        years: 2,
        interactionKinds: ["purchase"],
      },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await page.reload();
    const policies = card("Retention policies");
    const row = policies.locator('tr[data-policy="loyalty_log"]');
    await row.waitFor();
    expect((await api("/v1/retention-policies/loyalty_log", { method: "DELETE" })).status).toBe(
      204,
    );
    const before = await ledgerSize();
    await row.getByTestId("policy-remove").click();
    expect(dialogs.at(-1)).toContain("Remove the policy “Loyalty log”?");
    await policies.getByRole("alert").getByText("no retention policy loyalty_log").waitFor();
    // The list is read again: the policy is gone, the other stays.
    await expect.poll(() => row.count()).toBe(0);
    await policies.locator('tr[data-policy="invoices"]').waitFor();
    expect(await ledgerSize()).toBe(before);
  });

  it("records a request received by email, then its identity checks, then extends it", async () => {
    await openCustomer(hugo);
    const requests = card("Data-subject requests");
    await requests.getByText("No request from this customer.").waitFor();
    const form = requests.locator("form.request-form");
    const before = await ledgerSize();
    await form.getByTestId("request-kind").selectOption("erasure");
    await form.getByTestId("request-channel").selectOption("email");
    await form.getByTestId("request-submit").click();
    const request = requests.getByTestId("request");
    await request.waitFor();
    expect(await request.getByTestId("request-status").textContent()).toBe(
      "Waiting for identity checks",
    );
    expect(await request.textContent()).toContain("none yet");
    // Nothing to carry out before the requester is identified.
    expect(await request.getByTestId("request-execute").count()).toBe(0);
    expect(await ledgerSize()).toBe(before + 1);
    const listed = (await api(`/v1/subject-requests?customer=${hugo}`)).body.requests as Record<
      string,
      unknown
    >[];
    expect(listed).toHaveLength(1);
    const r = listed[0] as { id: string; receivedAt: string; dueAt: string };
    erasureId = r.id;
    expect(listed[0]).toMatchObject({
      kind: "erasure",
      channel: "email",
      status: "received",
      checks: [],
      extended: false,
    });
    expect(r.dueAt).toBe(addMonths(Date.parse(r.receivedAt), 1));
    expect(await request.getByTestId("request-due").locator("time").getAttribute("datetime")).toBe(
      r.dueAt,
    );
    await page.getByTestId("timeline").getByText("Request received: Erasure").waitFor();
    // The queue, soonest deadline first, each with a link to its customer.
    await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "Requests" })
      .click();
    const queue = page.getByTestId("request-queue");
    const card1 = queue.locator(`li[data-request="${erasureId}"]`);
    await card1.waitFor();
    expect(await page.getByTestId("request-count").textContent()).toBe("1 request");
    expect(await card1.getByRole("link").getAttribute("href")).toBe(`/console/customers/${hugo}`);
    // Identity checks: none ticked, nothing to save.
    await card1.getByTestId("request-verify").click();
    expect(await card1.getByTestId("request-verify").getAttribute("aria-expanded")).toBe("true");
    expect(await card1.getByTestId("request-verify-submit").isDisabled()).toBe(true);
    await card1.getByLabel("Identity document").check();
    await card1.getByTestId("request-verify-submit").click();
    await expect.poll(() => card1.getByTestId("request-status").textContent()).toBe("Verified");
    expect(await card1.textContent()).toContain("Identity document");
    expect(await ledgerSize()).toBe(before + 2);
    expect((await api(`/v1/subject-requests/${erasureId}`)).body).toMatchObject({
      status: "verified",
      checks: ["id_document"],
    });
    // Extend: a reason must be chosen, then by how many months.
    await card1.getByTestId("request-extend").click();
    await card1.getByTestId("request-extend-submit").click();
    const reason = card1.getByLabel("Reason", { exact: true });
    await expect.poll(() => fieldError(reason)).toBe("Choose a reason.");
    expect(await ledgerSize()).toBe(before + 2);
    await reason.selectOption("complexity");
    await card1.getByLabel("By", { exact: true }).selectOption("2");
    await card1.getByTestId("request-extend-submit").click();
    await card1.getByText("Extended", { exact: true }).waitFor();
    expect(await card1.getByTestId("request-extend").count()).toBe(0);
    expect(await ledgerSize()).toBe(before + 3);
    const extended = (await api(`/v1/subject-requests/${erasureId}`)).body;
    expect(extended).toMatchObject({ status: "verified", extended: true });
    expect(extended.dueAt).toBe(addMonths(Date.parse(r.dueAt), 2));
    expect(await card1.getByTestId("request-due").locator("time").getAttribute("datetime")).toBe(
      extended.dueAt,
    );
    await shot("request-extended");
  });

  it("rejects a request with a reason; a colleague's rejection meanwhile comes back as the node's refusal", async () => {
    const one = await api(`/v1/customers/${lea}/requests`, {
      method: "POST",
      body: { kind: "access", channel: "post" },
    });
    expect(one.status).toBe(201);
    rejectedId = one.body.id as string;
    const two = await api(`/v1/customers/${lea}/requests`, {
      method: "POST",
      body: { kind: "rectification", channel: "phone" },
    });
    expect(two.status).toBe(201);
    await page.reload();
    const queue = page.getByTestId("request-queue");
    await expect.poll(() => queue.getByTestId("request").count()).toBe(3);
    const card1 = queue.locator(`li[data-request="${rejectedId}"]`);
    const before = await ledgerSize();
    await card1.getByTestId("request-reject").click();
    await card1.getByTestId("request-reject-submit").click();
    await expect
      .poll(() => fieldError(card1.getByLabel("Reason", { exact: true })))
      .toBe("Choose a reason.");
    expect(await ledgerSize()).toBe(before);
    await card1.getByLabel("Reason", { exact: true }).selectOption("manifestly_unfounded");
    await card1.getByTestId("request-reject-submit").click();
    // Closed: it leaves the open queue; the page says so, and the focus goes there.
    await expect.poll(() => card1.count()).toBe(0);
    const closedHere = page.getByTestId("requests-closed-here");
    await closedHere
      .locator(`[data-request="${rejectedId}"]`)
      .getByText("Access request rejected, for customer")
      .waitFor();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-testid")))
      .toBe("requests-closed-here");
    expect(await ledgerSize()).toBe(before + 1);
    expect((await api(`/v1/subject-requests/${rejectedId}`)).body).toMatchObject({
      status: "rejected",
      reason: "manifestly_unfounded",
    });
    // A colleague rejects the other while this page still shows it open.
    const other = queue.locator(`li[data-request="${two.body.id as string}"]`);
    await other.waitFor();
    const closed = await api(`/v1/subject-requests/${two.body.id as string}/reject`, {
      method: "POST",
      body: { reason: "excessive" },
    });
    expect(closed.status).toBe(200);
    const mid = await ledgerSize();
    await other.getByTestId("request-verify").click();
    await other.getByLabel("Verified phone").check();
    await other.getByTestId("request-verify-submit").click();
    await other.getByRole("alert").getByText("is already rejected").waitFor();
    expect(await ledgerSize()).toBe(mid);
    await shot("request-refused");
    expect(await axeNow("requests")).toEqual([]);
    await page.getByTestId("requests-closed").click();
    await page.waitForURL(/\?status=closed$/);
    const done = queue.locator(`li[data-request="${rejectedId}"]`);
    await done.waitFor();
    expect(await done.getByTestId("request-status").textContent()).toBe("Rejected");
    expect(await done.textContent()).toContain("Manifestly unfounded");
    expect(await done.getByTestId("request-reject").count()).toBe(0);
    expect(await page.getByTestId("requests-closed").getAttribute("aria-pressed")).toBe("true");
  });

  it("carries out the erasure: the customer erased, and the hold the retention policy keeps shown on their page", async () => {
    await page.getByTestId("requests-open").click();
    const queue = page.getByTestId("request-queue");
    const request = queue.locator(`li[data-request="${erasureId}"]`);
    await request.waitFor();
    const before = await ledgerSize();
    await request.getByTestId("request-execute").click();
    expect(dialogs.at(-1)).toContain("Erase this customer now?");
    await expect.poll(() => request.count()).toBe(0);
    await page
      .getByTestId("requests-closed-here")
      .locator(`[data-request="${erasureId}"]`)
      .getByText("Erasure carried out, for customer")
      .waitFor();
    // The erasure, then the request closed naming it.
    expect(await ledgerSize()).toBe(before + 2);
    const closed = (await api(`/v1/subject-requests/${erasureId}`)).body;
    expect(closed).toMatchObject({ status: "completed" });
    expect((await api(`/v1/customers/${hugo}`)).body.status).toBe("erased");
    const holds = (await api(`/v1/customers/${hugo}/retention`)).body.holds as {
      policyId: string;
      until: string;
      values: number;
      shreddedIndex: number | null;
    }[];
    expect(holds).toHaveLength(1);
    expect(holds[0]).toMatchObject({ policyId: "invoices", shreddedIndex: null });
    expect(holds[0]?.values).toBeGreaterThan(0);
    // Six years from the purchase it keeps.
    expect(holds[0]?.until.slice(0, 4)).toBe(String(new Date().getUTCFullYear() + 6));
    await openCustomer(hugo);
    await page.getByRole("heading", { name: "Erased customer", level: 1 }).waitFor();
    const retention = card("Retention");
    const hold = retention.getByTestId("retention-hold");
    await hold.waitFor();
    const text = (await hold.textContent()) as string;
    expect(text).toContain("Invoices");
    expect(text).toContain("Commercial code art. L123-22");
    expect(text).toContain(String(holds[0]?.values));
    expect(text).toContain("Held");
    expect(await hold.locator("time").getAttribute("datetime")).toBe(holds[0]?.until);
    // The request, completed, on the erased customer's page; nothing to record any more.
    const requests = card("Data-subject requests");
    await expect
      .poll(() => requests.getByTestId("request-status").first().textContent())
      .toBe("Completed");
    expect(await requests.locator("form.request-form").count()).toBe(0);
    expect(await card("Consents").locator("form.consent-form").count()).toBe(0);
    expect(await card("Key").getByTestId("invite-create").count()).toBe(0);
    await page.getByTestId("timeline").getByText("Customer erased").waitFor();
    await shot("retention-hold");
    expect(await axeNow("customer-erased")).toEqual([]);
  });

  it("carries out an export from the queue: the bundle to download stays once the request has left it", async () => {
    const recorded = await api(`/v1/customers/${lea}/requests`, {
      method: "POST",
      body: { kind: "export", channel: "in_person", checks: ["in_person"] },
    });
    expect(recorded.status).toBe(201);
    const id = recorded.body.id as string;
    await page.goto(`${node.url}/console/requests`);
    const request = page.getByTestId("request-queue").locator(`li[data-request="${id}"]`);
    expect(await request.getByTestId("request-status").textContent()).toBe("Verified");
    await request.getByRole("button", { name: "Prepare the export" }).click();
    await expect.poll(() => request.count()).toBe(0);
    const done = page.getByTestId("requests-closed-here").locator(`[data-request="${id}"]`);
    await done.getByText("Export carried out, for customer").waitFor();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      done.getByTestId("request-export-download").click(),
    ]);
    expect(download.suggestedFilename()).toBe(`patron-export-${lea}.json`);
    const file = join(tmp, "export.json");
    await download.saveAs(file);
    const bundle = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(bundle.format).toBe("patron-export/v1");
    expect(JSON.stringify(bundle)).toContain("personalisation-zh-1");
    expect((await api(`/v1/subject-requests/${id}`)).body.status).toBe("completed");
    await shot("request-export");
  });

  it("carries out a rectification with the corrected fields; the node's refusal beside the form", async () => {
    const recorded = await api(`/v1/customers/${lea}/requests`, {
      method: "POST",
      body: { kind: "rectification", channel: "email", checks: ["verified_email"] },
    });
    expect(recorded.status).toBe(201);
    const id = recorded.body.id as string;
    await page.reload();
    const request = page.getByTestId("request-queue").locator(`li[data-request="${id}"]`);
    await request.getByRole("button", { name: "Correct the data" }).click();
    expect(
      await request.getByRole("button", { name: "Correct the data" }).getAttribute("aria-expanded"),
    ).toBe("true");
    // Nothing filled in: nothing to send.
    expect(await request.getByTestId("rectify-submit").isDisabled()).toBe(true);
    const before = await ledgerSize();
    await request.getByTestId("rectify-email").fill("li.na-at-new-shop");
    await request.getByTestId("rectify-submit").click();
    // The node's refusal, beside the field it is about.
    await expect
      .poll(() => fieldError(request.getByTestId("rectify-email")))
      .toBe('"li.na-at-new-shop" is not an email address');
    expect(await ledgerSize()).toBe(before);
    expect((await api(`/v1/subject-requests/${id}`)).body.status).toBe("verified");
    await shot("request-rectify-refused");
    await request.getByTestId("rectify-email").fill("li.na@new-shop.example.cn");
    await request.getByTestId("rectify-name").fill("李娜 (Li Na)");
    await request.getByTestId("rectify-submit").click();
    await expect.poll(() => request.count()).toBe(0);
    await page
      .getByTestId("requests-closed-here")
      .locator(`[data-request="${id}"]`)
      .getByText("Rectification carried out, for customer")
      .waitFor();
    // The update, then the request closed naming it.
    expect(await ledgerSize()).toBe(before + 2);
    expect((await api(`/v1/customers/${lea}`)).body).toMatchObject({
      name: "李娜 (Li Na)",
      emails: ["li.na@new-shop.example.cn"],
    });
    expect((await api(`/v1/subject-requests/${id}`)).body.status).toBe("completed");
  });

  it("switches the privacy pages to Chinese, with no axe violation there either", async () => {
    await page.goto(`${node.url}/console/requests?status=closed`);
    await page.getByTestId("request-queue").waitFor();
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "数据主体请求", level: 1 }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    await page
      .getByRole("navigation", { name: "控制台" })
      .getByRole("link", { name: "数据请求" })
      .waitFor();
    const done = page.locator(`li[data-request="${rejectedId}"]`);
    expect(await done.getByTestId("request-status").textContent()).not.toBe("Rejected");
    // A retention policy that keeps nothing: refused in Chinese by the console itself.
    const policyForm = page.locator("form.policy-form");
    await policyForm.getByTestId("policy-submit").click();
    await policyForm
      .getByTestId("policy-fields")
      .getByText("请至少勾选一个要保留的字段或互动类型。")
      .waitFor();
    await shot("requests-zh");
    const found = await axeNow("requests-zh");
    await page.goto(`${node.url}/console/customers/${zoe}`);
    await page.getByTestId("profile-name").first().waitFor();
    await card("同意").getByTestId("consent-row").first().waitFor();
    await page.waitForLoadState("networkidle");
    found.push(...(await axeNow("customer-privacy-zh")));
    await page.goto(`${node.url}/console/consents`);
    await page.getByTestId("consent-row").first().waitFor();
    found.push(...(await axeNow("consents-zh")));
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Consents", level: 1 }).waitFor();
    expect(found).toEqual([]);
  });

  it("has no axe violation on the customer's privacy cards as they are now, on a desktop and a phone", async () => {
    await openCustomer(zoe);
    await card("Consents").getByTestId("consent-row").first().waitFor();
    await card("Key").getByTestId("recovery").waitFor();
    await shot("customer-privacy");
    expect(await axeNow("customer-privacy")).toEqual([]);
    await openCustomer(lea);
    await card("Data-subject requests").getByTestId("request").first().waitFor();
    expect(await axeNow("customer-requests")).toEqual([]);
    expect(problems).toEqual([]);
  });

  describe("as an auditor", () => {
    let browser: Browser;
    let auditor: Page;

    beforeAll(async () => {
      ({ browser, page: auditor } = await signInStaff(
        node,
        api,
        { email: "audit@boutique.fr", role: "auditor", password: "an auditor's long secret" },
        problems,
      ));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it("reads consents and purposes without a control to change them", async () => {
      await auditor.goto(`${node.url}/console/consents`);
      await auditor.getByTestId("consent-row").first().waitFor();
      await auditor
        .getByTestId("purpose-table")
        .locator('tr[data-purpose="marketing_email"]')
        .waitFor();
      expect(await auditor.getByTestId("purpose-edit").count()).toBe(0);
      expect(await auditor.locator("form.purpose-form").count()).toBe(0);
      await auditor.goto(`${node.url}/console/customers/${zoe}`);
      await card("Consents", auditor).getByTestId("consent-row").first().waitFor();
      await card("Key", auditor).getByTestId("recovery").waitFor();
      await auditor.waitForLoadState("networkidle");
      expect(await auditor.getByTestId("consent-revoke").count()).toBe(0);
      expect(await auditor.locator("form.consent-form").count()).toBe(0);
      expect(await auditor.locator("form.recovery-form").count()).toBe(0);
      expect(await auditor.locator("form.request-form").count()).toBe(0);
      // Léa has no key: still no invite to make.
      await auditor.goto(`${node.url}/console/customers/${lea}`);
      await card("Key", auditor).getByTestId("customer-key-none").waitFor();
      await card("Data-subject requests", auditor).getByTestId("request").first().waitFor();
      expect(await auditor.getByTestId("invite-create").count()).toBe(0);
      expect(await axeNow("customer-auditor", auditor)).toEqual([]);
    });

    it("reads the request queue and the policies without a control to move them on", async () => {
      const open = await api(`/v1/customers/${lea}/requests`, {
        method: "POST",
        body: { kind: "export", channel: "in_person" },
      });
      expect(open.status).toBe(201);
      await auditor.goto(`${node.url}/console/requests`);
      await auditor.locator(`li[data-request="${open.body.id as string}"]`).waitFor();
      await auditor.locator('tr[data-policy="invoices"]').waitFor();
      for (const id of [
        "request-verify",
        "request-extend",
        "request-reject",
        "request-execute",
        "policy-remove",
        "policy-edit",
        "policy-submit",
      ]) {
        expect(await auditor.getByTestId(id).count(), id).toBe(0);
      }
      expect(await axeNow("requests-auditor", auditor)).toEqual([]);
    });

    it("is refused by the node what the pages do not offer", async () => {
      const refused = await auditor.evaluate(
        async ({ consent, customer, request }) => {
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
            await send("POST", `/v1/consents/${consent}/revoke`, { method: "phone" }),
            await send("POST", `/v1/customers/${customer}/invites`, {}),
            await send("POST", `/v1/customers/${customer}/requests`, {
              kind: "access",
              channel: "email",
            }),
            await send("POST", `/v1/subject-requests/${request}/extend`, {
              months: 1,
              reason: "complexity",
            }),
            await send("PUT", "/v1/retention-policies/invoices", {
              name: "x",
              note: "y",
              years: 1,
            }),
            await send("PUT", "/v1/purposes/analytics", { name: "x", basis: "consent" }),
          ];
        },
        { consent: marketingConsent, customer: lea, request: rejectedId },
      );
      expect(refused).toEqual(Array(6).fill("403 forbidden"));
      expect(problems).toEqual([]);
    });
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeDidKey } from "@patron/ledger";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { type PatronNode, startNode } from "../../server/src/node.js";
import {
  CHROMIUM_ARGS as ARGS,
  CHROMIUM,
  haveBrowser,
} from "../../server/src/test-support/chromium.js";
import { axeChecker, buildWeb, requireChromium } from "./browser-support.js";

// The customer portal as a customer uses it: a real node (PGlite, no chain) serving a fresh
// build of packages/web, driven in Debian's chromium. Keys are real: an Ed25519 key derived in
// the page from a root secret kept in IndexedDB, and a passkey held by Chromium's virtual
// authenticator (CDP WebAuthn domain). Screenshots of every page, on a desktop and on a phone,
// go to test-artifacts/portal/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/portal/", import.meta.url));
requireChromium("portal");

const PASSPHRASE = "lantern orchard copper violin";

describe.runIf(haveBrowser)("customer portal in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let browser: Browser;
  let merchant: { id: string; name: string };
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const found: string[] = [];
  let backupText = "";
  // The node's clock runs with the real one, moved on by `later` to pass a recovery's time-lock;
  // pages opened after that move their Date with it, so the commands they sign are current.
  let later = 0;
  const clock = { now: () => Date.now() + later };
  let customerId = "";
  let firstKey = "";

  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${node.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${node.ownerKey}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const signedEntries = async (type: string) => {
    const { rows } = await node.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM ledger_entries WHERE type = $1",
      [type],
    );
    return Number(rows[0]?.n);
  };

  /** A fresh browser profile (its own IndexedDB), watched for errors and CSP violations. */
  const newPage = async (name: string): Promise<Page> => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      locale: "en-GB",
      acceptDownloads: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) {
        problems.push(`${name}: console error: ${msg.text()}`);
      }
    });
    return page;
  };

  /** axe-core against WCAG 2.2 AA on the page as it is, desktop and phone, each screenshotted. */
  const axeCheck = axeChecker(artifacts);
  const axe = async (page: Page, name: string) => {
    found.push(...(await axeCheck(page, name)));
  };

  /** The signing dialog: checks what it says, then signs. */
  const signInDialog = async (page: Page, says: RegExp, shot?: string) => {
    const dialog = page.getByTestId("sign-dialog");
    await dialog.waitFor();
    expect(await page.getByTestId("sign-what").textContent()).toMatch(says);
    if (shot) await axe(page, shot);
    const type = await dialog.getAttribute("data-command-type");
    await page.getByTestId("sign-confirm").click();
    // Closed, or showing the next signature of a pair.
    await page
      .locator(`[data-testid="sign-dialog"][data-command-type="${type}"]`)
      .waitFor({ state: "detached" });
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "patron-portal-"));
    const webRoot = join(tmp, "web");
    mkdirSync(webRoot);
    mkdirSync(artifacts, { recursive: true });
    const config = {
      ...loadConfig({
        PATRON_CHAIN: "off",
        PATRON_DEMO_DATA: "0",
        PATRON_RECOVERY_SWEEP_MS: "200",
      }),
      dataDir: join(tmp, "data"),
      port: 0,
      host: "127.0.0.1",
      webRoot,
    };
    await buildWeb(webRoot);
    node = await startNode(config, { listen: true, clock });
    const me = await api("/v1/merchants/me");
    merchant = { id: me.body.id as string, name: me.body.name as string };
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe("on a device without passkeys (a key kept in the browser)", () => {
    let page: Page;

    it("has no accounts at first, and says how to get one", async () => {
      page = await newPage("first");
      await page.goto(`${node.url}/me`);
      await page.getByTestId("no-accounts").waitFor();
      // Nothing to back up yet: no backup is offered, only the restore.
      expect(await page.getByTestId("go-backup").count()).toBe(0);
      await axe(page, "home-empty");
      await page.goto(`${node.url}/me/backup`);
      await page.getByTestId("backup-nothing").waitFor();
      expect(await page.getByTestId("backup-make").count()).toBe(0);
      await axe(page, "backup-empty");
    });

    it("joins by the merchant's link: bad input is refused in the page, the signature is shown first", async () => {
      const join = await api(`/v1/merchants/${merchant.id}/join`);
      expect(join.body.url).toBe(`${node.url}/me/join/${merchant.id}`);
      await page.goto(join.body.url as string);
      await page.getByRole("heading", { level: 1, name: `Join ${merchant.name}` }).waitFor();
      // Without a secure domain (127.0.0.1), the key is the browser's own.
      expect(await page.getByTestId("key-kind-passkey").isDisabled()).toBe(true);
      expect(await page.getByTestId("key-kind-ed25519").isChecked()).toBe(true);
      await axe(page, "join");
      const before = await signedEntries("customer.created");
      await page.getByTestId("field-name").fill("Zoë Martin");
      await page.getByTestId("field-email").fill("zoe-at-example");
      await page.getByTestId("field-birthday").fill("2099-01-01");
      await page.getByTestId("join-submit").click();
      await page.getByText("Enter an email address").waitFor();
      await page.getByText("Enter a real date").waitFor();
      expect(await page.getByTestId("sign-dialog").count()).toBe(0);
      await axe(page, "join-invalid");
      await page.getByTestId("field-email").fill("zoe@example.com");
      await page.getByTestId("field-birthday").fill("1990-04-12");
      await page.getByTestId("field-phone").fill("+33 6 12 34 56 78");
      await page.getByTestId("field-country").fill("fr");
      // Cancelling the signature sends nothing.
      await page.getByTestId("join-submit").click();
      await page.getByTestId("sign-dialog").waitFor();
      await page.keyboard.press("Escape");
      await page.getByText("You did not sign: nothing was sent.").waitFor();
      expect(await signedEntries("customer.created")).toBe(before);
      // Now for real: the dialog lists what the merchant receives, in plain words.
      await page.getByTestId("join-submit").click();
      await page.getByTestId("sign-dialog").waitFor();
      const shared = await page.getByTestId("sign-shared").textContent();
      expect(shared).toContain("Zoë Martin");
      expect(shared).toContain("zoe@example.com");
      expect(await page.getByTestId("sign-exact").textContent()).toContain('"customer.join"');
      await signInDialog(page, new RegExp(`Become a customer of ${merchant.name}`), "sign-join");
      await page.waitForURL(new RegExp(`/me/m/${merchant.id}$`));
      expect(await signedEntries("customer.created")).toBe(before + 1);
    });

    it("keeps the root secret under a non-extractable key in IndexedDB", async () => {
      const held = await page.evaluate(
        () =>
          new Promise<{ extractable: boolean; exported: string; type: string }>((resolve) => {
            const req = indexedDB.open("patron-portal");
            req.onsuccess = () => {
              const get = req.result.transaction("secrets").objectStore("secrets").get("root");
              get.onsuccess = async () => {
                const key = get.result.key as CryptoKey;
                const exported = await crypto.subtle
                  .exportKey("raw", key)
                  .then(() => "exported")
                  .catch((e: Error) => e.name);
                resolve({ extractable: key.extractable, exported, type: key.algorithm.name });
              };
            };
          }),
      );
      expect(held).toEqual({ extractable: false, exported: "InvalidAccessError", type: "AES-GCM" });
    });

    it("signs in with the key and sees the profile, decrypted for the customer", async () => {
      await page.getByTestId("sign-in").waitFor();
      await axe(page, "sign-in");
      await page.getByTestId("sign-in").click();
      await signInDialog(
        page,
        new RegExp(`Sign in to ${merchant.name} for one hour`),
        "sign-session",
      );
      await page.getByTestId("profile").waitFor();
      expect(await page.getByTestId("profile-name").textContent()).toBe("Zoë Martin");
      expect(await page.getByTestId("profile-email").textContent()).toContain("zoe@example.com");
      expect(await page.getByTestId("profile-phone").textContent()).toContain("+33612345678");
      firstKey = (await page.getByTestId("profile-key").textContent()) ?? "";
      expect(decodeDidKey(firstKey).type).toBe("Ed25519");
      const list = await api(`/v1/customers?query=${encodeURIComponent("zoe@example.com")}`);
      customerId = ((list.body.customers as { id: string }[])[0] as { id: string }).id;
      expect((await api(`/v1/customers/${customerId}/key`)).body.key).toBe(firstKey);
      // The language was left on "Not said": none was sent, none is shown.
      expect((await api(`/v1/customers/${customerId}`)).body.language ?? null).toBeNull();
      expect(await page.getByTestId("profile-language").count()).toBe(0);
      await axe(page, "profile");
      // The home page lists the merchant.
      await page.getByRole("link", { name: "Accounts", exact: true }).click();
      await page.getByTestId("account-link").getByText(merchant.name).waitFor();
      await axe(page, "home");
    });

    it("corrects its details by a signed command: only what changed travels, refusals beside the field", async () => {
      await page.goto(`${node.url}/me/m/${merchant.id}`);
      await page.getByTestId("profile-edit").click();
      await page.getByTestId("rectify-form").waitFor();
      expect(await page.getByTestId("field-name").inputValue()).toBe("Zoë Martin");
      const before = await signedEntries("customer.updated");
      // Nothing changed: nothing to sign.
      await page.getByTestId("rectify-submit").click();
      await page.getByTestId("rectify-nothing").waitFor();
      expect(await page.getByTestId("sign-dialog").count()).toBe(0);
      // Refused in the page before anything is signed.
      await page.getByTestId("field-emails").fill("zoe@example.com, not-an-email");
      await page.getByTestId("rectify-submit").click();
      await page.getByText("Enter an email address").waitFor();
      expect(await page.getByTestId("sign-dialog").count()).toBe(0);
      await page.getByTestId("field-emails").fill("zoe@example.com, zoe@work.example");
      await page.getByTestId("field-city").fill("Lyon");
      await axe(page, "rectify");
      await page.getByTestId("rectify-submit").click();
      await page.getByTestId("sign-dialog").waitFor();
      const shared = (await page.getByTestId("sign-shared").textContent()) ?? "";
      expect(shared).toContain("zoe@work.example");
      expect(shared).toContain("Lyon");
      expect(shared).toContain("Emails");
      expect(shared).not.toContain("profile.fields");
      // Only what changed: the name is not sent again.
      expect(shared).not.toContain("Zoë Martin");
      await signInDialog(page, /Correct the details/);
      await page.getByTestId("rectified").waitFor();
      expect(await page.getByTestId("profile-email").allTextContents()).toEqual([
        expect.stringContaining("zoe@example.com"),
        expect.stringContaining("zoe@work.example"),
      ]);
      expect(await signedEntries("customer.updated")).toBe(before + 1);
      const staff = await api(`/v1/customers/${customerId}`);
      expect(staff.body.address).toMatchObject({ city: "Lyon", country: "FR" });
      expect(staff.body.emails).toEqual(["zoe@example.com", "zoe@work.example"]);
    });

    it("lists its sessions and refuses a recovery staff started", async () => {
      await page.goto(`${node.url}/me/m/${merchant.id}/security`);
      await page.getByTestId("session").first().waitFor();
      expect(await page.getByTestId("session").count()).toBe(1);
      await page.getByTestId("recoveries-none").waitFor();
      const started = await api(`/v1/customers/${customerId}/recoveries`, {
        method: "POST",
        body: {
          key: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
          checks: ["in_person"],
        },
      });
      expect(started.status).toBe(201);
      await page.reload();
      await page.getByTestId("veto").waitFor();
      await axe(page, "security-recovery");
      await page.getByTestId("veto").click();
      await signInDialog(page, new RegExp(`Refuse recovery ${started.body.id}`));
      await page.getByText("Refused by you").waitFor();
      const after = await api(`/v1/customers/${customerId}/key`);
      expect((after.body.recoveries as { status: string }[])[0]?.status).toBe("vetoed");
      expect(after.body.key).toBe(firstKey);
    });

    it("replaces its key: the new key accepts, the old one signs the rotation", async () => {
      await page.getByTestId("rotate-open").click();
      await page.getByTestId("rotate-submit").click();
      const dialog = page.getByTestId("sign-dialog");
      await dialog.waitFor();
      expect(await dialog.getByRole("heading").textContent()).toContain("(1 of 2)");
      await signInDialog(page, /Let this new key take over/);
      await signInDialog(page, new RegExp(`Replace your key at ${merchant.name}`));
      // The session belonged to the old key: the customer signs in with the new one.
      await page
        .getByTestId("rotated")
        .waitFor()
        .catch(async (e) => {
          await page.screenshot({ path: join(artifacts, "debug.png"), fullPage: true });
          throw e;
        });
      await page.getByTestId("sign-in").click();
      await signInDialog(page, /Sign in to/);
      await page
        .getByTestId("profile")
        .waitFor()
        .catch(async (e) => {
          console.log(await page.locator("main").textContent());
          throw e;
        });
      const next = (await page.getByTestId("profile-key").textContent()) ?? "";
      expect(next).not.toBe(firstKey);
      expect((await api(`/v1/customers/${customerId}/key`)).body.key).toBe(next);
      firstKey = next;
    });

    it("downloads an encrypted backup of its keys", { timeout: 120_000 }, async () => {
      await page.goto(`${node.url}/me/backup`);
      await page.getByTestId("field-passphrase").fill("too short");
      await page.getByTestId("field-repeat").fill("too short");
      await page.getByTestId("backup-make").click();
      await page.getByText("At least 12 characters.", { exact: true }).waitFor();
      await page.getByTestId("field-passphrase").fill(PASSPHRASE);
      await page.getByTestId("field-repeat").fill(PASSPHRASE);
      await page.getByTestId("backup-make").click();
      await page.getByTestId("backup-ready").waitFor({ timeout: 60_000 });
      await axe(page, "backup");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("backup-download").click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^patron-keys-\d{4}-\d{2}-\d{2}\.json$/);
      backupText = readFileSync((await download.path()) as string, "utf8");
      const file = JSON.parse(backupText);
      expect(file).toMatchObject({
        format: "patron-portal-backup",
        version: 1,
        kdf: { name: "scrypt", N: 131072, r: 8, p: 1 },
        cipher: { name: "AES-256-GCM" },
      });
      expect(backupText).not.toContain(merchant.name);
      expect(backupText).not.toContain(merchant.id);
    });
  });

  describe("on another device, from the backup", () => {
    let page: Page;

    it("refuses a wrong passphrase, then restores the same key and signs in", {
      timeout: 180_000,
    }, async () => {
      page = await newPage("restored");
      await page.goto(`${node.url}/me/restore`);
      await axe(page, "restore");
      await page.getByTestId("restore-file").setInputFiles({
        name: "patron-keys.json",
        mimeType: "application/json",
        buffer: Buffer.from(backupText, "utf8"),
      });
      await page.getByTestId("restore-passphrase").fill("not the passphrase");
      await page.getByTestId("restore-submit").click();
      await page.getByTestId("restore-error").getByText("Wrong passphrase").waitFor({
        timeout: 60_000,
      });
      await page.getByTestId("restore-passphrase").fill(PASSPHRASE);
      await page.getByTestId("restore-submit").click();
      await page.getByTestId("restored").waitFor({ timeout: 60_000 });
      await page.getByTestId("restored").getByRole("link", { name: merchant.name }).click();
      await page.getByTestId("sign-in").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("profile").waitFor();
      expect(await page.getByTestId("profile-key").textContent()).toBe(firstKey);
      expect(await page.getByTestId("profile-name").textContent()).toBe("Zoë Martin");
    });

    it("sees both of the customer's sessions, and ends the first device's", async () => {
      await page.getByRole("link", { name: "Sessions and key" }).click();
      // This device's, the first device's since its rotation, and its old key's (which no
      // longer opens anything).
      await expect.poll(() => page.getByTestId("session").count()).toBeGreaterThanOrEqual(2);
      const before = await page.getByTestId("session").count();
      const other = page.getByTestId("session").filter({ hasNotText: "This device" });
      await other.first().getByTestId("session-end").click();
      await expect.poll(() => page.getByTestId("session").count()).toBe(before - 1);
      await axe(page, "security");
    });
  });

  describe("claiming a profile staff made, by an invite link", () => {
    it("refuses a wrong code with the node's reason, then claims with the right one", async () => {
      const made = await api("/v1/customers", {
        method: "POST",
        body: { name: "李娜", email: "lina@example.cn" },
      });
      expect(made.status).toBe(201);
      const invite = await api(`/v1/customers/${made.body.id}/invites`, {
        method: "POST",
        body: {},
      });
      expect(invite.status).toBe(201);
      const page = await newPage("claim");
      await page.goto(`${node.url}/me/claim/${merchant.id}#code=0000-0000-0000`);
      expect(await page.getByTestId("field-code").inputValue()).toBe("0000-0000-0000");
      await page.getByTestId("claim-submit").click();
      await signInDialog(page, /invite code 0000-0000-0000/);
      await page.getByTestId("claim-error").waitFor();
      await axe(page, "claim-refused");
      await page.goto(invite.body.url as string);
      await page.reload();
      await page.getByTestId("claim-submit").click();
      await signInDialog(page, /Take over the profile/);
      await page.getByTestId("sign-in").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("profile").waitFor();
      expect(await page.getByTestId("profile-name").textContent()).toBe("李娜");
      // In Simplified Chinese, too.
      await page.getByTestId("language-switch").selectOption("zh-CN");
      await page.getByRole("heading", { name: "您的资料" }).waitFor();
      await axe(page, "profile-zh");
    });
  });

  describe("on a device with a passkey (a virtual authenticator)", () => {
    it("joins with a passkey and signs in with it", async () => {
      const page = await newPage("passkey");
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      // Passkeys need a domain as relying party: localhost, not 127.0.0.1.
      const local = node.url.replace("127.0.0.1", "localhost");
      await page.goto(`${local}/me/join/${merchant.id}`);
      // Preferred where the device verifies its user.
      await expect.poll(() => page.getByTestId("key-kind-passkey").isChecked()).toBe(true);
      await page.getByTestId("field-name").fill("Hugo Laurent");
      await page.getByTestId("join-submit").click();
      const dialog = page.getByTestId("sign-dialog");
      await dialog.waitFor();
      expect(await dialog.getByText("Passkey").count()).toBeGreaterThan(0);
      await signInDialog(page, /Become a customer/);
      await page.getByTestId("sign-in").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("profile").waitFor();
      expect(await page.getByTestId("profile-name").textContent()).toBe("Hugo Laurent");
      const key = (await page.getByTestId("profile-key").textContent()) ?? "";
      expect(decodeDidKey(key).type).toBe("P-256");
      // One passkey, made for this merchant, held by the authenticator.
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      expect(credentials).toHaveLength(1);
      await axe(page, "profile-passkey");
    });
  });

  describe("after losing the device with the key", () => {
    it("makes a new key, staff recover to it, and after the time-lock it signs in", async () => {
      const lost = await newPage("lost-device");
      await lost.goto(`${node.url}/me/join/${merchant.id}`);
      await lost.getByTestId("field-name").fill("Rosa Perdue");
      await lost.getByTestId("field-email").fill("rosa@example.net");
      await lost.getByTestId("join-submit").click();
      await signInDialog(lost, /Become a customer/);
      await lost.waitForURL(new RegExp(`/me/m/${merchant.id}$`));
      const list = await api(`/v1/customers?query=${encodeURIComponent("rosa@example.net")}`);
      const rosa = ((list.body.customers as { id: string }[])[0] as { id: string }).id;
      const oldKey = (await api(`/v1/customers/${rosa}/key`)).body.key as string;

      // A new device holds no key here: it offers a recovery.
      const page = await newPage("recover");
      await page.goto(`${node.url}/me/m/${merchant.id}`);
      await page.getByTestId("go-recover").click();
      await page.getByTestId("recover-make").waitFor();
      await axe(page, "recover");
      await page.getByTestId("recover-make").click();
      await page.getByTestId("recovery-waiting").waitFor();
      const did = ((await page.getByTestId("recover-did").textContent()) ?? "").trim();
      expect(decodeDidKey(did).type).toBe("Ed25519");
      expect(did).not.toBe(oldKey);
      expect(
        await page.getByTestId("recover-qr").evaluate((i) => (i as HTMLImageElement).naturalWidth),
      ).toBeGreaterThan(0);
      await axe(page, "recover-waiting");
      // Not yet: nobody started a recovery.
      await page.getByTestId("recover-check").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("recover-not-yet").waitFor();

      const started = await api(`/v1/customers/${rosa}/recoveries`, {
        method: "POST",
        body: { key: did, checks: ["id_document"] },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      // Still not: the time-lock holds.
      await page.getByTestId("recover-check").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("recover-not-yet").waitFor();
      expect((await api(`/v1/customers/${rosa}/key`)).body.key).toBe(oldKey);

      // Three days and a minute later the node's sweep binds the new key.
      later = 73 * 3_600_000;
      await expect
        .poll(async () => (await api(`/v1/customers/${rosa}/key`)).body.key, { timeout: 10_000 })
        .toBe(did);
      await page.context().addInitScript(`{
        const shift = ${later};
        const RealDate = Date;
        globalThis.Date = class extends RealDate {
          constructor(...a) { super(...(a.length ? a : [RealDate.now() + shift])); }
          static now() { return RealDate.now() + shift; }
        };
      }`);
      await page.reload();
      await page.getByTestId("recover-check").click();
      await signInDialog(page, /Sign in to/);
      await page.getByTestId("profile").waitFor();
      expect(await page.getByTestId("profile-name").textContent()).toBe("Rosa Perdue");
      expect(await page.getByTestId("profile-key").textContent()).toBe(did);
    });
  });

  it("left no accessibility violations, page errors or CSP reports behind", () => {
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});

import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeDidKey, signCommand } from "@patron/ledger";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { domains, type PatronNode, startNode } from "../../server/src/node.js";
import {
  CHROMIUM_ARGS as ARGS,
  CHROMIUM,
  haveBrowser,
} from "../../server/src/test-support/chromium.js";
import { testDomain } from "../../server/src/test-support/test-domain.js";
import { buildWeb, requireChromium } from "./browser-support.js";

// The explorer as a user sees it: a real node (embedded chain, anchoring every 500 ms) serving a
// fresh build of packages/web, driven in Debian's chromium. Screenshots of every page go to
// test-artifacts/explorer/ at the repository root.

const _webDir = fileURLToPath(new URL("..", import.meta.url));
const artifacts = fileURLToPath(new URL("../../../test-artifacts/explorer/", import.meta.url));
requireChromium("explorer");

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

/** A customer's Ed25519 key, from node:crypto. */
function customerKey() {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const publicKey = new Uint8Array(Buffer.from(jwk.x as string, "base64url"));
  return {
    secret: new Uint8Array(Buffer.from(jwk.d as string, "base64url")),
    did: encodeDidKey({ type: "Ed25519", publicKey }),
  };
}

const SESSION_KEY = "patron.explorer.apiKey";

describe.runIf(haveBrowser)("explorer in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let index: number;
  let subject: string;

  const shot = (name: string) =>
    page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "patron-explorer-"));
    const webRoot = join(tmp, "web");
    mkdirSync(webRoot);
    mkdirSync(artifacts, { recursive: true });
    const config = {
      ...loadConfig({
        PATRON_CHAIN: "embedded",
        PATRON_ANCHOR_INTERVAL_MS: "500",
        // The demo documents, not the demo customers: the explorer's pages are about the log.
        PATRON_DEMO_CUSTOMERS: "0",
      }),
      dataDir: join(tmp, "data"),
      port: 0,
      host: "127.0.0.1",
      webRoot,
    };
    // A fresh build every run (about a second): never a stale or missing packages/web/dist.
    await buildWeb(webRoot);
    node = await startNode(config, { listen: true, domains: [...domains, testDomain] });
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("shows the latest checkpoint, verified, and its anchors on chain", async () => {
    await page.goto(node.url);
    await expect
      .poll(() => page.getByTestId("tree-size").textContent())
      .toBe(String(node.sequencer.head.size));
    await page.getByText("Latest checkpoint verified").waitFor();
    // The bootstrap entries are anchored within a second or two; the list refreshes by itself.
    await page
      .locator(".anchors-table")
      .getByText(/confirmed/)
      .first()
      .waitFor();
    await expect.poll(() => page.getByText("consistent with the checkpoint").count()).toBe(1);
    await shot("home");
  });

  it("lists a new attestation, newest first, as soon as it is committed", async () => {
    await page.getByRole("link", { name: "Entries", exact: true }).click();
    await page.locator("table.entries-table tbody tr").first().waitFor();
    subject = `Invoice ${Date.now()}`;
    const res = await fetch(`${node.url}/v1/attestations`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify({ digest: digest(subject), subject }),
    });
    expect(res.status).toBe(201);
    index = ((await res.json()) as { index: number }).index;
    // No reload: the newest page polls.
    const row = page.locator(`tr[data-index="${index}"]`);
    await row.waitFor();
    expect(
      await page.locator("table.entries-table tbody tr").first().getAttribute("data-index"),
    ).toBe(String(index));
    await expect.poll(() => row.textContent()).toContain("attestation.created");
    await shot("entries");
  });

  it("opens the entry, verifies its inclusion in the browser and shows it anchored", async () => {
    await page.getByRole("link", { name: `Open entry ${index}` }).click();
    await page.waitForURL(`**/entries/${index}`);
    const verdict = page.getByTestId("verdict");
    await verdict.waitFor();
    expect(await verdict.getAttribute("class")).toContain("verdict-ok");
    expect(await verdict.textContent()).toContain("Verified");
    for (const check of [
      "Checkpoint signature",
      "Canonical entry",
      "Leaf hash",
      "Inclusion proof",
    ]) {
      await verdict.locator("li.check-ok", { hasText: check }).waitFor();
    }
    expect(await page.getByTestId("canonical").textContent()).toContain(digest(subject));
    // Anchoring runs every 500 ms: the badge appears without a reload.
    await page.getByTestId("anchored").waitFor({ timeout: 20_000 });
    await verdict.locator("li.check-ok", { hasText: "Anchored on chain" }).waitFor();
    await shot("entry");
  });

  it("accepts the receipt downloaded from the entry page", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("download-receipt").click(),
    ]);
    const file = join(tmp, `patron-entry-${index}.tlog-proof`);
    await download.saveAs(file);
    expect(readFileSync(file, "utf8")).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);

    await page.getByRole("link", { name: "Verify a receipt" }).click();
    const input = page.getByTestId("receipt-input");
    await page
      .locator('[data-testid="receipt-input"]:not([disabled])')
      .waitFor({ state: "attached" });
    await input.setInputFiles(file);
    const result = page.getByTestId("receipt-result");
    await result.waitFor();
    expect(await result.getAttribute("class")).toContain("verdict-ok");
    expect(await result.textContent()).toContain("Receipt verified");
    await page.getByText(`Entry #${index} is in the checkpoint`).waitFor();
    await result.getByText(/same history as this node's current tree/).waitFor();
    await result.getByTestId("anchored").waitFor();
    await shot("verify-accepted");
  });

  it("rejects a receipt whose entry was altered", async () => {
    const receipt = await (await fetch(`${node.url}/v1/ledger/receipts/${index}`)).text();
    const lines = receipt.split("\n");
    const extra = lines.findIndex((l) => l.startsWith("extra "));
    const entry = Buffer.from(lines[extra]?.slice("extra ".length) ?? "", "base64").toString();
    expect(entry).toContain(subject);
    lines[extra] = `extra ${Buffer.from(entry.replace(subject, `${subject}0`)).toString("base64")}`;
    const file = join(tmp, "tampered.tlog-proof");
    writeFileSync(file, lines.join("\n"));

    await page.getByTestId("receipt-input").setInputFiles(file);
    const result = page.locator('[data-testid="receipt-result"].verdict-bad');
    await result.waitFor();
    expect(await result.textContent()).toContain("Receipt rejected");
    expect(await result.textContent()).toContain("proof_mismatch");
    expect(await page.getByTestId("receipt-reason").textContent()).toMatch(/altered/);
    await shot("verify-rejected");
  });

  it("flags a proof or a checkpoint the node altered", async () => {
    // The node is not trusted: change its answers on the way to the browser.
    await page.route("**/v1/ledger/proofs/inclusion?*", async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { proof: string[] };
      body.proof[0] = "00".repeat(32);
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${node.url}/entries/${index}`);
    const verdict = page.locator('[data-testid="verdict"].verdict-bad');
    await verdict.waitFor();
    expect(await verdict.textContent()).toContain("Not verified");
    await verdict.locator("li.check-bad", { hasText: "Inclusion proof" }).waitFor();
    expect(await page.getByTestId("anchored").count()).toBe(0);
    await shot("entry-altered-proof");
    await page.unrouteAll();

    await page.route("**/v1/ledger/checkpoint", async (route) => {
      const res = await route.fetch();
      const lines = (await res.text()).split("\n");
      lines[2] = Buffer.alloc(32, 1).toString("base64"); // another root, same signature
      await route.fulfill({ response: res, body: lines.join("\n") });
    });
    await page.goto(node.url);
    await page.getByText("The latest checkpoint does not verify").waitFor();
    await page.getByText("Checkpoint not verified").waitFor();
    await shot("home-altered-checkpoint");
    await page.unrouteAll();
  });

  // Entry 1 is the bootstrap merchant's sealed apikey.created: its payload holds the hash of
  // the owner key (SHA-256 of the key), which must not reach the page of anyone but its parties.
  const SEALED = 1;

  it("shows a sealed entry as sealed, with its inclusion proof verified, and says why", async () => {
    await page.goto(`${node.url}/entries`);
    const row = page.locator(`tr[data-index="${SEALED}"]`);
    await row.waitFor();
    expect(await row.getAttribute("data-sealed")).toBe("withheld");
    expect(await row.textContent()).toContain("Sealed");
    await row.getByRole("link", { name: `Open entry ${SEALED}` }).click();
    await page.waitForURL(`**/entries/${SEALED}`);
    const verdict = page.locator('[data-testid="verdict"].verdict-ok');
    await verdict.waitFor();
    for (const check of ["Checkpoint signature", "Inclusion proof"]) {
      await verdict.locator("li.check-ok", { hasText: check }).waitFor();
    }
    await verdict.locator("li.check-skip", { hasText: "Content" }).waitFor();
    expect(await verdict.textContent()).toContain("content is sealed");
    await page.getByTestId("sealed-badge").first().waitFor();
    const why = page.getByTestId("sealed-why");
    expect(await why.textContent()).toMatch(/only its parties may read it/);
    expect(await why.textContent()).toMatch(/salted with 128 random bits/);
    // The leaf hash is proved like any other: leaf, siblings, signed root.
    expect(await page.getByTestId("proof-path").locator("li").count()).toBeGreaterThan(1);
    expect(await page.getByTestId("download-receipt").count()).toBe(0);
    expect(await page.getByTestId("canonical").count()).toBe(0);
    expect(await page.content()).not.toContain(digest(node.ownerKey as string));
    await page.getByTestId("anchored").waitFor({ timeout: 20_000 });
    await shot("entry-sealed");

    // On a phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('[data-testid="verdict"].verdict-ok').waitFor();
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    ).toBe(true);
    await shot("entry-sealed-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  let merchant: { id: string; name: string };

  it("signs in with a merchant's API key, for this tab only, and shows its sealed entries whole", async () => {
    const me = await fetch(`${node.url}/v1/merchants/me`, {
      headers: { authorization: `Bearer ${node.ownerKey}` },
    });
    merchant = (await me.json()) as { id: string; name: string };

    await page.getByRole("link", { name: "Sign in with an API key", exact: true }).click();
    await page.waitForURL("**/sign-in?next=*");
    const input = page.getByLabel("Merchant API key");
    // A key the node does not know is refused, with the reason, and focus back in the field.
    await input.fill(`pat_${"x".repeat(43)}`);
    await input.press("Enter");
    expect(await page.getByTestId("sign-in-error").textContent()).toContain("does not know");
    expect(await input.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await input.getAttribute("aria-invalid")).toBe("true");
    // The browser logs the node's 401 for that key: expected here, and only here.
    const refused = problems.findIndex((p) => p.includes("401"));
    if (refused >= 0) problems.splice(refused, 1);
    await shot("sign-in");

    const sent = page.waitForRequest((r) => r.url().endsWith(`/v1/ledger/entries/${SEALED}`));
    await input.fill(node.ownerKey as string);
    await input.press("Enter");
    await page.waitForURL(`**/entries/${SEALED}`);
    expect((await sent).headers().authorization).toBe(`Bearer ${node.ownerKey}`);
    expect(await page.getByTestId("viewing-as").textContent()).toBe(
      `Viewing as ${merchant.name} (owner)`,
    );
    const verdict = page.locator('[data-testid="verdict"].verdict-ok');
    await verdict.waitFor();
    for (const check of ["Canonical entry", "Chain links", "Leaf hash", "Inclusion proof"]) {
      await verdict.locator("li.check-ok", { hasText: check }).waitFor();
    }
    expect(await page.getByTestId("canonical").textContent()).toContain(
      digest(node.ownerKey as string),
    );
    await page.getByTestId("sealed-badge").first().waitFor();
    expect(await page.getByTestId("sealed-why").count()).toBe(0);
    // Its chain: the merchant, linked back to entry 0, its merchant.created.
    const subjects = page.getByTestId("subjects");
    expect(await subjects.textContent()).toContain(merchant.id);
    await subjects.getByRole("link", { name: /#0$/ }).waitFor();

    // The key is in this tab's sessionStorage, nowhere else.
    const stored = await page.evaluate((k) => {
      const local: string[] = [];
      for (let i = 0; i < localStorage.length; i++) {
        local.push(localStorage.getItem(localStorage.key(i) ?? "") ?? "");
      }
      return { session: sessionStorage.getItem(k), local: local.join("\n") };
    }, SESSION_KEY);
    expect(stored.session).toBe(node.ownerKey);
    expect(stored.local).not.toContain(node.ownerKey);
    expect(await context.cookies()).toEqual([]);

    // Its receipt is a party's: fetched with the key, saved from memory.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("download-receipt").click(),
    ]);
    const file = join(tmp, `patron-entry-${SEALED}.tlog-proof`);
    await download.saveAs(file);
    const receipt = readFileSync(file, "utf8");
    expect(receipt).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    const extra = receipt.split("\n").find((l) => l.startsWith("extra ")) ?? "";
    expect(Buffer.from(extra.slice("extra ".length), "base64").toString()).toContain(
      digest(node.ownerKey as string),
    );
    await shot("entry-signed-in");
  });

  it("shows a customer's signed command and verifies its signature in the browser", async () => {
    // Signed as the portal signs, and sent to POST /v1/commands of the tests' own domain (the
    // first real command types come with customer identities).
    const customer = customerKey();
    const send = async (type: string, payload: Record<string, string>) => {
      const signed = signCommand(
        {
          v: 1,
          type,
          ledger: node.identity.origin,
          actor: customer.did,
          merchant: merchant.id,
          nonce: randomBytes(16).toString("base64url"),
          expires: new Date(Date.now() + 3_600_000).toISOString(),
          payload,
        },
        customer.secret,
      );
      const r = await fetch(`${node.url}/v1/commands`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(signed),
      });
      expect(r.status).toBe(201);
      return (await r.json()).entries[0] as { index: number };
    };
    await send("test.bind", {});
    const at = (await send("test.note", { note: "signed in a browser test" })).index;
    await page.goto(`${node.url}/entries/${at}`);
    const verdict = page.locator('[data-testid="verdict"].verdict-ok');
    await verdict.waitFor();
    await verdict.locator("li.check-ok", { hasText: "Command signature" }).waitFor();
    await page.getByTestId("command-verified").waitFor();
    expect(await page.getByText(customer.did).count()).toBeGreaterThan(0);
    const subjects = await page.getByTestId("subjects").textContent();
    expect(subjects).toMatch(/c_[\w-]+/);
    expect(subjects).toContain(merchant.id);
    await shot("entry-signed-command");
  });

  it("keeps another merchant's sealed entries sealed for this merchant's key", async () => {
    const created = await fetch(`${node.url}/v1/merchants`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.operatorKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Second Shop" }),
    });
    expect(created.status).toBe(201);
    const second = (await created.json()) as { id: string; ownerKey: string };
    const terms = `Private terms ${Date.now()}`;
    const res = await fetch(`${node.url}/v1/attestations`, {
      method: "POST",
      headers: { authorization: `Bearer ${second.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify({ digest: digest(terms), subject: terms, sealed: true }),
    });
    expect(res.status).toBe(201);
    const theirs = ((await res.json()) as { index: number }).index;

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Entries" })
      .click();
    const row = page.locator(`tr[data-index="${theirs}"]`);
    await row.waitFor();
    expect(await row.getAttribute("data-sealed")).toBe("withheld");
    expect(await page.locator(`tr[data-index="${SEALED}"]`).getAttribute("data-sealed")).toBe(
      "whole",
    );
    await shot("entries-signed-in");

    await row.getByRole("link", { name: `Open entry ${theirs}` }).click();
    await page.waitForURL(`**/entries/${theirs}`);
    await page.locator('[data-testid="verdict"].verdict-ok').waitFor();
    expect(await page.getByTestId("sealed-why").textContent()).toContain(
      `${merchant.name} is not one of its parties`,
    );
    const html = await page.content();
    expect(html).not.toContain(digest(terms));
    expect(html).not.toContain(terms);
    expect(await page.getByTestId("download-receipt").count()).toBe(0);
  });

  it("signs out: the key is forgotten and sealed entries are sealed again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.getByTestId("viewing-as").count()).toBe(0);
    const signIn = page.getByRole("link", { name: "Sign in", exact: true });
    await signIn.waitFor();
    await expect.poll(() => signIn.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await page.evaluate((k) => sessionStorage.getItem(k), SESSION_KEY)).toBeNull();
    await page.goto(`${node.url}/entries/${SEALED}`);
    await page.getByTestId("sealed-why").waitFor();
    expect(await page.content()).not.toContain(digest(node.ownerKey as string));
  });

  it("has no WCAG 2.2 AA violation axe-core finds, on every page, on a desktop and a phone", async () => {
    const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    const pages: [string, string][] = [
      ["home", "/"],
      ["entries", "/entries"],
      ["entry", "/entries/0"],
      ["entry-sealed", `/entries/${SEALED}`],
      ["verify", "/verify"],
      ["sign-in", "/sign-in"],
      ["not-found", "/no/such/page"],
    ];
    const sizes = [
      ["desktop", { width: 1280, height: 900 }],
      ["phone", { width: 390, height: 844 }],
    ] as const;
    const found: string[] = [];
    try {
      for (const [size, viewport] of sizes) {
        await page.setViewportSize(viewport);
        for (const [name, path] of pages) {
          await page.goto(`${node.url}${path}`);
          await page.locator("main").first().waitFor();
          await page.waitForLoadState("networkidle");
          // Evaluated through the DevTools protocol, so the page's strict CSP does not block it.
          await page.evaluate(axe);
          const violations = await page.evaluate(async () => {
            const w = window as unknown as {
              axe: {
                run: (
                  ctx: Document,
                  opts: object,
                ) => Promise<{ violations: { id: string; nodes: unknown[] }[] }>;
              };
            };
            const r = await w.axe.run(document, {
              runOnly: {
                type: "tag",
                values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
              },
            });
            return r.violations.map((v) => `${v.id} (${v.nodes.length})`);
          });
          for (const v of violations) found.push(`${name} on a ${size}: ${v}`);
          await page.screenshot({
            path: join(artifacts, `page-${name}-${size}.png`),
            fullPage: true,
          });
        }
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    expect(found).toEqual([]);
  });

  it("answers an unknown page with a not-found page, and logs no errors", async () => {
    await page.goto(`${node.url}/no/such/page`);
    await page.getByText("There is no page here").waitFor();
    await shot("not-found");
    expect(problems).toEqual([]);
  });
});

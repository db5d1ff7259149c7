import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { type PatronNode, startNode } from "../../server/src/node.js";

// The explorer as a user sees it: a real node (embedded chain, anchoring every 500 ms) serving a
// fresh build of packages/web, driven in Debian's chromium. Screenshots of every page go to
// test-artifacts/explorer/ at the repository root.

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const webDir = fileURLToPath(new URL("..", import.meta.url));
const artifacts = fileURLToPath(new URL("../../../test-artifacts/explorer/", import.meta.url));

const haveBrowser = existsSync(CHROMIUM);
const requireBrowser = process.env.PATRON_REQUIRE_BROWSER === "1";
if (!haveBrowser && !requireBrowser) {
  console.warn(
    `explorer browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; set PATRON_REQUIRE_BROWSER=1 to make this a failure)`,
  );
}

describe.runIf(!haveBrowser && requireBrowser)("explorer in a browser", () => {
  it("needs chromium", () => {
    throw new Error(
      `PATRON_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install it with apt-get install -y chromium`,
    );
  });
});

/** Builds the explorer into `outDir` with the workspace's vite, as `npm run build` does. */
function buildExplorer(outDir: string): Promise<void> {
  const vite = join(
    dirname(createRequire(join(webDir, "package.json")).resolve("vite/package.json")),
    "bin/vite.js",
  );
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
      // vitest runs with NODE_ENV=test, which would build React's development bundle.
      {
        cwd: webDir,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NODE_ENV: "production" },
      },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

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
      ...loadConfig({ PATRON_CHAIN: "embedded", PATRON_ANCHOR_INTERVAL_MS: "500" }),
      dataDir: join(tmp, "data"),
      port: 0,
      host: "127.0.0.1",
      webRoot,
    };
    // A fresh build every run (about a second): never a stale or missing packages/web/dist.
    await buildExplorer(webRoot);
    node = await startNode(config, { listen: true });
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

  it("answers an unknown page with a not-found page, and logs no errors", async () => {
    await page.goto(`${node.url}/no/such/page`);
    await page.getByText("There is no page here").waitFor();
    await shot("not-found");
    expect(problems).toEqual([]);
  });
});

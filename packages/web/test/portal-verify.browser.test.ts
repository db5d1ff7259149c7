import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { type PatronNode, startNode } from "../../server/src/node.js";
import {
  CHROMIUM_ARGS as ARGS,
  CHROMIUM,
  haveBrowser,
} from "../../server/src/test-support/chromium.js";
import { runCli } from "../../server/test/child.js";
import { axeChecker, buildWeb, requireChromium } from "./browser-support.js";

// The portal's verification pages as a customer uses them: a real node (PGlite, the embedded
// chain anchoring every half second, access records committed every half second) serving a
// fresh build of packages/web, driven in Debian's chromium. The browser reaches the node through
// a small HTTP proxy in this test, which passes everything through until a test tells it to
// alter one entry's bytes or one field's value in the node's answer: the page must then say
// what failed, and call nothing verified. The page reads the anchoring contract from the embedded
// chain itself, by JSON-RPC (the node publishes anvil's URL as its public RPC URL), and remembers
// the last head it verified in localStorage: the tests watch its calls to the chain, and tamper
// with that record to see a rewritten history caught. Screenshots, desktop and phone, go to
// test-artifacts/portal/ at the repository root.

const artifacts = fileURLToPath(new URL("../../../test-artifacts/portal/", import.meta.url));
requireChromium("portal verification");

/** Rewrites one JSON answer of the node on its way to the browser. */
type Tamper = (path: string, body: string) => string;

describe.runIf(haveBrowser)("the portal's verification pages in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let proxy: Server;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let merchant: { id: string; name: string };
  let verifierKey = "";
  let customerId = "";
  let interactionIndex = -1;
  let nameVersion = -1;
  let tamper: Tamper | null = null;
  const problems: string[] = [];
  const found: string[] = [];
  /** The JSON-RPC methods the page called on the chain, in order. */
  const chainCalls: string[] = [];
  /** The checkpoint size of the first check this browser made. */
  let firstChecked = 0;

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

  /** Passes every request to the node; `tamper` rewrites the history, fields and anchors. */
  const startProxy = () =>
    new Promise<void>((resolve) => {
      proxy = createServer((req, res) => {
        const target = new URL(req.url ?? "/", node.url);
        const headers: IncomingHttpHeaders = { ...req.headers, "accept-encoding": "identity" };
        const upstream = httpRequest(target, { method: req.method, headers }, (up) => {
          const rewrite =
            tamper &&
            req.method === "GET" &&
            up.statusCode === 200 &&
            /^\/v1\/(portal\/(history|fields)|ledger\/anchors)$/.test(target.pathname)
              ? tamper
              : null;
          if (!rewrite) {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          up.on("data", (c: Buffer) => chunks.push(c));
          up.on("end", () => {
            const out = rewrite(target.pathname, Buffer.concat(chunks).toString("utf8"));
            const h = { ...up.headers };
            delete h["content-length"];
            delete h.etag;
            res.writeHead(200, { ...h, "content-length": Buffer.byteLength(out) });
            res.end(out);
          });
        });
        upstream.on("error", (err) => {
          res.writeHead(502, { "content-type": "text/plain" });
          res.end(`proxy: ${err.message}`);
        });
        req.pipe(upstream);
      });
      proxy.listen(0, "127.0.0.1", () => {
        base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
        resolve();
      });
    });

  /** axe-core against WCAG 2.2 AA on the page as it is, desktop and phone, each screenshotted. */
  const axeCheck = axeChecker(artifacts);
  const axe = async (name: string) => {
    found.push(...(await axeCheck(page, name)));
  };

  /** On a phone, nothing is wider than the screen: no sideways scrolling. */
  const fitsPhone = async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const wide = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(wide).toBeLessThanOrEqual(1);
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  };

  /** The signing dialog: checks what it says, then signs. */
  const sign = async (says: RegExp) => {
    const dialog = page.getByTestId("sign-dialog");
    await dialog.waitFor();
    expect(await page.getByTestId("sign-what").textContent()).toMatch(says);
    const type = await dialog.getAttribute("data-command-type");
    await page.getByTestId("sign-confirm").click();
    await page
      .locator(`[data-testid="sign-dialog"][data-command-type="${type}"]`)
      .waitFor({ state: "detached" });
  };

  const decode = (data: string) => Buffer.from(data, "base64").toString("utf8");

  /** The customer's session token, from the page's sessionStorage. */
  const sessionToken = async () =>
    page.evaluate(() => {
      for (let i = 0; i < sessionStorage.length; i++) {
        const key = sessionStorage.key(i) ?? "";
        const raw = sessionStorage.getItem(key) ?? "";
        const m = /"token":"(pcs_[^"]+)"/.exec(raw);
        if (m) return m[1] as string;
      }
      throw new Error("no portal session in this tab");
    });

  /** The last head the page verified, as it keeps it in localStorage. */
  const lastCheckKey = () => `patron.portal.verified.${merchant.id}.${customerId}`;
  const lastCheck = async () =>
    page.evaluate(
      (key) => JSON.parse(localStorage.getItem(key) ?? "null") as Record<string, unknown> | null,
      lastCheckKey(),
    );
  const setLastCheck = async (value: unknown) =>
    page.evaluate(([key, text]) => localStorage.setItem(key, text), [
      lastCheckKey(),
      JSON.stringify(value),
    ] as const);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "patron-portal-verify-"));
    const webRoot = join(tmp, "web");
    mkdirSync(webRoot);
    mkdirSync(artifacts, { recursive: true });
    const config = {
      ...loadConfig({
        PATRON_CHAIN: "embedded",
        PATRON_ANCHOR_INTERVAL_MS: "500",
        PATRON_ACCESS_BATCH_MS: "500",
        PATRON_DEMO_DATA: "0",
      }),
      dataDir: join(tmp, "data"),
      port: 0,
      host: "127.0.0.1",
      webRoot,
    };
    await buildWeb(webRoot);
    node = await startNode(config, { listen: true });
    await startProxy();
    const me = await api("/v1/merchants/me");
    merchant = { id: me.body.id as string, name: me.body.name as string };
    verifierKey = (await (await fetch(`${node.url}/v1/ledger/key`)).text()).trim();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      locale: "en-GB",
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("request", (req) => {
      const rpc = node.publicRpcUrl;
      if (!rpc || req.method() !== "POST" || !req.url().startsWith(rpc)) return;
      const body = JSON.parse(req.postData() ?? "{}") as
        | { method?: string }
        | { method?: string }[];
      for (const call of Array.isArray(body) ? body : [body]) chainCalls.push(String(call.method));
    });
    page.on("console", (msg) => {
      if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) {
        problems.push(`console error: ${msg.text()}`);
      }
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("joins, signs in, and the merchant's staff act on the profile", async () => {
    await page.goto(`${base}/me/join/${merchant.id}`);
    await page.getByTestId("field-name").fill("Zoë Martin");
    await page.getByTestId("field-email").fill("zoe@example.com");
    await page.getByTestId("field-phone").fill("+33 6 12 34 56 78");
    await page.getByTestId("field-country").fill("fr");
    await page.getByTestId("join-submit").click();
    await sign(new RegExp(`Become a customer of ${merchant.name}`));
    await page.waitForURL(new RegExp(`/me/m/${merchant.id}$`));
    await page.getByTestId("sign-in").click();
    await sign(/Sign in to/);
    await page.getByTestId("profile").waitFor();
    const list = await api(`/v1/customers?query=${encodeURIComponent("zoe@example.com")}`);
    customerId = ((list.body.customers as { id: string }[])[0] as { id: string }).id;
    // Staff record a call, tag the customer and read the profile: entries by a staff key, and
    // uses of the data the customer sees.
    const call = await api("/v1/interactions", {
      method: "POST",
      body: {
        channel: "phone",
        direction: "inbound",
        kind: "call",
        occurredAt: "2026-05-30T10:00:00Z",
        customerId,
        summary: "Asked about the opening hours",
      },
    });
    expect(call.status).toBe(201);
    expect(
      (await api(`/v1/customers/${customerId}`, { method: "PATCH", body: { tags: ["vip"] } }))
        .status,
    ).toBe(200);
    expect((await api(`/v1/customers/${customerId}`)).status).toBe(200);
  });

  it("checks the profile's values against the ledger's commitments", async () => {
    await page.goto(`${base}/me/m/${merchant.id}`);
    const line = page.locator('[data-testid="profile-check"][data-state="ok"]');
    await line.waitFor();
    expect(await line.textContent()).toMatch(/match the fingerprints the ledger keeps/);
  });

  it("verifies the whole history in the browser: every proof, signature and value, one chain with no gap, anchored", {
    timeout: 90_000,
  }, async () => {
    // The profile's own check (made on each visit since joining) was remembered: start again
    // from none, so that this is the first check this browser makes.
    expect(await lastCheck()).not.toBeNull();
    await page.evaluate((key) => localStorage.removeItem(key), lastCheckKey());
    await page.goto(`${base}/me/m/${merchant.id}/history`);
    await page.getByTestId("history-verified").waitFor({ timeout: 30_000 });
    const summary = (await page.getByTestId("history-summary").textContent()) ?? "";
    expect(summary).toMatch(
      /^(\d+) entries, all proven in the checkpoint of [\d,]+ entries signed by the log: one chain with no gap\.$/,
    );
    const count = Number(/^(\d+)/.exec(summary)?.[1]);
    const items = page.getByTestId("history-entry");
    expect(await items.count()).toBe(count);
    const types = await items.evaluateAll((els) => els.map((e) => e.getAttribute("data-type")));
    expect(types).toEqual(
      expect.arrayContaining([
        "customer.created",
        "identity.key_bound",
        "interaction.recorded",
        "customer.updated",
      ]),
    );
    expect(types[types.length - 1]).toBe("customer.created");
    // Who acted: the customer's own key for the join, staff for the call, with what they keep.
    const created = page.locator('[data-testid="history-entry"][data-type="customer.created"]');
    expect(await created.getByTestId("history-by").textContent()).toBe("You, with your key");
    expect(await created.textContent()).toContain("signed by you");
    const nameValue = created.locator('[data-testid="history-value"][data-field="name"]');
    expect(await nameValue.textContent()).toBe("Zoë Martin");
    const recorded = page.locator(
      '[data-testid="history-entry"][data-type="interaction.recorded"]',
    );
    expect(await recorded.getByTestId("history-by").textContent()).toMatch(
      /^The merchant's staff \(key .+\)$/,
    );
    expect(await recorded.getByTestId("history-value").textContent()).toContain(
      "Asked about the opening hours",
    );
    expect(await page.getByTestId("history-chain").textContent()).toMatch(/no gap/);
    // The first check in this browser: said so, and remembered.
    const size = Number(/checkpoint of ([\d,]+) entries/.exec(summary)?.[1]?.replace(/,/g, ""));
    const continuity = page.getByTestId("history-continuity");
    expect(await continuity.getAttribute("data-state")).toBe("first");
    expect(await continuity.textContent()).toBe(
      `No gap: ${count} entries up to checkpoint ${size.toLocaleString("en-GB")}. This is the first check in this browser: it is remembered, so that the next one proves the log still holds what was verified now.`,
    );
    const remembered = await lastCheck();
    expect(remembered).toMatchObject({ size, entries: count });
    firstChecked = size;
    // The anchor, read from the chain by the page itself: the contract holds this checkpoint's
    // root, or a later one a consistency proof joins to it (the checkpoint is rarely anchored
    // itself: the log grows every half second).
    const rpc = node.publicRpcUrl as string;
    expect(rpc).toBe(node.chain?.rpcUrl);
    const anchored = page.locator('[data-testid="history-anchor"][data-state^="anchored"]');
    await anchored.waitFor({ timeout: 30_000 });
    const host = new URL(rpc).host;
    expect(await anchored.textContent()).toMatch(
      new RegExp(
        `^Anchored on chain ${node.chain?.chainId}: the contract holds (this checkpoint's root at size [\\d,]+|a later root, at size [\\d,]+, that extends this checkpoint of [\\d,]+ entries|the root at size [\\d,]+, which already holds all your entries).* \\(read from the chain at ${host.replace(/\./g, "\\.")}`,
      ),
    );
    expect(await page.getByTestId("history-anchor-contract").getAttribute("title")).toBe(
      node.chain?.contract,
    );
    // The browser asked the chain, not the node: eth_chainId, then eth_call (origin, rootAt…).
    expect(chainCalls).toContain("eth_chainId");
    expect(chainCalls.filter((m) => m === "eth_call").length).toBeGreaterThanOrEqual(2);
    await axe("history");
    await fitsPhone();

    // The same numbers as the node's own export.
    const h = await fetch(`${node.url}/v1/portal/history?limit=1000`, {
      headers: { authorization: `Bearer ${await sessionToken()}` },
    });
    const answer = (await h.json()) as { entries: { index: number; data: string }[] };
    expect(answer.entries.length).toBe(count);
    const interaction = answer.entries.find((e) =>
      decode(e.data).includes('"type":"interaction.recorded"'),
    );
    interactionIndex = interaction?.index ?? -1;
    expect(interactionIndex).toBeGreaterThan(0);
  });

  it("says it in Simplified Chinese too", async () => {
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "您的历史记录（已核验）" }).waitFor();
    expect(await page.getByTestId("history-summary").textContent()).toMatch(
      /条记录，全部已在日志签名的 [\d,]+ 条检查点中证明：一条完整的链，没有缺口。/,
    );
    await axe("history-zh");
    await page.getByRole("link", { name: "数据使用" }).click();
    await page.getByRole("heading", { name: "您的数据如何被使用" }).waitFor();
    await page.getByTestId("data-use-table").waitFor();
    await axe("data-use-zh");
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "How your data was used" }).waitFor();
  });

  it("shows every use of the data, each record proven against the ledger", async () => {
    // Records are committed every half second: wait until the staff's reads are proven.
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByTestId("data-use-table").waitFor();
          return page.locator('[data-testid="data-use-row"][data-state="proven"]').count();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBeGreaterThan(0);
    await page.getByTestId("data-use-verified").waitFor();
    expect(await page.locator('[data-testid="data-use-row"][data-state="failed"]').count()).toBe(0);
    const row = page.locator('[data-testid="data-use-row"][data-state="proven"]').first();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("Owner");
    expect(text).toContain("Customer service");
    expect(text).toContain("Contract");
    expect(text).toContain("Proven");
    await axe("data-use");
    await fitsPhone();
  });

  it("remembers the head it verified: the next check proves the log still holds it", {
    timeout: 90_000,
  }, async () => {
    await page.getByRole("link", { name: "History", exact: true }).click();
    await page.getByTestId("history-verified").waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="history-anchor"]:not([data-state="checking"])').waitFor();
    const before = (await lastCheck()) as { size: number; head: number; entries: number };
    expect(before.size).toBeGreaterThanOrEqual(firstChecked);
    // Staff record another call: a new entry on the customer's chain, in a larger tree.
    const call = await api("/v1/interactions", {
      method: "POST",
      body: {
        channel: "phone",
        direction: "outbound",
        kind: "call",
        occurredAt: "2026-05-31T09:00:00Z",
        customerId,
        summary: "Called back about the opening hours",
      },
    });
    expect(call.status).toBe(201);
    // The node is asked for the proof that the remembered tree is a prefix of the new one.
    const proofAsked = page.waitForRequest((r) =>
      r.url().includes(`/v1/ledger/proofs/consistency?from=${before.size}&to=`),
    );
    await page.getByTestId("history-recheck").click();
    const line = page.locator('[data-testid="history-continuity"][data-state="consistent"]');
    await line.waitFor({ timeout: 30_000 });
    await proofAsked;
    const after = (await lastCheck()) as { size: number; head: number; entries: number };
    expect(after.size).toBeGreaterThan(before.size);
    expect(after.head).toBeGreaterThan(before.head);
    expect(after.entries).toBeGreaterThan(before.entries);
    expect(await line.textContent()).toMatch(
      new RegExp(
        `^No gap: ${after.entries} entries up to checkpoint ${after.size.toLocaleString("en-GB")}; consistent with your last check at checkpoint ${before.size.toLocaleString("en-GB")} \\(.+\\): the log still holds what was verified then, and your chain still reaches entry ${before.head}\\.$`,
      ),
    );
    await axe("history-second-check");
  });

  it("catches a history rewritten since the last check, and an entry taken off the chain", {
    timeout: 120_000,
  }, async () => {
    const real = (await lastCheck()) as { size: number; root: string; head: number };
    // The remembered checkpoint's root no longer matches the log's tree of that size.
    await setLastCheck({ ...real, root: "ab".repeat(32) });
    await page.reload();
    const alert = page.getByTestId("history-continuity-alert");
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.getAttribute("role")).toBe("alert");
    expect(await alert.textContent()).toContain(
      `History rewritten since your last check: the log no longer holds the checkpoint of ${real.size.toLocaleString("en-GB")} entries this browser verified on `,
    );
    expect(await page.getByTestId("history-continuity").getAttribute("data-state")).toBe(
      "rewritten",
    );
    expect(await page.getByTestId("history-verified").count()).toBe(0);
    expect(await page.locator("main").textContent()).not.toMatch(/Verified in your browser/);
    // Kept as it was: the check that contradicts it does not replace it.
    expect((await lastCheck())?.root).toBe("ab".repeat(32));
    await axe("history-rewritten");
    await fitsPhone();
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByText("自您上次核验以来，您的历史记录发生了变化").waitFor();
    expect(await alert.textContent()).toContain("自您上次核验以来历史已被改写");
    await axe("history-rewritten-zh");
    await page.getByTestId("language-switch").selectOption("en");

    // The log holds the remembered tree, but the chain from the newest entry no longer reaches
    // the remembered head (entry 0 is the merchant's, never on the customer's chain).
    await setLastCheck({ ...real, head: 0 });
    await page.reload();
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toContain(
      "Your last verified entry is no longer on your chain: entry 0, verified on ",
    );
    expect(await page.getByTestId("history-continuity").getAttribute("data-state")).toBe(
      "headLost",
    );
    await axe("history-head-lost");

    // Once the customer knows why, they may forget it: the next check is a first one again.
    await page.getByTestId("history-forget").click();
    await page.locator('[data-testid="history-continuity"][data-state="first"]').waitFor({
      timeout: 30_000,
    });
    expect((await lastCheck())?.size).toBeGreaterThanOrEqual(real.size);
    expect(await page.getByTestId("history-continuity-alert").count()).toBe(0);
  });

  it("says what the chain does not confirm: no endpoint published, or a node naming another chain", {
    timeout: 90_000,
  }, async () => {
    const anchors = (edit: (a: Record<string, unknown>) => void): Tamper => {
      return (path, body) => {
        if (path !== "/v1/ledger/anchors") return body;
        const answer = JSON.parse(body) as Record<string, unknown>;
        edit(answer);
        return JSON.stringify(answer);
      };
    };
    try {
      tamper = anchors((a) => {
        a.rpcUrl = null;
      });
      const calls = chainCalls.length;
      await page.reload();
      const none = page.locator('[data-testid="history-anchor"][data-state="no-rpc"]');
      await none.waitFor({ timeout: 30_000 });
      expect(await none.textContent()).toContain(
        "Not checked here: this node publishes no address where your browser may read the chain.",
      );
      expect(chainCalls.length).toBe(calls);

      tamper = anchors((a) => {
        a.chainId = 1;
      });
      await page.reload();
      const mismatch = page.locator('[data-testid="history-anchor"][data-state="mismatch"]');
      await mismatch.waitFor({ timeout: 30_000 });
      expect(await mismatch.locator("[role=alert]").count()).toBe(1);
      expect(await mismatch.textContent()).toContain(
        `MISMATCH: the chain at ${new URL(node.publicRpcUrl as string).host} is chain ${node.chain?.chainId}, but the node says its anchors are on chain 1.`,
      );
      await axe("history-anchor-mismatch");
    } finally {
      tamper = null;
    }
  });

  it("downloads the export, which `patron verify` checks offline", {
    timeout: 120_000,
  }, async () => {
    await page.getByRole("link", { name: "History", exact: true }).click();
    await page.getByTestId("history-verified").waitFor();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export-download").click(),
    ]);
    const name = download.suggestedFilename();
    expect(name).toMatch(new RegExp(`^patron-export-${merchant.id}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
    const file = join(tmp, name);
    await download.saveAs(file);
    await page.getByTestId("export-done").waitFor();
    // The command shown pins the log's key, as the docs say to.
    expect(await page.getByTestId("export-command").textContent()).toBe(
      `patron verify ${name} --key "$(curl -s ${base}/v1/ledger/key)"`,
    );
    const bundle = JSON.parse(readFileSync(file, "utf8"));
    expect(bundle).toMatchObject({
      format: "patron-export/v1",
      customer: { id: customerId },
      profile: { name: "Zoë Martin" },
    });
    nameVersion = (bundle.fields as { field: string; version: number }[]).find(
      (f) => f.field === "name",
    )?.version as number;
    await axe("export");
    const ok = await runCli(["verify", file, "--key", verifierKey], {});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(
        `OK: the export of ${customerId} holds ${bundle.entries.length} entries, .* on one chain with no gap`,
      ),
    );
  });

  it("catches an entry whose bytes were changed on the way, and calls nothing verified", async () => {
    tamper = (path, body) => {
      if (path !== "/v1/portal/history") return body;
      const answer = JSON.parse(body) as { entries: { index: number; data: string }[] };
      for (const e of answer.entries) {
        if (e.index !== interactionIndex) continue;
        const text = decode(e.data);
        expect(text).toContain('"direction":"inbound"');
        e.data = Buffer.from(
          text.replace('"direction":"inbound"', '"direction":"outbound"'),
        ).toString("base64");
      }
      return JSON.stringify(answer);
    };
    try {
      await page.reload();
      const failed = page.getByTestId("history-failed");
      await failed.waitFor({ timeout: 30_000 });
      expect(await failed.getAttribute("role")).toBe("alert");
      const problem = page.locator(
        `[data-testid="history-problem"][data-entry="${interactionIndex}"]`,
      );
      expect(await problem.first().textContent()).toContain(
        `Entry ${interactionIndex} is not in the signed checkpoint`,
      );
      expect(await page.getByTestId("history-verified").count()).toBe(0);
      expect(await page.getByTestId("history-entries").count()).toBe(0);
      expect(await page.locator("main").textContent()).not.toMatch(/Verified in your browser/);
      await axe("history-tampered");
      // The profile says its values could not be checked.
      await page.getByRole("link", { name: "Profile", exact: true }).click();
      await page.locator('[data-testid="profile-check"][data-state="failed"]').waitFor();
      expect(await page.locator('[data-testid="profile-check"]').getAttribute("role")).toBe(
        "alert",
      );
    } finally {
      tamper = null;
    }
  });

  it("catches a value that no longer matches its entry's commitment, in both languages", async () => {
    tamper = (path, body) => {
      if (path !== "/v1/portal/fields") return body;
      const answer = JSON.parse(body) as { fields: { field: string; value: unknown }[] };
      for (const f of answer.fields) if (f.field === "name") f.value = "Mallory Martin";
      return JSON.stringify(answer);
    };
    try {
      await page.goto(`${base}/me/m/${merchant.id}/history`);
      const failed = page.getByTestId("history-failed");
      await failed.waitFor({ timeout: 30_000 });
      expect(await failed.textContent()).toContain(
        `Your Name does not match the fingerprint entry ${nameVersion} keeps`,
      );
      expect(await page.getByTestId("history-verified").count()).toBe(0);
      expect(await page.locator("main").textContent()).not.toContain("Mallory");
      await page.getByTestId("language-switch").selectOption("zh-CN");
      await page.getByText("您的历史记录未通过核验").waitFor();
      expect(await failed.textContent()).toContain(
        `您的姓名与第 ${nameVersion} 条记录保存的指纹不符`,
      );
      await axe("history-tampered-zh");
      await page.getByTestId("language-switch").selectOption("en");
    } finally {
      tamper = null;
    }
    // Untouched again: it verifies again.
    await page.getByTestId("history-recheck").click();
    await page.getByTestId("history-verified").waitFor({ timeout: 30_000 });
  });

  it("left no accessibility violations, page errors or CSP reports behind", () => {
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});

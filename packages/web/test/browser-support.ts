import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { type PatronNode, startNode } from "../../server/src/node.js";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  haveBrowser,
  requireBrowser,
} from "../../server/src/test-support/chromium.js";

const webDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Says why a browser suite is skipped without chromium, and fails in its place when
 * PATRON_REQUIRE_BROWSER=1 (CI): a missing browser never passes as green.
 */
export function requireChromium(suite: string): void {
  if (!haveBrowser && !requireBrowser) {
    console.warn(
      `${suite} browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; set PATRON_REQUIRE_BROWSER=1 to make this a failure)`,
    );
  }
  describe.runIf(!haveBrowser && requireBrowser)(`${suite} in a browser`, () => {
    it("needs chromium", () => {
      throw new Error(
        `PATRON_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install it with apt-get install -y chromium`,
      );
    });
  });
}

/** Builds packages/web into `outDir` with the workspace's vite, as `npm run build` does. */
export function buildWeb(outDir: string): Promise<void> {
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

/** The desktop viewport every browser suite starts on, and returns to after a phone check. */
export const DESKTOP = { width: 1280, height: 900 };
export const SIZES = [
  ["desktop", DESKTOP],
  ["phone", { width: 390, height: 844 }],
] as const;

export interface BrowserNode {
  /** A fresh temporary folder holding the build, the node's data and any browser profile. */
  tmp: string;
  node: PatronNode;
  /** The owner's sign-in, as the node saved it on its first start. */
  login: { email: string; password: string };
}

/**
 * A real node (PGlite, no chain, no demo data, `env` on top) listening on 127.0.0.1 and serving
 * a fresh build of packages/web; `artifacts` (where screenshots go) is created too.
 */
export async function startBrowserNode(
  prefix: string,
  artifacts: string,
  env: Record<string, string> = {},
): Promise<BrowserNode> {
  const tmp = mkdtempSync(join(tmpdir(), `patron-${prefix}-`));
  const webRoot = join(tmp, "web");
  mkdirSync(webRoot);
  mkdirSync(artifacts, { recursive: true });
  const config = {
    ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0", ...env }),
    dataDir: join(tmp, "data"),
    port: 0,
    host: "127.0.0.1",
    webRoot,
  };
  await buildWeb(webRoot);
  const node = await startNode(config, { listen: true });
  const saved = readFileSync(join(config.dataDir, "owner-login.txt"), "utf8");
  const login = {
    email: /^email: (.+)$/m.exec(saved)?.[1] as string,
    password: /^password: (.+)$/m.exec(saved)?.[1] as string,
  };
  return { tmp, node, login };
}

export type Api = (
  path: string,
  init?: { method?: string; body?: unknown; key?: string },
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** The node's HTTP API with the owner's key (or `init.key`); an empty answer reads as `{}`. */
export const ownerApi =
  (node: () => PatronNode): Api =>
  async (path, init = {}) => {
    const res = await fetch(`${node().url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${init.key ?? node().ownerKey}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

/**
 * Entries written by what a test does: every read of personal data also leaves an access
 * record, committed in batches (access.recorded) on a timer, which is not a write of the page's.
 */
export async function countWrites(node: PatronNode): Promise<number> {
  const { rows } = await node.db.query<{ n: string | number }>(
    "SELECT count(*) AS n FROM ledger_entries WHERE type <> 'access.recorded'",
  );
  return Number(rows[0]?.n);
}

/** Collects a page's script errors and console errors (not failed resources: pages handle those). */
function watch(page: Page, problems: string[], label: string): void {
  page.on("pageerror", (err) => problems.push(`${label}page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) {
      problems.push(`${label}console error: ${msg.text()}`);
    }
  });
}

/**
 * Debian's chromium with a persistent profile in `tmp`, its one page watched for errors into
 * `problems`; given `dialogs`, confirmations (erase, delete…) are accepted and their texts kept there.
 */
export async function launchConsole(
  tmp: string,
  problems: string[],
  dialogs?: string[],
  options: { acceptDownloads?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: DESKTOP,
    locale: "en-GB",
    ...options,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  watch(page, problems, "");
  if (dialogs) {
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      dialog.accept().catch(() => {});
    });
  }
  return { context, page };
}

/** Debian's chromium, headless, for suites that open a context per customer. */
export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });

/** A page in a new context of `browser` (kept in `contexts` to close), watched into `problems`. */
export async function newWatchedPage(
  browser: Browser,
  contexts: BrowserContext[],
  problems: string[],
  name: string,
  options: { acceptDownloads?: boolean } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP, locale: "en-GB", ...options });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  watch(page, problems, `${name}: `);
  return page;
}

/** Fills the console's sign-in form and submits it with Enter. */
export async function fillSignIn(
  page: Page,
  login: { email: string; password: string },
): Promise<void> {
  await page.getByTestId("sign-in-email").fill(login.email);
  await page.getByTestId("sign-in-password").fill(login.password);
  await page.getByTestId("sign-in-password").press("Enter");
}

/**
 * Invites a member of staff with `role`, accepts the mailed invitation with `password`, and
 * signs them in to the console in a browser of their own (closed by the caller).
 */
export async function signInStaff(
  node: PatronNode,
  api: Api,
  staff: { email: string; role: string; password: string },
  problems: string[],
): Promise<{ browser: Browser; page: Page }> {
  const invited = await api("/v1/staff/invitations", {
    method: "POST",
    body: { email: staff.email, role: staff.role },
  });
  expect(invited.status).toBe(201);
  const mail = ((await api("/v1/outbox")).body.messages as { to: string; text: string }[]).find(
    (m) => m.to === staff.email,
  );
  const token = /#token=([A-Za-z0-9_.-]+)/.exec(mail?.text ?? "")?.[1];
  expect(token).toBeDefined();
  const accepted = await fetch(`${node.url}/v1/staff/invitations/accept`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, password: staff.password }),
  });
  expect(accepted.status).toBe(200);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: DESKTOP, locale: "en-GB" });
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (err) => problems.push(`${staff.role} page error: ${err.message}`));
  await page.goto(`${node.url}/console/sign-in`);
  await page.getByTestId("sign-in-email").fill(staff.email);
  await page.getByTestId("sign-in-password").fill(staff.password);
  await page.getByTestId("sign-in-submit").click();
  await page.waitForURL(/\/console\/customers$/);
  return { browser, page };
}

/** The error a form control is described by, or "" while it is not marked invalid. */
export async function describedError(page: Page, field: Locator): Promise<string> {
  if ((await field.getAttribute("aria-invalid")) !== "true") return "";
  const ids = ((await field.getAttribute("aria-describedby")) ?? "").split(" ");
  const texts: string[] = [];
  for (const id of ids.filter(Boolean)) {
    const el = page.locator(`[id="${id}"].field-error`);
    if ((await el.count()) > 0) texts.push((await el.textContent()) ?? "");
  }
  return texts.join(" ");
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

/** What axe-core finds against WCAG 2.2 AA on a page as it is now, one line a violation. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const w = window as unknown as {
      axe: {
        run: (
          ctx: Document,
          opts: object,
        ) => Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }>;
      };
    };
    const r = await w.axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
      },
    });
    return r.violations.map(
      (v) => `${v.id} (${v.nodes.length}: ${JSON.stringify(v.nodes[0]?.target)})`,
    );
  });
}

/**
 * What axe-core finds against WCAG 2.2 AA on a page as it is now (a form left open stays open),
 * on a desktop and on a phone, each size kept as `<shotPrefix><name>-<size>.png` in `artifacts`.
 * With `sideways`, a page wider than the screen (on a phone, or at every size) is a finding too.
 */
export function axeChecker(
  artifacts: string,
  options: { shotPrefix?: string; sideways?: "phone" | "every size" } = {},
): (page: Page, name: string) => Promise<string[]> {
  return async (page, name) => {
    const found: string[] = [];
    try {
      for (const [size, viewport] of SIZES) {
        await page.setViewportSize(viewport);
        const violations = await axeViolations(page);
        for (const v of violations) found.push(`${name} on a ${size}: ${v}`);
        if (options.sideways === "every size" || (options.sideways && size === "phone")) {
          const wide = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          if (wide > 1) found.push(`${name} on a ${size}: scrolls sideways by ${wide}px`);
        }
        await page.screenshot({
          path: join(artifacts, `${options.shotPrefix ?? ""}${name}-${size}.png`),
          fullPage: true,
        });
      }
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    return found;
  };
}

/** The portal's signing dialog: checks what it says it signs, then signs and waits for it to go. */
export async function confirmSigning(page: Page, says: RegExp): Promise<void> {
  const dialog = page.getByTestId("sign-dialog");
  await dialog.waitFor();
  expect(await page.getByTestId("sign-what").textContent()).toMatch(says);
  await page.getByTestId("sign-confirm").click();
  await dialog.waitFor({ state: "detached" });
}

/**
 * Joins `merchant` in the portal as `name` with a key kept in the browser, signs in, and
 * returns the customer id the staff API finds by `email`.
 */
export async function joinPortal(
  page: Page,
  node: PatronNode,
  api: Api,
  merchant: { id: string; name: string },
  who: { name: string; email: string },
): Promise<string> {
  await page.goto(`${node.url}/me/join/${merchant.id}`);
  await page.getByTestId("field-name").fill(who.name);
  await page.getByTestId("field-email").fill(who.email);
  await page.getByTestId("join-submit").click();
  await confirmSigning(page, new RegExp(`Become a customer of ${merchant.name}`));
  await page.waitForURL(new RegExp(`/me/m/${merchant.id}$`));
  await page.getByTestId("sign-in").click();
  await confirmSigning(page, /Sign in to/);
  await page.getByTestId("profile").waitFor();
  const list = await api(`/v1/customers?query=${encodeURIComponent(who.email)}`);
  return ((list.body.customers as { id: string }[])[0] as { id: string }).id;
}

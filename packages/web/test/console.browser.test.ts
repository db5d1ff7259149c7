import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PatronNode } from "../../server/src/node.js";
import { haveBrowser } from "../../server/src/test-support/chromium.js";
import {
  axeChecker,
  axeViolations,
  countWrites,
  DESKTOP,
  launchConsole,
  ownerApi,
  requireChromium,
  SIZES,
  startBrowserNode,
} from "./browser-support.js";

// The merchant console as a member of staff uses it: a real node (PGlite, no chain) serving a
// fresh build of packages/web, driven in Debian's chromium. The demo owner signs in with the
// password the node saved on its first start. Screenshots of every page, on a desktop and on a
// phone, go to test-artifacts/console/ at the repository root.

const _webDir = fileURLToPath(new URL("..", import.meta.url));
const artifacts = fileURLToPath(new URL("../../../test-artifacts/console/", import.meta.url));
requireChromium("console");

const LATIN = ["Zoë Martin", "Lucas Bernard", "Emma Dubois", "Hugo Laurent", "Léa Petit"];
const CHINESE = ["王小明", "李娜", "张伟", "刘洋", "陈静"];
const STAGES = ["prospect", "repeat", "loyal", "at_risk", "first_purchase"];

/**
 * 50 customers, two of them bad: row 17 has an email that is not one, row 33 a stage that
 * does not exist. Rows count from 1 after the header, as the import's report does.
 */
function customersCsv(): string {
  const lines = ["name,email,phone,stage,tags,language"];
  for (let row = 1; row <= 50; row++) {
    const chinese = row % 2 === 0;
    const base = (chinese ? CHINESE : LATIN)[Math.floor(row / 2) % 5] as string;
    // The first of each name keeps it whole (the searches below find it); others are numbered.
    const name = row <= 10 ? base : `${base}${chinese ? "" : " "}${row}`;
    const email =
      row === 17 ? "not-an-email" : `customer${row}@${chinese ? "shop.example.cn" : "boutique.fr"}`;
    const phone = chinese
      ? `+86 138 0013 ${String(8000 + row)}`
      : `+33 6 12 34 ${String(10 + row).padStart(2, "0")} 7${row % 10}`;
    const stage = row === 33 ? "vip-gold" : STAGES[row % 5];
    const tags = row % 3 === 0 ? "vip" : "newsletter";
    lines.push(
      [name, email, phone, stage, tags, chinese ? "zh-CN" : "fr"]
        .map((v) => (/[,"]/.test(v as string) ? `"${v}"` : v))
        .join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

describe.runIf(haveBrowser)("console in a browser", () => {
  let tmp: string;
  let node: PatronNode;
  let context: BrowserContext;
  let page: Page;
  let login: { email: string; password: string };
  let profileId: string;
  let comparePath: string;
  let reportPath: string;
  const problems: string[] = [];
  const dialogs: string[] = [];

  const shot = (name: string) =>
    page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const api = ownerApi(() => node);
  /** axe-core against WCAG 2.2 AA on a desktop and a phone, each kept as page-<name>-<size>.png. */
  const axeCheck = axeChecker(artifacts, { shotPrefix: "page-" });
  const axeNow = (name: string) => axeCheck(page, name);
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid"));
  /** Entries the page's actions write (batched access records are not counted). */
  const ledgerSize = () => countWrites(node);

  beforeAll(async () => {
    ({ tmp, node, login } = await startBrowserNode("console", artifacts, {
      // Access records reach the ledger quickly, so their proofs can be checked in the test.
      PATRON_ACCESS_BATCH_MS: "300",
    }));
    ({ context, page } = await launchConsole(tmp, problems, dialogs, { acceptDownloads: true }));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await node?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("sends a deep link to the sign-in form, refuses a wrong password, then signs in and comes back", async () => {
    await page.goto(`${node.url}/console/customers?stage=loyal`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await page.getByTestId("sign-in-email").fill(login.email);
    await page.getByTestId("sign-in-password").fill("not the password at all");
    await page.getByTestId("sign-in-submit").click();
    await expect
      .poll(() => page.getByTestId("sign-in-error").textContent())
      .toContain("do not match");
    await shot("sign-in-refused");
    // A malformed email never leaves the browser.
    await page.getByTestId("sign-in-email").fill("owner-at-nowhere");
    await page.getByTestId("sign-in-submit").click();
    await page.getByText("Enter an email address.").waitFor();
    await page.getByTestId("sign-in-email").fill(login.email);
    // From the keyboard: Enter in the password field submits.
    await page.getByTestId("sign-in-password").fill(login.password);
    await page.getByTestId("sign-in-password").press("Enter");
    await page.waitForURL(/\/console\/customers\?stage=loyal$/);
    await page.getByRole("heading", { name: "Customers", level: 1 }).waitFor();
    await page.getByTestId("customers-empty").waitFor();
    // The session is an HttpOnly cookie: nothing the page's scripts can read.
    expect(await page.evaluate(() => document.cookie)).toBe("");
  });

  it("imports a CSV of 50 customers: the dry run reports the 2 bad rows and writes nothing", async () => {
    await page.getByRole("link", { name: "Import" }).click();
    await page.waitForURL(/\/console\/import$/);
    const before = await ledgerSize();
    // A file with nothing in it is refused with the node's reason, and nothing is written.
    await page.getByTestId("import-file").setInputFiles({
      name: "empty.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("", "utf8"),
    });
    await page.getByTestId("import-check").click();
    await page.getByRole("alert").getByText("The node refused the request").waitFor();
    // In the console's words, by the node's code, as a row's reason is.
    expect(await page.getByTestId("import-refusal").textContent()).toBe(
      "empty_file The file is empty: it has no header row.",
    );
    expect(await ledgerSize()).toBe(before);
    await page.getByTestId("import-file").setInputFiles({
      name: "customers.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(customersCsv(), "utf8"),
    });
    await page.getByTestId("import-check").click();
    const report = page.getByTestId("import-report").first();
    await report.waitFor();
    expect(await report.getByTestId("report-read").textContent()).toBe("50");
    expect(await report.getByTestId("report-created").textContent()).toBe("48");
    expect(await report.getByTestId("report-rejected").textContent()).toBe("2");
    const issues = report.getByTestId("import-issues");
    await issues.waitFor();
    const rejected = issues.locator('tr[data-level="error"]');
    await expect.poll(() => rejected.count()).toBe(2);
    // Each reason in the console's words, by its code, with the file's column it names.
    expect(await rejected.nth(0).textContent()).toMatch(
      /^17.*invalid_email Not an email address\. \(column “email”\)/,
    );
    expect(await rejected.nth(1).textContent()).toMatch(
      /^33.*invalid_stage Not one of the stages: prospect, first_purchase.*\(column “stage”\)/,
    );
    expect(await ledgerSize()).toBe(before);
    // On a phone the report's rows stack as cards: a long reason wraps within its card.
    await page.setViewportSize(SIZES[1][1]);
    const sideways = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    await shot("import-dry-run-phone");
    await page.setViewportSize(DESKTOP);
    expect(sideways).toBeLessThanOrEqual(1);
    await shot("import-dry-run");
  });

  it("imports it for real, follows the progress and reads the same report", async () => {
    await page.getByTestId("import-run").click();
    // The wizard's own progress (the past imports below have their statuses too).
    const done = page.getByTestId("import-progress-status").getByText("Completed");
    await done.waitFor({ timeout: 30_000 });
    const report = page.getByTestId("import-report").last();
    await expect.poll(() => report.getByTestId("report-created").textContent()).toBe("48");
    expect(await report.getByTestId("report-rejected").textContent()).toBe("2");
    await expect
      .poll(() => report.getByTestId("import-issues").locator('tr[data-level="error"]').count())
      .toBe(2);
    const listed = await api("/v1/customers?limit=100");
    expect((listed.body.customers as unknown[]).length).toBe(48);
    await shot("import-done");
  });

  it("lists the customers, filters by stage and tag, and loads more", async () => {
    await page.getByTestId("import-to-customers").click();
    await page.waitForURL(/\/console\/customers$/);
    const rows = page.getByTestId("customer-row");
    await expect.poll(() => rows.count()).toBe(25);
    await page.getByTestId("load-more").click();
    await expect.poll(() => rows.count()).toBe(48);
    await expect.poll(() => page.getByTestId("load-more").count()).toBe(0);
    await page.getByTestId("filter-stage").selectOption("loyal");
    await page.waitForURL(/stage=loyal/);
    const loyal = ((await api("/v1/customers?stage=loyal&limit=100")).body.customers as unknown[])
      .length;
    await expect.poll(() => rows.count()).toBe(loyal);
    await page.getByTestId("filter-tag").fill("vip");
    await page.getByTestId("customer-search-submit").click();
    const vipLoyal = (
      (await api("/v1/customers?stage=loyal&tag=vip&limit=100")).body.customers as unknown[]
    ).length;
    expect(vipLoyal).toBeLessThan(loyal);
    await expect.poll(() => rows.count()).toBe(vipLoyal);
    await shot("customers-filtered");
    // A blank search in an address edited by hand is no search, not the node's refusal.
    await page.goto(`${node.url}/console/customers?q=+&tag=%20`);
    await expect.poll(() => rows.count()).toBe(25);
    expect(await page.getByRole("alert").count()).toBe(0);
  });

  it("exports every customer as CSV through the session", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export-customers").click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^customers-\d{4}-\d{2}-\d{2}\.csv$/);
    const file = join(tmp, "export.csv");
    await download.saveAs(file);
    const lines = readFileSync(file, "utf8").trim().split(/\r?\n/);
    expect(lines.length).toBe(1 + 48);
    expect(lines.some((l) => l.includes("王小明"))).toBe(true);
  });

  it("lists the pairs a later import finds may be one person", async () => {
    // Customer 1's email and customer 3's phone on one row: two people, or one?
    const res = await fetch(`${node.url}/v1/imports/customers?wait=true`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "text/csv" },
      body: "name,email,phone\nZoë M.,customer1@boutique.fr,+33 6 12 34 13 73\n",
    });
    expect(res.status).toBe(200);
    const suggested = await api("/v1/merge-suggestions");
    const pairs = suggested.body.suggestions as { customerId: string; otherId: string }[];
    expect(pairs.length).toBeGreaterThan(0);
    await page.goto(`${node.url}/console/customers`);
    const list = page.getByTestId("merge-suggestions");
    await list.waitFor();
    expect(await list.locator("li").count()).toBe(pairs.length);
    // Each customer of a pair by name, a link to its page: the new one and the one it may be.
    await list.getByRole("link", { name: "Zoë M.", exact: true }).first().waitFor();
    const other = (pairs[0] as { otherId: string }).otherId;
    const otherName = (await api(`/v1/customers/${other}`)).body.name as string;
    await list.getByRole("link", { name: otherName, exact: true }).first().waitFor();
    expect(
      await list.getByRole("link", { name: otherName, exact: true }).first().getAttribute("href"),
    ).toBe(`/console/customers/${other}`);
    await shot("duplicates");
  });

  it("compares a pair side by side, merges one into the other, then unmerges it", async () => {
    const pairs = (await api("/v1/merge-suggestions")).body.suggestions as {
      id: string;
      customerId: string;
      otherId: string;
    }[];
    const {
      id: suggestion,
      customerId: absorbed,
      otherId: survivor,
    } = pairs[0] as (typeof pairs)[number];
    await page.getByTestId("merge-suggestions").getByTestId("compare").first().click();
    // The page names the suggestion it is opened for: it reads that one, by its id.
    comparePath = `/console/customers/${absorbed}/compare/${survivor}?suggestion=${suggestion}`;
    await page.waitForURL((url) => `${url.pathname}${url.search}` === comparePath);
    await page.getByRole("heading", { name: "Compare and merge", level: 1 }).waitFor();
    // Why: Zoë M.'s email is customer 1's and her phone customer 3's; kinds only, in words.
    const why = (pairs[0] as unknown as { identifiers: { shared: string[]; differing: string[] } })
      .identifiers;
    const words: Record<string, string> = { email: "Email", phone: "Phone" };
    expect(why.shared).toHaveLength(1);
    expect(why.differing).toHaveLength(1);
    const reason = page.getByTestId("compare-reason");
    await reason.getByText("its identifiers belong to different customers").waitFor();
    expect(await reason.getByTestId("compare-shared").textContent()).toBe(
      words[why.shared[0] as string],
    );
    expect(await reason.getByTestId("compare-differing").textContent()).toBe(
      words[why.differing[0] as string],
    );
    await shot("compare");
    const before = await ledgerSize();
    await page.getByTestId(`merge-into-${survivor}`).click();
    await page.waitForURL(new RegExp(`/console/customers/${survivor}$`));
    await page.getByTestId("timeline").getByText("Merged with another record").waitFor();
    expect(dialogs.at(-1)).toContain("Merge Zoë M. into");
    expect(await ledgerSize()).toBe(before + 1);
    // The absorbed record says where it went, and an unmerge restores it.
    await page.goto(`${node.url}/console/customers/${absorbed}`);
    await page.getByTestId("merged-notice").waitFor();
    expect(await page.getByTestId("edit-customer").count()).toBe(0);
    await page.getByTestId("unmerge").click();
    await page.getByTestId("edit-customer").waitFor();
    await page.getByTestId("timeline").getByText("Unmerged").waitFor();
    expect(await ledgerSize()).toBe(before + 2);
    expect((await api(`/v1/customers/${absorbed}`)).body.status).toBe("active");
  });

  it("dismisses a possible duplicate from the list: read again, and the node has it dismissed", async () => {
    // Customer 5's email and customer 7's phone on one row: two more suggestions.
    const res = await fetch(`${node.url}/v1/imports/customers?wait=true`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "text/csv" },
      body: "name,email,phone\nEmma L.,customer5@boutique.fr,+33 6 12 34 17 77\n",
    });
    expect(res.status).toBe(200);
    const source = `import:${((await res.json()) as { id: string }).id}`;
    const open = (await api("/v1/merge-suggestions")).body.suggestions as {
      id: string;
      source: string;
    }[];
    const target = open.find((x) => x.source === source) as { id: string };
    expect(target).toBeDefined();
    await page.goto(`${node.url}/console/customers`);
    const list = page.getByTestId("merge-suggestions");
    await list.waitFor();
    await expect.poll(() => list.locator("li").count()).toBe(open.length);
    const row = list.locator(`li[data-suggestion="${target.id}"]`);
    await row.getByRole("link", { name: "Emma L.", exact: true }).waitFor();
    // From the keyboard: the button beside the pair, Enter, the confirmation accepted.
    await row.getByTestId("dismiss-suggestion").focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("suggestion-dismissed").getByText("Suggestion dismissed").waitFor();
    expect(dialogs.at(-1)).toContain("Dismiss this suggestion?");
    await expect.poll(() => list.locator("li").count()).toBe(open.length - 1);
    expect(await row.count()).toBe(0);
    // The row is gone: the focus is on the message saying so, not lost on the page.
    await expect.poll(() => focused()).toBe("suggestion-dismissed");
    const all = (await api("/v1/merge-suggestions?status=all")).body.suggestions as {
      id: string;
      status: string;
    }[];
    expect(all.find((x) => x.id === target.id)?.status).toBe("dismissed");
    const stillOpen = (await api("/v1/merge-suggestions")).body.suggestions as { id: string }[];
    expect(stillOpen.map((x) => x.id)).not.toContain(target.id);
    expect(stillOpen).toHaveLength(open.length - 1);
    await shot("duplicate-dismissed");
    expect(await axeNow("customers-dismissed")).toEqual([]);

    // Dismissed by mistake: the folded list of dismissed pairs says who, and Reopen brings it back.
    const folded = page.getByTestId("dismissed-suggestions");
    await folded.locator("summary").click();
    const back = folded.locator(`li[data-suggestion="${target.id}"]`);
    await back.getByText(/dismissed by/).waitFor();
    expect(await axeNow("customers-dismissed-pairs")).toEqual([]);
    await back.getByTestId("reopen-suggestion").click();
    await page.getByTestId("suggestion-reopened").getByText("Suggestion reopened").waitFor();
    await expect.poll(() => list.locator("li").count()).toBe(open.length);
    await list.locator(`li[data-suggestion="${target.id}"]`).waitFor();
    expect((await api("/v1/merge-suggestions")).body.suggestions).toContainEqual(
      expect.objectContaining({ id: target.id, status: "open" }),
    );
  });

  it("dismisses a pair from the compare page, which says why it was paired, in both languages", async () => {
    const open = (await api("/v1/merge-suggestions")).body.suggestions as {
      id: string;
      customerId: string;
      otherId: string;
      identifiers: { shared: string[]; differing: string[] };
    }[];
    // Emma L.: customer 5's email, customer 7's phone; the pair with customer 7.
    const customer7 = (await api("/v1/customers/lookup?email=customer7%40boutique.fr")).body;
    const target = open.find((x) => x.otherId === customer7.id) as (typeof open)[number];
    expect(target.identifiers).toEqual({ shared: ["phone"], differing: ["email"] });
    await page.goto(`${node.url}/console/customers`);
    const list = page.getByTestId("merge-suggestions");
    // From the keyboard: the pair's Compare link, Enter.
    await list.locator(`li[data-suggestion="${target.id}"]`).getByTestId("compare").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(
      (url) =>
        `${url.pathname}${url.search}` ===
        `/console/customers/${target.customerId}/compare/${target.otherId}?suggestion=${target.id}`,
    );
    const reason = page.getByTestId("compare-reason");
    expect(await reason.getByTestId("compare-shared").textContent()).toBe("Phone");
    expect(await reason.getByTestId("compare-differing").textContent()).toBe("Email");
    await page.getByRole("link", { name: "The import that found them" }).waitFor();
    expect(await axeNow("compare-reason")).toEqual([]);
    // On a phone the panel and both records fit the screen's width.
    await page.setViewportSize(SIZES[1][1]);
    const sideways = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    await page.setViewportSize(DESKTOP);
    expect(sideways).toBeLessThanOrEqual(1);

    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "配对原因" }).waitFor();
    expect(await reason.textContent()).toContain("其身份标识分属不同的客户");
    expect(await reason.getByTestId("compare-shared").textContent()).toBe("电话");
    expect(await reason.getByTestId("compare-differing").textContent()).toBe("电子邮箱");
    expect(await page.getByTestId("compare-dismiss").textContent()).toContain("不是同一人");
    expect(await axeNow("compare-reason-zh")).toEqual([]);
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Why they were paired" }).waitFor();

    const before = await ledgerSize();
    await page.getByTestId("compare-dismiss").focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("compare-dismissed").getByText("Suggestion dismissed").waitFor();
    expect(dialogs.at(-1)).toContain("Dismiss this suggestion?");
    await expect.poll(() => focused()).toBe("compare-dismissed");
    // Nothing on the ledger: a suggestion is the node's note, not the customers' history.
    expect(await ledgerSize()).toBe(before);
    expect(await page.getByTestId("compare-dismiss").count()).toBe(0);
    expect(await axeNow("compare-dismissed")).toEqual([]);
    const all = (await api("/v1/merge-suggestions?status=all")).body.suggestions as {
      id: string;
      status: string;
    }[];
    expect(all.find((x) => x.id === target.id)?.status).toBe("dismissed");
    // The list, read again, no longer has the pair.
    await page.getByRole("link", { name: "Back to the customers" }).click();
    await page.waitForURL(/\/console\/customers$/);
    await expect.poll(() => list.locator("li").count()).toBe(open.length - 1);
    expect(await list.locator(`li[data-suggestion="${target.id}"]`).count()).toBe(0);
  });

  it("searches names in Latin and in Chinese script", async () => {
    await page.goto(`${node.url}/console/customers`);
    const rows = page.getByTestId("customer-row");
    await expect.poll(() => rows.count()).toBe(25);
    const search = async (text: string) => {
      await page.getByTestId("customer-search").fill(text);
      await page.getByTestId("customer-search-submit").click();
      await page.waitForURL(new RegExp(`q=${encodeURIComponent(text).replace(/%20/g, "\\+")}`));
    };
    // Accent-insensitive: "zoe" finds Zoë.
    await search("zoe martin");
    const zoes = (
      (await api(`/v1/customers?query=${encodeURIComponent("zoe martin")}&limit=100`)).body
        .customers as unknown[]
    ).length;
    expect(zoes).toBe(5);
    await expect.poll(() => rows.count()).toBe(zoes);
    for (const row of await rows.allTextContents()) expect(row).toContain("Zoë Martin");
    await shot("search-latin");
    await search("王小明");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("王小明");
    await shot("search-chinese");
    // By the surname alone: every 李.
    await search("李");
    const li = (
      (await api(`/v1/customers?query=${encodeURIComponent("李")}&limit=100`)).body.customers as {
        name: string;
      }[]
    ).map((c) => c.name);
    expect(li.length).toBeGreaterThan(1);
    await expect.poll(() => rows.count()).toBe(li.length);
    // An exact email finds its holder.
    await search("customer7@boutique.fr");
    await expect.poll(() => rows.count()).toBe(1);
  });

  it("works from the keyboard: skip link, search with Enter, open a customer with Enter", async () => {
    await page.goto(`${node.url}/console/customers`);
    await page.getByTestId("customer-row").first().waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    // The search box is the first field of the page.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      if (await page.getByTestId("customer-search").evaluate((e) => e === document.activeElement)) {
        break;
      }
    }
    await page.keyboard.type("李娜");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\?q=/);
    await expect.poll(() => page.getByTestId("customer-row").count()).toBe(1);
    await page.getByRole("link", { name: "李娜", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "李娜", level: 1 }).waitFor();
    // The new page's content has the focus, not the link that was left.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
  });

  it("creates a customer, showing the node's refusal beside the field it is about", async () => {
    await page.goto(`${node.url}/console/customers`);
    await page.getByTestId("new-customer").click();
    const before = await ledgerSize();
    await page.getByTestId("field-name").fill("Chloé Moreau");
    await page.getByTestId("field-email").fill("chloe.moreau@boutique.fr");
    // Digits only, so the form lets it through; the node finds it is no possible number.
    await page.getByTestId("field-phone").fill("12");
    await page.getByTestId("create-submit").click();
    const phoneError = page.locator('[data-testid="field-phone"][aria-invalid="true"]');
    await phoneError.waitFor();
    const describedBy = (await phoneError.getAttribute("aria-describedby")) as string;
    expect(await page.locator(`[id="${describedBy.split(" ")[0]}"]`).textContent()).toContain(
      "not a possible phone number",
    );
    expect(await ledgerSize()).toBe(before);
    // An email another customer holds: refused as well, beside the email.
    await page.getByTestId("field-phone").fill("");
    await page.getByTestId("field-email").fill("customer7@boutique.fr");
    await page.getByTestId("create-submit").click();
    await page.locator('[data-testid="field-email"][aria-invalid="true"]').waitFor();
    await page.getByText("another customer already holds this email").waitFor();
    expect(await ledgerSize()).toBe(before);
    await shot("create-refused");
    await page.getByTestId("field-email").fill("chloe.moreau@boutique.fr");
    await page.getByTestId("field-phone").fill("+33 6 98 76 54 32");
    // The address and an attribute, given from the start.
    await page.getByTestId("field-address.city").fill("Lyon");
    // Two letters that name no country: said beside the field, and nothing is sent.
    const country = page.getByTestId("field-address.country");
    const countryError = async () => {
      await expect.poll(() => country.getAttribute("aria-invalid")).toBe("true");
      const note = (await country.getAttribute("aria-describedby")) as string;
      return page.locator(`[id="${note.split(" ")[0]}"]`).textContent();
    };
    const noCountry = "No country has this code: enter its ISO 3166-1 code, such as FR.";
    const creates: string[] = [];
    const onRequest = (r: { method: () => string; url: () => string }) => {
      if (r.method() === "POST" && r.url().endsWith("/v1/customers")) creates.push(r.url());
    };
    page.on("request", onRequest);
    await country.fill("zz");
    await page.getByTestId("create-submit").click();
    expect(await countryError()).toBe(noCountry);
    expect(creates).toEqual([]);
    page.off("request", onRequest);
    // The console's list is a copy of the node's: should they differ, the node's refusal goes
    // beside the field too, in the console's words (the request rewritten on its way, as a
    // console with an older list would send it).
    const stale = async (route: Route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      const body = request.postDataJSON();
      await route.continue({
        postData: JSON.stringify({ ...body, address: { ...body.address, country: "QQ" } }),
      });
    };
    await page.route("**/v1/customers", stale);
    const refused = page.waitForResponse(
      (r) => r.request().method() === "POST" && r.url().endsWith("/v1/customers"),
    );
    await country.fill("fr");
    await page.getByTestId("create-submit").click();
    expect((await refused).status()).toBe(400);
    expect(await countryError()).toBe(noCountry);
    expect(await page.getByTestId("create-error").count()).toBe(0);
    expect(await ledgerSize()).toBe(before);
    await page.unroute("**/v1/customers", stale);
    await country.fill("fr");
    await page.getByTestId("attribute-add").click();
    const attribute = page.getByTestId("attribute-row").first();
    await attribute.getByTestId("attribute-key").fill("shoe_size");
    await attribute.getByTestId("attribute-type").selectOption("number");
    await attribute.getByTestId("attribute-value").fill("38.5");
    await page.getByTestId("create-submit").click();
    await page.waitForURL(/\/console\/customers\/c_[A-Za-z0-9_-]+$/);
    await page.getByRole("heading", { name: "Chloé Moreau", level: 1 }).waitFor();
    expect(await ledgerSize()).toBe(before + 1);
    const created = (await api(`/v1/customers/${page.url().split("/").pop()}`)).body;
    expect(created.address).toEqual({ city: "Lyon", country: "FR" });
    expect(created.attributes).toEqual({ shoe_size: 38.5 });
  });

  it("erases a customer on request, after a confirmation", async () => {
    const before = await ledgerSize();
    await page.getByTestId("erase-customer").click();
    await page.getByRole("heading", { name: "Erased customer", level: 1 }).waitFor();
    expect(dialogs.at(-1)).toContain("Erase Chloé Moreau?");
    expect(await ledgerSize()).toBe(before + 1);
    // Nothing to edit or note on an erased customer; the timeline keeps its entries, verified.
    expect(await page.getByTestId("edit-customer").count()).toBe(0);
    expect(await page.getByTestId("note-text").count()).toBe(0);
    await page.getByTestId("timeline").getByText("Customer erased").waitFor();
    await expect
      .poll(() => page.getByTestId("timeline").getByTestId("entry-verified").count())
      .toBe(2);
  });

  it("opens a profile: identities with their channels, a timeline whose entries verify in the browser", async () => {
    const found = (await api(`/v1/customers?query=${encodeURIComponent("王小明")}`)).body
      .customers as { id: string }[];
    profileId = (found[0] as { id: string }).id;
    // An interaction on another channel, with its text, joins the same timeline.
    const recorded = await api("/v1/interactions", {
      method: "POST",
      body: {
        customerId: profileId,
        channel: "chat",
        direction: "inbound",
        kind: "message",
        // Logged later than it happened: the timeline says when it happened, and when logged.
        occurredAt: "2026-03-14T09:30:00Z",
        summary: "问题：会员卡积分",
        content: "我的积分什么时候到账？",
      },
    });
    expect(recorded.status).toBe(201);
    await api(`/v1/customers/${profileId}`, {
      method: "PATCH",
      body: { identities: [{ type: "wechat", value: "wxid_xiaoming" }] },
    });
    await page.goto(`${node.url}/console/customers`);
    await page.getByTestId("customer-search").fill("王小明");
    await page.getByTestId("customer-search-submit").click();
    await page.waitForURL(/\?q=/);
    await expect.poll(() => page.getByTestId("customer-row").count()).toBe(1);
    await page.getByRole("link", { name: "王小明", exact: true }).click();
    await page.waitForURL(new RegExp(`/console/customers/${profileId}$`));
    await page.getByRole("heading", { name: "王小明", level: 1 }).waitFor();
    const identities = page.getByTestId("identities");
    await identities.getByText("wxid_xiaoming").waitFor();
    expect(await identities.textContent()).toContain("WeChat");
    // Row 10 of the file, its phone shown in E.164.
    expect(await identities.textContent()).toContain("+8613800138010");
    const timeline = page.getByTestId("timeline");
    await timeline.getByText("我的积分什么时候到账？").waitFor();
    const items = timeline.locator("li.timeline-item");
    await expect.poll(() => items.count()).toBe(3);
    const chat = items.filter({ hasText: "我的积分什么时候到账？" }).getByTestId("timeline-time");
    expect(await chat.locator("time").first().getAttribute("datetime")).toBe(
      "2026-03-14T09:30:00.000Z",
    );
    expect(await chat.textContent()).toMatch(/^Mar 1[34], 2026, .+ · logged /);
    // Every item is an entry of the customer's chain, checked here against a signed checkpoint.
    await expect.poll(() => timeline.getByTestId("entry-verified").count()).toBe(3);
    expect(await timeline.getByTestId("entry-failed").count()).toBe(0);
    // The three entries are the customer's whole chain, each linked to the one before.
    await expect
      .poll(() => page.getByTestId("chain-status").textContent())
      .toBe("Chain complete: 3 entries, no gap");
  });

  it("adds a note: refused when empty, then on the timeline, verified", async () => {
    const before = await ledgerSize();
    await page.getByTestId("note-submit").click();
    await page.getByText("Write something first.").waitFor();
    expect(await ledgerSize()).toBe(before);
    const text = "Prefers WeChat. 喜欢用微信联系。";
    await page.getByTestId("note-text").fill(text);
    await page.getByTestId("note-submit").click();
    const timeline = page.getByTestId("timeline");
    await timeline.getByTestId("timeline-note").getByText(text).waitFor();
    await expect.poll(() => timeline.getByTestId("entry-verified").count()).toBe(4);
    expect(await ledgerSize()).toBe(before + 1);
    expect(await page.getByTestId("note-text").inputValue()).toBe("");
    await shot("customer-note");
  });

  it("deletes a note: its text leaves, the timeline says it was deleted", async () => {
    await page.getByTestId("note-text").fill("Wrong customer, sorry");
    await page.getByTestId("note-submit").click();
    const timeline = page.getByTestId("timeline");
    await timeline.getByText("Wrong customer, sorry").waitFor();
    const before = await ledgerSize();
    const item = timeline.locator("li.timeline-item", { hasText: "Wrong customer, sorry" });
    await item.getByTestId("note-delete").click();
    await timeline.getByText("Note deleted").waitFor();
    await expect.poll(() => timeline.getByText("Wrong customer, sorry").count()).toBe(0);
    expect(dialogs.at(-1)).toContain("Delete this note?");
    expect(await ledgerSize()).toBe(before + 1);
    // The first note is still there, and every entry still verifies.
    await timeline.getByText("Prefers WeChat.", { exact: false }).waitFor();
    await expect.poll(() => timeline.getByTestId("entry-verified").count()).toBe(6);
  });

  it("edits the profile: a PATCH of what changed, on the timeline too", async () => {
    await page.getByTestId("edit-customer").click();
    await page.getByTestId("field-stage").selectOption("loyal");
    await page.getByTestId("field-birthday").fill("1990-02-31");
    await page.getByTestId("edit-submit").click();
    // Well-formed but not a real date: the node says so, beside the field.
    await page.locator('[data-testid="field-birthday"][aria-invalid="true"]').waitFor();
    await page.getByTestId("field-birthday").fill("1990-02-28");
    await page.getByTestId("edit-submit").click();
    await page.getByTestId("profile-name").waitFor();
    expect(await page.locator(".card", { hasText: "Profile" }).first().textContent()).toContain(
      "Loyal",
    );
    const timeline = page.getByTestId("timeline");
    await timeline.getByText("Profile changed").first().waitFor();
    // What changed, in words: the birthday (personal) and the facts it and the stage set.
    const said = (await timeline.getByTestId("timeline-fields").first().textContent()) ?? "";
    expect(said.startsWith("Fields: ")).toBe(true);
    expect(said.slice("Fields: ".length).split(", ").sort()).toEqual([
      "age band",
      "birth month",
      "birthday",
      "stage",
    ]);
    await expect.poll(() => timeline.getByTestId("entry-verified").count()).toBe(7);
    await expect
      .poll(() => page.getByTestId("chain-status").textContent())
      .toBe("Chain complete: 7 entries, no gap");
  });

  it("logs an interaction from the profile: on the timeline with its text, verified", async () => {
    const before = await ledgerSize();
    await page.getByTestId("interaction-kind").selectOption("visit");
    await page.getByTestId("interaction-channel").selectOption("store");
    // The options have words of their own, capitalised; the timeline's stay mid-sentence.
    const optionsOf = (testId: string) =>
      page.getByTestId(testId).locator("option").allTextContents();
    expect(await optionsOf("interaction-channel")).toEqual([
      "In store",
      "Phone",
      "Email",
      "Website",
      "Chat",
      "Social media",
      "App",
    ]);
    expect(await optionsOf("interaction-direction")).toEqual([
      "Inbound (the customer reached out)",
      "Outbound (we reached out)",
    ]);
    await page.getByTestId("interaction-summary").fill("Tried the winter coat 试穿冬季大衣");
    await page.getByTestId("interaction-content").fill("Will come back on Saturday.");
    await page.getByTestId("interaction-submit").click();
    const timeline = page.getByTestId("timeline");
    await timeline.getByText("Tried the winter coat 试穿冬季大衣").waitFor();
    await timeline.getByText("Visit · store, inbound").waitFor();
    await expect.poll(() => timeline.getByTestId("entry-verified").count()).toBe(8);
    expect(await ledgerSize()).toBe(before + 1);
    expect(await page.getByTestId("interaction-summary").inputValue()).toBe("");
  });

  it("shows the access records of the customer's data, each proved in the browser", async () => {
    const records = page.getByTestId("access-records");
    await records.waitFor();
    // Batches are committed every 300 ms: refresh until every record has its proof.
    await expect
      .poll(
        async () => {
          await page.getByTestId("access-refresh").click();
          await page.waitForTimeout(200);
          const verified = await records.getByTestId("access-verified").count();
          const rows = await records.locator("tbody tr").count();
          return rows > 0 && verified === rows;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    expect(await records.getByTestId("access-failed").count()).toBe(0);
    await shot("customer-360");
  });

  it("edits the channel identities: adds, changes and removes rows, the node's refusal beside its row", async () => {
    // Another customer already holds a WeChat ID.
    const lina = (
      (await api(`/v1/customers?query=${encodeURIComponent("李娜")}`)).body.customers as {
        id: string;
      }[]
    )[0]?.id as string;
    const held = await api(`/v1/customers/${lina}`, {
      method: "PATCH",
      body: { identities: [{ type: "wechat", value: "wxid_lina" }] },
    });
    expect(held.status).toBe(200);
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.getByTestId("edit-customer").click();
    const rows = page.getByTestId("identity-row");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getByTestId("identity-type").inputValue()).toBe("wechat");
    expect(await rows.first().getByTestId("identity-value").inputValue()).toBe("wxid_xiaoming");
    // From the keyboard: Add an identity puts the focus on the new row's channel.
    await page.getByTestId("identity-add").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => focused()).toBe("identity-type");
    await rows.nth(1).getByTestId("identity-value").fill("wxid_lina");
    // A row left empty is caught before anything is sent.
    await page.getByTestId("identity-add").click();
    await rows.nth(2).getByTestId("identity-type").selectOption("instagram");
    const before = await ledgerSize();
    await page.getByTestId("edit-submit").click();
    const empty = rows.nth(2).locator('[data-testid="identity-value"][aria-invalid="true"]');
    await empty.waitFor();
    const emptyNote = (await empty.getAttribute("aria-describedby")) as string;
    expect(await page.locator(`[id="${emptyNote}"]`).textContent()).toBe(
      "Enter the identity, or remove this row.",
    );
    // The handle is written as people do; the node keeps it lower-case, without its @.
    await rows.nth(2).getByTestId("identity-value").fill("@XiaoMing.Wang");
    await page.getByTestId("edit-submit").click();
    // Only the node knows another customer holds wxid_lina: a 409, beside that row alone.
    const refused = rows.nth(1).locator('[data-testid="identity-value"][aria-invalid="true"]');
    await refused.waitFor();
    const note = (await refused.getAttribute("aria-describedby")) as string;
    expect(await page.locator(`[id="${note}"]`).textContent()).toContain(
      "another customer already holds this wechat",
    );
    expect(await page.locator('[data-testid="identity-value"][aria-invalid="true"]').count()).toBe(
      1,
    );
    expect(await ledgerSize()).toBe(before);
    await shot("identities-refused");
    expect(await axeNow("customer-identities")).toEqual([]);
    // That row becomes a loyalty card; the old WeChat ID goes; a WhatsApp number joins.
    await rows.nth(1).getByTestId("identity-type").selectOption("card");
    await rows.nth(1).getByTestId("identity-value").fill("MC-2024-0042");
    await rows.nth(0).getByTestId("identity-remove").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => focused()).toBe("identity-add");
    await page.keyboard.press("Enter");
    await rows.nth(2).getByTestId("identity-type").selectOption("whatsapp");
    await rows.nth(2).getByTestId("identity-value").fill("+86 138 0013 8010");
    await page.getByTestId("edit-submit").click();
    await page.getByTestId("profile-name").waitFor();
    const identities = page.getByTestId("identities");
    await identities.getByText("MC-2024-0042").waitFor();
    await identities.getByText("xiaoming.wang").waitFor();
    expect(await identities.getByText("wxid_xiaoming").count()).toBe(0);
    // One PATCH, one entry; every channel identity replaced by the list.
    expect(await ledgerSize()).toBe(before + 1);
    const saved = (await api(`/v1/customers/${profileId}`)).body.identities as {
      type: string;
      value: string;
    }[];
    expect([...saved].sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "card", value: "MC-2024-0042" },
      { type: "instagram", value: "xiaoming.wang" },
      { type: "whatsapp", value: "+8613800138010" },
    ]);
    // The other customer keeps theirs.
    expect((await api(`/v1/customers/${lina}`)).body.identities).toEqual([
      { type: "wechat", value: "wxid_lina" },
    ]);
    await page.getByTestId("timeline").getByText("Profile changed").first().waitFor();
    await shot("identities-saved");
  });

  it("edits the address and the attributes from the keyboard: refusals beside their fields, only what changed sent", async () => {
    const held = await api(`/v1/customers/${profileId}`, {
      method: "PATCH",
      body: { attributes: { points: 120, vip: true, tier: "gold" } },
    });
    expect(held.status).toBe(200);
    expect(held.body.address).toBeNull();
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.getByTestId("edit-customer").click();
    const line = (name: string) => page.getByTestId(`field-address.${name}`);
    expect(await line("line1").inputValue()).toBe("");
    // The customer's attributes, one row each, by name, each in its type.
    const rows = page.getByTestId("attribute-row");
    await expect.poll(() => rows.count()).toBe(3);
    const keys = () =>
      rows
        .getByTestId("attribute-key")
        .evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value));
    expect(await keys()).toEqual(["points", "tier", "vip"]);
    expect(await rows.nth(0).getByTestId("attribute-type").inputValue()).toBe("number");
    expect(await rows.nth(0).getByTestId("attribute-value").inputValue()).toBe("120");
    expect(await rows.nth(2).getByTestId("attribute-type").inputValue()).toBe("boolean");
    expect(await rows.nth(2).getByTestId("attribute-value").inputValue()).toBe("true");
    expect(await page.getByRole("group", { name: "Address" }).count()).toBe(1);
    expect(await page.getByRole("group", { name: "Attributes" }).count()).toBe(1);

    // From the keyboard: Add an attribute puts the focus on the new row's name; Tab goes on to
    // its type and its value, labelled with the row's number.
    await page.getByTestId("attribute-add").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.count()).toBe(4);
    await expect.poll(() => focused()).toBe("attribute-key");
    await page.keyboard.type("Shoe Size");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("attribute-type");
    await page.getByRole("combobox", { name: "Type of attribute 4" }).selectOption("number");
    await page.getByRole("textbox", { name: "Value of attribute 4" }).fill("38,5");
    await page.getByTestId("attribute-add").click();
    await rows.nth(4).getByTestId("attribute-key").fill("newsletter");
    await rows.nth(4).getByTestId("attribute-type").selectOption("boolean");
    await rows.nth(4).getByTestId("attribute-value").selectOption({ label: "No" });
    await rows.nth(1).getByTestId("attribute-value").fill("platinum");
    // Removing a row removes the attribute; the focus goes back to Add an attribute.
    await page.getByRole("button", { name: "Remove attribute 3 (vip)" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.count()).toBe(4);
    await expect.poll(() => focused()).toBe("attribute-add");
    await line("line1").fill("88 Nanjing Road");
    await line("city").fill("Shanghai");
    await line("postcode").fill("200001");
    await line("country").fill("chn");
    const before = await ledgerSize();
    await page.getByTestId("edit-submit").click();
    // Mistakes the form can see, beside their fields, and nothing sent.
    const invalid = async (field: ReturnType<typeof line>) => {
      await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
      const note = (await field.getAttribute("aria-describedby")) as string;
      return page.locator(`[id="${note.split(" ")[0]}"]`).textContent();
    };
    expect(await invalid(line("country"))).toBe("Enter the country as two letters, such as FR.");
    expect(await invalid(rows.nth(2).getByTestId("attribute-key"))).toContain(
      "lower-case letters, digits and _",
    );
    expect(await invalid(rows.nth(2).getByTestId("attribute-value"))).toBe(
      "Enter a number, such as 12 or 38.5.",
    );
    expect(await ledgerSize()).toBe(before);
    await rows.nth(2).getByTestId("attribute-key").fill("shoe_size");
    await rows.nth(2).getByTestId("attribute-value").fill("38.5");
    await line("country").fill("cn");

    // Meanwhile a colleague gives the customer 47 more attributes: 50, the most. Only the node
    // knows; it refuses the two this form adds, under the attributes, and nothing is written.
    const extra = Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`extra_${i}`, i]));
    expect(
      (await api(`/v1/customers/${profileId}`, { method: "PATCH", body: { attributes: extra } }))
        .status,
    ).toBe(200);
    const refusedAt = await ledgerSize();
    await page.getByTestId("edit-submit").click();
    const whole = page.getByTestId("attributes-error");
    await whole.waitFor();
    expect(await whole.textContent()).toBe("a customer has at most 50 attributes");
    expect(
      await page.getByRole("group", { name: "Attributes" }).getAttribute("aria-describedby"),
    ).toContain(await whole.getAttribute("id"));
    expect(await ledgerSize()).toBe(refusedAt);
    expect((await api(`/v1/customers/${profileId}`)).body.address).toBeNull();
    await shot("attributes-refused");
    expect(await axeNow("customer-attributes")).toEqual([]);

    // The colleague takes theirs back; saving again sends the changes alone, in one entry.
    const back = Object.fromEntries(Object.keys(extra).map((k) => [k, null]));
    await api(`/v1/customers/${profileId}`, { method: "PATCH", body: { attributes: back } });
    const saving = await ledgerSize();
    const sent = page.waitForRequest(
      (r) => r.method() === "PATCH" && r.url().endsWith(`/v1/customers/${profileId}`),
    );
    await page.getByTestId("edit-submit").click();
    expect((await sent).postDataJSON()).toEqual({
      address: { line1: "88 Nanjing Road", city: "Shanghai", postcode: "200001", country: "CN" },
      attributes: { tier: "platinum", shoe_size: 38.5, newsletter: false, vip: null },
    });
    await page.getByTestId("profile-name").waitFor();
    expect(await ledgerSize()).toBe(saving + 1);
    const saved = (await api(`/v1/customers/${profileId}`)).body;
    expect(saved.address).toEqual({
      line1: "88 Nanjing Road",
      city: "Shanghai",
      postcode: "200001",
      country: "CN",
    });
    expect(saved.attributes).toEqual({
      points: 120,
      tier: "platinum",
      shoe_size: 38.5,
      newsletter: false,
    });
    expect(saved.country).toBe("CN");
    const profile = page.locator(".card", { hasText: "Profile" }).first();
    await profile.getByText("88 Nanjing Road, 200001, Shanghai, CN").waitFor();
    expect(await profile.textContent()).toContain("shoe_size: 38.5");
    await shot("address-attributes-saved");

    // In Chinese the same form; every line emptied removes the address.
    await page.getByTestId("edit-customer").click();
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("group", { name: "地址" }).waitFor();
    await page.getByRole("button", { name: "添加属性" }).waitFor();
    expect(await page.getByRole("textbox", { name: "属性 4 的值" }).inputValue()).toBe("platinum");
    // A country that is none, said in Chinese beside its field.
    await line("country").fill("zz");
    await page.getByTestId("edit-submit").click();
    expect(await invalid(line("country"))).toBe(
      "没有国家使用此代码：请填写 ISO 3166-1 国家代码，例如 CN。",
    );
    for (const name of ["line1", "city", "postcode", "country"]) await line(name).fill("");
    await page.getByTestId("edit-submit").click();
    await page.getByTestId("profile-name").waitFor();
    await expect
      .poll(async () => (await api(`/v1/customers/${profileId}`)).body.address)
      .toBeNull();
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
  });

  it("builds a segment and sees its live count, then saves it and filters the list by it", async () => {
    await page.getByRole("link", { name: "Segments" }).click();
    await page.waitForURL(/\/console\/segments$/);
    const count = page.getByTestId("segment-count");
    const expected = async (condition: unknown) =>
      (await api("/v1/segments/preview", { method: "POST", body: { condition } })).body.count;
    // The first rule: stage is loyal.
    await expect
      .poll(() => count.textContent())
      .toBe(String(await expected({ "==": [{ var: "stage" }, "loyal"] })));
    await page.getByTestId("add-rule").click();
    const second = page.getByTestId("segment-rule").nth(1);
    await second.getByTestId("rule-value").fill("vip");
    const both = {
      and: [{ "==": [{ var: "stage" }, "loyal"] }, { in: ["vip", { var: "tags" }] }],
    };
    const n = (await expected(both)) as number;
    await expect.poll(() => count.textContent()).toBe(String(n));
    expect(JSON.parse((await page.getByTestId("segment-logic").textContent()) as string)).toEqual(
      both,
    );
    await page.getByTestId("segment-name").fill("Loyal VIPs");
    await page.getByTestId("segment-save").click();
    await page.getByTestId("segment-saved").waitFor();
    await shot("segments");
    await expect
      .poll(() => page.getByTestId("saved-segment-count").first().textContent())
      .toBe(`${n} ${n === 1 ? "customer" : "customers"} now`);
    await page.getByTestId("segment-list").getByRole("link", { name: "Loyal VIPs" }).click();
    await page.waitForURL(/\/console\/customers\?segment=/);
    await expect.poll(() => page.getByTestId("customer-row").count()).toBe(n);
    // Deleted: gone from the list; its entries stay on the ledger.
    await page.getByRole("link", { name: "Segments" }).click();
    const before = await ledgerSize();
    await page.getByTestId("segment-delete").click();
    await page.getByText("No segments yet.").waitFor();
    expect(dialogs.at(-1)).toContain("Loyal VIPs");
    expect(await ledgerSize()).toBe(before + 1);
  });

  it("renames a saved segment and changes its rules, or its JsonLogic when the builder cannot show it", async () => {
    const expected = async (condition: unknown) =>
      (await api("/v1/segments/preview", { method: "POST", body: { condition } })).body
        .count as number;
    const loyal = { "==": [{ var: "stage" }, "loyal"] };
    const made = await api("/v1/segments", {
      method: "POST",
      body: { name: "Loyal VIPs", condition: { and: [loyal, { in: ["vip", { var: "tags" }] }] } },
    });
    const visits = { ">=": [{ var: "attributes.visits" }, 3] };
    const other = await api("/v1/segments", {
      method: "POST",
      body: { name: "Frequent visitors", condition: visits },
    });
    const id = made.body.id as string;
    const otherId = other.body.id as string;
    await page.goto(`${node.url}/console/segments`);
    const row = page.locator(`[data-testid="saved-segment"][data-segment="${id}"]`);
    await row.getByTestId("segment-edit-open").click();
    const form = row.getByTestId("segment-edit");
    // The name has the focus; the builder holds the saved rules.
    await expect.poll(() => focused()).toBe("segment-edit-name");
    const rules = form.getByTestId("segment-rule");
    await expect.poll(() => rules.count()).toBe(2);
    expect(await rules.nth(0).getByTestId("rule-value").inputValue()).toBe("loyal");
    expect(await rules.nth(1).getByTestId("rule-value").inputValue()).toBe("vip");
    await form.getByTestId("segment-edit-name").fill("Loyal customers");
    await rules.nth(1).getByTestId("rule-remove").click();
    const n = await expected(loyal);
    await expect.poll(() => form.getByTestId("segment-count").textContent()).toBe(String(n));
    const before = await ledgerSize();
    await form.getByTestId("segment-edit-save").click();
    await row.getByTestId("segment-changed").waitFor();
    await row.getByRole("link", { name: "Loyal customers", exact: true }).waitFor();
    await expect.poll(() => focused()).toBe("segment-edit-open");
    expect((await api(`/v1/segments/${id}`)).body).toMatchObject({
      name: "Loyal customers",
      condition: loyal,
      count: n,
    });
    // One entry naming both changes.
    expect(await ledgerSize()).toBe(before + 1);
    await expect
      .poll(() => row.getByTestId("saved-segment-count").textContent())
      .toBe(`${n} ${n === 1 ? "customer" : "customers"} now`);

    // A condition the builder does not write opens as JsonLogic. Escape leaves it as it was.
    const otherRow = page.locator(`[data-testid="saved-segment"][data-segment="${otherId}"]`);
    await otherRow.getByTestId("segment-edit-open").click();
    const json = otherRow.getByTestId("segment-edit-json");
    expect(JSON.parse(await json.inputValue())).toEqual(visits);
    await page.keyboard.press("Escape");
    await expect.poll(() => json.count()).toBe(0);
    await expect.poll(() => focused()).toBe("segment-edit-open");
    await page.keyboard.press("Enter");
    // A personal field is no fact a segment may read: the node refuses, under the condition.
    await json.fill(JSON.stringify({ "==": [{ var: "email" }, "zoe@boutique.fr"] }));
    await otherRow.getByTestId("segment-edit-save").click();
    await expect
      .poll(() => otherRow.getByTestId("segment-edit-error").textContent())
      .toContain("condition");
    expect(await json.getAttribute("aria-invalid")).toBe("true");
    expect(await ledgerSize()).toBe(before + 1);
    await shot("segment-edit");
    expect(await axeNow("segment-edit")).toEqual([]);
    const more = { ">=": [{ var: "attributes.visits" }, 5] };
    await json.fill(JSON.stringify(more));
    await otherRow.getByTestId("segment-edit-name").fill("Regulars");
    await otherRow.getByTestId("segment-edit-save").click();
    await otherRow.getByTestId("segment-changed").waitFor();
    expect((await api(`/v1/segments/${otherId}`)).body).toMatchObject({
      name: "Regulars",
      condition: more,
    });
    expect(await ledgerSize()).toBe(before + 2);
    // Both deleted from the page.
    for (const [r, segmentId] of [
      [row, id],
      [otherRow, otherId],
    ] as const) {
      await r.getByTestId("segment-delete").click();
      await expect.poll(() => r.count()).toBe(0);
      expect((await api(`/v1/segments/${segmentId}`)).status).toBe(404);
    }
    await page.getByText("No segments yet.").waitFor();
  });

  it("maps a column the importer does not know, checks again and imports with that mapping", async () => {
    await page.goto(`${node.url}/console/import`);
    await page.getByTestId("import-file").setInputFiles({
      name: "handy.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("Name,Handy\nMax Muster,0151 23456789\n", "utf8"),
    });
    // Numbers written without +: the country says whose they are.
    await page.getByTestId("import-country").fill("de");
    await page.getByTestId("import-check").click();
    const mapping = page.getByTestId("column-mapping");
    await mapping.waitFor();
    const handy = mapping.getByLabel("Handy");
    expect(await handy.inputValue()).toBe("");
    expect(await mapping.getByLabel("Name").inputValue()).toBe("name");
    await handy.selectOption("phone");
    await page.getByTestId("import-recheck").click();
    await expect
      .poll(() => page.getByTestId("import-report").first().textContent())
      .toContain("Handy → Phone");
    await page.getByTestId("import-run").click();
    await page.getByTestId("import-progress-status").getByText("Completed").waitFor();
    const found = await api(`/v1/customers/lookup?phone=${encodeURIComponent("+4915123456789")}`);
    expect(found.status).toBe(200);
    expect(found.body.name).toBe("Max Muster");
    await shot("import-mapping");
  });

  it("lists past imports newest first, opens a report, and resumes an import a database failure interrupted", async () => {
    // The 50 rows again, while the database refuses to record a row as unchanged (which 48
    // of them are): the import stops, as it would on a full disk, and nothing is lost.
    await node.db.query(
      `CREATE FUNCTION test_refuse_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.outcome = 'unchanged' THEN RAISE EXCEPTION 'the disk is full'; END IF;
         RETURN NEW;
       END $$`,
    );
    await node.db.query(
      `CREATE TRIGGER test_refuse_unchanged BEFORE INSERT ON import_outcomes
       FOR EACH ROW EXECUTE FUNCTION test_refuse_unchanged()`,
    );
    let interrupted: string;
    try {
      const res = await fetch(`${node.url}/v1/imports/customers?wait=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "text/csv" },
        body: customersCsv(),
      });
      const view = (await res.json()) as { id: string; status: string; error: string };
      expect(view).toMatchObject({ status: "interrupted" });
      expect(view.error).toContain("the disk is full");
      interrupted = view.id;
    } finally {
      await node.db.query("DROP TRIGGER test_refuse_unchanged ON import_outcomes");
      await node.db.query("DROP FUNCTION test_refuse_unchanged()");
    }
    const listed = (await api("/v1/imports?limit=20")).body.imports as {
      id: string;
      dryRun: boolean;
      created: number;
    }[];
    expect(listed[0]?.id).toBe(interrupted);
    await page.goto(`${node.url}/console/import`);
    const history = page.getByTestId("import-history");
    const rows = history.getByTestId("import-history-row");
    await expect.poll(() => rows.count()).toBe(listed.length);
    // Newest first, as the node lists them: checks and imports alike.
    expect(await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-import")))).toEqual(
      listed.map((i) => i.id),
    );
    expect(await rows.first().getByTestId("import-status").textContent()).toBe("Interrupted");
    expect(await rows.first().textContent()).toContain("Import");
    const fifty = listed.find((i) => !i.dryRun && i.created === 48) as { id: string };
    const fiftyRow = history.locator(`[data-import="${fifty.id}"]`);
    expect(await fiftyRow.getByTestId("import-status").textContent()).toBe("Completed");
    expect(await fiftyRow.getByTestId("history-created").textContent()).toBe("48");
    expect(await fiftyRow.getByTestId("history-rejected").textContent()).toBe("2");
    expect(await fiftyRow.getByTestId("import-resume").count()).toBe(0);

    // Its report: the counts and both rejected rows with their reasons.
    await fiftyRow.getByTestId("import-open").click();
    await page.waitForURL(new RegExp(`/console/import/${fifty.id}$`));
    await page.getByRole("heading", { name: "Import report", level: 1 }).waitFor();
    reportPath = `/console/import/${fifty.id}`;
    const report = page.getByTestId("import-report");
    expect(await report.getByTestId("report-created").textContent()).toBe("48");
    const rejected = report.getByTestId("import-issues").locator('tr[data-level="error"]');
    await expect.poll(() => rejected.count()).toBe(2);
    expect(await rejected.nth(0).textContent()).toMatch(/^17.*invalid_email/);
    expect(await rejected.nth(1).textContent()).toMatch(/^33.*stage/);
    await shot("import-report");

    // The interrupted one says why, and resumes from the rows without an outcome.
    await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link").click();
    await page.waitForURL(/\/console\/import$/);
    await history.locator(`[data-import="${interrupted}"]`).getByTestId("import-open").click();
    await page.waitForURL(new RegExp(`/console/import/${interrupted}$`));
    const stopped = page.getByTestId("import-interrupted");
    await stopped.getByText("This import stopped before its last row").waitFor();
    await stopped.getByText("The node said: the disk is full").waitFor();
    // The bar shows how far it went: the 2 rows rejected on reading, none written yet.
    expect(await page.getByTestId("import-progress").getAttribute("value")).toBe("2");
    await shot("import-interrupted");
    expect(await axeNow("import-interrupted")).toEqual([]);
    const customersBefore = (await api("/v1/customers?limit=100")).body.customers as unknown[];
    await page.getByTestId("import-resume").click();
    await page.getByTestId("import-status").getByText("Completed").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("import-resume").count()).toBe(0);
    expect(await stopped.count()).toBe(0);
    expect((await api(`/v1/imports/${interrupted}`)).body).toMatchObject({
      status: "completed",
      error: null,
      created: 0,
      unchanged: 48,
      rejected: 2,
      processed: 50,
    });
    await expect
      .poll(() => page.getByTestId("import-report").getByTestId("report-rejected").textContent())
      .toBe("2");
    // The same people: no customer written twice.
    const customersAfter = (await api("/v1/customers?limit=100")).body.customers as unknown[];
    expect(customersAfter.length).toBe(customersBefore.length);
    await shot("import-resumed");
    // Back on the list, it reads Completed too.
    await page.goto(`${node.url}/console/import`);
    await expect
      .poll(() =>
        history
          .locator(`[data-import="${interrupted}"]`)
          .getByTestId("import-status")
          .textContent(),
      )
      .toBe("Completed");
    expect(await axeNow("import-history")).toEqual([]);
  });

  it("loads more past imports on the node's cursor, the keyboard going on from the first loaded", async () => {
    const everyImport = async () => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: Record<string, unknown> } = await api(
          `/v1/imports?limit=7${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(page.status).toBe(200);
        ids.push(...(page.body.imports as { id: string }[]).map((i) => i.id));
        cursor = page.body.next as string | null;
      } while (cursor);
      return ids;
    };
    // Checks of a small file (they write nothing) until the history is more than a page.
    for (let n = (await everyImport()).length; n <= 22; n++) {
      const res = await fetch(`${node.url}/v1/imports/customers?dryRun=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "text/csv" },
        body: `name,email\nCheck ${n},check${n}@boutique.fr\n`,
      });
      expect(res.status).toBe(200);
    }
    const all = await everyImport();
    expect(all.length).toBeGreaterThan(20);
    expect(all.length).toBeLessThanOrEqual(40);
    await page.goto(`${node.url}/console/import`);
    const history = page.getByTestId("import-history");
    const rows = history.getByTestId("import-history-row");
    const shown = () => rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-import")));
    await expect.poll(() => rows.count()).toBe(20);
    expect(await shown()).toEqual(all.slice(0, 20));
    await page.getByTestId("import-history-more").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => rows.count()).toBe(all.length);
    // Newest first across both pages, none twice; no page left to load.
    expect(await shown()).toEqual(all);
    expect(await page.getByTestId("import-history-more").count()).toBe(0);
    await expect.poll(() => focused()).toBe("import-open");
    expect(
      await page.evaluate(() => document.activeElement?.closest("tr")?.getAttribute("data-import")),
    ).toBe(all[20]);
  });

  it("switches to Chinese, keeps it across a reload, and back", async () => {
    await page.getByTestId("language-switch").selectOption("zh-CN");
    await page.getByRole("heading", { name: "客户", level: 1 }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    await page
      .getByRole("navigation", { name: "控制台" })
      .getByRole("link", { name: "客户分群" })
      .waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "客户", level: 1 }).waitFor();
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.getByRole("heading", { name: "时间线" }).waitFor();
    await page.getByText("添加备注").first().waitFor();
    // The timeline's field names and the interaction form's options in Chinese too.
    const fields = page.getByTestId("timeline-fields");
    const birthday = (await fields.filter({ hasText: "生日" }).first().textContent()) ?? "";
    expect(birthday.startsWith("字段：")).toBe(true);
    expect(birthday.slice("字段：".length).split("、").sort()).toEqual(
      ["出生月份", "年龄段", "生日", "阶段"].sort(),
    );
    // No field of any profile entry named in English (the identities' edit among them).
    for (const text of await fields.allTextContents()) {
      expect(text).not.toMatch(
        /\b(name|birthday|address|email|phone|card|wechat|channels|stage)\b/,
      );
    }
    expect(
      await page.getByTestId("interaction-direction").locator("option").allTextContents(),
    ).toEqual(["客户主动联系", "我方主动联系"]);
    expect(
      await page.getByTestId("interaction-channel").locator("option").first().textContent(),
    ).toBe("门店");
    await shot("customer-360-zh");
    // An import's rejected rows: the reasons in Chinese, the file's columns as they are.
    await page.goto(`${node.url}${reportPath}`);
    const rejected = page.getByTestId("import-issues").locator('tr[data-level="error"]');
    await expect.poll(() => rejected.count()).toBe(2);
    expect(await rejected.nth(0).getByTestId("issue-reason").textContent()).toBe(
      "invalid_email 不是有效的电子邮箱地址。 （列：“email”）",
    );
    expect(await rejected.nth(1).getByTestId("issue-reason").textContent()).toMatch(
      /^invalid_stage 不是已有的阶段：prospect, first_purchase/,
    );
    await shot("import-report-zh");
    // A refusal of the whole file, in Chinese by its code, with the column it names; and a file
    // that is not UTF-8 (a Latin-1 export).
    await page.goto(`${node.url}/console/import`);
    const refusal = page.getByTestId("import-refusal");
    const refuses = async (buffer: Buffer, words: string) => {
      await page.getByTestId("import-file").setInputFiles({
        name: "refused.csv",
        mimeType: "text/csv",
        buffer,
      });
      await page.getByTestId("import-check").click();
      await expect.poll(() => refusal.textContent()).toBe(words);
    };
    await refuses(
      Buffer.from("email,email\na@b.example,c@d.example\n"),
      "duplicate_column 标题行中有重复的列。 （列：“email”）",
    );
    await refuses(
      Buffer.from("name\nJos\xe9\n", "latin1"),
      "invalid_utf8 文件不是 UTF-8 文本：请另存为 CSV UTF-8 格式后重新选择。",
    );
    await page.getByRole("alert").getByText("节点拒绝了请求").waitFor();
    // The country of numbers without +: two letters that name none are said so, and the file is
    // not sent.
    await page.getByTestId("import-country").fill("zz");
    expect(await page.getByTestId("import-country-error").textContent()).toBe(
      "没有国家使用此代码：请填写 ISO 3166-1 国家代码，例如 CN。",
    );
    expect(await page.getByTestId("import-country").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByTestId("import-check").isDisabled()).toBe(true);
    await shot("import-refused-zh");
    expect(await axeNow("import-refused-zh")).toEqual([]);
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.getByTestId("language-switch").selectOption("en");
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
  });

  it("opens a suggestion older than the 50 newest from its link, and none that pairs others", async () => {
    // Customers of their own, so that no other pair is touched: Mix n holds Far n's email and
    // Near n's phone, two suggestions a row. The first row's are the oldest; 50 newer follow.
    const pad = (n: number) => String(n).padStart(2, "0");
    const send = async (csv: string) => {
      const res = await fetch(`${node.url}/v1/imports/customers?wait=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "text/csv" },
        body: csv,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { id: string };
    };
    const rows = (from: number, to: number, line: (n: string) => string) =>
      Array.from({ length: to - from }, (_, i) => line(pad(from + i))).join("\n");
    await send(`name,email\n${rows(0, 26, (n) => `Far ${n},far.${n}@pairs.example`)}\n`);
    await send(`name,phone\n${rows(0, 26, (n) => `Near ${n},+33 7 81 23 45 ${n}`)}\n`);
    const mix = (from: number, to: number) =>
      `name,email,phone\n${rows(from, to, (n) => `Mix ${n},far.${n}@pairs.example,+33 7 81 23 45 ${n}`)}\n`;
    const first = await send(mix(0, 1));
    const second = await send(mix(1, 26));
    const all = (await api("/v1/merge-suggestions?limit=500")).body.suggestions as {
      id: string;
      customerId: string;
      otherId: string;
      source: string;
    }[];
    const from = (imp: { id: string }) => all.filter((s) => s.source === `import:${imp.id}`);
    expect(from(first)).toHaveLength(2);
    expect(from(second)).toHaveLength(50);
    const near00 = (await api("/v1/customers/lookup?phone=%2B33781234500")).body.id as string;
    const target = all.find(
      (s) => s.source === `import:${first.id}` && s.otherId === near00,
    ) as (typeof all)[number];
    expect(target).toBeDefined();
    const newest = (await api("/v1/merge-suggestions?limit=50")).body.suggestions as {
      id: string;
    }[];
    expect(newest.map((s) => s.id)).not.toContain(target.id);

    const path = `/console/customers/${target.customerId}/compare/${target.otherId}`;
    await page.goto(`${node.url}${path}?suggestion=${target.id}`);
    const reason = page.getByTestId("compare-reason");
    await reason.getByText("its identifiers belong to different customers").waitFor();
    // Near 00 has a phone alone, the row's: nothing else to differ on.
    expect(await reason.getByTestId("compare-shared").textContent()).toBe("Phone");
    expect(await reason.getByTestId("compare-differing").textContent()).toBe("none");
    await page.getByTestId("compare-dismiss").waitFor();
    // Its id on another pair's page (a link edited by hand), or an id no suggestion has: the
    // two are compared as they are, with nothing to dismiss.
    const another = all.find((s) => s.id !== target.id && s.customerId !== target.customerId);
    for (const link of [
      `${path}?suggestion=${(another as (typeof all)[number]).id}`,
      `${path}?suggestion=ms_nosuchsuggestion`,
      path,
    ]) {
      await page.goto(`${node.url}${link}`);
      await page.getByTestId("compare-not-suggested").waitFor();
      expect(await page.getByTestId("compare-dismiss").count()).toBe(0);
    }
    // The pairs made here are settled, so the pages below list what they did before.
    const mine = new Set([`import:${first.id}`, `import:${second.id}`]);
    for (const s of all.filter((x) => mine.has(x.source))) {
      const dismissed = await api(`/v1/merge-suggestions/${s.id}/dismiss`, { method: "POST" });
      expect(dismissed.status).toBe(200);
    }
  });

  it("has no WCAG 2.2 AA violation axe-core finds, on every page, on a desktop and a phone", async () => {
    const pages: [string, string][] = [
      ["customers", "/console/customers"],
      ["customer", `/console/customers/${profileId}`],
      ["compare", comparePath],
      ["segments", "/console/segments"],
      ["import", "/console/import"],
      ["import-report", reportPath],
      ["team", "/console/team"],
      ["not-found", "/console/no/such/page"],
      ["forgot-password", "/console/forgot-password"],
      ["accept-invitation", "/console/accept-invitation#token=not-a-real-token"],
    ];
    const found: string[] = [];
    const check = async (name: string, size: string) => {
      const violations = await axeViolations(page);
      for (const v of violations) found.push(`${name} on a ${size}: ${v}`);
      await page.screenshot({ path: join(artifacts, `page-${name}-${size}.png`), fullPage: true });
    };
    try {
      for (const [size, viewport] of SIZES) {
        await page.setViewportSize(viewport);
        for (const [name, path] of pages) {
          await page.goto(`${node.url}${path}`);
          await page.locator("main h1").first().waitFor();
          await page.waitForLoadState("networkidle");
          await check(name, size);
        }
        for (const language of ["zh-CN", "en"] as const) {
          if (language === "zh-CN") {
            await page.goto(`${node.url}/console/customers/${profileId}`);
            await page.locator("main h1").first().waitFor();
            await page.getByTestId("language-switch").selectOption("zh-CN");
            await page.getByRole("heading", { name: "时间线" }).waitFor();
            await page.waitForLoadState("networkidle");
            await check("customer-zh", size);
          } else {
            await page.getByTestId("language-switch").selectOption("en");
          }
        }
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    expect(found).toEqual([]);
  }, 180_000);

  it("shows every navigation link on a phone's screen, Loyalty among them, without scrolling sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${node.url}/console/customers`);
      const nav = page.getByRole("navigation", { name: "Console" });
      const links = nav.getByRole("link");
      await links.first().waitFor();
      expect(await links.count()).toBe(7);
      for (const link of await links.all()) {
        const label = (await link.textContent()) ?? "";
        const box = await link.boundingBox();
        expect(box, label).not.toBeNull();
        expect(box?.x ?? -1, label).toBeGreaterThanOrEqual(0);
        expect((box?.x ?? 0) + (box?.width ?? 0), label).toBeLessThanOrEqual(390);
      }
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await shot("nav-phone");
      await nav.getByRole("link", { name: "Loyalty" }).click();
      await page.waitForURL(/\/console\/loyalty/);
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it("invites a colleague from the team page; the invitation waits in the outbox", async () => {
    await page.goto(`${node.url}/console/team`);
    await page.getByTestId("staff-table").waitFor();
    await page.getByLabel("Invite by email").fill("ana.lima@boutique.fr");
    await page.getByTestId("invite-role").selectOption("staff");
    await page.getByTestId("invite-submit").click();
    await page.getByText("Invitation sent to ana.lima@boutique.fr").waitFor();
    await page
      .getByTestId("staff-table")
      .getByRole("cell", { name: "ana.lima@boutique.fr", exact: true })
      .waitFor();
    await page
      .getByTestId("outbox")
      .getByText("ana.lima@boutique.fr", { exact: false })
      .first()
      .waitFor();
    // An auditor reads and changes nothing: the role is one entry on the merchant's chain.
    const row = page.getByTestId("staff-table").locator("tr", { hasText: "ana.lima@boutique.fr" });
    const before = await ledgerSize();
    await row.getByTestId("staff-role").selectOption("auditor");
    await expect
      .poll(async () => (await api("/v1/staff")).body.staff)
      .toContainEqual(expect.objectContaining({ email: "ana.lima@boutique.fr", role: "auditor" }));
    expect(await ledgerSize()).toBe(before + 1);
    await shot("team");
  });

  it("signs out: the session ends on the node and the pages ask to sign in again", async () => {
    await page.goto(`${node.url}/console/customers`);
    await page.getByTestId("sign-out").click();
    await page.waitForURL(/\/console\/sign-in/);
    await page.getByTestId("sign-in-email").waitFor();
    const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    await page.evaluate(axe);
    const violations = await page.evaluate(async () => {
      const w = window as unknown as {
        axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string }[] }> };
      };
      const r = await w.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
      });
      return r.violations.map((v) => v.id);
    });
    expect(violations).toEqual([]);
    for (const [size, viewport] of [
      ["desktop", { width: 1280, height: 900 }],
      ["phone", { width: 390, height: 844 }],
    ] as const) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: join(artifacts, `page-sign-in-${size}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    expect(problems).toEqual([]);
  });

  it("lets the invited colleague choose a password from the emailed link and sign in as an auditor", async () => {
    const outbox = await api("/v1/outbox");
    const mail = (outbox.body.messages as { to: string; text: string }[]).find(
      (m) => m.to === "ana.lima@boutique.fr",
    );
    const link = /https?:\/\/\S+\/console\/accept-invitation#token=[A-Za-z0-9_.-]+/.exec(
      mail?.text ?? "",
    )?.[0];
    expect(link).toBeDefined();
    const path = new URL(link as string);
    await page.goto(`${node.url}${path.pathname}${path.hash}`);
    await page.getByRole("heading", { name: "Accept your invitation" }).waitFor();
    // The token leaves the address bar as soon as the page has read it.
    expect(page.url()).toBe(`${node.url}/console/accept-invitation`);
    await page.getByTestId("new-password").fill("a long enough secret");
    await page.getByTestId("new-repeat").fill("another secret entirely");
    await page.getByTestId("password-submit").click();
    await page.getByText("The two passwords differ.").waitFor();
    await page.getByTestId("new-repeat").fill("a long enough secret");
    await page.getByTestId("password-submit").click();
    await page.getByTestId("account-done").waitFor();
    await shot("accept-invitation");
    // Once only: the same link again is refused. (From another page: a change of the fragment
    // alone would not load the page again.)
    await page.goto(`${node.url}/console/sign-in`);
    await page.goto(`${node.url}${path.pathname}${path.hash}`);
    await page.getByTestId("new-password").fill("yet another secret");
    await page.getByTestId("new-repeat").fill("yet another secret");
    await page.getByTestId("password-submit").click();
    await expect
      .poll(() => page.getByTestId("account-error").textContent())
      .toContain("already used");
    await page.goto(`${node.url}/console/sign-in`);
    await page.getByTestId("sign-in-email").fill("ana.lima@boutique.fr");
    await page.getByTestId("sign-in-password").fill("a long enough secret");
    await page.getByTestId("sign-in-submit").click();
    await page.waitForURL(/\/console\/customers$/);
    // Possible duplicates to compare, none to dismiss; no customer to create, none to export.
    await page.getByTestId("merge-suggestions").getByTestId("compare").first().waitFor();
    await page.getByTestId("customer-count").waitFor();
    expect(await page.getByTestId("dismiss-suggestion").count()).toBe(0);
    expect(await page.getByTestId("new-customer").count()).toBe(0);
    expect(await page.getByTestId("export-customers").count()).toBe(0);
    expect(await axeNow("customers-auditor")).toEqual([]);
    // The node refuses this session what the page no longer offers.
    const exported = await page.request.get(`${node.url}/v1/customers/export?format=csv`);
    expect(exported.status()).toBe(403);
    expect((await exported.json()).error.code).toBe("forbidden");
    const created = await page.evaluate(async () => {
      const me = await (await fetch("/v1/staff/me")).json();
      const res = await fetch("/v1/customers", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
        body: JSON.stringify({ name: "Not an auditor's to create" }),
      });
      return { status: res.status, code: (await res.json()).error?.code };
    });
    expect(created).toEqual({ status: 403, code: "forbidden" });
    // A pair side by side, to compare only: neither can absorb the other here.
    await page.getByTestId("merge-suggestions").getByTestId("compare").first().click();
    await page.getByRole("heading", { name: "Compare and merge", level: 1 }).waitFor();
    await page.locator(".compare-layout").getByTestId("profile-name").nth(1).waitFor();
    expect(await page.locator('[data-testid^="merge-into-"]').count()).toBe(0);
    await page.goto(`${node.url}/console/customers`);
    await page.getByRole("link", { name: "Team & keys" }).click();
    await page.getByText("Owners and admins only").waitFor();
    // As an auditor: a customer's page to read, with no form to change it.
    await page.goto(`${node.url}/console/customers/${profileId}`);
    await page.getByTestId("timeline").waitFor();
    await page.getByTestId("identities").waitFor();
    expect(await page.getByTestId("note-text").count()).toBe(0);
    expect(await page.getByTestId("edit-customer").count()).toBe(0);
    expect(await page.getByTestId("erase-customer").count()).toBe(0);
    // Segments to count but not to save; no import.
    await page.getByRole("link", { name: "Segments" }).click();
    await page.getByTestId("segment-count").waitFor();
    expect(await page.getByTestId("segment-save").count()).toBe(0);
    await page.getByRole("link", { name: "Import" }).click();
    await page.getByText("Auditors do not import").waitFor();
    expect(await page.getByTestId("import-file").count()).toBe(0);
    // The past imports and their reports are theirs to read.
    await page.getByTestId("import-history").getByTestId("import-open").first().waitFor();
    expect(problems).toEqual([]);
  });

  it("adds a passkey for the signed-in staff user, then signs in with it", async () => {
    // A virtual authenticator that verifies its user; passkeys need a secure context with a
    // domain name, so the console is opened on localhost rather than 127.0.0.1.
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const local = node.url.replace("127.0.0.1", "localhost");
    await page.goto(`${local}/console/sign-in`);
    await page.getByTestId("sign-in-email").fill(login.email);
    await page.getByTestId("sign-in-password").fill(login.password);
    await page.getByTestId("sign-in-submit").click();
    await page.waitForURL(/\/console\/customers$/);
    await page.goto(`${local}/console/team`);
    await page.getByTestId("passkey-label").fill("Shop laptop");
    await page.getByTestId("passkey-add").click();
    await page.getByTestId("passkey-list").getByText("Shop laptop").waitFor();
    await shot("passkeys");
    await page.getByTestId("sign-out").click();
    await page.waitForURL(/\/console\/sign-in/);
    // Signed out from the team page, the sign-in form brings the user back there.
    await page.getByTestId("passkey-sign-in").click();
    await page.waitForURL(/\/console\/team$/);
    await page.getByRole("heading", { name: "Team & keys", level: 1 }).waitFor();
    expect(await page.locator(".session-email").textContent()).toBe(login.email);
    await page.getByTestId("passkey-list").getByText("last used").waitFor();
    expect(problems).toEqual([]);
  });
});

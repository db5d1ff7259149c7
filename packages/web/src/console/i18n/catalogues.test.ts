import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CHANNEL_KINDS, ROLES, STAGES } from "../api/schemas.js";
import { TIMELINE_FIELDS } from "../customers/changed-fields.js";
import { INTERACTION_CHANNELS } from "../customers/hooks/useRecordInteraction.js";
import { ATTRIBUTE_TYPES } from "../customers/profile-fields.js";
import { FAILURE_CODES, ISSUE_CODES } from "../imports/issue-text.js";
import { RULE_STATUSES } from "../loyalty/api.js";
import { EXPIRY_POLICIES } from "../loyalty/expiry-policies.js";
import {
  ADJUSTMENT_REASONS,
  ADJUSTMENT_STATUSES,
  REDEMPTION_STATUSES,
} from "../loyalty/ops-api.js";
import { TEMPLATE_FIELDS, TEMPLATE_IDS } from "../loyalty/rule-forms.js";
import { RULE_FIELDS } from "../segments/condition.js";
import { en } from "./en.js";
import { zhCN } from "./zh-CN.js";

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const english = flatten(en);
const chinese = flatten(zhCN);
/** What `t("a.b", { count })` resolves: a.b itself or its plural forms. */
const has = (key: string) =>
  english.has(key) || (english.has(`${key}_one`) && english.has(`${key}_other`));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("the console's catalogues", () => {
  it("hold the same keys in English and Simplified Chinese, none of them blank", () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
    const blank = (m: Map<string, string>) =>
      [...m].filter(([k, v]) => v.trim() === "" && !k.startsWith("segments.placeholder."));
    expect(blank(english)).toEqual([]);
    expect(blank(chinese)).toEqual([]);
  });

  it("keep the same {{placeholders}} in both languages", () => {
    const names = (s: string) => [...s.matchAll(/{{(\w+)}}/g)].map((m) => m[1]).sort();
    for (const [key, text] of english) {
      expect(names(chinese.get(key) ?? ""), key).toEqual(names(text));
    }
  });

  it("have every key the console's code asks for", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const missing: string[] = [];
    for (const file of sources(root)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\bt\(\s*"([\w.]+)"/g)) {
        if (!has(m[1] as string)) missing.push(`${file.slice(root.length)}: ${m[1]}`);
      }
      // Keys held in data (navigation labels, validation messages).
      for (const m of text.matchAll(/\b(?:error|label):\s*"(\w+\.[\w.]+)"/g)) {
        if (!has(m[1] as string)) missing.push(`${file.slice(root.length)}: ${m[1]}`);
      }
    }
    const families: [string, readonly string[]][] = [
      ["stage", STAGES],
      ["channel", ["email", "phone", ...CHANNEL_KINDS]],
      ["role", ROLES],
      ["segments.fields", RULE_FIELDS],
      ["segments.placeholder", RULE_FIELDS],
      ["segments", ["and", "or"]],
      ["import.status", ["uploading", "running", "interrupted", "completed", "failed"]],
      ["import.levels", ["error", "warning"]],
      ["import.kinds", ["check", "import"]],
      ["customer.identityPlaceholder", CHANNEL_KINDS],
      ["customer.attributeTypes", ATTRIBUTE_TYPES],
      ["duplicates.reasons", ["identifier_conflict", "email_conflict"]],
      [
        "import.fields",
        ["name", "first_name", "last_name", "email", "phone", "birthday", "language", "tags"]
          .concat(["stage", "address_line1", "address_line2", "address_city", "address_region"])
          .concat(["address_postcode", "address_country"]),
      ],
      ["direction", ["inbound", "outbound"]],
      ["interactionForm.directions", ["inbound", "outbound"]],
      ["interactionForm.channels", INTERACTION_CHANNELS],
      ["interactionChannel", INTERACTION_CHANNELS],
      ["import.issueCodes", ISSUE_CODES],
      ["import.failures", FAILURE_CODES],
      ["timeline.fieldNames", TIMELINE_FIELDS],
      ["outbox", ["mail", "sms"]],
      ["team.statuses", ["invited", "active", "disabled"]],
      ["loyalty.rules.status", RULE_STATUSES],
      ["loyalty.editor.templates", TEMPLATE_IDS],
      ["loyalty.editor.templateHint", TEMPLATE_IDS],
      [
        "loyalty.editor.field",
        ["name", "description", ...new Set(Object.values(TEMPLATE_FIELDS).flat())],
      ],
      ["loyalty.editor.rounding", ["floor", "ceil", "half_up"]],
      ["loyalty.history.events", ["published", "retired"]],
      ["loyalty.programme.debtHint", ["recover", "write_off"]],
      ["loyalty.programme.expiryPolicies", EXPIRY_POLICIES.map((p) => p.id)],
      ["loyalty.programme.expiryHint", EXPIRY_POLICIES.map((p) => p.id)],
      ["loyalty.ops.adjustments.reasons", ADJUSTMENT_REASONS],
      ["loyalty.ops.adjustments.statuses", ADJUSTMENT_STATUSES],
      ["loyalty.ops.till.statuses", REDEMPTION_STATUSES],
    ];
    for (const [family, members] of families) {
      for (const member of members) {
        if (!has(`${family}.${member}`)) missing.push(`${family}.${member}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

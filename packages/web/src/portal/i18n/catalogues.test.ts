import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RecoveryView } from "../api/schemas.js";
import { MOVE_REFUSALS } from "../loyalty/components/MoveError.js";
import { KNOWN_TYPES } from "../signing/describe.js";
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
const has = (key: string) =>
  english.has(key) || (english.has(`${key}_one`) && english.has(`${key}_other`));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("the portal's catalogues", () => {
  it("hold the same keys in English and Simplified Chinese, none of them blank", () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
    const blank = (m: Map<string, string>) => [...m].filter(([, v]) => v.trim() === "");
    expect(blank(english)).toEqual([]);
    expect(blank(chinese)).toEqual([]);
  });

  it("keep the same {{placeholders}} in both languages", () => {
    const names = (s: string) => [...s.matchAll(/{{(\w+)}}/g)].map((m) => m[1]).sort();
    for (const [key, text] of english) {
      expect(names(chinese.get(key) ?? ""), key).toEqual(names(text));
    }
  });

  it("have every key the portal's code asks for", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const missing: string[] = [];
    for (const file of sources(root)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\bt\(\s*"([\w.]+)"/g)) {
        if (!has(m[1] as string)) missing.push(`${file.slice(root.length)}: ${m[1]}`);
      }
      // Keys held in data (validation messages).
      for (const m of text.matchAll(/\berror:\s*"(\w+\.[\w.]+)"/g)) {
        if (!has(m[1] as string)) missing.push(`${file.slice(root.length)}: ${m[1]}`);
      }
    }
    const families: [string, readonly string[]][] = [
      ["signing.types", [...KNOWN_TYPES, "unknown", "redemptionReward"]],
      ["loyalty.refusals", MOVE_REFUSALS],
      ["loyalty.redeem.status", ["held", "captured", "released", "expired"]],
      ["keys.kinds", ["passkey", "ed25519"]],
      ["keys.hints", ["passkey", "ed25519"]],
      ["keys.errors", ["unavailable", "root_mismatch", "corrupt"]],
      ["passkey", ["cancelled", "unsupported", "failed"]],
      [
        "backup.errors",
        ["not_a_backup", "unsupported_version", "bad_parameters", "wrong_passphrase"],
      ],
      ["recoveries.status", RecoveryView.shape.status.options],
      ["signIn.lead", ["passkey", "ed25519"]],
      ["profile.fields", ["name", "email", "phone", "birthday", "language", "address"]],
    ];
    for (const [family, members] of families) {
      for (const member of members) {
        if (!has(`${family}.${member}`)) missing.push(`${family}.${member}`);
      }
    }
    // Every refusal the error text names has its words.
    const ui = readFileSync(join(root, "layout/ui.tsx"), "utf8");
    const codes = /KNOWN_CODES = \[([^\]]*)\]/.exec(ui)?.[1] ?? "";
    for (const m of codes.matchAll(/"(\w+)"/g)) {
      if (!has(`refusal.${m[1]}`)) missing.push(`refusal.${m[1]}`);
    }
    expect(codes).not.toBe("");
    expect(missing).toEqual([]);
  });
});

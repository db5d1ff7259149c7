import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { openLedger, startNode } from "../src/node.js";
import { Tenancy } from "../src/tenancy/tenancy.js";
import { runCli } from "./child.js";

describe("the first start", () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), "patron-boot-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("refuses a bad PATRON_OWNER_KEY before writing anything", { timeout: 60_000 }, async () => {
    const dir = fresh();
    const r = await runCli(["start"], {
      PATRON_DATA_DIR: dir,
      PATRON_OWNER_KEY: "short",
      PORT: "0",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PATRON_OWNER_KEY must be 32 to 200 printable ASCII characters/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a PATRON_DEFAULT_COUNTRY that names no country before writing anything", {
    timeout: 60_000,
  }, async () => {
    const country = (v: string) => loadConfig({ PATRON_DEFAULT_COUNTRY: v }).defaultCountry;
    expect(country("")).toBeUndefined();
    expect(country("FR")).toBe("FR");
    // A phone number's country that an address takes too (Kosovo).
    expect(country("XK")).toBe("XK");
    expect(() => country("ZZ")).toThrow(/"ZZ" names no country/);
    expect(() => country("fr")).toThrow(/ISO 3166-1 alpha-2 code such as FR, got "fr"/);

    const dir = fresh();
    const r = await runCli(["start"], {
      PATRON_DATA_DIR: dir,
      PATRON_DEFAULT_COUNTRY: "QQ",
      PORT: "0",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /PATRON_DEFAULT_COUNTRY must be an ISO 3166-1 alpha-2 code such as FR; "QQ" names no country/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("finishes a first start that stopped between the merchant and its key", {
    timeout: 60_000,
  }, async () => {
    const dataDir = fresh();
    const config = { ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" }), dataDir };
    // The merchant is committed, then the process stops before its owner key.
    const ledger = await openLedger(config);
    await new Tenancy(ledger.db, ledger.sequencer).createMerchant("Half-made");
    await ledger.sequencer.close();
    await ledger.db.close();

    const lines: string[] = [];
    const node = await startNode(config, { listen: false, log: (l) => lines.push(l) });
    try {
      expect(node.ownerKey).toMatch(/^pat_/);
      expect(lines.join("\n")).toMatch(/had no key .* created its owner key/);
      const me = await node.app.inject({
        url: "/v1/me",
        headers: { authorization: `Bearer ${node.ownerKey}` },
      });
      expect(me.statusCode).toBe(200);
      expect(readFileSync(join(dataDir, "owner-key.txt"), "utf8").trim()).toBe(node.ownerKey);
    } finally {
      await node.close();
    }

    // Later starts name the key file but never print the key again.
    const later: string[] = [];
    const again = await startNode(config, { listen: false, log: (l) => later.push(l) });
    await again.close();
    expect(later.join("\n")).not.toMatch(/pat_/);
    expect(later.join("\n")).toMatch(/owner-key\.txt/);
    expect(existsSync(join(dataDir, "owner-key.txt"))).toBe(true);
  });

  it("creates the operator key on the first start, from PATRON_OPERATOR_KEY when set", {
    timeout: 60_000,
  }, async () => {
    const bad = fresh();
    const r = await runCli(["start"], {
      PATRON_DATA_DIR: bad,
      PATRON_OPERATOR_KEY: "x y",
      PORT: "0",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PATRON_OPERATOR_KEY must be 32 to 200 printable ASCII characters/);
    expect(readdirSync(bad)).toEqual([]);

    const dataDir = fresh();
    const chosen = "op_test_operator_key_0123456789abcdefghijkl";
    const config = {
      ...loadConfig({ PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0", PATRON_OPERATOR_KEY: chosen }),
      dataDir,
    };
    const lines: string[] = [];
    const node = await startNode(config, { listen: false, log: (l) => lines.push(l) });
    try {
      expect(node.operatorKey).toBe(chosen);
      expect(readFileSync(join(dataDir, "operator-key.txt"), "utf8").trim()).toBe(chosen);
      const m = await node.app.inject({
        method: "POST",
        url: "/v1/merchants",
        headers: { authorization: `Bearer ${chosen}`, "content-type": "application/json" },
        payload: JSON.stringify({ name: "Second" }),
      });
      expect(m.statusCode).toBe(201);
      // The operator key is not a merchant's: the demo owner's key cannot create merchants.
      const asOwner = await node.app.inject({
        method: "POST",
        url: "/v1/merchants",
        headers: { authorization: `Bearer ${node.ownerKey}`, "content-type": "application/json" },
        payload: JSON.stringify({ name: "Third" }),
      });
      expect(asOwner.statusCode).toBe(403);
    } finally {
      await node.close();
    }
    // A later start keeps the first key, and says so when told another.
    const later: string[] = [];
    const again = await startNode(
      { ...config, operatorKey: "op_another_operator_key_0123456789abcdefgh" },
      { listen: false, log: (l) => later.push(l) },
    );
    try {
      expect(again.operatorKey).toBeUndefined();
      expect(later.join("\n")).toMatch(/PATRON_OPERATOR_KEY is ignored/);
      const ok = await again.app.inject({
        url: "/v1/merchants/me",
        headers: { authorization: `Bearer ${chosen}` },
      });
      // The operator has no merchant of its own.
      expect(ok.statusCode).toBe(403);
    } finally {
      await again.close();
    }
  });
});

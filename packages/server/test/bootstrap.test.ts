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
});

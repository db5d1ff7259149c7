import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pglite } from "../src/test-support/backends.js";
import { runCli } from "./child.js";
import { type TestNode, testNode } from "./helpers.js";

describe("patron CLI", () => {
  let t: TestNode;
  let dir: string;
  let key: string;
  let receipt: string;
  beforeAll(async () => {
    t = await testNode(pglite);
    dir = mkdtempSync(join(tmpdir(), "patron-cli-"));
    key = (await t.node.app.inject("/v1/ledger/key")).body.trim();
    // Entry 1 (the owner key) is sealed: its receipt goes to the merchant's own keys.
    receipt = (await t.node.app.inject({ url: "/v1/ledger/receipts/1", headers: t.auth() })).body;
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints help", { timeout: 60_000 }, async () => {
    const r = await runCli(["--help"], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verify <file>/);
    // Help after a command prints the help instead of running it (a node would start here).
    expect(r.stdout).toMatch(/PATRON_MASTER_KEY_PREVIOUS/);
    const start = await runCli(["start", "--help"], {});
    expect(start.code).toBe(0);
    // A command's own help: its usage and options, not every command's.
    expect(start.stdout).toMatch(/Usage: patron start/);
    expect(start.stdout).toMatch(/PATRON_DATA_DIR/);
    expect(start.stdout).not.toMatch(/verify <file>/);
    const importHelp = await runCli(["help", "import"], {});
    expect(importHelp.code).toBe(0);
    expect(importHelp.stdout).toMatch(/--node <url>/);
    expect(importHelp.stdout).not.toMatch(/Environment:/);
    const unknownHelp = await runCli(["help", "frobnicate"], {});
    expect(unknownHelp.code).toBe(2);
    const bad = await runCli(["frobnicate"], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command/);
  });

  it("verifies a receipt offline and rejects a tampered one, a wrong key and another log's origin", {
    timeout: 180_000,
  }, async () => {
    const file = join(dir, "entry-1.tlog-proof");
    writeFileSync(file, receipt);
    const ok = await runCli(["verify", file, "--key", key], {});
    expect(ok.stdout).toMatch(/^OK: entry 1 is in /m);
    expect(ok.code).toBe(0);

    const keyFile = join(dir, "log.vkey");
    writeFileSync(keyFile, `${key}\n`);
    expect((await runCli(["verify", file, "--key", keyFile], {})).code).toBe(0);

    // Flip one bit in the base64 of the entry bytes (the receipt's extra line).
    const tampered = receipt.replace(
      /^extra (.)/m,
      (_m, c: string) => `extra ${c === "A" ? "B" : "A"}`,
    );
    writeFileSync(join(dir, "bad.tlog-proof"), tampered);
    const bad = await runCli(["verify", join(dir, "bad.tlog-proof"), "--key", key], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/FAILED/);

    const other = await testNode(pglite);
    try {
      const otherKey = (await other.node.app.inject("/v1/ledger/key")).body.trim();
      const wrong = await runCli(["verify", file, "--key", otherKey], {});
      expect(wrong.code).toBe(1);
    } finally {
      await other.close();
    }
    const origin = await runCli(
      ["verify", file, "--key", key, "--origin", "example.com/other-log"],
      {},
    );
    expect(origin.code).toBe(1);

    const missing = await runCli(["verify", file], {});
    expect(missing.code).toBe(2);
  });

  it("says clearly when the chain cannot be checked, and never pretends it was", {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, "entry-1.tlog-proof");
    writeFileSync(file, receipt);
    const contract = `0x${"12".repeat(20)}`;
    const noChain = await runCli(["verify", file, "--key", key, "--contract", contract], {});
    expect(noChain.code).toBe(2);
    expect(noChain.stderr).toMatch(/--contract only makes sense with --chain/);

    // Nothing listens on port 1: one line naming the chain and the contract, no stack dump.
    const down = await runCli(
      ["verify", file, "--key", key, "--chain", "http://127.0.0.1:1", "--contract", contract],
      {},
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^FAILED: cannot read LedgerAnchor 0x1212.* on the chain at http:\/\/127\.0\.0\.1:1/m,
    );
    expect(down.stderr).not.toMatch(/Request body|Version: viem/);
  });

  it("audits nothing, and creates nothing, where there is no ledger", {
    timeout: 60_000,
  }, async () => {
    const empty = mkdtempSync(join(tmpdir(), "patron-empty-"));
    try {
      const r = await runCli(["audit"], { PATRON_DATA_DIR: empty });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^FAILED: no ledger in /m);
      expect(existsSync(join(empty, "pgdata"))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

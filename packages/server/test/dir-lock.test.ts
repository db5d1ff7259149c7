import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/database.js";
import { claimDirectory, DirectoryInUseError } from "../src/db/dir-lock.js";
import { runCli, startServer } from "./child.js";

describe("one process per embedded database", () => {
  const root = mkdtempSync(join(tmpdir(), "patron-lock-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("refuses a second claim while the first is held, and allows one after release", () => {
    const dir = join(root, "a", "pgdata");
    const release = claimDirectory(dir);
    expect(() => claimDirectory(dir)).toThrow(DirectoryInUseError);
    release();
    expect(existsSync(`${dir}.lock`)).toBe(false);
    claimDirectory(dir)();
  });

  it("takes over a claim left by a process that died", () => {
    const dir = join(root, "b", "pgdata");
    // A pid that no longer runs: a child that has already exited.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    claimDirectory(join(root, "b", "x"))(); // creates the parent
    writeFileSync(`${dir}.lock`, `${dead}\n`);
    const release = claimDirectory(dir);
    release();
  });

  it("refuses a second open of the same embedded database, closing releases it", async () => {
    const dir = join(root, "c", "pgdata");
    const db = await openDatabase({ dataDir: dir });
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/another Patron process/);
    await db.close();
    const again = await openDatabase({ dataDir: dir });
    await again.close();
  });

  it("refuses a second node and an audit beside a running node on the same data directory", {
    timeout: 120_000,
  }, async () => {
    const dataDir = join(root, "d");
    const env = { PATRON_DATA_DIR: dataDir, PATRON_CHAIN: "off" };
    const first = await startServer(env);
    try {
      const second = await runCli(["start"], { ...env, PORT: "0" });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        /another Patron process \(pid \d+\) is using the embedded database/,
      );
      const audit = await runCli(["audit"], env);
      expect(audit.code).toBe(1);
      expect(audit.stderr).toMatch(/another Patron process/);
    } finally {
      first.child.kill("SIGTERM");
    }
    expect(await first.exited).toBe(0);
    const audit = await runCli(["audit"], env);
    expect(audit.stdout).toMatch(/^OK: /m);
    expect(audit.code).toBe(0);
  });
});

/**
 * `patron mirror` end to end: real nodes started with `patron start` in child processes, and the
 * mirror run as the `patron` command in another child process, the way an operator runs them.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNoteKeys, verifyCheckpoint } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli, startServer } from "./child.js";
import { copyText, mirrored, servedEntries } from "./mirror-helpers.js";

const OWNER = `pat_${"m".repeat(43)}`;
const ORIGIN = "mirror-cli.test/log";
/** One log key for two nodes: the operator runs a second copy of the log and forks it. */
const KEYS = generateNoteKeys(ORIGIN);
const digest = (s: string) => createHash("sha256").update(s).digest("hex");

const dirs: string[] = [];
const tempDir = (prefix = "patron-mirror-cli-") => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

type Started = Awaited<ReturnType<typeof startServer>>;

async function startLog(): Promise<Started> {
  return startServer({
    PATRON_DATA_DIR: tempDir("patron-mirror-node-"),
    PATRON_CHAIN: "off",
    PATRON_OWNER_KEY: OWNER,
    PATRON_LEDGER_KEY: KEYS.signerKey,
    PATRON_LOG_ORIGIN: ORIGIN,
  });
}

async function stop(s: Started | undefined) {
  if (!s || s.child.exitCode !== null) return;
  s.child.kill("SIGTERM");
  await s.exited;
}

async function attest(url: string, n: number, tag: string) {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/v1/attestations`, {
      method: "POST",
      headers: { authorization: `Bearer ${OWNER}`, "content-type": "application/json" },
      body: JSON.stringify({ digest: digest(`${tag}-${i}`) }),
    });
    expect(r.status).toBe(201);
  }
}

async function head(url: string) {
  const note = await (await fetch(`${url}/v1/ledger/checkpoint`)).text();
  return { note, size: verifyCheckpoint(note, KEYS.verifierKey, { origin: ORIGIN }).size };
}

const sourceEntries = (url: string) => servedEntries(url);

const stateSize = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).size as string;

/** Forwards every request to `upstream`, which a test can switch: one URL, two histories. */
async function switchingProxy(initial: string) {
  let upstream = initial;
  const server: Server = createServer(async (req, res) => {
    try {
      const r = await fetch(`${upstream}${req.url}`);
      res.statusCode = r.status;
      const type = r.headers.get("content-type");
      if (type) res.setHeader("content-type", type);
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch {
      res.statusCode = 502;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    switchTo(next: string) {
      upstream = next;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("patron mirror (the command, against running nodes)", () => {
  let a: Started | undefined;
  let b: Started | undefined;
  let proxy: Awaited<ReturnType<typeof switchingProxy>>;
  const mirrorDir = tempDir();

  beforeAll(async () => {
    [a, b] = await Promise.all([startLog(), startLog()]);
    proxy = await switchingProxy(a.url);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([stop(a), stop(b)]);
  });

  it("keeps a verified copy and continues incrementally", { timeout: 120_000 }, async () => {
    const url = (a as Started).url;
    await attest(url, 5, "a1");
    const h1 = await head(url);
    const first = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(first.stderr).toMatch(/first contact: pinned mirror-cli\.test\/log/);
    // Entries 1 and 2 (the owner key's apikey.created, the demo owner's staff.created) are
    // sealed: without a key, only their hashes.
    expect(first.stdout).toBe(
      `OK: mirrored ${h1.size} entries of ${ORIGIN}, checkpoint size ${h1.size} verified (${h1.size} new entries this run; 2 sealed entries held as leaf hashes only)\n`,
    );
    expect(first.code).toBe(0);
    expect(stateSize(mirrorDir)).toBe(String(h1.size));

    await attest(url, 4, "a2");
    const h2 = await head(url);
    const second = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(second.stdout).toMatch(
      new RegExp(
        `^OK: mirrored ${h2.size} entries .*\\(${h2.size - h1.size} new entries this run; 2 sealed entries held as leaf hashes only\\)`,
      ),
    );
    expect(second.code).toBe(0);
    expect(await mirrored(mirrorDir)).toEqual(await sourceEntries(url));
    const log = readFileSync(join(mirrorDir, "checkpoints.log"), "utf8").trim().split("\n");
    expect(JSON.parse(log.at(-1) as string).note).toBe(h2.note);

    const idle = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(idle.stdout).toMatch(/\(0 new entries this run; 2 sealed entries /);
    expect(idle.code).toBe(0);
  });

  it("stops with an ALARM and keeps both checkpoints when the log shows a forked history", {
    timeout: 120_000,
  }, async () => {
    // The second node signs with the same key and origin, but its history is another one.
    const before = await head((a as Started).url);
    expect(stateSize(mirrorDir)).toBe(String(before.size));
    const other = (b as Started).url;
    await attest(other, Number(before.size) + 3, "b");
    const forked = await head(other);
    expect(forked.size > before.size).toBe(true);
    proxy.switchTo(other);

    const alarm = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(alarm.code).toBe(1);
    expect(alarm.stdout).toBe("");
    expect(alarm.stderr).toMatch(/^ALARM: FORK: .* does not extend the checkpoint of size /m);
    const path = /^Evidence: (.+)$/m.exec(alarm.stderr)?.[1] as string;
    expect(path.startsWith(mirrorDir)).toBe(true);
    const evidence = JSON.parse(readFileSync(path, "utf8"));
    expect(evidence).toMatchObject({
      format: "patron-mirror-fork-evidence/1",
      kind: "inconsistent",
      origin: ORIGIN,
      verifierKey: KEYS.verifierKey,
      previous: { size: String(before.size), note: before.note },
      conflicting: { size: String(forked.size), note: forked.note },
      consistencyProof: { verifies: false },
    });
    for (const c of [evidence.previous, evidence.conflicting]) {
      expect(verifyCheckpoint(c.note, KEYS.verifierKey, { origin: ORIGIN }).size).toBe(
        BigInt(c.size),
      );
    }
    // The verified copy is untouched: still the first history, nothing of the fork.
    expect(stateSize(mirrorDir)).toBe(String(before.size));
    expect(await mirrored(mirrorDir)).toEqual(await sourceEntries((a as Started).url));

    // The alarm repeats on every run while the source keeps the forked history.
    const again = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ALARM: FORK: /m);
    expect(readdirSync(mirrorDir).filter((n) => n.startsWith("fork-evidence-"))).toHaveLength(2);

    // Back to the history the mirror knows: it continues.
    proxy.switchTo((a as Started).url);
    const back = await runCli(["mirror", proxy.url, "--dir", mirrorDir], {});
    expect(back.code).toBe(0);
  });

  it("copies the merchant's sealed entries with PATRON_MIRROR_KEY or --api-key", {
    timeout: 120_000,
  }, async () => {
    const url = (a as Started).url;
    const keyHash = createHash("sha256").update(OWNER).digest("hex");
    expect(copyText(mirrorDir)).not.toContain(keyHash);
    const keyFile = join(tempDir(), "owner.key");
    writeFileSync(keyFile, `${OWNER}\n`);
    for (const [args, env] of [
      [[], { PATRON_MIRROR_KEY: OWNER }],
      [["--api-key", keyFile], {}],
    ] as const) {
      const dir = tempDir();
      const r = await runCli(["mirror", url, "--dir", dir, ...args], env);
      const h = await head(url);
      expect(r.stdout).toBe(
        `OK: mirrored ${h.size} entries of ${ORIGIN}, checkpoint size ${h.size} verified (${h.size} new entries this run)\n`,
      );
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain(OWNER);
      expect(copyText(dir)).toContain(keyHash);
      expect((await mirrored(dir))[1]?.sealed).toBe(true);
      expect((await mirrored(dir))[1]?.canonical).toBeDefined();
    }
  });

  it("fails (exit 1) when the node cannot be reached", { timeout: 60_000 }, async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await runCli(["mirror", `http://127.0.0.1:${port}`, "--dir", tempDir()], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^FAILED: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/ledger\/key/m);
  });

  it("exits 2 on bad usage", { timeout: 120_000 }, async () => {
    const url = (a as Started).url;
    const d = tempDir();
    // The other usage errors are covered in process by mirror.test.ts.
    const cases: [string[], RegExp][] = [
      [["mirror"], /needs the node's URL/],
      [["mirror", url], /--dir <path>/],
      [["mirror", url, "--dir", d, "--chain", "http://127.0.0.1:1"], /--contract/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, {});
      expect(r.stderr).toMatch(/^patron: /);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    }
    // Nothing was written for a usage error.
    expect(readdirSync(d)).toEqual([]);
  });
  it("follows the node with --follow until interrupted", { timeout: 120_000 }, async () => {
    const url = (a as Started).url;
    const dir = tempDir();
    const child = spawnCli(["mirror", url, "--dir", dir, "--follow", "--interval", "0.2"], {});
    let stderr = "";
    let stdout = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    try {
      const waitForSize = async (size: bigint) => {
        const until = Date.now() + 60_000;
        while (!new RegExp(`verified checkpoint of size ${size} `).test(stderr)) {
          if (Date.now() > until || child.exitCode !== null) {
            throw new Error(`the mirror did not reach size ${size}:\n${stderr}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await waitForSize((await head(url)).size);
      await attest(url, 2, "follow");
      const target = (await head(url)).size;
      await waitForSize(target);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stdout).toMatch(new RegExp(`^OK: mirrored ${target} entries`));
      expect(stateSize(dir)).toBe(String(target));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PatronNode, startNode } from "../src/node.js";
import { backends, testDatabaseUrl } from "../src/test-support/backends.js";
import { runCli, schemaUrl, spawnCli, startServer } from "./child.js";

describe.each(backends)("patron import customers, against a listening node ($name)", (backend) => {
  let node: PatronNode;
  let key: string;
  let dir: string;
  let cleanup: () => void;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cli = (...args: string[]) =>
    runCli(["import", "customers", ...args, "--node", node.url, "--key", key], {});

  beforeAll(async () => {
    // A short request deadline: the upload below takes longer, and streams on regardless.
    const c = backend.config({ requestTimeoutMs: 1000, defaultCountry: "FR" });
    cleanup = c.cleanup;
    node = await startNode(c.config, { schema: c.schema, listen: true });
    key = node.ownerKey as string;
    dir = mkdtempSync(join(tmpdir(), "patron-import-cli-"));
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    cleanup?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("prints each rejected row and a summary, and exits 1 when a row was rejected", async () => {
    const path = file(
      "bad.csv",
      "name,email,phone,notes\nAda,ada@cli.example,+33 6 11 22 33 44,\nBob,bob@cli.example,12,\nCy,cy@,,\nDee,dee@cli.example,,\n",
    );
    const r = await cli(path);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^row 2: column "phone": not a possible phone number/),
      'row 3: column "email": not an email address',
      "Imported bad.csv: 2 created, 0 updated, 0 unchanged, 2 rejected (4 rows)",
    ]);
    expect(r.stderr).toContain('column "notes" is not imported');
  }, 60_000);

  it("exits 0 when every row went in, and changes nothing the second time", async () => {
    const path = file(
      "good.csv",
      "name,email\nEve,eve@cli.example\nFay,fay@cli.example\nGus,gus@cli.example\n",
    );
    const first = await cli(path);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(
      "Imported good.csv: 3 created, 0 updated, 0 unchanged, 0 rejected (3 rows)",
    );
    const size = node.sequencer.head.size;
    const again = await cli(path);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(
      "Imported good.csv: 0 created, 0 updated, 3 unchanged, 0 rejected (3 rows)",
    );
    expect(node.sequencer.head.size).toBe(size);
  }, 60_000);

  it("reports a dry run, an unclosed quote with its line, and a refused file", async () => {
    const dry = await cli(
      file("dry.csv", 'name,email\nHal,hal@cli.example\nIvy,"ivy@cli.example\nJo,jo@cli.example\n'),
      "--dry-run",
    );
    expect(dry.code).toBe(1);
    expect(dry.stdout.trim().split("\n")).toEqual([
      "row 2: a quote opened on line 3 never closes (the rest of the file is inside it)",
      "Dry run of dry.csv: 1 would be created, 0 would be updated, 0 unchanged, 1 rejected (2 rows)",
    ]);
    const refused = await cli(file("nothing.csv", "foo,bar\n1,2\n"));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^FAILED: 400 no_columns: /m);
    const usage = await runCli(["import", "customers"], {});
    expect(usage.code).toBe(2);
    const missing = await cli(join(dir, "absent.csv"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  }, 60_000);

  it("streams an upload that takes longer than the request deadline", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `Slow ${i},slow${i}@cli.example\n`);
    let i = -1;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        i++;
        if (i === 0) controller.enqueue(new TextEncoder().encode("name,email\n"));
        else if (i <= rows.length) {
          await new Promise((r) => setTimeout(r, 70));
          controller.enqueue(new TextEncoder().encode(rows[i - 1]));
        } else controller.close();
      },
    });
    const started = Date.now();
    const r = await fetch(`${node.url}/v1/imports/customers?wait=true`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toMatchObject({ created: 30, rejected: 0 });
    // Other requests still have their deadline.
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(200);
  }, 60_000);
});

/** A port nobody listens on now, so a restarted node can come back on the same address. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe.each(backends)("patron import customers across a node's kill -9 ($name)", (backend) => {
  const OWNER = "pat_test_owner_key_import_cli_0123456789abcdef";
  it("waits for the node, which resumes the import, and reports it whole", {
    timeout: 300_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "patron-import-cli-kill-"));
    const env: Record<string, string> = {
      PATRON_DATA_DIR: join(dir, "data"),
      PATRON_OWNER_KEY: OWNER,
      PATRON_CHAIN: "off",
      PORT: String(await freePort()),
    };
    if (backend.name === "postgres" && testDatabaseUrl) {
      env.DATABASE_URL = await schemaUrl(
        testDatabaseUrl,
        `impcli_${process.pid}_${Date.now().toString(36)}`,
      );
    }
    const auth = { authorization: `Bearer ${OWNER}` };
    const N = 3000;
    try {
      const path = join(dir, "many.csv");
      const lines = ["name,email"];
      for (let i = 0; i < N; i++) lines.push(`Many ${i},many${i}@cli.example`);
      writeFileSync(path, `${lines.join("\n")}\n`);
      const first = await startServer(env);
      const child = spawnCli(["import", "customers", path, "--url", first.url, "--key", OWNER], {});
      let stdout = "";
      child.stdout?.on("data", (d) => {
        stdout += d;
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      // Killed once some rows are written.
      let processed = 0;
      for (let i = 0; i < 2400 && processed < 300; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const list = await (await fetch(`${first.url}/v1/imports`, { headers: auth })).json();
        processed = list.imports[0]?.processed ?? 0;
      }
      first.child.kill("SIGKILL");
      await first.exited;
      expect(processed).toBeLessThan(N);
      const second = await startServer(env);
      expect(await exited).toBe(0);
      expect(stdout.trim()).toBe(
        `Imported many.csv: ${N} created, 0 updated, 0 unchanged, 0 rejected (${N} rows)`,
      );
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { auditLedger } from "../src/ledger/audit.js";
import { openLedger } from "../src/node.js";
import { backends, testDatabaseUrl } from "../src/test-support/backends.js";
import { runCli, schemaUrl, startServer } from "./child.js";

const OWNER = "pat_test_owner_key_0123456789abcdefghijklmnop";

async function environment(backend: string) {
  const dataDir = mkdtempSync(join(tmpdir(), "patron-rel-"));
  const env: Record<string, string> = {
    PATRON_DATA_DIR: dataDir,
    PATRON_OWNER_KEY: OWNER,
    PATRON_CHAIN: "off",
  };
  if (backend === "postgres" && testDatabaseUrl) {
    env.DATABASE_URL = await schemaUrl(
      testDatabaseUrl,
      `rel_${process.pid}_${Date.now().toString(36)}`,
    );
  }
  return { env, dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

describe.each(backends)("crash safety and audit on $name", (backend) => {
  it("keeps every acknowledged entry exactly once after kill -9 under write load", {
    timeout: 180_000,
  }, async () => {
    const { env, cleanup } = await environment(backend.name);
    try {
      const first = await startServer(env);
      const acked: { digest: string; index: number }[] = [];
      let stop = false;
      let sent = 0;
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const digest = createHash("sha256").update(`w${w}-${i}`).digest("hex");
          sent++;
          try {
            const r = await fetch(`${first.url}/v1/attestations`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${OWNER}` },
              body: JSON.stringify({ digest }),
            });
            if (r.status === 201) acked.push({ digest, index: (await r.json()).index });
          } catch {
            return; // the server is gone; this request was never acknowledged
          }
        }
      };
      const workers = Array.from({ length: 16 }, (_, w) => worker(w));
      while (acked.length < 300) await new Promise((r) => setTimeout(r, 20));
      first.child.kill("SIGKILL");
      stop = true;
      await Promise.all(workers);
      await first.exited;
      expect(acked.length).toBeGreaterThanOrEqual(300);

      const second = await startServer(env);
      const seen = new Map<string, number[]>();
      for (let from = 0; ; ) {
        const page = await (
          await fetch(`${second.url}/v1/ledger/entries?from=${from}&limit=1000`)
        ).json();
        for (const e of page.entries) {
          if (e.type !== "attestation.created") continue;
          const list = seen.get(e.entry.payload.digest) ?? [];
          list.push(e.index);
          seen.set(e.entry.payload.digest, list);
        }
        if (page.next === null) break;
        from = page.next;
      }
      for (const a of acked) expect(seen.get(a.digest)).toEqual([a.index]);
      for (const indices of seen.values()) expect(indices).toHaveLength(1);
      expect(seen.size).toBeLessThanOrEqual(sent);
      // Still writable after recovery.
      const more = await fetch(`${second.url}/v1/attestations`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${OWNER}` },
        body: JSON.stringify({ digest: "ab".repeat(32) }),
      });
      expect(more.status).toBe(201);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);

      const audit = await runCli(["audit"], env);
      expect(audit.stdout + audit.stderr).toMatch(/^OK: \d+ entries/m);
      expect(audit.code).toBe(0);
    } finally {
      cleanup();
    }
  });

  it("finds and names a tampered entry and a tampered tree hash", {
    timeout: 120_000,
  }, async () => {
    const { env, cleanup } = await environment(backend.name);
    try {
      const config = { ...loadConfig(env), batchMax: 64 };
      const ledger = await openLedger(config);
      await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          ledger.sequencer.submit({ type: "test.note", actor: "t", payload: { i } }),
        ),
      );
      await ledger.sequencer.close();
      const opts = { origin: ledger.identity.origin, verifierKey: ledger.identity.verifierKey };
      expect((await auditLedger(ledger.db, opts)).ok).toBe(true);

      // Change one byte of entry 321's stored canonical JSON ("i":321 becomes "i":391).
      await ledger.db.query(
        "UPDATE ledger_entries SET data = decode(replace(encode(data, 'hex'), encode('321', 'hex'), encode('391', 'hex')), 'hex') WHERE idx = 321",
      );
      const tampered = await auditLedger(ledger.db, opts);
      expect(tampered.ok).toBe(false);
      expect(tampered.problems[0]).toMatchObject({ kind: "entry", at: "321" });
      await ledger.db.query(
        "UPDATE ledger_entries SET data = decode(replace(encode(data, 'hex'), encode('391', 'hex'), encode('321', 'hex')), 'hex') WHERE idx = 321",
      );
      expect((await auditLedger(ledger.db, opts)).ok).toBe(true);

      // Flip a bit of the 6th hash in the first full tile.
      await ledger.db.query(
        "UPDATE ledger_tiles SET hashes = set_byte(hashes, 5 * 32 + 7, get_byte(hashes, 5 * 32 + 7) # 1) WHERE level = 0 AND idx = 1",
      );
      const badTile = await auditLedger(ledger.db, opts);
      expect(badTile.ok).toBe(false);
      expect(badTile.problems).toContainEqual(
        expect.objectContaining({
          kind: "tile",
          at: "0/1",
          message: expect.stringMatching(/hash 5 .*index 261/),
        }),
      );

      // A forged checkpoint (right shape, wrong key) is named as well.
      await ledger.db.query(
        "UPDATE ledger_checkpoints SET note = replace(note, '—', '-') WHERE size = (SELECT min(size) FROM ledger_checkpoints WHERE size > 100)",
      );
      const badCp = await auditLedger(ledger.db, opts);
      expect(badCp.problems.some((p) => p.kind === "checkpoint")).toBe(true);
      await ledger.db.close();

      const cli = await runCli(["audit"], env);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/tile 0\/1/);
    } finally {
      cleanup();
    }
  });
});

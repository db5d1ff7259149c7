import { createHash } from "node:crypto";
import { decodeEntry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { runCli, startServer } from "./child.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };
const digest = (s: string) => createHash("sha256").update(s).digest("hex");

describe.each(backends)("two merchants on one ledger ($name)", (backend) => {
  let t: TestNode;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    t = await testNode(backend);
    const me = (await t.node.app.inject({ url: "/v1/merchants/me", headers: t.auth() })).json();
    a = { id: me.id, key: t.ownerKey };
    const created = await t.node.app.inject({
      method: "POST",
      url: "/v1/merchants",
      headers: { ...json, ...bearer(t.operatorKey) },
      payload: JSON.stringify({ name: "Merchant B" }),
    });
    expect(created.statusCode).toBe(201);
    b = { id: created.json().id, key: created.json().ownerKey };
    for (const [m, sealed] of [
      [a, true],
      [a, false],
      [b, true],
    ] as const) {
      const r = await t.node.app.inject({
        method: "POST",
        url: "/v1/attestations",
        headers: { ...json, ...bearer(m.key) },
        payload: JSON.stringify({ digest: digest(`${m.id}${sealed}`), subject: "x", sealed }),
      });
      expect(r.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const entries = async (key?: string) =>
    (
      await t.node.app.inject({
        url: "/v1/ledger/entries?limit=1000",
        headers: key ? bearer(key) : {},
      })
    ).json().entries as Record<string, unknown>[];

  it("lets only the operator key create merchants, in one atomic command", async () => {
    const asOwner = await t.node.app.inject({
      method: "POST",
      url: "/v1/merchants",
      headers: { ...json, ...t.auth() },
      payload: JSON.stringify({ name: "C" }),
    });
    expect(asOwner.statusCode).toBe(403);
    const anon = await t.node.app.inject({
      method: "POST",
      url: "/v1/merchants",
      headers: json,
      payload: JSON.stringify({ name: "C" }),
    });
    expect(anon.statusCode).toBe(401);
    const bad = await t.node.app.inject({
      method: "POST",
      url: "/v1/merchants",
      headers: { ...json, ...bearer(t.operatorKey) },
      payload: JSON.stringify({ name: "" }),
    });
    expect(bad.statusCode).toBe(400);
    // The operator key acts on no merchant's data.
    const keys = await t.node.app.inject({ url: "/v1/api-keys", headers: bearer(t.operatorKey) });
    expect(keys.statusCode).toBe(403);
    // B's owner key works at once: B's merchant and key entries are one command.
    const me = await t.node.app.inject({ url: "/v1/me", headers: bearer(b.key) });
    expect(me.json().merchant).toEqual({ id: b.id, name: "Merchant B" });
  });

  it("reads a known merchant from the database once, and keeps no unknown one", async () => {
    const db = t.node.db as unknown as { query: (sql: string, params?: unknown[]) => unknown };
    const real = db.query;
    let reads = 0;
    db.query = (sql, params) => {
      if (sql.includes("FROM merchants WHERE id = $1")) reads++;
      return real.call(t.node.db, sql, params);
    };
    try {
      for (let i = 0; i < 3; i++) {
        const r = await t.node.app.inject({ url: `/v1/merchants/${b.id}` });
        expect(r.statusCode, r.body).toBe(200);
        expect(r.json()).toMatchObject({ id: b.id, name: "Merchant B" });
      }
      // Known since B was created and read above: at most the first of these reads it.
      expect(reads).toBeLessThanOrEqual(1);
      const before = reads;
      for (let i = 0; i < 2; i++) {
        const r = await t.node.app.inject({ url: "/v1/merchants/m_nobody" });
        expect(r.statusCode, r.body).toBe(404);
      }
      // An unknown id is read each time: a merchant created later is found.
      expect(reads).toBe(before + 2);
    } finally {
      db.query = real;
    }
  });

  it("shows a sealed entry whole only to the merchants it names", async () => {
    const pub = await entries();
    const asA = await entries(a.key);
    const asB = await entries(b.key);
    expect(pub).toHaveLength(asA.length);
    let sealedSeen = 0;
    for (let i = 0; i < pub.length; i++) {
      const full = [asA[i], asB[i]].find((e) => e && "entry" in e) as
        | { entry: { subjects?: { merchant?: string }[]; salt?: string } }
        | undefined;
      if (!full?.entry.salt) {
        expect(pub[i]).toHaveProperty("entry");
        continue;
      }
      sealedSeen++;
      const owner = full.entry.subjects?.find((s) => s.merchant)?.merchant;
      expect(pub[i]).toEqual({ index: i, leafHash: expect.any(String), sealed: true });
      expect("entry" in (asA[i] as object)).toBe(owner === a.id);
      expect("entry" in (asB[i] as object)).toBe(owner === b.id);
      // The sealed view gives nothing but what proves the tree.
      if (owner === a.id)
        expect(Object.keys(asB[i] as object).sort()).toEqual(["index", "leafHash", "sealed"]);
    }
    expect(sealedSeen).toBeGreaterThanOrEqual(4);
  });

  it("keeps sealed attestations out of public lookups and other merchants' answers", async () => {
    const find = (d: string, key?: string) =>
      t.node.app.inject({ url: `/v1/attestations?digest=${d}`, headers: key ? bearer(key) : {} });
    const sealedA = digest(`${a.id}true`);
    expect((await find(sealedA)).json().attestations).toEqual([]);
    expect((await find(sealedA, b.key)).json().attestations).toEqual([]);
    expect((await find(sealedA, a.key)).json().attestations).toMatchObject([
      { merchantId: a.id, sealed: true },
    ]);
    expect((await find(digest(`${a.id}false`))).json().attestations).toMatchObject([
      { merchantId: a.id, sealed: false },
    ]);
  });

  it("answers 404 for another merchant's resources, and 403 for another's sealed receipt", async () => {
    const aKeys = (await t.node.app.inject({ url: "/v1/api-keys", headers: t.auth() })).json().keys;
    const revoke = await t.node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${aKeys[0].id}`,
      headers: bearer(b.key),
    });
    expect(revoke.statusCode).toBe(404);
    const sealedOfA = (await entries(a.key)).find(
      (e) =>
        (e as { sealed?: boolean }).sealed && (e as { type?: string }).type === "apikey.created",
    ) as { index: number };
    const receipt = await t.node.app.inject({
      url: `/v1/ledger/receipts/${sealedOfA.index}`,
      headers: bearer(b.key),
    });
    expect(receipt.statusCode).toBe(403);
    expect(receipt.json().error.code).toBe("sealed_entry");
    const mine = await t.node.app.inject({
      url: `/v1/ledger/receipts/${sealedOfA.index}`,
      headers: t.auth(),
    });
    expect(mine.statusCode).toBe(200);
    // Inclusion proofs are public: they hold only hashes.
    const proof = await t.node.app.inject(`/v1/ledger/proofs/inclusion?index=${sealedOfA.index}`);
    expect(proof.statusCode).toBe(200);
  });

  it("walks each merchant's chain from its head to exactly its entries", async () => {
    const all = (await entries(a.key)).map((e, i) => ({ e, i }));
    const allB = await entries(b.key);
    for (const m of [a, b]) {
      const view = (await t.node.app.inject(`/v1/merchants/${m.id}`)).json();
      expect(view).toMatchObject({ id: m.id, head: expect.any(Number) });
      const me = (
        await t.node.app.inject({ url: "/v1/merchants/me", headers: bearer(m.key) })
      ).json();
      expect(me).toEqual(view);
      // The full scan: every entry that names the merchant, as that merchant sees them.
      const seen = m === a ? all.map((x) => x.e) : allB;
      const scan = seen
        .map((e, i) => ({ i, e: e as { entry?: { subjects?: { merchant?: string }[] } } }))
        .filter(({ e }) => e.entry?.subjects?.some((s) => s.merchant === m.id))
        .map(({ i }) => i);
      const walked: number[] = [];
      let at: number | null = view.head;
      while (at !== null) {
        walked.push(at);
        const e = (
          await t.node.app.inject({ url: `/v1/ledger/entries/${at}`, headers: bearer(m.key) })
        ).json();
        const link = decodeEntry(Buffer.from(e.canonical, "base64")).subjects?.find(
          (s) => "merchant" in s && s.merchant === m.id,
        );
        at = link?.prev ?? null;
      }
      expect(walked.reverse()).toEqual(scan);
    }
    expect((await t.node.app.inject("/v1/merchants/m_nobody")).statusCode).toBe(404);
  });

  it("checks key rules in order: concurrent revocations cannot remove the last owner", async () => {
    const second = (
      await t.node.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: { ...json, ...bearer(b.key) },
        payload: JSON.stringify({ role: "owner", label: "second owner" }),
      })
    ).json();
    const firstId = (await t.node.app.inject({ url: "/v1/me", headers: bearer(b.key) })).json().key
      .id;
    const revoke = (id: string, by: string) =>
      t.node.app.inject({ method: "DELETE", url: `/v1/api-keys/${id}`, headers: bearer(by) });
    // Each owner revokes the other at once: exactly one succeeds. The other is refused because
    // its own key is gone by then (401), or as the last owner key (409).
    const [x, y] = await Promise.all([revoke(second.id, b.key), revoke(firstId, second.key)]);
    const codes = [x, y].map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect([401, 409]).toContain(codes.find((c) => c !== 200));
    const survivor = x.statusCode === 200 ? b.key : second.key;
    expect((await t.node.app.inject({ url: "/v1/me", headers: bearer(survivor) })).statusCode).toBe(
      200,
    );
    // Eight revocations of one staff key write one entry.
    const staffKey = (
      await t.node.app.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: { ...json, ...bearer(survivor) },
        payload: JSON.stringify({ role: "staff", label: "s" }),
      })
    ).json().id;
    const before = size(t.node);
    const all = await Promise.all(Array.from({ length: 8 }, () => revoke(staffKey, survivor)));
    expect(all.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    expect(size(t.node)).toBe(before + 1n);
  });

  it("passes audit and the projection rebuild over the mixed log", async () => {
    const r = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(r.problems).toEqual([]);
    expect(BigInt(r.entries)).toBe(size(t.node));
    const p = await auditProjections(t.node.db, projectors);
    expect(p.problems).toEqual([]);
  });

  it("finds a missing chain link and a party missing from subjects", async () => {
    // Rewrite the last entry's prev: its bytes change, and so does the chain audit's verdict.
    const last = size(t.node) - 1n;
    const row = (
      await t.node.db.query<{ data: string }>(
        "SELECT encode(data, 'hex') AS data FROM ledger_entries WHERE idx = $1",
        [last.toString()],
      )
    ).rows[0];
    const text = Buffer.from(String(row?.data), "hex").toString();
    const broken = text.replace(/"prev":(\d+)/, (_, n) => `"prev":${Number(n) - 1}`);
    expect(broken).not.toBe(text);
    await t.node.db.query("UPDATE ledger_entries SET data = $1 WHERE idx = $2", [
      Buffer.from(broken),
      last.toString(),
    ]);
    try {
      const r = await auditLedger(t.node.db, {
        origin: t.node.identity.origin,
        verifierKey: t.node.identity.verifierKey,
        entries: () => entryAuditorOf(domains),
      });
      expect(r.problems).toContainEqual({
        kind: "chain",
        at: last.toString(),
        message: expect.stringMatching(/with prev \d+, but that party's previous entry is \d+/),
      });
    } finally {
      await t.node.db.query("UPDATE ledger_entries SET data = decode($1, 'hex') WHERE idx = $2", [
        row?.data,
        last.toString(),
      ]);
    }
  });
});

describe("patron merchants create", () => {
  it("creates a merchant on a running node with the operator key", {
    timeout: 90_000,
  }, async () => {
    const { mkdtempSync, rmSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "patron-merchants-"));
    const env = { PATRON_DATA_DIR: dir, PATRON_CHAIN: "off", PATRON_DEMO_DATA: "0" };
    const server = await startServer(env);
    try {
      const port = new URL(server.url).port;
      const r = await runCli(["merchants", "create", "Corner", "Shop"], { ...env, PORT: port });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Created merchant "Corner Shop" \(m_[\w-]+\), entry \d+\.$/m);
      const key = /Owner API key \(shown once, keep it safe\): (\S+)/.exec(r.stdout)?.[1];
      const me = await fetch(`${server.url}/v1/me`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect((await me.json()).merchant.name).toBe("Corner Shop");
      expect(readFileSync(join(dir, "operator-key.txt"), "utf8")).toMatch(/^pat_/);
      const bad = await runCli(["merchants", "create", "X"], {
        ...env,
        PORT: port,
        PATRON_OPERATOR_KEY: "pat_not_the_operator_key_000000000000000",
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^FAILED: 401 unauthorized/);
      const usage = await runCli(["merchants", "create"], { ...env, PORT: port });
      expect(usage.code).toBe(2);
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((r) => server.child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { type PatronNode, startNode } from "../src/node.js";
import { type Backend, backends } from "../src/test-support/backends.js";
import { formatMasterKey, masterKeyId, parseMasterKey } from "../src/vault/keystore.js";
import { type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData, expectNoPersonalDataInDump } from "./personal-data.js";

const HOST = "patron.test";

function api(node: () => PatronNode) {
  return (method: string, url: string, o: { key?: string; body?: unknown } = {}) =>
    node().app.inject({
      method: method as "GET",
      url,
      headers: {
        host: HOST,
        ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
        ...(o.body === undefined ? {} : { "content-type": "application/json" }),
      },
      remoteAddress: `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.1`,
      ...(o.body === undefined ? {} : { payload: JSON.stringify(o.body) }),
    });
}

/** The link token in a message's text. */
const tokenIn = (text: string) => /#token=([A-Za-z0-9_.-]+)/.exec(text)?.[1] as string;

/** Invites through an owner key and accepts from that merchant's outbox. */
async function invited(
  call: ReturnType<typeof api>,
  key: string,
  email: string,
  password: string,
  role = "staff",
) {
  const res = await call("POST", "/v1/staff/invitations", { key, body: { email, role } });
  expect(res.statusCode).toBe(201);
  const held = (await call("GET", "/v1/outbox", { key })).json().messages as {
    to: string;
    text: string;
  }[];
  const mail = held.find((m) => m.to === email.toLowerCase()) as { text: string };
  const accepted = await call("POST", "/v1/staff/invitations/accept", {
    body: { token: tokenIn(mail.text), password },
  });
  expect(accepted.statusCode).toBe(200);
  return res.json().staff.id as string;
}

describe.each(backends)("staff emails at rest ($name)", (backend) => {
  let t: TestNode;
  const call = api(() => t.node);
  const signIn = (email: string, password: string, merchantId?: string) =>
    call("POST", "/v1/staff/session", {
      body: { email, password, ...(merchantId ? { merchantId } : {}) },
    });

  beforeAll(async () => {
    t = await testNode(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("keeps one account per email in a merchant, and finds an email across merchants", async () => {
    const merchantA = (
      await t.node.db.query<{ id: string }>("SELECT id FROM merchants ORDER BY entry_idx LIMIT 1")
    ).rows[0]?.id as string;
    await invited(call, t.ownerKey, "Twice@Example.com", "same password twice");
    const again = await call("POST", "/v1/staff/invitations", {
      key: t.ownerKey,
      body: { email: "TWICE@example.COM", role: "auditor" },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("email_taken");

    const created = await call("POST", "/v1/merchants", {
      key: t.operatorKey,
      body: { name: "Second Shop" },
    });
    expect(created.statusCode).toBe(201);
    const merchantB = created.json().id as string;
    const ownerB = created.json().ownerKey as string;
    await invited(call, ownerB, "twice@example.com", "same password twice");

    // Per-merchant index keys: the same email has a different blind index at each merchant.
    const { rows } = await t.node.db.query<{ merchant_id: string; email_index: string }>(
      `SELECT merchant_id, encode(email_index, 'hex') AS email_index FROM staff_accounts
       WHERE merchant_id IN ($1, $2)`,
      [merchantA, merchantB],
    );
    const byMerchant = new Map<string, string[]>();
    for (const r of rows)
      byMerchant.set(r.merchant_id, [...(byMerchant.get(r.merchant_id) ?? []), r.email_index]);
    const [inA, inB] = [byMerchant.get(merchantA) ?? [], byMerchant.get(merchantB) ?? []];
    expect(inB).toHaveLength(1);
    expect(inA).not.toContain(inB[0]);

    // Without a merchant, the email names both: the caller must pick one.
    const both = await signIn("twice@example.com", "same password twice");
    expect(both.statusCode).toBe(409);
    expect(both.json().error.code).toBe("merchant_required");
    const inShopB = await signIn("TWICE@example.com", "same password twice", merchantB);
    expect(inShopB.statusCode).toBe(200);
    expect(inShopB.json().merchant.id).toBe(merchantB);
    expect(inShopB.json().staff.email).toBe("twice@example.com");
    // A merchant without staff is no way in, and answers like a wrong password.
    const nowhere = await signIn("twice@example.com", "same password twice", "m_AAAAAAAAAAAA");
    expect(nowhere.statusCode).toBe(401);
    expect(nowhere.json().error.code).toBe("invalid_credentials");

    await expectNoPersonalData(t, ["twice@example.com", "Twice@Example.com"]);
    await expectNoPersonalDataInDump(t, ["twice@example.com"]);
  });
});

/** Every file under a directory, with its bytes. */
function* filesUnder(dir: string): Generator<{ path: string; bytes: Buffer }> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else yield { path, bytes: readFileSync(path) };
  }
}

describe.each(backends)(
  "an install from before sealed staff emails ($name)",
  (backend: Backend) => {
    it("seals its clear emails on the next start, and its staff still sign in", async () => {
      const { config, schema, cleanup } = backend.config();
      const lines: string[] = [];
      const start = (c: Config) =>
        startNode(c, { schema, listen: false, log: (l) => lines.push(l) });
      let node = await start(config);
      try {
        const call = api(() => node);
        const ownerKey = node.ownerKey as string;
        const owner = readFileSync(join(config.dataDir, "owner-login.txt"), "utf8");
        const ownerEmail = /^email: (.+)$/m.exec(owner)?.[1] as string;
        const ownerPassword = /^password: (.+)$/m.exec(owner)?.[1] as string;
        const clerkId = await invited(
          call,
          ownerKey,
          "clerk.before@example.com",
          "clerk's password 1",
        );
        const ownerId = (await call("GET", "/v1/staff", { key: ownerKey }))
          .json()
          .staff.find((s: { email: string }) => s.email === ownerEmail).id as string;
        await node.close();

        // What the previous version left: the email in clear, migration 16 not yet run.
        const db = await openDatabase({
          url: config.databaseUrl,
          dataDir: config.databaseUrl ? undefined : join(config.dataDir, "pgdata"),
          schema,
        });
        await db.exec(`
        ALTER TABLE staff_accounts DROP CONSTRAINT staff_accounts_email_one_form;
        DROP INDEX staff_accounts_email_index_idx;
        UPDATE staff_accounts SET email = CASE staff_id
          WHEN '${ownerId}' THEN '${ownerEmail}' WHEN '${clerkId}' THEN 'clerk.before@example.com' END;
        ALTER TABLE staff_accounts DROP COLUMN email_sealed;
        ALTER TABLE staff_accounts DROP COLUMN email_index;
        ALTER TABLE staff_accounts ALTER COLUMN email SET NOT NULL;
        CREATE UNIQUE INDEX staff_accounts_email_idx ON staff_accounts (merchant_id, email);
        CREATE INDEX staff_accounts_sign_in_idx ON staff_accounts (email);
        DELETE FROM schema_migrations WHERE id = 16;
      `);
        expect(
          (await db.query("SELECT email FROM staff_accounts ORDER BY email")).rows.map(
            (r) => r.email,
          ),
        ).toEqual(["clerk.before@example.com", ownerEmail]);
        await db.close();

        lines.length = 0;
        node = await start(config);
        expect(lines).toContain("Staff: sealed the 2 staff emails kept in clear before.");
        const signIn = (email: string, password: string) =>
          call("POST", "/v1/staff/session", { body: { email, password } });
        expect((await signIn("Clerk.Before@example.com", "clerk's password 1")).statusCode).toBe(
          200,
        );
        expect((await signIn(ownerEmail, ownerPassword)).statusCode).toBe(200);
        expect((await signIn("clerk.before@example.com", "a wrong password")).statusCode).toBe(401);
        const listed = (await call("GET", "/v1/staff", { key: ownerKey })).json().staff;
        expect(listed.map((s: { email: string }) => s.email).sort()).toEqual(
          ["clerk.before@example.com", ownerEmail].sort(),
        );
        // Still one account per email.
        const dup = await call("POST", "/v1/staff/invitations", {
          key: ownerKey,
          body: { email: "clerk.before@example.com", role: "staff" },
        });
        expect(dup.statusCode).toBe(409);

        const asTest = { node } as unknown as TestNode;
        const emails = ["clerk.before@example.com", ownerEmail];
        await expectNoPersonalData(asTest, emails);
        await expectNoPersonalDataInDump(asTest, emails);
        await node.close();

        if (backend.name === "pglite") {
          // Not in the embedded database's files either, but for its write-ahead log (see
          // docs/privacy.md): the old row versions and the indexes on the clear column are gone.
          const needles = emails.map((e) => Buffer.from(e));
          const holding = [...filesUnder(join(config.dataDir, "pgdata"))]
            .filter((f) => needles.some((n) => f.bytes.includes(n)))
            .map((f) => f.path.slice(config.dataDir.length));
          expect(holding.filter((p) => !p.includes("pg_wal"))).toEqual([]);
        }

        // A start after that has nothing to seal.
        lines.length = 0;
        node = await start(config);
        expect(lines.filter((l) => l.startsWith("Staff:"))).toEqual([]);
      } finally {
        await node.close().catch(() => {});
        cleanup();
      }
    }, 120_000);
  },
);

describe.each(backends)("staff emails through a master key rotation ($name)", (backend) => {
  it("open and sign in with the new master key alone, once every key is re-wrapped", async () => {
    const { config, schema, cleanup } = backend.config();
    const key = () => formatMasterKey(new Uint8Array(randomBytes(32)));
    const [oldKey, newKey] = [key(), key()];
    const open = (masterKey: string, masterKeyPrevious?: string) =>
      startNode({ ...config, masterKey, masterKeyPrevious }, { schema, listen: false });
    let node = await open(oldKey);
    try {
      const call = api(() => node);
      const ownerKey = node.ownerKey as string;
      await invited(call, ownerKey, "rotated@example.com", "a rotated password");
      await node.close();

      node = await open(newKey, oldKey);
      const current = masterKeyId(parseMasterKey(newKey, "test"));
      const left = async () =>
        Number(
          (
            await node.db.query<{ n: string }>(
              `SELECT (SELECT count(*) FROM vault_data_keys WHERE master_key_id <> $1)
                    + (SELECT count(*) FROM vault_index_keys WHERE master_key_id <> $1) AS n`,
              [current],
            )
          ).rows[0]?.n,
        );
      for (let i = 0; i < 600 && (await left()) > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await left()).toBe(0);
      await node.close();

      node = await open(newKey);
      const signedIn = await call("POST", "/v1/staff/session", {
        body: { email: "rotated@example.com", password: "a rotated password" },
      });
      expect(signedIn.statusCode).toBe(200);
      const listed = (await call("GET", "/v1/staff", { key: ownerKey })).json().staff;
      expect(listed.map((s: { email: string }) => s.email)).toContain("rotated@example.com");
    } finally {
      await node.close().catch(() => {});
      cleanup();
    }
  }, 120_000);
});

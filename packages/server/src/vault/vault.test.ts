import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commitment } from "@patron/ledger";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { migrate } from "../db/migrations.js";
import { type Backend, backends } from "../test-support/backends.js";
import { nameMatches, nameTokens } from "./blind-index.js";
import { openSealed, seal } from "./cipher.js";
import {
  formatMasterKey,
  LocalKeyStore,
  loadKeyStore,
  masterKeyId,
  VaultError,
} from "./keystore.js";
import { Vault } from "./vault.js";

const key = () => new Uint8Array(randomBytes(32));

describe("field encryption", () => {
  it("opens only with the same key and associated data", () => {
    const k = key();
    const sealed = seal(k, Buffer.from("ada@example.com"), "c_1/email/1");
    expect(Buffer.from(openSealed(k, sealed, "c_1/email/1") as Uint8Array).toString()).toBe(
      "ada@example.com",
    );
    expect(openSealed(k, sealed, "c_2/email/1")).toBeUndefined();
    expect(openSealed(key(), sealed, "c_1/email/1")).toBeUndefined();
    const flipped = sealed.slice();
    flipped[20] = (flipped[20] as number) ^ 1;
    expect(openSealed(k, flipped, "c_1/email/1")).toBeUndefined();
    // A fresh nonce each time: the same value never gives the same bytes.
    expect(Buffer.from(seal(k, Buffer.from("x"), "a"))).not.toEqual(
      Buffer.from(seal(k, Buffer.from("x"), "a")),
    );
  });
});

describe("name tokens", () => {
  it("fold case and accents, and split Chinese names into surname and given name", () => {
    expect(nameTokens("José  GARCÍA-López")).toEqual(["jose", "garcia", "lopez"]);
    expect(nameTokens("张伟")).toEqual(["张伟", "张", "伟"]);
    expect(nameTokens("欧阳娜娜")).toEqual(["欧阳娜娜", "欧阳", "娜娜"]);
    // Two characters are a surname and a given name, even when they start a compound surname.
    expect(nameTokens("欧阳")).toEqual(["欧阳", "欧", "阳"]);
    expect(nameMatches("José García", "garcia")).toBe(true);
    expect(nameMatches("José García", "jose garcia")).toBe(true);
    expect(nameMatches("José García", "gar")).toBe(false);
    expect(nameMatches("王芳", "王")).toBe(true);
    expect(nameMatches("王芳", "芳")).toBe(true);
    expect(nameMatches("王芳", "李")).toBe(false);
  });
});

describe("master keys", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "patron-keys-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates master.key once, readable by its owner only, and reads it back", () => {
    const first = loadKeyStore(dir, {});
    const mode = statSync(join(dir, "master.key")).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(loadKeyStore(dir, {}).currentId).toBe(first.currentId);
    expect(readFileSync(join(dir, "master.key"), "utf8")).toMatch(
      /^patron-master-v1:[A-Za-z0-9_-]{43}\n$/,
    );
  });

  it("takes PATRON_MASTER_KEY and earlier keys, and refuses a malformed one", () => {
    const k = key();
    const old = key();
    const store = loadKeyStore(dir, {
      PATRON_MASTER_KEY: formatMasterKey(k),
      PATRON_MASTER_KEY_PREVIOUS: formatMasterKey(old),
    });
    expect(store.currentId).toBe(masterKeyId(k));
    expect(store.ids).toEqual([masterKeyId(k), masterKeyId(old)]);
    for (const bad of ["", "patron-master-v1:abc", Buffer.from(k).toString("base64url")]) {
      expect(() => loadKeyStore(dir, { PATRON_MASTER_KEY: bad || " " })).toThrow(VaultError);
    }
  });
});

describe.each(backends)("the vault, on $name", (backend: Backend) => {
  let db: Database;
  let cleanup: () => void;
  let master: Uint8Array;
  let vault: Vault;
  beforeEach(async () => {
    const c = backend.config();
    cleanup = c.cleanup;
    // PGlite in memory: nothing here needs to survive the test.
    db = await openDatabase({ url: c.config.databaseUrl, schema: c.schema });
    await migrate(db);
    master = key();
    vault = new Vault(db, new LocalKeyStore(master));
  });
  afterEach(async () => {
    await db?.close();
    cleanup?.();
  });

  it("stores versions encrypted, with commitments the customer can recompute", async () => {
    const v1 = await vault.put("m_a", "c_1", "email", "ada@example.com");
    const v2 = await vault.put("m_a", "c_1", "email", "ada@lovelace.org");
    expect([v1.version, v2.version]).toEqual([1, 2]);
    const latest = await vault.get("m_a", "c_1", "email");
    expect(latest?.value).toBe("ada@lovelace.org");
    expect((await vault.get("m_a", "c_1", "email", 1))?.value).toBe("ada@example.com");
    // The commitment binds the salt kept in the vault to this version of this field.
    expect(Buffer.from(latest?.commitment as Uint8Array)).toEqual(Buffer.from(v2.commitment));
    const recomputed = commitment(latest?.salt as Uint8Array, {
      customer: "c_1",
      field: "email",
      version: 2,
      value: "ada@lovelace.org",
    });
    expect(Buffer.from(recomputed)).toEqual(Buffer.from(v2.commitment));
    expect((await vault.history("m_a", "c_1")).map((v) => v.version)).toEqual([1, 2]);
    expect(await vault.get("m_a", "c_1", "phone")).toBeUndefined();
  });

  it("keeps nothing personal in clear: no value, no salt, no key", async () => {
    const stored = await vault.put("m_a", "c_1", "name", "Ada Lovelace");
    await vault.index("m_a", "c_1", "email", "ada@example.com");
    await vault.indexName("m_a", "c_1", "Ada Lovelace");
    const dump = JSON.stringify(
      await Promise.all(
        ["vault_data_keys", "vault_index_keys", "vault_fields", "vault_index"].map(
          async (t) => (await db.query(`SELECT * FROM ${t}`)).rows,
        ),
      ),
      (_k, v) =>
        v instanceof Uint8Array
          ? Buffer.from(v).toString("hex")
          : typeof v === "bigint"
            ? String(v)
            : v,
    );
    for (const secret of [
      "Ada Lovelace",
      Buffer.from("Ada Lovelace").toString("hex"),
      "ada@example.com",
      Buffer.from("ada@example.com").toString("hex"),
      Buffer.from(stored.salt).toString("hex"),
      Buffer.from(stored.salt).toString("base64url"),
    ]) {
      expect(dump.includes(secret), secret).toBe(false);
    }
  });

  it("finds customers by exact identifiers and by name, within one merchant", async () => {
    await vault.put("m_a", "c_1", "name", "José García");
    await vault.indexName("m_a", "c_1", "José García");
    await vault.index("m_a", "c_1", "email", "ada@example.com");
    await vault.put("m_a", "c_2", "name", "张伟");
    await vault.indexName("m_a", "c_2", "张伟");
    await vault.put("m_b", "c_3", "name", "José García");
    await vault.indexName("m_b", "c_3", "José García");
    await vault.index("m_b", "c_3", "email", "ada@example.com");

    expect(await vault.find("m_a", "email", "ada@example.com")).toEqual(["c_1"]);
    expect(await vault.find("m_a", "phone", "ada@example.com")).toEqual([]);
    expect(await vault.findByName("m_a", "garcia")).toEqual(["c_1"]);
    expect(await vault.findByName("m_a", "JOSE")).toEqual(["c_1"]);
    expect(await vault.findByName("m_a", "张伟")).toEqual(["c_2"]);
    expect(await vault.findByName("m_a", "张")).toEqual(["c_2"]);
    expect(await vault.findByName("m_a", "伟")).toEqual(["c_2"]);
    expect(await vault.findByName("m_b", "garcia")).toEqual(["c_3"]);
    // Another merchant's customer is not this merchant's to read.
    await expect(vault.get("m_a", "c_3", "name")).rejects.toMatchObject({
      code: "no_such_customer",
    });
    await vault.unindex("m_a", "c_1", "email", "ada@example.com");
    expect(await vault.find("m_a", "email", "ada@example.com")).toEqual([]);
  });

  it("filters the candidates a truncated name index gives", async () => {
    // 12 bits: among 1,500 distinct names, many share an index value.
    const names = Array.from({ length: 1500 }, (_, i) => `name${i}`);
    await db.transaction(async (tx) => {
      for (const [i, n] of names.entries()) {
        await vault.put("m_a", `c_${i}`, "name", n, tx);
        await vault.indexName("m_a", `c_${i}`, n, tx);
      }
    });
    const { rows } = await db.query<{ n: number | string }>(
      "SELECT count(DISTINCT hash) AS n FROM vault_index WHERE kind = 'name'",
    );
    // Fewer index values than names: the index cannot tell one name from another.
    expect(Number(rows[0]?.n)).toBeLessThan(names.length);
    expect(await vault.findByName("m_a", "name42")).toEqual(["c_42"]);
    expect(await vault.findByName("m_a", "nobody")).toEqual([]);
  }, 120_000);

  it("crypto-shreds an erased customer: nothing reads or finds it again", async () => {
    await vault.put("m_a", "c_1", "email", "ada@example.com");
    await vault.index("m_a", "c_1", "email", "ada@example.com");
    await vault.put("m_a", "c_1", "name", "Ada");
    await vault.indexName("m_a", "c_1", "Ada");
    await vault.erase("m_a", "c_1");
    expect(await vault.isErased("c_1")).toBe(true);
    await expect(vault.get("m_a", "c_1", "email")).rejects.toMatchObject({ code: "erased" });
    await expect(vault.put("m_a", "c_1", "email", "x@y.z")).rejects.toMatchObject({
      code: "erased",
    });
    expect(await vault.find("m_a", "email", "ada@example.com")).toEqual([]);
    expect(await vault.findByName("m_a", "ada")).toEqual([]);
    for (const t of ["vault_data_keys", "vault_fields", "vault_index"]) {
      expect((await db.query(`SELECT * FROM ${t} WHERE customer_id = 'c_1'`)).rows).toEqual([]);
    }
    // A fresh vault (no cache) cannot read it either.
    await expect(
      new Vault(db, new LocalKeyStore(master)).get("m_a", "c_1", "email"),
    ).rejects.toMatchObject({
      code: "erased",
    });
  });

  it("rotates the master key while serving, then reads without the old one", async () => {
    await vault.put("m_a", "c_1", "email", "ada@example.com");
    await vault.index("m_a", "c_1", "email", "ada@example.com");
    const next = key();
    const during = new Vault(db, new LocalKeyStore(next, [master]));
    // Before the rotation, the new node reads what the old key wrapped.
    expect((await during.get("m_a", "c_1", "email"))?.value).toBe("ada@example.com");
    await during.put("m_a", "c_2", "email", "bob@example.com");
    expect(await during.rotate()).toBe(2); // c_1's data key and m_a's index key
    expect(await during.rotate()).toBe(0);
    const after = new Vault(db, new LocalKeyStore(next));
    expect((await after.get("m_a", "c_1", "email"))?.value).toBe("ada@example.com");
    expect((await after.get("m_a", "c_2", "email"))?.value).toBe("bob@example.com");
    expect(await after.find("m_a", "email", "ada@example.com")).toEqual(["c_1"]);
    // Without the current key nothing opens.
    await expect(
      new Vault(db, new LocalKeyStore(master)).get("m_a", "c_1", "email"),
    ).rejects.toMatchObject({
      code: "unknown_master_key",
    });
  });
});

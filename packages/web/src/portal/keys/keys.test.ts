import { hkdfSync } from "node:crypto";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeDidKey, encodeHex, signCommand, utf8Encode, verifyCommand } from "@patron/ledger";
import { describe, expect, it } from "vitest";
import { BackupError, createBackup, openBackup, parseBackup } from "./backup.js";
import { deriveMerchantKey } from "./derive.js";
import { draftCommand } from "./signer.js";
import type { Account } from "./store.js";

const root = Uint8Array.from({ length: 32 }, (_, i) => i);
const path = { ledger: "patron.example/ledger", merchant: "m_shop", generation: 0 };

describe("per-merchant keys derived from the root secret", () => {
  it("are HKDF-SHA256 of the root with the ledger, merchant and generation as info", () => {
    const { secretKey, did } = deriveMerchantKey(root, path);
    const expected = hkdf(
      sha256,
      root,
      utf8Encode("patron-portal/v1"),
      utf8Encode("patron-customer-key/v1\npatron.example/ledger\nm_shop\n0"),
      32,
    );
    expect(encodeHex(secretKey)).toBe(encodeHex(expected));
    // An independent implementation (Node's OpenSSL) agrees.
    const openssl = hkdfSync(
      "sha256",
      root,
      "patron-portal/v1",
      "patron-customer-key/v1\npatron.example/ledger\nm_shop\n0",
      32,
    );
    expect(encodeHex(new Uint8Array(openssl))).toBe(encodeHex(expected));
    // Pinned, so a change of the derivation (which would lose every customer's keys) fails here.
    expect(encodeHex(secretKey)).toMatchInlineSnapshot(
      `"0ba856ffaaf2e639b58114ede221980fa99721ee5ad86bdd4978493735427841"`,
    );
    expect(decodeDidKey(did).type).toBe("Ed25519");
  });

  it("give every merchant, ledger and generation its own identifier", () => {
    const dids = new Set(
      [
        path,
        { ...path, merchant: "m_other" },
        { ...path, ledger: "other.example/ledger" },
        { ...path, generation: 1 },
      ].map((p) => deriveMerchantKey(root, p).did),
    );
    expect(dids.size).toBe(4);
    expect(deriveMerchantKey(root, path).did).toBe(deriveMerchantKey(root, path).did);
  });

  it("refuse an ambiguous path or a wrong-sized root", () => {
    expect(() => deriveMerchantKey(root, { ...path, ledger: "a\nm_x" })).toThrow(/one non-empty/);
    expect(() => deriveMerchantKey(root, { ...path, merchant: "shop" })).toThrow(/merchant id/);
    expect(() => deriveMerchantKey(root, { ...path, generation: -1 })).toThrow(/generation/);
    expect(() => deriveMerchantKey(root.slice(1), path)).toThrow(/32 bytes/);
  });

  it("sign commands the ledger library verifies", () => {
    const { secretKey, did } = deriveMerchantKey(root, path);
    const command = draftCommand({ ...path, did }, "session.open", { challenge: "abc" });
    expect(command.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Date.parse(command.expires) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(verifyCommand(signCommand(command, secretKey))).toEqual(command);
  });
});

const account: Account = {
  merchant: "m_shop",
  merchantName: "Café Lumière",
  ledger: path.ledger,
  kind: "ed25519",
  did: deriveMerchantKey(root, path).did,
  generation: 0,
  bound: true,
  customerId: "c_1",
  createdAt: "2026-01-02T03:04:05.000Z",
  retired: [],
};
const passphrase = "correct horse battery staple";

describe("the backup file", () => {
  it("opens with its passphrase: the same root secret and accounts", async () => {
    const file = await createBackup({ root, accounts: [account] }, passphrase);
    expect(file).toMatchObject({
      format: "patron-portal-backup",
      version: 1,
      kdf: { name: "scrypt", N: 131072, r: 8, p: 1 },
      cipher: { name: "AES-256-GCM" },
    });
    const text = JSON.stringify(file);
    expect(text).not.toContain("Café");
    const opened = await openBackup(text, passphrase);
    expect(encodeHex(opened.root)).toBe(encodeHex(root));
    expect(opened.accounts).toEqual([account]);
  }, 60_000);

  it("refuses a wrong passphrase and a changed parameter alike", async () => {
    const file = await createBackup({ root, accounts: [] }, passphrase);
    await expect(openBackup(JSON.stringify(file), `${passphrase}!`)).rejects.toMatchObject({
      code: "wrong_passphrase",
    });
    const changed = { ...file, cipher: { ...file.cipher, iv: "AAAAAAAAAAAAAAAA" } };
    await expect(openBackup(JSON.stringify(changed), passphrase)).rejects.toMatchObject({
      code: "wrong_passphrase",
    });
  }, 60_000);

  it("refuses short passphrases, other files, other versions and hostile costs before any work", async () => {
    await expect(createBackup({ root, accounts: [] }, "short")).rejects.toBeInstanceOf(BackupError);
    expect(() => parseBackup("not json")).toThrow(/not JSON/);
    expect(() => parseBackup('{"format":"something-else"}')).toThrow(/not a Patron/);
    const base = {
      format: "patron-portal-backup",
      version: 1,
      createdAt: "2026-01-01T00:00:00Z",
      kdf: { name: "scrypt", N: 2 ** 17, r: 8, p: 1, salt: "AAAAAAAAAAAAAAAAAAAAAA" },
      cipher: { name: "AES-256-GCM", iv: "AAAAAAAAAAAAAAAA" },
      ciphertext: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    expect(parseBackup(JSON.stringify(base)).kdf.N).toBe(2 ** 17);
    expect(() => parseBackup(JSON.stringify({ ...base, version: 2 }))).toThrow(/version 2/);
    for (const kdf of [
      { ...base.kdf, N: 2 ** 24 },
      { ...base.kdf, N: 3000 },
      { ...base.kdf, p: 64 },
      { ...base.kdf, salt: "AA" },
    ]) {
      expect(() => parseBackup(JSON.stringify({ ...base, kdf }))).toThrow(/parameters/);
    }
  }, 60_000);
});

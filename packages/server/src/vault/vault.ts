import { randomBytes } from "node:crypto";
import { canonicalJson, commitment, type JsonValue } from "@patron/ledger";
import type { Queryable, Statement } from "../db/database.js";
import { saltedDigestNative } from "../ledger/hash.js";
import { random } from "../ledger/salt.js";
import {
  blindIndex,
  NAME_INDEX_BITS,
  nameIndex,
  nameMatches,
  nameTokens,
  queryTokens,
} from "./blind-index.js";
import { openSealed, seal } from "./cipher.js";
import { type KeyStore, VaultError } from "./keystore.js";

/** A customer's data key, held for the length of one command. */
export interface CustomerKey {
  merchantId: string;
  customerId: string;
  key: Uint8Array;
  /** For a new customer: the statement that stores the wrapped key. */
  store?: Statement;
  /** Caches the key once the command committed. */
  remember(): void;
}

/** One stored version of a customer's personal field, as the vault gives it back. */
export interface VaultValue {
  field: string;
  version: number;
  value: JsonValue;
  /** The commitment's salt: with the value, the customer can recompute the entry's commitment. */
  salt: Uint8Array;
  commitment: Uint8Array;
}

const bytes = (v: unknown) => new Uint8Array(Buffer.from(String(v), "hex"));
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const SALT_BYTES = 16;
const CACHE_LIMIT = 10_000;

/**
 * Personal data at rest (decision 4). Each customer has an AES-256-GCM data key, wrapped by the
 * node's master key; every value is encrypted under it, bound to its customer, field and
 * version. Lookups go through blind indexes under a per-merchant index key. Erasure destroys the
 * data key and the indexes: what was stored cannot be read again, anywhere it rests, and the
 * commitments on the ledger can no longer be tested against guesses (their salts went with it).
 *
 * Writes of one customer are expected one at a time (the sequencer orders a customer's
 * commands); two writers racing on one field get a unique violation, not two version 1s.
 */
export class Vault {
  private readonly dataKeys = new Map<string, Uint8Array>();
  private readonly indexKeys = new Map<string, Uint8Array>();

  constructor(
    private readonly db: Queryable,
    private readonly keys: KeyStore,
  ) {}

  /**
   * A customer's data key, to seal fields with inside a command (`sealField`). For a new
   * customer it is made here, and `store` is the statement that keeps it: the command writes it
   * in its batch, so a refused command leaves no key behind.
   */
  async customerKey(merchantId: string, customerId: string, create = false): Promise<CustomerKey> {
    if (create) {
      const key = new Uint8Array(random(32));
      const { keyId, wrapped } = await this.keys.wrap(key, dataKeyContext(customerId));
      return {
        merchantId,
        customerId,
        key,
        store: {
          sql: `INSERT INTO vault_data_keys (customer_id, merchant_id, master_key_id, wrapped)
           VALUES ($1, $2, $3, decode($4, 'hex'))`,
          params: [customerId, merchantId, keyId, hex(wrapped)],
        },
        remember: () => this.remember(customerId, key),
      };
    }
    const key = await this.dataKey(merchantId, customerId, this.db, false);
    return { merchantId, customerId, key, remember: () => {} };
  }

  /**
   * The data keys of several existing customers of this merchant in one read (a batch of
   * interactions). A customer absent from the answer has no key here: another merchant's, an
   * unknown one, or erased; `customerKey` then says which.
   */
  async customerKeys(merchantId: string, customerIds: string[]): Promise<Map<string, CustomerKey>> {
    const out = new Map<string, CustomerKey>();
    if (customerIds.length === 0) return out;
    const { rows } = await this.db.query<{
      customer_id: string;
      master_key_id: string;
      wrapped: string;
    }>(
      `SELECT customer_id, master_key_id, encode(wrapped, 'hex') AS wrapped FROM vault_data_keys
       WHERE merchant_id = $1 AND customer_id = ANY($2::text[])`,
      [merchantId, customerIds],
    );
    for (const r of rows) {
      const key = await this.storedKey(r.customer_id, r);
      out.set(r.customer_id, { merchantId, customerId: r.customer_id, key, remember: () => {} });
    }
    return out;
  }

  /**
   * A fresh key for a retention hold: what the law requires a merchant to keep after an
   * erasure rests under it, wrapped by the master key, until the hold ends and it is destroyed.
   */
  async retentionKey(holdId: string): Promise<{ key: Uint8Array; keyId: string; wrapped: string }> {
    const key = new Uint8Array(random(32));
    const { keyId, wrapped } = await this.keys.wrap(key, retentionKeyContext(holdId));
    return { key, keyId, wrapped: hex(wrapped) };
  }

  /** A held value, sealed under its hold's key, bound to the hold, customer, field and version. */
  static sealHeld(
    key: Uint8Array,
    holdId: string,
    v: { customerId: string; field: string; version: number; value: JsonValue; salt: Uint8Array },
  ): Uint8Array {
    const plain = Buffer.from(
      canonicalJson({ salt: Buffer.from(v.salt).toString("base64url"), value: v.value }),
    );
    return seal(key, plain, heldContext(holdId, v.customerId, v.field, v.version));
  }

  /** The values of a hold, decrypted (an auditor's or the authority's request). */
  async openHeld(
    hold: { id: string; masterKeyId: string; wrapped: string },
    rows: { customerId: string; field: string; version: number; sealed: Uint8Array }[],
  ): Promise<VaultValue[]> {
    const key = await this.keys.unwrap(
      bytes(hold.wrapped),
      hold.masterKeyId,
      retentionKeyContext(hold.id),
    );
    return rows.map((r) => {
      const plain = openSealed(
        key,
        r.sealed,
        heldContext(hold.id, r.customerId, r.field, r.version),
      );
      if (!plain) throw new VaultError("corrupt", `held ${r.field} v${r.version} does not decrypt`);
      const { salt, value } = JSON.parse(Buffer.from(plain).toString("utf8")) as {
        salt: string;
        value: JsonValue;
      };
      const saltBytes = new Uint8Array(Buffer.from(salt, "base64url"));
      return {
        field: r.field,
        version: r.version,
        value,
        salt: saltBytes,
        commitment: commitment(
          saltBytes,
          { customer: r.customerId, field: r.field, version: r.version, value },
          saltedDigestNative,
        ),
      };
    });
  }

  /** A fresh salt for a field's commitment, chosen when the command is made. */
  static salt(): Uint8Array {
    return new Uint8Array(random(SALT_BYTES));
  }

  /**
   * The commitment an entry carries for a field value: `version` is the index of the entry
   * that sets it, so a customer holding value and salt finds the entry it belongs to.
   */
  static commit(
    customerId: string,
    field: string,
    version: number,
    value: JsonValue,
    salt: Uint8Array,
  ) {
    return commitment(salt, { customer: customerId, field, version, value }, saltedDigestNative);
  }

  /** The statement storing a field version, sealed under the customer's key (see `put`). */
  sealField(
    k: CustomerKey,
    field: string,
    version: number,
    value: JsonValue,
    salt: Uint8Array,
  ): Statement {
    const plain = Buffer.from(
      canonicalJson({ salt: Buffer.from(salt).toString("base64url"), value }),
    );
    const sealed = seal(k.key, plain, fieldContext(k.customerId, field, version));
    return {
      sql: `INSERT INTO vault_fields (customer_id, field, version, ciphertext)
       VALUES ($1, $2, $3, decode($4, 'hex'))`,
      params: [k.customerId, field, version, hex(sealed)],
    };
  }

  /** The merchant's blind index key, made on first use (it holds no personal data itself). */
  merchantIndexKey(merchantId: string): Promise<Uint8Array> {
    return this.indexKey(merchantId, this.db);
  }

  /** The blind index of an exact identifier, under the merchant's index key. */
  static identityHash(indexKey: Uint8Array, kind: string, normalised: string): Uint8Array {
    return blindIndex(indexKey, kind, normalised);
  }

  /** The statements that index an identifier for a customer, or remove it. */
  static indexStatement(
    merchantId: string,
    customerId: string,
    kind: string,
    hash: Uint8Array,
    remove = false,
  ): Statement {
    return Vault.rowStatement(merchantId, customerId, `id:${kind}`, hash, remove);
  }

  /**
   * A row of the blind index under its full kind (`id:email`, `verified:phone`…), or its
   * removal: what an erasure deletes with the customer.
   */
  static rowStatement(
    merchantId: string,
    customerId: string,
    kind: string,
    hash: Uint8Array,
    remove = false,
  ): Statement {
    return remove
      ? {
          sql: `DELETE FROM vault_index WHERE merchant_id = $1 AND kind = $2
           AND hash = decode($3, 'hex') AND customer_id = $4`,
          params: [merchantId, kind, hex(hash), customerId],
        }
      : {
          sql: `INSERT INTO vault_index (merchant_id, kind, hash, customer_id)
           VALUES ($1, $2, decode($3, 'hex'), $4) ON CONFLICT DO NOTHING`,
          params: [merchantId, kind, hex(hash), customerId],
        };
  }

  /**
   * The statements that replace a customer's name index with the tokens of `name`. For a
   * customer made in the same transaction (`fresh`), there is nothing to replace: only INSERTs,
   * joined with the other new customers' (`Statement.bulk`).
   */
  static nameIndexStatements(
    indexKey: Uint8Array,
    merchantId: string,
    customerId: string,
    name: string | null,
    fresh = false,
  ): Statement[] {
    const out: Statement[] = fresh
      ? []
      : [
          {
            sql: "DELETE FROM vault_index WHERE customer_id = $1 AND kind = 'name'",
            params: [customerId],
          },
        ];
    const hashes = [
      ...new Set((name ? nameTokens(name) : []).map((t) => hex(nameIndex(indexKey, t)))),
    ];
    for (const h of hashes) {
      out.push({
        sql: `INSERT INTO vault_index (merchant_id, kind, hash, customer_id)
         VALUES ($1, 'name', decode($2, 'hex'), $3) ON CONFLICT DO NOTHING`,
        params: [merchantId, h, customerId],
        ...(fresh ? { bulk: true as const } : {}),
      });
    }
    return out;
  }

  /** The statements that crypto-shred a customer (see `erase`). */
  eraseStatements(merchantId: string, customerId: string): Statement[] {
    return [
      { sql: "DELETE FROM vault_fields WHERE customer_id = $1", params: [customerId] },
      { sql: "DELETE FROM vault_index WHERE customer_id = $1", params: [customerId] },
      { sql: "DELETE FROM vault_data_keys WHERE customer_id = $1", params: [customerId] },
      {
        sql: `INSERT INTO vault_erased (customer_id, merchant_id) VALUES ($1, $2)
         ON CONFLICT (customer_id) DO NOTHING`,
        params: [customerId, merchantId],
      },
    ];
  }

  /** Forgets a cached data key (its customer was erased). */
  forget(customerId: string): void {
    this.dataKeys.delete(customerId);
  }

  /** The latest version of each of a customer's fields. */
  async latest(merchantId: string, customerId: string): Promise<Map<string, VaultValue>> {
    // The key and the fields in one read: a profile is read on every lookup.
    const { rows } = await this.db.query<{
      merchant_id: string;
      master_key_id: string;
      wrapped: string;
      field: string | null;
      version: number | null;
      ciphertext: string | null;
    }>(
      `SELECT k.merchant_id, k.master_key_id, encode(k.wrapped, 'hex') AS wrapped,
         f.field, f.version, encode(f.ciphertext, 'hex') AS ciphertext
       FROM vault_data_keys k
       LEFT JOIN LATERAL (
         SELECT DISTINCT ON (field) field, version, ciphertext FROM vault_fields
         WHERE customer_id = k.customer_id ORDER BY field, version DESC
       ) f ON true
       WHERE k.customer_id = $1`,
      [customerId],
    );
    const first = rows[0];
    // No key here: another merchant's, unknown or erased; `dataKey` says which, as before.
    if (!first || first.merchant_id !== merchantId) {
      await this.dataKey(merchantId, customerId, this.db, false);
      return new Map();
    }
    const key = await this.storedKey(customerId, first);
    const out = new Map<string, VaultValue>();
    for (const r of rows) {
      if (r.field === null || r.ciphertext === null) continue;
      out.set(r.field, this.open(key, customerId, r.field, Number(r.version), bytes(r.ciphertext)));
    }
    return out;
  }

  /** Every identifier hash indexed for a customer (to release them on erasure). */
  async identityHashes(customerId: string): Promise<{ kind: string; hash: Uint8Array }[]> {
    const { rows } = await this.db.query<{ kind: string; hash: string }>(
      `SELECT kind, encode(hash, 'hex') AS hash FROM vault_index
       WHERE customer_id = $1 AND kind LIKE 'id:%'`,
      [customerId],
    );
    return rows.map((r) => ({ kind: r.kind.slice(3), hash: bytes(r.hash) }));
  }

  private remember(customerId: string, key: Uint8Array) {
    if (this.dataKeys.size >= CACHE_LIMIT) this.dataKeys.clear();
    this.dataKeys.set(customerId, key);
  }

  /** Stores a new version of `field` and returns it with its commitment, for the entry. */
  async put(
    merchantId: string,
    customerId: string,
    field: string,
    value: JsonValue,
    tx: Queryable = this.db,
  ): Promise<VaultValue> {
    const key = await this.dataKey(merchantId, customerId, tx, true);
    const { rows } = await tx.query<{ v: number | string | null }>(
      "SELECT max(version) AS v FROM vault_fields WHERE customer_id = $1 AND field = $2",
      [customerId, field],
    );
    const version = Number(rows[0]?.v ?? 0) + 1;
    const salt = Vault.salt();
    const s = this.sealField(
      { merchantId, customerId, key, remember: () => {} },
      field,
      version,
      value,
      salt,
    );
    await tx.query(s.sql, s.params);
    return {
      field,
      version,
      value,
      salt,
      commitment: commitment(
        salt,
        { customer: customerId, field, version, value },
        saltedDigestNative,
      ),
    };
  }

  /** The latest version of a field (or `version`), or undefined when it was never stored. */
  async get(
    merchantId: string,
    customerId: string,
    field: string,
    version?: number,
  ): Promise<VaultValue | undefined> {
    // Refuses another merchant's customer, an erased one or an unknown one before reading.
    const key = await this.dataKey(merchantId, customerId, this.db, false);
    const { rows } = await this.db.query<{ version: number; ciphertext: string }>(
      `SELECT version, encode(ciphertext, 'hex') AS ciphertext FROM vault_fields
       WHERE customer_id = $1 AND field = $2 ${version === undefined ? "" : "AND version = $3"}
       ORDER BY version DESC LIMIT 1`,
      version === undefined ? [customerId, field] : [customerId, field, version],
    );
    const row = rows[0];
    return row && this.open(key, customerId, field, Number(row.version), bytes(row.ciphertext));
  }

  /**
   * The latest version of several fields of one customer in one read (a timeline page's texts):
   * by field, absent when never stored. Refuses as `get` does.
   */
  async getMany(
    merchantId: string,
    customerId: string,
    fields: readonly string[],
  ): Promise<Map<string, VaultValue>> {
    if (fields.length === 0) return new Map();
    const key = await this.dataKey(merchantId, customerId, this.db, false);
    const { rows } = await this.db.query<{ field: string; version: number; ciphertext: string }>(
      `SELECT DISTINCT ON (field) field, version, encode(ciphertext, 'hex') AS ciphertext
       FROM vault_fields WHERE customer_id = $1 AND field = ANY($2::text[])
       ORDER BY field, version DESC`,
      [customerId, [...new Set(fields)]],
    );
    return new Map(
      rows.map((r) => [
        r.field,
        this.open(key, customerId, r.field, Number(r.version), bytes(r.ciphertext)),
      ]),
    );
  }

  /** Every version of every field of a customer, oldest first (an export, an audit). */
  async history(merchantId: string, customerId: string): Promise<VaultValue[]> {
    const key = await this.dataKey(merchantId, customerId, this.db, false);
    const { rows } = await this.db.query<{ field: string; version: number; ciphertext: string }>(
      `SELECT field, version, encode(ciphertext, 'hex') AS ciphertext FROM vault_fields
       WHERE customer_id = $1 ORDER BY field, version`,
      [customerId],
    );
    return rows.map((r) =>
      this.open(key, customerId, r.field, Number(r.version), bytes(r.ciphertext)),
    );
  }

  /** Indexes an exact identifier (kind: `email`, `phone`, `wechat`, ...), already normalised. */
  async index(
    merchantId: string,
    customerId: string,
    kind: string,
    normalised: string,
    tx: Queryable = this.db,
  ): Promise<void> {
    const key = await this.indexKey(merchantId, tx);
    const s = Vault.indexStatement(merchantId, customerId, kind, blindIndex(key, kind, normalised));
    await tx.query(s.sql, s.params);
  }

  /** Removes an exact identifier from a customer's indexes (a changed email, an unmerge). */
  async unindex(
    merchantId: string,
    customerId: string,
    kind: string,
    normalised: string,
    tx: Queryable = this.db,
  ): Promise<void> {
    const key = await this.indexKey(merchantId, tx);
    const hash = blindIndex(key, kind, normalised);
    const s = Vault.indexStatement(merchantId, customerId, kind, hash, true);
    await tx.query(s.sql, s.params);
  }

  /** Customers holding this exact identifier. */
  async find(merchantId: string, kind: string, normalised: string): Promise<string[]> {
    const key = await this.indexKey(merchantId, this.db);
    const { rows } = await this.db.query<{ customer_id: string }>(
      `SELECT customer_id FROM vault_index WHERE merchant_id = $1 AND kind = $2
       AND hash = decode($3, 'hex') ORDER BY customer_id`,
      [merchantId, `id:${kind}`, hex(blindIndex(key, kind, normalised))],
    );
    return rows.map((r) => r.customer_id);
  }

  /** Indexes a name by its tokens, truncated (see blind-index.ts); replaces earlier ones. */
  async indexName(
    merchantId: string,
    customerId: string,
    name: string,
    tx: Queryable = this.db,
  ): Promise<void> {
    const key = await this.indexKey(merchantId, tx);
    for (const s of Vault.nameIndexStatements(key, merchantId, customerId, name)) {
      await tx.query(s.sql, s.params);
    }
  }

  /**
   * Customers whose `field` (a name) has every token of `query`: the truncated index gives
   * candidates, which are decrypted and filtered here.
   */
  async findByName(merchantId: string, query: string, field = "name"): Promise<string[]> {
    const tokens = queryTokens(query);
    if (tokens.length === 0) return [];
    const key = await this.indexKey(merchantId, this.db);
    const hashes = [...new Set(tokens.map((t) => hex(nameIndex(key, t))))];
    const { rows } = await this.db.query<{ customer_id: string }>(
      `SELECT customer_id FROM vault_index
       WHERE merchant_id = $1 AND kind = 'name' AND hash IN (${hashes.map((_, i) => `decode($${i + 2}, 'hex')`).join(", ")})
       GROUP BY customer_id HAVING count(DISTINCT hash) = ${hashes.length}
       ORDER BY customer_id`,
      [merchantId, ...hashes],
    );
    const found: string[] = [];
    for (const { customer_id: id } of rows) {
      const name = await this.get(merchantId, id, field).catch((err) => {
        if (err instanceof VaultError && err.code === "erased") return undefined;
        throw err;
      });
      if (typeof name?.value === "string" && nameMatches(name.value, query)) found.push(id);
    }
    return found;
  }

  /**
   * Crypto-shreds a customer: the data key, every stored value and every index go, and the
   * customer is remembered as erased. Backups keep the wrapped key until they expire.
   */
  async erase(merchantId: string, customerId: string, tx: Queryable = this.db): Promise<void> {
    await this.owned(merchantId, customerId, tx);
    for (const s of this.eraseStatements(merchantId, customerId)) await tx.query(s.sql, s.params);
    this.dataKeys.delete(customerId);
  }

  async isErased(customerId: string, tx: Queryable = this.db): Promise<boolean> {
    const { rows } = await tx.query("SELECT 1 FROM vault_erased WHERE customer_id = $1", [
      customerId,
    ]);
    return rows.length > 0;
  }

  /**
   * Re-wraps every data and index key not wrapped by the current master key, a page at a time,
   * while the node serves: reads unwrap with either key until the page is done. Returns how many
   * keys were re-wrapped.
   */
  async rotate(progress?: (done: number) => void): Promise<number> {
    let done = 0;
    for (const table of ["vault_index_keys", "vault_data_keys", "retention_holds"] as const) {
      const idColumn =
        table === "vault_index_keys"
          ? "merchant_id"
          : table === "retention_holds"
            ? "id"
            : "customer_id";
      for (;;) {
        const { rows } = await this.db.query<{
          id: string;
          master_key_id: string;
          wrapped: string;
        }>(
          // A shredded hold has no key left (wrapped is null): nothing to re-wrap.
          `SELECT ${idColumn} AS id, master_key_id, encode(wrapped, 'hex') AS wrapped FROM ${table}
           WHERE master_key_id <> $1 AND wrapped IS NOT NULL ORDER BY ${idColumn} LIMIT 500`,
          [this.keys.currentId],
        );
        if (rows.length === 0) break;
        for (const r of rows) {
          const context =
            table === "vault_index_keys"
              ? indexKeyContext(r.id)
              : table === "retention_holds"
                ? retentionKeyContext(r.id)
                : dataKeyContext(r.id);
          const key = await this.keys.unwrap(bytes(r.wrapped), r.master_key_id, context);
          const { keyId, wrapped } = await this.keys.wrap(key, context);
          // Only if nobody re-wrapped or erased it meanwhile.
          await this.db.query(
            `UPDATE ${table} SET master_key_id = $1, wrapped = decode($2, 'hex')
             WHERE ${idColumn} = $3 AND master_key_id = $4`,
            [keyId, hex(wrapped), r.id, r.master_key_id],
          );
          done++;
        }
        progress?.(done);
      }
    }
    return done;
  }

  private open(
    key: Uint8Array,
    customerId: string,
    field: string,
    version: number,
    sealed: Uint8Array,
  ): VaultValue {
    const plain = openSealed(key, sealed, fieldContext(customerId, field, version));
    if (!plain) {
      throw new VaultError("corrupt", `${customerId}'s ${field} v${version} does not decrypt`);
    }
    const { salt, value } = JSON.parse(Buffer.from(plain).toString("utf8")) as {
      salt: string;
      value: JsonValue;
    };
    const saltBytes = new Uint8Array(Buffer.from(salt, "base64url"));
    return {
      field,
      version,
      value,
      salt: saltBytes,
      commitment: commitment(
        saltBytes,
        { customer: customerId, field, version, value },
        saltedDigestNative,
      ),
    };
  }

  /** Refuses another merchant's customer and an erased one. */
  private async owned(merchantId: string, customerId: string, tx: Queryable) {
    const { rows } = await tx.query<{ merchant_id: string }>(
      `SELECT merchant_id FROM vault_data_keys WHERE customer_id = $1
       UNION ALL SELECT merchant_id FROM vault_erased WHERE customer_id = $1`,
      [customerId],
    );
    const owner = rows[0]?.merchant_id;
    if (owner !== undefined && owner !== merchantId) {
      throw new VaultError(
        "no_such_customer",
        `no customer ${customerId} in merchant ${merchantId}`,
      );
    }
  }

  private async dataKey(
    merchantId: string,
    customerId: string,
    tx: Queryable,
    create: boolean,
  ): Promise<Uint8Array> {
    const { rows } = await tx.query<{
      merchant_id: string;
      master_key_id: string;
      wrapped: string;
    }>(
      `SELECT merchant_id, master_key_id, encode(wrapped, 'hex') AS wrapped FROM vault_data_keys
       WHERE customer_id = $1`,
      [customerId],
    );
    const row = rows[0];
    if (row && row.merchant_id !== merchantId) {
      throw new VaultError(
        "no_such_customer",
        `no customer ${customerId} in merchant ${merchantId}`,
      );
    }
    if (!row && (await this.isErased(customerId, tx))) {
      throw new VaultError("erased", `customer ${customerId} was erased`);
    }
    if (row) return this.storedKey(customerId, row);
    let key: Uint8Array;
    if (create) {
      const made = await this.customerKey(merchantId, customerId, true);
      const store = made.store as Statement;
      await tx.query(store.sql, store.params);
      key = made.key;
    } else {
      throw new VaultError(
        "no_such_customer",
        `no customer ${customerId} in merchant ${merchantId}`,
      );
    }
    this.remember(customerId, key);
    return key;
  }

  /** A stored data key: the cached one, or unwrapped by the master key and cached. */
  private async storedKey(
    customerId: string,
    row: { master_key_id: string; wrapped: string },
  ): Promise<Uint8Array> {
    const cached = this.dataKeys.get(customerId);
    if (cached) return cached;
    const key = await this.keys.unwrap(
      bytes(row.wrapped),
      row.master_key_id,
      dataKeyContext(customerId),
    );
    this.remember(customerId, key);
    return key;
  }

  private async indexKey(merchantId: string, tx: Queryable): Promise<Uint8Array> {
    const cached = this.indexKeys.get(merchantId);
    if (cached) return cached;
    const context = indexKeyContext(merchantId);
    const read = async () => {
      const { rows } = await tx.query<{ master_key_id: string; wrapped: string }>(
        `SELECT master_key_id, encode(wrapped, 'hex') AS wrapped FROM vault_index_keys
         WHERE merchant_id = $1`,
        [merchantId],
      );
      return rows[0];
    };
    let row = await read();
    if (!row) {
      const { keyId, wrapped } = await this.keys.wrap(new Uint8Array(randomBytes(32)), context);
      // Two nodes creating the first index key at once keep the one written first.
      await tx.query(
        `INSERT INTO vault_index_keys (merchant_id, master_key_id, wrapped)
         VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT (merchant_id) DO NOTHING`,
        [merchantId, keyId, hex(wrapped)],
      );
      row = await read();
    }
    if (!row) throw new VaultError("corrupt", `no index key for merchant ${merchantId}`);
    const key = await this.keys.unwrap(bytes(row.wrapped), row.master_key_id, context);
    this.indexKeys.set(merchantId, key);
    return key;
  }
}

const dataKeyContext = (customerId: string) => `data-key/${customerId}`;
const indexKeyContext = (merchantId: string) => `index-key/${merchantId}`;
const retentionKeyContext = (holdId: string) => `retention-key/${holdId}`;
const heldContext = (holdId: string, customerId: string, field: string, version: number) =>
  `patron-vault/v1/held/${holdId}/${customerId}/${field}/${version}`;
const fieldContext = (customerId: string, field: string, version: number) =>
  `patron-vault/v1/field/${customerId}/${field}/${version}`;

export { NAME_INDEX_BITS };

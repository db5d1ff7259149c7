import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { type Clock, systemClock } from "../ledger/clock.js";
import { random } from "../ledger/salt.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { getMeta, setMeta } from "../ledger/store.js";
import { type Principal, ROLES, type Role, withArticle } from "./roles.js";

/**
 * Merchants (tenants) and their staff API keys. Creating a merchant or a key and revoking a key
 * are ledger entries, so who was given access, and when, is part of the verifiable record. The
 * ledger carries only a hash of each key; the key itself is shown once, at creation.
 */

export const SYSTEM_ACTOR = "node";

export const hashKey = (token: string) => createHash("sha256").update(token).digest();

export function newApiKey(): string {
  return `pat_${randomBytes(32).toString("base64url")}`;
}

export const newId = (prefix: string) => `${prefix}_${random(9).toString("base64url")}`;

export function validateKeyString(token: string): void {
  if (!/^[\x21-\x7e]{32,200}$/.test(token)) {
    throw new Error("an API key must be 32 to 200 printable ASCII characters without spaces");
  }
}

interface MerchantCreated {
  merchantId: string;
  name: string;
}
interface KeyCreated {
  keyId: string;
  merchantId: string;
  role: Role;
  label: string;
  keyHash: string;
}
interface KeyRevoked {
  keyId: string;
  merchantId: string;
}

export const tenancyProjector: Projector = {
  types: ["merchant.created", "apikey.created", "apikey.revoked"],
  tables: ["merchants", "api_keys"],
  statements(entries: CommittedEntry[]): Statement[] {
    // In order: a key may be created and revoked in the same batch.
    return entries.map((e): Statement => {
      const time = e.entry.time;
      if (e.entry.type === "merchant.created") {
        const p = e.entry.payload as unknown as MerchantCreated;
        return {
          sql: "INSERT INTO merchants (id, name, created_at, entry_idx) VALUES ($1, $2, $3, $4)",
          params: [p.merchantId, p.name, time, e.index.toString()],
        };
      }
      if (e.entry.type === "apikey.created") {
        const p = e.entry.payload as unknown as KeyCreated;
        return {
          sql: `INSERT INTO api_keys (id, merchant_id, role, label, key_hash, created_at, entry_idx)
           VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7)`,
          params: [p.keyId, p.merchantId, p.role, p.label, p.keyHash, time, e.index.toString()],
        };
      }
      const p = e.entry.payload as unknown as KeyRevoked;
      return {
        sql: "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND merchant_id = $3 AND revoked_at IS NULL",
        params: [time, p.keyId, p.merchantId],
      };
    });
  },
};

export interface ApiKeyInfo {
  id: string;
  role: Role;
  label: string;
  createdAt: string;
  revokedAt: string | null;
  /** The index of the ledger entry that created the key. */
  entryIndex: number;
}

/** What the sequencer checks key changes against: every key's merchant, role and state. */
interface KeyState {
  merchantId: string;
  role: Role;
  revoked: boolean;
}

/** Who a bearer token belongs to: a merchant's key, or the node operator's. */
export type Caller = Principal | "operator";

const OPERATOR_KEY_META = "operator_key_hash";

/** Most merchants `Tenancy.merchant` keeps in memory; past it, they are read again. */
const MAX_MERCHANTS_KEPT = 10_000;

export class Tenancy {
  /** Recently resolved keys: a request costs no query; revocation takes effect within `ttlMs`. */
  private readonly cache = new Map<string, { principal?: Caller; until: number }>();
  /** Validation state: keys, and active owner keys per merchant (the last one stays). */
  private readonly keys: StagedMap<string, KeyState>;
  private readonly owners: StagedMap<string, number>;
  private operatorHash: Buffer | undefined;
  /**
   * Merchants found: a merchant is never renamed or removed, so every signed command (which
   * names its merchant) costs no query once it is known. Unknown ids are not kept.
   */
  private readonly merchants = new Map<string, { id: string; name: string }>();

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock = systemClock,
    private readonly ttlMs = 5_000,
  ) {
    this.keys = sequencer.state.add(new StagedMap<string, KeyState>());
    this.owners = sequencer.state.add(new StagedMap<string, number>());
    sequencer.onRecover(() => this.load());
  }

  /** Loads the committed keys (a few per merchant) and the operator key's hash. */
  async load(): Promise<void> {
    this.keys.clearCommitted();
    this.owners.clearCommitted();
    const { rows } = await this.db.query("SELECT id, merchant_id, role, revoked_at FROM api_keys");
    for (const r of rows) {
      const k = {
        merchantId: String(r.merchant_id),
        role: r.role as Role,
        revoked: r.revoked_at !== null,
      };
      this.keys.load(String(r.id), k);
      if (k.role === "owner" && !k.revoked) {
        this.owners.load(k.merchantId, (this.owners.get(k.merchantId) ?? 0) + 1);
      }
    }
    const stored = await getMeta(this.db, OPERATOR_KEY_META);
    this.operatorHash = stored ? Buffer.from(stored, "hex") : undefined;
  }

  /** Whether the node has an operator key yet (it is created on the first start). */
  get hasOperatorKey(): boolean {
    return this.operatorHash !== undefined;
  }

  /** Sets the node operator's key; only its hash is kept (in the database, not the log). */
  async setOperatorKey(token = newApiKey()): Promise<string> {
    validateKeyString(token);
    const hash = hashKey(token);
    await setMeta(this.db, OPERATOR_KEY_META, hash.toString("hex"));
    this.operatorHash = hash;
    this.cache.clear();
    return token;
  }

  async createMerchant(name: string, actor = SYSTEM_ACTOR): Promise<string> {
    const merchantId = newId("m");
    // A merchant's registration is a published fact: public, and the start of its chain.
    await this.sequencer.submit({
      type: "merchant.created",
      actor,
      payload: { merchantId, name },
      parties: [{ merchant: merchantId }],
    });
    return merchantId;
  }

  /** A new merchant and its first owner key, in one atomic command (the operator's call). */
  async createMerchantWithOwner(
    name: string,
    actor: string,
    token = newApiKey(),
  ): Promise<{ id: string; ownerKey: string; keyId: string; index: bigint }> {
    validateKeyString(token);
    const merchantId = newId("m");
    const keyId = newId("k");
    const committed = await this.sequencer.execute({
      entries: [
        {
          type: "merchant.created",
          actor,
          payload: { merchantId, name },
          parties: [{ merchant: merchantId }],
        },
        this.keyCreatedDraft(merchantId, keyId, "owner", "initial owner key", actor, token),
      ],
    });
    return { id: merchantId, ownerKey: token, keyId, index: committed[0]?.index ?? 0n };
  }

  private keyCreatedDraft(
    merchantId: string,
    keyId: string,
    role: Role,
    label: string,
    actor: string,
    token: string,
  ) {
    return {
      type: "apikey.created",
      actor,
      payload: { keyId, merchantId, role, label, keyHash: hashKey(token).toString("hex") },
      parties: [{ merchant: merchantId }],
      sealed: true,
      check: () => {
        this.keys.set(keyId, { merchantId, role, revoked: false });
        if (role === "owner") this.owners.set(merchantId, (this.owners.get(merchantId) ?? 0) + 1);
      },
    };
  }

  async createKey(
    merchantId: string,
    role: Role,
    label: string,
    actor: string,
    token = newApiKey(),
  ): Promise<{ id: string; key: string; index: bigint; time: string }> {
    validateKeyString(token);
    const keyId = newId("k");
    const committed = await this.sequencer.submit(
      this.keyCreatedDraft(merchantId, keyId, role, label, actor, token),
    );
    return { id: keyId, key: token, index: committed.index, time: committed.entry.time };
  }

  /**
   * Revokes a key. The rules are checked by the sequencer against the staged key state, so two
   * owners revoking each other at once cannot leave a merchant without an owner key, and two
   * revocations of one key write one entry.
   */
  async revokeKey(merchantId: string, keyId: string, by: Principal, actor: string) {
    const committed = await this.sequencer.submit({
      type: "apikey.revoked",
      actor,
      payload: { keyId, merchantId },
      parties: [{ merchant: merchantId }],
      sealed: true,
      check: () => {
        const key = this.keys.get(keyId);
        if (!key || key.merchantId !== merchantId) {
          throw new ApiError(404, "not_found", `API key ${keyId} not found`);
        }
        if (key.revoked) {
          throw new ApiError(409, "already_revoked", `API key ${keyId} is already revoked`);
        }
        if (by.role !== "owner" && (key.role === "owner" || key.role === "admin")) {
          throw new ApiError(
            403,
            "forbidden",
            `${withArticle(by.role)} key cannot revoke ${withArticle(key.role)} key`,
          );
        }
        // A staff member's session is checked by the staff domain; a key, here, in order.
        const byKey = by.staffId === undefined ? this.keys.get(by.keyId) : undefined;
        if (by.staffId === undefined && (!byKey || byKey.revoked)) {
          throw new ApiError(401, "unauthorized", "the calling key was revoked meanwhile");
        }
        if (key.role === "owner") {
          const owners = this.owners.get(merchantId) ?? 0;
          if (owners <= 1) {
            throw new ApiError(
              409,
              "last_owner_key",
              "the last owner key of a merchant cannot be revoked",
            );
          }
          this.owners.set(merchantId, owners - 1);
        }
        this.keys.set(keyId, { ...key, revoked: true });
      },
    });
    this.cache.clear();
    return { index: committed.index, time: committed.entry.time };
  }

  async getKey(merchantId: string, keyId: string): Promise<ApiKeyInfo | undefined> {
    return (await this.listKeys(merchantId)).find((k) => k.id === keyId);
  }

  async listKeys(merchantId: string): Promise<ApiKeyInfo[]> {
    const { rows } = await this.db.query(
      `SELECT id, role, label, created_at, revoked_at, entry_idx FROM api_keys
       WHERE merchant_id = $1 ORDER BY entry_idx`,
      [merchantId],
    );
    return rows.map((r) => ({
      id: String(r.id),
      role: r.role as Role,
      label: String(r.label),
      createdAt: new Date(r.created_at as string).toISOString(),
      revokedAt: r.revoked_at ? new Date(r.revoked_at as string).toISOString() : null,
      entryIndex: Number(r.entry_idx),
    }));
  }

  async merchant(id: string): Promise<{ id: string; name: string } | undefined> {
    const known = this.merchants.get(id);
    if (known) return known;
    const { rows } = await this.db.query("SELECT id, name FROM merchants WHERE id = $1", [id]);
    if (!rows[0]) return undefined;
    const m = { id: String(rows[0].id), name: String(rows[0].name) };
    if (this.merchants.size >= MAX_MERCHANTS_KEPT) this.merchants.clear();
    this.merchants.set(id, m);
    return m;
  }

  /** A merchant with no API key at all: left by a first start that stopped half-way. */
  async firstMerchantWithoutKeys(): Promise<string | undefined> {
    const { rows } = await this.db.query(
      `SELECT m.id FROM merchants m
       WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.merchant_id = m.id)
       ORDER BY m.entry_idx LIMIT 1`,
    );
    return rows[0] ? String(rows[0].id) : undefined;
  }

  async merchantCount(): Promise<number> {
    const { rows } = await this.db.query("SELECT count(*)::int AS n FROM merchants");
    return Number(rows[0]?.n ?? 0);
  }

  async authenticate(token: string): Promise<Caller | undefined> {
    const hash = hashKey(token);
    const id = hash.toString("hex");
    const now = this.clock.now();
    if (this.operatorHash && timingSafeEqual(this.operatorHash, hash)) return "operator";
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.principal;
    const { rows } = await this.db.query(
      "SELECT id, merchant_id, role, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
      [hash],
    );
    const r = rows[0];
    const stored = r ? Buffer.from(r.key_hash as Uint8Array) : undefined;
    const principal =
      r && stored && stored.length === hash.length && timingSafeEqual(stored, hash)
        ? { merchantId: String(r.merchant_id), keyId: String(r.id), role: r.role as Role }
        : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { principal, until: now + this.ttlMs });
    return principal;
  }
}

export const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

import { canonicalJson, type JsonValue } from "@patron/ledger";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type {
  CommandDraft,
  CommittedEntry,
  EntryDraft,
  Idempotency,
  Sequencer,
} from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import { queryTokens } from "../vault/blind-index.js";
import { VaultError } from "../vault/keystore.js";
import { type CustomerKey, Vault } from "../vault/vault.js";
import {
  type Address,
  birthdayFacts,
  CHANNEL_KINDS,
  type ChannelKind,
  type CustomerInput,
  type CustomerPatch,
  countryOf,
  type Facts,
  IDENTITY_KINDS,
  type IdentityKind,
  identityFields,
  mergeAttributes,
  normaliseIdentifier,
  type PhoneOptions,
  phoneInfo,
  STAGES,
  type Stage,
  withShorthands,
} from "./profile.js";
import { CUSTOMER_CREATED, CUSTOMER_ERASED, CUSTOMER_UPDATED } from "./projection.js";

/** A customer as the API shows it: the personal fields decrypted, the facts in clear. */
export interface CustomerView {
  id: string;
  status: CustomerStatus;
  /** The customer this record was merged into, while it is. */
  mergedInto: string | null;
  name: string | null;
  emails: string[];
  phones: { number: string; valid: boolean }[];
  birthday: string | null;
  address: Address | null;
  identities: { type: ChannelKind; value: string }[];
  language: string | null;
  tags: string[];
  attributes: Record<string, number | boolean | string>;
  stage: Stage;
  country: string | null;
  birthMonth: number | null;
  ageBand: string | null;
  createdAt: string;
  updatedAt: string;
  /** The customer's latest entry: walk `subjects[].prev` from it (their chain). */
  head: number | null;
  /** The emails and phones the customer proved control of (a link, a code). */
  verified: { type: "email" | "phone"; value: string }[];
}

/** `merged`: absorbed by another record of the same person, until unmerged. */
export type CustomerStatus = "active" | "erased" | "merged";

/** @internal A customers row (merge.ts reads it too). */
export interface Row {
  id: string;
  status: CustomerStatus;
  merged_into?: string | null;
  facts: Facts;
  created_at: string | Date;
  updated_at: string | Date;
  created_idx: bigint | number | string;
}

/** A field write captured when the command is made; sealed once its entry has an index. */
interface FieldWrite {
  field: string;
  value: JsonValue;
  salt: Uint8Array;
}

/** Runs a command: the sequencer, or a signed command's route (which adds its signature). */
export type Execute = (draft: CommandDraft) => Promise<CommittedEntry[]>;

/** One profile entry's changes: field writes, facts and identifiers. */
interface ProfileWrite {
  type: string;
  actor: string;
  key: CustomerKey;
  writes: FieldWrite[];
  payload: { facts: Partial<Facts> };
  /** The new name to index, null to clear it, undefined when unchanged. */
  name: string | null | undefined;
  added: { kind: IdentityKind; normalised: string }[];
  removed: { kind: IdentityKind; normalised: string }[];
  /** Statements a bulk writer commits in the entry's own transaction (an import's progress). */
  alongside?: Alongside;
}

type Alongside = (entries: CommittedEntry[]) => Statement[];

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");

export interface CustomersOptions extends PhoneOptions {}

/**
 * The customer records of every merchant: one profile per person, its personal fields in the
 * vault and its facts in clear, every change an entry on the customer's chain (decisions 4, 7).
 *
 * A customer's own writes run one at a time (a lock per customer, on this node, which is the
 * ledger's single writer), so a change is computed from the state the previous one left. Who
 * holds an identifier is decided in the sequencer's order, against staged state, so two
 * customers can never be given one email at once.
 */
export class Customers {
  /** @internal Identifier blind index (hex) → the active customer holding it, or null for none. */
  readonly owners: StagedMap<string, string | null>;
  private readonly locks = new Map<string, Promise<void>>();
  /** Customers erased, committed or staged: nothing more may be written about them. */
  private readonly erased: StagedMap<string, true>;
  /**
   * @internal Customers merged into another (→ the survivor), or unmerged (→ null), staged or
   * committed since the node started; older merges are read from their rows.
   */
  readonly merged: StagedMap<string, string | null>;
  /**
   * Customers (merchant and id) read as active since the node started or last recovered, for
   * `isActiveKnown`; `generation` counts recoveries, so a read begun before one is not kept.
   */
  private readonly seenActive = new Set<string>();
  private generation = 0;

  /**
   * What an erasure must keep (retention holds, the rights domain sets it): the holds' rows are
   * written in the erasure's transaction, and its entries say what was kept and why.
   */
  retention?: (
    merchantId: string,
    customerIds: readonly string[],
  ) => Promise<{
    kept: { customerId: string; holdId: string; policyId: string; until: string; values: number }[];
    statements(erasedIndex: bigint): Statement[];
  }>;

  /**
   * The customers' open data-subject requests, closed in the erasure's own command (rights
   * domain): their entries, after the erasures', and the check that stages them closed. `except`
   * is the request that runs this erasure (it is closed after it, naming it).
   */
  closing?: (
    merchantId: string,
    customerIds: readonly string[],
    except: string | undefined,
    actor: string,
  ) => Promise<{ entries: EntryDraft[]; check(): void }>;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
    private readonly opts: CustomersOptions = {},
  ) {
    this.owners = sequencer.state.add(new StagedMap<string, string | null>());
    this.erased = sequencer.state.add(new StagedMap<string, true>());
    this.merged = sequencer.state.add(new StagedMap<string, string | null>());
    Customers.instances.set(sequencer, this);
    // What the log says after a commit whose outcome was unknown is read again on demand.
    sequencer.onRecover(async () => {
      // The merges known in memory are forgotten below: so are the customers seen active.
      this.generation++;
      this.seenActive.clear();
      this.owners.clearCommitted();
      // An erasure whose commit's answer was lost is known again from the database.
      this.erased.clearCommitted();
      this.merged.clearCommitted();
      const { rows } = await db.query<{ customer_id: string }>(
        "SELECT customer_id FROM vault_erased",
      );
      for (const r of rows) this.erased.load(r.customer_id, true);
    });
  }

  /**
   * What makes a retry the same request: an HMAC of the body under the merchant's index key,
   * never a plain hash of personal values (decision 4).
   */
  async idempotency(merchantId: string, scope: string, key: string | undefined, body: unknown) {
    if (key === undefined) return undefined;
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    return {
      scope: `${scope}/${merchantId}`,
      key,
      requestHash: Vault.identityHash(indexKey, "idempotency", canonicalJson(body as JsonValue)),
    };
  }

  async create(
    merchantId: string,
    actor: string,
    raw: CustomerInput,
    idempotencyKey?: string,
    alongside?: Alongside,
  ): Promise<{ id: string; index: bigint; replayed: boolean }> {
    const made = await this.createDraft(merchantId, actor, raw, alongside);
    const [committed] = await this.sequencer.execute(
      made.draft,
      await this.idempotency(merchantId, "customers", idempotencyKey, raw),
    );
    if (!committed) throw new Error("a profile command committed no entry");
    if (committed.replayed) {
      const p = committed.entry.payload as { customerId: string };
      return { id: p.customerId, index: committed.index, replayed: true };
    }
    made.key.remember();
    return { id: made.id, index: committed.index, replayed: false };
  }

  /**
   * A new customer's command, not yet queued: its first entry is the `customer.created` entry.
   * A signed `customer.join` adds its own entries to it before the sequencer runs it.
   */
  async createDraft(
    merchantId: string,
    actor: string,
    raw: CustomerInput,
    alongside?: Alongside,
  ): Promise<{ id: string; key: CustomerKey; draft: CommandDraft }> {
    const input = withShorthands(raw);
    const ids = identityFields(input, this.opts);
    const id = newId("c");
    const today = new Date(this.clock.now());
    const facts: Facts = {
      stage: input.stage ?? "prospect",
      tags: [...new Set(input.tags ?? [])],
      language: input.language ? (Intl.getCanonicalLocales(input.language)[0] ?? null) : null,
      country: countryOf(input.address, ids.phone),
      ...birthdayFacts(input.birthday ?? null, today),
      attributes: mergeAttributes({}, input.attributes ?? {}),
      channels: IDENTITY_KINDS.filter((k) => (ids[k]?.length ?? 0) > 0),
    };
    const writes: FieldWrite[] = [];
    const put = (field: string, value: JsonValue | undefined) => {
      if (value !== undefined) writes.push({ field, value, salt: Vault.salt() });
    };
    put("name", input.name);
    put("birthday", input.birthday);
    put("address", input.address as JsonValue | undefined);
    for (const kind of IDENTITY_KINDS) {
      const list = ids[kind];
      if (list && list.length > 0) put(kind, list);
    }
    const key = await this.vault.customerKey(merchantId, id, true);
    const draft = await this.draft(merchantId, {
      type: CUSTOMER_CREATED,
      actor,
      key,
      writes,
      payload: { facts },
      name: input.name ?? null,
      added: flatten(ids),
      removed: [],
      ...(alongside ? { alongside } : {}),
    });
    return { id, key, draft };
  }

  async update(
    merchantId: string,
    id: string,
    actor: string,
    patch: CustomerPatch,
    execute: Execute = (d) => this.sequencer.execute(d),
    alongside?: Alongside,
  ) {
    return this.locked(id, async () => {
      const row = await this.row(merchantId, id);
      if (!row) throw notFound(id);
      if (row.status === "merged") throw mergedError(id, row.merged_into);
      if (row.status !== "active") throw erasedError(id);
      const current = await this.vault.latest(merchantId, id);
      const value = (f: string) => current.get(f)?.value;
      const ids = identityFields(patch, this.opts);
      const writes: FieldWrite[] = [];
      const put = (field: string, v: JsonValue | undefined) => {
        if (v === undefined) return;
        // An empty list is what a never-set identity field already holds.
        const before = value(field) ?? (Array.isArray(v) ? [] : null);
        if (JSON.stringify(v) === JSON.stringify(before)) return;
        writes.push({ field, value: v, salt: Vault.salt() });
      };
      put("name", patch.name);
      put("birthday", patch.birthday);
      put("address", patch.address as JsonValue | undefined);
      const added: { kind: IdentityKind; normalised: string }[] = [];
      const removed: { kind: IdentityKind; normalised: string }[] = [];
      const lists: Partial<Record<IdentityKind, string[]>> = {};
      for (const kind of IDENTITY_KINDS) {
        const before = (value(kind) as string[] | undefined) ?? [];
        const after = ids[kind];
        lists[kind] = after ?? before;
        if (!after) continue;
        put(kind, after);
        for (const v of after) if (!before.includes(v)) added.push({ kind, normalised: v });
        for (const v of before) if (!after.includes(v)) removed.push({ kind, normalised: v });
      }
      const today = new Date(this.clock.now());
      const next: Facts = {
        ...row.facts,
        ...(patch.stage !== undefined ? { stage: patch.stage } : {}),
        ...(patch.tags !== undefined ? { tags: [...new Set(patch.tags)] } : {}),
        ...(patch.language !== undefined
          ? {
              language: patch.language
                ? (Intl.getCanonicalLocales(patch.language)[0] ?? null)
                : null,
            }
          : {}),
        ...(patch.attributes !== undefined
          ? { attributes: mergeAttributes(row.facts.attributes, patch.attributes) }
          : {}),
        ...(patch.birthday !== undefined ? birthdayFacts(patch.birthday, today) : {}),
        channels: IDENTITY_KINDS.filter((k) => (lists[k]?.length ?? 0) > 0),
      };
      if (patch.address !== undefined || ids.phone) {
        const address =
          patch.address !== undefined ? patch.address : (value("address") as Address | undefined);
        next.country = countryOf(address, lists.phone);
      }
      const changed: Partial<Facts> = {};
      for (const k of Object.keys(next) as (keyof Facts)[]) {
        if (JSON.stringify(next[k]) !== JSON.stringify(row.facts[k])) {
          (changed as Record<string, unknown>)[k] = next[k];
        }
      }
      if (writes.length === 0 && Object.keys(changed).length === 0) {
        return { id, index: undefined, changed: false };
      }
      const key = await this.vault.customerKey(merchantId, id);
      const committed = await this.write(merchantId, {
        type: CUSTOMER_UPDATED,
        actor,
        key,
        writes,
        payload: { facts: changed },
        name: patch.name === undefined ? undefined : patch.name,
        added,
        removed,
        execute,
        ...(alongside ? { alongside } : {}),
      });
      return { id, index: committed.index, changed: true };
    });
  }

  /**
   * Crypto-shreds a customer (decision 4): the data key, every stored value and every index go
   * in the entry's own transaction. The entry says only that the customer was erased.
   */
  async erase(
    merchantId: string,
    id: string,
    actor: string,
    reason: "request" | "retention",
    execute: Execute = (d) => this.sequencer.execute(d),
    /** The data-subject request this erasure carries out, if one does. */
    request?: string,
  ) {
    return this.locked(id, async () => {
      const row = await this.row(merchantId, id);
      if (!row) throw notFound(id);
      if (row.status === "erased") {
        throw new ApiError(409, "already_erased", `customer ${id} is already erased`);
      }
      if (row.status === "merged") throw mergedError(id, row.merged_into);
      // The records merged into this one are the same person: erased with it, one entry each
      // (decision 6), in one atomic command.
      const all = [id, ...(await this.mergedInto(merchantId, id))];
      const held = new Map<string, { kind: string; hash: Uint8Array }[]>();
      for (const c of all) held.set(c, await this.vault.identityHashes(c));
      // What the law makes the merchant keep moves under a retention key first (rights domain).
      const plan = this.retention ? await this.retention(merchantId, all) : undefined;
      const keptBy = (c: string) => plan?.kept.filter((k) => k.customerId === c) ?? [];
      const closing = this.closing
        ? await this.closing(merchantId, all, request, actor)
        : undefined;
      const [committed] = await execute({
        entries: [
          ...all.map((c) => ({
            type: CUSTOMER_ERASED,
            actor,
            payload: {
              merchantId,
              customerId: c,
              reason,
              ...(keptBy(c).length > 0
                ? { kept: keptBy(c).map(({ customerId: _c, ...k }) => k) as unknown as JsonValue }
                : {}),
            },
            parties: [{ customer: c }, { merchant: merchantId }],
            sealed: true,
          })),
          ...(closing?.entries ?? []),
        ],
        check: () => {
          this.checkActive(id);
          closing?.check();
          for (const c of all) {
            this.erased.set(c, true);
            for (const h of held.get(c) ?? []) {
              const k = ownerKey(merchantId, h.kind, h.hash);
              // Unknown here (not cached) counts as this customer's: a holder read from the
              // database while this erasure is staged would otherwise outlive it.
              const holder = this.owners.get(k) ?? c;
              if (all.includes(holder)) this.owners.set(k, null);
            }
          }
        },
        writes: (es) => [
          ...(plan?.statements(es[0]?.index ?? 0n) ?? []),
          ...all.flatMap((c) => this.vault.eraseStatements(merchantId, c)),
          // Messages held for them (verification codes and links name their email or phone).
          {
            sql: "DELETE FROM outbox_messages WHERE merchant_id = $1 AND customer_id = ANY($2::text[])",
            params: [merchantId, all],
          },
        ],
      })
        // Even when the outcome is unknown: a cached key must not seal anything more.
        .finally(() => {
          for (const c of all) this.vault.forget(c);
        });
      if (!committed) throw new Error("an erasure committed no entry");
      return { id, index: committed.index, time: committed.entry.time };
    });
  }

  /** Whether this merchant has an active customer of that id. */
  async isActive(merchantId: string, id: string): Promise<boolean> {
    return (await this.status(merchantId, id)) === "active";
  }

  /**
   * Whether this merchant has an active customer of that id, as `isActive` says, reading the
   * database only for one not seen active before. A customer stops being active only by an
   * erasure or a merge, which this node (the ledger's one writer) stages in `erased` and
   * `merged` before it commits them, so those answer at once; a customer never seen is read.
   */
  async isActiveKnown(merchantId: string, id: string): Promise<boolean> {
    const gone = () => this.erased.get(id) === true || Boolean(this.merged.get(id));
    if (gone()) return false;
    const key = `${merchantId} ${id}`;
    if (this.seenActive.has(key)) return true;
    const generation = this.generation;
    if ((await this.status(merchantId, id)) !== "active" || gone()) return false;
    if (generation === this.generation) {
      if (this.seenActive.size >= 200_000) this.seenActive.clear();
      this.seenActive.add(key);
    }
    return true;
  }

  /** The customer's status, or undefined when this merchant has none of that id. */
  async status(merchantId: string, id: string): Promise<CustomerStatus | undefined> {
    return (await this.row(merchantId, id))?.status;
  }

  /** The statuses of these customers of this merchant, in one query (a batch's customers). */
  async statuses(merchantId: string, ids: string[]): Promise<Map<string, CustomerStatus>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.query<{ id: string; status: CustomerStatus }>(
      "SELECT id, status FROM customers WHERE merchant_id = $1 AND id = ANY($2::text[])",
      [merchantId, ids],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /**
   * The names of these customers of this merchant (a list of many, such as the loyalty members):
   * by id, null for a customer without one, absent for one not active.
   */
  async names(merchantId: string, ids: string[]): Promise<Map<string, string | null>> {
    const statuses = await this.statuses(merchantId, ids);
    const active = ids.filter((id) => statuses.get(id) === "active");
    const found = await Promise.all(
      active.map(async (id) => {
        const v = await this.vault.get(merchantId, id, "name").catch((err) => {
          if (err instanceof VaultError && err.code === "erased") return undefined;
          throw err;
        });
        return [id, typeof v?.value === "string" ? v.value : null] as const;
      }),
    );
    return new Map(found);
  }

  /**
   * The records merged into this one, and those merged into them, all the way down (their
   * chains end in merge entries of this person).
   */
  async mergedInto(merchantId: string, id: string): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `WITH RECURSIVE absorbed(id) AS (
         SELECT id FROM customers WHERE merchant_id = $1 AND merged_into = $2 AND status = 'merged'
         UNION
         SELECT c.id FROM customers c JOIN absorbed a ON c.merged_into = a.id
         WHERE c.merchant_id = $1 AND c.status = 'merged'
       ) SELECT id FROM absorbed`,
      [merchantId, id],
    );
    return rows.map((r) => r.id);
  }

  /** In a command's check: refuses a customer erased since the command was made. */
  checkActive(id: string): void {
    if (this.erased.get(id)) throw erasedError(id);
    const into = this.merged.get(id);
    if (into) throw mergedError(id, into);
  }

  /**
   * The active customers an interaction's identifier hints point at, by priority: email,
   * phone, then channel identities. Several means they disagree.
   */
  async resolve(merchantId: string, hints: Record<string, string | undefined>): Promise<string[]> {
    const found: string[] = [];
    for (const kind of IDENTITY_KINDS) {
      const v = hints[kind];
      if (v === undefined) continue;
      const normalised = normaliseIdentifier(kind, v, this.opts);
      for (const id of await this.vault.find(merchantId, kind, normalised)) {
        if (!found.includes(id) && (await this.isActive(merchantId, id))) found.push(id);
      }
    }
    return found;
  }

  /** A new customer known only by the identifiers an interaction came with. */
  createFromHints(merchantId: string, actor: string, hints: Record<string, string | undefined>) {
    return this.create(merchantId, actor, {
      emails: hints.email === undefined ? undefined : [hints.email],
      phones: hints.phone === undefined ? undefined : [hints.phone],
      identities: CHANNEL_KINDS.flatMap((type) => {
        const value = hints[type];
        return value === undefined ? [] : [{ type, value }];
      }),
    });
  }

  /** The customer, or undefined when this merchant has none of that id. */
  async get(merchantId: string, id: string): Promise<CustomerView | undefined> {
    const row = await this.row(merchantId, id);
    return row ? this.view(merchantId, row) : undefined;
  }

  /** The active customer holding an exact identifier, or undefined. */
  async lookup(
    merchantId: string,
    by: { email?: string; phone?: string; identity?: string },
  ): Promise<CustomerView | undefined> {
    const [kind, normalised] = this.identifier(by);
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    // The index and the customer's row in one read (as `Vault.find`, then `row`).
    const { rows } = await this.db.query<Row>(
      `SELECT c.id, c.status, c.merged_into, c.facts, c.created_at, c.updated_at, c.created_idx
       FROM vault_index i JOIN customers c ON c.id = i.customer_id AND c.merchant_id = i.merchant_id
       WHERE i.merchant_id = $1 AND i.kind = $2 AND i.hash = decode($3, 'hex')
       AND c.status = 'active' ORDER BY c.id LIMIT 1`,
      [merchantId, `id:${kind}`, toHex(Vault.identityHash(indexKey, kind, normalised))],
    );
    return rows[0] ? this.view(merchantId, rows[0]) : undefined;
  }

  /**
   * A page of customers, newest first, by filters and an optional search: an email or phone
   * finds its holder, anything else searches names by whole tokens.
   */
  async list(
    merchantId: string,
    q: {
      query?: string;
      tag?: string;
      stage?: Stage;
      /** A segment's condition (segments/sql.ts): pushes its values, returns its clause. */
      where?: (params: unknown[]) => string;
      before?: bigint;
      limit: number;
    },
  ): Promise<{ customers: CustomerView[]; next: bigint | null }> {
    let ids: string[] | undefined;
    if (q.query !== undefined && q.query.trim() !== "") {
      ids = await this.search(merchantId, q.query);
      if (ids.length === 0) return { customers: [], next: null };
    }
    const params: unknown[] = [merchantId];
    const where = ["merchant_id = $1", "status = 'active'"];
    if (ids) {
      params.push(ids);
      where.push(`id = ANY($${params.length}::text[])`);
    }
    if (q.tag !== undefined) {
      params.push(JSON.stringify([q.tag]));
      where.push(`facts->'tags' @> $${params.length}::jsonb`);
    }
    if (q.stage !== undefined) {
      params.push(q.stage);
      where.push(`facts->>'stage' = $${params.length}`);
    }
    if (q.where) where.push(`(${q.where(params)})`);
    if (q.before !== undefined) {
      params.push(q.before.toString());
      where.push(`created_idx < $${params.length}`);
    }
    params.push(q.limit + 1);
    const { rows } = await this.db.query<Row>(
      `SELECT id, status, facts, created_at, updated_at, created_idx FROM customers
       WHERE ${where.join(" AND ")} ORDER BY created_idx DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const customers = await Promise.all(page.map((r) => this.view(merchantId, r)));
    const last = page[page.length - 1];
    return {
      customers,
      next: rows.length > q.limit && last ? BigInt(last.created_idx) : null,
    };
  }

  private async search(merchantId: string, query: string): Promise<string[]> {
    const q = query.trim();
    if (q.includes("@")) {
      try {
        return await this.vault.find(merchantId, "email", normaliseIdentifier("email", q));
      } catch {
        return [];
      }
    }
    if (/^\+?[\d\s().-]{6,}$/.test(q)) {
      try {
        return await this.vault.find(
          merchantId,
          "phone",
          normaliseIdentifier("phone", q, this.opts),
        );
      } catch {
        return [];
      }
    }
    if (queryTokens(q).length === 0) return [];
    return this.vault.findByName(merchantId, q);
  }

  /** `email=`, `phone=` or `identity=<type>:<value>`, as the index holds it. */
  private identifier(by: { email?: string; phone?: string; identity?: string }): [string, string] {
    const given = [by.email, by.phone, by.identity].filter((v) => v !== undefined);
    if (given.length !== 1) {
      throw new ApiError(
        400,
        "invalid_request",
        "look up by exactly one of email, phone or identity=<type>:<value>",
      );
    }
    if (by.email !== undefined) return ["email", normaliseIdentifier("email", by.email)];
    if (by.phone !== undefined) {
      return ["phone", normaliseIdentifier("phone", by.phone, this.opts)];
    }
    const text = by.identity as string;
    const at = text.indexOf(":");
    const type = text.slice(0, at);
    if (at < 1 || !(CHANNEL_KINDS as readonly string[]).includes(type)) {
      throw new ApiError(
        400,
        "invalid_identity",
        `identity must be <type>:<value> with type one of ${CHANNEL_KINDS.join(", ")}`,
      );
    }
    return [type, normaliseIdentifier(type as ChannelKind, text.slice(at + 1))];
  }

  /** @internal */
  async row(merchantId: string, id: string): Promise<Row | undefined> {
    // Filtered by merchant in SQL (decision 9): another merchant's customer is not found, in
    // the same single indexed read as one that does not exist.
    const { rows } = await this.db.query<Row>(
      `SELECT id, status, merged_into, facts, created_at, updated_at, created_idx FROM customers
       WHERE id = $1 AND merchant_id = $2`,
      [id, merchantId],
    );
    return rows[0];
  }

  private async view(merchantId: string, row: Row): Promise<CustomerView> {
    // Three independent reads, at once: the fields, the chain head, the verification marks.
    const [fields, head, marks] = await Promise.all([
      row.status === "active"
        ? this.vault.latest(merchantId, row.id).catch((err) => {
            if (err instanceof VaultError && err.code === "erased") {
              return new Map<string, { value: JsonValue }>();
            }
            throw err;
          })
        : new Map<string, { value: JsonValue }>(),
      this.sequencer.headOf(row.id),
      this.verificationMarks(merchantId, row.id),
    ]);
    const v = (f: string) => fields.get(f)?.value;
    const list = (k: IdentityKind) => (v(k) as string[] | undefined) ?? [];
    const facts: Partial<Facts> = row.facts ?? {};
    const verified = await this.verifiedOf(merchantId, marks, list("email"), list("phone"));
    return {
      id: row.id,
      status: row.status,
      mergedInto: row.merged_into ?? null,
      name: (v("name") as string | undefined) ?? null,
      emails: list("email"),
      phones: list("phone").map((p) => {
        const i = phoneInfo(p);
        return { number: i.number, valid: i.valid };
      }),
      birthday: (v("birthday") as string | undefined) ?? null,
      address: (v("address") as Address | undefined) ?? null,
      identities: CHANNEL_KINDS.flatMap((type) => list(type).map((value) => ({ type, value }))),
      language: facts.language ?? null,
      tags: facts.tags ?? [],
      attributes: facts.attributes ?? {},
      stage: facts.stage ?? STAGES[0],
      country: facts.country ?? null,
      birthMonth: facts.birthMonth ?? null,
      ageBand: facts.ageBand ?? null,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      head: head === undefined ? null : Number(head),
      verified,
    };
  }

  /**
   * One profile entry: the changed fields' commitments (their version is the entry's index),
   * the changed facts, and the vault and index writes, all in the entry's batch.
   */
  private async write(
    merchantId: string,
    w: ProfileWrite & { idempotency?: Idempotency; execute?: Execute },
  ): Promise<CommittedEntry> {
    const draft = await this.draft(merchantId, w);
    const [entry] = w.execute
      ? await w.execute(draft)
      : await this.sequencer.execute(draft, w.idempotency);
    if (!entry) throw new Error("a profile command committed no entry");
    return entry;
  }

  /** The command of one profile write, not yet queued. */
  private async draft(merchantId: string, w: ProfileWrite): Promise<CommandDraft> {
    const id = w.key.customerId;
    const alongside = w.alongside;
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    const hash = (kind: string, v: string) => Vault.identityHash(indexKey, kind, v);
    const added = w.added.map((a) => ({ ...a, hash: hash(a.kind, a.normalised) }));
    const removed = w.removed.map((a) => ({ ...a, hash: hash(a.kind, a.normalised) }));
    // Committed holders of the new identifiers, read before the command is queued; the
    // sequencer's check then sees what is staged on top of them.
    await this.loadOwners(merchantId, added);
    return {
      entries: [
        {
          type: w.type,
          actor: w.actor,
          parties: [{ customer: id }, { merchant: merchantId }],
          sealed: true,
          payload: (ctx) => {
            const version = Number(ctx.index);
            const fields: Record<string, string> = {};
            for (const f of w.writes) {
              fields[f.field] = b64(Vault.commit(id, f.field, version, f.value, f.salt));
            }
            return {
              merchantId,
              customerId: id,
              ...(w.writes.length > 0 ? { fields } : {}),
              facts: w.payload.facts as unknown as JsonValue,
            };
          },
        },
      ],
      check: async () => {
        this.checkActive(id);
        for (const a of added) {
          const k = ownerKey(merchantId, a.kind, a.hash);
          let holder = this.owners.get(k);
          if (holder === undefined) holder = await this.ownerInDb(merchantId, a.kind, a.hash);
          if (holder && holder !== id) {
            throw new ApiError(
              409,
              "identity_in_use",
              `another customer already holds this ${a.kind}`,
              { customerId: holder, type: a.kind },
            );
          }
        }
        for (const r of removed) this.owners.set(ownerKey(merchantId, r.kind, r.hash), null);
        for (const a of added) this.owners.set(ownerKey(merchantId, a.kind, a.hash), id);
      },
      writes: (es) => {
        const version = Number(es[0]?.index);
        // A new customer's rows are INSERTs nothing before them touches: joined with the
        // other new customers' of the batch into multi-row statements (`Statement.bulk`).
        const fresh = w.type === CUSTOMER_CREATED;
        const bulk = (s: Statement): Statement => (fresh ? { ...s, bulk: true } : s);
        const out: Statement[] = w.key.store ? [bulk(w.key.store)] : [];
        for (const f of w.writes) {
          out.push(bulk(this.vault.sealField(w.key, f.field, version, f.value, f.salt)));
        }
        for (const r of removed) {
          out.push(Vault.indexStatement(merchantId, id, r.kind, r.hash, true));
        }
        for (const a of added) {
          out.push(bulk(Vault.indexStatement(merchantId, id, a.kind, a.hash)));
        }
        if (w.name !== undefined) {
          out.push(...Vault.nameIndexStatements(indexKey, merchantId, id, w.name, fresh));
        }
        if (alongside) out.push(...alongside(es));
        return out;
      },
    };
  }

  private async loadOwners(merchantId: string, ids: { kind: string; hash: Uint8Array }[]) {
    if (this.owners.committedSize > 200_000) this.owners.clearCommitted();
    for (const a of ids) {
      const k = ownerKey(merchantId, a.kind, a.hash);
      if (this.owners.hasCommitted(k)) continue;
      const holder = await this.ownerInDb(merchantId, a.kind, a.hash);
      // A batch may have committed a holder meanwhile: what it merged is newer.
      if (!this.owners.hasCommitted(k)) this.owners.load(k, holder);
    }
  }

  /** @internal */
  async ownerInDb(merchantId: string, kind: string, hash: Uint8Array) {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT c.id FROM vault_index i JOIN customers c ON c.id = i.customer_id
       WHERE i.merchant_id = $1 AND i.kind = $2 AND i.hash = decode($3, 'hex')
       AND c.status = 'active' LIMIT 1`,
      [merchantId, `id:${kind}`, toHex(hash)],
    );
    return rows[0]?.id ?? null;
  }

  /** @internal Runs one customer's writes one after the other. */
  async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = before.then(() => mine);
    this.locks.set(id, chained);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chained) this.locks.delete(id);
    }
  }

  /** The one instance per ledger: a second would stage identity ownership apart from this one. */
  private static readonly instances = new WeakMap<Sequencer, Customers>();

  /** The customers of this ledger's node, for domains that write profiles in bulk (imports). */
  static of(sequencer: Sequencer): Customers | undefined {
    return Customers.instances.get(sequencer);
  }

  /**
   * `create`, with `alongside(entries)` written in the entry's transaction (an import's progress
   * for the row): a crash leaves both or neither.
   */
  createAlongside(merchantId: string, actor: string, input: CustomerInput, alongside: Alongside) {
    return this.create(merchantId, actor, input, undefined, alongside);
  }

  /** `update`, with `alongside` as for `createAlongside` (nothing is written when unchanged). */
  updateAlongside(
    merchantId: string,
    id: string,
    actor: string,
    patch: CustomerPatch,
    alongside: Alongside,
  ) {
    return this.update(merchantId, id, actor, patch, undefined, alongside);
  }

  /**
   * Holders of identifiers a bulk writer read in one query (active customers, as `ownerInDb`
   * reads them), so its creates need not read them one by one. A holder a batch staged or
   * committed since the read is newer, and kept.
   */
  knownOwners(
    merchantId: string,
    read: { kind: string; hash: Uint8Array; holder: string | null }[],
  ): void {
    if (this.owners.committedSize > 200_000) this.owners.clearCommitted();
    for (const r of read) {
      const k = ownerKey(merchantId, r.kind, r.hash);
      if (!this.owners.hasCommitted(k)) this.owners.load(k, r.holder);
    }
  }

  /** A customer's verification marks (see verifications.ts), as `kind\0hash`. */
  private async verificationMarks(merchantId: string, id: string): Promise<Set<string>> {
    const { rows } = await this.db.query<{ kind: string; hash: string }>(
      `SELECT kind, encode(hash, 'hex') AS hash FROM vault_index
       WHERE merchant_id = $1 AND customer_id = $2 AND kind IN ('verified:email', 'verified:phone')`,
      [merchantId, id],
    );
    return new Set(rows.map((r) => `${r.kind}\u0000${r.hash}`));
  }

  /** Which of these emails and phones carry a verification mark. */
  private async verifiedOf(
    merchantId: string,
    marks: Set<string>,
    emails: string[],
    phones: string[],
  ) {
    if (emails.length + phones.length === 0 || marks.size === 0) return [];
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    const all = [
      ...emails.map((value) => ({ type: "email" as const, value })),
      ...phones.map((value) => ({ type: "phone" as const, value })),
    ];
    return all.filter((x) =>
      marks.has(`verified:${x.type}\u0000${toHex(Vault.identityHash(indexKey, x.type, x.value))}`),
    );
  }
}

/** @internal The staged map's key of an identifier's holder. */
export const ownerKey = (merchantId: string, kind: string, hash: Uint8Array) =>
  `${merchantId}\u0000${kind}\u0000${toHex(hash)}`;

function flatten(ids: Partial<Record<IdentityKind, string[]>>) {
  return (Object.entries(ids) as [IdentityKind, string[]][]).flatMap(([kind, list]) =>
    list.map((normalised) => ({ kind, normalised })),
  );
}

const notFound = (id: string) => new ApiError(404, "not_found", `customer ${id} not found`);
export const mergedError = (id: string, into: string | null | undefined) =>
  new ApiError(
    409,
    "customer_merged",
    `customer ${id} was merged into ${into ?? "another customer"}; write to that one, or unmerge`,
    { mergedInto: into ?? null },
  );
export const erasedError = (id: string) =>
  new ApiError(409, "customer_erased", `customer ${id} was erased; its profile cannot change`);

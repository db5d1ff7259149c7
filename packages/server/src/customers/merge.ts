import type { JsonValue } from "@patron/ledger";
import type { Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CommittedEntry, Sequencer } from "../ledger/sequencer.js";
import { Vault } from "../vault/vault.js";
import { type Customers, erasedError, mergedError, ownerKey, type Row } from "./customers.js";
import { type Facts, IDENTITY_KINDS, IDENTITY_LIMIT, type IdentityKind } from "./profile.js";
import { CUSTOMER_MERGED, CUSTOMER_UNMERGED } from "./projection.js";
import { verifiedStatement } from "./verifications.js";

/** Profile fields a survivor without them takes from the record it absorbs. */
const FILLABLE = ["name", "birthday", "address"] as const;

/**
 * What a merge moved into the survivor, kept in the survivor's vault (it names identifiers):
 * an unmerge takes exactly this back out, and leaves what the survivor gained since.
 */
interface MergeRecord {
  moved: Partial<Record<IdentityKind, string[]>>;
  filled: Record<string, JsonValue>;
  tags: string[];
}

const mergeField = (absorbedId: string) => `merge:${absorbedId}`;
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");

interface Write {
  field: string;
  value: JsonValue;
  salt: Uint8Array;
}

/**
 * Merge and unmerge (decision 7). A merge entry names both customers: the survivor's chain runs
 * on through it, the absorbed one's ends there; an unmerge names both again and the restored
 * record's chain resumes from it. The absorbed record keeps its own vault, so an unmerge gives
 * it back exactly as it was; the survivor gets new versions of the fields the merge changed.
 */
export class Merges {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly customers: Customers,
  ) {}

  async merge(
    merchantId: string,
    survivorId: string,
    absorbedId: string,
    actor: string,
    reason: "staff" | "verified_identifier",
  ): Promise<CommittedEntry> {
    if (survivorId === absorbedId) {
      throw new ApiError(400, "same_customer", "a customer cannot be merged into itself");
    }
    return this.bothLocked(survivorId, absorbedId, async () => {
      const survivor = await this.activeRow(merchantId, survivorId);
      const absorbed = await this.activeRow(merchantId, absorbedId);
      const mine = await this.vault.latest(merchantId, survivorId);
      const theirs = await this.vault.latest(merchantId, absorbedId);
      const value = (m: typeof mine, f: string) => m.get(f)?.value;
      const writes: Write[] = [];
      const put = (field: string, v: JsonValue) =>
        writes.push({ field, value: v, salt: Vault.salt() });
      const record: MergeRecord = { moved: {}, filled: {}, tags: [] };
      const channels = new Set<IdentityKind>();
      for (const kind of IDENTITY_KINDS) {
        const have = (value(mine, kind) as string[] | undefined) ?? [];
        const add = ((value(theirs, kind) as string[] | undefined) ?? []).filter(
          (v) => !have.includes(v),
        );
        if (have.length + add.length > 0) channels.add(kind);
        if (add.length === 0) continue;
        if (have.length + add.length > IDENTITY_LIMIT[kind]) {
          throw new ApiError(
            409,
            "too_many_identifiers",
            `together they hold more than ${IDENTITY_LIMIT[kind]} ${kind} identities: remove some first`,
          );
        }
        record.moved[kind] = add;
        put(kind, [...have, ...add]);
      }
      for (const f of FILLABLE) {
        const v = value(theirs, f);
        if ((value(mine, f) ?? null) === null && v !== undefined && v !== null) {
          record.filled[f] = v;
          put(f, v);
        }
      }
      record.tags = absorbed.facts.tags.filter((t) => !survivor.facts.tags.includes(t));
      put(mergeField(absorbedId), record as unknown as JsonValue);
      const facts: Partial<Facts> = {};
      if (record.tags.length > 0) facts.tags = [...survivor.facts.tags, ...record.tags];
      const sorted = IDENTITY_KINDS.filter((k) => channels.has(k));
      if (JSON.stringify(sorted) !== JSON.stringify(survivor.facts.channels)) {
        facts.channels = sorted;
      }
      const indexKey = await this.vault.merchantIndexKey(merchantId);
      const moved = Object.entries(record.moved).flatMap(([kind, list]) =>
        (list ?? []).map((v) => ({ kind, hash: Vault.identityHash(indexKey, kind, v) })),
      );
      const name =
        typeof record.filled.name === "string" ? (record.filled.name as string) : undefined;
      return this.write({
        type: CUSTOMER_MERGED,
        actor,
        merchantId,
        survivorId,
        otherId: absorbedId,
        payload: { mergedId: absorbedId, reason },
        writes,
        facts,
        check: () => {
          this.customers.checkActive(survivorId);
          this.customers.checkActive(absorbedId);
          this.customers.merged.set(absorbedId, survivorId);
          for (const m of moved)
            this.customers.owners.set(ownerKey(merchantId, m.kind, m.hash), survivorId);
        },
        statements: () => [
          // The absorbed record keeps its own index rows: lookups skip it while it is merged.
          ...moved.map((m) => Vault.indexStatement(merchantId, survivorId, m.kind, m.hash)),
          // Suggestions that these two are one person are settled by the merge.
          {
            sql: `UPDATE merge_suggestions SET status = 'merged'
             WHERE merchant_id = $1 AND status = 'open'
             AND ((customer_id = $2 AND other_id = $3) OR (customer_id = $3 AND other_id = $2))`,
            params: [merchantId, survivorId, absorbedId],
          },
          // What was verified stays verified in the survivor.
          {
            sql: `INSERT INTO vault_index (merchant_id, kind, hash, customer_id)
             SELECT merchant_id, kind, hash, $3 FROM vault_index
             WHERE merchant_id = $1 AND customer_id = $2 AND kind LIKE 'verified:%'
             ON CONFLICT DO NOTHING`,
            params: [merchantId, absorbedId, survivorId],
          },
          ...(name === undefined
            ? []
            : Vault.nameIndexStatements(indexKey, merchantId, survivorId, name)),
        ],
      });
    });
  }

  /** Undoes the merge that absorbed `absorbedId`: the state before it, with what came since. */
  async unmerge(merchantId: string, absorbedId: string, actor: string): Promise<CommittedEntry> {
    const first = await this.customers.row(merchantId, absorbedId);
    if (!first) throw notFound(absorbedId);
    if (first.status !== "merged" || !first.merged_into) {
      throw new ApiError(409, "not_merged", `customer ${absorbedId} is not merged into another`);
    }
    const survivorId = first.merged_into;
    return this.bothLocked(survivorId, absorbedId, async () => {
      const absorbed = await this.customers.row(merchantId, absorbedId);
      if (absorbed?.status !== "merged" || absorbed.merged_into !== survivorId) {
        throw new ApiError(409, "not_merged", `customer ${absorbedId} is not merged into another`);
      }
      const survivor = await this.activeRow(merchantId, survivorId);
      const mine = await this.vault.latest(merchantId, survivorId);
      const record = mine.get(mergeField(absorbedId))?.value as MergeRecord | undefined;
      if (!record) throw new Error(`the merge of ${absorbedId} left no record in its survivor`);
      const value = (f: string) => mine.get(f)?.value;
      const writes: Write[] = [];
      const put = (field: string, v: JsonValue) =>
        writes.push({ field, value: v, salt: Vault.salt() });
      const channels = new Set<IdentityKind>();
      const indexKey = await this.vault.merchantIndexKey(merchantId);
      const released: { kind: string; hash: Uint8Array }[] = [];
      for (const kind of IDENTITY_KINDS) {
        const have = (value(kind) as string[] | undefined) ?? [];
        const back = record.moved[kind] ?? [];
        const keep = have.filter((v) => !back.includes(v));
        if (keep.length > 0) channels.add(kind);
        if (keep.length !== have.length) put(kind, keep);
        for (const v of back) {
          if (have.includes(v))
            released.push({ kind, hash: Vault.identityHash(indexKey, kind, v) });
        }
      }
      // A filled field goes back to empty, unless the survivor changed it since.
      let name: string | null | undefined;
      for (const [f, v] of Object.entries(record.filled)) {
        if (JSON.stringify(value(f)) === JSON.stringify(v)) {
          put(f, null);
          if (f === "name") name = null;
        }
      }
      put(mergeField(absorbedId), null);
      const facts: Partial<Facts> = {};
      const tags = survivor.facts.tags.filter((t) => !record.tags.includes(t));
      if (tags.length !== survivor.facts.tags.length) facts.tags = tags;
      const sorted = IDENTITY_KINDS.filter((k) => channels.has(k));
      if (JSON.stringify(sorted) !== JSON.stringify(survivor.facts.channels)) {
        facts.channels = sorted;
      }
      // The restored record takes its identifiers back: refused if one went elsewhere since.
      const restored = await this.vault.identityHashes(absorbedId);
      for (const h of restored) {
        const holder = await this.customers.ownerInDb(merchantId, h.kind, h.hash);
        if (holder && holder !== survivorId && holder !== absorbedId) {
          throw new ApiError(
            409,
            "identity_in_use",
            `another customer holds one of ${absorbedId}'s ${h.kind} identities now`,
            { customerId: holder, type: h.kind },
          );
        }
      }
      return this.write({
        type: CUSTOMER_UNMERGED,
        actor,
        merchantId,
        survivorId,
        otherId: absorbedId,
        payload: { restoredId: absorbedId },
        writes,
        facts,
        check: () => {
          this.customers.checkActive(survivorId);
          if (this.customers.merged.get(absorbedId) === null) {
            throw new ApiError(
              409,
              "not_merged",
              `customer ${absorbedId} is not merged into another`,
            );
          }
          // Read before the command was queued; a create staged since may have taken one.
          for (const h of restored) {
            const holder = this.customers.owners.get(ownerKey(merchantId, h.kind, h.hash));
            if (holder && holder !== survivorId && holder !== absorbedId) {
              throw new ApiError(
                409,
                "identity_in_use",
                `another customer holds one of ${absorbedId}'s ${h.kind} identities now`,
                { customerId: holder, type: h.kind },
              );
            }
          }
          this.customers.merged.set(absorbedId, null);
          for (const h of restored) {
            this.customers.owners.set(ownerKey(merchantId, h.kind, h.hash), absorbedId);
          }
        },
        statements: (time) => [
          // Undoing the merge says the two are not one person: the suggestion it settled is
          // dismissed by whoever unmerged, and can be reopened like any dismissed one.
          {
            sql: `UPDATE merge_suggestions SET status = 'dismissed', dismissed_by = $4,
               dismissed_at = $5
             WHERE merchant_id = $1 AND status = 'merged'
             AND ((customer_id = $2 AND other_id = $3) OR (customer_id = $3 AND other_id = $2))`,
            params: [merchantId, survivorId, absorbedId, actor, time],
          },
          ...released.flatMap((r) => [
            Vault.indexStatement(merchantId, survivorId, r.kind, r.hash, true),
            verifiedStatement(merchantId, survivorId, r.kind, r.hash, true),
          ]),
          ...(name === undefined
            ? []
            : Vault.nameIndexStatements(indexKey, merchantId, survivorId, name)),
        ],
      });
    });
  }

  /** The survivor's new field versions and facts, one entry naming both customers. */
  private async write(w: {
    type: string;
    actor: string;
    merchantId: string;
    survivorId: string;
    otherId: string;
    payload: Record<string, JsonValue>;
    writes: Write[];
    facts: Partial<Facts>;
    check: () => void;
    /** Run in the entry's transaction; `time` is the entry's. */
    statements: (time: string) => Statement[];
  }): Promise<CommittedEntry> {
    const key = await this.vault.customerKey(w.merchantId, w.survivorId);
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: w.type,
          actor: w.actor,
          parties: [
            { customer: w.survivorId },
            { customer: w.otherId },
            { merchant: w.merchantId },
          ],
          sealed: true,
          payload: (ctx) => {
            const version = Number(ctx.index);
            const fields: Record<string, string> = {};
            for (const f of w.writes) {
              fields[f.field] = b64(Vault.commit(w.survivorId, f.field, version, f.value, f.salt));
            }
            return {
              merchantId: w.merchantId,
              customerId: w.survivorId,
              ...w.payload,
              fields,
              facts: w.facts as unknown as JsonValue,
            };
          },
        },
      ],
      check: w.check,
      writes: (es) => {
        const version = Number(es[0]?.index);
        return [
          ...(key.store ? [key.store] : []),
          ...w.writes.map((f) => this.vault.sealField(key, f.field, version, f.value, f.salt)),
          ...w.statements(String(es[0]?.entry.time)),
        ];
      },
    });
    if (!entry) throw new Error("a merge committed no entry");
    return entry;
  }

  private async activeRow(merchantId: string, id: string): Promise<Row> {
    const row = await this.customers.row(merchantId, id);
    if (!row) throw notFound(id);
    if (row.status === "merged") throw mergedError(id, row.merged_into);
    if (row.status !== "active") throw erasedError(id);
    return row;
  }

  /** Both customers' writes wait for each other, always locked in one order. */
  private bothLocked<T>(a: string, b: string, fn: () => Promise<T>): Promise<T> {
    const [x, y] = a < b ? [a, b] : [b, a];
    return this.customers.locked(x, () => this.customers.locked(y, fn));
  }
}

const notFound = (id: string) => new ApiError(404, "not_found", `customer ${id} not found`);

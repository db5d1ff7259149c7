import type { JsonValue } from "@patron/ledger";
import { interactionField } from "../customers/interactions.js";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { newId } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import { Vault } from "../vault/vault.js";
import { HOLD_SHREDDED, POLICY_REMOVED, POLICY_SET, type PolicyPayload } from "./entries.js";

/** The profile fields a policy may keep (an invoice names the buyer and their address). */
export const HELD_FIELDS = ["name", "address", "email", "phone", "birthday"] as const;

export interface Policy {
  id: string;
  name: string;
  note: string;
  years: number;
  fields: string[];
  interactionKinds: string[];
}

/** What an erasure kept and why, as its entry says it (no personal values). */
export interface Kept {
  customerId: string;
  holdId: string;
  policyId: string;
  policy: string;
  until: string;
  values: number;
}

export interface RetentionPlan {
  kept: Kept[];
  /** The holds' rows, written in the erasure's transaction before the data key goes. */
  statements(erasedIndex: bigint): Statement[];
}

const addYears = (ms: number, years: number) => {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
};

/**
 * Retention holds: an erasure keeps what the law requires (invoices, say) under a key of its
 * own until the hold ends, then the key and the values are destroyed (crypto-shredding, like
 * the erasure itself). The erasure's entry says what it kept, under which policy, until when.
 */
export class Retention {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
  ) {}

  async policies(merchantId: string): Promise<Policy[]> {
    const { rows } = await this.db.query<{
      id: string;
      name: string;
      note: string;
      years: number;
      fields: string[] | string;
      interaction_kinds: string[] | string;
    }>(
      "SELECT id, name, note, years, fields, interaction_kinds FROM retention_policies WHERE merchant_id = $1 ORDER BY id",
      [merchantId],
    );
    const list = (v: string[] | string) => (typeof v === "string" ? JSON.parse(v) : v);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      note: r.note,
      years: Number(r.years),
      fields: list(r.fields),
      interactionKinds: list(r.interaction_kinds),
    }));
  }

  async setPolicy(merchantId: string, policy: Policy, actor: string): Promise<Policy> {
    const payload: PolicyPayload = { merchantId, policyId: policy.id, ...omitId(policy) };
    await this.sequencer.execute({
      entries: [
        {
          type: POLICY_SET,
          actor,
          parties: [{ merchant: merchantId }],
          sealed: true,
          payload: payload as unknown as JsonValue,
        },
      ],
    });
    return policy;
  }

  async removePolicy(merchantId: string, id: string, actor: string): Promise<void> {
    if (!(await this.policies(merchantId)).some((p) => p.id === id)) {
      throw new ApiError(404, "not_found", `no retention policy ${id}`);
    }
    await this.sequencer.execute({
      entries: [
        {
          type: POLICY_REMOVED,
          actor,
          parties: [{ merchant: merchantId }],
          sealed: true,
          payload: { merchantId, policyId: id },
        },
      ],
    });
  }

  /**
   * What an erasure of these records must keep: for each policy, the profile fields it names
   * and the texts of the interactions of its kinds within its years, each record's values under
   * a new hold key. The hold runs `years` from the last interaction it keeps (or from now).
   */
  async plan(merchantId: string, customerIds: readonly string[]): Promise<RetentionPlan> {
    const policies = await this.policies(merchantId);
    const now = this.clock.now();
    const kept: Kept[] = [];
    const rows: ((erasedIndex: bigint) => Statement[])[] = [];
    for (const policy of policies) {
      for (const customerId of customerIds) {
        const since = addYears(now, -policy.years).toISOString();
        const { rows: held } = await this.db.query<{ id: string; occurred_at: Date | string }>(
          `SELECT id, occurred_at FROM interactions
           WHERE merchant_id = $1 AND customer_id = $2 AND kind = ANY($3::text[]) AND occurred_at >= $4`,
          [merchantId, customerId, policy.interactionKinds, since],
        );
        // A policy on interactions keeps nothing for a customer who had none of them.
        if (policy.interactionKinds.length > 0 && held.length === 0) continue;
        const last = held.reduce((m, r) => Math.max(m, new Date(r.occurred_at).getTime()), 0);
        const until = addYears(held.length > 0 ? last : now, policy.years);
        const texts = new Set(held.map((r) => interactionField(r.id)));
        const history = await this.vault.history(merchantId, customerId).catch((err) => {
          if (err instanceof VaultError && err.code === "erased") return [];
          throw err;
        });
        const latest = new Map<string, (typeof history)[number]>();
        for (const v of history) {
          if (policy.fields.includes(v.field) || texts.has(v.field)) {
            const before = latest.get(v.field);
            if (!before || before.version < v.version) latest.set(v.field, v);
          }
        }
        if (latest.size === 0) continue;
        const holdId = newId("hold");
        const key = await this.vault.retentionKey(holdId);
        const sealed = [...latest.values()].map((v) => ({
          field: v.field,
          version: v.version,
          sealed: Vault.sealHeld(key.key, holdId, { customerId, ...v }),
        }));
        kept.push({
          customerId,
          holdId,
          policyId: policy.id,
          policy: policy.name,
          until: until.toISOString(),
          values: sealed.length,
        });
        rows.push((erasedIndex) => [
          {
            sql: `INSERT INTO retention_holds (id, merchant_id, customer_id, policy_id, until, master_key_id, wrapped, erased_idx)
              VALUES ($1, $2, $3, $4, $5, $6, decode($7, 'hex'), $8)`,
            params: [
              holdId,
              merchantId,
              customerId,
              policy.id,
              until.toISOString(),
              key.keyId,
              key.wrapped,
              erasedIndex.toString(),
            ],
          },
          ...sealed.map(
            (s): Statement => ({
              sql: `INSERT INTO retention_values (hold_id, customer_id, field, version, sealed)
                VALUES ($1, $2, $3, $4, $5)`,
              params: [holdId, customerId, s.field, s.version, s.sealed],
              bulk: true,
            }),
          ),
        ]);
      }
    }
    return { kept, statements: (i) => rows.flatMap((f) => f(i)) };
  }

  /** A customer's holds (what was kept, until when; never the values). */
  async holds(merchantId: string, customerId: string) {
    const { rows } = await this.db.query<{
      id: string;
      policy_id: string;
      until: Date | string;
      shredded_idx: string | number | null;
      erased_idx: string | number;
      n: string | number;
    }>(
      `SELECT h.id, h.policy_id, h.until, h.shredded_idx, h.erased_idx,
         (SELECT count(*) FROM retention_values v WHERE v.hold_id = h.id) AS n
       FROM retention_holds h WHERE h.merchant_id = $1 AND h.customer_id = $2 ORDER BY h.id`,
      [merchantId, customerId],
    );
    return rows.map((r) => ({
      id: r.id,
      policyId: r.policy_id,
      until: new Date(r.until).toISOString(),
      values: Number(r.n),
      erasedIndex: Number(r.erased_idx),
      shreddedIndex: r.shredded_idx === null ? null : Number(r.shredded_idx),
    }));
  }

  /** The values a hold keeps, decrypted, for the merchant's legal obligation. */
  async open(merchantId: string, holdId: string) {
    const { rows } = await this.db.query<{
      customer_id: string;
      master_key_id: string;
      wrapped: string | null;
    }>(
      `SELECT customer_id, master_key_id, encode(wrapped, 'hex') AS wrapped FROM retention_holds
       WHERE id = $1 AND merchant_id = $2`,
      [holdId, merchantId],
    );
    const h = rows[0];
    if (!h) throw new ApiError(404, "not_found", `no retention hold ${holdId}`);
    if (h.wrapped === null) {
      throw new ApiError(410, "shredded", `hold ${holdId} ended: its records were destroyed`);
    }
    const { rows: values } = await this.db.query<{
      customer_id: string;
      field: string;
      version: string | number;
      sealed: Uint8Array;
    }>(
      "SELECT customer_id, field, version, sealed FROM retention_values WHERE hold_id = $1 ORDER BY field, version",
      [holdId],
    );
    const opened = await this.vault.openHeld(
      { id: holdId, masterKeyId: h.master_key_id, wrapped: h.wrapped },
      values.map((v) => ({
        customerId: v.customer_id,
        field: v.field,
        version: Number(v.version),
        sealed: new Uint8Array(v.sealed),
      })),
    );
    return { customerId: h.customer_id, values: opened };
  }

  /** Destroys every hold that has ended: one entry each on the customer's chain. */
  async sweep(actor: string): Promise<number> {
    const { rows } = await this.db.query<{ id: string; merchant_id: string; customer_id: string }>(
      `SELECT id, merchant_id, customer_id FROM retention_holds
       WHERE wrapped IS NOT NULL AND until <= $1 ORDER BY until LIMIT 100`,
      [new Date(this.clock.now()).toISOString()],
    );
    for (const h of rows) {
      await this.sequencer.execute({
        entries: [
          {
            type: HOLD_SHREDDED,
            actor,
            parties: [{ customer: h.customer_id }, { merchant: h.merchant_id }],
            sealed: true,
            payload: { merchantId: h.merchant_id, customerId: h.customer_id, holdId: h.id },
          },
        ],
        writes: (es) => [
          { sql: "DELETE FROM retention_values WHERE hold_id = $1", params: [h.id] },
          {
            sql: `UPDATE retention_holds SET wrapped = NULL, master_key_id = '', shredded_idx = $2
              WHERE id = $1`,
            params: [h.id, String(es[0]?.index)],
          },
        ],
      });
    }
    return rows.length;
  }
}

function omitId(p: Policy): Omit<Policy, "id"> {
  const { id: _id, ...rest } = p;
  return rest;
}

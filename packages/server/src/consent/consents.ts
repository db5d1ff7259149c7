import type { JsonValue } from "@patron/ledger";
import type { Customers } from "../customers/customers.js";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { CheckContext, CommandDraft, CommittedEntry, Sequencer } from "../ledger/sequencer.js";
import type { Category } from "../privacy/access-log.js";
import type { ConsentGuard } from "../privacy/data-use.js";
import type { ConsentPurpose } from "../privacy/purposes.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import { newId } from "../tenancy/tenancy.js";
import { type CustomerKey, Vault } from "../vault/vault.js";
import {
  CONSENT_GRANTED,
  CONSENT_LAPSED,
  CONSENT_NARROWED,
  CONSENT_REVOKED,
  type ConsentCategory,
  type Evidence,
  type GrantedPayload,
  type LapsedPayload,
  type Method,
  type NarrowedPayload,
  type RevokedPayload,
  type RevokeReason,
  type StaffMethod,
} from "./entries.js";
import { type ConsentRow, type ConsentState, ConsentStates, parsed, ROW_COLUMNS } from "./state.js";

/** The longest a consent may run: consent is time-limited, and renewed by asking again. */
export const MAX_CONSENT_MS = 5 * 366 * 24 * 3_600_000;
/** The vault field a keyless consent's text rests in; its version is the grant's entry index. */
export const TEXT_FIELD = "consent_text";
/** The actor of entries the node writes on its own (lapses, auto-revocations). */
export const SWEEP_ACTOR = "node:consent-sweep";

/** What a consent grants, as a grant names it. */
export interface Terms {
  grantee: string;
  purposes: ConsentPurpose[];
  categories: ConsentCategory[];
  /** ms; omitted: from the grant's own time. */
  validFrom?: number;
  validUntil: number;
  revokeOn: string[];
}

/** The text shown to a customer without a key, to rest in the vault under their key. */
export interface ShownText {
  text: string;
  textVersion: string;
  /** ms */
  shownAt: number;
  requestId?: string;
  requestedBy?: string;
  confirmedAt?: number;
}

export interface Narrowing {
  purposes?: ConsentPurpose[];
  categories?: ConsentCategory[];
  validUntil?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const sorted = <T extends string>(xs: readonly T[]) => [...new Set(xs)].sort() as T[];

/**
 * Consent (issue 8, decision 11): the drafts of grant, narrow, revoke and lapse, checked in the
 * sequencer against staged state; whether consents hold for a use (the ConsentGuard of
 * `DataUse.record`); and the sweep that writes lapses and auto-revocations as entries.
 */
export class Consents implements ConsentGuard {
  private static readonly instances = new WeakMap<Sequencer, Consents>();
  readonly states: ConsentStates;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
    private readonly customers: Customers,
    private readonly tenancy: Tenancy,
  ) {
    this.states = new ConsentStates(db, sequencer);
    Consents.instances.set(sequencer, this);
  }

  /** The node's consents, for tools and tests that hold only the ledger (the sweep). */
  static of(sequencer: Sequencer): Consents | undefined {
    return Consents.instances.get(sequencer);
  }

  /**
   * Refuses terms no consent can have, before anything is queued: an unknown grantee, an end
   * not after the start, or further than MAX_CONSENT_MS ahead. (The end is checked against the
   * sequencer's time again when the grant is sequenced.)
   */
  async checkTerms(t: Terms): Promise<void> {
    if (!(await this.tenancy.merchant(t.grantee))) {
      throw new ApiError(400, "unknown_grantee", `no merchant ${t.grantee} to grant consent to`);
    }
    const now = this.clock.now();
    if (t.validFrom !== undefined && t.validFrom >= t.validUntil) {
      throw new ApiError(400, "invalid_validity", "validFrom must be before validUntil");
    }
    if (t.validUntil <= now) {
      throw new ApiError(400, "invalid_validity", "validUntil must be in the future");
    }
    if (t.validUntil - now > MAX_CONSENT_MS) {
      throw new ApiError(400, "invalid_validity", "a consent may run at most five years");
    }
  }

  /** Refuses a customer this merchant does not have active (erased, merged or unknown). */
  async checkCustomer(merchantId: string, customerId: string): Promise<void> {
    const status = await this.customers.status(merchantId, customerId);
    if (!status) throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    if (status !== "active") {
      throw new ApiError(409, `customer_${status}`, `customer ${customerId} is ${status}`);
    }
  }

  /**
   * A grant: one sealed entry on the customer's and the merchant's chains. With `shown` (a
   * keyless consent) the text goes to the vault under the customer's key, in the entry's batch,
   * and the entry carries its commitment.
   */
  async grant(g: {
    merchantId: string;
    customerId: string;
    actor: string;
    terms: Terms;
    method: Method;
    shown?: ShownText;
  }): Promise<{ consentId: string; draft: CommandDraft }> {
    const { merchantId, customerId, terms } = g;
    const consentId = newId("cn");
    let text: { key: CustomerKey; value: JsonValue; salt: Uint8Array } | undefined;
    if (g.shown) {
      text = {
        key: await this.vault.customerKey(merchantId, customerId),
        value: { text: g.shown.text, textVersion: g.shown.textVersion },
        salt: Vault.salt(),
      };
    }
    let validFrom = 0;
    const draft: CommandDraft = {
      entries: [
        {
          type: CONSENT_GRANTED,
          actor: g.actor,
          parties: [{ customer: customerId }, { merchant: merchantId }],
          sealed: true,
          payload: (ctx: CheckContext) => {
            const p: GrantedPayload = {
              merchantId,
              customerId,
              consentId,
              grantee: terms.grantee,
              purposes: sorted(terms.purposes),
              categories: sorted(terms.categories),
              validFrom: iso(validFrom),
              validUntil: iso(terms.validUntil),
              revokeOn: sorted(terms.revokeOn),
              method: g.method,
            };
            if (g.shown && text) {
              const version = Number(ctx.index);
              const evidence: Evidence = {
                textVersion: g.shown.textVersion,
                text: b64(Vault.commit(customerId, TEXT_FIELD, version, text.value, text.salt)),
                shownAt: iso(g.shown.shownAt),
                ...(g.shown.requestId ? { requestId: g.shown.requestId } : {}),
                ...(g.shown.requestedBy ? { requestedBy: g.shown.requestedBy } : {}),
                ...(g.shown.confirmedAt ? { confirmedAt: iso(g.shown.confirmedAt) } : {}),
              };
              p.evidence = evidence;
            }
            return p as unknown as JsonValue;
          },
        },
      ],
      check: (ctx) => {
        this.customers.checkActive(customerId);
        if (terms.validUntil <= ctx.time) {
          throw new ApiError(400, "invalid_validity", "validUntil must be in the future");
        }
        // A consent exists from its entry on: an earlier validFrom means "from now".
        validFrom = Math.max(terms.validFrom ?? ctx.time, ctx.time);
        this.states.stage({
          id: consentId,
          merchantId,
          customerId,
          grantee: terms.grantee,
          purposes: sorted(terms.purposes),
          categories: sorted(terms.categories),
          validFrom,
          validUntil: terms.validUntil,
          revokeOn: sorted(terms.revokeOn),
          status: "active",
          grantedIdx: ctx.index,
        });
      },
      writes: text
        ? (es: CommittedEntry[]) => {
            const t = text as NonNullable<typeof text>;
            return [
              this.vault.sealField(t.key, TEXT_FIELD, Number(es[0]?.index), t.value, t.salt),
            ] satisfies Statement[];
          }
        : undefined,
    };
    return { consentId, draft };
  }

  /**
   * A narrower consent under the same id (so a partner's reference stays): every purpose and
   * category a subset, the end no later, and something actually narrower.
   */
  narrow(n: {
    merchantId: string;
    customerId?: string;
    consentId: string;
    actor: string;
    change: Narrowing;
    reason: NarrowedPayload["reason"];
  }): CommandDraft {
    let payload: NarrowedPayload | undefined;
    return {
      entries: [
        {
          type: CONSENT_NARROWED,
          actor: n.actor,
          parties: [], // set in check: the consent names its customer
          sealed: true,
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const s = await this.states.active(n.consentId, n.merchantId, n.customerId, ctx.time);
        const purposes = sorted(n.change.purposes ?? s.purposes);
        const categories = sorted(n.change.categories ?? s.categories);
        const validUntil = n.change.validUntil ?? s.validUntil;
        const within = <T>(xs: T[], of: T[]) => xs.every((x) => of.includes(x));
        if (!within(purposes, s.purposes) || !within(categories, s.categories)) {
          throw new ApiError(
            400,
            "not_narrower",
            "a narrowed consent keeps a subset of its purposes and categories: widening is a new grant",
          );
        }
        if (validUntil > s.validUntil) {
          throw new ApiError(400, "not_narrower", "a narrowed consent cannot end later");
        }
        if (validUntil <= ctx.time) {
          throw new ApiError(
            400,
            "invalid_validity",
            "validUntil must be in the future: revoke instead",
          );
        }
        if (
          purposes.length === s.purposes.length &&
          categories.length === s.categories.length &&
          validUntil === s.validUntil
        ) {
          throw new ApiError(400, "not_narrower", "the change leaves the consent as it is");
        }
        payload = {
          merchantId: n.merchantId,
          customerId: s.customerId,
          consentId: s.id,
          purposes,
          categories,
          validUntil: iso(validUntil),
          reason: n.reason,
        };
        this.states.stage({ ...s, purposes, categories, validUntil });
      },
    };
  }

  /** Ends a consent: revoked (for a reason) or lapsed. Refused when it has ended already. */
  end(e: {
    merchantId: string;
    customerId?: string;
    consentId: string;
    actor: string;
    lapse?: boolean;
    reason?: RevokeReason;
    trigger?: bigint;
    method?: StaffMethod;
  }): CommandDraft {
    let payload: RevokedPayload | LapsedPayload | undefined;
    return {
      entries: [
        {
          type: e.lapse ? CONSENT_LAPSED : CONSENT_REVOKED,
          actor: e.actor,
          parties: [],
          sealed: true,
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const s = await this.states.get(e.consentId, true);
        if (
          !s ||
          s.merchantId !== e.merchantId ||
          (e.customerId && s.customerId !== e.customerId)
        ) {
          throw new ApiError(404, "not_found", `consent ${e.consentId} not found`);
        }
        if (s.status !== "active") {
          throw new ApiError(409, "consent_ended", `consent ${e.consentId} is ${s.status}`);
        }
        const base = { merchantId: s.merchantId, customerId: s.customerId, consentId: s.id };
        if (e.lapse) {
          if (s.validUntil > ctx.time) throw new ApiError(409, "not_due", "not past its end yet");
          payload = { ...base, validUntil: iso(s.validUntil) };
          this.states.stage({ ...s, status: "lapsed" });
          return;
        }
        if (s.validUntil <= ctx.time) {
          throw new ApiError(409, "consent_ended", `consent ${e.consentId} has lapsed`);
        }
        payload = {
          ...base,
          reason: e.reason ?? "customer",
          ...(e.trigger !== undefined ? { trigger: Number(e.trigger) } : {}),
          ...(e.method ? { method: e.method } : {}),
        };
        this.states.stage({ ...s, status: "revoked" });
      },
    };
  }

  /**
   * Runs a narrow or end draft: its parties are the consent's customer and merchant, known
   * only from the consent, so they are read before it is queued (a consent never changes hands).
   */
  async execute(draft: CommandDraft, consentId: string): Promise<CommittedEntry[]> {
    const s = await this.states.get(consentId, false);
    if (!s) throw new ApiError(404, "not_found", `consent ${consentId} not found`);
    for (const e of draft.entries)
      e.parties = [{ customer: s.customerId }, { merchant: s.merchantId }];
    return this.sequencer.execute(draft);
  }

  /**
   * The consent's row. With `merchantId`, only when that merchant holds it or is its grantee;
   * without, for the two lookups that start from the id alone: a partner's read (whose refusal
   * is recorded at the holder) and an unsubscribe link.
   */
  async row(id: string, merchantId?: string): Promise<ConsentRow | undefined> {
    const { rows } = await this.db.query<ConsentRow>(
      `SELECT ${ROW_COLUMNS} FROM consents WHERE id = $1
       ${merchantId === undefined ? "" : "AND (merchant_id = $2 OR grantee = $2)"}`,
      merchantId === undefined ? [id] : [id, merchantId],
    );
    return rows[0];
  }

  /**
   * The entry that revokes each of these consents by their `revokeOn`: the first entry of a
   * named type about the customer after the grant. Read from the log itself, so a use is
   * refused from the trigger's commit on, before the sweep writes the revocation.
   */
  async triggers(merchantId: string | undefined, ids?: string[]): Promise<Map<string, bigint>> {
    const params: unknown[] = [];
    let where = "c.status = 'active' AND c.revoke_on <> '[]'::jsonb";
    if (merchantId !== undefined) {
      params.push(merchantId);
      where += ` AND c.merchant_id = $${params.length}`;
    }
    if (ids) {
      if (ids.length === 0) return new Map();
      params.push(ids);
      where += ` AND c.id = ANY($${params.length}::text[])`;
    }
    const { rows } = await this.db.query<{ id: string; trigger: string | number }>(
      `SELECT c.id, min(s.idx)::text AS trigger FROM consents c
       JOIN ledger_subjects s ON s.party = c.customer_id AND s.idx > c.granted_idx
       JOIN ledger_entries e ON e.idx = s.idx
       WHERE ${where} AND c.revoke_on @> jsonb_build_array(e.type)
       GROUP BY c.id`,
      params,
    );
    return new Map(rows.map((r) => [r.id, BigInt(r.trigger)]));
  }

  /** ConsentGuard: the consent to this merchant that covers each customer's use now. */
  async covering(
    merchantId: string,
    purpose: string,
    customerIds: readonly string[],
    categories: readonly Category[],
  ): Promise<Map<string, string>> {
    const now = iso(this.clock.now());
    const { rows } = await this.db.query<{ id: string; customer_id: string; revoke_on: unknown }>(
      `SELECT id, customer_id, revoke_on FROM consents
       WHERE merchant_id = $1 AND grantee = $1 AND customer_id = ANY($2::text[])
         AND status = 'active' AND valid_from <= $3 AND valid_until > $3
         AND purposes @> $4::jsonb AND categories @> $5::jsonb
       ORDER BY granted_idx DESC`,
      [
        merchantId,
        [...customerIds],
        now,
        JSON.stringify([purpose]),
        JSON.stringify([...categories]),
      ],
    );
    const watched = rows.filter((r) => parsed(r.revoke_on as string | string[]).length > 0);
    const fired = await this.triggers(
      merchantId,
      watched.map((r) => r.id),
    );
    const out = new Map<string, string>();
    for (const r of rows) {
      if (!fired.has(r.id) && !out.has(r.customer_id)) out.set(r.customer_id, r.id);
    }
    return out;
  }

  /**
   * Writes what time and events decided: a `consent.lapsed` for each consent past its end, a
   * `consent.revoked` (reason `event`) for each whose revokeOn entry was written, and one
   * (reason `erased`) for each whose customer was erased. Each is its own command, checked
   * against staged state, so a consent revoked meanwhile is skipped. Returns how many it wrote.
   */
  async sweep(): Promise<number> {
    const now = iso(this.clock.now());
    const { rows: due } = await this.db.query<ConsentRow>(
      `SELECT ${ROW_COLUMNS} FROM consents WHERE status = 'active' AND valid_until <= $1
       ORDER BY valid_until LIMIT 1000`,
      [now],
    );
    const { rows: erased } = await this.db.query<{ id: string; entry_idx: string | number }>(
      `SELECT c.id, cu.entry_idx FROM consents c
       JOIN customers cu ON cu.id = c.customer_id AND cu.merchant_id = c.merchant_id
       WHERE c.status = 'active' AND cu.status = 'erased' LIMIT 1000`,
    );
    const fired = await this.triggers(undefined);
    const lapsing = new Set(due.map((r) => r.id));
    const drafts: [string, CommandDraft][] = [];
    for (const r of due) {
      drafts.push([
        r.id,
        this.end({ merchantId: r.merchant_id, consentId: r.id, actor: SWEEP_ACTOR, lapse: true }),
      ]);
    }
    for (const r of erased) {
      if (lapsing.has(r.id)) continue;
      lapsing.add(r.id);
      const s = (await this.states.get(r.id, false)) as ConsentState;
      drafts.push([
        r.id,
        this.end({
          merchantId: s.merchantId,
          consentId: r.id,
          actor: SWEEP_ACTOR,
          reason: "erased",
          trigger: BigInt(r.entry_idx),
        }),
      ]);
    }
    for (const [id, trigger] of fired) {
      if (lapsing.has(id)) continue;
      const s = await this.states.get(id, false);
      if (!s) continue;
      drafts.push([
        id,
        this.end({
          merchantId: s.merchantId,
          consentId: id,
          actor: SWEEP_ACTOR,
          reason: "event",
          trigger,
        }),
      ]);
    }
    // Together, so they share batches; one that a concurrent command ended first is skipped.
    const results = await Promise.allSettled(drafts.map(([id, d]) => this.execute(d, id)));
    return results.filter((r) => r.status === "fulfilled").length;
  }
}

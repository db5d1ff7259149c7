import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";
import type { ConsentPurpose } from "../privacy/purposes.js";

/** A customer consents: to this merchant or a named partner, for purposes and categories. */
export const CONSENT_GRANTED = "consent.granted";
/** Fewer purposes or categories, or an earlier end: the same consent, narrower. */
export const CONSENT_NARROWED = "consent.narrowed";
/** Withdrawn by the customer, by staff on their word, by an unsubscribe, or by a named event. */
export const CONSENT_REVOKED = "consent.revoked";
/** Its `validUntil` passed (written by the sweep, on the injected clock). */
export const CONSENT_LAPSED = "consent.lapsed";

export const CONSENT_ENTRY_TYPES = [
  CONSENT_GRANTED,
  CONSENT_NARROWED,
  CONSENT_REVOKED,
  CONSENT_LAPSED,
] as const;

/**
 * The data categories a consent can cover: those of access records (privacy/access-log.ts)
 * but for staff notes, which are the merchant's own and never shared.
 */
export const CONSENT_CATEGORIES = [
  "contact",
  "demographics",
  "purchase_history",
  "loyalty",
  "interactions",
] as const;
export type ConsentCategory = (typeof CONSENT_CATEGORIES)[number];

/** How consent was given: signed with the customer's key, or recorded by staff with evidence. */
export const SIGNED = "signature";
export const STAFF_METHODS = ["till", "web_form", "phone", "paper", "double_opt_in"] as const;
export type StaffMethod = (typeof STAFF_METHODS)[number];
export type Method = typeof SIGNED | StaffMethod;

export const REVOKE_REASONS = ["customer", "staff", "event", "unsubscribe", "erased"] as const;
export type RevokeReason = (typeof REVOKE_REASONS)[number];

/** What a keyless consent's record keeps as evidence; the text itself rests in the vault. */
export interface Evidence {
  /** The version label of the text shown (such as `marketing-2026-03`). */
  textVersion: string;
  /**
   * base64url commitment to `{text, textVersion}`: `Vault.commit(customer, "consent_text",
   * <this entry's index>, value, salt)`, the value and salt sealed in the vault.
   */
  text: string;
  /** When the text was shown (RFC 3339). */
  shownAt: string;
  /** Double opt-in: the request, who made it and when the link confirmed it. */
  requestId?: string;
  requestedBy?: string;
  confirmedAt?: string;
}

export interface GrantedPayload {
  merchantId: string;
  customerId: string;
  consentId: string;
  grantee: string;
  purposes: ConsentPurpose[];
  categories: ConsentCategory[];
  validFrom: string;
  validUntil: string;
  /** Entry types that revoke it when one about the customer is written after it. */
  revokeOn: string[];
  method: Method;
  evidence?: Evidence;
}

export interface NarrowedPayload {
  merchantId: string;
  customerId: string;
  consentId: string;
  purposes: ConsentPurpose[];
  categories: ConsentCategory[];
  validUntil: string;
  reason: "customer" | "unsubscribe";
}

export interface RevokedPayload {
  merchantId: string;
  customerId: string;
  consentId: string;
  reason: RevokeReason;
  /** reason `event` or `erased`: the entry that revoked it. */
  trigger?: number;
  /** reason `staff`: how the customer withdrew (at the till, by phone…). */
  method?: StaffMethod;
}

export interface LapsedPayload {
  merchantId: string;
  customerId: string;
  consentId: string;
  validUntil: string;
}

const json = (v: unknown) => JSON.stringify(v);

/** The consents table: each consent's latest state, a function of its entries alone. */
export const consentsProjector: Projector = {
  types: CONSENT_ENTRY_TYPES,
  tables: ["consents"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e): Statement => {
      const idx = e.index.toString();
      const time = e.entry.time;
      switch (e.entry.type) {
        case CONSENT_GRANTED: {
          const p = e.entry.payload as unknown as GrantedPayload;
          return {
            sql: `INSERT INTO consents (id, merchant_id, customer_id, grantee, purposes, categories,
               valid_from, valid_until, revoke_on, method, evidence, actor, status, granted_idx,
               granted_at, entry_idx)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9::jsonb, $10, $11::jsonb, $12,
               'active', $13, $14, $13)`,
            params: [
              p.consentId,
              p.merchantId,
              p.customerId,
              p.grantee,
              json(p.purposes),
              json(p.categories),
              p.validFrom,
              p.validUntil,
              json(p.revokeOn),
              p.method,
              p.evidence ? json(p.evidence) : null,
              e.entry.actor,
              idx,
              time,
            ],
          };
        }
        case CONSENT_NARROWED: {
          const p = e.entry.payload as unknown as NarrowedPayload;
          return {
            sql: `UPDATE consents SET purposes = $3::jsonb, categories = $4::jsonb, valid_until = $5,
               entry_idx = $6 WHERE id = $1 AND merchant_id = $2`,
            params: [
              p.consentId,
              p.merchantId,
              json(p.purposes),
              json(p.categories),
              p.validUntil,
              idx,
            ],
          };
        }
        default: {
          const p = e.entry.payload as unknown as RevokedPayload | LapsedPayload;
          const revoked = e.entry.type === CONSENT_REVOKED;
          return {
            sql: `UPDATE consents SET status = $3, ended_reason = $4, ended_at = $5, entry_idx = $6
             WHERE id = $1 AND merchant_id = $2`,
            params: [
              p.consentId,
              p.merchantId,
              revoked ? "revoked" : "lapsed",
              revoked ? (p as RevokedPayload).reason : "expired",
              time,
              idx,
            ],
          };
        }
      }
    });
  },
};

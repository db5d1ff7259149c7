import type { Entry } from "@patron/ledger";
import type { Statement } from "../db/database.js";
import type { EntryTypeSpec } from "../domain.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";

export const POLICY_SET = "retention.policy_set";
export const POLICY_REMOVED = "retention.policy_removed";
/** A hold ended: its key and values are destroyed. */
export const HOLD_SHREDDED = "retention.shredded";
export const REQUEST_RECEIVED = "request.received";
export const REQUEST_VERIFIED = "request.verified";
export const REQUEST_EXTENDED = "request.extended";
export const REQUEST_CLOSED = "request.closed";

export const REQUEST_KINDS = ["access", "export", "rectification", "erasure"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_CHANNELS = ["portal", "email", "staff", "post", "phone", "in_person"] as const;
/** How the requester's identity was checked (the portal's signature is one). */
export const IDENTITY_CHECKS = [
  "key_signature",
  "id_document",
  "in_person",
  "verified_email",
  "verified_phone",
  "security_questions",
] as const;
/** Art. 12(3): an extension is for complex or numerous requests. */
export const EXTENSION_REASONS = ["complexity", "number_of_requests"] as const;
/** Art. 12(5), 11(2): why a request may be refused. */
export const REJECTION_REASONS = [
  "identity_not_verified",
  "manifestly_unfounded",
  "excessive",
  "no_such_data",
] as const;

export interface PolicyPayload {
  merchantId: string;
  policyId: string;
  name: string;
  /** The law or rule that requires keeping (no personal data: the merchant's own words). */
  note: string;
  years: number;
  fields: string[];
  interactionKinds: string[];
}

export interface RequestPayload {
  merchantId: string;
  customerId: string;
  requestId: string;
  kind?: RequestKind;
  channel?: string;
  checks?: string[];
  dueAt?: string;
  reason?: string;
  outcome?: "completed" | "rejected";
  /** The entry that carried the request out (the erasure, the rectification). */
  entryIndex?: number;
}

const p = (e: Pick<Entry, "payload">) => e.payload as Record<string, unknown>;
const merchantOnly = (e: Pick<Entry, "payload">) =>
  typeof p(e)?.merchantId === "string" ? [{ merchant: p(e).merchantId as string }] : [];
const customerAndMerchant = (e: Pick<Entry, "payload">) =>
  typeof p(e)?.customerId === "string" && typeof p(e).merchantId === "string"
    ? [{ customer: p(e).customerId as string }, { merchant: p(e).merchantId as string }]
    : [];

export const rightsEntryTypes: EntryTypeSpec[] = [
  ...[POLICY_SET, POLICY_REMOVED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: merchantOnly,
  })),
  ...[HOLD_SHREDDED, REQUEST_RECEIVED, REQUEST_VERIFIED, REQUEST_EXTENDED, REQUEST_CLOSED].map(
    (type) => ({ type, sealing: "sealed" as const, parties: customerAndMerchant }),
  ),
];

/** `retention_policies`, from the policy entries. */
export const policiesProjector: Projector = {
  types: [POLICY_SET, POLICY_REMOVED],
  tables: ["retention_policies"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e) => {
      const x = e.entry.payload as unknown as PolicyPayload;
      if (e.entry.type === POLICY_REMOVED) {
        return {
          sql: "DELETE FROM retention_policies WHERE id = $1 AND merchant_id = $2",
          params: [x.policyId, x.merchantId],
        };
      }
      return {
        sql: `INSERT INTO retention_policies (id, merchant_id, name, note, years, fields, interaction_kinds, entry_idx)
          VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)
          ON CONFLICT (id) DO UPDATE SET name = $3, note = $4, years = $5, fields = $6::jsonb,
            interaction_kinds = $7::jsonb, entry_idx = $8`,
        params: [
          x.policyId,
          x.merchantId,
          x.name,
          x.note,
          x.years,
          JSON.stringify(x.fields),
          JSON.stringify(x.interactionKinds),
          e.index.toString(),
        ],
      };
    });
  },
};

/** `subject_requests`, from the request entries. */
export const requestsProjector: Projector = {
  types: [REQUEST_RECEIVED, REQUEST_VERIFIED, REQUEST_EXTENDED, REQUEST_CLOSED],
  tables: ["subject_requests"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e) => {
      const x = e.entry.payload as unknown as RequestPayload;
      const idx = e.index.toString();
      const where = "WHERE id = $1 AND merchant_id = $2";
      switch (e.entry.type) {
        case REQUEST_RECEIVED: {
          const verified = (x.checks ?? []).length > 0;
          return {
            sql: `INSERT INTO subject_requests (id, merchant_id, customer_id, kind, channel, status, checks,
                received_at, due_at, received_idx, entry_idx)
              VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $10)`,
            params: [
              x.requestId,
              x.merchantId,
              x.customerId,
              x.kind,
              x.channel,
              verified ? "verified" : "received",
              JSON.stringify(x.checks ?? []),
              e.entry.time,
              x.dueAt,
              idx,
            ],
          };
        }
        case REQUEST_VERIFIED:
          return {
            sql: `UPDATE subject_requests SET status = 'verified', checks = $3::jsonb, entry_idx = $4 ${where}`,
            params: [x.requestId, x.merchantId, JSON.stringify(x.checks ?? []), idx],
          };
        case REQUEST_EXTENDED:
          return {
            sql: `UPDATE subject_requests SET due_at = $3, extended = true, entry_idx = $4 ${where}`,
            params: [x.requestId, x.merchantId, x.dueAt, idx],
          };
        default:
          return {
            sql: `UPDATE subject_requests SET status = $3, outcome = $4, closed_at = $5, entry_idx = $6 ${where}`,
            params: [x.requestId, x.merchantId, x.outcome, x.reason ?? null, e.entry.time, idx],
          };
      }
    });
  },
};

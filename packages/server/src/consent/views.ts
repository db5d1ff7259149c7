import { z } from "zod";
import { CONSENT_PURPOSES } from "../privacy/purposes.js";
import { CONSENT_CATEGORIES, REVOKE_REASONS, SIGNED, STAFF_METHODS } from "./entries.js";
import type { ReceiptFacts } from "./issuer.js";
import { type ConsentRow, parsed } from "./state.js";

/**
 * A consent's status as of now: `scheduled` before validFrom, `lapsed` from validUntil on even
 * before the sweep has written its entry. (An auto-revocation shows once the sweep wrote it;
 * uses are refused from the triggering entry on.)
 */
export const STATUSES = ["scheduled", "active", "lapsed", "revoked"] as const;
export type EffectiveStatus = (typeof STATUSES)[number];

export function statusOf(r: ConsentRow, now: number): EffectiveStatus {
  if (r.status !== "active") return r.status;
  if (new Date(r.valid_until).getTime() <= now) return "lapsed";
  if (new Date(r.valid_from).getTime() > now) return "scheduled";
  return "active";
}

const EvidenceView = z
  .object({
    textVersion: z.string(),
    text: z.string().describe("base64url commitment to {text, textVersion}; both in the vault"),
    shownAt: z.string(),
    requestId: z.string().optional(),
    requestedBy: z.string().optional(),
    confirmedAt: z.string().optional(),
  })
  .nullable()
  .describe(
    "a keyless consent's evidence; null when the customer signed it (the entry keeps the command)",
  );

/** A consent as the merchant holding the customer's data sees it. */
export const ConsentView = z.object({
  id: z.string(),
  merchantId: z.string().describe("the merchant holding the data (the controller)"),
  customerId: z.string(),
  grantee: z.string().describe("the merchant the consent is to"),
  purposes: z.array(z.enum(CONSENT_PURPOSES)),
  categories: z.array(z.enum(CONSENT_CATEGORIES)),
  validFrom: z.string(),
  validUntil: z.string(),
  revokeOn: z.array(z.string()),
  method: z.enum([SIGNED, ...STAFF_METHODS]),
  evidence: EvidenceView,
  recordedBy: z.string().describe("the customer's did:key, a staff actor, or the node"),
  status: z.enum(STATUSES),
  endedReason: z.enum([...REVOKE_REASONS, "expired"]).nullable(),
  endedAt: z.string().nullable(),
  grantedAt: z.string(),
  entryIndex: z.number().describe("the consent.granted entry"),
  lastEntryIndex: z.number().describe("its latest entry (narrowed, revoked, lapsed)"),
});
export type ConsentView = z.infer<typeof ConsentView>;

/** What a grantee sees: the terms, not the customer's id at the holder nor the evidence. */
export const GranteeConsentView = ConsentView.omit({
  customerId: true,
  evidence: true,
  recordedBy: true,
});

const time = (v: string | Date) => new Date(v).toISOString();

export function toView(r: ConsentRow, now: number): ConsentView {
  return {
    id: r.id,
    merchantId: r.merchant_id,
    customerId: r.customer_id,
    grantee: r.grantee,
    purposes: parsed(r.purposes),
    categories: parsed(r.categories),
    validFrom: time(r.valid_from),
    validUntil: time(r.valid_until),
    revokeOn: parsed(r.revoke_on),
    method: r.method as ConsentView["method"],
    evidence: (r.evidence === null ? null : parsed(r.evidence)) as ConsentView["evidence"],
    recordedBy: r.actor,
    status: statusOf(r, now),
    endedReason: r.ended_reason as ConsentView["endedReason"],
    endedAt: r.ended_at === null ? null : time(r.ended_at),
    grantedAt: time(r.granted_at),
    entryIndex: Number(r.granted_idx),
    lastEntryIndex: Number(r.entry_idx),
  };
}

export function granteeView(v: ConsentView): z.infer<typeof GranteeConsentView> {
  const { customerId: _c, evidence: _e, recordedBy: _r, ...rest } = v;
  return rest;
}

export function receiptFacts(v: ConsentView): ReceiptFacts {
  return {
    consentId: v.id,
    merchantId: v.merchantId,
    grantee: v.grantee,
    purposes: v.purposes,
    categories: v.categories,
    validFrom: v.validFrom,
    validUntil: v.validUntil,
    status: v.status,
    method: v.method,
    ...(v.method === SIGNED ? { signer: v.recordedBy } : {}),
    entryIndex: v.entryIndex,
    ...(v.evidence ? { textVersion: v.evidence.textVersion, textCommitment: v.evidence.text } : {}),
  };
}

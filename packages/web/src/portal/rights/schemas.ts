import { z } from "zod";
import { MerchantRef } from "../api/schemas.js";

// The node's answers about consent, data-subject requests and retention, as the portal reads
// them (packages/server/src/consent/portal.ts and views.ts, packages/server/src/rights/routes.ts).
// Unknown extra fields are dropped; unknown purposes, categories or statuses refuse the answer.

export const CONSENT_PURPOSES = [
  "marketing_email",
  "marketing_sms",
  "marketing_push",
  "personalisation",
  "analytics",
  "sharing",
] as const;
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];

export const CONSENT_CATEGORIES = [
  "contact",
  "demographics",
  "purchase_history",
  "loyalty",
  "interactions",
] as const;
export type ConsentCategory = (typeof CONSENT_CATEGORIES)[number];

export const CONSENT_METHODS = [
  "signature",
  "till",
  "web_form",
  "phone",
  "paper",
  "double_opt_in",
] as const;
export const CONSENT_STATUSES = ["scheduled", "active", "lapsed", "revoked"] as const;
export const ENDED_REASONS = [
  "customer",
  "staff",
  "event",
  "unsubscribe",
  "erased",
  "expired",
] as const;

export const ConsentView = z.object({
  id: z.string(),
  merchantId: z.string(),
  grantee: z.string(),
  purposes: z.array(z.enum(CONSENT_PURPOSES)),
  categories: z.array(z.enum(CONSENT_CATEGORIES)),
  validFrom: z.string(),
  validUntil: z.string(),
  revokeOn: z.array(z.string()),
  method: z.enum(CONSENT_METHODS),
  status: z.enum(CONSENT_STATUSES),
  endedReason: z.enum(ENDED_REASONS).nullable(),
  endedAt: z.string().nullable(),
  grantedAt: z.string(),
  entryIndex: z.number(),
  lastEntryIndex: z.number(),
});
export type ConsentView = z.infer<typeof ConsentView>;

export const Consents = z.object({ consents: z.array(ConsentView) });

export const ConsentOptions = z.object({
  merchant: MerchantRef,
  purposes: z.array(z.object({ id: z.enum(CONSENT_PURPOSES), name: z.string() })),
  categories: z.array(z.enum(CONSENT_CATEGORIES)),
  partners: z.array(MerchantRef),
  maxDays: z.number().int().positive(),
});
export type ConsentOptions = z.infer<typeof ConsentOptions>;

export const Receipt = z.object({ receipt: z.string().min(1), jwks: z.string() });

/** A merchant's issuer keys (GET /v1/merchants/{id}/issuer): Ed25519 JWKs. */
export const Jwks = z.object({
  keys: z.array(
    z.object({
      kty: z.string(),
      crv: z.string().optional(),
      x: z.string().optional(),
      kid: z.string().optional(),
    }),
  ),
});
export type Jwks = z.infer<typeof Jwks>;

export const REQUEST_KINDS = ["access", "export", "rectification", "erasure"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_STATUSES = ["received", "verified", "completed", "rejected"] as const;

export const SubjectRequest = z.object({
  id: z.string(),
  kind: z.enum(REQUEST_KINDS),
  channel: z.string(),
  status: z.enum(REQUEST_STATUSES),
  checks: z.array(z.string()),
  receivedAt: z.string(),
  dueAt: z.string(),
  extended: z.boolean(),
  overdue: z.boolean(),
  closedAt: z.string().nullable(),
  reason: z.string().nullable(),
  receivedIndex: z.number(),
  entryIndex: z.number(),
});
export type SubjectRequest = z.infer<typeof SubjectRequest>;

export const Requests = z.object({ requests: z.array(SubjectRequest) });

export const RetentionPolicy = z.object({
  id: z.string(),
  name: z.string(),
  note: z.string(),
  years: z.number(),
  fields: z.array(z.string()),
  interactionKinds: z.array(z.string()),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const RetentionPolicies = z.object({ policies: z.array(RetentionPolicy) });

import { z } from "zod";

// What the console reads from the node, parsed before use. Loose objects: a newer node may add
// fields, and the console shows only what it knows.

export const STAGES = [
  "prospect",
  "first_purchase",
  "repeat",
  "loyal",
  "at_risk",
  "lapsed",
] as const;
export type Stage = (typeof STAGES)[number];

export const CHANNEL_KINDS = [
  "card",
  "app",
  "pos",
  "wechat",
  "whatsapp",
  "facebook",
  "instagram",
  "x",
] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const ROLES = ["owner", "admin", "staff", "auditor"] as const;
export type Role = (typeof ROLES)[number];

export const StaffUser = z.object({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  status: z.string(),
  createdAt: z.string(),
});
export type StaffUser = z.infer<typeof StaffUser>;

export const Session = z.object({
  staff: StaffUser,
  merchant: z.object({ id: z.string(), name: z.string() }),
  csrfToken: z.string(),
  expiresAt: z.string(),
});
export type Session = z.infer<typeof Session>;

export const Customer = z.object({
  id: z.string(),
  status: z.enum(["active", "erased", "merged"]),
  /** For a merged record: the customer that absorbed it (until an unmerge). */
  mergedInto: z.string().nullable().optional(),
  name: z.string().nullable(),
  emails: z.array(z.string()),
  phones: z.array(z.object({ number: z.string(), valid: z.boolean() })),
  birthday: z.string().nullable(),
  address: z.record(z.string(), z.string()).nullable(),
  identities: z.array(z.object({ type: z.string(), value: z.string() })),
  language: z.string().nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])),
  stage: z.enum(STAGES),
  country: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  head: z.number().nullable(),
});
export type Customer = z.infer<typeof Customer>;

export const CustomerPage = z.object({ customers: z.array(Customer), next: z.string().nullable() });
export type CustomerPage = z.infer<typeof CustomerPage>;

export const TimelineItem = z.object({
  index: z.number(),
  type: z.string(),
  time: z.string(),
  actor: z.string(),
  payload: z.unknown(),
  text: z
    .object({ summary: z.string().nullable(), content: z.string().nullable() })
    .nullable()
    .optional(),
  note: z.string().nullable().optional(),
});
export type TimelineItem = z.infer<typeof TimelineItem>;

export const TimelinePage = z.object({ items: z.array(TimelineItem), next: z.string().nullable() });
export type TimelinePage = z.infer<typeof TimelinePage>;

export const Note = z.object({
  id: z.string(),
  customerId: z.string(),
  text: z.string().nullable(),
  author: z.string(),
  createdAt: z.string(),
  entryIndex: z.number(),
});
export type Note = z.infer<typeof Note>;

export const AccessRecord = z.object({
  id: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  at: z.string(),
  role: z.string(),
  purpose: z.string(),
  basis: z.string(),
  categories: z.array(z.string()),
  action: z.string(),
  batch: z
    .object({
      entryIndex: z.number(),
      leafIndex: z.number(),
      size: z.number(),
      root: z.string(),
      proof: z.array(z.string()),
    })
    .nullable(),
});
export type AccessRecord = z.infer<typeof AccessRecord>;

export const AccessPage = z.object({ records: z.array(AccessRecord), next: z.string().nullable() });

export const Segment = z.object({
  id: z.string(),
  name: z.string(),
  condition: z.unknown(),
  createdAt: z.string(),
  updatedAt: z.string(),
  entryIndex: z.number(),
});
export type Segment = z.infer<typeof Segment>;

export const SegmentPage = z.object({ segments: z.array(Segment), next: z.string().nullable() });
export const Count = z.object({ count: z.number() });

export const Import = z.object({
  id: z.string(),
  status: z.enum(["uploading", "running", "interrupted", "completed", "failed"]),
  dryRun: z.boolean(),
  columns: z.array(z.object({ header: z.string(), field: z.string().nullable() })),
  rowsRead: z.number(),
  processed: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  rejected: z.number(),
  skipped: z.number(),
  warnings: z.number(),
  suggestions: z.number(),
  error: z.string().nullable(),
  /** Why it failed or stopped, as a code (absent from nodes before it was kept). */
  errorCode: z.string().nullable().optional(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type Import = z.infer<typeof Import>;

export const ImportPage = z.object({ imports: z.array(Import), next: z.string().nullable() });

export const ImportIssue = z.object({
  row: z.number(),
  line: z.number().nullable(),
  level: z.enum(["error", "warning"]),
  code: z.string(),
  reason: z.string(),
});
export type ImportIssue = z.infer<typeof ImportIssue>;
export const ImportIssues = z.object({ errors: z.array(ImportIssue), next: z.number().nullable() });

export const ApiKey = z.object({
  id: z.string(),
  role: z.string(),
  label: z.string(),
  createdAt: z.string().optional(),
  revokedAt: z.string().nullable().optional(),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedKey = z.object({
  id: z.string(),
  key: z.string(),
  role: z.string(),
  label: z.string(),
  entryIndex: z.number(),
});

export const OutboxMessage = z.object({
  id: z.string(),
  channel: z.enum(["mail", "sms"]),
  to: z.string(),
  subject: z.string().optional(),
  text: z.string(),
  createdAt: z.string(),
});
export type OutboxMessage = z.infer<typeof OutboxMessage>;

export const MergeSuggestion = z.object({
  id: z.string(),
  customerId: z.string(),
  otherId: z.string(),
  reason: z.string(),
  /** Why the pair was made, in identifier kinds; null on one made before the node kept it. */
  identifiers: z
    .object({ shared: z.array(z.string()), differing: z.array(z.string()) })
    .nullable()
    .optional(),
  source: z.string(),
  status: z.string(),
  createdAt: z.string(),
  dismissedBy: z.string().nullable().optional(),
  dismissedAt: z.string().nullable().optional(),
});
export type MergeSuggestion = z.infer<typeof MergeSuggestion>;

// Consent, customer keys and data-subject rights (issue 8): the node's own value lists, so the
// forms offer exactly what it takes.

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
/** How staff record a consent given without a key; double_opt_in emails a link instead. */
export const CONSENT_METHODS = ["till", "web_form", "phone", "paper", "double_opt_in"] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];
export const CONSENT_STATUSES = ["scheduled", "active", "lapsed", "revoked"] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export const Consent = z.object({
  id: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  grantee: z.string(),
  purposes: z.array(z.string()),
  categories: z.array(z.string()),
  validFrom: z.string(),
  validUntil: z.string(),
  revokeOn: z.array(z.string()),
  method: z.string(),
  evidence: z
    .object({
      textVersion: z.string(),
      text: z.string(),
      shownAt: z.string(),
      requestId: z.string().optional(),
      requestedBy: z.string().optional(),
      confirmedAt: z.string().optional(),
    })
    .nullable(),
  recordedBy: z.string(),
  status: z.enum(CONSENT_STATUSES),
  endedReason: z.string().nullable(),
  endedAt: z.string().nullable(),
  grantedAt: z.string(),
  entryIndex: z.number(),
  lastEntryIndex: z.number(),
});
export type Consent = z.infer<typeof Consent>;

export const BASES = ["contract", "legal_obligation", "legitimate_interest", "consent"] as const;
export type Basis = (typeof BASES)[number];

export const Purpose = z.object({
  id: z.string(),
  name: z.string(),
  basis: z.enum(BASES),
  note: z.string().nullable(),
  defaultFor: z.array(z.string()),
  retired: z.boolean(),
  entryIndex: z.number().nullable(),
});
export type Purpose = z.infer<typeof Purpose>;

export const RECOVERY_CHECKS = [
  "id_document",
  "in_person",
  "verified_email",
  "verified_phone",
  "security_questions",
] as const;

export const Recovery = z.object({
  id: z.string(),
  customerId: z.string(),
  oldKey: z.string(),
  newKey: z.string(),
  status: z.enum(["pending", "vetoed", "cancelled", "completed"]),
  completesAt: z.string(),
  startedIndex: z.number(),
  endedIndex: z.number().nullable(),
});
export type Recovery = z.infer<typeof Recovery>;

export const CustomerKey = z.object({ key: z.string().nullable(), recoveries: z.array(Recovery) });

export const Invite = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  claimed: z.boolean(),
});
export type Invite = z.infer<typeof Invite>;

export const CreatedInvite = z.object({
  id: z.string(),
  customerId: z.string(),
  code: z.string(),
  url: z.string(),
  qr: z.string(),
  expiresAt: z.string(),
});
export type CreatedInvite = z.infer<typeof CreatedInvite>;

export const REQUEST_KINDS = ["access", "export", "rectification", "erasure"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
/** Where a request came from; `portal` ones arrive signed, staff record the others. */
export const REQUEST_CHANNELS = ["email", "staff", "post", "phone", "in_person"] as const;
export const IDENTITY_CHECKS = [
  "id_document",
  "in_person",
  "verified_email",
  "verified_phone",
  "security_questions",
] as const;
export const EXTENSION_REASONS = ["complexity", "number_of_requests"] as const;
export const REJECTION_REASONS = [
  "identity_not_verified",
  "manifestly_unfounded",
  "excessive",
  "no_such_data",
] as const;
export const REQUEST_STATUSES = ["received", "verified", "completed", "rejected"] as const;

export const SubjectRequest = z.object({
  id: z.string(),
  customerId: z.string(),
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

export const HELD_FIELDS = ["name", "address", "email", "phone", "birthday"] as const;

export const RetentionPolicy = z.object({
  id: z.string(),
  name: z.string(),
  note: z.string(),
  years: z.number(),
  fields: z.array(z.string()),
  interactionKinds: z.array(z.string()),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const RetentionHold = z.object({
  id: z.string(),
  policyId: z.string(),
  until: z.string(),
  values: z.number(),
  erasedIndex: z.number(),
  shreddedIndex: z.number().nullable(),
});
export type RetentionHold = z.infer<typeof RetentionHold>;

import { z } from "zod";
import { IdOf } from "../http/schemas.js";
import { CONSENT_PURPOSES } from "../privacy/purposes.js";
import { CONSENT_CATEGORIES } from "./entries.js";

/** Shapes shared by the signed commands' payloads and the staff routes. */

export const ConsentId = IdOf("cn", "a consent");
export const MerchantId = IdOf("m", "a merchant");

const unique = <T>(xs: T[]) => new Set(xs).size === xs.length;

export const Purposes = z
  .array(z.enum(CONSENT_PURPOSES))
  .min(1)
  .max(CONSENT_PURPOSES.length)
  .refine(unique, "must not repeat a purpose");

export const Categories = z
  .array(z.enum(CONSENT_CATEGORIES))
  .min(1)
  .max(CONSENT_CATEGORIES.length)
  .refine(unique, "must not repeat a category");

/** RFC 3339 UTC with a Z, as commands' `expires` (fractional seconds allowed). */
export const Instant = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/,
    "must be an RFC 3339 UTC time such as 2026-06-01T12:00:00Z",
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be a real date and time");

/** An entry type, such as `interaction.recorded`: any, so later types work too. */
export const EntryType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "must be an entry type such as ticket.closed")
  .max(60);

export const RevokeOn = z
  .array(EntryType)
  .max(10)
  .refine(unique, "must not repeat an entry type")
  .describe("entry types that revoke the consent when one about the customer is written after it");

/** What a grant names; no personal values and no free text (decision 5). */
export const GrantPayload = z.strictObject({
  grantee: MerchantId.describe("this merchant, or the partner merchant the consent is to"),
  purposes: Purposes,
  categories: Categories,
  validFrom: Instant.optional().describe("default: from the grant; an earlier time means the same"),
  validUntil: Instant,
  revokeOn: RevokeOn.optional(),
});

export const NarrowPayload = z
  .strictObject({
    consentId: ConsentId,
    purposes: Purposes.optional(),
    categories: Categories.optional(),
    validUntil: Instant.optional(),
  })
  .refine(
    (p) => p.purposes || p.categories || p.validUntil,
    "name what narrows: purposes, categories or validUntil",
  );

export const RevokePayload = z.strictObject({ consentId: ConsentId });

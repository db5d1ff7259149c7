import type { JsonValue } from "@patron/ledger";
import { type CountryCode, parsePhoneNumberWithError } from "libphonenumber-js/max";
import { z } from "zod";
import { ApiError } from "../http/errors.js";
import { Label, ShortText } from "../http/schemas.js";
import { normaliseEmail } from "../vault/blind-index.js";
import { isCountryCode } from "./countries.js";

/**
 * A customer's profile, split the way decision 4 splits it: personal fields, which go to the
 * vault (the entry carries only their commitments), and facts in clear that segments, filters
 * and analytics use (stage, tags, language, country, birth month, age band, attributes).
 */

export const STAGES = [
  "prospect",
  "first_purchase",
  "repeat",
  "loyal",
  "at_risk",
  "lapsed",
] as const;
export type Stage = (typeof STAGES)[number];

/** Channel identities besides email and phone: how a customer is known on each channel. */
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
export const IDENTITY_KINDS = ["email", "phone", ...CHANNEL_KINDS] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** The most identifiers of one kind a customer holds. */
export const IDENTITY_LIMIT: Record<IdentityKind, number> = {
  email: 10,
  phone: 10,
  card: 10,
  app: 5,
  pos: 5,
  wechat: 5,
  whatsapp: 5,
  facebook: 5,
  instagram: 5,
  x: 5,
};

// The shape only; normalisation below decides what an address is.
const EmailText = z.string().min(3).max(254);
const PhoneText = z.string().min(2).max(40);
const Tag = z
  .string()
  .regex(
    /^[\p{L}\p{N}][\p{L}\p{N} _.:-]{0,39}$/u,
    "must be 1 to 40 letters, digits, spaces or _ . : - (starting with a letter or digit)",
  );
const AttributeKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lower-case letters, digits and _ (at most 40)");
const AttributeValue = z.union([z.number(), z.boolean(), Label(100), z.null()]);
const Address = z.strictObject({
  line1: Label(200).optional(),
  line2: Label(200).optional(),
  city: Label(100).optional(),
  region: Label(100).optional(),
  postcode: Label(20).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as FR")
    // Two capitals are not yet a country: ZZ or QQ would be a fact no segment ever matches.
    .refine(
      isCountryCode,
      "must be an ISO 3166-1 alpha-2 code such as FR; this one names no country",
    )
    .optional()
    .describe("ISO 3166-1 alpha-2, upper case (also XK, AC, TA, which phone numbers use)"),
});
export type Address = z.infer<typeof Address>;
const Language = z
  .string()
  .max(35)
  .refine((s) => {
    try {
      return Intl.getCanonicalLocales(s).length === 1;
    } catch {
      return false;
    }
  }, "must be a BCP 47 language tag such as en or zh-CN");
const Birthday = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    // A day of slack: "today" somewhere east of UTC is still tomorrow here.
    const latest = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    return (
      !Number.isNaN(d.getTime()) &&
      d.toISOString().slice(0, 10) === s &&
      s >= "1900-01-01" &&
      s <= latest
    );
  }, "must be a real date from 1900 to today");
const Identity = z.strictObject({
  type: z.enum(CHANNEL_KINDS),
  // Blank once normalised is `invalid_identity`, which names the identity's type.
  value: ShortText(200),
});

/** The fields a profile is written with; `null` clears an optional one (in a PATCH). */
const fields = {
  name: Label(200),
  emails: z.array(EmailText).max(IDENTITY_LIMIT.email),
  phones: z.array(PhoneText).max(IDENTITY_LIMIT.phone),
  birthday: Birthday,
  address: Address,
  language: Language,
  tags: z.array(Tag).max(50),
  attributes: z
    .record(AttributeKey, AttributeValue)
    .refine((r) => Object.keys(r).length <= 50, "at most 50 attributes"),
  stage: z.enum(STAGES, { error: `must be one of ${STAGES.join(", ")}` }),
  identities: z.array(Identity).max(40),
};

export const CustomerInput = z.strictObject({
  name: fields.name.optional(),
  email: EmailText.optional().describe("one email: the same as `emails: [email]`"),
  emails: fields.emails.optional(),
  phone: PhoneText.optional().describe("one phone: the same as `phones: [phone]`"),
  phones: fields.phones.optional(),
  birthday: fields.birthday.optional(),
  address: fields.address.optional(),
  language: fields.language.optional(),
  tags: fields.tags.optional(),
  attributes: fields.attributes.optional(),
  stage: fields.stage.optional(),
  identities: fields.identities
    .optional()
    .describe("channel identities: loyalty card, app user id, POS number, social handles"),
});
export type CustomerInput = z.infer<typeof CustomerInput>;

export const CustomerPatch = z.strictObject({
  name: fields.name.nullable().optional(),
  emails: fields.emails.optional(),
  phones: fields.phones.optional(),
  birthday: fields.birthday.nullable().optional(),
  address: fields.address.nullable().optional(),
  language: fields.language.nullable().optional(),
  tags: fields.tags.optional(),
  attributes: fields.attributes
    .optional()
    .describe("merged into the current attributes; a null value removes one"),
  stage: fields.stage.optional(),
  identities: fields.identities.optional().describe("replaces every channel identity"),
});
export type CustomerPatch = z.infer<typeof CustomerPatch>;

/** The non-personal facts kept in clear, as the projection and segments read them. */
export interface Facts {
  stage: Stage;
  tags: string[];
  language: string | null;
  country: string | null;
  birthMonth: number | null;
  ageBand: string | null;
  attributes: Record<string, number | boolean | string>;
  /** Which identity kinds the customer has (icons, segments): never the values. */
  channels: IdentityKind[];
}

/** One identifier as the vault indexes it. */
export interface IdentityValue {
  kind: IdentityKind;
  normalised: string;
}

/** The personal fields, by vault field name; identities are one field per kind. */
export type PersonalFields = Partial<Record<string, JsonValue>>;

export interface PhoneOptions {
  /** The country of numbers written without +: ISO 3166-1 alpha-2, or none. */
  defaultCountry?: string;
}

/** E.164, or a 400 `invalid_phone` when not even a possible number. */
export function normalisePhone(text: string, opts: PhoneOptions = {}): string {
  try {
    const n = parsePhoneNumberWithError(text, {
      defaultCountry: opts.defaultCountry as CountryCode | undefined,
    });
    if (!n.isPossible()) throw new Error("not a possible number");
    return n.number;
  } catch (err) {
    const hint =
      !text.trim().startsWith("+") && !opts.defaultCountry
        ? " (write it with its country code, such as +33 6 12 34 56 78)"
        : "";
    throw new ApiError(
      400,
      "invalid_phone",
      `${JSON.stringify(text)} is not a possible phone number${hint}: ${(err as Error).message}`,
      // The number as sent, so a form can mark the field it came from.
      { value: text, reason: (err as Error).message },
    );
  }
}

/** Whether an E.164 number is a valid one (assigned ranges), not just a possible one. */
export function phoneInfo(e164: string): {
  number: string;
  valid: boolean;
  country: string | null;
} {
  try {
    const n = parsePhoneNumberWithError(e164);
    return { number: e164, valid: n.isValid(), country: n.country ?? null };
  } catch {
    return { number: e164, valid: false, country: null };
  }
}

// A practical address check: one @, a dotted domain of letters, digits and hyphens, no spaces.
const EMAIL =
  /^[^\s@"(),:;<>[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function checkEmail(text: string): string {
  const e = normaliseEmail(text);
  if (!EMAIL.test(e)) {
    throw new ApiError(400, "invalid_email", `${JSON.stringify(text)} is not an email address`);
  }
  return e;
}

/** A channel identity as it is matched: trimmed; handles lower-case and without a leading @. */
export function normaliseIdentity(kind: ChannelKind, value: string): string {
  const v = value.trim();
  if (kind === "instagram" || kind === "x" || kind === "facebook") {
    return v.replace(/^@/, "").toLowerCase();
  }
  if (kind === "whatsapp") return normalisePhone(v);
  return v;
}

/** Any identifier as the blind index holds it. */
export function normaliseIdentifier(kind: IdentityKind, value: string, opts: PhoneOptions = {}) {
  if (kind === "email") return checkEmail(value);
  if (kind === "phone") return normalisePhone(value, opts);
  return normaliseIdentity(kind, value);
}

/** Birth month and age band on `today`: what segments may use instead of the birthday. */
export function birthdayFacts(birthday: string | null, today: Date) {
  if (!birthday) return { birthMonth: null, ageBand: null };
  const [y, m, d] = birthday.split("-").map(Number) as [number, number, number];
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) {
    age--;
  }
  const bands: [number, string][] = [
    [18, "under 18"],
    [25, "18-24"],
    [35, "25-34"],
    [45, "35-44"],
    [55, "45-54"],
    [65, "55-64"],
  ];
  const band = age < 0 ? null : (bands.find(([upTo]) => age < upTo)?.[1] ?? "65+");
  return { birthMonth: m, ageBand: band };
}

const unique = <T>(xs: T[]) => [...new Set(xs)];

/** The identifiers of a profile's identity fields, normalised, deduplicated, within limits. */
export function identityFields(
  input: {
    emails?: string[];
    phones?: string[];
    identities?: { type: ChannelKind; value: string }[];
  },
  opts: PhoneOptions,
): Partial<Record<IdentityKind, string[]>> {
  const out: Partial<Record<IdentityKind, string[]>> = {};
  if (input.emails) out.email = unique(input.emails.map((e) => normaliseIdentifier("email", e)));
  if (input.phones)
    out.phone = unique(input.phones.map((p) => normaliseIdentifier("phone", p, opts)));
  if (input.identities) {
    for (const kind of CHANNEL_KINDS) out[kind] = [];
    for (const { type, value } of input.identities) {
      const list = out[type] as string[];
      const v = normaliseIdentifier(type, value, opts);
      if (v === "") {
        throw new ApiError(400, "invalid_identity", `an empty ${type} identity`, { type });
      }
      if (!list.includes(v)) list.push(v);
    }
  }
  for (const [kind, list] of Object.entries(out) as [IdentityKind, string[]][]) {
    if (list.length > IDENTITY_LIMIT[kind]) {
      throw new ApiError(
        400,
        "too_many_identities",
        `a customer holds at most ${IDENTITY_LIMIT[kind]} ${kind} identities`,
        { type: kind, max: IDENTITY_LIMIT[kind] },
      );
    }
  }
  return out;
}

/** The single `email`/`phone` shorthands folded into the lists. */
export function withShorthands(input: CustomerInput) {
  const emails = [...(input.email ? [input.email] : []), ...(input.emails ?? [])];
  const phones = [...(input.phone ? [input.phone] : []), ...(input.phones ?? [])];
  return {
    ...input,
    emails: input.email || input.emails ? emails : undefined,
    phones: input.phone || input.phones ? phones : undefined,
  };
}

/** Attributes merged with a patch: a null value removes one. */
export function mergeAttributes(
  current: Record<string, number | boolean | string>,
  patch: Record<string, number | boolean | string | null>,
) {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  if (Object.keys(out).length > 50) {
    throw new ApiError(400, "too_many_attributes", "a customer has at most 50 attributes");
  }
  return out;
}

/** The country in clear: the address's, else the first phone's. */
export function countryOf(address: Address | null | undefined, phones: string[] | undefined) {
  if (address?.country) return address.country;
  const first = phones?.[0];
  return first ? phoneInfo(first).country : null;
}

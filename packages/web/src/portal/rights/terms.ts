import type { JsonValue } from "@patron/ledger";
import type { ConsentView } from "./schemas.js";

// A consent's terms as the portal's forms edit them, and the payloads of consent.grant and
// consent.narrow built from them (packages/server/src/consent/schemas.ts). The forms check
// everything the node would refuse, so a signature is only asked for terms it can accept.

const DAY = 86_400_000;

/** How long a new consent runs: months from now, or until the end of a chosen day (UTC). */
export const DURATIONS = ["1", "3", "6", "12", "24", "60", "date"] as const;
export type Duration = (typeof DURATIONS)[number];
export const DEFAULT_DURATION: Duration = "12";

/** An RFC 3339 UTC time to the second, as the node's Instant takes it. */
export const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The calendar date (UTC) of an instant: YYYY-MM-DD. */
export const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last second of a YYYY-MM-DD day, UTC; NaN for what is not a real date. */
export function endOfDay(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return Number.NaN;
  const start = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(start) || dateOf(start) !== date) return Number.NaN;
  return start + DAY - 1000;
}

/** `months` calendar months after `ms` (31 January + 1 is the last day of February). */
export function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

/** The latest day a consent given now may end on: its last second within maxDays. */
export const lastDay = (now: number, maxDays: number) => dateOf(now + maxDays * DAY - DAY);

/** The presets that fit within maxDays (with a day to spare for the signature's journey). */
export function durationsWithin(now: number, maxDays: number): Duration[] {
  return DURATIONS.filter(
    (d) => d === "date" || addMonths(now, Number(d)) <= now + maxDays * DAY - DAY,
  );
}

export interface GrantForm {
  purposes: string[];
  categories: string[];
  grantee: string;
  duration: Duration;
  /** YYYY-MM-DD, for duration "date". */
  until: string;
}

/** Why the end of a new consent is not acceptable, as a catalogue key; undefined if it is. */
export function untilProblem(form: GrantForm, now: number, maxDays: number): string | undefined {
  if (form.duration !== "date") return undefined;
  const end = endOfDay(form.until);
  if (Number.isNaN(end)) return "consents.errors.date";
  if (end <= now || form.until <= dateOf(now)) return "consents.errors.past";
  if (form.until > lastDay(now, maxDays)) return "consents.errors.tooLong";
  return undefined;
}

/** When a new consent ends: the chosen months from now, or the end of the chosen day. */
export function grantEnd(form: GrantForm, now: number): number {
  return form.duration === "date" ? endOfDay(form.until) : addMonths(now, Number(form.duration));
}

/** The payload of consent.grant; purposes and categories sorted, as the node keeps them. */
export function grantPayload(form: GrantForm, now: number): Record<string, JsonValue> {
  return {
    grantee: form.grantee,
    purposes: [...new Set(form.purposes)].sort(),
    categories: [...new Set(form.categories)].sort(),
    validUntil: instant(grantEnd(form, now)),
  };
}

export interface NarrowForm {
  purposes: string[];
  categories: string[];
  /** YYYY-MM-DD: the consent's own end date, or an earlier one. */
  until: string;
}

export const narrowDefaults = (c: ConsentView): NarrowForm => ({
  purposes: [...c.purposes],
  categories: [...c.categories],
  until: dateOf(Date.parse(c.validUntil)),
});

/** The new end: the consent's own when its date is kept, else the end of the earlier day. */
export function narrowEnd(c: ConsentView, form: NarrowForm): number {
  const current = Date.parse(c.validUntil);
  return form.until === dateOf(current) ? current : endOfDay(form.until);
}

/** Why a narrowing is not acceptable, as [field, catalogue key]; undefined if it is. */
export function narrowProblem(
  c: ConsentView,
  form: NarrowForm,
  now: number,
): [keyof NarrowForm, string] | undefined {
  if (form.purposes.length === 0) return ["purposes", "consents.errors.purposes"];
  if (form.categories.length === 0) return ["categories", "consents.errors.categories"];
  const end = narrowEnd(c, form);
  if (Number.isNaN(end)) return ["until", "consents.errors.date"];
  if (end > Date.parse(c.validUntil)) return ["until", "consents.errors.later"];
  if (end <= now) return ["until", "consents.errors.past"];
  const same =
    form.purposes.length === c.purposes.length &&
    form.categories.length === c.categories.length &&
    end === Date.parse(c.validUntil);
  if (same) return ["purposes", "consents.errors.unchanged"];
  return undefined;
}

/**
 * The payload of consent.narrow. It names all three terms, the kept ones too, so the signed
 * command (and its sentence in the signing dialog) states the whole consent as it will be.
 */
export function narrowPayload(c: ConsentView, form: NarrowForm): Record<string, JsonValue> {
  return {
    consentId: c.id,
    purposes: c.purposes.filter((p) => form.purposes.includes(p)),
    categories: c.categories.filter((x) => form.categories.includes(x)),
    // A kept end is sent as the node wrote it, to the millisecond, so it stays unchanged.
    validUntil:
      narrowEnd(c, form) === Date.parse(c.validUntil) ? c.validUntil : instant(narrowEnd(c, form)),
  };
}

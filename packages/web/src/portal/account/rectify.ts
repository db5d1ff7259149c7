import type { JsonValue } from "@patron/ledger";
import type { Profile } from "../api/schemas.js";

/** The profile as the rectification form edits it: every field a string. */
export interface RectifyForm {
  name: string;
  /** Several addresses, separated by commas or new lines. */
  emails: string;
  phones: string;
  birthday: string;
  language: string;
  line1: string;
  line2: string;
  city: string;
  region: string;
  postcode: string;
  country: string;
}

const ADDRESS = ["line1", "line2", "city", "region", "postcode", "country"] as const;

const list = (s: string) =>
  s
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The form's starting values: the profile as the node decrypted it for the customer. */
export function formOf(p: Profile): RectifyForm {
  const a = p.address ?? {};
  return {
    name: p.name ?? "",
    emails: p.emails.join(", "),
    phones: p.phones.map((x) => x.number).join(", "),
    birthday: p.birthday ?? "",
    language: p.language ?? "",
    line1: a.line1 ?? "",
    line2: a.line2 ?? "",
    city: a.city ?? "",
    region: a.region ?? "",
    postcode: a.postcode ?? "",
    country: a.country ?? "",
  };
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The values `customer.update` carries beside it (Art. 16): only what changed, as the node's
 * Rectification takes it. A cleared field is null (emails and phones: an empty list); an
 * address with every line cleared is null. Nothing changed: an empty object, and nothing to sign.
 */
export function rectification(before: Profile, form: RectifyForm): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const name = form.name.trim();
  if (name !== (before.name ?? "")) out.name = name || null;
  const emails = list(form.emails);
  if (!same(emails, before.emails)) out.emails = emails;
  const phones = list(form.phones);
  if (
    !same(
      phones,
      before.phones.map((p) => p.number),
    )
  )
    out.phones = phones;
  if (form.birthday !== (before.birthday ?? "")) out.birthday = form.birthday || null;
  if (form.language !== (before.language ?? "")) out.language = form.language || null;
  const address: Record<string, string> = {};
  for (const k of ADDRESS) {
    const v = k === "country" ? form[k].trim().toUpperCase() : form[k].trim();
    if (v) address[k] = v;
  }
  const was = before.address ?? {};
  if (ADDRESS.some((k) => (address[k] ?? "") !== (was[k] ?? "")))
    out.address = Object.keys(address).length > 0 ? address : null;
  return out;
}

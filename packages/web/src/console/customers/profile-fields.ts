import { z } from "zod";
import { ConsoleApiError } from "../api/client.js";
import { isCountryCode } from "./countries.js";
import { HIDDEN_CHARACTERS } from "./identities.js";

// A customer's address and attributes as the edit form holds them, what it sends of them, and
// the node's refusals put back on the field they are about. The node's rules
// (customers/profile.ts) are mirrored only to catch mistakes early: it stays the judge.

/** The address's fields, in the order the form shows them, with the node's limits. */
export const ADDRESS_FIELDS = ["line1", "line2", "city", "region", "postcode", "country"] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];
const ADDRESS_MAX: Record<AddressField, number> = {
  line1: 200,
  line2: 200,
  city: 100,
  region: 100,
  postcode: 20,
  country: 2,
};

const addressLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { error: "form.tooLong" })
    .refine((s) => !HIDDEN_CHARACTERS.test(s), { error: "form.controls" });

export const AddressValues = z.object({
  line1: addressLine(ADDRESS_MAX.line1),
  line2: addressLine(ADDRESS_MAX.line2),
  city: addressLine(ADDRESS_MAX.city),
  region: addressLine(ADDRESS_MAX.region),
  postcode: addressLine(ADDRESS_MAX.postcode),
  country: z
    .string()
    .trim()
    .refine((s) => s === "" || /^[A-Za-z]{2}$/.test(s), { error: "form.countryInvalid" })
    // Two letters are not yet a country (ZZ, UK): the node's list, before it is asked.
    .refine((s) => !/^[A-Za-z]{2}$/.test(s) || isCountryCode(s.toUpperCase()), {
      error: "form.countryUnknown",
    }),
});
export type AddressValues = z.infer<typeof AddressValues>;
export type Address = Partial<Record<AddressField, string>>;

export function addressValues(address: Record<string, string> | null): AddressValues {
  const out = {} as AddressValues;
  for (const f of ADDRESS_FIELDS) out[f] = address?.[f] ?? "";
  return out;
}

/**
 * What the form's address says, as the node takes it: the lines given (the country in capitals),
 * or null when every line is empty. The node replaces the whole address with it.
 */
export function addressToSend(values: AddressValues): Address | null {
  const out: Address = {};
  for (const f of ADDRESS_FIELDS) {
    const v = values[f].trim();
    if (v !== "") out[f] = f === "country" ? v.toUpperCase() : v;
  }
  return Object.keys(out).length === 0 ? null : out;
}

export function addressChanged(next: Address | null, current: Record<string, string> | null) {
  const a = next ?? {};
  const b = current ?? {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].some((k) => a[k as AddressField] !== b[k]);
}

/** The node's attribute values: a number, yes or no, or text. */
export const ATTRIBUTE_TYPES = ["string", "number", "boolean"] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];
export type AttributeValue = number | boolean | string;

export interface AttributeRow {
  key: string;
  type: AttributeType;
  /** As typed; "true" or "false" for yes or no. */
  value: string;
}

/** The most attributes a customer has (the node refuses more). */
export const ATTRIBUTE_MAX = 50;
const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,39}$/;
/** A decimal number as people write it: 12, -3.5, .5, 1e6. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The rows of a customer's attributes, by name. */
export function attributeRows(attributes: Record<string, AttributeValue>): AttributeRow[] {
  return Object.entries(attributes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, v]) => ({
      key,
      type: typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : "string",
      value: String(v),
    }));
}

/** A row's value as the node stores it; undefined when it is none of its type. */
export function attributeValue(row: AttributeRow): AttributeValue | undefined {
  const v = row.value.trim();
  if (row.type === "boolean") return v === "true" ? true : v === "false" ? false : undefined;
  if (row.type === "number") {
    const n = DECIMAL.test(v) ? Number(v) : Number.NaN;
    return Number.isFinite(n) ? n : undefined;
  }
  return v;
}

export const AttributeValues = z
  .array(
    z.object({
      key: z.string().trim(),
      type: z.enum(ATTRIBUTE_TYPES),
      value: z.string(),
    }),
  )
  .superRefine((rows, ctx) => {
    const seen = new Set<string>();
    rows.forEach((row, i) => {
      // Messages as `{ error }`, as the fields' own are: catalogue keys the catalogue test finds.
      const issue = (part: "key" | "value", e: { error: string }) =>
        ctx.addIssue({ code: "custom", message: e.error, path: [i, part] });
      if (row.key === "") issue("key", { error: "form.attributeKeyEmpty" });
      else if (!ATTRIBUTE_KEY.test(row.key)) issue("key", { error: "form.attributeKey" });
      else if (seen.has(row.key)) issue("key", { error: "form.attributeDuplicate" });
      seen.add(row.key);
      const v = row.value.trim();
      if (row.type === "number") {
        if (attributeValue(row) === undefined) issue("value", { error: "form.numberInvalid" });
      } else if (row.type === "string") {
        if (v === "") issue("value", { error: "form.attributeEmpty" });
        else if (v.length > 100) issue("value", { error: "form.tooLong" });
        else if (HIDDEN_CHARACTERS.test(v)) issue("value", { error: "form.controls" });
      } else if (attributeValue(row) === undefined) {
        issue("value", { error: "form.attributeEmpty" });
      }
    });
  });

/**
 * The PATCH of attributes the rows make of the current ones: each new or changed value, and
 * null for each attribute no row holds any more. Empty when nothing changed. The node merges it
 * into what it holds then, so a colleague's attributes added meanwhile are kept.
 */
export function attributePatch(
  rows: readonly AttributeRow[],
  current: Record<string, AttributeValue>,
): Record<string, AttributeValue | null> {
  const patch: Record<string, AttributeValue | null> = {};
  const kept = new Set<string>();
  for (const row of rows) {
    const key = row.key.trim();
    // A row the form would refuse changes nothing (and removes nothing).
    kept.add(key);
    const v = attributeValue(row);
    if (v === undefined) continue;
    if (!Object.hasOwn(current, key) || current[key] !== v) patch[key] = v;
  }
  for (const key of Object.keys(current)) if (!kept.has(key)) patch[key] = null;
  return patch;
}

/** A form field (a react-hook-form path) and the node's message about it. */
export interface FieldError {
  name: string;
  message: string;
  /** The message is a catalogue key, said in the console's language, not the node's English. */
  catalogue?: true;
}

const unescapePointer = (segment: string) => segment.replace(/~1/g, "/").replace(/~0/g, "~");

/**
 * Which address and attribute fields a refused PATCH is about, from what the node says: a
 * validation issue's path (`body/address/country`, `body/attributes/shoe_size`), or too many
 * attributes once merged (the attributes as a whole). `rows` are the attribute rows sent, in
 * the form's order. Empty when the refusal is about something else.
 */
export function profileFieldErrors(err: unknown, rows: readonly AttributeRow[]): FieldError[] {
  if (!(err instanceof ConsoleApiError)) return [];
  if (err.code === "too_many_attributes") {
    return [{ name: "attributes.root", message: err.message }];
  }
  if (!Array.isArray(err.details)) return [];
  const out: FieldError[] = [];
  const put = (name: string, message: string) => {
    if (!out.some((e) => e.name === name)) out.push({ name, message });
  };
  for (const issue of err.details as unknown[]) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    if (typeof path !== "string" || typeof message !== "string") continue;
    const [field, name] = path
      .replace(/^body\/?/, "")
      .split("/")
      .map(unescapePointer);
    if (field === "address" && name === "country") {
      // The form sends two letters, so a refusal is of a code that names no country: said as
      // the form's own check says it, in the console's language.
      if (!out.some((e) => e.name === "address.country")) {
        out.push({ name: "address.country", message: "form.countryUnknown", catalogue: true });
      }
    } else if (field === "address" && (ADDRESS_FIELDS as readonly string[]).includes(name ?? "")) {
      put(`address.${name}`, message);
    } else if (field === "attributes") {
      const index = name === undefined ? -1 : rows.findIndex((r) => r.key.trim() === name);
      // A key the node refuses is said so ("Invalid key in record"); otherwise it is the value.
      if (index >= 0)
        put(`attributes.${index}.${/\bkey\b/i.test(message) ? "key" : "value"}`, message);
      else put("attributes.root", message);
    }
  }
  return out;
}

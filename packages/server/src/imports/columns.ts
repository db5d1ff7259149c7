import { CHANNEL_KINDS, type ChannelKind } from "../customers/profile.js";
import { ApiError } from "../http/errors.js";

/**
 * Where a CSV column goes in a customer profile. Columns map themselves by header name
 * (`defaultField`); a mapping given with the import (`map`) wins, and `null` skips a column.
 */
export type Field =
  | "id"
  | "name"
  | "first_name"
  | "last_name"
  | "email"
  | "phone"
  | "birthday"
  | "language"
  | "tags"
  | "stage"
  | "address.line1"
  | "address.line2"
  | "address.city"
  | "address.region"
  | "address.postcode"
  | "address.country"
  | `identity.${ChannelKind}`
  | `attributes.${string}`;

const SCALARS = [
  "id",
  "name",
  "first_name",
  "last_name",
  "email",
  "phone",
  "birthday",
  "language",
  "tags",
  "stage",
  "address.line1",
  "address.line2",
  "address.city",
  "address.region",
  "address.postcode",
  "address.country",
] as const;

/** Header names as compared: lower case, letters and digits only ("E-mail" is "email"). */
const folded = (header: string) => header.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");

const ALIASES: Record<string, Field> = {};
const alias = (field: Field, ...names: string[]) => {
  for (const n of names) ALIASES[folded(n)] = field;
};
// A Patron customer id, as an export writes it: the row is that customer (`readRow`).
alias("id", "id", "customer id", "patron id");
alias("name", "name", "full name", "customer name", "contact name", "display name");
alias("first_name", "first name", "given name", "forename", "first");
alias("last_name", "last name", "surname", "family name", "last");
alias(
  "email",
  "email",
  "emails",
  "e-mail",
  "email address",
  "mail",
  "email 1",
  "email 2",
  "email 3",
  "secondary email",
  "work email",
  "personal email",
);
alias(
  "phone",
  "phone",
  "phones",
  "phone number",
  "mobile",
  "mobile phone",
  "mobile number",
  "cell",
  "cell phone",
  "telephone",
  "tel",
  "phone 1",
  "phone 2",
  "phone 3",
  "home phone",
  "work phone",
);
alias("birthday", "birthday", "birth date", "birthdate", "date of birth", "dob");
alias("language", "language", "lang", "locale", "preferred language");
alias("tags", "tags", "tag", "labels");
alias("stage", "stage", "lifecycle stage", "lifecycle");
alias("address.line1", "address", "address 1", "address line 1", "street", "street address");
alias("address.line2", "address 2", "address line 2");
alias("address.city", "city", "town");
alias("address.region", "region", "state", "province", "county");
alias("address.postcode", "postcode", "postal code", "post code", "zip", "zip code");
alias("address.country", "country", "country code");
for (const kind of CHANNEL_KINDS) alias(`identity.${kind}`, kind, `${kind} id`);
alias("identity.card", "loyalty card", "loyalty_card", "card number", "membership card");
alias("identity.app", "app user id", "app user");
alias("identity.pos", "pos customer id");
alias("identity.wechat", "weixin", "wechat openid");
alias("identity.x", "twitter");

/** The field a header maps to by its name, or undefined when it names none. */
export function defaultField(header: string): Field | undefined {
  const attribute = /^\s*attributes?[.:]\s*([a-z][a-z0-9_]{0,39})\s*$/i.exec(header);
  if (attribute?.[1]) return `attributes.${attribute[1].toLowerCase()}`;
  return ALIASES[folded(header)];
}

/** A field name as a mapping gives it: one of the fields, or a channel kind on its own. */
function parseField(value: string): Field | undefined {
  if ((SCALARS as readonly string[]).includes(value)) return value as Field;
  if ((CHANNEL_KINDS as readonly string[]).includes(value)) return `identity.${value}` as Field;
  const m = /^identity\.(.+)$/.exec(value);
  if (m?.[1] && (CHANNEL_KINDS as readonly string[]).includes(m[1])) return value as Field;
  if (/^attributes\.[a-z][a-z0-9_]{0,39}$/.test(value)) return value as Field;
  return undefined;
}

/** One column of the file and where it goes (null: not imported). */
export interface Column {
  header: string;
  field: Field | null;
}

/**
 * The columns of a header row: by the mapping first, then by name. Refused: a duplicate header
 * (which column would be meant?), a mapping naming a header the file lacks or a field that does
 * not exist. Columns that map nowhere are listed as not imported, never silently dropped.
 */
export function mapColumns(headers: string[], map: Record<string, string | null> = {}): Column[] {
  const seen = new Set<string>();
  for (const h of headers) {
    const key = h.trim();
    if (seen.has(key)) {
      throw new ApiError(400, "duplicate_column", `the header has the column "${key}" twice`);
    }
    seen.add(key);
  }
  for (const [header, value] of Object.entries(map)) {
    if (!seen.has(header)) {
      throw new ApiError(
        400,
        "invalid_map",
        `the mapping names a column the file lacks: "${header}"`,
      );
    }
    if (value !== null && !parseField(value)) {
      throw new ApiError(
        400,
        "invalid_map",
        `"${value}" is not a field (one of ${SCALARS.join(", ")}, a channel kind such as wechat, or attributes.<key>)`,
      );
    }
  }
  const columns = headers.map((h): Column => {
    const header = h.trim();
    if (Object.hasOwn(map, header)) {
      const v = map[header];
      return { header, field: v === null || v === undefined ? null : (parseField(v) ?? null) };
    }
    return { header, field: defaultField(header) ?? null };
  });
  if (!columns.some((c) => c.field !== null)) {
    throw new ApiError(
      400,
      "no_columns",
      `no column maps to a customer field (headers: ${headers.map((h) => JSON.stringify(h.trim())).join(", ")}); name them email, phone, name… or pass a mapping`,
    );
  }
  return columns;
}

/** A `map` option: a JSON object from header to field name or null. */
export function parseMap(text: string | undefined): Record<string, string | null> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_map", "map must be a JSON object of header → field or null");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "invalid_map", "map must be a JSON object of header → field or null");
  }
  // No prototype: a header named __proto__ is a key like any other.
  const out: Record<string, string | null> = Object.create(null);
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v !== "string") {
      throw new ApiError(400, "invalid_map", `map["${k}"] must be a field name or null`);
    }
    out[k] = v;
  }
  return out;
}

import { parsePhoneNumberWithError } from "libphonenumber-js/max";
import {
  CHANNEL_KINDS,
  type ChannelKind,
  CustomerInput,
  checkEmail,
  IDENTITY_LIMIT,
  type IdentityKind,
  normaliseIdentifier,
  normalisePhone,
  type PhoneOptions,
} from "../customers/profile.js";
import type { Column } from "./columns.js";

/**
 * A row as it is staged and written: a customer input with every identifier normalised, and
 * the Patron customer id it names (an export's `id` column), which is no field of the profile.
 */
export type ImportRow = CustomerInput & {
  emails?: string[];
  phones?: string[];
  customerId?: string;
};

/** A customer id as Patron gives them out; any other value of an `id` column is another system's. */
const CUSTOMER_ID = /^c_[A-Za-z0-9_-]{1,64}$/;

/** The profile fields of a row, without the id it names. */
export function profileOf(
  row: ImportRow,
): CustomerInput & { emails?: string[]; phones?: string[] } {
  const { customerId: _, ...fields } = row;
  return fields;
}

/**
 * Something wrong with a row. Reasons name the column, never the value: they are kept in clear
 * (decision 4), and the person importing has the file to look at.
 */
export interface RowIssue {
  level: "error" | "warning";
  code: string;
  reason: string;
}

// Addresses and numbers that are shared, placeholders or tests: matching on them would merge
// strangers, so they are left out of the profile (with a warning) rather than matched.
const BLOCKED_LOCAL_PARTS = new Set([
  "noreply",
  "no-reply",
  "no_reply",
  "donotreply",
  "do-not-reply",
  "do_not_reply",
  "test",
  "null",
  "none",
  "nobody",
  "unknown",
  "na",
  "n/a",
]);
const BLOCKED_DOMAINS = new Set(["test.com", "invalid", "localhost", "mailinator.com"]);

export function blockedEmail(normalised: string): boolean {
  const at = normalised.lastIndexOf("@");
  const local = normalised.slice(0, at).replace(/\+.*$/, "");
  return BLOCKED_LOCAL_PARTS.has(local) || BLOCKED_DOMAINS.has(normalised.slice(at + 1));
}

export function blockedPhone(e164: string): boolean {
  let national = e164.slice(1);
  try {
    national = parsePhoneNumberWithError(e164).nationalNumber;
  } catch {
    // already a possible number: keep the whole digits
  }
  // Placeholders: runs of one digit (06 00 00 00 00), counting (0123456789), too short.
  return /(\d)\1{5,}$/.test(national) || "01234567890".includes(national) || national.length < 4;
}

const SPLIT: Record<string, RegExp> = {
  email: /[\s;,|]+/,
  phone: /[;|]+/,
  tags: /[;,|]+/,
  identity: /[;|]+/,
};

/** A spreadsheet's guard against formulas ('=…) is taken off again. */
const unguard = (v: string) => (/^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);

/** A typed attribute value: a number, true or false, or the text. */
function attributeValue(v: string): number | boolean | string {
  if (/^-?(0|[1-9]\d{0,14})(\.\d{1,6})?$/.test(v)) return Number(v);
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === "true";
  return v;
}

/** Reads one record of the file into a normalised row, or says why it cannot be imported. */
export function readRow(
  fields: string[],
  columns: Column[],
  opts: PhoneOptions,
): { row?: ImportRow; issues: RowIssue[]; empty?: boolean } {
  const errors: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const emails: string[] = [];
  const phones: string[] = [];
  const identities: { type: ChannelKind; value: string }[] = [];
  const tags: string[] = [];
  const attributes: Record<string, number | boolean | string> = {};
  const address: Record<string, string> = {};
  const scalar: Record<string, string> = {};
  let blocked = 0;
  let any = false;

  columns.forEach((c, i) => {
    const raw = unguard((fields[i] ?? "").trim());
    if (raw === "" || c.field === null) return;
    // Names who the row is, not what it holds. Another system's ids (a file from another CRM)
    // are not Patron's: ignored, as before the column mapped.
    if (c.field === "id") {
      if (CUSTOMER_ID.test(raw)) scalar.id = raw;
      return;
    }
    any = true;
    const where = `column "${c.header}"`;
    const f = c.field;
    if (f === "email") {
      for (const part of raw.split(SPLIT.email as RegExp).filter((p) => p !== "")) {
        let e: string;
        try {
          e = checkEmail(part);
        } catch {
          errors.push({
            level: "error",
            code: "invalid_email",
            reason: `${where}: not an email address`,
          });
          continue;
        }
        if (blockedEmail(e)) {
          blocked++;
          warnings.push({
            level: "warning",
            code: "blocked_email",
            reason: `${where}: a shared or test address, left out`,
          });
        } else if (!emails.includes(e)) emails.push(e);
      }
    } else if (f === "phone") {
      for (const part of raw.split(SPLIT.phone as RegExp).map((p) => p.trim())) {
        if (part === "") continue;
        let p: string;
        try {
          p = normalisePhone(part, opts);
        } catch (err) {
          // The message quotes the value: only its last part, the reason, is kept.
          const message = (err as Error).message;
          const why = message.slice(message.lastIndexOf(": ") + 2);
          const hint = /country code/.test(message)
            ? " (write it with its country code, or give the import a country)"
            : "";
          errors.push({
            level: "error",
            code: "invalid_phone",
            reason: `${where}: not a possible phone number${hint}${why.length < 40 ? ` (${why})` : ""}`,
          });
          continue;
        }
        if (blockedPhone(p)) {
          blocked++;
          warnings.push({
            level: "warning",
            code: "blocked_phone",
            reason: `${where}: a placeholder number, left out`,
          });
        } else if (!phones.includes(p)) phones.push(p);
      }
    } else if (f.startsWith("identity.")) {
      const type = f.slice("identity.".length) as ChannelKind;
      for (const part of raw.split(SPLIT.identity as RegExp).map((p) => p.trim())) {
        if (part === "") continue;
        try {
          const value = normaliseIdentifier(type, part, opts);
          if (value === "") continue;
          if (!identities.some((x) => x.type === type && x.value === value)) {
            identities.push({ type, value });
          }
        } catch {
          errors.push({
            level: "error",
            code: "invalid_identity",
            reason: `${where}: not a valid ${type} identity`,
          });
        }
      }
    } else if (f === "tags") {
      for (const t of raw.split(SPLIT.tags as RegExp).map((p) => p.trim())) {
        if (t !== "" && !tags.includes(t)) tags.push(t);
      }
    } else if (f.startsWith("attributes.")) {
      attributes[f.slice("attributes.".length)] = attributeValue(raw);
    } else if (f.startsWith("address.")) {
      const part = f.slice("address.".length);
      address[part] = part === "country" ? raw.toUpperCase() : raw;
    } else if (f === "stage") {
      scalar.stage = raw.toLowerCase().replace(/[\s-]+/g, "_");
    } else {
      scalar[f] = raw;
    }
  });
  if (!any) return { issues: [], empty: true };

  // Over the limit per identity type: the first ones are kept.
  const limited = <T>(kind: IdentityKind, list: T[]) => {
    if (list.length <= IDENTITY_LIMIT[kind]) return list;
    warnings.push({
      level: "warning",
      code: "too_many_identities",
      reason: `more than ${IDENTITY_LIMIT[kind]} ${kind} identities: only the first ${IDENTITY_LIMIT[kind]} are kept`,
    });
    return list.slice(0, IDENTITY_LIMIT[kind]);
  };
  const keptIdentities = CHANNEL_KINDS.flatMap((k) =>
    limited(
      k,
      identities.filter((x) => x.type === k),
    ),
  );
  const name =
    scalar.name ?? ([scalar.first_name, scalar.last_name].filter(Boolean).join(" ") || undefined);
  const input: Record<string, unknown> = {
    ...(name !== undefined ? { name } : {}),
    ...(emails.length > 0 ? { emails: limited("email", emails) } : {}),
    ...(phones.length > 0 ? { phones: limited("phone", phones) } : {}),
    ...(keptIdentities.length > 0 ? { identities: keptIdentities } : {}),
    ...(scalar.birthday !== undefined ? { birthday: scalar.birthday } : {}),
    ...(scalar.language !== undefined ? { language: scalar.language } : {}),
    ...(scalar.stage !== undefined ? { stage: scalar.stage } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(Object.keys(address).length > 0 ? { address } : {}),
  };
  const parsed = CustomerInput.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join(".");
      const column = columnOf(columns, path);
      errors.push({
        level: "error",
        code: `invalid_${String(issue.path[0] ?? "row")}`,
        reason: `${column ? `column "${column}"` : path}: ${issue.message}`,
      });
    }
  }
  // A name alone is enough to create a customer (the row's fingerprint finds it again).
  const identifiers = emails.length + phones.length + keptIdentities.length;
  if (errors.length === 0 && identifiers === 0 && name === undefined) {
    errors.push({
      level: "error",
      code: "no_identifier",
      reason:
        blocked > 0
          ? "no name, and its only identifiers are shared or test values"
          : "no name, email, phone or channel identity",
    });
  }
  if (errors.length > 0) return { issues: [merge(errors), ...warnings] };
  const row = parsed.data as ImportRow;
  return {
    row: scalar.id === undefined ? row : { ...row, customerId: scalar.id },
    issues: warnings,
  };
}

/** One issue per row: the first code, every reason. */
function merge(errors: RowIssue[]): RowIssue {
  const first = errors[0] as RowIssue;
  return { ...first, reason: [...new Set(errors.map((e) => e.reason))].join("; ") };
}

function columnOf(columns: Column[], path: string): string | undefined {
  const head = path.split(".")[0] ?? "";
  const field =
    head === "address" || head === "attributes" ? path.split(".").slice(0, 2).join(".") : head;
  const match = columns.find(
    (c) =>
      c.field === field ||
      (field === "name" && (c.field === "first_name" || c.field === "last_name")) ||
      (field === "identities" && c.field?.startsWith("identity.")),
  );
  return match?.header;
}

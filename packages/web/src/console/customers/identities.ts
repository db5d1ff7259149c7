import { ConsoleApiError } from "../api/client.js";
import { CHANNEL_KINDS, type ChannelKind } from "../api/schemas.js";

// A customer's channel identities as the edit form holds them, and the node's refusals put back
// on the row they are about. The node's rules (customers/profile.ts) are mirrored only to catch
// mistakes early: it normalises, deduplicates and judges.

/** The most identities of one channel a customer holds (IDENTITY_LIMIT on the node). */
export const IDENTITY_LIMIT: Record<ChannelKind, number> = {
  card: 10,
  app: 5,
  pos: 5,
  wechat: 5,
  whatsapp: 5,
  facebook: 5,
  instagram: 5,
  x: 5,
};

/** The most channel identities one PATCH may carry. */
export const IDENTITY_MAX = 40;

export interface IdentityRow {
  type: string;
  value: string;
}

export const isChannelKind = (s: string): s is ChannelKind =>
  (CHANNEL_KINDS as readonly string[]).includes(s);

/** Control and format characters (bidi controls, zero-width ones): the node refuses them. */
export const HIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\u180e]/u;

/**
 * An identity as the node matches it, near enough to tell a row that changed from one that did
 * not: trimmed, social handles lower-case without their @, WhatsApp numbers as + and digits.
 */
export function comparable(row: IdentityRow): string {
  const v = row.value.trim();
  if (row.type === "instagram" || row.type === "x" || row.type === "facebook") {
    return `${row.type}:${v.replace(/^@/, "").toLowerCase()}`;
  }
  if (row.type === "whatsapp") return `${row.type}:${v.replace(/[^+0-9]/g, "")}`;
  return `${row.type}:${v}`;
}

/** Whether the rows say something else than the customer's identities (order aside). */
export function identitiesChanged(rows: readonly IdentityRow[], current: readonly IdentityRow[]) {
  const a = [...new Set(rows.map(comparable))].sort();
  const b = [...new Set(current.map(comparable))].sort();
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

/** The rows past their channel's limit (0-based positions), counted in the form's order. */
export function rowsOverLimit(rows: readonly IdentityRow[]): number[] {
  const seen = new Map<string, Set<string>>();
  const over: number[] = [];
  rows.forEach((row, i) => {
    if (!isChannelKind(row.type)) return;
    const kind = seen.get(row.type) ?? new Set<string>();
    seen.set(row.type, kind);
    // The node keeps one of two rows that say the same.
    kind.add(comparable(row));
    if (kind.size > IDENTITY_LIMIT[row.type]) over.push(i);
  });
  return over;
}

export interface RowError {
  /** The row's position in what was sent. */
  index: number;
  message: string;
}

/**
 * Which rows a refused PATCH is about, from what the node says: a validation issue's path
 * (`body/identities/2/value`), an identity another customer holds (its channel; the rows of it
 * that are new), an empty or a WhatsApp number that is not one (its value in the message), too
 * many of one channel. Empty when the refusal is about something else.
 */
export function identityRowErrors(
  err: unknown,
  sent: readonly IdentityRow[],
  current: readonly IdentityRow[],
): RowError[] {
  if (!(err instanceof ConsoleApiError)) return [];
  const ofType = (type: string) => sent.flatMap((row, index) => (row.type === type ? [index] : []));
  const all = (indexes: number[]) => indexes.map((index) => ({ index, message: err.message }));
  switch (err.code) {
    case "identity_in_use": {
      const type = (err.details as { type?: unknown } | undefined)?.type;
      if (typeof type !== "string" || !isChannelKind(type)) return [];
      const held = new Set(current.map(comparable));
      const added = ofType(type).filter((i) => !held.has(comparable(sent[i] as IdentityRow)));
      return all(added.length > 0 ? added : ofType(type));
    }
    case "invalid_phone": {
      // The node names the number it could not read; phones are the form's other field.
      const value = (err.details as { value?: unknown } | undefined)?.value;
      if (typeof value !== "string") return [];
      const found = ofType("whatsapp").filter(
        (i) => (sent[i] as IdentityRow).value.trim() === value.trim(),
      );
      return all(found);
    }
    case "invalid_identity": {
      const type = (err.details as { type?: unknown } | undefined)?.type;
      if (typeof type !== "string") return [];
      const empty = ofType(type).filter((i) => comparable(sent[i] as IdentityRow) === `${type}:`);
      return all(empty.length > 0 ? empty : ofType(type).slice(0, 1));
    }
    case "too_many_identities": {
      const type = (err.details as { type?: unknown } | undefined)?.type;
      if (typeof type !== "string") return [];
      return all(ofType(type).slice(-1));
    }
    default: {
      if (!Array.isArray(err.details)) return [];
      const out: RowError[] = [];
      for (const issue of err.details as unknown[]) {
        const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
        if (typeof path !== "string" || typeof message !== "string") continue;
        const m = /^(?:body\/)?identities\/(\d+)(?:\/|$)/.exec(path);
        const index = m ? Number(m[1]) : -1;
        if (index >= 0 && index < sent.length && !out.some((o) => o.index === index)) {
          out.push({ index, message });
        }
      }
      return out;
    }
  }
}

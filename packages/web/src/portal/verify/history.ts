import {
  canonicalJson,
  type Entry,
  type JsonValue,
  verifyAccessRecords,
  verifyHistory,
} from "@patron/ledger";
import { openCheckpoint, reasonOf, type VerifiedCheckpoint } from "../../lib/verify.js";
import type { AccessRecord, DataAccess, FieldValue, HistoryPage } from "./schemas.js";

// What the portal calls "verified" about a customer's own data is decided here, from the bytes
// the node sent and the log's verifier key, with @patron/ledger's verifyHistory and
// verifyAccessRecords: the code `patron verify` runs on an export. Nothing here does I/O.

/** What failed, for people: the kind (its words are in the catalogues) and where. */
export type ProblemKind =
  | "checkpoint"
  | "malformed"
  | "proof"
  | "inclusion"
  | "subject"
  | "signer"
  | "signature"
  | "gap"
  | "offChain"
  | "fieldMissing"
  | "commitment"
  | "head"
  | "empty"
  | "other";

export interface Problem {
  kind: ProblemKind;
  /** The entry it concerns, when one. */
  entry?: number;
  /** The personal field it concerns, when one. */
  field?: string;
  /** The library's own words (English, technical). */
  detail: string;
}

const PATTERNS: [RegExp, ProblemKind][] = [
  [/^entry (\d+): not a valid entry/, "malformed"],
  [/^entry (\d+): malformed proof/, "proof"],
  [/^entry (\d+): not in the checkpoint's tree/, "inclusion"],
  [/^entry (\d+): does not name the customer/, "subject"],
  [/^entry (\d+): its actor is not the command's signer/, "signer"],
  [/^entry (\d+): signature does not verify/, "signature"],
  [/^chain: entry (\d+) is missing/, "gap"],
  [/^chain: entry (\d+) is not on the customer's chain/, "offChain"],
];

/** Reads one of verifyHistory's problem lines into its kind, entry and field. */
export function classify(line: string): Problem {
  for (const [re, kind] of PATTERNS) {
    const m = re.exec(line);
    if (m) return { kind, entry: Number(m[1]), detail: line };
  }
  const missing = /^field (.+): its entry (\d+) was not served/.exec(line);
  if (missing) {
    return { kind: "fieldMissing", field: missing[1], entry: Number(missing[2]), detail: line };
  }
  const changed = /^field (.+): its value does not match entry (\d+)'s commitment/.exec(line);
  if (changed) {
    return { kind: "commitment", field: changed[1], entry: Number(changed[2]), detail: line };
  }
  return { kind: "other", detail: line };
}

/** One entry of the history, proven: with the values it commits to, decrypted for the customer. */
export interface ProvenHistoryEntry {
  index: number;
  entry: Entry;
  fields: FieldValue[];
}

export type HistoryVerdict =
  | {
      ok: true;
      head: VerifiedCheckpoint;
      /** Newest first. */
      entries: ProvenHistoryEntry[];
      /** Field values whose commitments were recomputed and found. */
      fields: number;
      /** Entries that carry a command the customer signed, each verified. */
      signed: number;
      records: string[];
    }
  | { ok: false; problems: Problem[]; head?: VerifiedCheckpoint };

export interface HistoryInput {
  /** The log's verifier key (GET /v1/ledger/key). */
  key: string;
  checkpoint: string;
  records: readonly string[];
  entries: HistoryPage["entries"];
  fields: readonly FieldValue[];
  /** The head of the customer's chain, as their profile names it: the walk must start there. */
  profileHead?: number | null;
}

/**
 * Everything about the customer's history, checked: the checkpoint's signature under the
 * verifier key, every entry's inclusion proof in it, every signature the customer made, every
 * field's commitment recomputed from its value and salt, and the chain walked from the newest
 * entry with no gap. Verified only when nothing at all failed.
 */
export function checkHistory(input: HistoryInput): HistoryVerdict {
  let head: VerifiedCheckpoint;
  try {
    head = openCheckpoint(input.checkpoint, input.key);
  } catch (err) {
    return { ok: false, problems: [{ kind: "checkpoint", detail: reasonOf(err) }] };
  }
  let r: ReturnType<typeof verifyHistory>;
  try {
    r = verifyHistory({
      checkpoint: input.checkpoint,
      verifierKey: input.key,
      records: input.records,
      entries: input.entries,
      fields: input.fields,
    });
  } catch (err) {
    return { ok: false, head, problems: [{ kind: "other", detail: reasonOf(err) }] };
  }
  const problems = r.problems.map(classify);
  if (input.entries.length === 0) {
    problems.push({ kind: "empty", detail: "the node served no entries" });
  }
  const newest = r.entries[0]?.index;
  const ph = input.profileHead;
  if (ph !== undefined && ph !== null && ph < head.size && newest !== undefined && newest < ph) {
    problems.push({
      kind: "head",
      entry: ph,
      detail: `the profile's newest entry is ${ph}, but the history served stops at ${newest}`,
    });
  }
  if (problems.length > 0) return { ok: false, head, problems };
  const byVersion = new Map<number, FieldValue[]>();
  for (const f of input.fields) {
    const list = byVersion.get(f.version) ?? [];
    list.push(f);
    byVersion.set(f.version, list);
  }
  return {
    ok: true,
    head,
    entries: r.entries.map(({ index, entry }) => ({
      index,
      entry,
      fields: byVersion.get(index) ?? [],
    })),
    fields: r.fields,
    signed: r.entries.filter((e) => e.entry.signed !== undefined).length,
    records: [...input.records],
  };
}

/** Who acted on an entry: the customer's own key, a merchant's staff key, or the node. */
export type Acted =
  | { kind: "you"; key: string; current: boolean }
  | { kind: "staff"; key: string }
  | { kind: "node" }
  | { kind: "other"; actor: string };

export function actedBy(entry: Entry, currentKey: string | undefined): Acted {
  const actor = entry.actor;
  if (actor.startsWith("did:key:"))
    return { kind: "you", key: actor, current: actor === currentKey };
  const staff = /^merchant:[^/]+\/key:(.+)$/.exec(actor);
  if (staff) return { kind: "staff", key: staff[1] as string };
  if (actor === "node") return { kind: "node" };
  return { kind: "other", actor };
}

/** A field's value as one line: lists joined, an address's parts in order. */
export function formatValue(value: JsonValue): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(formatValue).filter(Boolean).join(", ");
  return Object.values(value).map(formatValue).filter(Boolean).join(", ");
}

/** The profile's values the ledger's commitments speak for, as the portal shows them. */
export interface ProfileValues {
  id: string;
  name: string | null;
  emails: string[];
  phones: { number: string }[];
  birthday: string | null;
  address: Record<string, string> | null;
}

/**
 * Which of the profile's values differ from the newest verified version of the field the
 * ledger commits to (none: every value shown was checked). A value never set matches an empty
 * one.
 */
export function profileMismatches(profile: ProfileValues, fields: readonly FieldValue[]): string[] {
  const latest = new Map<string, FieldValue>();
  for (const f of fields) {
    if (f.customerId !== profile.id) continue;
    const seen = latest.get(f.field);
    if (!seen || f.version > seen.version) latest.set(f.field, f);
  }
  const shown: Record<string, JsonValue> = {
    name: profile.name,
    email: profile.emails,
    phone: profile.phones.map((p) => p.number),
    birthday: profile.birthday,
    address: profile.address,
  };
  const empty = (v: JsonValue | undefined) =>
    v === undefined ||
    v === null ||
    v === "" ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
  const out: string[] = [];
  for (const [field, value] of Object.entries(shown)) {
    const committed = latest.get(field)?.value;
    if (empty(value) && empty(committed)) continue;
    if (empty(value) || empty(committed)) {
      out.push(field);
      continue;
    }
    if (canonicalJson(value) !== canonicalJson(committed as JsonValue)) out.push(field);
  }
  return out;
}

export type RecordState = "proven" | "pending" | "failed";

export interface DataUseVerdict {
  /** Whether every committed record was proven (pending ones are said as such). */
  ok: boolean;
  rows: { record: AccessRecord; state: RecordState; problem?: string }[];
  proven: number;
  pending: number;
  problems: string[];
}

/**
 * The data-use log, checked with verifyAccessRecords: each record against the access.recorded
 * entry that committed it, that entry against the checkpoint, the checkpoint against the key.
 * A record committed after the checkpoint the node sent cannot be proven in it: it is pending.
 */
export function checkDataUse(answer: DataAccess, key: string): DataUseVerdict {
  const records = answer.records.map((r) =>
    r.batch && r.batch.entryIndex >= answer.size ? { ...r, batch: null } : r,
  );
  let result: { proven: number; pending: number; problems: string[] };
  try {
    result = verifyAccessRecords({
      checkpoint: answer.checkpoint,
      verifierKey: key,
      records: records as never,
      batches: answer.batches,
    });
  } catch (err) {
    const problem = reasonOf(err);
    return {
      ok: false,
      rows: records.map((record) => ({ record, state: "failed", problem })),
      proven: 0,
      pending: 0,
      problems: [problem],
    };
  }
  const rows = records.map((record) => {
    if (!record.batch) return { record, state: "pending" as const };
    const batch = record.batch.entryIndex;
    const problem = result.problems.find(
      (p) => p.startsWith(`record ${record.id}:`) || p.startsWith(`batch ${batch}:`),
    );
    return problem
      ? { record, state: "failed" as const, problem }
      : { record, state: "proven" as const };
  });
  return {
    ok: result.problems.length === 0,
    rows,
    proven: result.proven,
    pending: result.pending,
    problems: result.problems,
  };
}

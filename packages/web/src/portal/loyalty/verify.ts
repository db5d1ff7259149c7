import {
  decodeBase64,
  decodeEntry,
  decodeHex,
  type Entry,
  hashLeaf,
  verifyInclusion,
} from "@patron/ledger";
import {
  type Award,
  checkAward,
  type Rule,
  type RuleVersion,
  ruleHash,
  ruleVersion,
} from "@patron/rules";
import { openCheckpoint, reasonOf, type VerifiedCheckpoint } from "../../lib/verify.js";
import type { ProvenHistoryEntry } from "../verify/history.js";
import type { PublishedRules } from "./schemas.js";

// What the portal calls "recomputed here" is decided in this file, with @patron/rules (the
// engine the node and `audit` run) and @patron/ledger: the merchant's published rule versions
// proven in a signed checkpoint and checked against their hashes, then every award of the
// customer's verified history re-run from its recorded inputs. Nothing here does I/O.

export const LOYALTY_TYPES = [
  "order.recorded",
  "points.awarded",
  "order.refunded",
  "points.reversed",
  "points.sent",
  "points.received",
  "redemption.held",
  "redemption.captured",
  "redemption.released",
] as const;
export type LoyaltyType = (typeof LOYALTY_TYPES)[number];

/** What failed about the published rules, for people (words in the catalogues). */
export type RulesProblemKind =
  | "checkpoint"
  | "inclusion"
  | "malformed"
  | "merchant"
  | "hash"
  | "invalid"
  | "missing"
  | "differs";

export interface RulesProblem {
  kind: RulesProblemKind;
  entry?: number;
  rule?: string;
  version?: number;
  /** The technical detail (English). */
  detail: string;
}

/** A rule version published on the ledger, proven and hash-checked here. */
export interface PublishedVersion {
  rv: RuleVersion;
  /** Its rule.published entry. */
  index: number;
  effectiveFrom: string;
}

export interface PublishedCheck {
  ok: boolean;
  problems: RulesProblem[];
  head?: VerifiedCheckpoint;
  /** By `${rule}@${version}`. */
  versions: Map<string, PublishedVersion>;
}

export const versionKey = (rule: string, version: number) => `${rule}@${version}`;

interface PublishedPayload {
  merchantId?: unknown;
  ruleId?: unknown;
  version?: unknown;
  hash?: unknown;
  document?: unknown;
  effectiveFrom?: unknown;
}

/**
 * The merchant's published rules, checked: the checkpoint's signature under the log's key,
 * every entry's inclusion proof in it, each entry a public rule or programme entry of this
 * merchant, each published document hashing to the hash its entry names and a valid rule, and
 * every event of the node's schedule backed by its proven entry.
 */
export function checkPublished(
  answer: PublishedRules,
  key: string,
  merchantId: string,
): PublishedCheck {
  const versions = new Map<string, PublishedVersion>();
  let head: VerifiedCheckpoint;
  try {
    head = openCheckpoint(answer.checkpoint, key);
  } catch (err) {
    return {
      ok: false,
      versions,
      problems: [{ kind: "checkpoint", detail: reasonOf(err) }],
    };
  }
  const problems: RulesProblem[] = [];
  const proven = new Map<number, Entry>();
  for (const e of answer.entries) {
    let bytes: Uint8Array;
    let proof: Uint8Array[];
    try {
      bytes = decodeBase64(e.data);
      proof = e.proof.map(decodeHex);
    } catch (err) {
      problems.push({ kind: "malformed", entry: e.index, detail: reasonOf(err) });
      continue;
    }
    if (!verifyInclusion(BigInt(e.index), BigInt(head.size), hashLeaf(bytes), proof, head.root)) {
      problems.push({
        kind: "inclusion",
        entry: e.index,
        detail: `entry ${e.index}: not in the checkpoint's tree of ${head.size}`,
      });
      continue;
    }
    let entry: Entry;
    try {
      entry = decodeEntry(bytes);
    } catch (err) {
      problems.push({ kind: "malformed", entry: e.index, detail: reasonOf(err) });
      continue;
    }
    const p = entry.payload as PublishedPayload;
    const types = ["rule.published", "rule.retired", "programme.set"];
    if (!types.includes(entry.type) || p?.merchantId !== merchantId) {
      problems.push({
        kind: "merchant",
        entry: e.index,
        detail: `entry ${e.index} is a ${entry.type}, not a published rule or programme of ${merchantId}`,
      });
      continue;
    }
    proven.set(e.index, entry);
    if (entry.type !== "rule.published") continue;
    const id = String(p.ruleId);
    const version = Number(p.version);
    let hash: string;
    try {
      hash = ruleHash(p.document);
    } catch (err) {
      problems.push({
        kind: "invalid",
        entry: e.index,
        rule: id,
        version,
        detail: reasonOf(err),
      });
      continue;
    }
    if (hash !== p.hash) {
      problems.push({
        kind: "hash",
        entry: e.index,
        rule: id,
        version,
        detail: `entry ${e.index}: the document hashes to ${hash}, the entry names ${String(p.hash)}`,
      });
      continue;
    }
    try {
      const rv = ruleVersion(id, version, p.document, hash);
      versions.set(versionKey(id, version), {
        rv,
        index: e.index,
        effectiveFrom: String(p.effectiveFrom),
      });
    } catch (err) {
      problems.push({ kind: "invalid", entry: e.index, rule: id, version, detail: reasonOf(err) });
    }
  }
  // The schedule the node describes must be the entries it proved.
  for (const rule of answer.rules) {
    for (const h of rule.history) {
      const entry = proven.get(h.entryIndex);
      if (!entry) {
        if (!problems.some((p) => p.entry === h.entryIndex)) {
          problems.push({
            kind: "missing",
            entry: h.entryIndex,
            rule: rule.id,
            version: h.version,
            detail: `entry ${h.entryIndex} (${rule.id} v${h.version}) was not served with a proof`,
          });
        }
        continue;
      }
      const p = entry.payload as PublishedPayload;
      const same =
        entry.type === `rule.${h.event}` &&
        p.ruleId === rule.id &&
        p.version === h.version &&
        (h.event === "retired" || p.hash === h.hash) &&
        Date.parse(String(p.effectiveFrom)) === Date.parse(h.effectiveFrom);
      if (!same) {
        problems.push({
          kind: "differs",
          entry: h.entryIndex,
          rule: rule.id,
          version: h.version,
          detail: `entry ${h.entryIndex} does not say what the schedule says of ${rule.id} v${h.version}`,
        });
      }
    }
  }
  return { ok: problems.length === 0, problems, head, versions };
}

/** One award of the history, recomputed. */
export interface AwardCheck {
  rule: string;
  version: number;
  /** The rule's name, from its published document (when found). */
  name?: string;
  recorded: number;
  /** The points the published version gives for the recorded inputs. */
  recomputed?: number;
  state: "ok" | "mismatch" | "unpublished" | "unverified";
  problems: string[];
}

/** A loyalty entry of the customer's verified history, with its awards recomputed. */
export interface LoyaltyRow {
  index: number;
  type: LoyaltyType;
  time: string;
  orderId: string;
  /** order.recorded: amount and currency; points.awarded: points; refunds: before, after. */
  amount?: number;
  currency?: string;
  items?: number;
  points?: number;
  pointsBefore?: number;
  pointsAfter?: number;
  debt?: number;
  writtenOff?: number;
  debtRepaid?: number;
  awards: AwardCheck[];
  /** Problems of the entry as a whole (a total that is not the sum of its awards). */
  problems: string[];
  ok: boolean;
}

export interface LoyaltyVerdict {
  rows: LoyaltyRow[];
  awards: number;
  recomputed: number;
  /** Awards that did not recompute, or could not be. */
  failed: number;
}

function checkOne(award: Award, published: PublishedCheck): AwardCheck {
  const base = { rule: award.rule, version: award.version, recorded: award.points };
  const found = published.versions.get(versionKey(award.rule, award.version));
  if (!found) {
    const failedHere = published.problems.some(
      (p) => p.rule === award.rule && p.version === award.version,
    );
    return {
      ...base,
      state: failedHere || !published.ok ? "unverified" : "unpublished",
      problems: [
        failedHere
          ? `rule ${award.rule} v${award.version} did not verify`
          : published.ok
            ? `rule ${award.rule} v${award.version} is not among the published versions`
            : `rule ${award.rule} v${award.version} is not among the published versions that verified`,
      ],
    };
  }
  const name = found.rv.rule.name;
  let r: ReturnType<typeof checkAward>;
  try {
    r = checkAward(found.rv, award);
  } catch (err) {
    return { ...base, name, state: "mismatch", problems: [reasonOf(err)] };
  }
  return {
    ...base,
    name,
    recomputed: r.outcome?.points,
    state: r.ok ? "ok" : "mismatch",
    problems: r.problems,
  };
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const sum = (awards: readonly AwardCheck[]) => awards.reduce((n, a) => n + a.recorded, 0);

/**
 * The loyalty entries of a verified history (newest first, as given), each award re-run with
 * the published rule version it names from the inputs it recorded (checkAward), and each
 * entry's total checked against its awards; tier and
 * expiry awards are checked all the same (they carry no points).
 */
export function checkLoyaltyHistory(
  entries: readonly ProvenHistoryEntry[],
  published: PublishedCheck,
): LoyaltyVerdict {
  const rows: LoyaltyRow[] = [];
  for (const { index, entry } of entries) {
    if (!(LOYALTY_TYPES as readonly string[]).includes(entry.type)) continue;
    const p = entry.payload as Record<string, unknown>;
    const type = entry.type as LoyaltyType;
    const row: LoyaltyRow = {
      index,
      type,
      time: entry.time,
      orderId: String(p.orderId ?? ""),
      awards: [],
      problems: [],
      ok: true,
    };
    const awardList = Array.isArray(p.awards) ? (p.awards as Award[]) : [];
    if (type === "order.recorded") {
      row.amount = num(p.amount);
      row.currency = typeof p.currency === "string" ? p.currency : undefined;
      row.items = Array.isArray(p.items) ? p.items.length : undefined;
    } else if (type === "points.awarded") {
      row.points = num(p.points);
      row.debtRepaid = num(p.debtRepaid);
      row.awards = awardList.map((a) => checkOne(a, published));
      const total = sum(row.awards);
      if (row.points !== total) {
        row.problems.push(`the entry's total is ${row.points}, its awards add up to ${total}`);
      }
    } else if (type === "order.refunded") {
      row.pointsBefore = num(p.pointsBefore);
      row.pointsAfter = num(p.pointsAfter);
      row.awards = awardList.map((a) => checkOne(a, published));
      // What is left of the order's points: its awards over the net order, never more than before.
      const left = Math.min(row.pointsBefore ?? 0, sum(row.awards));
      if (row.pointsAfter !== left) {
        row.problems.push(
          `the refund leaves ${row.pointsAfter} points, its awards over the net order give ${left}`,
        );
      }
    } else {
      row.points = num(p.points);
      row.debt = num(p.debt);
      row.writtenOff = num(p.writtenOff);
      // Points received or credited repay a debt first, as awarded ones do.
      row.debtRepaid = num(p.debtRepaid);
    }
    row.ok = row.problems.length === 0 && row.awards.every((a) => a.state === "ok");
    rows.push(row);
  }
  const all = rows.flatMap((r) => r.awards);
  return {
    rows,
    awards: all.length,
    recomputed: all.filter((a) => a.state === "ok").length,
    failed:
      all.filter((a) => a.state !== "ok").length + rows.filter((r) => r.problems.length).length,
  };
}

/** The rule document of a published version, for plain words. */
export const ruleOf = (v: PublishedVersion): Rule => v.rv.rule;

import { canonicalJson, commandExpiry, type Entry } from "@patron/ledger";
import type { EntryTypeSpec } from "../domain.js";
import type { AuditProblem } from "./audit.js";
import { signatureProblems } from "./entry-checks.js";
import { MAX_COMMAND_LIFETIME_MS, partyId } from "./sequencer.js";

/** A domain's own invariants over the log, checked while `audit` replays it. */
export interface DomainAuditor {
  visit(index: bigint, entry: Entry, report: (p: AuditProblem) => void): void;
  finish(report: (p: AuditProblem) => void): void;
}

/**
 * What `audit` checks in each decoded entry beyond its bytes: every signed command's signature
 * (decision 5), every party the entry concerns listed in `subjects` with the right `prev`, so
 * each chain has no gap (decision 7), and the sealing its type demands (decision 6).
 *
 * Entries written before chains existed carry no `subjects`; the checks of parties and sealing
 * start at the first entry that does.
 */
export class EntryAuditor {
  private readonly heads = new Map<string, bigint>();
  private readonly specs: Map<string, EntryTypeSpec>;
  private chainsFrom: bigint | undefined;
  private lastTime = Number.NEGATIVE_INFINITY;
  /** The signed command of the entry before, so a command's entries count as one use. */
  private lastSigned: { index: bigint; json: string } | undefined;
  /** Nonces in use: by actor and nonce, the entry that spent it and when its command expires. */
  private readonly nonces = new Map<string, { index: bigint; expires: number }>();

  constructor(
    specs: readonly EntryTypeSpec[],
    private readonly domains: readonly DomainAuditor[] = [],
    /** The log's origin: every signed command must be addressed to it. */
    readonly origin?: string,
  ) {
    this.specs = new Map(specs.map((s) => [s.type, s]));
  }

  /** Parties with a chain, and the index of each one's last entry. */
  get chains(): ReadonlyMap<string, bigint> {
    return this.heads;
  }

  /**
   * Checks one entry, in index order. `signatures` are its signature problems when they were
   * checked already (by `signatureProblems`, on another thread); otherwise they are checked here.
   */
  visit(
    index: bigint,
    entry: Entry,
    report: (p: AuditProblem) => void,
    signatures?: readonly string[],
  ): void {
    const at = index.toString();
    const time = Date.parse(entry.time);
    if (time < this.lastTime) {
      report({ kind: "entry", at, message: "its time is before the previous entry's" });
    }
    this.lastTime = Math.max(this.lastTime, time);
    if (entry.signed) this.checkCommandUse(index, time, entry, report);
    for (const message of signatures ?? signatureProblems(entry, this.origin)) {
      report({ kind: "entry", at, message });
    }
    if (entry.subjects && this.chainsFrom === undefined) this.chainsFrom = index;
    const seen = new Set<string>();
    for (const s of entry.subjects ?? []) {
      const id = partyId(s);
      seen.add(id);
      const last = this.heads.get(id);
      const prev = s.prev === null ? undefined : BigInt(s.prev);
      if (prev !== last) {
        report({
          kind: "chain",
          at,
          message: `names ${id} with prev ${s.prev ?? "null"}, but that party's previous entry is ${last ?? "none"}`,
        });
      }
      this.heads.set(id, index);
    }
    if (this.chainsFrom !== undefined) {
      const spec = this.specs.get(entry.type);
      if (spec) {
        for (const p of spec.parties(entry)) {
          const id = partyId(p);
          if (!seen.has(id)) {
            report({
              kind: "chain",
              at,
              message: `concerns ${id} but does not list it in subjects`,
            });
          }
        }
        const sealed = entry.salt !== undefined;
        if (spec.sealing === "sealed" && !sealed) {
          report({ kind: "entry", at, message: `a ${entry.type} entry must be sealed` });
        } else if (spec.sealing === "public" && sealed) {
          report({ kind: "entry", at, message: `a ${entry.type} entry must be public` });
        }
      }
    }
    for (const d of this.domains) d.visit(index, entry, report);
  }

  /** A signed command is used once (its nonce), before it expires, at most 24 h ahead. */
  private checkCommandUse(
    index: bigint,
    time: number,
    entry: Entry,
    report: (p: AuditProblem) => void,
  ): void {
    const signed = entry.signed;
    if (!signed) return;
    const at = index.toString();
    const json = canonicalJson(signed);
    const sameCommand = this.lastSigned?.index === index - 1n && this.lastSigned.json === json;
    this.lastSigned = { index, json };
    if (sameCommand) return;
    let expires: number;
    try {
      expires = commandExpiry(signed.command);
    } catch {
      return; // the signature check reports a malformed command
    }
    if (expires <= time) {
      report({ kind: "entry", at, message: "its signed command had expired when it was written" });
    } else if (expires > time + MAX_COMMAND_LIFETIME_MS) {
      report({ kind: "entry", at, message: "its signed command expires more than 24 h ahead" });
    }
    const key = `${signed.command.actor}\u0000${signed.command.nonce}`;
    const used = this.nonces.get(key);
    if (used && used.expires > time) {
      report({ kind: "entry", at, message: `its command reuses the nonce of entry ${used.index}` });
    }
    this.nonces.set(key, { index, expires });
    if (this.nonces.size > 100_000) {
      // An expired nonce can never be accepted again, so it need not be remembered.
      for (const [k, v] of this.nonces) if (v.expires <= time) this.nonces.delete(k);
    }
  }

  finish(report: (p: AuditProblem) => void): void {
    for (const d of this.domains) d.finish(report);
  }
}

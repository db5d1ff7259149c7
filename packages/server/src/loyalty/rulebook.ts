import type { RuleVersion } from "@patron/rules";

/** A publication or retirement of a rule, from a time on. */
export interface RuleEvent {
  kind: "published" | "retired";
  /** The version published, or the latest one when it was retired. */
  version: number;
  /** ms: from when it holds. */
  from: number;
  /** The entry that made it. */
  index: bigint;
}

/** One rule of a merchant: its versions and the events still in its schedule. */
export interface RuleTimeline {
  id: string;
  /** Every version published and not replaced before it took effect, by number. */
  versions: ReadonlyMap<number, RuleVersion>;
  /** The highest version number ever published (replaced ones too): the next is one more. */
  latest: number;
  /** The events that hold, in order of `from` (which is also log order). */
  events: readonly RuleEvent[];
}

/**
 * A merchant's rules as the ledger says they stand: which version of each is in force at a
 * time. Immutable: `apply` returns a new book, so the sequencer can stage it (decision 1).
 *
 * A publication or retirement holds from its `from` until the next one's. One whose `from` is
 * at or before an event still scheduled replaces that event: the scheduled version never takes
 * effect (a later publication wins). Since no event may start before the entry that makes it,
 * what held in the past never changes.
 */
export class RuleBook {
  constructor(readonly rules: ReadonlyMap<string, RuleTimeline> = new Map()) {}

  get(id: string): RuleTimeline | undefined {
    return this.rules.get(id);
  }

  /** A new book with the event applied (and `rv`, for a publication). */
  apply(id: string, event: RuleEvent, rv?: RuleVersion): RuleBook {
    const before = this.rules.get(id);
    const kept = (before?.events ?? []).filter((e) => e.from < event.from);
    const replaced = (before?.events ?? []).filter((e) => e.from >= event.from);
    const versions = new Map(before?.versions ?? []);
    for (const e of replaced) if (e.kind === "published") versions.delete(e.version);
    let latest = before?.latest ?? 0;
    if (event.kind === "published") {
      if (!rv) throw new Error("a publication needs its rule version");
      versions.set(rv.version, rv);
      latest = Math.max(latest, rv.version);
    }
    const rules = new Map(this.rules);
    rules.set(id, { id, versions, latest, events: [...kept, event] });
    return new RuleBook(rules);
  }

  /**
   * The retirement that already ends `id` from `ms` on, if any: the rule's last event is a
   * retirement from `ms` or before, so nothing is scheduled after it. A retirement at `ms` would
   * change nothing then; one sooner than a retirement still scheduled replaces it.
   */
  retiredFrom(id: string, ms: number): RuleEvent | undefined {
    const last = this.rules.get(id)?.events.at(-1);
    return last?.kind === "retired" && last.from <= ms ? last : undefined;
  }

  /** The event of `id` that holds at `ms`, if any. */
  eventAt(id: string, ms: number): RuleEvent | undefined {
    const t = this.rules.get(id);
    let found: RuleEvent | undefined;
    for (const e of t?.events ?? []) {
      if (e.from <= ms) found = e;
      else break;
    }
    return found;
  }

  /** The version of `id` in force at `ms`, if any. */
  versionAt(id: string, ms: number): RuleVersion | undefined {
    const e = this.eventAt(id, ms);
    return e?.kind === "published" ? this.rules.get(id)?.versions.get(e.version) : undefined;
  }

  /** Every rule version in force at `ms`, by rule id. */
  inForce(ms: number): RuleVersion[] {
    const out: RuleVersion[] = [];
    for (const id of [...this.rules.keys()].sort()) {
      const rv = this.versionAt(id, ms);
      if (rv) out.push(rv);
    }
    return out;
  }
}

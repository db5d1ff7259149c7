// A customer's chain (decision 7): every entry naming the customer links, in its `subjects`,
// to the customer's previous entry. Given the entries the timeline lists (newest first, each
// already verified), the links must join them one to the next with nothing in between, and the
// oldest, once the whole chain is loaded, must link to nothing.

export type ChainCheck =
  | { state: "complete"; entries: number }
  | { state: "partial"; entries: number }
  | { state: "broken"; at: number; prev: number | null; expected: number | null };

/** The customer's `prev` in a decoded entry: undefined when the entry does not name them. */
export function prevOf(entry: unknown, customerId: string): number | null | undefined {
  const subjects = (entry as { subjects?: unknown } | undefined)?.subjects;
  if (!Array.isArray(subjects)) return undefined;
  for (const s of subjects) {
    if (
      typeof s === "object" &&
      s !== null &&
      (s as { customer?: unknown }).customer === customerId
    ) {
      const prev = (s as { prev?: unknown }).prev;
      return typeof prev === "number" ? prev : prev === null ? null : undefined;
    }
  }
  return undefined;
}

/**
 * `entries`: the timeline's entries newest first, as { index, entry }. `whole`: the timeline
 * has no more pages, so the oldest listed is the chain's first.
 */
export function checkChain(
  customerId: string,
  entries: readonly { index: number; entry: unknown }[],
  whole: boolean,
): ChainCheck {
  for (let i = 0; i < entries.length; i++) {
    const current = entries[i] as { index: number; entry: unknown };
    const older = entries[i + 1];
    const expected = older ? older.index : whole ? null : undefined;
    const prev = prevOf(current.entry, customerId);
    if (prev === undefined) {
      return { state: "broken", at: current.index, prev: null, expected: expected ?? null };
    }
    if (expected !== undefined && prev !== expected) {
      return { state: "broken", at: current.index, prev, expected };
    }
  }
  return whole
    ? { state: "complete", entries: entries.length }
    : { state: "partial", entries: entries.length };
}

import type { RuleView } from "./api.js";

/** The rule's name: its draft's, else its version in force's, else its id. */
export function ruleName(r: RuleView): string {
  for (const doc of [r.draft?.document, r.current?.document]) {
    const name = (doc as { name?: unknown } | undefined)?.name;
    if (typeof name === "string" && name) return name;
  }
  return r.id;
}

/**
 * The publication that holds now or holds next: its version, from when and until when (null:
 * until further notice). Retired rules: the last version and when it ended.
 */
export function inForce(r: RuleView, now: number) {
  const live = r.history.filter((h) => !h.replaced);
  const current = live.find(
    (h) =>
      h.event === "published" &&
      Date.parse(h.effectiveFrom) <= now &&
      (h.effectiveUntil === null || Date.parse(h.effectiveUntil) > now),
  );
  if (current) return { ...current, scheduled: false };
  const next = live.find((h) => h.event === "published" && Date.parse(h.effectiveFrom) > now);
  if (next) return { ...next, scheduled: true };
  const ended = [...live].reverse().find((h) => h.event === "published");
  return ended ? { ...ended, scheduled: false } : undefined;
}

import type { RuleView } from "./api.js";

/**
 * The rule's name: its draft's, else its version in force's, else its latest publication's (a
 * scheduled rule has no version in force yet), else its id.
 */
export function ruleName(r: RuleView): string {
  for (const doc of [r.draft?.document, r.current?.document]) {
    const name = (doc as { name?: unknown } | undefined)?.name;
    if (typeof name === "string" && name) return name;
  }
  const published = r.history.filter((h) => h.event === "published" && h.name);
  return published.at(-1)?.name ?? r.id;
}

/**
 * The validity a rule version sets itself in its document (`validFrom`, `validUntil`), apart
 * from when its publication holds: `always` when it sets none.
 */
export function ownValidity(h: {
  validFrom?: string | null;
  validUntil?: string | null;
}):
  | { kind: "always" }
  | { kind: "from"; from: string }
  | { kind: "until"; until: string }
  | { kind: "between"; from: string; until: string } {
  const from = h.validFrom ?? undefined;
  const until = h.validUntil ?? undefined;
  if (from && until) return { kind: "between", from, until };
  if (from) return { kind: "from", from };
  if (until) return { kind: "until", until };
  return { kind: "always" };
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

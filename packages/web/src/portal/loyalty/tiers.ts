import type { ProvenHistoryEntry } from "../verify/history.js";
import type { Tier } from "./schemas.js";

// Progress toward the programme's tiers, counted in the browser from the customer's verified
// history: points earned (awarded less reversed) or spend (orders net of refunds) over the
// tier's rolling window. The merchant's node decides the tier itself; this says how far the
// entries the customer can check go toward each threshold.

/** Calendar months before `now`, day for day (clamped to the month's last day), in UTC. */
export function monthsBefore(now: number, months: number): number {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() - months;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(
    y,
    m,
    Math.min(d.getUTCDate(), last),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

/** What counts toward `metric` in the window of `months` up to `now`. */
export function qualifying(
  entries: readonly ProvenHistoryEntry[],
  metric: Tier["qualification"]["metric"],
  months: number,
  now: number,
): number {
  const from = monthsBefore(now, months);
  const inWindow = (time: string) => {
    const at = Date.parse(time);
    return at > from && at <= now;
  };
  let total = 0;
  // Oldest first, so a refund's net amount replaces its order's.
  const spend = new Map<string, number>();
  for (const { entry } of [...entries].reverse()) {
    const p = entry.payload as Record<string, unknown>;
    const n = (v: unknown) => (typeof v === "number" ? v : 0);
    if (metric === "points") {
      if (entry.type === "points.awarded" && inWindow(entry.time)) total += n(p.points);
      if (entry.type === "points.reversed" && inWindow(entry.time)) total -= n(p.points);
    } else {
      const order = String(p.orderId ?? "");
      if (entry.type === "order.recorded" && inWindow(String(p.occurredAt ?? entry.time))) {
        spend.set(order, n(p.amount));
      }
      if (entry.type === "order.refunded" && spend.has(order)) {
        const net = p.net as { amount?: unknown } | undefined;
        spend.set(order, n(net?.amount));
      }
    }
  }
  if (metric === "spend") for (const v of spend.values()) total += v;
  return Math.max(0, total);
}

/** The next tier above `current` (lowest first, as the programme lists them), if any. */
export function nextTier(tiers: readonly Tier[], current: string | null): Tier | undefined {
  if (current === null) return tiers[0];
  const at = tiers.findIndex((t) => t.id === current);
  return at < 0 ? undefined : tiers[at + 1];
}

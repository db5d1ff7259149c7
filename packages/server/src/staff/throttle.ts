import type { Clock } from "../ledger/clock.js";

/**
 * Token buckets by key (an email's keyed hash, a client address): each holds up to `capacity`
 * attempts and gets one back every `refillMs`. Kept in memory on the node that serves the
 * sign-ins, never stored; the map is bounded by dropping full buckets, which hold nothing worth
 * remembering.
 */
export class Throttle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly refillMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one attempt; returns 0 when allowed, or the milliseconds until the next one is. */
  take(key: string): number {
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const refilled = Math.min(this.capacity, b.tokens + Math.max(0, now - b.at) / this.refillMs);
    if (refilled < 1) {
      this.buckets.set(key, { tokens: refilled, at: now });
      return Math.ceil((1 - refilled) * this.refillMs);
    }
    if (this.buckets.size >= this.maxKeys) this.prune(now);
    this.buckets.set(key, { tokens: refilled - 1, at: now });
    return 0;
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }

  private prune(now: number) {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) / this.refillMs >= this.capacity) this.buckets.delete(key);
    }
    // Under a flood of distinct keys nothing is full: forget the oldest half instead.
    if (this.buckets.size >= this.maxKeys) {
      let drop = this.buckets.size / 2;
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}

import type { Expiry, ExpirySweepResult } from "./expiry.js";
import type { ReleaseLapsed } from "./state.js";
import type { TierSweepResult, Tiers } from "./tiers.js";

/** How often the node runs the loyalty sweep, in ms (real time; what is due is on the clock). */
export const LOYALTY_SWEEP_MS = 60_000;

/** What one run of the sweep wrote. */
export interface LoyaltySweepResult {
  /** Holds that lapsed whose `redemption.released` (reason `expired`) entries it wrote. */
  released: number;
  expired: ExpirySweepResult;
  tiers: TierSweepResult;
}

/**
 * The loyalty domain's one scheduled job: a run writes, in this order, the release of holds
 * that lapsed (their points go back to their lots, which may have expired meanwhile), the
 * `points.expired` entries of lots whose expiry passed, then the downgrades of tiers whose
 * window no longer qualifies. The node runs it on one timer (`PATRON_LOYALTY_SWEEP_MS`);
 * `POST /v1/loyalty/sweep` runs it for one merchant at once. Every run decides what is due
 * afresh from the log and the injected clock, so a run that fails is simply done again.
 */
export class LoyaltySweeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly releaseLapsed: ReleaseLapsed,
    private readonly expiry: Expiry,
    private readonly tiers: Tiers,
  ) {}

  /** One run, for one merchant or every merchant; each step bounded by `limit` (its default). */
  async run(
    actor: string,
    opts: { merchantId?: string; limit?: number } = {},
  ): Promise<LoyaltySweepResult> {
    const released = await this.releaseLapsed(opts.merchantId);
    const expired = await this.expiry.sweep(actor, opts);
    const tiers = await this.tiers.sweep(actor, opts);
    return { released, expired, tiers };
  }

  /** Runs every `ms` as `actor`, a run at a time (a tick while one runs is skipped). */
  start(actor: string, ms: number, log?: (line: string) => void): void {
    this.timer = setInterval(() => {
      this.running ??= this.run(actor)
        // Retried on the next tick; every run decides afresh from the log.
        .catch((err) => log?.(`Loyalty sweep failed: ${err}`))
        .finally(() => {
          this.running = undefined;
        });
    }, ms);
    this.timer.unref?.();
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

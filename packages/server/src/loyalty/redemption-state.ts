import type { Queryable } from "../db/database.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import type { Take } from "./lots.js";

/** Points taken from a lot, with the lot's instants, so a release can put the lot back whole. */
export interface HeldTake extends Take {
  availableAt: number;
  expiresAt: number | null;
  /** The lot's own expiry, which renewals never push past (see WalletLot). */
  fixedExpiresAt: number | null;
}

import type { RewardRecord } from "./redemption-entries.js";

export type HoldStatus = "held" | "captured" | "released";

/** A redemption as the sequencer checks captures and releases against it. */
export interface HoldState {
  id: string;
  customerId: string;
  kind: "discount" | "reward";
  reward: { id: string; version: number } | null;
  points: number;
  code: string;
  /** ms since the epoch: the hold lapses then unless captured. */
  expiresAt: number;
  status: HoldStatus;
  /** The index of its redemption.held entry. */
  held: bigint;
  taken: HeldTake[];
  /** What its redemption.held entry says besides, for the answers built without a read. */
  value: number;
  currency: string;
  requestedBy: "customer" | "merchant";
  /** ms since the epoch: the time of its redemption.held entry. */
  createdAt: number;
}

/** A reward of the catalogue, at its latest version; `reward.stock` is what is left. */
export interface RewardState {
  version: number;
  reward: RewardRecord;
}

const key = (...parts: string[]) => parts.join("\u0000");
const parsed = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

interface HoldRow {
  redemption_id: string;
  customer_id: string;
  kind: "discount" | "reward";
  reward_id: string | null;
  reward_version: number | null;
  points: string | number;
  code: string;
  expires_at: string | Date;
  status: HoldStatus;
  held_idx: string | number;
  taken: unknown;
  value: string | number;
  currency: string;
  requested_by: "customer" | "merchant";
  created_at: string | Date;
}

const HOLD_COLUMNS =
  "redemption_id, customer_id, kind, reward_id, reward_version, points, code, expires_at, status, held_idx, taken, value, currency, requested_by, created_at";

const holdOf = (r: HoldRow): HoldState => ({
  id: r.redemption_id,
  customerId: r.customer_id,
  kind: r.kind,
  reward: r.reward_id === null ? null : { id: r.reward_id, version: Number(r.reward_version ?? 1) },
  points: Number(r.points),
  code: r.code,
  expiresAt: new Date(r.expires_at).getTime(),
  status: r.status,
  held: BigInt(r.held_idx),
  taken: parsed<Take[]>(r.taken).map((t) => ({
    ...t,
    availableAt: 0,
    expiresAt: null,
    fixedExpiresAt: null,
  })),
  value: Number(r.value),
  currency: r.currency,
  requestedBy: r.requested_by,
  createdAt: new Date(r.created_at).getTime(),
});

/** An open hold: enough to tell whether it lapsed. */
interface OpenHold {
  customerId: string;
  expiresAt: number;
}

/** Most values of each kind kept in memory; past it the committed ones are read again. */
const MAX_KEPT = 100_000;

/**
 * Redemptions' validation state (decision 1): holds by id and by their open code, the
 * catalogue's rewards with their stock, and how many of each reward each customer holds or
 * captured, as committed plus staged layers. Committed values are read from the projections
 * the first time a check needs them; unknown ids and codes are not kept, so strangers cannot
 * fill the memory.
 */
export class RedemptionState {
  private readonly holds: StagedMap<string, HoldState>;
  private readonly codes: StagedMap<string, string>;
  private readonly rewards: StagedMap<string, RewardState>;
  private readonly usage: StagedMap<string, number>;
  /** Open holds (held, lapsed or not) by merchant and id: whose, and when they lapse. */
  private readonly open: StagedMap<string, OpenHold>;
  /**
   * The ids that may be open holds of each customer, by merchant and customer: every hold
   * loaded or staged, until `open` no longer has it, staged or committed.
   */
  private readonly openOf = new Map<string, Set<string>>();
  /**
   * Merchants whose open holds are all in `codes` and `open`: read once from the projection,
   * and every hold, capture and release since was staged there (this node is the ledger's only
   * writer). Forgotten whenever those forget what they committed.
   */
  private readonly openLoaded = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
  ) {
    this.holds = sequencer.state.add(new StagedMap());
    this.codes = sequencer.state.add(new StagedMap());
    this.rewards = sequencer.state.add(new StagedMap());
    this.usage = sequencer.state.add(new StagedMap());
    this.open = sequencer.state.add(new StagedMap());
    sequencer.onRecover(async () => {
      this.holds.clearCommitted();
      this.forgetOpen();
      this.rewards.clearCommitted();
      this.usage.clearCommitted();
    });
  }

  /** A redemption by id (staged), or undefined. */
  async hold(merchantId: string, id: string): Promise<HoldState | undefined> {
    const k = key(merchantId, id);
    const known = this.holds.get(k);
    if (known) return known;
    const { rows } = await this.db.query<HoldRow>(
      `SELECT ${HOLD_COLUMNS} FROM loyalty_redemptions WHERE merchant_id = $1 AND redemption_id = $2`,
      [merchantId, id],
    );
    const r = rows[0];
    if (!r) return undefined;
    const h = holdOf(r);
    // The lots' instants, for a release that puts a lot spent to nothing back.
    const lots = await this.db.query<{
      entry_idx: string | number;
      available_at: string | Date;
      expires_at: string | Date | null;
      fixed_expires_at: string | Date | null;
    }>(
      `SELECT entry_idx, available_at, expires_at, fixed_expires_at FROM loyalty_lots
       WHERE merchant_id = $1 AND entry_idx = ANY($2::bigint[])`,
      [merchantId, h.taken.map((t) => String(t.lot))],
    );
    for (const t of h.taken) {
      const l = lots.rows.find((x) => Number(x.entry_idx) === t.lot);
      if (!l) throw new Error(`redemption ${id} took from lot ${t.lot}, which has no row`);
      t.availableAt = new Date(l.available_at).getTime();
      t.expiresAt = l.expires_at === null ? null : new Date(l.expires_at).getTime();
      t.fixedExpiresAt =
        l.fixed_expires_at === null ? null : new Date(l.fixed_expires_at).getTime();
    }
    if (this.holds.committedSize > MAX_KEPT) this.holds.clearCommitted();
    if (!this.holds.hasCommitted(k)) this.holds.load(k, h);
    return this.holds.get(k);
  }

  /** The redemption an open (held) code names, or undefined (staged). */
  async byCode(merchantId: string, code: string): Promise<HoldState | undefined> {
    const k = key(merchantId, code);
    const id = this.codes.get(k);
    if (id !== undefined) return this.hold(merchantId, id);
    const { rows } = await this.db.query<HoldRow>(
      `SELECT ${HOLD_COLUMNS} FROM loyalty_redemptions
       WHERE merchant_id = $1 AND code = $2 AND status = 'held'`,
      [merchantId, code],
    );
    const r = rows[0];
    if (!r) return undefined;
    this.loadCode(k, r.redemption_id);
    const now = this.codes.get(k);
    return now === undefined ? undefined : this.hold(merchantId, now);
  }

  private loadCode(k: string, id: string): void {
    if (this.codes.committedSize > MAX_KEPT || this.open.committedSize > MAX_KEPT) {
      this.forgetOpen();
    }
    if (!this.codes.hasCommitted(k)) this.codes.load(k, id);
  }

  private forgetOpen(): void {
    this.codes.clearCommitted();
    this.open.clearCommitted();
    this.openOf.clear();
    this.openLoaded.clear();
  }

  private addOpen(merchantId: string, customerId: string, id: string): void {
    const k = key(merchantId, customerId);
    const ids = this.openOf.get(k);
    if (ids) ids.add(id);
    else this.openOf.set(k, new Set([id]));
  }

  /** Whether the merchant's open holds are all known (read once, the first time). */
  private async openKnown(merchantId: string): Promise<boolean> {
    let loaded = this.openLoaded.get(merchantId);
    if (!loaded) {
      loaded = this.loadOpen(merchantId);
      this.openLoaded.set(merchantId, loaded);
      loaded.catch(() => {
        if (this.openLoaded.get(merchantId) === loaded) this.openLoaded.delete(merchantId);
      });
    }
    await loaded;
    // Forgotten meanwhile (too many open holds to keep): not known.
    return this.openLoaded.get(merchantId) === loaded;
  }

  private async loadOpen(merchantId: string): Promise<void> {
    const { rows } = await this.db.query<{
      code: string;
      redemption_id: string;
      customer_id: string;
      expires_at: string | Date;
    }>(
      `SELECT code, redemption_id, customer_id, expires_at FROM loyalty_redemptions
       WHERE merchant_id = $1 AND status = 'held'`,
      [merchantId],
    );
    for (const r of rows) {
      this.loadCode(key(merchantId, r.code), r.redemption_id);
      const k = key(merchantId, r.redemption_id);
      // A hold closed since the row was read may come back here: one read too many later on
      // (its release finds nothing to do), never a lapsed hold missed.
      if (!this.open.hasCommitted(k)) {
        this.open.load(k, {
          customerId: r.customer_id,
          expiresAt: new Date(r.expires_at).getTime(),
        });
      }
      this.addOpen(merchantId, r.customer_id, r.redemption_id);
    }
  }

  /**
   * Whether the customer may have a hold that lapsed by `now` and is still held (staged): from
   * memory once the merchant's open holds are known, so the release-before-spending that
   * holds and transfers do reads the database only when there is something to release.
   */
  async mayHaveLapsed(merchantId: string, customerId: string, now: number): Promise<boolean> {
    if (!(await this.openKnown(merchantId))) return true;
    const ids = this.openOf.get(key(merchantId, customerId));
    if (!ids) return false;
    let lapsed = false;
    for (const id of ids) {
      const k = key(merchantId, id);
      const h = this.open.get(k);
      if (h) lapsed ||= h.expiresAt <= now;
      // Closed, and committed so (or never committed at all): no longer a candidate.
      else if (!this.open.hasCommitted(k)) ids.delete(id);
    }
    if (ids.size === 0) this.openOf.delete(key(merchantId, customerId));
    return lapsed;
  }

  /**
   * Whether an open hold of the merchant has the code, from memory: the merchant's open codes
   * are read once (one query, the first time), and every hold since is staged here. A fresh
   * code is thus checked with no read per hold; the sequencer's check looks again (`knownCode`)
   * at what was staged meanwhile.
   */
  async codeTaken(merchantId: string, code: string): Promise<boolean> {
    if (!(await this.openKnown(merchantId))) {
      // Too many open holds to keep: the projection answers for this one.
      return (await this.byCode(merchantId, code)) !== undefined;
    }
    return this.knownCode(merchantId, code);
  }

  /**
   * Whether an open hold this node knows (staged, committed since it started, or read by
   * `byCode`) has the code; no database read, for the sequencer's check after `byCode` read the
   * projection before the command was queued.
   */
  knownCode(merchantId: string, code: string): boolean {
    return this.codes.get(key(merchantId, code)) !== undefined;
  }

  /** Stages a redemption: its code names it while it is held, and no longer once it is not. */
  stageHold(merchantId: string, h: HoldState): void {
    this.holds.set(key(merchantId, h.id), h);
    if (h.status === "held") this.codes.set(key(merchantId, h.code), h.id);
    else this.codes.delete(key(merchantId, h.code));
    const k = key(merchantId, h.id);
    if (h.status === "held") {
      this.open.set(k, { customerId: h.customerId, expiresAt: h.expiresAt });
      this.addOpen(merchantId, h.customerId, h.id);
    } else this.open.delete(k);
  }

  /** A reward of the catalogue at its latest version (staged), or undefined. */
  async reward(merchantId: string, rewardId: string): Promise<RewardState | undefined> {
    const k = key(merchantId, rewardId);
    const known = this.rewards.get(k);
    if (known) return known;
    const { rows } = await this.db.query<{
      version: number;
      name: string;
      points: string | number;
      stock: string | number | null;
      per_customer_limit: number | null;
      active: boolean;
    }>(
      `SELECT version, name, points, stock, per_customer_limit, active FROM loyalty_rewards
       WHERE merchant_id = $1 AND reward_id = $2`,
      [merchantId, rewardId],
    );
    const r = rows[0];
    if (!r) return undefined;
    const state: RewardState = {
      version: Number(r.version),
      reward: {
        name: r.name,
        points: Number(r.points),
        stock: r.stock === null ? null : Number(r.stock),
        perCustomerLimit: r.per_customer_limit === null ? null : Number(r.per_customer_limit),
        active: r.active,
      },
    };
    if (this.rewards.committedSize > MAX_KEPT) this.rewards.clearCommitted();
    if (!this.rewards.hasCommitted(k)) this.rewards.load(k, state);
    return this.rewards.get(k);
  }

  stageReward(merchantId: string, rewardId: string, s: RewardState): void {
    this.rewards.set(key(merchantId, rewardId), s);
  }

  /** How many of a reward the customer holds or captured (staged). */
  async rewardUsage(merchantId: string, rewardId: string, customerId: string): Promise<number> {
    const k = key(merchantId, rewardId, customerId);
    const known = this.usage.get(k);
    if (known !== undefined) return known;
    const { rows } = await this.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM loyalty_redemptions
       WHERE merchant_id = $1 AND reward_id = $2 AND customer_id = $3 AND status <> 'released'`,
      [merchantId, rewardId, customerId],
    );
    const n = Number(rows[0]?.n ?? 0);
    if (this.usage.committedSize > MAX_KEPT) this.usage.clearCommitted();
    if (!this.usage.hasCommitted(k)) this.usage.load(k, n);
    return this.usage.get(k) ?? n;
  }

  stageRewardUsage(merchantId: string, rewardId: string, customerId: string, n: number): void {
    this.usage.set(key(merchantId, rewardId, customerId), n);
  }
}

import { canonicalJson, type JsonValue } from "@patron/ledger";
import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { Label } from "../http/schemas.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { newId } from "../tenancy/tenancy.js";
import { REWARD_SET, type RewardRecord, type RewardSetPayload } from "./redemption-entries.js";
import type { RedemptionState } from "./redemption-state.js";

/** Most points a reward may cost, and most of it in stock. */
export const MAX_REWARD_POINTS = 1_000_000_000;
export const MAX_STOCK = 1_000_000_000;

export const RewardId = z
  .string()
  .regex(/^rw_[A-Za-z0-9_-]{1,64}$/, "must be a reward id such as rw_abc123");

const Fields = {
  name: Label(100).describe("what customers see it called (no personal data)"),
  points: z.number().int("must be an integer").min(1).max(MAX_REWARD_POINTS).describe("its cost"),
  stock: z
    .number()
    .int("must be an integer")
    .min(0)
    .max(MAX_STOCK)
    .nullable()
    .describe("how many are left; null: unlimited"),
  perCustomerLimit: z
    .number()
    .int("must be an integer")
    .min(1)
    .max(MAX_STOCK)
    .nullable()
    .describe("how many one customer may redeem (held or captured); null: no limit"),
  active: z.boolean().describe("whether it can be redeemed"),
};

export const RewardInput = z.strictObject({
  name: Fields.name,
  points: Fields.points,
  stock: Fields.stock.default(null),
  perCustomerLimit: Fields.perCustomerLimit.default(null),
  active: Fields.active.default(true),
});
export type RewardInput = z.infer<typeof RewardInput>;

export const RewardPatch = z
  .strictObject({
    name: Fields.name.optional(),
    points: Fields.points.optional(),
    stock: Fields.stock.optional(),
    perCustomerLimit: Fields.perCustomerLimit.optional(),
    active: Fields.active.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "name at least one field");
export type RewardPatch = z.infer<typeof RewardPatch>;

const same = (a: RewardRecord, b: RewardRecord) =>
  canonicalJson(a as unknown as JsonValue) === canonicalJson(b as unknown as JsonValue);

export interface RewardView extends RewardRecord {
  id: string;
  version: number;
  updatedAt: string;
  entryIndex: number;
}

interface RewardRow {
  reward_id: string;
  version: number;
  name: string;
  points: string | number;
  stock: string | number | null;
  per_customer_limit: number | null;
  active: boolean;
  updated_at: string | Date;
  entry_idx: string | number;
}

const viewOf = (r: RewardRow): RewardView => ({
  id: r.reward_id,
  version: Number(r.version),
  name: r.name,
  points: Number(r.points),
  stock: r.stock === null ? null : Number(r.stock),
  perCustomerLimit: r.per_customer_limit === null ? null : Number(r.per_customer_limit),
  active: r.active,
  updatedAt: new Date(r.updated_at).toISOString(),
  entryIndex: Number(r.entry_idx),
});

/**
 * The merchant's catalogue of rewards (issue 9). Every creation and change is a public
 * `reward.set` entry carrying the whole reward and its version, derived in the sequencer from
 * the staged catalogue, so a change and a redemption in one batch see each other in order. A
 * reward is never deleted: it is deactivated, and its history stays.
 */
export class Catalogue {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly state: RedemptionState,
  ) {}

  async create(merchantId: string, actor: string, input: RewardInput): Promise<RewardView> {
    return this.write(merchantId, actor, newId("rw"), () => input, true);
  }

  async update(
    merchantId: string,
    actor: string,
    rewardId: string,
    patch: RewardPatch,
  ): Promise<RewardView> {
    return this.write(merchantId, actor, rewardId, (before) => {
      if (!before) throw new ApiError(404, "not_found", `reward ${rewardId} not found`);
      const next = { ...before, ...patch };
      return next;
    });
  }

  private async write(
    merchantId: string,
    actor: string,
    rewardId: string,
    next: (before: RewardRecord | undefined) => RewardRecord,
    creating = false,
  ): Promise<RewardView> {
    let payload: RewardSetPayload | undefined;
    let unchanged = false;
    const [committed] = await this.sequencer.execute({
      entries: [
        {
          type: REWARD_SET,
          actor,
          parties: [{ merchant: merchantId }],
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async () => {
        const before = await this.state.reward(merchantId, rewardId);
        if (creating && before) throw new ApiError(409, "conflict", `reward ${rewardId} exists`);
        const reward = next(before?.reward);
        if (before && same(reward, before.reward)) {
          unchanged = true;
          throw new ApiError(409, "unchanged", "these values are the reward's already");
        }
        const version = (before?.version ?? 0) + 1;
        this.state.stageReward(merchantId, rewardId, { version, reward });
        payload = { merchantId, rewardId, version, reward };
      },
    });
    if (!committed || unchanged) throw new Error("a reward change committed no entry");
    const p = committed.entry.payload as unknown as RewardSetPayload;
    return {
      id: rewardId,
      version: p.version,
      ...p.reward,
      updatedAt: committed.entry.time,
      entryIndex: Number(committed.index),
    };
  }

  async list(merchantId: string, onlyActive = false): Promise<RewardView[]> {
    const { rows } = await this.db.query<RewardRow>(
      `SELECT reward_id, version, name, points, stock, per_customer_limit, active, updated_at, entry_idx
       FROM loyalty_rewards WHERE merchant_id = $1 ${onlyActive ? "AND active" : ""}
       ORDER BY created_idx LIMIT 1000`,
      [merchantId],
    );
    return rows.map(viewOf);
  }

  async get(merchantId: string, rewardId: string): Promise<RewardView> {
    const { rows } = await this.db.query<RewardRow>(
      `SELECT reward_id, version, name, points, stock, per_customer_limit, active, updated_at, entry_idx
       FROM loyalty_rewards WHERE merchant_id = $1 AND reward_id = $2`,
      [merchantId, rewardId],
    );
    const r = rows[0];
    if (!r) throw new ApiError(404, "not_found", `reward ${rewardId} not found`);
    return viewOf(r);
  }
}

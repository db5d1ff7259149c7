import { randomBytes } from "node:crypto";
import type { JsonValue } from "@patron/ledger";
import { z } from "zod";
import { commandPayload, signingCustomer } from "../commands/payload.js";
import type { Customers } from "../customers/customers.js";
import type { Queryable, Statement } from "../db/database.js";
import type { ActorBinding, CommandHandler } from "../domain.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type {
  CommandDraft,
  CommittedEntry,
  EntryDraft,
  Idempotency,
  Sequencer,
} from "../ledger/sequencer.js";
import { newId } from "../tenancy/tenancy.js";
import { type Take, takePoints, type Wallet } from "./lots.js";
import {
  REDEMPTION_CAPTURED,
  REDEMPTION_HELD,
  REDEMPTION_RELEASED,
  type RedemptionCapturedPayload,
  type RedemptionHeldPayload,
  type RedemptionReleasedPayload,
} from "./redemption-entries.js";
import type { HeldTake, HoldState, RedemptionState } from "./redemption-state.js";
import type { LoyaltyState } from "./state.js";

/** Who writes the release of a hold that lapsed. */
export const SWEEP_ACTOR = "node:redemption-sweep";

/** A hold lapses after this long unless the request says otherwise. */
export const DEFAULT_HOLD_SECONDS = 15 * 60;
export const MIN_HOLD_SECONDS = 30;
export const MAX_HOLD_SECONDS = 24 * 60 * 60;
export const MAX_REDEEM_POINTS = 1_000_000_000;

/** Crockford base32: no I, L, O or U, so a code read aloud or typed is not misread. */
const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A fresh one-time code: 8 symbols, 40 random bits. */
export function newCode(): string {
  const bytes = randomBytes(8);
  let out = "";
  for (const b of bytes) out += CODE_ALPHABET[b & 31];
  return out;
}

/**
 * A code as a person types it, in its stored form: upper case, without spaces or dashes, with
 * the letters Crockford base32 reads as digits (O as 0, I and L as 1). Undefined: not a code.
 */
export function normaliseCode(s: string): string | undefined {
  const c = s.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(c) ? c : undefined;
}

/** How the till shows a code: two groups of four. */
export const displayCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/** What the QR code at the till holds: the merchant and the code, nothing personal. */
export const qrPayload = (merchantId: string, code: string) =>
  `patron:redeem:${merchantId}:${code}`;

export const CodeInput = z
  .string()
  .min(8)
  .max(120)
  .describe("the one-time code (XXXX-XXXX), or the QR payload patron:redeem:<merchant>:<code>");

const Seconds = z
  .number()
  .int("must be an integer")
  .min(MIN_HOLD_SECONDS)
  .max(MAX_HOLD_SECONDS)
  .describe(`how long the hold lasts unless captured (default ${DEFAULT_HOLD_SECONDS})`);

const Points = z
  .number()
  .int("must be an integer")
  .min(1)
  .max(MAX_REDEEM_POINTS)
  .describe(
    "points off the checkout (a discount): at least those worth one minor unit at the programme's value, `400 discount_worthless` otherwise (`details.minimumPoints`)",
  );

const Reference = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
  .describe("the till's reference for the sale (a receipt number; nothing personal)");

/** What a customer signs: `redemption.hold`, points (a discount) or a reward. */
export const SignedHoldPayload = z
  .strictObject({
    points: Points.optional(),
    rewardId: z.string().max(80).optional(),
    ttlSeconds: Seconds.optional(),
  })
  .refine((p) => (p.points === undefined) !== (p.rewardId === undefined), {
    message: "give either points (a discount) or rewardId",
  });

/** What the till, staff or an API key asks for at POST /v1/redemptions. */
export const HoldInput = z
  .strictObject({
    customerId: z
      .string()
      .regex(/^c_[A-Za-z0-9_-]{1,64}$/, "must be a customer id such as c_abc123"),
    points: Points.optional(),
    rewardId: z.string().max(80).optional().describe("a reward of the catalogue"),
    ttlSeconds: Seconds.optional(),
    capture: z
      .boolean()
      .optional()
      .describe("capture at once (a reward handed over now): held and captured in one command"),
    reference: Reference.optional(),
  })
  .refine((p) => (p.points === undefined) !== (p.rewardId === undefined), {
    message: "give either points (a discount) or rewardId",
  });
export type HoldInput = z.infer<typeof HoldInput>;

export const CaptureInput = z.strictObject({ reference: Reference.optional() });

export interface RedemptionView {
  id: string;
  customerId: string;
  kind: "discount" | "reward";
  reward: { id: string; version: number } | null;
  points: number;
  value: number;
  currency: string;
  /** As of now: held, captured, released, or expired (lapsed at its timeout, released). */
  status: "held" | "captured" | "released" | "expired";
  /** The code (XXXX-XXXX) and its QR payload while the hold is open; null afterwards. */
  code: string | null;
  qr: string | null;
  expiresAt: string;
  requestedBy: "customer" | "merchant";
  reference: string | null;
  createdAt: string;
  closedAt: string | null;
  heldEntry: number;
  closedEntry: number | null;
}

interface Row {
  merchant_id: string;
  redemption_id: string;
  customer_id: string;
  kind: "discount" | "reward";
  reward_id: string | null;
  reward_version: number | null;
  points: string | number;
  value: string | number;
  currency: string;
  code: string;
  expires_at: string | Date;
  requested_by: "customer" | "merchant";
  status: "held" | "captured" | "released";
  reason: string | null;
  reference: string | null;
  held_idx: string | number;
  closed_idx: string | number | null;
  created_at: string | Date;
  closed_at: string | Date | null;
}

const COLUMNS = `merchant_id, redemption_id, customer_id, kind, reward_id, reward_version, points, value,
  currency, code, expires_at, requested_by, status, reason, reference, held_idx, closed_idx,
  created_at, closed_at`;

const iso = (v: string | Date) => new Date(v).toISOString();

/** A redemption as of `now`: a hold past its timeout reads as expired (released) at once. */
function viewOf(r: Row, now: number): RedemptionView {
  const expiresAt = new Date(r.expires_at).getTime();
  const lapsed = r.status === "held" && expiresAt <= now;
  const status = lapsed || r.reason === "expired" ? "expired" : r.status;
  const open = status === "held";
  return {
    id: r.redemption_id,
    customerId: r.customer_id,
    kind: r.kind,
    reward:
      r.reward_id === null ? null : { id: r.reward_id, version: Number(r.reward_version ?? 1) },
    points: Number(r.points),
    value: Number(r.value),
    currency: r.currency,
    status,
    code: open ? displayCode(r.code) : null,
    qr: open ? qrPayload(r.merchant_id, r.code) : null,
    expiresAt: iso(r.expires_at),
    requestedBy: r.requested_by,
    reference: r.reference,
    createdAt: iso(r.created_at),
    closedAt: lapsed ? iso(r.expires_at) : r.closed_at === null ? null : iso(r.closed_at),
    heldEntry: Number(r.held_idx),
    closedEntry: r.closed_idx === null ? null : Number(r.closed_idx),
  };
}

/** What a hold's row says of it, from either of its sources: the hold's facts, as held. */
interface HeldFacts {
  redemptionId: string;
  customerId: string;
  kind: "discount" | "reward";
  reward?: { id: string; version: number } | null;
  points: number;
  value: number;
  currency: string;
  code: string;
  requestedBy: "customer" | "merchant";
}

/** The projection's row of an open hold. */
function heldRow(
  merchantId: string,
  h: HeldFacts,
  at: { expiresAt: Row["expires_at"]; held: number; createdAt: Row["created_at"] },
): Row {
  return {
    merchant_id: merchantId,
    redemption_id: h.redemptionId,
    customer_id: h.customerId,
    kind: h.kind,
    reward_id: h.reward?.id ?? null,
    reward_version: h.reward?.version ?? null,
    points: h.points,
    value: h.value,
    currency: h.currency,
    code: h.code,
    expires_at: at.expiresAt,
    requested_by: h.requestedBy,
    status: "held",
    reason: null,
    reference: null,
    held_idx: at.held,
    closed_idx: null,
    created_at: at.createdAt,
    closed_at: null,
  };
}

/** The projection's row of a hold, from the hold as the sequencer knows it (open, unclosed). */
function rowOfHold(merchantId: string, h: HoldState): Row {
  return heldRow(
    merchantId,
    { ...h, redemptionId: h.id },
    { expiresAt: new Date(h.expiresAt), held: Number(h.held), createdAt: new Date(h.createdAt) },
  );
}

/** What a redemption.captured entry changes in the row (as the projector does). */
function closedBy(c: CommittedEntry): Partial<Row> {
  const p = c.entry.payload as unknown as RedemptionCapturedPayload;
  return {
    status: "captured",
    reference: p.reference,
    closed_idx: Number(c.index),
    closed_at: c.entry.time,
  };
}

/** The row the projector makes of a hold's entries: redemption.held, and its capture if any. */
function rowOfEntries(committed: readonly CommittedEntry[]): Row {
  const [held, capture] = committed;
  if (!held || held.entry.type !== REDEMPTION_HELD) throw new Error("a hold wrote no hold");
  const p = held.entry.payload as unknown as RedemptionHeldPayload;
  const row = heldRow(p.merchantId, p, {
    expiresAt: p.expiresAt,
    held: Number(held.index),
    createdAt: held.entry.time,
  });
  return capture ? { ...row, ...closedBy(capture) } : row;
}

/** The statements of a request's access record for a customer, if it is written with it. */
export type RecordOf = (customerId: string) => Statement[] | undefined;

/** Which redemption a till names: by id, or by its code (or the code's QR payload). */
export type HoldRef = { id: string } | { code: string };

/** Runs a command: the sequencer's, or the signed-command route's (which adds the signature). */
export type Execute = (draft: CommandDraft) => Promise<CommittedEntry[]>;

class Retry extends Error {}

/**
 * Redemption (issue 9): a checkout discount or a reward of the catalogue is a hold of points,
 * then a capture (the points are burned) or a release (they go back to the lots they came
 * from), with a timeout. The hold takes its points with `takePoints`, soonest-expiring first,
 * so held points are not spendable elsewhere; a reward's stock and each customer's limit are
 * checked and counted in the sequencer against the staged catalogue, so two redemptions of the
 * last item in one batch cannot both pass.
 *
 * A hold not captured by its `expiresAt` is released from that instant: reads show it expired
 * and its points back in the balance at once, captures are refused, and a `redemption.released`
 * entry (`reason: expired`) records it when the sweep, or the customer's next redemption, gets
 * to it. `audit` holds the log to the same rule: no capture at or after the timeout, and no
 * expiry release before it.
 */
export class Redemptions {
  private static readonly instances = new WeakMap<Sequencer, Redemptions>();

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly customers: Customers,
    private readonly loyalty: LoyaltyState,
    private readonly state: RedemptionState,
  ) {
    Redemptions.instances.set(sequencer, this);
  }

  /** The node's redemptions, for tools and tests that hold only the ledger (the sweep). */
  static of(sequencer: Sequencer): Redemptions | undefined {
    return Redemptions.instances.get(sequencer);
  }

  /** Holds points for a customer: a discount of `points`, or a reward of the catalogue. */
  async hold(
    merchantId: string,
    actor: string,
    input: HoldInput,
    opts: {
      requestedBy: "customer" | "merchant";
      idempotencyKey?: string;
      execute?: Execute;
      /**
       * The access record of the request (DataUse.statements), written with the hold in its
       * transaction; `recorded` in the answer says whether it was (not on a replay).
       */
      record?: RecordOf;
    },
  ): Promise<RedemptionView & { replayed: boolean; recorded: boolean }> {
    // Independent, at once: whether the customer is active (known in memory once seen), and the
    // merchant's open codes (read once, then known in memory).
    const [active, code] = await Promise.all([
      this.customers.isActiveKnown(merchantId, input.customerId),
      this.freeCode(merchantId),
    ]);
    if (!active) {
      throw new ApiError(404, "not_found", `customer ${input.customerId} not found`);
    }
    const idempotency = (await this.customers.idempotency(
      merchantId,
      "redemptions",
      opts.idempotencyKey,
      input,
    )) as Idempotency | undefined;
    const execute: Execute =
      opts.execute ?? ((d) => this.sequencer.execute(d, idempotency ?? undefined));
    const record = opts.record?.(input.customerId);
    const draft = () => this.holdDraft(merchantId, actor, input, opts.requestedBy, code, record);
    // Holds that lapsed go back first, so their points are spendable again (known from
    // memory: most holds have none to release, and read nothing here).
    await this.sweep(merchantId, input.customerId);
    let committed: CommittedEntry[];
    try {
      committed = await execute(draft());
    } catch (err) {
      if (!(err instanceof Retry)) throw err;
      // A hold lapsed between the sweep and the check (the clock moved): once more, from the
      // projection.
      await this.releaseLapsed(merchantId, input.customerId);
      try {
        committed = await execute(draft());
      } catch (again) {
        if (again instanceof Retry) throw insufficient(again.message);
        throw again;
      }
    }
    const replayed = committed[0]?.replayed === true;
    if (replayed) {
      // The first request's answer, as of now: it may have been captured or released since.
      const p = committed[0]?.entry.payload as unknown as RedemptionHeldPayload;
      return { ...(await this.get(merchantId, p.redemptionId)), replayed, recorded: false };
    }
    // What the entries say is what the projection holds: the answer needs no read.
    return { ...viewOf(rowOfEntries(committed), this.clock.now()), replayed, recorded: !!record };
  }

  /** The till's code generator (tests replace it to make two holds draw the same code). */
  protected newCode(): string {
    return newCode();
  }

  /**
   * A fresh code that no open hold has, read before the command is queued (the projection, or
   * what this node staged): the sequencer's check then looks only at its staged state, which
   * holds every hold committed or staged since, so no database read waits in its order.
   */
  private async freeCode(merchantId: string): Promise<string> {
    const code = this.newCode();
    if (await this.state.codeTaken(merchantId, code)) {
      // 40 random bits: all but impossible; the client asks again.
      throw new ApiError(409, "code_collision", "try again");
    }
    return code;
  }

  private holdDraft(
    merchantId: string,
    actor: string,
    input: HoldInput,
    requestedBy: "customer" | "merchant",
    code: string,
    record?: Statement[],
  ): CommandDraft {
    const { customerId } = input;
    const id = newId("rd");
    const who = [{ customer: customerId }, { merchant: merchantId }];
    let held: RedemptionHeldPayload | undefined;
    const entries: EntryDraft[] = [
      {
        type: REDEMPTION_HELD,
        actor,
        parties: who,
        sealed: true,
        payload: () => held as unknown as JsonValue,
      },
    ];
    if (input.capture) {
      entries.push({
        type: REDEMPTION_CAPTURED,
        actor,
        parties: who,
        sealed: true,
        payload: (ctx) =>
          ({
            merchantId,
            customerId,
            redemptionId: id,
            held: Number(ctx.index) - 1,
            points: held?.points ?? 0,
            reference: input.reference ?? null,
          }) satisfies RedemptionCapturedPayload as unknown as JsonValue,
      });
    }
    return {
      entries,
      ...(record ? { writes: () => record } : {}),
      check: async (ctx) => {
        // An erasure or a merge sequenced since the request was read refuses it.
        try {
          this.customers.checkActive(customerId);
        } catch {
          throw new ApiError(404, "not_found", `customer ${customerId} not found`);
        }
        const { programme } = await this.loyalty.programme(merchantId);
        let points = input.points ?? 0;
        if (input.rewardId === undefined) checkDiscountWorth(points, programme);
        let reward: RedemptionHeldPayload["reward"] = null;
        if (input.rewardId !== undefined) {
          const r = await this.state.reward(merchantId, input.rewardId);
          if (!r) throw new ApiError(404, "not_found", `reward ${input.rewardId} not found`);
          if (!r.reward.active) {
            throw new ApiError(409, "reward_inactive", `reward ${input.rewardId} is withdrawn`);
          }
          if (r.reward.stock !== null && r.reward.stock < 1) {
            throw new ApiError(409, "out_of_stock", `reward ${input.rewardId} is out of stock`);
          }
          const used = await this.state.rewardUsage(merchantId, input.rewardId, customerId);
          if (r.reward.perCustomerLimit !== null && used >= r.reward.perCustomerLimit) {
            throw new ApiError(
              409,
              "limit_reached",
              `the customer has redeemed reward ${input.rewardId} ${used} times, its limit`,
            );
          }
          points = r.reward.points;
          reward = { id: input.rewardId, version: r.version };
          this.state.stageReward(merchantId, input.rewardId, {
            ...r,
            reward: { ...r.reward, stock: r.reward.stock === null ? null : r.reward.stock - 1 },
          });
          this.state.stageRewardUsage(merchantId, input.rewardId, customerId, used + 1);
        }
        // The projection was read before queueing (freeCode); a hold since is staged here.
        if (this.state.knownCode(merchantId, code)) {
          throw new ApiError(409, "code_collision", "try again");
        }
        const wallet = await this.loyalty.wallet(merchantId, customerId);
        const t = takePoints(wallet, points, ctx.time);
        if (t.short > 0) {
          const message = `the customer has ${points - t.short} points available, not ${points}`;
          if (await this.lapsedHolds(merchantId, customerId, ctx.time)) throw new Retry(message);
          throw insufficient(message);
        }
        this.loyalty.stageWallet(merchantId, customerId, t.wallet);
        const taken: HeldTake[] = t.taken.map((x) => {
          const l = wallet.lots.find((w) => w.lot === BigInt(x.lot));
          return {
            ...x,
            availableAt: l?.availableAt ?? 0,
            expiresAt: l?.expiresAt ?? null,
            // Absent: the same as its expiry (WalletLot).
            fixedExpiresAt:
              l?.fixedExpiresAt === undefined ? (l?.expiresAt ?? null) : l.fixedExpiresAt,
          };
        });
        const expiresAt = ctx.time + (input.ttlSeconds ?? DEFAULT_HOLD_SECONDS) * 1000;
        this.state.stageHold(merchantId, {
          id,
          customerId,
          kind: reward ? "reward" : "discount",
          reward,
          points,
          code,
          expiresAt,
          status: input.capture ? "captured" : "held",
          held: ctx.index,
          taken,
          value: pointsValue(points, programme.valuePer100Points),
          currency: programme.currency,
          requestedBy,
          createdAt: ctx.time,
        });
        held = {
          merchantId,
          customerId,
          redemptionId: id,
          kind: reward ? "reward" : "discount",
          reward,
          points,
          value: pointsValue(points, programme.valuePer100Points),
          currency: programme.currency,
          code,
          expiresAt: new Date(expiresAt).toISOString(),
          requestedBy,
          taken: t.taken,
        };
      },
    };
  }

  /** Captures a hold at the till: its points are burned. Single use; refused once lapsed. */
  async capture(
    merchantId: string,
    actor: string,
    ref: HoldRef,
    input: { reference?: string },
    idempotencyKey?: string,
    record?: RecordOf,
  ): Promise<RedemptionView & { recorded: boolean }> {
    // By id, the hold this node knows (it staged it, or read it once): no read per capture.
    const id = "id" in ref ? ref.id : (await this.find(merchantId, ref)).redemption_id;
    const known = await this.state.hold(merchantId, id);
    if (!known) throw new ApiError(404, "not_found", `redemption ${id} not found`);
    const idempotency = (await this.customers.idempotency(
      merchantId,
      "redemption-captures",
      idempotencyKey,
      { id, reference: input.reference ?? null },
    )) as Idempotency | undefined;
    const customerId = known.customerId;
    const recordStatement = record?.(customerId);
    let payload: RedemptionCapturedPayload | undefined;
    let captured: HoldState | undefined;
    const committed = await this.sequencer.execute(
      {
        ...(recordStatement ? { writes: () => recordStatement } : {}),
        entries: [
          {
            type: REDEMPTION_CAPTURED,
            actor,
            parties: [{ customer: customerId }, { merchant: merchantId }],
            sealed: true,
            payload: () => payload as unknown as JsonValue,
          },
        ],
        check: async (ctx) => {
          const h = await this.open(merchantId, id, ctx.time, "captured");
          captured = { ...h, status: "captured" };
          this.state.stageHold(merchantId, captured);
          payload = {
            merchantId,
            customerId,
            redemptionId: id,
            held: Number(h.held),
            points: h.points,
            reference: input.reference ?? null,
          };
        },
      },
      idempotency,
    );
    const [c] = committed;
    if (!c || c.replayed || !captured) {
      // A replay: the first request's answer, as of now.
      return { ...(await this.get(merchantId, id)), recorded: false };
    }
    const row = { ...rowOfHold(merchantId, captured), ...closedBy(c) };
    return { ...viewOf(row, this.clock.now()), recorded: !!recordStatement };
  }

  /** Releases a hold: its points go back to their lots, a reward's stock is given back. */
  async release(
    merchantId: string,
    actor: string,
    ref: HoldRef,
    opts: { customerId?: string; execute?: Execute; idempotencyKey?: string } = {},
  ): Promise<RedemptionView> {
    const found = await this.find(merchantId, ref);
    // A customer releases only their own holds; another's is as absent as none.
    if (opts.customerId !== undefined && found.customer_id !== opts.customerId) {
      throw new ApiError(404, "not_found", "redemption not found");
    }
    const idempotency = (await this.customers.idempotency(
      merchantId,
      "redemption-releases",
      opts.idempotencyKey,
      { id: found.redemption_id },
    )) as Idempotency | undefined;
    const execute: Execute = opts.execute ?? ((d) => this.sequencer.execute(d, idempotency));
    await execute(this.releaseDraft(merchantId, actor, found.redemption_id, found.customer_id));
    return this.get(merchantId, found.redemption_id);
  }

  /**
   * The release of one hold: `expired` at or after its timeout (whoever asks), `released`
   * before it. The check refuses a hold that is no longer held.
   */
  private releaseDraft(
    merchantId: string,
    actor: string,
    id: string,
    customerId: string,
    onlyLapsed = false,
  ): CommandDraft {
    let payload: RedemptionReleasedPayload | undefined;
    return {
      entries: [
        {
          type: REDEMPTION_RELEASED,
          actor,
          parties: [{ customer: customerId }, { merchant: merchantId }],
          sealed: true,
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const h = await this.state.hold(merchantId, id);
        if (!h) throw new ApiError(404, "not_found", `redemption ${id} not found`);
        if (h.status !== "held") throw closed(h);
        const lapsed = h.expiresAt <= ctx.time;
        if (onlyLapsed && !lapsed) throw new ApiError(409, "not_expired", "the hold is open");
        const wallet = await this.loyalty.wallet(merchantId, h.customerId);
        const back = releaseReturns(h.taken, wallet.debt);
        const lots = new Map(h.taken.map((t) => [t.lot, t]));
        this.loyalty.stageWallet(merchantId, h.customerId, {
          ...giveBack(
            wallet,
            back.returned.map((t) => ({ ...(lots.get(t.lot) as HeldTake), points: t.points })),
          ),
          debt: wallet.debt - back.debtRepaid,
        });
        if (h.reward) {
          const r = await this.state.reward(merchantId, h.reward.id);
          if (r && r.reward.stock !== null) {
            this.state.stageReward(merchantId, h.reward.id, {
              ...r,
              reward: { ...r.reward, stock: r.reward.stock + 1 },
            });
          }
          const used = await this.state.rewardUsage(merchantId, h.reward.id, h.customerId);
          this.state.stageRewardUsage(merchantId, h.reward.id, h.customerId, used - 1);
        }
        this.state.stageHold(merchantId, { ...h, status: "released" });
        payload = {
          merchantId,
          customerId: h.customerId,
          redemptionId: id,
          held: Number(h.held),
          reason: lapsed ? "expired" : "released",
          reward: h.reward,
          points: h.points,
          returned: back.returned,
          ...(back.debtRepaid > 0 ? { debtRepaid: back.debtRepaid } : {}),
        };
      },
    };
  }

  /**
   * Writes the release of every hold that lapsed (of one customer, or of every merchant, a few
   * hundred at a time). Returns how many it released; a hold captured or released meanwhile is
   * skipped. The loyalty sweep (sweeper.ts) runs it on the node's timer.
   */
  async sweep(merchantId?: string, customerId?: string): Promise<number> {
    if (
      merchantId !== undefined &&
      customerId !== undefined &&
      !(await this.state.mayHaveLapsed(merchantId, customerId, this.clock.now()))
    ) {
      return 0;
    }
    return this.releaseLapsed(merchantId, customerId);
  }

  /** `sweep`, reading the projection for what lapsed whatever memory says. */
  private async releaseLapsed(merchantId?: string, customerId?: string): Promise<number> {
    const now = new Date(this.clock.now()).toISOString();
    const params: unknown[] = [now];
    let where = "status = 'held' AND expires_at <= $1";
    if (merchantId !== undefined) {
      params.push(merchantId);
      where += ` AND merchant_id = $${params.length}`;
    }
    if (customerId !== undefined) {
      params.push(customerId);
      where += ` AND customer_id = $${params.length}`;
    }
    const { rows } = await this.db.query<{
      merchant_id: string;
      redemption_id: string;
      customer_id: string;
    }>(
      `SELECT merchant_id, redemption_id, customer_id FROM loyalty_redemptions WHERE ${where}
       ORDER BY expires_at, held_idx LIMIT 500`,
      params,
    );
    const done = await Promise.allSettled(
      rows.map((r) =>
        this.sequencer.execute(
          this.releaseDraft(r.merchant_id, SWEEP_ACTOR, r.redemption_id, r.customer_id, true),
        ),
      ),
    );
    return done.filter((d) => d.status === "fulfilled").length;
  }

  /** Whether the customer has holds that lapsed by `now` but are not released yet (staged). */
  private async lapsedHolds(merchantId: string, customerId: string, now: number) {
    const { rows } = await this.db.query<{ redemption_id: string }>(
      `SELECT redemption_id FROM loyalty_redemptions
       WHERE merchant_id = $1 AND customer_id = $2 AND status = 'held' AND expires_at <= $3`,
      [merchantId, customerId, new Date(now).toISOString()],
    );
    for (const r of rows) {
      if ((await this.state.hold(merchantId, r.redemption_id))?.status === "held") return true;
    }
    return false;
  }

  /** The hold, refused unless it is held and not lapsed at `now` (staged). */
  private async open(merchantId: string, id: string, now: number, doing: string) {
    const h = await this.state.hold(merchantId, id);
    if (!h) throw new ApiError(404, "not_found", `redemption ${id} not found`);
    if (h.status !== "held") throw closed(h);
    if (h.expiresAt <= now) {
      throw new ApiError(
        409,
        "hold_expired",
        `redemption ${id} lapsed at ${new Date(h.expiresAt).toISOString()} and cannot be ${doing}`,
      );
    }
    return h;
  }

  private async find(merchantId: string, ref: HoldRef): Promise<Row> {
    if ("id" in ref) {
      const { rows } = await this.db.query<Row>(
        `SELECT ${COLUMNS} FROM loyalty_redemptions WHERE merchant_id = $1 AND redemption_id = $2`,
        [merchantId, ref.id],
      );
      const r = rows[0];
      if (!r) throw new ApiError(404, "not_found", `redemption ${ref.id} not found`);
      return r;
    }
    const code = codeOf(merchantId, ref.code);
    // A code names its hold while it is open; a spent or lapsed one is refused by its state.
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM loyalty_redemptions WHERE merchant_id = $1 AND code = $2
       ORDER BY held_idx DESC LIMIT 1`,
      [merchantId, code],
    );
    const r = rows[0];
    if (!r) throw new ApiError(404, "not_found", "no redemption has this code");
    return r;
  }

  async get(merchantId: string, id: string): Promise<RedemptionView> {
    const r = await this.find(merchantId, { id });
    return viewOf(r, this.clock.now());
  }

  /** The redemption a code names (what the till shows before it captures). */
  async byCode(merchantId: string, code: string): Promise<RedemptionView> {
    return viewOf(await this.find(merchantId, { code }), this.clock.now());
  }

  /** A customer's redemptions (their records: own and merged), newest first. */
  async list(
    merchantId: string,
    records: readonly string[],
    limit: number,
  ): Promise<RedemptionView[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM loyalty_redemptions
       WHERE merchant_id = $1 AND customer_id = ANY($2::text[])
       ORDER BY held_idx DESC LIMIT $3`,
      [merchantId, records, limit],
    );
    const now = this.clock.now();
    return rows.map((r) => viewOf(r, now));
  }
}

/** The worth of `points` at the programme's value per 100 points, in minor units, rounded down. */
export const pointsValue = (points: number, valuePer100Points: number) =>
  Math.floor((points * valuePer100Points) / 100);

/**
 * The fewest points a discount may take: those worth one minor unit at the programme's value
 * (`ceil(100 / valuePer100Points)`); null when points are worth nothing.
 */
export const minimumDiscountPoints = (valuePer100Points: number): number | null =>
  valuePer100Points > 0 ? Math.ceil(100 / valuePer100Points) : null;

/** A discount worth 0 (its value rounds down to nothing) is `400 discount_worthless`. */
function checkDiscountWorth(
  points: number,
  programme: { valuePer100Points: number; currency: string },
): void {
  if (pointsValue(points, programme.valuePer100Points) > 0) return;
  const minimumPoints = minimumDiscountPoints(programme.valuePer100Points);
  const { valuePer100Points, currency } = programme;
  throw new ApiError(
    400,
    "discount_worthless",
    minimumPoints === null
      ? `the programme's points are worth nothing (valuePer100Points 0): no discount can be held`
      : `a discount of ${points} point${points === 1 ? "" : "s"} is worth 0 ${currency} at ${valuePer100Points} minor units per 100 points: a discount takes at least ${minimumPoints} points`,
    { minimumPoints, valuePer100Points },
  );
}

/** The code a till sent (typed, or read from the QR), refused when it is neither. */
export function codeOf(merchantId: string, raw: string): string {
  const qr = /^patron:redeem:([^:]+):(.+)$/.exec(raw);
  if (qr && qr[1] !== merchantId) {
    throw new ApiError(404, "not_found", "no redemption has this code");
  }
  const code = normaliseCode(qr ? (qr[2] as string) : raw);
  if (!code) throw new ApiError(400, "invalid_code", "a code is 8 letters and digits: XXXX-XXXX");
  return code;
}

/**
 * What a release gives back: the points repay the customer's debt first (a refund reversed
 * points while they were held, and could not take them), as earnings do; the lots get the rest,
 * the debt coming out of the takes in spending order (the soonest-expiring first).
 */
export function releaseReturns(
  taken: readonly Take[],
  debt: number,
): { returned: Take[]; debtRepaid: number } {
  const total = taken.reduce((s, t) => s + t.points, 0);
  const debtRepaid = Math.min(Math.max(debt, 0), total);
  let left = debtRepaid;
  const returned: Take[] = [];
  for (const t of taken) {
    const n = Math.min(t.points, left);
    left -= n;
    if (t.points - n > 0) returned.push({ lot: t.lot, points: t.points - n });
  }
  return { returned, debtRepaid };
}

/** The wallet with `taken` given back to its lots (a lot spent to nothing comes back). */
export function giveBack(wallet: Wallet, taken: readonly HeldTake[]): Wallet {
  const lots = wallet.lots.map((l) => ({ ...l }));
  for (const t of taken) {
    const lot = lots.find((l) => l.lot === BigInt(t.lot));
    if (lot) lot.remaining += t.points;
    else {
      lots.push({
        lot: BigInt(t.lot),
        remaining: t.points,
        availableAt: t.availableAt,
        expiresAt: t.expiresAt,
        fixedExpiresAt: t.fixedExpiresAt,
      });
    }
  }
  lots.sort((a, b) => (a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0));
  return { ...wallet, lots };
}

const insufficient = (message: string) => new ApiError(409, "insufficient_points", message);

function closed(h: HoldState): ApiError {
  return h.status === "captured"
    ? new ApiError(409, "already_captured", `redemption ${h.id} was already captured`)
    : new ApiError(409, "already_released", `redemption ${h.id} was released`);
}

/** The customer a key acts for: redemptions are signed by the customer's own key. */
const signerCustomer = (binding: ActorBinding | undefined) =>
  signingCustomer(binding?.party, "only a customer's key signs a redemption");

/**
 * `redemption.hold` (payload `{points}` or `{rewardId}`, optional `ttlSeconds`) and
 * `redemption.release` (`{redemptionId}`), signed by the customer's key at the merchant
 * (decision 5): the entry keeps the signed command. The code for the till is in the customer's
 * sealed redemption.held entry and at GET /v1/portal/redemptions.
 */
export function redemptionCommands(redemptions: Redemptions): CommandHandler[] {
  return [
    {
      type: "redemption.hold",
      signer: "customer",
      async run({ command, binding }, execute) {
        const customerId = signerCustomer(binding);
        const p = commandPayload(SignedHoldPayload, command.payload);
        let out: CommittedEntry[] = [];
        await redemptions.hold(
          command.merchant,
          command.actor,
          { customerId, ...p },
          {
            requestedBy: "customer",
            execute: async (d) => {
              out = await execute(d);
              return out;
            },
          },
        );
        return out;
      },
    },
    {
      type: "redemption.release",
      signer: "customer",
      async run({ command, binding }, execute) {
        const customerId = signerCustomer(binding);
        const p = commandPayload(
          z.strictObject({ redemptionId: z.string().regex(/^rd_[A-Za-z0-9_-]{1,64}$/) }),
          command.payload,
        );
        let out: CommittedEntry[] = [];
        await redemptions.release(
          command.merchant,
          command.actor,
          { id: p.redemptionId },
          {
            customerId,
            execute: async (d) => {
              out = await execute(d);
              return out;
            },
          },
        );
        return out;
      },
    },
  ];
}

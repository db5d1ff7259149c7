import type { JsonValue } from "@patron/ledger";
import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { IdOf, Label } from "../http/schemas.js";
import type { CheckContext, CommittedEntry, EntryDraft, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import type { Role } from "../tenancy/roles.js";
import { newId } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import { Vault } from "../vault/vault.js";
import {
  ADJUSTMENT_APPROVED,
  ADJUSTMENT_REJECTED,
  ADJUSTMENT_REQUESTED,
  type AdjustmentDecidedPayload,
  AdjustmentDirection,
  AdjustmentReason,
  type AdjustmentRequestedPayload,
  POINTS_ADJUSTED,
  type PointsAdjustedPayload,
} from "./adjustment-entries.js";
import { policyExpiry } from "./expiry.js";
import { addLot, takePoints } from "./lots.js";
import { approvalThreshold } from "./programme.js";
import type { LoyaltyState, ReleaseLapsed } from "./state.js";
import { lotPayload } from "./transfers.js";

/** The vault field holding an adjustment's note, under the customer's key. */
export const adjustmentNoteField = (adjustmentId: string) => `adjustment/${adjustmentId}/note`;

/** The most points one adjustment may move. */
export const MAX_ADJUSTMENT = 1_000_000_000;

export const AdjustmentInput = z.strictObject({
  customerId: IdOf("c", "a customer"),
  direction: AdjustmentDirection.describe("`credit` adds points (a new lot); `debit` takes them"),
  points: z.number().int("must be an integer").min(1).max(MAX_ADJUSTMENT),
  reason: AdjustmentReason,
  note: Label(2000).describe("why, in words; kept in the vault under the customer's key"),
});
export type AdjustmentInput = z.infer<typeof AdjustmentInput>;

export type AdjustmentStatus = "pending" | "applied" | "approved" | "rejected";

/** An adjustment as the validation state sees it (decision 1). */
interface AdjustmentState {
  customerId: string;
  direction: "credit" | "debit";
  points: number;
  status: AdjustmentStatus;
  requestedBy: string;
  request: bigint;
}

export interface AdjustmentView {
  id: string;
  customerId: string;
  direction: "credit" | "debit";
  points: number;
  reason: AdjustmentReason;
  /** The note from the vault; null once the customer was erased. */
  note: string | null;
  status: AdjustmentStatus;
  requestedBy: string;
  requestedAt: string;
  requestIndex: number;
  decidedBy: string | null;
  decidedAt: string | null;
  decidedIndex: number | null;
  /** The points.adjusted entry; null while pending or when rejected. */
  appliedIndex: number | null;
}

interface Row {
  adjustment_id: string;
  customer_id: string;
  direction: "credit" | "debit";
  points: string | number;
  reason: AdjustmentReason;
  status: AdjustmentStatus;
  requested_by: string;
  requested_at: string | Date;
  request_idx: string | number;
  decided_by: string | null;
  decided_at: string | Date | null;
  decided_idx: string | number | null;
  applied_idx: string | number | null;
}

const COLUMNS = `adjustment_id, customer_id, direction, points, reason, status, requested_by,
  requested_at, request_idx, decided_by, decided_at, decided_idx, applied_idx`;

const key = (merchantId: string, id: string) => `${merchantId}\u0000${id}`;
const iso = (v: string | Date | number) => new Date(v).toISOString();
const num = (v: string | number | null) => (v === null ? null : Number(v));

/**
 * Manual adjustments by staff (issue 9): a credit or debit of a customer's points with a reason
 * code and a note. The note is free text that may be personal: the vault keeps it under the
 * customer's key and the entry its commitment, as for notes (decision 4). Up to the
 * programme's `adjustments.approvalThreshold` points it applies at once; above it, it waits
 * until an owner or admin other than the requester approves or rejects it. A debit takes points
 * with `takePoints`, soonest-expiring first, and is refused when the balance is short: when it
 * is asked for (a pending one too) and again when it is approved.
 */
export class Adjustments {
  private readonly known: StagedMap<string, AdjustmentState>;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly customers: Customers,
    private readonly vault: Vault,
    private readonly state: LoyaltyState,
    private readonly releaseLapsed: ReleaseLapsed,
  ) {
    this.known = sequencer.state.add(new StagedMap());
    sequencer.onRecover(async () => this.known.clearCommitted());
  }

  async create(
    merchantId: string,
    actor: string,
    input: AdjustmentInput,
    idempotencyKey?: string,
  ): Promise<{ adjustment: AdjustmentView; replayed: boolean }> {
    const { customerId } = input;
    const status = await this.customers.status(merchantId, customerId);
    if (!status) throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    if (status !== "active") {
      throw new ApiError(
        409,
        status === "erased" ? "customer_erased" : "customer_merged",
        `customer ${customerId} is ${status}; adjust the points of an active record`,
      );
    }
    const idempotency = await this.customers.idempotency(
      merchantId,
      `adjustments/${customerId}`,
      idempotencyKey,
      input,
    );
    const customerKey = await this.vault.customerKey(merchantId, customerId).catch((err) => {
      if (err instanceof VaultError) {
        throw new ApiError(409, "customer_erased", `customer ${customerId} was erased`);
      }
      throw err;
    });
    // Whether it waits is the programme's call when it is sequenced; the entries are fixed now,
    // so a programme changed in between refuses it (retry).
    const { programme } = await this.state.programme(merchantId, false);
    const threshold = approvalThreshold(programme);
    const pending = input.points > threshold;
    const id = newId("adj");
    const field = adjustmentNoteField(id);
    const salt = Vault.salt();
    const parties = [{ customer: customerId }, { merchant: merchantId }];
    let applied: Omit<PointsAdjustedPayload, "request"> | undefined;
    const entries: EntryDraft[] = [
      {
        type: ADJUSTMENT_REQUESTED,
        actor,
        parties,
        sealed: true,
        payload: (ctx) =>
          ({
            merchantId,
            customerId,
            adjustmentId: id,
            direction: input.direction,
            points: input.points,
            reason: input.reason,
            note: Buffer.from(
              Vault.commit(customerId, field, Number(ctx.index), input.note, salt),
            ).toString("base64url"),
            threshold,
            pending,
          }) satisfies AdjustmentRequestedPayload,
      },
    ];
    if (!pending) {
      entries.push({
        type: POINTS_ADJUSTED,
        actor,
        parties,
        sealed: true,
        payload: (ctx) => ({ ...applied, request: Number(ctx.index) - 1 }) as unknown as JsonValue,
      });
    }
    // A debit: the customer's holds that lapsed give their points back first.
    if (input.direction === "debit") {
      await this.releaseLapsed(merchantId, customerId);
    }
    let committed: CommittedEntry[];
    try {
      committed = await this.sequencer.execute(
        {
          entries,
          check: async (ctx) => {
            this.customers.checkActive(customerId);
            const now = await this.state.programme(merchantId);
            if (approvalThreshold(now.programme) !== threshold) {
              throw new ApiError(
                409,
                "programme_changed",
                "the programme's approval threshold changed meanwhile; send the adjustment again",
              );
            }
            const state: AdjustmentState = {
              customerId,
              direction: input.direction,
              points: input.points,
              status: pending ? "pending" : "applied",
              requestedBy: actor,
              request: ctx.index,
            };
            if (!pending) {
              applied = await this.apply(ctx, ctx.index + 1n, merchantId, id, state);
            } else if (input.direction === "debit") {
              // Refused when asked, as it would be when approved: nothing is taken until then.
              await this.checkDebit(ctx, merchantId, customerId, input.points);
            }
            this.known.set(key(merchantId, id), state);
          },
          writes: (es) => [
            this.vault.sealField(customerKey, field, Number(es[0]?.index), input.note, salt),
          ],
        },
        idempotency,
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === "idempotency_conflict") {
        throw new ApiError(
          409,
          "idempotency_conflict",
          "this Idempotency-Key was used for another adjustment",
        );
      }
      throw err;
    }
    const first = committed[0];
    const adjustmentId = first
      ? (first.entry.payload as unknown as AdjustmentRequestedPayload).adjustmentId
      : id;
    const adjustment = await this.get(merchantId, adjustmentId);
    if (!adjustment) throw new Error("an adjustment committed no row");
    return { adjustment, replayed: first?.replayed === true };
  }

  /** Approves a pending adjustment and applies it: an owner or admin, not its requester. */
  async approve(merchantId: string, actor: string, role: Role, id: string) {
    return this.decide(merchantId, actor, role, id, true);
  }

  /** Rejects a pending adjustment: an owner or admin, not its requester. Nothing changes. */
  async reject(merchantId: string, actor: string, role: Role, id: string) {
    return this.decide(merchantId, actor, role, id, false);
  }

  private async decide(
    merchantId: string,
    actor: string,
    role: Role,
    id: string,
    approve: boolean,
  ): Promise<AdjustmentView> {
    if (role !== "owner" && role !== "admin") {
      throw new ApiError(
        403,
        "forbidden",
        "only an owner or admin approves or rejects adjustments",
      );
    }
    const before = await this.stateOf(merchantId, id, false);
    if (!before) throw notFound(id);
    const parties = [{ customer: before.customerId }, { merchant: merchantId }];
    let decided: AdjustmentDecidedPayload | undefined;
    let applied: Omit<PointsAdjustedPayload, "request"> | undefined;
    const entries: EntryDraft[] = [
      {
        type: approve ? ADJUSTMENT_APPROVED : ADJUSTMENT_REJECTED,
        actor,
        parties,
        sealed: true,
        payload: () => decided as unknown as JsonValue,
      },
    ];
    if (approve) {
      if (before.direction === "debit") {
        await this.releaseLapsed(merchantId, before.customerId);
      }
      entries.push({
        type: POINTS_ADJUSTED,
        actor,
        parties,
        sealed: true,
        payload: () => ({ ...applied, request: Number(decided?.request) }) as unknown as JsonValue,
      });
    }
    await this.sequencer.execute({
      entries,
      check: async (ctx) => {
        const a = await this.stateOf(merchantId, id, true);
        if (!a) throw notFound(id);
        if (a.status !== "pending") {
          throw new ApiError(409, "not_pending", `adjustment ${id} is ${a.status}, not pending`);
        }
        if (a.requestedBy === actor) {
          throw new ApiError(
            403,
            "same_staff",
            "a second staff member decides an adjustment, not the one who asked for it",
          );
        }
        this.customers.checkActive(a.customerId);
        decided = {
          merchantId,
          customerId: a.customerId,
          adjustmentId: id,
          request: Number(a.request),
          role,
        };
        if (approve) applied = await this.apply(ctx, ctx.index + 1n, merchantId, id, a);
        this.known.set(key(merchantId, id), { ...a, status: approve ? "approved" : "rejected" });
      },
    });
    const view = await this.get(merchantId, id);
    if (!view) throw notFound(id);
    return view;
  }

  /** A pending debit the available balance cannot cover: `409 insufficient_points`. */
  private async checkDebit(
    ctx: CheckContext,
    merchantId: string,
    customerId: string,
    points: number,
  ): Promise<void> {
    const wallet = await this.state.wallet(merchantId, customerId);
    const { short } = takePoints(wallet, points, ctx.time);
    if (short > 0) {
      const available = points - short;
      throw new ApiError(
        409,
        "insufficient_points",
        `a debit of ${points} points, ${available} available`,
        { available },
      );
    }
  }

  /** Stages an adjustment's points: a credit's lot (made by entry `index`), or a debit. */
  private async apply(
    ctx: CheckContext,
    index: bigint,
    merchantId: string,
    adjustmentId: string,
    a: AdjustmentState,
  ): Promise<Omit<PointsAdjustedPayload, "request">> {
    const wallet = await this.state.wallet(merchantId, a.customerId);
    const base = {
      merchantId,
      customerId: a.customerId,
      adjustmentId,
      direction: a.direction,
      points: a.points,
    };
    if (a.direction === "credit") {
      // The programme's expiry as of now, and the customer's debt repaid first, as awards do.
      const { programme } = await this.state.programme(merchantId);
      const expiry = policyExpiry(programme, ctx.time);
      const credited = addLot(wallet, {
        lot: index,
        remaining: a.points,
        availableAt: ctx.time,
        expiresAt: expiry.expiresAt,
        fixedExpiresAt: expiry.own,
      });
      this.state.stageWallet(merchantId, a.customerId, credited.wallet);
      return {
        ...base,
        lot: lotPayload({ points: a.points, availableAt: ctx.time, ...expiry }),
        taken: [],
        ...(credited.debtRepaid > 0 ? { debtRepaid: credited.debtRepaid } : {}),
      };
    }
    const r = takePoints(wallet, a.points, ctx.time);
    if (r.short > 0) {
      const available = a.points - r.short;
      throw new ApiError(
        409,
        "insufficient_points",
        `a debit of ${a.points} points, ${available} available`,
        { available },
      );
    }
    this.state.stageWallet(merchantId, a.customerId, r.wallet);
    return { ...base, lot: null, taken: r.taken };
  }

  /** Adjustments, pending first (oldest first among them), then the rest newest first. */
  async list(
    merchantId: string,
    q: { status?: AdjustmentStatus; customerId?: string; limit: number },
  ): Promise<AdjustmentView[]> {
    const params: unknown[] = [merchantId, q.limit];
    const where = ["merchant_id = $1"];
    if (q.status) where.push(`status = $${params.push(q.status)}`);
    if (q.customerId) where.push(`customer_id = $${params.push(q.customerId)}`);
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM loyalty_adjustments WHERE ${where.join(" AND ")}
       ORDER BY (status = 'pending') DESC,
         CASE WHEN status = 'pending' THEN request_idx ELSE -request_idx END
       LIMIT $2`,
      params,
    );
    return Promise.all(rows.map((r) => this.view(merchantId, r)));
  }

  async get(merchantId: string, id: string): Promise<AdjustmentView | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM loyalty_adjustments WHERE merchant_id = $1 AND adjustment_id = $2`,
      [merchantId, id],
    );
    const r = rows[0];
    return r && this.view(merchantId, r);
  }

  private async stateOf(
    merchantId: string,
    id: string,
    staged: boolean,
  ): Promise<AdjustmentState | undefined> {
    const k = key(merchantId, id);
    const known = staged ? this.known.get(k) : this.known.getCommitted(k);
    if (known) return known;
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM loyalty_adjustments WHERE merchant_id = $1 AND adjustment_id = $2`,
      [merchantId, id],
    );
    const r = rows[0];
    if (!r) return undefined;
    const s: AdjustmentState = {
      customerId: r.customer_id,
      direction: r.direction,
      points: Number(r.points),
      status: r.status,
      requestedBy: r.requested_by,
      request: BigInt(r.request_idx),
    };
    if (this.known.committedSize > 100_000) this.known.clearCommitted();
    if (!this.known.hasCommitted(k)) this.known.load(k, s);
    return (staged ? this.known.get(k) : this.known.getCommitted(k)) ?? s;
  }

  private async view(merchantId: string, r: Row): Promise<AdjustmentView> {
    const note = await this.vault
      .get(merchantId, r.customer_id, adjustmentNoteField(r.adjustment_id))
      .catch((err) => {
        if (err instanceof VaultError) return undefined;
        throw err;
      });
    return {
      id: r.adjustment_id,
      customerId: r.customer_id,
      direction: r.direction,
      points: Number(r.points),
      reason: r.reason,
      note: typeof note?.value === "string" ? note.value : null,
      status: r.status,
      requestedBy: r.requested_by,
      requestedAt: iso(r.requested_at),
      requestIndex: Number(r.request_idx),
      decidedBy: r.decided_by,
      decidedAt: r.decided_at === null ? null : iso(r.decided_at),
      decidedIndex: num(r.decided_idx),
      appliedIndex: num(r.applied_idx),
    };
  }
}

const notFound = (id: string) => new ApiError(404, "not_found", `adjustment ${id} not found`);

import { decodeEntry, type JsonValue } from "@patron/ledger";
import { EvaluationError } from "@patron/rules";
import { z } from "zod";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CommittedEntry, Idempotency, Sequencer } from "../ledger/sequencer.js";
import { findIdempotencyKey, listEntries } from "../ledger/store.js";
import {
  ORDER_REFUNDED,
  type OrderRefundedPayload,
  POINTS_REVERSED,
  type PointsReversedPayload,
} from "./entries.js";
import { earning } from "./evaluation.js";
import { orderHead, recomputeNet, refundNet, reversePoints } from "./refund-logic.js";
import type { LoyaltyState, ReleaseLapsed } from "./state.js";
import { refundActivity } from "./tiers.js";

export const RefundInput = z.strictObject({
  refundId: z
    .string()
    .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
    .optional()
    .describe(
      "the merchant's refund id: a repeat with the same id and content is answered the same",
    ),
  lines: z
    .array(
      z.strictObject({
        sku: z.string().min(1).max(64),
        quantity: z.number().int("must be an integer").min(1).max(1_000_000),
      }),
    )
    .min(1)
    .max(500)
    .optional()
    .describe("the lines returned; left out: the whole order"),
});
export type RefundInput = z.infer<typeof RefundInput>;

export interface RefundResult {
  orderId: string;
  customerId: string;
  refundId: string | null;
  full: boolean;
  /** The order's points before and after the refund, and those reversed. */
  pointsBefore: number;
  pointsAfter: number;
  reversed: number;
  /** Of the reversed points: those the customer now owes, and those written off. */
  debt: number;
  writtenOff: number;
  /** The order.refunded entry; its points.reversed entry is the next one. */
  entryIndex: number;
  replayed: boolean;
}

/**
 * Refunds (issue 9): one command writes a sealed `order.refunded` entry (the lines, the order
 * net of its refunds, the awards recomputed over it by the rule versions in force when the
 * order was recorded) and a sealed `points.reversed` entry taking back the difference.
 */
export class Refunds {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly customers: Customers,
    private readonly state: LoyaltyState,
    private readonly releaseLapsed: ReleaseLapsed,
  ) {}

  async refund(
    merchantId: string,
    actor: string,
    orderId: string,
    input: RefundInput,
    idempotencyKey?: string,
  ): Promise<RefundResult> {
    const refundId = idempotencyKey ?? input.refundId ?? null;
    const idempotency = (await this.customers.idempotency(
      merchantId,
      "refunds",
      refundId === null ? undefined : `${orderId} ${refundId}`,
      { orderId, lines: input.lines ?? null, refundId: input.refundId ?? null },
    )) as Idempotency | undefined;
    if (idempotency) {
      const stored = await findIdempotencyKey(this.db, idempotency.scope, idempotency.key);
      if (stored) {
        if (!Buffer.from(stored.requestHash).equals(Buffer.from(idempotency.requestHash))) {
          throw refundConflict(refundId as string);
        }
        const rows = await listEntries(this.db, stored.index, stored.index + BigInt(stored.count));
        return resultOf(
          rows.map((r) => ({
            index: r.index,
            entry: decodeEntry(r.data),
            data: r.data,
            leafHash: r.leafHash,
            replayed: true,
          })),
        );
      }
    }
    const known = await this.state.order(merchantId, orderId);
    if (!known) throw new ApiError(404, "not_found", `order ${orderId} not found`);
    const who = [{ customer: known.customerId }, { merchant: merchantId }];
    // Holds that lapsed give their points back first, so the reversal takes from the lots the
    // reads show rather than recording a debt the release would repay at once.
    await this.releaseLapsed(merchantId, known.customerId);
    let refunded: OrderRefundedPayload | undefined;
    let reversed: Omit<PointsReversedPayload, "refund"> | undefined;
    let entries: CommittedEntry[];
    try {
      entries = await this.sequencer.execute(
        {
          entries: [
            {
              type: ORDER_REFUNDED,
              actor,
              parties: who,
              sealed: true,
              payload: () => refunded as unknown as JsonValue,
            },
            {
              type: POINTS_REVERSED,
              actor,
              parties: who,
              sealed: true,
              payload: (ctx) =>
                ({ ...reversed, refund: Number(ctx.index) - 1 }) as unknown as JsonValue,
            },
          ],
          check: async (ctx) => {
            const order = await this.state.order(merchantId, orderId);
            if (!order) throw new ApiError(404, "not_found", `order ${orderId} not found`);
            const customerId = order.customerId;
            const after = refundNet(order.net, input.lines ?? null);
            if (!after) {
              throw new ApiError(
                409,
                "over_refund",
                input.lines
                  ? `the lines return more than remains unrefunded of order ${orderId}`
                  : `order ${orderId} was already refunded in full`,
              );
            }
            const full = after.full;
            const { programme } = await this.state.programme(merchantId);
            const book = await this.state.book(merchantId);
            let again: ReturnType<typeof recomputeNet>;
            try {
              again = recomputeNet(
                earning(book.inForce(order.time)),
                order.context,
                orderHead(order.context),
                full ? null : after,
              );
            } catch (err) {
              if (err instanceof EvaluationError || err instanceof RangeError) {
                throw new ApiError(400, "invalid_refund", `cannot recompute: ${err.message}`);
              }
              throw err;
            }
            const pointsAfter = Math.min(order.points, again.points);
            const points = order.points - pointsAfter;
            const wallet = await this.state.wallet(merchantId, customerId);
            const r = reversePoints(wallet, order.awarded, points, ctx.time, programme.debtPolicy);
            this.state.stageWallet(merchantId, customerId, r.wallet);
            this.state.stageOrderState(merchantId, orderId, {
              ...order,
              net: { amount: after.amount, items: after.items },
              points: pointsAfter,
            });
            // Tiers count orders net of their refunds.
            if (programme.tiers.length > 0 || this.state.knowsTierAccount(merchantId, customerId)) {
              const account = await this.state.tierAccount(merchantId, customerId);
              this.state.stageTierAccount(
                merchantId,
                customerId,
                refundActivity(account, orderId, { points: pointsAfter, amount: after.amount }),
              );
            }
            refunded = {
              merchantId,
              customerId,
              orderId,
              refundId,
              awarded: Number(order.awarded),
              full,
              lines: after.lines,
              net: { amount: after.amount, items: after.items },
              awards: again.awards as OrderRefundedPayload["awards"],
              pointsBefore: order.points,
              pointsAfter,
            };
            reversed = {
              merchantId,
              customerId,
              orderId,
              points,
              taken: r.taken,
              debt: r.debt,
              writtenOff: r.writtenOff,
            };
          },
        },
        idempotency,
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === "idempotency_conflict") {
        throw refundConflict(refundId as string);
      }
      throw err;
    }
    return resultOf(entries);
  }
}

const refundConflict = (refundId: string) =>
  new ApiError(409, "refund_conflict", `refund ${refundId} was already made with other content`);

function resultOf(entries: CommittedEntry[]): RefundResult {
  const r = entries.find((e) => e.entry.type === ORDER_REFUNDED);
  const v = entries.find((e) => e.entry.type === POINTS_REVERSED);
  if (!r || !v) throw new Error("a refund's entries are missing");
  const p = r.entry.payload as unknown as OrderRefundedPayload;
  const q = v.entry.payload as unknown as PointsReversedPayload;
  return {
    orderId: p.orderId,
    customerId: p.customerId,
    refundId: p.refundId,
    full: p.full,
    pointsBefore: p.pointsBefore,
    pointsAfter: p.pointsAfter,
    reversed: q.points,
    debt: q.debt,
    writtenOff: q.writtenOff,
    entryIndex: Number(r.index),
    replayed: r.replayed === true,
  };
}

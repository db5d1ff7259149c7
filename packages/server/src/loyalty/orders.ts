import { decodeEntry, type JsonValue } from "@patron/ledger";
import { EvaluationError, timeContext } from "@patron/rules";
import { z } from "zod";
import type { CustomerStatus, Customers } from "../customers/customers.js";
import { mergedError } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { checkOccurredAt, IdOf, OccurredAt } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { CommittedEntry, Idempotency, Sequencer } from "../ledger/sequencer.js";
import { listEntries } from "../ledger/store.js";
import { segmentsOf } from "./customer-facts.js";
import {
  ORDER_RECORDED,
  type OrderRecordedPayload,
  POINTS_AWARDED,
  type PointsAwardedPayload,
  TIER_CHANGED,
  type TierChangedPayload,
} from "./entries.js";
import {
  awardOrder,
  DAY_MS,
  earning,
  type OrderFacts,
  orderContext,
  usagePart,
} from "./evaluation.js";
import { activeUntil, expiryAwards, lotExpiry, ownExpiry, renewLots } from "./expiry.js";
import { utcOffsetMinutes } from "./programme.js";
import type { LoyaltyState } from "./state.js";
import { addActivity, contextTier, tierDecision } from "./tiers.js";

/** The largest amount an order or a unit price may have, in minor units (10^13). */
export const MAX_AMOUNT = 10_000_000_000_000;
export const MAX_ITEMS = 500;
export const MAX_ORDER_BATCH = 1000;

const Amount = z
  .number()
  .int("must be an integer: amounts are in minor units (cents)")
  .min(0)
  .max(MAX_AMOUNT);
const Token = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
      `must be ${what}: 1 to 64 letters, digits, _ . : or -, starting with a letter or digit`,
    );

const OrderItemInput = z.strictObject({
  sku: Token("a product code"),
  category: Token("a category"),
  quantity: z.number().int("must be an integer").min(1).max(1_000_000),
  unitPrice: Amount.describe("minor units"),
});

/** The customer an order is for: their id, or the email or phone they are known by. */
const CustomerRef = z
  .strictObject({
    id: IdOf("c", "a customer").optional(),
    email: z.string().max(254).optional(),
    phone: z.string().max(40).optional(),
  })
  .refine(
    (c) => (c.id !== undefined) !== (c.email !== undefined || c.phone !== undefined),
    "name the customer by id, or by email and/or phone (not both)",
  );

export const OrderInput = z.strictObject({
  orderId: z
    .string()
    .regex(/^[\x21-\x7e]{1,100}$/, "must be 1 to 100 printable ASCII characters without spaces")
    .describe("the merchant's own order id: a retry with the same id and content is answered 200"),
  customer: CustomerRef,
  amount: Amount.describe("the order's total in minor units (cents)"),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
  items: z
    .array(OrderItemInput)
    .max(MAX_ITEMS)
    .describe(
      "the order's lines, possibly none; their quantity × unitPrice add up to at most `amount` (less: shipping, lines not listed), `400 items_exceed_amount` otherwise",
    ),
  channel: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/, "must be lower-case letters, digits, _ or - (web, store…)"),
  store: Token("a store id").optional(),
  occurredAt: OccurredAt("when the customer ordered"),
});
export type OrderInput = z.infer<typeof OrderInput>;

/**
 * An order's items are part of its total: their quantity × unitPrice may add up to less than
 * `amount` (shipping, items not listed) but never to more, or a rule reading an item's amount
 * would award points on money the customer never paid. `400 items_exceed_amount` otherwise.
 */
export function checkItemsWithinAmount(input: Pick<OrderInput, "amount" | "items">): void {
  const sum = input.items.reduce((s, i) => s + BigInt(i.quantity) * BigInt(i.unitPrice), 0n);
  if (sum > BigInt(input.amount)) {
    throw new ApiError(
      400,
      "items_exceed_amount",
      `the items add up to ${sum} (quantity × unitPrice, in minor units), more than the order's amount ${input.amount}: amount is the order's total, items may add up to less but not more`,
      { itemsTotal: Number(sum), amount: input.amount },
    );
  }
}

/** What an order earned, as the API answers (a retry gets the same answer). */
export interface OrderResult {
  orderId: string;
  customerId: string;
  /** The points awarded, in all. */
  points: number;
  awards: { rule: string; version: number; points: number }[];
  /** When the points become available (the return window after the order); null: none. */
  availableAt: string | null;
  /** The order.recorded entry; its points.awarded entry is the next one. */
  entryIndex: number;
  /** The tier change this order brought (its tier.changed entry follows the award); null: none. */
  tier: { from: string | null; to: string | null } | null;
  replayed: boolean;
}

/** What a batch knows of its customers before its orders are made. */
interface Known {
  statuses: Map<string, CustomerStatus>;
  segments: Map<string, string[]>;
}

const orderConflict = (orderId: string) =>
  new ApiError(
    409,
    "order_conflict",
    `order ${orderId} was already recorded with different content`,
  );

/**
 * Orders and the points they earn (issue 9). An order is recorded with its awards in one
 * command: a sealed `order.recorded` entry and a sealed `points.awarded` entry right after it,
 * both on the customer's and the merchant's chains. The sequencer evaluates the published
 * rules in force at the order's recorded time over a context of non-personal facts, against
 * the staged state (the customer's earlier orders and awards, including those earlier in the
 * batch), so an order's awards are exactly what the log says held then.
 *
 * One order per merchant order id: the id is the command's idempotency key, and its request
 * hash a keyed hash of the order (decision 4), so a retry with the same content is answered
 * with the first answer and one with other content is refused (`409 order_conflict`).
 */
export class Orders {
  private static readonly instances = new WeakMap<Sequencer, Orders>();

  /** The orders of this ledger's node, for callers without HTTP (the benchmarks). */
  static of(sequencer: Sequencer): Orders | undefined {
    return Orders.instances.get(sequencer);
  }

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly customers: Customers,
    private readonly state: LoyaltyState,
  ) {
    Orders.instances.set(sequencer, this);
  }

  /**
   * A batch, each order on its own (one refused does not refuse the others). Customers named by
   * id have their statuses, accounts and segments read in a few queries for the whole batch.
   */
  async recordMany(
    merchantId: string,
    actor: string,
    inputs: OrderInput[],
  ): Promise<PromiseSettledResult<OrderResult>[]> {
    const ids = [...new Set(inputs.flatMap((i) => (i.customer.id ? [i.customer.id] : [])))];
    const [statuses, segments] = await Promise.all([
      this.customers.statuses(merchantId, ids),
      segmentsOf(this.db, merchantId, ids),
      this.state.preload(merchantId, ids),
    ]);
    const known = { statuses, segments };
    const prepared = await Promise.allSettled(
      inputs.map((i) => this.prepare(merchantId, actor, i, known)),
    );
    // A customer's orders are sequenced in the batch's order, one after the other (their
    // first-order bonus, their caps); different customers' orders share the sequencer's batches.
    const chains = new Map<string, Promise<unknown>>();
    return Promise.allSettled(
      prepared.map((p) => {
        if (p.status === "rejected") return Promise.reject(p.reason);
        const ready = p.value;
        if ("done" in ready) return Promise.resolve(ready.done);
        const before = chains.get(ready.customerId) ?? Promise.resolve();
        const mine = before.catch(() => {}).then(ready.run);
        chains.set(ready.customerId, mine);
        return mine;
      }),
    );
  }

  /** Records one order and its awards; a retry with the same content is answered the same. */
  async record(
    merchantId: string,
    actor: string,
    input: OrderInput,
    known?: Known,
  ): Promise<OrderResult> {
    const ready = await this.prepare(merchantId, actor, input, known);
    return "done" in ready ? ready.done : ready.run();
  }

  /**
   * Everything before the sequencer: the answer of an order recorded before, or the order's
   * customer and the command that records it.
   */
  private async prepare(
    merchantId: string,
    actor: string,
    input: OrderInput,
    known?: Known,
  ): Promise<{ done: OrderResult } | { customerId: string; run: () => Promise<OrderResult> }> {
    const idempotency = (await this.customers.idempotency(
      merchantId,
      "orders",
      input.orderId,
      input,
    )) as Idempotency;
    // Recorded before: answered from its entries, whatever became of the customer since.
    const earlier = await this.replay(idempotency, input.orderId);
    if (earlier) return { done: earlier };

    checkOccurredAt(input.occurredAt, this.clock.now());
    for (const [n, item] of input.items.entries()) {
      if (!Number.isSafeInteger(item.quantity * item.unitPrice)) {
        throw new ApiError(400, "invalid_amount", `items.${n}: quantity × unitPrice is too large`);
      }
    }
    checkItemsWithinAmount(input);
    const customerId = await this.customerOf(merchantId, input, known);
    const segments =
      known?.segments.get(customerId) ??
      (await segmentsOf(this.db, merchantId, [customerId])).get(customerId) ??
      [];
    if (!known?.segments.has(customerId)) await this.state.preload(merchantId, [customerId]);
    return {
      customerId,
      run: () => this.commit(merchantId, actor, input, customerId, segments, idempotency),
    };
  }

  /** Sequences the order's command: its entries and awards, all or nothing. */
  private async commit(
    merchantId: string,
    actor: string,
    input: OrderInput,
    customerId: string,
    segments: string[],
    idempotency: Idempotency,
  ): Promise<OrderResult> {
    const facts: OrderFacts = {
      amount: input.amount,
      currency: input.currency,
      channel: input.channel,
      ...(input.store === undefined ? {} : { store: input.store }),
      items: input.items,
    };
    const order: OrderRecordedPayload = {
      merchantId,
      customerId,
      orderId: input.orderId,
      ...facts,
      items: input.items.map((i) => ({ ...i })),
      occurredAt: new Date(input.occurredAt).toISOString(),
    };
    let awarded: Omit<PointsAwardedPayload, "order"> | undefined;
    let tierChange: TierChangedPayload | undefined;
    let entries: CommittedEntry[];
    try {
      entries = await this.sequencer.execute(
        {
          entries: [
            {
              type: ORDER_RECORDED,
              actor,
              parties: [{ customer: customerId }, { merchant: merchantId }],
              sealed: true,
              payload: order as unknown as JsonValue,
            },
            {
              type: POINTS_AWARDED,
              actor,
              parties: [{ customer: customerId }, { merchant: merchantId }],
              sealed: true,
              payload: (ctx) =>
                ({ ...awarded, order: Number(ctx.index) - 1 }) as unknown as JsonValue,
            },
            {
              // The tier the order qualifies the customer for, in the same command: the
              // ledger's tier is never behind the orders it is decided on.
              type: TIER_CHANGED,
              actor,
              parties: [{ customer: customerId }, { merchant: merchantId }],
              sealed: true,
              when: () => tierChange !== undefined,
              payload: () => tierChange as unknown as JsonValue,
            },
          ],
          check: async (ctx) => {
            this.customers.checkActive(customerId);
            const { programme } = await this.state.programme(merchantId);
            if (programme.currency !== input.currency) {
              throw new ApiError(
                400,
                "currency_mismatch",
                `the programme's currency is ${programme.currency}, not ${input.currency} (PUT /v1/loyalty/programme sets it)`,
              );
            }
            const book = await this.state.book(merchantId);
            const account = await this.state.account(merchantId, customerId);
            // The customer's tier (while the programme has tiers) is part of the context.
            const tierAccount =
              programme.tiers.length > 0 || this.state.knowsTierAccount(merchantId, customerId)
                ? await this.state.tierAccount(merchantId, customerId)
                : undefined;
            const tier = tierAccount ? contextTier(programme, tierAccount.tier) : undefined;
            const inForce = book.inForce(ctx.time);
            const rules = earning(inForce);
            const offset = utcOffsetMinutes(programme.timeZone, ctx.time);
            const context = orderContext(
              facts,
              { orders: account.orders, segments, ...(tier === undefined ? {} : { tier }) },
              timeContext(ctx.time, offset),
              usagePart(rules, account.usage, ctx.time, offset),
            );
            let result: ReturnType<typeof awardOrder>;
            let expiry: ReturnType<typeof expiryAwards>;
            try {
              result = awardOrder(rules, context);
              expiry = expiryAwards(inForce, context);
            } catch (err) {
              if (err instanceof EvaluationError || err instanceof RangeError) {
                throw new ApiError(
                  400,
                  "invalid_order",
                  `the order cannot be evaluated: ${err.message}`,
                );
              }
              throw err;
            }
            this.state.stageOrder(merchantId, customerId, account, result.awards, ctx.time);
            tierChange = undefined;
            if (tierAccount) {
              const next = addActivity(tierAccount, {
                orderId: input.orderId,
                time: ctx.time,
                points: result.points,
                amount: input.amount,
              });
              const d = tierDecision(programme.tiers, next, ctx.time);
              if (d) tierChange = { merchantId, customerId, ...d, trigger: "order" };
              this.state.stageTierAccount(
                merchantId,
                customerId,
                d ? { ...next, tier: d.to } : next,
              );
            }
            // Expiry: the lot's own (expiry rules, else a fixed policy), and under the
            // inactivity policy this order keeps the customer's unexpired lots alive.
            const own = ownExpiry(programme.expiry, ctx.time, offset, expiry);
            const until = activeUntil(programme.expiry, ctx.time, offset);
            const expiresAt = lotExpiry(own, until);
            // The points first repay what the customer owes (refunds of spent points).
            const before = await this.state.wallet(merchantId, customerId);
            const wallet = until === null ? before : renewLots(before, ctx.time, until);
            const debtRepaid = Math.min(wallet.debt, result.points);
            const lotIndex = ctx.index + 1n;
            const availableAt = ctx.time + programme.returnWindowDays * DAY_MS;
            this.state.stageWallet(merchantId, customerId, {
              lots:
                result.points - debtRepaid > 0
                  ? [
                      ...wallet.lots,
                      {
                        lot: lotIndex,
                        remaining: result.points - debtRepaid,
                        availableAt,
                        expiresAt,
                        fixedExpiresAt: own,
                      },
                    ]
                  : wallet.lots,
              debt: wallet.debt - debtRepaid,
            });
            this.state.stageOrderState(merchantId, input.orderId, {
              customerId,
              awarded: lotIndex,
              time: ctx.time,
              context: context as Record<string, unknown>,
              net: { amount: input.amount, items: input.items.map((i) => ({ ...i })) },
              points: result.points,
            });
            awarded = {
              merchantId,
              customerId,
              orderId: input.orderId,
              context: context as PointsAwardedPayload["context"],
              awards: result.awards as PointsAwardedPayload["awards"],
              points: result.points,
              lot:
                result.points > 0
                  ? {
                      points: result.points,
                      availableAt: new Date(availableAt).toISOString(),
                      expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
                      ...(until === null
                        ? {}
                        : { ownExpiresAt: own === null ? null : new Date(own).toISOString() }),
                    }
                  : null,
              ...(expiry.length > 0
                ? { expiryAwards: expiry as PointsAwardedPayload["awards"] }
                : {}),
              ...(until === null ? {} : { activeUntil: new Date(until).toISOString() }),
              ...(debtRepaid > 0 ? { debtRepaid } : {}),
            };
          },
        },
        idempotency,
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === "idempotency_conflict") {
        throw orderConflict(input.orderId);
      }
      throw err;
    }
    return resultOf(entries);
  }

  /** The answer to an order id recorded before: its entries, if the content is the same. */
  private async replay(idem: Idempotency, orderId: string): Promise<OrderResult | undefined> {
    const stored = await this.sequencer.keys.find(idem.scope, idem.key);
    if (!stored) return undefined;
    if (!Buffer.from(stored.requestHash).equals(Buffer.from(idem.requestHash))) {
      throw orderConflict(orderId);
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

  /** The active customer an order names: by id, or found by their email or phone. */
  private async customerOf(merchantId: string, input: OrderInput, known?: Known) {
    const c = input.customer;
    if (c.id !== undefined) {
      const status = known?.statuses.get(c.id) ?? (await this.customers.status(merchantId, c.id));
      if (!status) throw new ApiError(404, "not_found", `customer ${c.id} not found`);
      if (status === "erased") {
        throw new ApiError(409, "customer_erased", `customer ${c.id} was erased`);
      }
      if (status === "merged") {
        const row = await this.customers.row(merchantId, c.id);
        throw mergedError(c.id, row?.merged_into);
      }
      return c.id;
    }
    const found = await this.customers.resolve(merchantId, { email: c.email, phone: c.phone });
    if (found.length > 1) {
      throw new ApiError(
        409,
        "identity_conflict",
        "the email and phone point at different customers; name one by id",
        { customerIds: found },
      );
    }
    const id = found[0];
    if (!id) throw new ApiError(404, "not_found", "no customer holds this email or phone");
    return id;
  }
}

/** An order's answer from its two entries. */
function resultOf(entries: CommittedEntry[]): OrderResult {
  const order = entries.find((e) => e.entry.type === ORDER_RECORDED);
  const awarded = entries.find((e) => e.entry.type === POINTS_AWARDED);
  const tier = entries.find((e) => e.entry.type === TIER_CHANGED)?.entry.payload as
    | TierChangedPayload
    | undefined;
  if (!order || !awarded) throw new Error("an order's entries are missing");
  const o = order.entry.payload as unknown as OrderRecordedPayload;
  const a = awarded.entry.payload as unknown as PointsAwardedPayload;
  return {
    orderId: o.orderId,
    customerId: o.customerId,
    points: a.points,
    awards: a.awards.map((x) => ({ rule: x.rule, version: x.version, points: x.points })),
    availableAt: a.lot?.availableAt ?? null,
    entryIndex: Number(order.index),
    tier: tier ? { from: tier.from, to: tier.to } : null,
    replayed: order.replayed === true,
  };
}

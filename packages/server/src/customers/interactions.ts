import type { JsonValue } from "@patron/ledger";
import { z } from "zod";
import type { Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { checkOccurredAt, IdOf, Label, OccurredAt, ShortText } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { newId } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import { type CustomerKey, Vault } from "../vault/vault.js";
import type { CustomerStatus, Customers } from "./customers.js";
import { CHANNEL_KINDS } from "./profile.js";

export const INTERACTION_RECORDED = "interaction.recorded";

export const CHANNELS = ["store", "phone", "email", "web", "chat", "social", "app"] as const;
export const INTERACTION_KINDS = [
  "visit",
  "call",
  "message",
  "email",
  "review",
  "purchase",
  "return",
  "complaint",
  "meeting",
  "other",
] as const;

/** Identifier hints: how a channel knows the person, when the caller has no customer id. */
const Hints = z
  .strictObject({
    email: z.string().max(254).optional(),
    phone: z.string().max(40).optional(),
    ...Object.fromEntries(CHANNEL_KINDS.map((k) => [k, ShortText(200).optional()])),
  })
  .refine((h) => Object.values(h).some((v) => v !== undefined), "give at least one identifier");

export const InteractionInput = z
  .strictObject({
    channel: z.enum(CHANNELS),
    direction: z.enum(["inbound", "outbound"]),
    kind: z.enum(INTERACTION_KINDS),
    occurredAt: OccurredAt("when it happened"),
    customerId: IdOf("c", "a customer").optional().describe("wins over `identity`"),
    identity: Hints.optional(),
    summary: Label(500).optional().describe("kept in the vault; the entry holds its commitment"),
    content: z.string().max(20_000).optional().describe("kept in the vault, like the summary"),
    amount: z
      .strictObject({
        value: z.number().int().min(-1e12).max(1e12).describe("minor units (cents)"),
        currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
      })
      .optional(),
  })
  .refine((i) => i.customerId !== undefined || i.identity !== undefined, {
    message: "name the customer with customerId or identity",
  });
export type InteractionInput = z.infer<typeof InteractionInput>;

export const MAX_INTERACTION_BATCH = 1000;

/** A recorded interaction: its id, its customer's, and its entry's index. */
export interface Recorded {
  id: string;
  customerId: string;
  index: bigint;
  replayed: boolean;
}

interface InteractionPayload {
  merchantId: string;
  customerId: string;
  interactionId: string;
  channel: string;
  direction: string;
  kind: string;
  occurredAt: string;
  amount?: { value: number; currency: string };
}

export const interactionsProjector: Projector = {
  types: [INTERACTION_RECORDED],
  tables: ["interactions"],
  statements(entries: CommittedEntry[]): Statement[] {
    const p = entries.map((e) => e.entry.payload as unknown as InteractionPayload);
    return [
      {
        sql: `INSERT INTO interactions (id, merchant_id, customer_id, channel, direction, kind,
           occurred_at, amount, currency, entry_idx)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
           $7::timestamptz[], $8::bigint[], $9::text[], $10::bigint[])`,
        params: [
          p.map((x) => x.interactionId),
          p.map((x) => x.merchantId),
          p.map((x) => x.customerId),
          p.map((x) => x.channel),
          p.map((x) => x.direction),
          p.map((x) => x.kind),
          p.map((x) => x.occurredAt),
          p.map((x) => (x.amount ? String(x.amount.value) : null)),
          p.map((x) => x.amount?.currency ?? null),
          entries.map((e) => e.index.toString()),
        ],
      },
    ];
  },
};

/** The vault field holding an interaction's summary and content. */
export const interactionField = (id: string) => `interaction/${id}`;

/**
 * Interactions on every channel. Each names its customer by id, or by identifier hints that
 * are resolved in order (email, phone, then channel identities): a customer found by them gets
 * it; nothing found creates the customer. Hints that point at two customers are refused
 * (`409 identity_conflict`): the caller decides, never a silent merge.
 */
export class Interactions {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly customers: Customers,
    private readonly clock: Clock,
  ) {}

  /**
   * A batch, each item on its own (one refused does not refuse the others), their customers'
   * statuses read in one query. The items' commands share the sequencer's batches, and their
   * vault rows go out as one multi-row INSERT.
   */
  async recordMany(
    merchantId: string,
    actor: string,
    inputs: InteractionInput[],
  ): Promise<PromiseSettledResult<Recorded>[]> {
    const ids = [...new Set(inputs.flatMap((i) => (i.customerId ? [i.customerId] : [])))];
    const [statuses, keys] = await Promise.all([
      this.customers.statuses(merchantId, ids),
      this.vault.customerKeys(merchantId, ids),
    ]);
    return Promise.allSettled(
      inputs.map((i) =>
        this.record(
          merchantId,
          actor,
          i,
          undefined,
          true,
          i.customerId ? { statuses, keys } : undefined,
        ),
      ),
    );
  }

  async record(
    merchantId: string,
    actor: string,
    input: InteractionInput,
    idempotencyKey?: string,
    retry = true,
    /** The customers' statuses and data keys, read for a whole batch (`recordMany`). */
    known?: { statuses: Map<string, CustomerStatus>; keys: Map<string, CustomerKey> },
  ): Promise<Recorded> {
    // Checked before the hints may create a customer: a refusal writes nothing.
    checkOccurredAt(input.occurredAt, this.clock.now());
    let customerId = input.customerId;
    if (customerId === undefined) {
      const hints = input.identity as Record<string, string>;
      const found = await this.customers.resolve(merchantId, hints);
      if (found.length > 1) {
        throw new ApiError(
          409,
          "identity_conflict",
          "the identifiers point at different customers; name one with customerId",
          { customerIds: found },
        );
      }
      if (found[0]) customerId = found[0];
      else {
        try {
          customerId = (await this.customers.createFromHints(merchantId, actor, hints)).id;
        } catch (err) {
          // Another interaction created this customer a moment ago: it is found now.
          if (retry && err instanceof ApiError && err.code === "identity_in_use") {
            return this.record(merchantId, actor, input, idempotencyKey, false);
          }
          throw err;
        }
      }
    } else {
      const status = known
        ? known.statuses.get(customerId)
        : await this.customers.status(merchantId, customerId);
      if (!status) throw new ApiError(404, "not_found", `customer ${customerId} not found`);
      if (status === "erased") throw erased(customerId);
    }
    const id = newId("i");
    const cid = customerId;
    const text: JsonValue | undefined =
      input.summary !== undefined || input.content !== undefined
        ? { summary: input.summary ?? null, content: input.content ?? null }
        : undefined;
    const salt = Vault.salt();
    // Erased since it was found: the key is gone, and so is the customer.
    const key =
      text === undefined
        ? undefined
        : (known?.keys.get(cid) ??
          (await this.vault.customerKey(merchantId, cid).catch((err) => {
            if (err instanceof VaultError) {
              throw erased(cid);
            }
            throw err;
          })));
    const field = interactionField(id);
    const [entry] = await this.sequencer.execute(
      {
        entries: [
          {
            type: INTERACTION_RECORDED,
            actor,
            parties: [{ customer: cid }, { merchant: merchantId }],
            sealed: true,
            payload: (ctx) => ({
              merchantId,
              customerId: cid,
              interactionId: id,
              channel: input.channel,
              direction: input.direction,
              kind: input.kind,
              occurredAt: new Date(input.occurredAt).toISOString(),
              ...(input.amount ? { amount: input.amount } : {}),
              ...(text === undefined
                ? {}
                : {
                    content: Buffer.from(
                      Vault.commit(cid, field, Number(ctx.index), text, salt),
                    ).toString("base64url"),
                  }),
            }),
          },
        ],
        check: () => this.customers.checkActive(cid),
        // A new field of its own: joined with the batch's other new rows (`Statement.bulk`).
        writes: (es) =>
          key && text !== undefined
            ? [
                {
                  ...this.vault.sealField(key, field, Number(es[0]?.index), text, salt),
                  bulk: true,
                },
              ]
            : [],
      },
      await this.customers.idempotency(merchantId, "interactions", idempotencyKey, input),
    );
    if (!entry) throw new Error("an interaction committed no entry");
    if (entry.replayed) {
      const p = entry.entry.payload as { interactionId: string; customerId: string };
      return { id: p.interactionId, customerId: p.customerId, index: entry.index, replayed: true };
    }
    return { id, customerId: cid, index: entry.index, replayed: false };
  }
}

const erased = (id: string) =>
  new ApiError(
    409,
    "customer_erased",
    `customer ${id} was erased; nothing more is recorded about them`,
  );

import { z } from "zod";
import type { EntryTypeSpec } from "../domain.js";
import type { Party } from "../ledger/sequencer.js";

/** The signed command a customer sends points with (decision 5). */
export const TRANSFER_COMMAND = "points.transfer";

/**
 * Points a customer sent to another customer of the same merchant: the sender's side, naming
 * the sender only (decision 6), with the lots the points were taken from; sealed. It keeps the
 * customer's signed `points.transfer` command, and is followed at once by `points.received`.
 */
export const POINTS_SENT = "points.sent";
/**
 * The same transfer on the receiver's side: the receiver's new lot, naming the receiver only;
 * sealed, right after its `points.sent` entry and written in the same atomic group.
 */
export const POINTS_RECEIVED = "points.received";

export const TRANSFER_ENTRY_TYPES = [POINTS_SENT, POINTS_RECEIVED] as const;

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Instant = z.iso.datetime({ offset: true });
/** base64url of a SHA-256 commitment (the message's, in the vault under each side's key). */
const Commitment = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/** A lot a transfer or a staff credit makes (adjustment-entries.ts too). */
export const LotPayload = z.strictObject({
  points: Count,
  availableAt: Instant,
  expiresAt: Instant.nullable(),
  ownExpiresAt: Instant.nullable().optional(),
});
export type LotPayload = z.infer<typeof LotPayload>;

/** What a customer signs: `to`, a customer of the same merchant, and the points. */
export const TransferCommandPayload = z.strictObject({
  to: z
    .string()
    .regex(/^c_[A-Za-z0-9_-]{1,64}$/, "must be a customer id such as c_abc123")
    .describe("the receiving customer, of the same merchant"),
  points: z
    .number()
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(1_000_000_000, "must be at most 1000000000"),
  attached: z
    .string()
    .optional()
    .describe("the commitment to the values beside the command: `{ message }`"),
});
export type TransferCommandPayload = z.infer<typeof TransferCommandPayload>;

/** The values that may travel beside a transfer: a message for the receiver. */
export const TransferAttached = z.strictObject({
  message: z
    .string()
    .min(1)
    .max(500)
    .refine((s) => !/\p{Cc}/u.test(s.replace(/[\t\n\r]/g, "")), {
      message: "must not contain control characters",
    }),
});

export const PointsSentPayload = z.strictObject({
  merchantId: z.string(),
  /** The sender. */
  customerId: z.string(),
  transferId: z.string(),
  points: Count,
  /** The lots the points came from (their entries' indices), soonest-expiring first. */
  taken: z.array(z.strictObject({ lot: Count, points: Count })),
  /** The message's commitment under the sender's key (Vault.commit, version = this index). */
  message: Commitment.optional(),
});
export type PointsSentPayload = z.infer<typeof PointsSentPayload>;

export const PointsReceivedPayload = z.strictObject({
  merchantId: z.string(),
  /** The receiver. */
  customerId: z.string(),
  transferId: z.string(),
  /** The index of its points.sent entry (the entry just before). */
  sent: Count,
  points: Count,
  /**
   * The receiver's new lot: available at once or after the return window (the programme's
   * `transfers.receivedAvailability`), expiring by the programme's expiry policy as of its
   * receipt or when the soonest-expiring lot it came from does, whichever is sooner (null:
   * never), so a transfer never lengthens the life of points. `ownExpiresAt` (inactivity
   * policy, where it differs): what an order's renewal never pushes it past. Its `points` are
   * all received; those that repaid debt (`debtRepaid`) are not in the lot's remaining points.
   */
  lot: LotPayload,
  /** Points of the receiver's debt (refunds of spent points) the points received repaid first. */
  debtRepaid: Count.min(1).optional(),
  /** The message's commitment under the receiver's key (version = this index). */
  message: Commitment.optional(),
});
export type PointsReceivedPayload = z.infer<typeof PointsReceivedPayload>;

const customerAndMerchant = (e: { payload: unknown }): Party[] => {
  const p = e.payload as { customerId?: unknown; merchantId?: unknown };
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

/** Each side of a transfer is sealed and on that side's chain only, and the merchant's. */
export const transferEntryTypes: EntryTypeSpec[] = TRANSFER_ENTRY_TYPES.map((type) => ({
  type,
  sealing: "sealed" as const,
  parties: customerAndMerchant,
}));

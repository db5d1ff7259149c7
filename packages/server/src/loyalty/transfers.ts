import type { JsonValue } from "@patron/ledger";
import { commandPayload, signingCustomer } from "../commands/payload.js";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import type { CommandHandler } from "../domain.js";
import { ApiError } from "../http/errors.js";
import type { CheckContext, CommandDraft, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import { Vault } from "../vault/vault.js";
import { DAY_MS } from "./evaluation.js";
import { policyExpiry, sooner } from "./expiry.js";
import { addLot, takePoints, type WalletLot } from "./lots.js";
import { type Programme, utcOffsetMinutes } from "./programme.js";
import type { LoyaltyState, ReleaseLapsed } from "./state.js";
import {
  POINTS_RECEIVED,
  POINTS_SENT,
  type PointsReceivedPayload,
  type PointsSentPayload,
  TRANSFER_COMMAND,
  TransferAttached,
  TransferCommandPayload,
} from "./transfer-entries.js";

/** The vault field holding a transfer's message, under each side's own key. */
export const transferMessageField = (transferId: string) => `transfer/${transferId}/message`;

/** What a customer sent in one day: points and transfers. */
interface DaySent {
  points: number;
  count: number;
}

/** A transfer as a listing shows it, from one side. */
export interface TransferView {
  transferId: string;
  /** `sent` by this customer, or `received`. */
  direction: "sent" | "received";
  /** The other customer. */
  counterparty: string;
  points: number;
  /** This side's entry (points.sent or points.received). */
  entryIndex: number;
  at: string;
  hasMessage: boolean;
  /** The message, from this side's vault copy; only the customers themselves are shown it. */
  message?: string | null;
}

interface TransferRow {
  entry_idx: string | number;
  transfer_id: string;
  from_customer: string;
  to_customer: string;
  points: string | number;
  has_message: boolean;
  recorded_at: string | Date;
  received_idx: string | number | null;
}

const dayKey = (merchantId: string, customerId: string, day: number) =>
  `${merchantId}\u0000${customerId}\u0000${day}`;

/** Most day totals kept in memory; past it the committed ones are read again as needed. */
const MAX_DAYS = 100_000;

/**
 * The calendar day of `ms` in the programme's time zone, as the UTC instant it starts at: the
 * daily limits count what a customer sent since then.
 */
export function dayStart(ms: number, timeZone: string): number {
  const offset = utcOffsetMinutes(timeZone, ms) * 60_000;
  return Math.floor((ms + offset) / DAY_MS) * DAY_MS - offset;
}

/**
 * The programme's refusal of a transfer of `points` by a customer who sent `day` today, or
 * undefined when it allows it. The balance is checked apart (409 insufficient_points).
 */
export function transferRefusal(
  programme: Programme,
  points: number,
  day: DaySent,
): ApiError | undefined {
  const t = programme.transfers;
  if (!t.allowed) {
    return new ApiError(403, "transfers_disabled", "this programme does not allow transfers");
  }
  if (t.minPoints !== undefined && points < t.minPoints) {
    return new ApiError(
      403,
      "transfer_below_minimum",
      `a transfer moves at least ${t.minPoints} points`,
      { minPoints: t.minPoints },
    );
  }
  if (t.maxPoints !== undefined && points > t.maxPoints) {
    return new ApiError(
      403,
      "transfer_above_maximum",
      `a transfer moves at most ${t.maxPoints} points`,
      { maxPoints: t.maxPoints },
    );
  }
  if (t.dailyMaxPoints !== undefined && day.points + points > t.dailyMaxPoints) {
    return new ApiError(
      403,
      "daily_transfer_limit",
      `a customer sends at most ${t.dailyMaxPoints} points a day; ${day.points} were sent today`,
      { dailyMaxPoints: t.dailyMaxPoints, sentToday: day.points },
    );
  }
  if (t.dailyMaxCount !== undefined && day.count + 1 > t.dailyMaxCount) {
    return new ApiError(
      403,
      "daily_transfer_count",
      `a customer sends at most ${t.dailyMaxCount} transfers a day`,
      { dailyMaxCount: t.dailyMaxCount, sentToday: day.count },
    );
  }
  return undefined;
}

/**
 * The receiver's lot: available at once, or after the return window, by the programme. It
 * expires by the programme's expiry policy as of its receipt (as a lot earned then would:
 * `policyExpiry`), or when the soonest-expiring lot the points came from does, whichever is
 * sooner (null: neither expires), so sending points never lengthens their life, whoever holds
 * them. `own` is the expiry an order's renewal (inactivity) never pushes it past.
 */
export function receivedLot(
  programme: Programme,
  points: number,
  time: number,
  from: readonly Pick<WalletLot, "lot" | "expiresAt">[],
  taken: readonly { lot: number }[],
): { points: number; availableAt: number; expiresAt: number | null; own: number | null } {
  let sent: number | null = null;
  for (const t of taken) {
    sent = sooner(sent, from.find((l) => Number(l.lot) === t.lot)?.expiresAt ?? null);
  }
  const policy = policyExpiry(programme, time);
  const wait =
    programme.transfers.receivedAvailability === "return_window"
      ? programme.returnWindowDays * DAY_MS
      : 0;
  return {
    points,
    availableAt: time + wait,
    expiresAt: sooner(policy.expiresAt, sent),
    own: sooner(policy.own, sent),
  };
}

/**
 * A lot as an entry's payload records it; `ownExpiresAt` only where it differs from
 * `expiresAt` (the inactivity policy), as points.awarded records it.
 */
export function lotPayload(lot: {
  points: number;
  availableAt: number;
  expiresAt: number | null;
  own: number | null;
}): {
  points: number;
  availableAt: string;
  expiresAt: string | null;
  ownExpiresAt?: string | null;
} {
  const at = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    points: lot.points,
    availableAt: iso(lot.availableAt),
    expiresAt: at(lot.expiresAt),
    ...(lot.own === lot.expiresAt ? {} : { ownExpiresAt: at(lot.own) }),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Customer-to-customer transfers (issue 9): a customer signs `points.transfer`
 * `{ to, points }` with their key at the merchant (decision 5); a message, if any, travels
 * beside the command, and only its commitment is signed. One command writes two sealed
 * entries, atomically (decision 6): `points.sent` on the sender's chain, taking the points from
 * their spendable lots soonest-expiring first (`takePoints`), and `points.received` on the
 * receiver's, making their lot. The message goes to the vault twice, under each side's key.
 */
export class Transfers {
  private readonly days: StagedMap<string, DaySent>;

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
    private readonly customers: Customers,
    private readonly vault: Vault,
    private readonly state: LoyaltyState,
    private readonly releaseLapsed: ReleaseLapsed,
  ) {
    this.days = sequencer.state.add(new StagedMap());
    sequencer.onRecover(async () => this.days.clearCommitted());
  }

  /** The `points.transfer` signed command type, for `POST /v1/commands`. */
  handler(): CommandHandler {
    return {
      type: TRANSFER_COMMAND,
      signer: "customer",
      handle: ({ command, binding, attached }) =>
        this.draft(command.merchant, binding?.party, command.actor, command.payload, attached),
    };
  }

  private async draft(
    merchantId: string,
    signer: string | undefined,
    actor: string,
    payload: unknown,
    attached: Record<string, JsonValue> | undefined,
  ): Promise<CommandDraft> {
    const sender = signingCustomer(signer, "only a customer's key sends points");
    const { to, points } = commandPayload(TransferCommandPayload, payload);
    if (to === sender) {
      throw new ApiError(400, "self_transfer", "a customer cannot send points to themselves");
    }
    let message: string | undefined;
    if (attached) {
      const values = TransferAttached.safeParse(attached);
      if (!values.success) {
        const issue = values.error.issues[0];
        throw new ApiError(
          400,
          "invalid_request",
          `attached.values.${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
        );
      }
      message = values.data.message;
    }
    if (!(await this.customers.isActiveKnown(merchantId, to))) throw noRecipient(to);
    // The sender's holds that lapsed give their points back first (reads count them already).
    await this.releaseLapsed(merchantId, sender);
    // Refused before anything is queued; checked again in the sequencer's order.
    const { programme } = await this.state.programme(merchantId, false);
    if (!programme.transfers.allowed) throw transferRefusal(programme, points, ZERO) as ApiError;
    const keys = message === undefined ? undefined : await this.keys(merchantId, sender, to);
    const transferId = newId("t");
    const field = transferMessageField(transferId);
    const salts = [Vault.salt(), Vault.salt()] as const;
    let sent: Omit<PointsSentPayload, "message"> | undefined;
    let received: Omit<PointsReceivedPayload, "message" | "sent"> | undefined;
    const commit = (customerId: string, index: bigint, salt: Uint8Array) =>
      message === undefined
        ? {}
        : {
            message: Buffer.from(
              Vault.commit(customerId, field, Number(index), message, salt),
            ).toString("base64url"),
          };
    return {
      entries: [
        {
          type: POINTS_SENT,
          actor,
          parties: [{ customer: sender }, { merchant: merchantId }],
          sealed: true,
          payload: (ctx) =>
            ({ ...sent, ...commit(sender, ctx.index, salts[0]) }) as unknown as JsonValue,
        },
        {
          type: POINTS_RECEIVED,
          actor,
          parties: [{ customer: to }, { merchant: merchantId }],
          sealed: true,
          payload: (ctx) =>
            ({
              ...received,
              sent: Number(ctx.index) - 1,
              ...commit(to, ctx.index, salts[1]),
            }) as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const r = await this.check(ctx, merchantId, sender, to, points);
        sent = { merchantId, customerId: sender, transferId, points, taken: r.taken };
        received = {
          merchantId,
          customerId: to,
          transferId,
          points,
          lot: r.lot,
          ...(r.debtRepaid === undefined ? {} : { debtRepaid: r.debtRepaid }),
        };
      },
      writes: (es) =>
        keys === undefined || message === undefined
          ? []
          : [
              this.vault.sealField(keys[0], field, Number(es[0]?.index), message, salts[0]),
              this.vault.sealField(keys[1], field, Number(es[1]?.index), message, salts[1]),
            ],
    };
  }

  /** Checks and stages a transfer in the sequencer's order: programme, limits, balance. */
  private async check(
    ctx: CheckContext,
    merchantId: string,
    sender: string,
    to: string,
    points: number,
  ) {
    this.customers.checkActive(sender);
    try {
      this.customers.checkActive(to);
    } catch {
      throw noRecipient(to);
    }
    const { programme } = await this.state.programme(merchantId);
    const key = dayKey(merchantId, sender, dayStart(ctx.time, programme.timeZone));
    const day = await this.sentToday(key, merchantId, sender, ctx.time, programme);
    const refused = transferRefusal(programme, points, day);
    if (refused) throw refused;
    const wallet = await this.state.wallet(merchantId, sender);
    const r = takePoints(wallet, points, ctx.time);
    if (r.short > 0) {
      const available = points - r.short;
      throw new ApiError(
        409,
        "insufficient_points",
        `${points} points to send, ${available} available`,
        { available },
      );
    }
    const made = receivedLot(programme, points, ctx.time, wallet.lots, r.taken);
    // The points received repay the receiver's debt first, as earned points do.
    const received = addLot(await this.state.wallet(merchantId, to), {
      lot: ctx.index + 1n,
      remaining: points,
      availableAt: made.availableAt,
      expiresAt: made.expiresAt,
      // Renewals never lengthen it past what it was sent with, nor past a fixed policy's.
      fixedExpiresAt: made.own,
    });
    this.state.stageWallet(merchantId, sender, r.wallet);
    this.state.stageWallet(merchantId, to, received.wallet);
    if (this.days.committedSize > MAX_DAYS) this.days.clearCommitted();
    this.days.set(key, { points: day.points + points, count: day.count + 1 });
    return {
      taken: r.taken,
      lot: lotPayload(made),
      ...(received.debtRepaid > 0 ? { debtRepaid: received.debtRepaid } : {}),
    };
  }

  /** What the sender sent on the day of `time`: staged, or read from loyalty_transfers. */
  private async sentToday(
    key: string,
    merchantId: string,
    sender: string,
    time: number,
    programme: Programme,
  ): Promise<DaySent> {
    const known = this.days.get(key);
    if (known) return known;
    // Counted whether or not the programme has daily limits now: it may set them later today.
    const from = dayStart(time, programme.timeZone);
    const { rows } = await this.db.query<{ points: string | number; n: string | number }>(
      `SELECT coalesce(sum(points), 0) AS points, count(*) AS n FROM loyalty_transfers
       WHERE merchant_id = $1 AND from_customer = $2 AND recorded_at >= $3 AND recorded_at < $4`,
      [merchantId, sender, iso(from), iso(from + DAY_MS)],
    );
    const day = { points: Number(rows[0]?.points ?? 0), count: Number(rows[0]?.n ?? 0) };
    if (!this.days.hasCommitted(key)) this.days.load(key, day);
    return this.days.get(key) ?? day;
  }

  private async keys(merchantId: string, sender: string, to: string) {
    const sk = await this.vault.customerKey(merchantId, sender);
    const rk = await this.vault.customerKey(merchantId, to).catch((err) => {
      if (err instanceof VaultError) throw noRecipient(to);
      throw err;
    });
    return [sk, rk] as const;
  }

  /**
   * The customer's transfers, sent and received, newest first. `messages`: with each message
   * from this customer's own vault copy (the portal); staff see only that there is one.
   */
  async list(
    merchantId: string,
    customerId: string,
    q: { before?: bigint; limit: number; messages: boolean },
  ): Promise<{ transfers: TransferView[]; next: number | null }> {
    const params: unknown[] = [merchantId, customerId, q.limit + 1];
    if (q.before !== undefined) params.push(q.before.toString());
    const { rows } = await this.db.query<TransferRow>(
      `SELECT entry_idx, transfer_id, from_customer, to_customer, points, has_message,
         recorded_at, received_idx
       FROM loyalty_transfers
       WHERE merchant_id = $1 AND (from_customer = $2 OR to_customer = $2)
       ${q.before === undefined ? "" : "AND entry_idx < $4"}
       ORDER BY entry_idx DESC LIMIT $3`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const fields = page
      .filter((r) => r.has_message)
      .map((r) => transferMessageField(r.transfer_id));
    const texts =
      q.messages && fields.length > 0
        ? await this.vault.getMany(merchantId, customerId, fields).catch((err) => {
            if (err instanceof VaultError) return new Map();
            throw err;
          })
        : new Map();
    const transfers = page.map((r): TransferView => {
      const sent = r.from_customer === customerId;
      const view: TransferView = {
        transferId: r.transfer_id,
        direction: sent ? "sent" : "received",
        counterparty: sent ? r.to_customer : r.from_customer,
        points: Number(r.points),
        entryIndex: Number(sent ? r.entry_idx : (r.received_idx ?? r.entry_idx)),
        at: new Date(r.recorded_at).toISOString(),
        hasMessage: r.has_message,
      };
      if (q.messages && r.has_message) {
        const v = texts.get(transferMessageField(r.transfer_id));
        view.message = typeof v?.value === "string" ? v.value : null;
      }
      return view;
    });
    const last = page[page.length - 1];
    return {
      transfers,
      next: rows.length > q.limit && last ? Number(last.entry_idx) : null,
    };
  }
}

const ZERO: DaySent = { points: 0, count: 0 };

const noRecipient = (to: string) =>
  new ApiError(404, "recipient_not_found", `no customer ${to} here to receive points`);

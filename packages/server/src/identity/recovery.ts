import { decodeDidKey, type JsonValue } from "@patron/ledger";
import type { Channels } from "../channels/index.js";
import type { Bindings } from "../commands/bindings.js";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import {
  KEY_BOUND,
  KEY_RETIRED,
  type KeyBoundPayload,
  type KeyRetiredPayload,
  RECOVERY_CANCELLED,
  RECOVERY_STARTED,
  type RecoveryPayload,
} from "./entries.js";
import type { CustomerKeys } from "./keys.js";

/** The identity checks staff may record before starting a recovery. */
export const RECOVERY_CHECKS = [
  "id_document",
  "in_person",
  "verified_email",
  "verified_phone",
  "security_questions",
] as const;

export const DEFAULT_TIME_LOCK_HOURS = 72;

export interface Recovery {
  id: string;
  customerId: string;
  oldKey: string;
  newKey: string;
  status: "pending" | "vetoed" | "cancelled" | "completed";
  completesAt: string;
  startedIndex: number;
  endedIndex: number | null;
}

interface RecoveryRow {
  id: string;
  customer_id: string;
  old_key: string;
  new_key: string;
  status: Recovery["status"];
  completes_at: Date | string;
  started_idx: string | number;
  ended_idx: string | number | null;
}

const toRecovery = (r: RecoveryRow): Recovery => ({
  id: r.id,
  customerId: r.customer_id,
  oldKey: r.old_key,
  newKey: r.new_key,
  status: r.status,
  completesAt: new Date(r.completes_at).toISOString(),
  startedIndex: Number(r.started_idx),
  endedIndex: r.ended_idx === null ? null : Number(r.ended_idx),
});

const COLUMNS = "id, customer_id, old_key, new_key, status, completes_at, started_idx, ended_idx";
const ck = (merchantId: string, customerId: string) => `${merchantId}\u0000${customerId}`;

export interface RecoveryDeps {
  db: Queryable;
  sequencer: Sequencer;
  clock: Clock;
  bindings: Bindings;
  keys: CustomerKeys;
  customers: () => Customers;
  channels?: Channels;
  /** The time-lock, in hours (PATRON_RECOVERY_HOURS; 72 by default). */
  timeLockHours?: number;
  log?: (line: string) => void;
}

/**
 * Recovery after a lost key (the "through staff after identity checks"): staff record
 * the checks and the customer's new key; the old key and the customer's contact channels are
 * told; for the time-lock the old key can veto (`key.veto`); then the old key is revoked and
 * the new one bound. Every step is an entry on the customer's chain.
 */
export class Recoveries {
  /** The customer's recovery in its time-lock, or null (staged in command order). */
  private readonly pending: StagedMap<string, string | null>;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly d: RecoveryDeps) {
    this.pending = d.sequencer.state.add(new StagedMap<string, string | null>());
    d.sequencer.onRecover(async () => this.pending.clearCommitted());
  }

  get timeLockMs(): number {
    return (this.d.timeLockHours ?? DEFAULT_TIME_LOCK_HOURS) * 3_600_000;
  }

  async get(merchantId: string, id: string): Promise<Recovery | undefined> {
    const { rows } = await this.d.db.query<RecoveryRow>(
      `SELECT ${COLUMNS} FROM key_recoveries WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0] ? toRecovery(rows[0]) : undefined;
  }

  async list(merchantId: string, customerId: string): Promise<Recovery[]> {
    const { rows } = await this.d.db.query<RecoveryRow>(
      `SELECT ${COLUMNS} FROM key_recoveries WHERE merchant_id = $1 AND customer_id = $2
       ORDER BY started_idx DESC LIMIT 50`,
      [merchantId, customerId],
    );
    return rows.map(toRecovery);
  }

  /** The customer's recovery in its time-lock, if any. */
  async pendingOf(merchantId: string, customerId: string, staged = false): Promise<string | null> {
    const k = ck(merchantId, customerId);
    const known = staged ? this.pending.get(k) : this.pending.getCommitted(k);
    if (known !== undefined) return known;
    const { rows } = await this.d.db.query<{ id: string }>(
      `SELECT id FROM key_recoveries WHERE merchant_id = $1 AND customer_id = $2 AND status = 'pending'`,
      [merchantId, customerId],
    );
    const found = rows[0]?.id ?? null;
    if (!this.pending.hasCommitted(k)) this.pending.load(k, found);
    return (staged ? this.pending.get(k) : this.pending.getCommitted(k)) ?? found;
  }

  /** Inside a check: the recovery must still be in its time-lock; it ends with this command. */
  async stageEnd(merchantId: string, customerId: string, id: string): Promise<void> {
    if ((await this.pendingOf(merchantId, customerId, true)) !== id) {
      throw new ApiError(409, "recovery_ended", `recovery ${id} is no longer under way`);
    }
    this.pending.set(ck(merchantId, customerId), null);
  }

  /** Staff start a recovery: the customer's new key, and the checks that identified them. */
  async start(
    merchantId: string,
    customerId: string,
    input: { key: string; checks: string[] },
    actor: string,
  ): Promise<Recovery> {
    try {
      decodeDidKey(input.key);
    } catch (err) {
      throw new ApiError(400, "invalid_key", `key: ${(err as Error).message}`);
    }
    const status = await this.d.customers().status(merchantId, customerId);
    if (status === undefined)
      throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    if (status !== "active") {
      throw new ApiError(409, `customer_${status}`, `customer ${customerId} is ${status}`);
    }
    const oldKey = await this.d.keys.active(merchantId, customerId);
    if (!oldKey) {
      throw new ApiError(
        409,
        "no_key",
        "this profile has no key to recover: give the customer an invite to claim it",
      );
    }
    const id = newId("rec");
    const parties = [{ customer: customerId }, { merchant: merchantId }];
    const [entry] = await this.d.sequencer.execute({
      entries: [
        {
          type: RECOVERY_STARTED,
          actor,
          parties,
          sealed: true,
          payload: (ctx) =>
            ({
              merchantId,
              customerId,
              recoveryId: id,
              oldKey,
              newKey: input.key,
              completesAt: new Date(ctx.time + this.timeLockMs).toISOString(),
              checks: [...new Set(input.checks)].sort(),
            }) satisfies RecoveryPayload as unknown as JsonValue,
        },
      ],
      check: async () => {
        this.d.customers().checkActive(customerId);
        if ((await this.d.keys.active(merchantId, customerId, true)) !== oldKey) {
          throw new ApiError(
            409,
            "key_changed",
            "the profile's key changed meanwhile; start again",
          );
        }
        if (await this.d.bindings.get(merchantId, input.key, true)) {
          throw new ApiError(409, "key_in_use", "the new key is already known here");
        }
        const pending = await this.pendingOf(merchantId, customerId, true);
        if (pending) {
          throw new ApiError(409, "recovery_pending", `recovery ${pending} is already under way`, {
            recovery: pending,
          });
        }
        this.pending.set(ck(merchantId, customerId), id);
      },
    });
    if (!entry) throw new Error("a recovery committed no entry");
    const p = entry.entry.payload as unknown as RecoveryPayload;
    await this.notify(merchantId, customerId, p.completesAt ?? "");
    return {
      id,
      customerId,
      oldKey,
      newKey: input.key,
      status: "pending",
      completesAt: p.completesAt ?? "",
      startedIndex: Number(entry.index),
      endedIndex: null,
    };
  }

  /** Tells the customer on every contact channel: a recovery they did not ask for can be vetoed. */
  private async notify(merchantId: string, customerId: string, completesAt: string) {
    const channels = this.d.channels;
    if (!channels) return;
    const view = await this.d.customers().get(merchantId, customerId);
    if (!view) return;
    const text = [
      "A recovery of your account key was started at the merchant's request.",
      `Your new key takes effect at ${completesAt}. If you did not ask for this, open your`,
      "account with your current key and refuse it before then.",
    ].join("\n");
    const sends = [
      ...view.emails.map((to) =>
        channels.send(
          merchantId,
          { channel: "mail", to, subject: "Your account key is being recovered", text },
          customerId,
        ),
      ),
      ...view.phones.map((p) =>
        channels.send(merchantId, { channel: "sms", to: p.number, text }, customerId),
      ),
    ];
    // A failed message does not undo the recovery: the entry and the portal still tell the key.
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) this.d.log?.(`Recovery notice: ${failed} message(s) not delivered.`);
  }

  /** Staff withdraw a recovery in its time-lock. */
  async cancel(merchantId: string, id: string, actor: string): Promise<Recovery> {
    const r = await this.get(merchantId, id);
    if (!r) throw new ApiError(404, "not_found", `recovery ${id} not found`);
    await this.d.sequencer.execute({
      entries: [
        {
          type: RECOVERY_CANCELLED,
          actor,
          parties: [{ customer: r.customerId }, { merchant: merchantId }],
          sealed: true,
          payload: { merchantId, customerId: r.customerId, recoveryId: id },
        },
      ],
      check: () => this.stageEnd(merchantId, r.customerId, id),
    });
    return (await this.get(merchantId, id)) ?? r;
  }

  /** Ends the time-lock: the old key is revoked and the new one bound, in one command. */
  async complete(merchantId: string, id: string, actor: string): Promise<Recovery> {
    const r = await this.get(merchantId, id);
    if (!r) throw new ApiError(404, "not_found", `recovery ${id} not found`);
    if (r.status !== "pending") {
      throw new ApiError(409, "recovery_ended", `recovery ${id} is ${r.status}`);
    }
    if (this.d.clock.now() < Date.parse(r.completesAt)) {
      throw new ApiError(
        409,
        "time_lock",
        `recovery ${id} completes at ${r.completesAt}; until then the current key may veto it`,
        { completesAt: r.completesAt },
      );
    }
    const parties = [{ customer: r.customerId }, { merchant: merchantId }];
    const retired: KeyRetiredPayload = {
      merchantId,
      customerId: r.customerId,
      key: r.oldKey,
      status: "revoked",
      via: "recovery",
      recoveryId: id,
    };
    const bound: KeyBoundPayload = {
      merchantId,
      customerId: r.customerId,
      key: r.newKey,
      via: "recovery",
      recoveryId: id,
    };
    await this.d.sequencer.execute({
      entries: [
        {
          type: KEY_RETIRED,
          actor,
          parties,
          sealed: true,
          payload: retired as unknown as JsonValue,
        },
        { type: KEY_BOUND, actor, parties, sealed: true, payload: bound as unknown as JsonValue },
      ],
      check: async (ctx) => {
        if (ctx.time < Date.parse(r.completesAt)) {
          throw new ApiError(409, "time_lock", `recovery ${id} completes at ${r.completesAt}`);
        }
        await this.stageEnd(merchantId, r.customerId, id);
        this.d.customers().checkActive(r.customerId);
        if (await this.d.bindings.get(merchantId, r.newKey, true)) {
          throw new ApiError(409, "key_in_use", "the new key was bound meanwhile");
        }
        // Not a signed command: the bindings are staged here, as the commands route does.
        this.d.bindings.stage({
          merchant: merchantId,
          actor: r.oldKey,
          party: r.customerId,
          kind: "customer",
          status: "revoked",
        });
        this.d.bindings.stage({
          merchant: merchantId,
          actor: r.newKey,
          party: r.customerId,
          kind: "customer",
          status: "active",
        });
        this.d.keys.stage(merchantId, r.customerId, r.newKey);
      },
    });
    return (await this.get(merchantId, id)) ?? r;
  }

  /** Completes every recovery whose time-lock has ended (the node runs it every minute). */
  async sweep(actor: string): Promise<number> {
    const { rows } = await this.d.db.query<{ id: string; merchant_id: string }>(
      // An erased or merged customer's recovery has nothing left to bind: it is not retried.
      `SELECT r.id, r.merchant_id FROM key_recoveries r
       JOIN customers c ON c.id = r.customer_id AND c.merchant_id = r.merchant_id
       WHERE r.status = 'pending' AND r.completes_at <= $1 AND c.status = 'active'
       ORDER BY r.completes_at LIMIT 100`,
      [new Date(this.d.clock.now()).toISOString()],
    );
    let done = 0;
    for (const r of rows) {
      try {
        await this.complete(r.merchant_id, r.id, actor);
        done++;
      } catch (err) {
        // Vetoed or cancelled meanwhile, or the customer erased: nothing left to complete.
        if (!(err instanceof ApiError)) throw err;
      }
    }
    return done;
  }

  startSweeping(actor: string, intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep(actor)
        .then(() => {})
        .catch((err) => this.d.log?.(`Recovery sweep failed: ${err}`))
        .finally(() => {
          this.sweeping = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stopSweeping(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}

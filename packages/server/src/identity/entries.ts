import type { Entry } from "@patron/ledger";
import type { Statement } from "../db/database.js";
import type { ActorBinding, BindingFacts, EntryTypeSpec } from "../domain.js";
import type { CommittedEntry, Projector } from "../ledger/sequencer.js";

/** A key now signs for a customer at a merchant (join, claim, rotation, recovery). */
export const KEY_BOUND = "identity.key_bound";
/** A key no longer signs for its customer: `rotated` (by the key itself) or `revoked`. */
export const KEY_RETIRED = "identity.key_retired";
/** Staff started a recovery after a lost key: it completes when its time-lock ends. */
export const RECOVERY_STARTED = "identity.recovery_started";
/** The customer's current key stopped a recovery in its time-lock. */
export const RECOVERY_VETOED = "identity.recovery_vetoed";
/** Staff withdrew a recovery in its time-lock. */
export const RECOVERY_CANCELLED = "identity.recovery_cancelled";

/** How a key came to be bound. */
export type KeyVia = "join" | "claim" | "rotation" | "recovery";

export interface KeyBoundPayload {
  merchantId: string;
  customerId: string;
  key: string;
  via: KeyVia;
  /** claim: the invite whose code was used. */
  inviteId?: string;
  /** recovery: the recovery that bound it. */
  recoveryId?: string;
}

export interface KeyRetiredPayload {
  merchantId: string;
  customerId: string;
  key: string;
  status: "rotated" | "revoked";
  via: "rotation" | "recovery";
  recoveryId?: string;
}

export interface RecoveryPayload {
  merchantId: string;
  customerId: string;
  recoveryId: string;
  /** started: the key lost, the key to bind, when it binds and the identity checks staff did. */
  oldKey?: string;
  newKey?: string;
  completesAt?: string;
  checks?: string[];
}

const obj = (e: Pick<Entry, "payload">) => e.payload as Record<string, unknown>;

const customerAndMerchant = (e: Pick<Entry, "payload">) => {
  const p = obj(e);
  return typeof p?.customerId === "string" && typeof p.merchantId === "string"
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
};

function boundKey(e: BindingFacts): ActorBinding | undefined {
  const p = obj(e) as Partial<KeyBoundPayload>;
  if (typeof p?.key !== "string" || !p.merchantId || !p.customerId) return undefined;
  return {
    merchant: p.merchantId,
    actor: p.key,
    party: p.customerId,
    kind: "customer",
    status: "active",
  };
}

function retiredKey(e: BindingFacts): ActorBinding | undefined {
  const p = obj(e) as Partial<KeyRetiredPayload>;
  if (typeof p?.key !== "string" || !p.merchantId || !p.customerId || !p.status) return undefined;
  return {
    merchant: p.merchantId,
    actor: p.key,
    party: p.customerId,
    kind: "customer",
    status: p.status,
  };
}

/** Every identity entry is sealed and on the customer's and the merchant's chains. */
export const identityEntryTypes: EntryTypeSpec[] = [
  { type: KEY_BOUND, sealing: "sealed", parties: customerAndMerchant, binding: boundKey },
  { type: KEY_RETIRED, sealing: "sealed", parties: customerAndMerchant, binding: retiredKey },
  ...[RECOVERY_STARTED, RECOVERY_VETOED, RECOVERY_CANCELLED].map((type) => ({
    type,
    sealing: "sealed" as const,
    parties: customerAndMerchant,
  })),
];

/**
 * `key_recoveries`: each recovery and where it stands. A recovery ends when its new key is
 * bound (completed), or by a veto or a cancellation.
 */
export const recoveriesProjector: Projector = {
  types: [RECOVERY_STARTED, RECOVERY_VETOED, RECOVERY_CANCELLED, KEY_BOUND],
  tables: ["key_recoveries"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.flatMap((e): Statement[] => {
      const idx = e.index.toString();
      if (e.entry.type === RECOVERY_STARTED) {
        const p = e.entry.payload as unknown as RecoveryPayload;
        return [
          {
            sql: `INSERT INTO key_recoveries
              (id, merchant_id, customer_id, old_key, new_key, status, completes_at, started_idx)
              VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)`,
            params: [
              p.recoveryId,
              p.merchantId,
              p.customerId,
              p.oldKey,
              p.newKey,
              p.completesAt,
              idx,
            ],
          },
        ];
      }
      const ended = (id: string | undefined, merchantId: string, status: string): Statement[] =>
        id
          ? [
              {
                sql: `UPDATE key_recoveries SET status = $3, ended_idx = $4
                  WHERE id = $1 AND merchant_id = $2`,
                params: [id, merchantId, status, idx],
              },
            ]
          : [];
      if (e.entry.type === KEY_BOUND) {
        const p = e.entry.payload as unknown as KeyBoundPayload;
        return p.via === "recovery" ? ended(p.recoveryId, p.merchantId, "completed") : [];
      }
      const p = e.entry.payload as unknown as RecoveryPayload;
      return ended(
        p.recoveryId,
        p.merchantId,
        e.entry.type === RECOVERY_VETOED ? "vetoed" : "cancelled",
      );
    });
  },
};

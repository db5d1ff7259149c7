import { hkdfSync, randomBytes } from "node:crypto";
import type { Queryable } from "../db/database.js";
import type { Clock } from "../ledger/clock.js";
import { openSealed, seal } from "../vault/cipher.js";
import type { Vault } from "../vault/vault.js";

/** A message a merchant sends: an email (with a subject) or an SMS. */
export type Message =
  | {
      channel: "mail";
      to: string;
      subject: string;
      text: string;
      /** A marketing email and its one-click unsubscribe URL (RFC 8058: see mail.ts). */
      marketing?: { unsubscribe: string };
    }
  | { channel: "sms"; to: string; text: string };

/** A message held in the outbox, decrypted for the merchant's owners. */
export type HeldMessage = Message & {
  id: string;
  createdAt: string;
  /** The customer it is to (a verification), whose contact details reading it reveals. */
  customerId?: string;
};

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/**
 * The local outbox: where mail and SMS land when no SMTP server or SMS gateway is configured
 * (the embedded default), for the console to show. Messages hold personal data (decision 4), so
 * each is sealed with AES-256-GCM under a per-merchant key derived from the merchant's vault
 * key, bound to its row by the associated data; only the channel and time are in clear.
 */
export class Outbox {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly db: Queryable,
    private readonly vault: Vault,
    private readonly clock: Clock,
  ) {}

  /** Holds a message; `customerId` names the customer it is to, so their erasure takes it. */
  async hold(merchantId: string, message: Message, customerId?: string): Promise<string> {
    const id = `msg_${b64(randomBytes(12))}`;
    const sealed = seal(
      await this.key(merchantId),
      Buffer.from(JSON.stringify(message), "utf8"),
      context(merchantId, id),
    );
    await this.db.query(
      `INSERT INTO outbox_messages (id, merchant_id, channel, created_at, sealed, customer_id)
       VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6)`,
      [
        id,
        merchantId,
        message.channel,
        new Date(this.clock.now()).toISOString(),
        Buffer.from(sealed).toString("hex"),
        customerId ?? null,
      ],
    );
    return id;
  }

  /** The merchant's held messages, newest first. */
  async list(merchantId: string, limit: number): Promise<HeldMessage[]> {
    const { rows } = await this.db.query<{
      id: string;
      created_at: string | Date;
      sealed: string;
      customer_id: string | null;
    }>(
      `SELECT id, created_at, encode(sealed, 'hex') AS sealed, customer_id FROM outbox_messages
       WHERE merchant_id = $1 ORDER BY seq DESC LIMIT $2`,
      [merchantId, limit],
    );
    const key = await this.key(merchantId);
    return rows.flatMap((r) => {
      const plain = openSealed(key, Buffer.from(r.sealed, "hex"), context(merchantId, r.id));
      if (!plain) return [];
      const message = JSON.parse(Buffer.from(plain).toString("utf8")) as Message;
      return [
        {
          ...message,
          id: r.id,
          createdAt: new Date(r.created_at).toISOString(),
          ...(r.customer_id ? { customerId: r.customer_id } : {}),
        },
      ];
    });
  }

  /**
   * The merchant's outbox key: HKDF of its vault index key with its own label, so the outbox
   * shares the vault's key management (wrapped by the master key, rotated with it) without
   * reusing a key for two purposes.
   */
  private async key(merchantId: string): Promise<Uint8Array> {
    const cached = this.keys.get(merchantId);
    if (cached) return cached;
    const base = await this.vault.merchantIndexKey(merchantId);
    const key = new Uint8Array(
      hkdfSync("sha256", base, Buffer.alloc(0), `patron-outbox/v1/${merchantId}`, 32),
    );
    this.keys.set(merchantId, key);
    return key;
  }
}

const context = (merchantId: string, id: string) => `patron-outbox/v1/${merchantId}/${id}`;

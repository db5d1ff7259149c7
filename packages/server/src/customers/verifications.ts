import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { type Channels, type Delivery, failureOf } from "../channels/index.js";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { openSealed, seal } from "../vault/cipher.js";
import { Vault } from "../vault/vault.js";
import { type Customers, erasedError, mergedError } from "./customers.js";
import type { Merges } from "./merge.js";
import { normaliseIdentifier, type PhoneOptions } from "./profile.js";

export const IDENTIFIER_VERIFIED = "customer.identifier_verified";

/** How long a code or link is good for, and how many wrong codes end it. */
const LIFETIME = { email: 24 * 3_600_000, phone: 15 * 60_000 } as const;
const MAX_ATTEMPTS = 5;

type Kind = "email" | "phone";

interface Row {
  id: string;
  merchant_id: string;
  customer_id: string;
  kind: Kind;
  sealed: string;
  secret_hash: string;
  expires_at: string | Date;
  attempts: number;
  confirmed_at: string | Date | null;
}

export interface Started {
  id: string;
  kind: Kind;
  expiresAt: string;
  delivery: Delivery;
}

export interface Confirmed {
  customerId: string;
  /** The record a verified identifier joined to this one, merged into it. */
  merged: string | null;
  entryIndex: number;
}

const hashSecret = (id: string, secret: string) =>
  createHash("sha256").update(`patron-verification/v1\n${id}\n${secret}`).digest();
const context = (v: { id: string; customerId: string }) => `verification/${v.customerId}/${v.id}`;

/**
 * Verified identifiers: an email confirmed by a link, a phone by a code. Only a verified
 * identifier merges two customers by itself: when the one confirmed is held by another record,
 * that record is the same person and is merged into the customer who proved control of it.
 * Every other hint stays a hint (a suggestion for staff, or a refusal), never a merge.
 */
export class Verifications {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
    private readonly customers: Customers,
    private readonly merges: Merges,
    private readonly channels: Channels,
    private readonly opts: PhoneOptions & { publicUrl(): string },
  ) {}

  /** Sends a code (SMS) or a link (email) for `value`, to be confirmed for this customer. */
  async start(merchantId: string, customerId: string, kind: Kind, value: string): Promise<Started> {
    const row = await this.customers.row(merchantId, customerId);
    if (!row) throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    if (row.status === "merged") throw mergedError(customerId, row.merged_into);
    if (row.status !== "active") throw erasedError(customerId);
    const normalised = normaliseIdentifier(kind, value, this.opts);
    if (await this.isVerified(merchantId, customerId, kind, normalised)) {
      throw new ApiError(
        409,
        "already_verified",
        `this ${kind} is already verified for ${customerId}`,
      );
    }
    const id = `vf_${randomBytes(12).toString("base64url")}`;
    const secret =
      kind === "phone"
        ? String(randomInt(0, 1_000_000)).padStart(6, "0")
        : randomBytes(24).toString("base64url");
    const key = await this.vault.customerKey(merchantId, customerId);
    const sealed = seal(key.key, Buffer.from(normalised, "utf8"), context({ id, customerId }));
    const now = this.clock.now();
    const expiresAt = new Date(now + LIFETIME[kind]).toISOString();
    await this.db.query(
      `INSERT INTO identity_verifications
         (id, merchant_id, customer_id, kind, sealed, secret_hash, expires_at, created_at)
       VALUES ($1, $2, $3, $4, decode($5, 'hex'), decode($6, 'hex'), $7, $8)`,
      [
        id,
        merchantId,
        customerId,
        kind,
        toHex(sealed),
        toHex(hashSecret(id, secret)),
        expiresAt,
        new Date(now).toISOString(),
      ],
    );
    const delivery = await this.deliver(merchantId, customerId, kind, normalised, id, secret);
    return { id, kind, expiresAt, delivery };
  }

  /** Sends the code or link; a transport that refuses it is a 502 that names no value. */
  private async deliver(
    merchantId: string,
    customerId: string,
    kind: Kind,
    normalised: string,
    id: string,
    secret: string,
  ): Promise<Delivery> {
    // Named, so the customer knows who asks (a code from nobody in particular reads as phishing).
    const { rows } = await this.db.query<{ name: string }>(
      "SELECT name FROM merchants WHERE id = $1",
      [merchantId],
    );
    const merchant = rows[0]?.name ?? "Patron";
    try {
      return kind === "phone"
        ? await this.channels.send(
            merchantId,
            {
              channel: "sms",
              to: normalised,
              text: `${merchant}: your confirmation code is ${secret}. It expires in 15 minutes.`,
            },
            customerId,
          )
        : await this.channels.send(
            merchantId,
            {
              channel: "mail",
              to: normalised,
              subject: `Confirm your email address for ${merchant}`,
              text: [
                `${merchant} asks you to confirm this email address by opening the link below:`,
                "",
                `${this.opts.publicUrl()}/v1/verifications/${id}/confirm?token=${secret}`,
                "",
                "The link expires in 24 hours. If you did not ask for this, ignore this email.",
              ].join("\n"),
            },
            customerId,
          );
    } catch (err) {
      // The transport's codes only (failureOf): its own text may name the address or number.
      throw new ApiError(
        502,
        "delivery_failed",
        `the ${kind === "phone" ? "SMS gateway" : "mail server"} refused the message; try again later`,
        { failure: failureOf(err) },
      );
    }
  }

  /**
   * Confirms a verification with its code or link token. A wrong one counts against five
   * attempts; an expired, used or used-up one is refused without looking at the secret.
   */
  async confirm(
    id: string,
    secret: string,
    actor: string,
    merchantId?: string,
  ): Promise<Confirmed> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, merchant_id, customer_id, kind, encode(sealed, 'hex') AS sealed,
              encode(secret_hash, 'hex') AS secret_hash, expires_at, attempts, confirmed_at
       FROM identity_verifications WHERE id = $1
       ${merchantId === undefined ? "" : "AND merchant_id = $2"}`,
      merchantId === undefined ? [id] : [id, merchantId],
    );
    const v = rows[0];
    if (!v) throw new ApiError(404, "not_found", `verification ${id} not found`);
    if (v.confirmed_at) throw new ApiError(409, "already_confirmed", "this verification is used");
    if (new Date(v.expires_at).getTime() <= this.clock.now()) {
      throw new ApiError(
        410,
        "verification_expired",
        "this code or link expired: ask for a new one",
      );
    }
    // Every try takes one of the five first, in one statement: parallel guesses cannot all see
    // the count before any of them raised it.
    const { rows: reserved } = await this.db.query(
      `UPDATE identity_verifications SET attempts = attempts + 1
       WHERE id = $1 AND attempts < $2 AND confirmed_at IS NULL RETURNING id`,
      [id, MAX_ATTEMPTS],
    );
    if (reserved.length === 0) {
      throw new ApiError(429, "too_many_attempts", "too many wrong codes: ask for a new one");
    }
    const expected = Buffer.from(v.secret_hash, "hex");
    if (!timingSafeEqual(expected, hashSecret(id, secret))) {
      throw new ApiError(400, "invalid_code", "the code does not match");
    }
    // Spent before it is applied: a second confirmation racing this one is refused.
    const { rows: spent } = await this.db.query(
      `UPDATE identity_verifications SET confirmed_at = $2
       WHERE id = $1 AND confirmed_at IS NULL RETURNING id`,
      [id, new Date(this.clock.now()).toISOString()],
    );
    if (spent.length === 0) {
      throw new ApiError(409, "already_confirmed", "this verification is used");
    }
    const key = await this.vault.customerKey(v.merchant_id, v.customer_id).catch(() => {
      throw new ApiError(409, "customer_erased", `customer ${v.customer_id} was erased`);
    });
    const plain = openSealed(
      key.key,
      Buffer.from(v.sealed, "hex"),
      context({ id, customerId: v.customer_id }),
    );
    if (!plain) throw new Error(`verification ${id} does not open under its customer's key`);
    const normalised = Buffer.from(plain).toString("utf8");
    try {
      return await this.apply(v, normalised, actor);
    } catch (err) {
      // Not applied: the code may be used again (its tries still count).
      await this.db
        .query("UPDATE identity_verifications SET confirmed_at = NULL WHERE id = $1", [id])
        .catch(() => {});
      throw err;
    }
  }

  /** The customer now holds the identifier, verified: merged, added or already theirs. */
  private async apply(v: Row, normalised: string, actor: string): Promise<Confirmed> {
    const merchantId = v.merchant_id;
    const customerId = v.customer_id;
    const [holder] = (await this.customers.resolve(merchantId, { [v.kind]: normalised })).filter(
      (h) => h !== customerId,
    );
    let merged: string | null = null;
    if (holder) {
      // Proof of control joins the two records: the one that proved it absorbs the other.
      await this.merges.merge(merchantId, customerId, holder, actor, "verified_identifier");
      merged = holder;
    } else {
      const current = await this.customers.get(merchantId, customerId);
      if (current?.status !== "active") throw erasedError(customerId);
      const list = v.kind === "email" ? current.emails : current.phones.map((p) => p.number);
      if (!list.includes(normalised)) {
        await this.customers.update(
          merchantId,
          customerId,
          actor,
          v.kind === "email"
            ? { emails: [...list, normalised] }
            : { phones: [...list, normalised] },
        );
      }
    }
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    const hash = Vault.identityHash(indexKey, v.kind, normalised);
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: IDENTIFIER_VERIFIED,
          actor,
          payload: {
            merchantId,
            customerId,
            kind: v.kind,
            verificationId: v.id,
            method: v.kind === "email" ? "link" : "code",
            ...(merged ? { merged } : {}),
          },
          parties: [{ customer: customerId }, { merchant: merchantId }],
          sealed: true,
        },
      ],
      check: () => this.customers.checkActive(customerId),
      writes: () => [verifiedStatement(merchantId, customerId, v.kind, hash)],
    });
    if (!entry) throw new Error("a verification committed no entry");
    return { customerId, merged, entryIndex: Number(entry.index) };
  }

  /** Which of a customer's identifiers are verified, as `kind` → normalised values. */
  async verified(merchantId: string, customerId: string, values: { kind: Kind; value: string }[]) {
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    const { rows } = await this.db.query<{ kind: string; hash: string }>(
      `SELECT kind, encode(hash, 'hex') AS hash FROM vault_index
       WHERE merchant_id = $1 AND customer_id = $2 AND kind LIKE 'verified:%'`,
      [merchantId, customerId],
    );
    const have = new Set(rows.map((r) => `${r.kind}\u0000${r.hash}`));
    return values.filter((x) =>
      have.has(`verified:${x.kind}\u0000${toHex(Vault.identityHash(indexKey, x.kind, x.value))}`),
    );
  }

  private async isVerified(merchantId: string, customerId: string, kind: Kind, value: string) {
    return (await this.verified(merchantId, customerId, [{ kind, value }])).length > 0;
  }
}

/**
 * Marks an identifier verified for a customer, or removes the mark: a row beside the vault's
 * blind indexes (kind `verified:<kind>`), so an erasure takes it with them.
 */
export const verifiedStatement = (
  merchantId: string,
  customerId: string,
  kind: string,
  hash: Uint8Array,
  remove = false,
): Statement => Vault.rowStatement(merchantId, customerId, `verified:${kind}`, hash, remove);

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Channels, type Delivery, failureOf } from "../channels/index.js";
import type { Customers } from "../customers/customers.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import { toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { openSealed, seal } from "../vault/cipher.js";
import type { Vault } from "../vault/vault.js";
import type { Consents, Terms } from "./consents.js";

/** How long a double opt-in link is good for. */
export const REQUEST_LIFETIME_MS = 7 * 24 * 3_600_000;

interface Row {
  id: string;
  merchant_id: string;
  customer_id: string;
  terms: string | StoredTerms;
  sealed: string;
  secret_hash: string;
  actor: string;
  created_at: string | Date;
  expires_at: string | Date;
  confirmed_at: string | Date | null;
}

/** Terms as a request keeps them: times as RFC 3339, like the entry will. */
type StoredTerms = Omit<Terms, "validFrom" | "validUntil"> & {
  validFrom?: string;
  validUntil: string;
  textVersion: string;
};

const hashSecret = (id: string, secret: string) =>
  createHash("sha256").update(`patron-consent-request/v1\n${id}\n${secret}`).digest();
const context = (customerId: string, id: string) => `consent-request/${customerId}/${id}`;

/**
 * Double opt-in (issue 8): staff record a consent the customer asked for, and it is granted only
 * when the customer opens the link emailed to them and confirms. The grant's evidence names the
 * request, who made it, when the text was shown and when the link confirmed it.
 */
export class ConsentRequests {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
    private readonly customers: Customers,
    private readonly consents: Consents,
    private readonly channels: Channels,
    private readonly publicUrl: () => string,
  ) {}

  /** Holds the request and emails its link to one of the customer's own addresses. */
  async start(r: {
    merchantId: string;
    customerId: string;
    actor: string;
    terms: Terms;
    text: string;
    textVersion: string;
    email?: string;
  }): Promise<{ requestId: string; expiresAt: string; delivery: Delivery }> {
    const view = await this.customers.get(r.merchantId, r.customerId);
    const to = r.email?.trim().toLowerCase() ?? view?.emails[0];
    if (!to) {
      throw new ApiError(400, "no_email", "the customer has no email to send the link to");
    }
    if (!view?.emails.includes(to)) {
      throw new ApiError(
        400,
        "unknown_email",
        "the link goes only to one of the customer's emails",
      );
    }
    const id = `cr_${randomBytes(12).toString("base64url")}`;
    const secret = randomBytes(24).toString("base64url");
    const key = await this.vault.customerKey(r.merchantId, r.customerId);
    const sealed = seal(key.key, Buffer.from(r.text, "utf8"), context(r.customerId, id));
    const now = this.clock.now();
    const expiresAt = new Date(now + REQUEST_LIFETIME_MS).toISOString();
    const terms: StoredTerms = {
      grantee: r.terms.grantee,
      purposes: r.terms.purposes,
      categories: r.terms.categories,
      ...(r.terms.validFrom === undefined
        ? {}
        : { validFrom: new Date(r.terms.validFrom).toISOString() }),
      validUntil: new Date(r.terms.validUntil).toISOString(),
      revokeOn: r.terms.revokeOn,
      textVersion: r.textVersion,
    };
    await this.db.query(
      `INSERT INTO consent_requests (id, merchant_id, customer_id, terms, sealed, secret_hash, actor,
         created_at, expires_at)
       VALUES ($1, $2, $3, $4::jsonb, decode($5, 'hex'), decode($6, 'hex'), $7, $8, $9)`,
      [
        id,
        r.merchantId,
        r.customerId,
        JSON.stringify(terms),
        toHex(sealed),
        toHex(hashSecret(id, secret)),
        r.actor,
        new Date(now).toISOString(),
        expiresAt,
      ],
    );
    let delivery: Delivery;
    try {
      delivery = await this.channels.send(
        r.merchantId,
        {
          channel: "mail",
          to,
          subject: "Please confirm your consent",
          text: [
            r.text,
            "",
            "To confirm, open the link below and press Confirm:",
            "",
            `${this.publicUrl()}/v1/consent-requests/${id}/confirm?token=${secret}`,
            "",
            "The link expires in 7 days. If you did not ask for this, ignore this email.",
          ].join("\n"),
        },
        r.customerId,
      );
    } catch (err) {
      throw new ApiError(
        502,
        "delivery_failed",
        "the mail server refused the message; try again later",
        {
          failure: failureOf(err),
        },
      );
    }
    return { requestId: id, expiresAt, delivery };
  }

  /** Confirms by the link's token: the grant is written, once. */
  async confirm(id: string, secret: string): Promise<{ consentId: string; entryIndex: number }> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, merchant_id, customer_id, terms, encode(sealed, 'hex') AS sealed,
              encode(secret_hash, 'hex') AS secret_hash, actor, created_at, expires_at, confirmed_at
       FROM consent_requests WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    // A wrong token reads like an unknown request: the id alone confirms nothing.
    if (!r || !timingSafeEqual(Buffer.from(r.secret_hash, "hex"), hashSecret(id, secret))) {
      throw new ApiError(404, "not_found", `consent request ${id} not found`);
    }
    if (r.confirmed_at) throw new ApiError(409, "already_confirmed", "this link was used");
    const now = this.clock.now();
    if (new Date(r.expires_at).getTime() <= now) {
      throw new ApiError(410, "request_expired", "this link expired: ask for a new one");
    }
    // Spent before it is applied: a second click racing this one is refused.
    const { rows: spent } = await this.db.query(
      `UPDATE consent_requests SET confirmed_at = $2 WHERE id = $1 AND confirmed_at IS NULL
       RETURNING id`,
      [id, new Date(now).toISOString()],
    );
    if (spent.length === 0) throw new ApiError(409, "already_confirmed", "this link was used");
    try {
      const key = await this.vault.customerKey(r.merchant_id, r.customer_id).catch(() => {
        throw new ApiError(409, "customer_erased", `customer ${r.customer_id} was erased`);
      });
      const plain = openSealed(key.key, Buffer.from(r.sealed, "hex"), context(r.customer_id, id));
      if (!plain) throw new Error(`consent request ${id} does not open under its customer's key`);
      const t = typeof r.terms === "string" ? (JSON.parse(r.terms) as StoredTerms) : r.terms;
      const terms: Terms = {
        grantee: t.grantee,
        purposes: t.purposes,
        categories: t.categories,
        validFrom: t.validFrom === undefined ? undefined : Date.parse(t.validFrom),
        validUntil: Date.parse(t.validUntil),
        revokeOn: t.revokeOn,
      };
      await this.consents.checkCustomer(r.merchant_id, r.customer_id);
      await this.consents.checkTerms(terms);
      const { consentId, draft } = await this.consents.grant({
        merchantId: r.merchant_id,
        customerId: r.customer_id,
        actor: "node:double-opt-in",
        terms,
        method: "double_opt_in",
        shown: {
          text: Buffer.from(plain).toString("utf8"),
          textVersion: t.textVersion,
          shownAt: new Date(r.created_at).getTime(),
          requestId: id,
          requestedBy: r.actor,
          confirmedAt: now,
        },
      });
      const vault = draft.writes;
      // The request learns its consent in the grant's own transaction.
      draft.writes = (es) => [
        ...(vault?.(es) ?? []),
        {
          sql: "UPDATE consent_requests SET consent_id = $2 WHERE id = $1",
          params: [id, consentId],
        },
      ];
      const [entry] = await this.sequencer.execute(draft);
      if (!entry) throw new Error("a consent grant committed no entry");
      return { consentId, entryIndex: Number(entry.index) };
    } catch (err) {
      // Not granted: the link may be used again while it lasts.
      await this.db
        .query("UPDATE consent_requests SET confirmed_at = NULL WHERE id = $1", [id])
        .catch(() => {});
      throw err;
    }
  }
}

import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { type Channels, type Delivery, failureOf } from "../channels/index.js";
import type { Customers } from "../customers/customers.js";
import { ApiError } from "../http/errors.js";
import type { AccessLog } from "../privacy/access-log.js";
import type { Principal } from "../tenancy/roles.js";
import type { Vault } from "../vault/vault.js";
import type { Consents } from "./consents.js";

const PURPOSE = "marketing_email";
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/** A one-click unsubscribe token: the consent's id and a MAC over it (22 base64url chars). */
export const UNSUBSCRIBE_TOKEN = /^cn_[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{22}$/;

/**
 * Marketing email under consent: sent only while the customer's consent to this merchant covers
 * `marketing_email` and their contact data, recorded as a use on that consent, and carrying
 * RFC 8058 one-click unsubscribe headers whose URL withdraws `marketing_email` with one POST.
 */
export class Marketing {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly consents: Consents,
    private readonly customers: Customers,
    private readonly vault: Vault,
    private readonly channels: Channels,
    private readonly access: AccessLog,
    private readonly publicUrl: () => string,
  ) {}

  /** The unsubscribe token of a consent: stateless, checked by its MAC. */
  async token(merchantId: string, consentId: string): Promise<string> {
    return `${consentId}.${b64(await this.mac(merchantId, consentId))}`;
  }

  /** Sends one marketing email to the customer, or refuses with 403 `consent_required`. */
  async send(
    p: Principal,
    customerId: string,
    mail: { subject: string; text: string },
  ): Promise<{ consentId: string; delivery: Delivery }> {
    const base = this.publicUrl();
    if (!base.startsWith("https://")) {
      throw new ApiError(
        409,
        "https_url_required",
        "marketing email needs the node's public https address (PATRON_PUBLIC_URL) for its unsubscribe link",
      );
    }
    const view = await this.customers.get(p.merchantId, customerId);
    if (!view) throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    const found = await this.consents.covering(p.merchantId, PURPOSE, [customerId], ["contact"]);
    const consentId = found.get(customerId);
    if (!consentId || view.status !== "active") {
      await this.access.record(
        p,
        { purpose: PURPOSE, basis: "consent" },
        [customerId],
        ["contact"],
        "marketing_email_refused",
      );
      throw new ApiError(
        403,
        "consent_required",
        "the customer gave this merchant no consent to marketing email that holds now",
      );
    }
    const to = view.emails[0];
    if (!to) throw new ApiError(409, "no_email", "the customer has no email");
    const url = `${base}/v1/unsubscribe/${await this.token(p.merchantId, consentId)}`;
    // Recorded before it is sent: a use that cannot be recorded is not made.
    await this.access.record(
      p,
      { purpose: PURPOSE, basis: consentId },
      [customerId],
      ["contact"],
      "marketing_email",
    );
    try {
      const delivery = await this.channels.send(
        p.merchantId,
        {
          channel: "mail",
          to,
          subject: mail.subject,
          text: `${mail.text}\n\n--\nUnsubscribe: ${url}\n`,
          marketing: { unsubscribe: url },
        },
        customerId,
      );
      return { consentId, delivery };
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
  }

  /**
   * One-click unsubscribe: withdraws `marketing_email` from the consent (a narrowing when other
   * purposes remain, else a revocation). Answers the same whether or not it still covered it.
   */
  async unsubscribe(token: string, actor = "node:unsubscribe"): Promise<void> {
    const [consentId = "", mac = ""] = token.split(".");
    const row = await this.consents.row(consentId);
    const expected = row ? await this.mac(row.merchant_id, consentId) : undefined;
    const given = Buffer.from(mac, "base64url");
    if (
      !row ||
      !expected ||
      given.length !== expected.length ||
      !timingSafeEqual(given, expected)
    ) {
      throw new ApiError(404, "not_found", "no such unsubscribe link");
    }
    const s = await this.consents.states.get(consentId, false);
    if (s?.status !== "active" || !s.purposes.includes(PURPOSE)) return;
    const rest = s.purposes.filter((x) => x !== PURPOSE);
    const draft =
      rest.length > 0
        ? this.consents.narrow({
            merchantId: s.merchantId,
            consentId,
            actor,
            change: { purposes: rest },
            reason: "unsubscribe",
          })
        : this.consents.end({ merchantId: s.merchantId, consentId, actor, reason: "unsubscribe" });
    try {
      await this.consents.execute(draft, consentId);
    } catch (err) {
      // Ended or narrowed meanwhile (a second click, a lapse): unsubscribed all the same.
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    }
  }

  private async mac(merchantId: string, consentId: string): Promise<Uint8Array> {
    let key = this.keys.get(merchantId);
    if (!key) {
      const base = await this.vault.merchantIndexKey(merchantId);
      key = new Uint8Array(
        hkdfSync("sha256", base, Buffer.alloc(0), `patron-unsubscribe/v1/${merchantId}`, 32),
      );
      this.keys.set(merchantId, key);
    }
    return new Uint8Array(
      createHmac("sha256", key)
        .update(`unsubscribe/${consentId}/${PURPOSE}`)
        .digest()
        .subarray(0, 16),
    );
  }
}

import type { Queryable } from "../db/database.js";
import type { Clock } from "../ledger/clock.js";
import type { Vault } from "../vault/vault.js";
import { SmtpMailer } from "./mail.js";
import { type Message, Outbox } from "./outbox.js";
import { HttpSmsSender, type SmsSettings } from "./sms.js";

export { DeliveryError, failureOf, MailError, SmsError } from "./errors.js";
export { SmtpMailer } from "./mail.js";
export { type HeldMessage, type Message, Outbox } from "./outbox.js";
export { HttpSmsSender, messagesUrl, type SmsSettings } from "./sms.js";

/** How outgoing messages leave the node; unset channels land in the local outbox. */
export interface ChannelSettings {
  /** `PATRON_MAIL_URL`: an SMTP URL. */
  mailUrl?: string;
  /** `PATRON_MAIL_FROM`: the sender of every email. */
  mailFrom: string;
  /** `PATRON_SMS_*`: a Twilio-compatible gateway. */
  sms?: SmsSettings;
}

/** Where a message went: out by SMTP, out by the SMS gateway, or held in the local outbox. */
export type Delivery = "smtp" | "sms" | "outbox";

/**
 * Outgoing mail and SMS for every domain (staff invitations, password resets, identity
 * confirmations). Each channel goes out through its configured transport, or, in the embedded
 * default, lands encrypted in the local outbox that the console shows.
 */
export class Channels {
  readonly outbox: Outbox;
  private readonly mailer?: SmtpMailer;
  private readonly sms?: HttpSmsSender;

  constructor(
    db: Queryable,
    vault: Vault,
    clock: Clock,
    readonly settings: ChannelSettings,
  ) {
    this.outbox = new Outbox(db, vault, clock);
    if (settings.mailUrl) this.mailer = new SmtpMailer(settings.mailUrl, settings.mailFrom);
    if (settings.sms) this.sms = new HttpSmsSender(settings.sms);
  }

  /**
   * Sends a message on a merchant's behalf. Throws a DeliveryError when the configured transport
   * refuses it or cannot be reached; its message names codes only, never the recipient or text.
   */
  async send(merchantId: string, message: Message, customerId?: string): Promise<Delivery> {
    if (message.channel === "mail" && this.mailer) {
      await this.mailer.send(message);
      return "smtp";
    }
    if (message.channel === "sms" && this.sms) {
      await this.sms.send(message);
      return "sms";
    }
    await this.outbox.hold(merchantId, message, customerId);
    return "outbox";
  }

  close(): void {
    this.mailer?.close();
  }
}

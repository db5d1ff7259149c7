import nodemailer, { type Transporter } from "nodemailer";
import { MailError, smtpReason } from "./errors.js";

/** An email to one recipient, in plain text. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  /**
   * A marketing message: it must carry the HTTPS URL that unsubscribes its recipient with one
   * POST (RFC 8058), sent as `List-Unsubscribe` and `List-Unsubscribe-Post`.
   */
  marketing?: { unsubscribe: string };
}

/** The RFC 8058 headers of a marketing message; refuses one without an unsubscribe URL. */
export function unsubscribeHeaders(mail: Mail): Record<string, string> {
  if (!mail.marketing) return {};
  const url = mail.marketing.unsubscribe;
  if (!/^https:\/\/[^\s<>]+$/.test(url)) {
    throw new MailError("no_unsubscribe_url", 0);
  }
  return {
    "List-Unsubscribe": `<${url}>`,
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}

/**
 * Sends mail over SMTP (`PATRON_MAIL_URL`, such as `smtp://user:pass@host:587`, or `smtps://`
 * for implicit TLS). STARTTLS is used whenever the server offers it.
 */
export class SmtpMailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }

  /** Throws a MailError naming codes only: the server's reply text names the recipient. */
  async send(mail: Mail): Promise<void> {
    // Checked before anything is sent: a marketing message never leaves without its headers.
    const headers = unsubscribeHeaders(mail);
    try {
      await this.transport.sendMail({
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        headers,
      });
    } catch (err) {
      const { reason, status } = smtpReason(err);
      throw new MailError(reason, status);
    }
  }

  close(): void {
    this.transport.close();
  }
}

import nodemailer, { type Transporter } from "nodemailer";
import { MailError, smtpReason } from "./errors.js";

/** An email to one recipient, in plain text. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
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
    try {
      await this.transport.sendMail({
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
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

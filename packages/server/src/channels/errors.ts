/**
 * A message its transport did not take. The message says why in codes only (the SMTP reply
 * code and enhanced status, the gateway's HTTP status and numeric error code, a network error
 * code), never in the transport's own words: a mail server's rejection names the recipient
 * ("550 Recipient rejected: alice@…") and an SMS gateway's echoes the number or the text, so
 * neither may reach a log or an API answer. The original error is not kept as `cause` either,
 * so an error logger that walks causes finds nothing more.
 */
export class DeliveryError extends Error {
  constructor(
    readonly channel: "mail" | "sms",
    /** Why, in codes: safe to log. */
    readonly reason: string,
    /** The HTTP status the SMS gateway answered, or the SMTP reply code; 0 when none came. */
    readonly status: number,
  ) {
    super(
      `the ${channel === "mail" ? "mail server" : "SMS gateway"} did not take the message: ${reason}`,
    );
    this.name = "DeliveryError";
  }
}

/** A message the mail server refused, or could not be reached for. */
export class MailError extends DeliveryError {
  constructor(reason: string, status: number) {
    super("mail", reason, status);
    this.name = "MailError";
  }
}

/** A message the SMS gateway refused, or could not be reached for. */
export class SmsError extends DeliveryError {
  constructor(status: number, reason: string) {
    super("sms", reason, status);
    this.name = "SmsError";
  }
}

/**
 * An error code as libraries spell them (EENVELOPE, ECONNREFUSED, UND_ERR_SOCKET, SQLSTATE
 * 23505): capitals, digits and underscores, nothing that could be an address or a number.
 */
const CODE = /^[A-Z0-9][A-Z0-9_]{1,39}$/;
/** The SMTP commands nodemailer names (CONN, EHLO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA…). */
const COMMAND = /^[A-Z][A-Z ]{1,19}$/;

const field = (err: unknown, key: string): unknown =>
  err !== null && typeof err === "object" ? (err as Record<string, unknown>)[key] : undefined;

const codeOf = (err: unknown, key = "code"): string | undefined => {
  const v = field(err, key);
  return typeof v === "string" && CODE.test(v) ? v : undefined;
};

/**
 * A network failure's code (ECONNREFUSED, ETIMEDOUT…), from the error or its causes (fetch
 * wraps it: `TypeError: fetch failed` with the system error as cause), or the kind of error.
 */
export function networkReason(err: unknown): string {
  if (field(err, "name") === "TimeoutError" || field(err, "name") === "AbortError") {
    return "timed out";
  }
  for (let e = err, depth = 0; e !== undefined && depth < 4; e = field(e, "cause"), depth++) {
    const code = codeOf(e);
    if (code) return code;
  }
  return "network error";
}

/**
 * What a nodemailer error says in codes: its code (EENVELOPE, EAUTH, ESOCKET…), the SMTP
 * command, the reply code and enhanced status (550 5.1.1) and a socket's error code. The reply
 * text is dropped: it is the server's own words, which name the recipient.
 */
export function smtpReason(err: unknown): { reason: string; status: number } {
  const parts: string[] = [];
  const code = codeOf(err);
  if (code) parts.push(code);
  const command = field(err, "command");
  if (typeof command === "string" && COMMAND.test(command)) parts.push(command);
  const replyCode = field(err, "responseCode");
  const status =
    typeof replyCode === "number" &&
    Number.isInteger(replyCode) &&
    replyCode >= 200 &&
    replyCode < 600
      ? replyCode
      : 0;
  if (status) parts.push(String(status));
  const response = field(err, "response");
  const enhanced =
    typeof response === "string" ? /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response) : null;
  if (enhanced?.[1]) parts.push(enhanced[1]);
  const socket = codeOf(err, "originalCode");
  if (socket && socket !== code) parts.push(socket);
  return { reason: parts.length > 0 ? parts.join(" ") : "error", status };
}

/**
 * A failure as a log line may name it: a delivery error's codes, otherwise only the error's
 * kind and code. Callers log this, never `err.message`, for errors that may come from a
 * transport.
 */
export function failureOf(err: unknown): string {
  if (err instanceof DeliveryError) return err.message;
  const name = field(err, "name");
  const kind = typeof name === "string" && /^[A-Za-z]{1,40}$/.test(name) ? name : "error";
  const code = codeOf(err);
  return code ? `${kind} ${code}` : kind;
}

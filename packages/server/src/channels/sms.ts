/** Where and as whom SMS go: a Twilio-compatible Messages API. */
export interface SmsSettings {
  /** The API's base URL (https://api.twilio.com), or the full `…/Messages.json` URL. */
  url: string;
  /** The account id (basic auth user, and part of the path). */
  account: string;
  /** The auth token (basic auth password). */
  token: string;
  /** The sender number or id (`From`). */
  from: string;
}

export class SmsError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "SmsError";
  }
}

/** The Messages endpoint of an account, unless the URL already names one. */
export function messagesUrl(s: Pick<SmsSettings, "url" | "account">): string {
  if (/\/Messages\.json$/.test(new URL(s.url).pathname)) return s.url;
  const base = s.url.replace(/\/+$/, "");
  return `${base}/2010-04-01/Accounts/${encodeURIComponent(s.account)}/Messages.json`;
}

/**
 * Sends SMS through a Twilio-compatible HTTP API: a form-encoded `To`, `From`, `Body` POSTed to
 * `…/Accounts/{account}/Messages.json` with basic authentication.
 */
export class HttpSmsSender {
  private readonly endpoint: string;

  constructor(
    private readonly settings: SmsSettings,
    private readonly timeoutMs = 10_000,
  ) {
    this.endpoint = messagesUrl(settings);
  }

  async send(sms: { to: string; text: string }): Promise<void> {
    const auth = Buffer.from(`${this.settings.account}:${this.settings.token}`).toString("base64");
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        authorization: `Basic ${auth}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new URLSearchParams({ To: sms.to, From: this.settings.from, Body: sms.text }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // The body may say why (Twilio's `message`); the number and text are not repeated in errors.
    const answer = await response.text().catch(() => "");
    if (!response.ok) {
      let reason = "";
      try {
        const parsed = JSON.parse(answer) as { message?: unknown };
        if (typeof parsed.message === "string") reason = `: ${parsed.message.slice(0, 200)}`;
      } catch {
        // Not JSON: the status says enough.
      }
      throw new SmsError(response.status, `the SMS gateway answered ${response.status}${reason}`);
    }
  }
}

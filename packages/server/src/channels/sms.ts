import { networkReason, SmsError } from "./errors.js";

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

  /**
   * Throws an SmsError naming the HTTP status and the gateway's numeric error code only: its
   * message may echo the number or the text (Twilio's "The 'To' number +… is not valid").
   */
  async send(sms: { to: string; text: string }): Promise<void> {
    const auth = Buffer.from(`${this.settings.account}:${this.settings.token}`).toString("base64");
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          authorization: `Basic ${auth}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ To: sms.to, From: this.settings.from, Body: sms.text }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SmsError(0, networkReason(err));
    }
    const answer = await response.text().catch(() => "");
    if (!response.ok) {
      let code = "";
      try {
        const parsed = JSON.parse(answer) as { code?: unknown };
        if (Number.isSafeInteger(parsed.code)) code = ` (error ${parsed.code})`;
      } catch {
        // Not JSON: the status says enough.
      }
      throw new SmsError(response.status, `HTTP ${response.status}${code}`);
    }
  }
}

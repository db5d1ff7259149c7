import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeliveryError,
  failureOf,
  HttpSmsSender,
  MailError,
  SmsError,
  SmtpMailer,
} from "../src/channels/index.js";
import { backends, testDatabaseUrl } from "../src/test-support/backends.js";
import { schemaUrl, startServer } from "./child.js";

/**
 * Transport errors carry personal data: a mail server's rejection names the recipient, an SMS
 * gateway's echoes the number and the text. These tests run real transports that do exactly
 * that, and look for the values in every error, answer and line of log output.
 */

const OWNER = "pat_test_owner_key_channels_0123456789abcdefgh";
const PHONE = "+4915112345678";

/** An SMTP server that refuses the recipients in `rejecting` the way Postfix does. */
async function smtpServer(rejecting: Set<string>) {
  const received: { to: string; text: string }[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    onRcptTo(address, _session, callback) {
      if (!rejecting.has(address.address.toLowerCase())) return callback();
      const err = new Error(
        `5.1.1 <${address.address}>: Recipient address rejected: User unknown`,
      ) as Error & { responseCode: number };
      err.responseCode = 550;
      callback(err);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            to: mail.to && !Array.isArray(mail.to) ? mail.to.text : "",
            text: mail.text ?? "",
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return { server, url, received };
}

/** A Twilio-like gateway that refuses every message, echoing its number and text. */
async function smsGateway(answer: "json" | "text" = "json") {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      if (answer === "text") {
        res.statusCode = 500;
        res.end(`cannot send "${form.get("Body")}" to ${form.get("To")}`);
        return;
      }
      res.statusCode = 400;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          code: 21211,
          message: `The 'To' number ${form.get("To")} is not a valid phone number (${form.get("Body")})`,
          more_info: "https://www.twilio.com/docs/errors/21211",
          status: 400,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closeHttp = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

/** A port nothing listens on. */
async function closedPort() {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await closeHttp(s);
  return port;
}

describe("transport errors", () => {
  it("a refused recipient is a MailError naming the reply's codes, not the address", async () => {
    const smtp = await smtpServer(new Set(["alice@example.com"]));
    const mailer = new SmtpMailer(smtp.url, "Patron <no-reply@patron.test>");
    try {
      const err = await mailer
        .send({ to: "Alice@Example.com", subject: "Hello", text: "a secret body" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailError);
      expect(err).toBeInstanceOf(DeliveryError);
      const e = err as MailError;
      expect(e.reason).toBe("EENVELOPE RCPT TO 550 5.1.1");
      expect(e.status).toBe(550);
      expect(e.message).toBe(
        "the mail server did not take the message: EENVELOPE RCPT TO 550 5.1.1",
      );
      expect(e.cause).toBeUndefined();
      const everything = JSON.stringify({ ...e, message: e.message, stack: e.stack });
      for (const v of ["alice", "Alice", "a secret body", "Recipient"]) {
        expect(everything).not.toContain(v);
      }
    } finally {
      mailer.close();
      await new Promise<void>((resolve) => smtp.server.close(resolve));
    }
  });

  it("an unreachable mail server is a MailError naming the socket's code", async () => {
    const mailer = new SmtpMailer(`smtp://127.0.0.1:${await closedPort()}`, "p@patron.test");
    const err = (await mailer
      .send({ to: "alice@example.com", subject: "s", text: "t" })
      .catch((e: unknown) => e)) as MailError;
    mailer.close();
    expect(err).toBeInstanceOf(MailError);
    expect(err.reason).toBe("ESOCKET CONN ECONNREFUSED");
    expect(err.status).toBe(0);
  });

  it("a gateway's refusal is an SmsError naming its status and error code, not the number or text", async () => {
    for (const answer of ["json", "text"] as const) {
      const gateway = await smsGateway(answer);
      const sms = new HttpSmsSender({
        url: gateway.url,
        account: "AC1",
        token: "tok",
        from: "+15005550006",
      });
      try {
        const err = (await sms
          .send({ to: PHONE, text: "Your code is 424242" })
          .catch((e: unknown) => e)) as SmsError;
        expect(err).toBeInstanceOf(SmsError);
        expect(err.reason).toBe(answer === "json" ? "HTTP 400 (error 21211)" : "HTTP 500");
        expect(err.status).toBe(answer === "json" ? 400 : 500);
        const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack });
        for (const v of [PHONE, PHONE.slice(1), "424242", "not a valid"]) {
          expect(everything).not.toContain(v);
        }
      } finally {
        await closeHttp(gateway.server);
      }
    }
  });

  it("an unreachable gateway is an SmsError naming the network error's code", async () => {
    const sms = new HttpSmsSender({
      url: `http://127.0.0.1:${await closedPort()}`,
      account: "AC1",
      token: "tok",
      from: "+15005550006",
    });
    const err = (await sms.send({ to: PHONE, text: "x" }).catch((e: unknown) => e)) as SmsError;
    expect(err).toBeInstanceOf(SmsError);
    expect(err.reason).toBe("ECONNREFUSED");
    expect(err.status).toBe(0);
  });

  it("other errors are logged by kind and code only", () => {
    const pg = Object.assign(new Error("duplicate key: (email)=(alice@example.com)"), {
      code: "23505",
    });
    expect(failureOf(pg)).toBe("Error 23505");
    expect(failureOf(new TypeError("alice@example.com is odd"))).toBe("TypeError");
    expect(failureOf(Object.assign(new Error("x"), { code: "alice@example.com" }))).toBe("Error");
    expect(failureOf("alice@example.com")).toBe("error");
    expect(failureOf(new SmsError(400, "HTTP 400 (error 21211)"))).toBe(
      "the SMS gateway did not take the message: HTTP 400 (error 21211)",
    );
  });
});

describe.each(backends)("a node whose transports refuse ($name)", (backend) => {
  const rejecting = new Set<string>(["alice.invited@example.com", "alice.customer@example.com"]);
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let gateway: Awaited<ReturnType<typeof smsGateway>>;
  let node: Awaited<ReturnType<typeof startServer>>;
  let dataDir = "";
  /** Every answer body the node sent, to look through at the end. */
  const answers: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${node.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OWNER}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    answers.push(text);
    return { status: r.status, text, json: () => JSON.parse(text) };
  };

  /** Waits until the node's output has `n` lines matching. */
  const logged = async (pattern: RegExp, n: number) => {
    for (let i = 0; i < 200; i++) {
      const lines = node
        .output()
        .split("\n")
        .filter((l) => pattern.test(l));
      if (lines.length >= n) return lines;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${n} lines matching ${pattern} in:\n${node.output()}`);
  };

  beforeAll(async () => {
    smtp = await smtpServer(rejecting);
    gateway = await smsGateway();
    dataDir = mkdtempSync(join(tmpdir(), "patron-channels-"));
    const env: Record<string, string> = {
      PATRON_DATA_DIR: dataDir,
      PATRON_OWNER_KEY: OWNER,
      PATRON_CHAIN: "off",
      PATRON_LOG_REQUESTS: "1",
      PATRON_MAIL_URL: smtp.url,
      PATRON_MAIL_FROM: "Patron <no-reply@patron.test>",
      PATRON_SMS_URL: gateway.url,
      PATRON_SMS_ACCOUNT: "AC1",
      PATRON_SMS_TOKEN: "tok",
      PATRON_SMS_FROM: "+15005550006",
    };
    if (backend.name === "postgres" && testDatabaseUrl) {
      env.DATABASE_URL = await schemaUrl(
        testDatabaseUrl,
        `ch_${process.pid}_${Date.now().toString(36)}`,
      );
    }
    node = await startServer(env);
  }, 120_000);
  afterAll(async () => {
    node?.child.kill("SIGTERM");
    await node?.exited;
    await new Promise<void>((resolve) => smtp?.server.close(resolve));
    if (gateway) await closeHttp(gateway.server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("logs and answers codes only when mail and SMS are refused", async () => {
    // An invitation the mail server refuses: created, its delivery "failed".
    const invited = await call("POST", "/v1/staff/invitations", {
      email: "alice.invited@example.com",
      role: "staff",
    });
    expect(invited.status).toBe(201);
    expect(invited.json().delivery).toBe("failed");

    // A reset whose mail is refused (after the answer, so only the log can say).
    const later = await call("POST", "/v1/staff/invitations", {
      email: "alice.later@example.com",
      role: "staff",
    });
    expect(later.json().delivery).toBe("smtp");
    const link = smtp.received.find((m) => m.to === "alice.later@example.com")?.text ?? "";
    const token = /#token=([A-Za-z0-9_.-]+)/.exec(link)?.[1];
    const accepted = await call("POST", "/v1/staff/invitations/accept", {
      token,
      password: "a password for later",
    });
    expect(accepted.status).toBe(200);
    rejecting.add("alice.later@example.com");
    const reset = await call("POST", "/v1/staff/password-reset", {
      email: "alice.later@example.com",
    });
    expect(reset.status).toBe(202);

    // Identity verifications the mail server and the SMS gateway refuse: 502, no value named.
    const customer = await call("POST", "/v1/customers", { name: "Refused Person" });
    expect(customer.status).toBe(201);
    const id = customer.json().id as string;
    const byMail = await call("POST", `/v1/customers/${id}/verifications`, {
      email: "alice.customer@example.com",
    });
    expect(byMail.status).toBe(502);
    expect(byMail.json().error.code).toBe("delivery_failed");
    // What the mail server said, by its codes alone.
    expect(byMail.json().error.details).toEqual({ failure: expect.stringContaining("550 5.1.1") });
    const bySms = await call("POST", `/v1/customers/${id}/verifications`, {
      phone: "+49 151 12345678",
    });
    expect(bySms.status).toBe(502);
    expect(bySms.json().error.code).toBe("delivery_failed");

    const failures = await logged(/mail to a staff user of m_[\w-]+ failed/, 2);
    for (const line of failures) {
      expect(line).toContain(
        "failed: the mail server did not take the message: EENVELOPE RCPT TO 550 5.1.1",
      );
    }
    // The 502s were logged by the request log, as the API's own message.
    await logged(/"statusCode":502/, 2);

    const output = node.output();
    const revealing = [
      "alice.invited",
      "alice.later",
      "alice.customer",
      "Recipient address rejected",
      PHONE,
      PHONE.slice(1),
      "151 12345678",
      "not a valid phone number",
      "your confirmation code",
      "Confirm your email address",
      "Reset your Patron password",
    ];
    for (const v of revealing) expect(output, v).not.toContain(v);
    // The answers name none of the transports' words either (the invitation's own answer
    // shows the invitee's email: that is the staff user it created, not an error's text).
    for (const v of revealing.slice(3)) {
      for (const a of answers) expect(a, v).not.toContain(v);
    }
  });
});

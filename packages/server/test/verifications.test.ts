import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/ledger/clock.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };

describe.each(backends)("verified identifiers ($name)", (backend) => {
  let t: TestNode;
  let smtp: SMTPServer;
  let gateway: Server;
  let other: { id: string; key: string };
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9));
  const mails: { to: string; text: string }[] = [];
  const texts: { to: string; body: string }[] = [];
  const call = (method: string, url: string, body?: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const create = async (body: unknown) => {
    const r = await call("POST", "/v1/customers", body);
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id as string;
  };
  const nextMail = async (to: string) => {
    for (let i = 0; i < 600; i++) {
      const at = mails.findIndex((m) => m.to.includes(to));
      if (at >= 0) return mails.splice(at, 1)[0] as { to: string; text: string };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no mail to ${to}`);
  };
  const lastCode = (to: string) => {
    const sms = [...texts].reverse().find((s) => s.to === to);
    const code = /code is ([0-9]{6})/.exec(sms?.body ?? "")?.[1];
    if (!code) throw new Error(`no code sent to ${to}`);
    return code;
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ["STARTTLS", "AUTH"],
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            mails.push({
              to: mail.to && !Array.isArray(mail.to) ? mail.to.text : "",
              text: mail.text ?? "",
            });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
    // A stand-in speaking Twilio's Messages API.
    gateway = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        texts.push({ to: form.get("To") ?? "", body: form.get("Body") ?? "" });
        res.statusCode = 201;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ sid: "SM1", status: "queued" }));
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    t = await testNode(
      backend,
      {
        mailUrl: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
        mailFrom: "Shop <shop@patron.test>",
        publicUrl: "https://shop.patron.test",
        sms: {
          url: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
          account: "AC1",
          token: "tok",
          from: "+15005550006",
        },
      },
      { clock },
    );
    const m = await call("POST", "/v1/merchants", { name: "Elsewhere" }, t.operatorKey);
    other = { id: m.json().id, key: m.json().ownerKey };
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => smtp.close(resolve));
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
  });

  it("merges the record holding an email once the customer confirms it by the emailed link", async () => {
    const old = await create({ name: "Chen Jing", email: "chen.jing@example.cn", tags: ["web"] });
    const walkIn = await create({ phone: "+86 138 0013 9000" });
    const started = await call("POST", `/v1/customers/${walkIn}/verifications`, {
      email: "Chen.Jing@example.cn",
    });
    expect(started.statusCode, started.body).toBe(201);
    expect(started.json()).toMatchObject({ kind: "email", delivery: "smtp" });
    // Sending the link merges nothing.
    expect((await call("GET", `/v1/customers/${old}`)).json().status).toBe("active");

    const mail = await nextMail("chen.jing@example.cn");
    // Says who asks.
    expect(mail.text).toMatch(/^Demo Merchant asks you to confirm this email address/);
    const link = /https:\/\/shop\.patron\.test(\/v1\/verifications\/\S+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    // The link opens a page with a button: a scanner fetching it confirms nothing.
    const before = size(t.node);
    const opened = await t.node.app.inject({ url: link as string });
    expect(opened.statusCode).toBe(200);
    expect(opened.headers["content-type"]).toMatch(/^text\/html/);
    expect(opened.headers["content-security-policy"]).toContain("form-action 'self'");
    expect(size(t.node)).toBe(before);
    const url = new URL(link as string, "https://shop.patron.test");
    const token = url.searchParams.get("token") as string;
    const form = /action="([^"]+)"/.exec(opened.body)?.[1] as string;
    const confirmed = await t.node.app.inject({
      method: "POST",
      url: form,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${token}`,
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.body).toContain("confirmed");

    const survivor = (await call("GET", `/v1/customers/${walkIn}`)).json();
    expect(survivor.emails).toEqual(["chen.jing@example.cn"]);
    expect(survivor.verified).toEqual([{ type: "email", value: "chen.jing@example.cn" }]);
    expect(survivor.name).toBe("Chen Jing");
    expect((await call("GET", `/v1/customers/${old}`)).json()).toMatchObject({
      status: "merged",
      mergedInto: walkIn,
    });
    const timeline = (await call("GET", `/v1/customers/${walkIn}/timeline`)).json().items as {
      type: string;
      payload: { reason?: string };
      actor: string;
    }[];
    expect(timeline[0]).toMatchObject({
      type: "customer.identifier_verified",
      actor: "node:email-link",
    });
    expect(timeline.find((i) => i.type === "customer.merged")?.payload.reason).toBe(
      "verified_identifier",
    );
    // A link works once.
    const again = await t.node.app.inject({
      method: "POST",
      url: form,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${token}`,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("already_confirmed");
  });

  it("adds and verifies a phone by a texted code, with five tries and a deadline", async () => {
    const id = await create({ name: "Rosa Díaz" });
    const start = async () => {
      const r = await call("POST", `/v1/customers/${id}/verifications`, {
        phone: "+44 20 7946 0777",
      });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().delivery).toBe("sms");
      return r.json().id as string;
    };
    // Expired: the code is good for fifteen minutes on the node's clock.
    const late = await start();
    const lateCode = lastCode("+442079460777");
    clock.advance(15 * 60_000);
    const expired = await call("POST", `/v1/verifications/${late}/confirm`, { code: lateCode });
    expect(expired.statusCode).toBe(410);
    expect(expired.json().error.code).toBe("verification_expired");

    const vid = await start();
    const code = lastCode("+442079460777");
    expect(texts.at(-1)?.body).toMatch(/^Demo Merchant: your confirmation code is [0-9]{6}\./);
    const wrong = code === "000000" ? "111111" : "000000";
    const before = size(t.node);
    for (let i = 0; i < 5; i++) {
      const r = await call("POST", `/v1/verifications/${vid}/confirm`, { code: wrong });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe("invalid_code");
    }
    const locked = await call("POST", `/v1/verifications/${vid}/confirm`, { code });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe("too_many_attempts");
    expect(size(t.node)).toBe(before);

    const fresh = await start();
    const ok = await call("POST", `/v1/verifications/${fresh}/confirm`, {
      code: lastCode("+442079460777"),
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ customerId: id, merged: null });
    const c = (await call("GET", `/v1/customers/${id}`)).json();
    expect(c.phones).toEqual([{ number: "+442079460777", valid: true }]);
    expect(c.verified).toEqual([{ type: "phone", value: "+442079460777" }]);
    const twice = await call("POST", `/v1/customers/${id}/verifications`, {
      phone: "+442079460777",
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe("already_verified");
  });

  it("counts parallel guesses: five wrong codes at most, however many arrive at once", async () => {
    const id = await create({ name: "Parallel Guess" });
    const started = await call("POST", `/v1/customers/${id}/verifications`, {
      phone: "+44 20 7946 0555",
    });
    const vid = started.json().id as string;
    const code = lastCode("+442079460555");
    const wrong = code === "000000" ? "111111" : "000000";
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call("POST", `/v1/verifications/${vid}/confirm`, { code: wrong }),
      ),
    );
    const codes = answers.map((r) => r.json().error.code as string);
    expect(codes.filter((c) => c === "invalid_code")).toHaveLength(5);
    expect(codes.filter((c) => c === "too_many_attempts")).toHaveLength(15);
    expect((await call("POST", `/v1/verifications/${vid}/confirm`, { code })).statusCode).toBe(429);
  });

  it("refuses bad verifications with a clear 4xx and writes nothing", async () => {
    const id = await create({ email: "kim@example.org" });
    const gone = await create({ email: "gone@example.org" });
    expect((await call("POST", `/v1/customers/${gone}/erase`)).statusCode).toBe(200);
    const started = await call("POST", `/v1/customers/${id}/verifications`, {
      email: "kim@example.org",
    });
    const vid = started.json().id as string;
    const before = size(t.node);
    const cases: [string, string, unknown, number, string, string?][] = [
      [
        "bad email",
        `/v1/customers/${id}/verifications`,
        { email: "not-an-email" },
        400,
        "invalid_email",
      ],
      [
        "impossible phone",
        `/v1/customers/${id}/verifications`,
        { phone: "+44 12" },
        400,
        "invalid_phone",
      ],
      [
        "both",
        `/v1/customers/${id}/verifications`,
        { email: "a@b.co", phone: "+442079460778" },
        400,
        "invalid_request",
      ],
      [
        "erased",
        `/v1/customers/${gone}/verifications`,
        { email: "x@example.org" },
        409,
        "customer_erased",
      ],
      [
        "unknown customer",
        "/v1/customers/c_AAAAAAAAAAAAAAAAAAAAAA/verifications",
        { email: "x@example.org" },
        404,
        "not_found",
      ],
      [
        "another merchant",
        `/v1/customers/${id}/verifications`,
        { email: "x@example.org" },
        404,
        "not_found",
        other.key,
      ],
      [
        "unknown verification",
        "/v1/verifications/vf_AAAAAAAAAAAAAAAA/confirm",
        { code: "123456" },
        404,
        "not_found",
      ],
      [
        "another merchant's",
        `/v1/verifications/${vid}/confirm`,
        { code: "123456" },
        404,
        "not_found",
        other.key,
      ],
      [
        "malformed code",
        `/v1/verifications/${vid}/confirm`,
        { code: "12" },
        400,
        "invalid_request",
      ],
    ];
    for (const [what, url, body, status, code, key] of cases) {
      const r = await call("POST", url, body, key ?? t.ownerKey);
      expect(r.statusCode, `${what}: ${r.body}`).toBe(status);
      expect(r.json().error.code, what).toBe(code);
    }
    // Neither or both: the answer says what to send, not "Invalid input".
    for (const body of [{}, { email: "a@b.co", phone: "+442079460778" }]) {
      const r = await call("POST", `/v1/customers/${id}/verifications`, body);
      expect(r.json().error.message).toBe("body/: give exactly one of email or phone");
    }
    const badForm = await t.node.app.inject({
      method: "POST",
      url: `/v1/verifications/${vid}/confirm-link`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "token=short",
    });
    expect(badForm.statusCode).toBe(400);
    expect(size(t.node)).toBe(before);
  });
});

describe.each(backends)("verification messages held in the outbox ($name)", (backend) => {
  let t: TestNode;
  const call = (method: string, url: string, body?: unknown) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: {
        ...(body === undefined ? {} : json),
        authorization: `Bearer ${t.ownerKey}`,
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  beforeAll(async () => {
    t = await testNode(backend);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("go with the customer's erasure", async () => {
    const id = (await call("POST", "/v1/customers", { name: "Held Message" })).json().id as string;
    const started = await call("POST", `/v1/customers/${id}/verifications`, {
      email: "held.message@example.org",
    });
    expect(started.json().delivery).toBe("outbox");
    const held = async () =>
      ((await call("GET", "/v1/outbox")).json().messages as { to: string }[]).filter(
        (m) => m.to === "held.message@example.org",
      );
    expect(await held()).toHaveLength(1);
    // Reading the outbox revealed the customer's email: a use, recorded.
    const records = (await call("GET", `/v1/customers/${id}/data-access`)).json().records as {
      action: string;
      categories: string[];
    }[];
    expect(records[0]).toMatchObject({ action: "outbox", categories: ["contact"] });
    expect((await call("POST", `/v1/customers/${id}/erase`)).statusCode).toBe(200);
    expect(await held()).toHaveLength(0);
    const rows = await t.node.db.query("SELECT 1 FROM outbox_messages WHERE customer_id = $1", [
      id,
    ]);
    expect(rows.rows).toHaveLength(0);
  });
});

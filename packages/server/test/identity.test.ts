import { randomBytes } from "node:crypto";
import { attachmentCommitment, decodeEntry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { SYSTEM_ACTOR } from "../src/tenancy/tenancy.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData } from "./personal-data.js";

const HOUR = 3_600_000;
const json = { "content-type": "application/json" };
const PERSONAL = ["Wang Fang", "王芳", "wang.fang@example.cn", "+8613912345678", "Ana Claim"];

describe.each(backends)("customer keys ($name)", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let origin: string;

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    t = await testNode(backend, {}, { clock });
    merchant = (await t.node.app.inject({ url: "/v1/merchants/me", headers: t.auth() })).json().id;
    origin = t.node.identity.origin;
  });
  afterAll(async () => {
    await t?.close();
  });

  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  function cmd(s: Signer, type: string, payload: Record<string, unknown> = {}, over = {}) {
    return {
      v: 1,
      type,
      ledger: origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: new Date(clock.now() + HOUR).toISOString(),
      payload,
      ...over,
    } as Record<string, never>;
  }
  const post = (body: unknown) => call("POST", "/v1/commands", body, {});
  /** A join command with its values beside it, committed to by the signed payload. */
  const joining = (s: Signer, values: Record<string, unknown>) => {
    const salt = randomBytes(16);
    const attached = attachmentCommitment(salt, values as never);
    return {
      ...s.sign(cmd(s, "customer.join", { attached })),
      attached: { salt: salt.toString("base64url"), values },
    };
  };
  const signIn = async (s: Signer) => {
    const c = await call("POST", "/v1/portal/challenges", { merchant }, {});
    expect(c.statusCode, c.body).toBe(201);
    return call(
      "POST",
      "/v1/portal/sessions",
      s.sign(cmd(s, "session.open", { challenge: c.json().challenge })),
      {},
    );
  };
  const entry = async (index: number) =>
    (await call("GET", `/v1/ledger/entries/${index}`)).json().entry;
  const expectNothingWritten = async (r: { statusCode: number; body: string }, before: bigint) => {
    expect(size(t.node)).toBe(before);
    return r;
  };

  let fang: Signer;
  let fangId: string;

  it("joins with a key: a new profile whose values travel beside the signed command", async () => {
    fang = ed25519Signer();
    const r = await post(
      joining(fang, {
        name: "王芳",
        email: "wang.fang@example.cn",
        phone: "+86 139 1234 5678",
        language: "zh-CN",
      }),
    );
    expect(r.statusCode, r.body).toBe(201);
    const types = r.json().entries.map((e: { type: string }) => e.type);
    expect(types).toEqual(["customer.created", "identity.key_bound"]);
    const bound = await entry(r.json().entries[1].index);
    fangId = bound.payload.customerId;
    expect(bound.payload).toEqual({
      merchantId: merchant,
      customerId: fangId,
      key: fang.did,
      via: "join",
    });
    expect(bound.actor).toBe(fang.did);
    // The signed command on the ledger carries the commitment only.
    expect(JSON.stringify(bound.signed)).not.toContain("王芳");
    const profile = (await call("GET", `/v1/customers/${fangId}`)).json();
    expect(profile).toMatchObject({
      name: "王芳",
      emails: ["wang.fang@example.cn"],
      phones: [{ number: "+8613912345678", valid: true }],
      language: "zh-CN",
      stage: "prospect",
    });
    expect((await call("GET", `/v1/customers/${fangId}/key`)).json()).toEqual({
      key: fang.did,
      recoveries: [],
    });
  });

  it("refuses a join whose values are missing, altered, invalid, taken, or whose key has joined", async () => {
    const before = size(t.node);
    const s = ed25519Signer();
    const good = joining(s, { name: "Wang Fang" });
    const cases: [string, unknown, number, string][] = [
      [
        "values missing",
        { command: good.command, signature: good.signature },
        400,
        "attachment_missing",
      ],
      [
        "values altered",
        { ...good, attached: { ...good.attached, values: { name: "Someone" } } },
        400,
        "attachment_mismatch",
      ],
      [
        "values not committed",
        { ...s.sign(cmd(s, "customer.join")), attached: good.attached },
        400,
        "attachment_uncommitted",
      ],
      ["a bad email", joining(s, { email: "not-an-email" }), 400, "invalid_email"],
      ["a field staff set", joining(s, { tags: ["vip"] }), 400, "invalid_request"],
      ["an email taken", joining(s, { email: "WANG.FANG@example.cn" }), 409, "identity_in_use"],
      ["a key that joined", joining(fang, { name: "Again" }), 409, "already_joined"],
    ];
    for (const [why, body, status, code] of cases) {
      const r = await post(body);
      expect([why, r.statusCode, r.json().error.code]).toEqual([why, status, code]);
      // Whose record holds a taken email is not told to a stranger.
      expect(r.json().error.details, why).toBeUndefined();
    }
    await expectNothingWritten({ statusCode: 0, body: "" }, before);
  });

  let ana: Signer;
  let anaId: string;

  it("claims an existing profile with a single-use invite code", async () => {
    anaId = (await call("POST", "/v1/customers", { name: "Ana Claim" })).json().id;
    // Its body is optional: a request with none takes the default validity.
    const inv = await call("POST", `/v1/customers/${anaId}/invites`);
    expect(inv.statusCode, inv.body).toBe(201);
    const { code, url, qr, expiresAt } = inv.json();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(url).toBe(`/me/claim/${merchant}#code=${code}`);
    expect(qr).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(Date.parse(expiresAt) - clock.now()).toBe(72 * HOUR);
    // Only a keyed hash of the code rests in the database.
    const rows = await t.node.db.query("SELECT * FROM customer_invites");
    expect(JSON.stringify(rows.rows)).not.toContain(code);

    ana = ed25519Signer();
    // Codes are typed at a till: lower case and no dashes are the same code.
    const typed = code.toLowerCase().replace(/-/g, "");
    const r = await post(ana.sign(cmd(ana, "customer.claim", { code: typed })));
    expect(r.statusCode, r.body).toBe(201);
    const bound = await entry(r.json().entries[0].index);
    expect(bound.payload).toMatchObject({ customerId: anaId, key: ana.did, via: "claim" });
    expect((await call("GET", `/v1/customers/${anaId}/invites`)).json().invites).toEqual([
      expect.objectContaining({ claimed: true }),
    ]);

    const before = size(t.node);
    const mallory = ed25519Signer();
    const again = await post(mallory.sign(cmd(mallory, "customer.claim", { code })));
    expect([again.statusCode, again.json().error.code]).toEqual([409, "invite_used"]);
    const more = await call("POST", `/v1/customers/${anaId}/invites`, {});
    expect([more.statusCode, more.json().error.code]).toEqual([409, "already_claimed"]);
    expect(size(t.node)).toBe(before);
  });

  it("refuses unknown and expired codes, and throttles guessing", async () => {
    const before = size(t.node);
    const bob = (await call("POST", "/v1/customers", { name: "Bob" })).json().id;
    const { code } = (
      await call("POST", `/v1/customers/${bob}/invites`, { expiresInHours: 1 })
    ).json();
    const guesser = ed25519Signer();
    const tryCode = (c: string, s = guesser) => post(s.sign(cmd(s, "customer.claim", { code: c })));
    const unknown = await tryCode("0000-0000-0000");
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, "invite_not_found"]);
    const malformed = await tryCode("not a code");
    expect([malformed.statusCode, malformed.json().error.code]).toEqual([400, "invalid_payload"]);
    // Five tries a minute per key: the sixth waits.
    for (let i = 0; i < 4; i++) await tryCode("0000-0000-0001");
    const throttled = await tryCode(code);
    expect([throttled.statusCode, throttled.json().error.code]).toEqual([429, "too_many_attempts"]);
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);
    clock.advance(HOUR);
    const late = await tryCode(code, ed25519Signer());
    expect([late.statusCode, late.json().error.code]).toEqual([410, "invite_expired"]);
    expect(size(t.node) - before).toBe(1n); // Bob's profile only
  });

  it("signs in with a single-use challenge; sessions are listed and revocable", async () => {
    const r = await signIn(fang);
    expect(r.statusCode, r.body).toBe(201);
    const { token, customerId, session } = r.json();
    expect(token).toMatch(/^pcs_/);
    expect(customerId).toBe(fangId);
    const me = await call("GET", "/v1/portal/me", undefined, { authorization: `Bearer ${token}` });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({ key: fang.did, profile: { id: fangId, name: "王芳" } });
    // A session is not an API key, and an API key is not a session.
    expect(
      (await call("GET", "/v1/customers", undefined, { authorization: `Bearer ${token}` }))
        .statusCode,
    ).toBe(401);
    expect((await call("GET", "/v1/portal/me")).statusCode).toBe(401);

    // A challenge is used once, lasts five minutes, and is for one merchant.
    const c = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const open = (s: Signer, challenge: string, over = {}) =>
      call("POST", "/v1/portal/sessions", s.sign(cmd(s, "session.open", { challenge }, over)), {});
    expect((await open(fang, c)).statusCode).toBe(201);
    const reused = await open(fang, c);
    expect([reused.statusCode, reused.json().error.code]).toEqual([401, "invalid_challenge"]);
    const c2 = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    clock.advance(5 * 60_000);
    expect((await open(fang, c2)).json().error.code).toBe("invalid_challenge");
    const c3 = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const stranger = await open(ed25519Signer(), c3);
    expect([stranger.statusCode, stranger.json().error.code]).toEqual([403, "unknown_actor"]);
    const c4 = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const forged = ed25519Signer();
    const body = forged.sign(cmd(fang, "session.open", { challenge: c4 }));
    const bad = await call("POST", "/v1/portal/sessions", body, {});
    expect([bad.statusCode, bad.json().error.code]).toEqual([401, "invalid_signature"]);

    const auth = { authorization: `Bearer ${token}` };
    const list = (await call("GET", "/v1/portal/sessions", undefined, auth)).json().sessions;
    expect(list.length).toBe(2);
    expect(list.find((s: { current: boolean }) => s.current).id).toBe(session.id);
    const other = list.find((s: { current: boolean }) => !s.current).id;
    expect((await call("DELETE", `/v1/portal/sessions/${other}`, undefined, auth)).statusCode).toBe(
      204,
    );
    expect((await call("DELETE", `/v1/portal/sessions/${other}`, undefined, auth)).statusCode).toBe(
      404,
    );
    expect((await call("GET", "/v1/portal/sessions", undefined, auth)).json().sessions.length).toBe(
      1,
    );
    // Sessions are short: an hour.
    clock.advance(HOUR);
    const ended = await call("GET", "/v1/portal/me", undefined, auth);
    expect([ended.statusCode, ended.json().error.code]).toEqual([401, "session_expired"]);
  });

  it("rotates a key: the new key proves possession, the old one stops signing", async () => {
    const next = ed25519Signer();
    const session = (await signIn(ana)).json().token;
    const accept = next.sign(cmd(next, "key.accept", { from: ana.did }));
    const before = size(t.node);
    // The accept must name the rotating key, and be signed by the key it names.
    const wrongFrom = next.sign(cmd(next, "key.accept", { from: fang.did }));
    const forgedAccept = { ...accept, signature: ana.sign(accept.command).signature };
    for (const [bad, code] of [
      [wrongFrom, "invalid_payload"],
      [forgedAccept, "invalid_signature"],
      [ana.sign(cmd(ana, "key.accept", { from: ana.did })), "invalid_payload"],
    ] as const) {
      const r = await post(ana.sign(cmd(ana, "key.rotate", { accept: bad })));
      expect(r.json().error.code).toBe(code);
    }
    const taken = fang.sign(cmd(fang, "key.accept", { from: ana.did }));
    const inUse = await post(ana.sign(cmd(ana, "key.rotate", { accept: taken })));
    expect([inUse.statusCode, inUse.json().error.code]).toEqual([409, "key_in_use"]);
    expect(size(t.node)).toBe(before);

    const r = await post(ana.sign(cmd(ana, "key.rotate", { accept })));
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().entries.map((e: { type: string }) => e.type)).toEqual([
      "identity.key_retired",
      "identity.key_bound",
    ]);
    const old = await post(ana.sign(cmd(ana, "key.rotate", { accept })));
    expect([old.statusCode, old.json().error.code]).toEqual([403, "key_rotated"]);
    // The old key's sessions end with it.
    const me = await call("GET", "/v1/portal/me", undefined, {
      authorization: `Bearer ${session}`,
    });
    expect(me.statusCode).toBe(401);
    expect((await signIn(next)).statusCode).toBe(201);
    expect((await call("GET", `/v1/customers/${anaId}/key`)).json().key).toBe(next.did);
    ana = next;
  });

  it("recovers a lost key through staff under a time-lock the old key can veto", async () => {
    const lost = ed25519Signer();
    const start = (key: string) =>
      call("POST", `/v1/customers/${fangId}/recoveries`, { key, checks: ["id_document"] });
    const first = await start(lost.did);
    expect(first.statusCode, first.body).toBe(201);
    const rec = first.json();
    expect(rec).toMatchObject({ status: "pending", oldKey: fang.did, newKey: lost.did });
    expect(Date.parse(rec.completesAt) - clock.now()).toBe(72 * HOUR);
    // The customer's contact channels are told (the local outbox, without a mail server).
    const outbox = (await call("GET", "/v1/outbox")).json().messages;
    expect(outbox.map((m: { to: string }) => m.to)).toEqual(
      expect.arrayContaining(["wang.fang@example.cn", "+8613912345678"]),
    );
    // One at a time; too early to complete; the old key sees it.
    expect((await start(ed25519Signer().did)).json().error.code).toBe("recovery_pending");
    const early = await call("POST", `/v1/recoveries/${rec.id}/complete`);
    expect([early.statusCode, early.json().error.code]).toEqual([409, "time_lock"]);
    const token = (await signIn(fang)).json().token;
    const mine = await call("GET", "/v1/portal/recoveries", undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(mine.json().recoveries[0]).toMatchObject({ id: rec.id, status: "pending" });
    // While it runs the key cannot rotate away from it.
    const n = ed25519Signer();
    const rot = await post(
      fang.sign(
        cmd(fang, "key.rotate", { accept: n.sign(cmd(n, "key.accept", { from: fang.did })) }),
      ),
    );
    expect(rot.json().error.code).toBe("recovery_pending");

    // The old key vetoes: the recovery ends, and cannot complete.
    const veto = await post(fang.sign(cmd(fang, "key.veto", { recovery: rec.id })));
    expect(veto.statusCode, veto.body).toBe(201);
    expect(veto.json().entries[0].type).toBe("identity.recovery_vetoed");
    const again = await post(fang.sign(cmd(fang, "key.veto", { recovery: rec.id })));
    expect(again.json().error.code).toBe("recovery_ended");
    clock.advance(73 * HOUR);
    const late = await call("POST", `/v1/recoveries/${rec.id}/complete`);
    expect(late.json().error.code).toBe("recovery_ended");

    // Without a veto it completes once the time-lock ends: the old key is revoked.
    const second = (await start(lost.did)).json();
    clock.advance(72 * HOUR - 1);
    expect((await call("POST", `/v1/recoveries/${second.id}/complete`)).statusCode).toBe(409);
    clock.advance(1);
    const done = await call("POST", `/v1/recoveries/${second.id}/complete`);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ status: "completed", endedIndex: expect.any(Number) });
    const refused = await post(fang.sign(cmd(fang, "key.veto", { recovery: second.id })));
    expect([refused.statusCode, refused.json().error.code]).toEqual([403, "key_revoked"]);
    expect((await signIn(lost)).statusCode).toBe(201);
    fang = lost;
  });

  it("keeps recoveries to owners and admins, and checks the new key", async () => {
    const staffKey = (await call("POST", "/v1/api-keys", { label: "till", role: "staff" })).json()
      .key as string;
    const r = await call(
      "POST",
      `/v1/customers/${fangId}/recoveries`,
      { key: ed25519Signer().did, checks: ["in_person"] },
      { authorization: `Bearer ${staffKey}` },
    );
    expect([r.statusCode, r.json().error.code]).toEqual([403, "forbidden"]);
    const bad = await call("POST", `/v1/customers/${fangId}/recoveries`, {
      key: "did:key:z6MkNotAKey0000000000000000000000000000000000",
      checks: ["in_person"],
    });
    expect(bad.statusCode).toBe(400);
    const noKey = (await call("POST", "/v1/customers", { name: "No key" })).json().id;
    const none = await call("POST", `/v1/customers/${noKey}/recoveries`, {
      key: ed25519Signer().did,
      checks: ["in_person"],
    });
    expect([none.statusCode, none.json().error.code]).toEqual([409, "no_key"]);
  });

  it("publishes a join link and QR code per merchant", async () => {
    const r = await call("GET", `/v1/merchants/${merchant}/join`, undefined, {});
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ url: `/me/join/${merchant}`, merchant: { id: merchant } });
    expect(r.json().qr).toContain("<svg");
    expect((await call("GET", "/v1/merchants/m_nobody/join", undefined, {})).statusCode).toBe(404);
  });

  it("keeps identity entries sealed on the customer's chain, and audit passes", async () => {
    const rows = await listEntries(t.node.db, 0n, size(t.node));
    const identity = rows
      .map((r) => decodeEntry(r.data))
      .filter((e) => e.type.startsWith("identity."));
    expect(identity.length).toBeGreaterThanOrEqual(8);
    for (const e of identity) {
      expect(e.salt).toBeDefined();
      expect(e.subjects?.map((s) => Object.keys(s)[0])).toEqual(["customer", "merchant"]);
    }
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
    await expectNoPersonalData(t, PERSONAL);
  });
});

describe.each(backends)("key recovery on the clock ($name)", (backend) => {
  it("completes on its own once the time-lock set by PATRON_RECOVERY_HOURS ends", async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const t = await testNode(backend, { recoveryHours: 2, recoverySweepMs: 20 }, { clock });
    try {
      const merchant = (
        await t.node.app.inject({ url: "/v1/merchants/me", headers: t.auth() })
      ).json().id;
      const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
        t.node.app.inject({
          method: method as "GET",
          url,
          headers: { ...(body === undefined ? {} : json), ...headers },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
      const key = ed25519Signer();
      const salt = randomBytes(16);
      const values = { name: "Sweep" };
      const joined = await call(
        "POST",
        "/v1/commands",
        {
          ...key.sign({
            v: 1,
            type: "customer.join",
            ledger: t.node.identity.origin,
            actor: key.did,
            merchant,
            nonce: nonce(),
            expires: new Date(clock.now() + HOUR).toISOString(),
            payload: { attached: attachmentCommitment(salt, values) },
          }),
          attached: { salt: salt.toString("base64url"), values },
        },
        {},
      );
      expect(joined.statusCode, joined.body).toBe(201);
      const id = (await call("GET", `/v1/ledger/entries/${joined.json().entries[1].index}`)).json()
        .entry.payload.customerId;
      const next = ed25519Signer();
      const r = await call("POST", `/v1/customers/${id}/recoveries`, {
        key: next.did,
        checks: ["in_person", "verified_phone"],
      });
      expect(r.statusCode, r.body).toBe(201);
      expect(Date.parse(r.json().completesAt) - clock.now()).toBe(2 * HOUR);
      // The sweeper runs, but the time-lock holds until the clock passes it.
      await new Promise((res) => setTimeout(res, 100));
      expect((await call("GET", `/v1/customers/${id}/key`)).json().key).toBe(key.did);
      clock.advance(2 * HOUR);
      await vi.waitFor(
        async () => {
          expect((await call("GET", `/v1/customers/${id}/key`)).json().key).toBe(next.did);
        },
        { timeout: 5_000, interval: 25 },
      );
      const rec = (await call("GET", `/v1/customers/${id}/key`)).json().recoveries[0];
      expect(rec).toMatchObject({ status: "completed", oldKey: key.did, newKey: next.did });
      const completed = (await call("GET", `/v1/ledger/entries/${rec.endedIndex}`)).json().entry;
      expect(completed).toMatchObject({ type: "identity.key_bound", actor: SYSTEM_ACTOR });
    } finally {
      await t.close();
    }
  });
});

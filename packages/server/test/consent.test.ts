import type { AddressInfo } from "node:net";
import { decodeEntry, type Entry } from "@patron/ledger";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Consents } from "../src/consent/index.js";
import type { Domain } from "../src/domain.js";
import { ApiError } from "../src/http/errors.js";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import type { Party } from "../src/ledger/sequencer.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectorsOf } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { loadKeyStore } from "../src/vault/keystore.js";
import { Vault } from "../src/vault/vault.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const json = { "content-type": "application/json" };

/**
 * Binds a signing key to a customer made by the API, until the identity domain's
 * `customer.claim` lands: the tests need a customer with a profile and a key.
 */
const claimDomain: Domain = {
  name: "consent-test",
  entryTypes: [
    {
      type: "consenttest.claimed",
      sealing: "sealed",
      parties: (e) => partiesOf(e.payload),
      binding: (e) => {
        const p = e.payload as { customerId: string; merchantId: string };
        return {
          merchant: p.merchantId,
          actor: e.actor,
          party: p.customerId,
          kind: "customer",
          status: "active",
        };
      },
    },
  ],
  start: () => ({
    commands: [
      {
        type: "consenttest.claim",
        signer: "customer",
        createsBinding: true,
        handle: ({ command, binding }) => {
          if (binding) throw new ApiError(409, "already_bound", "this key is already bound");
          const payload = {
            customerId: String((command.payload as { customerId: string }).customerId),
            merchantId: command.merchant,
          };
          return {
            entries: [
              {
                type: "consenttest.claimed",
                actor: command.actor,
                payload,
                parties: partiesOf(payload),
                sealed: true,
              },
            ],
          };
        },
      },
    ],
  }),
};

function partiesOf(payload: unknown): Party[] {
  const p = payload as { customerId?: string; merchantId?: string };
  return p.customerId && p.merchantId
    ? [{ customer: p.customerId }, { merchant: p.merchantId }]
    : [];
}

const withTest = [...domains, claimDomain];

describe.each(backends)("consent on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let origin: string;
  let partner: { id: string; key: string };
  let stranger: { id: string; key: string };
  let auditorKey: string;

  const call = (
    method: string,
    url: string,
    body?: unknown,
    key = t.ownerKey,
    headers: Record<string, string> = {},
  ) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${key}`, ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  const iso = (ms: number) => new Date(ms).toISOString();

  function cmd(s: Signer, type: string, payload: Record<string, unknown>) {
    return {
      v: 1,
      type,
      ledger: origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: iso(clock.now() + HOUR),
      payload,
    } as Record<string, never>;
  }
  const sign = (s: Signer, type: string, payload: Record<string, unknown>) =>
    t.node.app.inject({
      method: "POST",
      url: "/v1/commands",
      headers: json,
      payload: JSON.stringify(s.sign(cmd(s, type, payload))),
    });

  /** A customer made by the API, with a key bound to them. */
  async function customer(fields: Record<string, unknown> = {}) {
    const c = await call("POST", "/v1/customers", {
      name: "Mei Lin",
      email: `mei.${nonce().slice(0, 8).toLowerCase()}@example.com`,
      birthday: "1990-04-02",
      ...fields,
    });
    expect(c.statusCode, c.body).toBe(201);
    const id = c.json().id as string;
    const key = ed25519Signer();
    const bound = await sign(key, "consenttest.claim", { customerId: id });
    expect(bound.statusCode, bound.body).toBe(201);
    return { id, key };
  }

  const terms = (over: Record<string, unknown> = {}) => ({
    grantee: merchant,
    purposes: ["marketing_email", "personalisation"],
    categories: ["contact", "demographics"],
    validUntil: iso(clock.now() + 30 * DAY),
    ...over,
  });

  /** Grants by signed command; the consent's id from the entry. */
  async function grant(c: { key: Signer }, over: Record<string, unknown> = {}) {
    const r = await sign(c.key, "consent.grant", terms(over));
    expect(r.statusCode, r.body).toBe(201);
    const [e] = r.json().entries;
    expect(e.type).toBe("consent.granted");
    return { id: (await entry(e.index)).payload.consentId as string, index: e.index as number };
  }

  async function entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
      payload: Record<string, unknown>;
    };
  }

  const consent = async (id: string, key = t.ownerKey) => {
    const r = await call("GET", `/v1/consents/${id}`, undefined, key);
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const sweep = () => (Consents.of(t.node.sequencer) as Consents).sweep();
  const records = async (customerId: string) => {
    const r = await call("GET", `/v1/customers/${customerId}/data-access?limit=200`);
    expect(r.statusCode, r.body).toBe(200);
    return r.json().records as {
      purpose: string;
      basis: string;
      role: string;
      action: string;
      categories: string[];
    }[];
  };
  const readAs = (id: string, purpose: string) =>
    call("GET", `/v1/customers/${id}`, undefined, t.ownerKey, { "patron-purpose": purpose });

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
    t = await testNode(
      backend,
      { publicUrl: "https://patron.example" },
      { domains: withTest, clock },
    );
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    origin = t.node.identity.origin;
    const made = async (name: string) => {
      const m = await call("POST", "/v1/merchants", { name }, t.operatorKey);
      expect(m.statusCode, m.body).toBe(201);
      return { id: m.json().id as string, key: m.json().ownerKey as string };
    };
    partner = await made("Partner Café");
    stranger = await made("Stranger Shop");
    auditorKey = (await call("POST", "/v1/api-keys", { role: "auditor", label: "a" })).json().key;
    const declared = await call("PUT", "/v1/purposes/marketing_email", {
      name: "Marketing email",
      basis: "consent",
    });
    expect(declared.statusCode, declared.body).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("grants, narrows and revokes by signed command: sealed entries on both chains", async () => {
    const c = await customer();
    const g = await grant(c, { revokeOn: ["customer.updated"] });
    const e = await entry(g.index);
    expect(e.salt).toEqual(expect.any(String));
    expect(e.subjects?.map((s) => ("customer" in s ? s.customer : s.merchant))).toEqual([
      c.id,
      merchant,
    ]);
    expect(e.payload).toMatchObject({
      merchantId: merchant,
      customerId: c.id,
      grantee: merchant,
      purposes: ["marketing_email", "personalisation"],
      categories: ["contact", "demographics"],
      validFrom: iso(clock.now()),
      revokeOn: ["customer.updated"],
      method: "signature",
    });
    // The entry keeps the signed command: it is the consent's evidence.
    expect(e.signed?.command.type).toBe("consent.grant");
    const outsider = (await t.node.app.inject(`/v1/ledger/entries/${g.index}`)).json();
    expect(outsider.sealed).toBe(true);
    expect(outsider.entry).toBeUndefined();

    const view = await consent(g.id);
    expect(view).toMatchObject({
      id: g.id,
      customerId: c.id,
      status: "active",
      recordedBy: c.key.did,
      evidence: null,
      entryIndex: g.index,
    });
    const listed = await call("GET", `/v1/customers/${c.id}/consents`);
    expect(listed.json().consents.map((x: { id: string }) => x.id)).toEqual([g.id]);

    const before = size(t.node);
    const widen = await sign(c.key, "consent.narrow", {
      consentId: g.id,
      purposes: ["marketing_email", "analytics"],
    });
    expect(widen.statusCode).toBe(400);
    expect(widen.json().error.code).toBe("not_narrower");
    const later = await sign(c.key, "consent.narrow", {
      consentId: g.id,
      validUntil: iso(clock.now() + 60 * DAY),
    });
    expect(later.json().error.code).toBe("not_narrower");
    expect(size(t.node)).toBe(before);

    const narrowed = await sign(c.key, "consent.narrow", {
      consentId: g.id,
      purposes: ["personalisation"],
    });
    expect(narrowed.statusCode, narrowed.body).toBe(201);
    expect(narrowed.json().entries[0].type).toBe("consent.narrowed");
    expect((await consent(g.id)).purposes).toEqual(["personalisation"]);

    const revoked = await sign(c.key, "consent.revoke", { consentId: g.id });
    expect(revoked.statusCode, revoked.body).toBe(201);
    expect((await entry(revoked.json().entries[0].index)).payload).toMatchObject({
      consentId: g.id,
      reason: "customer",
    });
    const after = await consent(g.id);
    expect(after).toMatchObject({ status: "revoked", endedReason: "customer" });
    const again = await sign(c.key, "consent.revoke", { consentId: g.id });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("consent_ended");
  });

  it("refuses every bad consent command with its own code, and writes nothing", async () => {
    const c = await customer();
    const other = await customer();
    const theirs = await grant(other);
    const unbound = ed25519Signer();
    const cases: [string, Signer, string, Record<string, unknown>, number, string][] = [
      [
        "unknown purpose",
        c.key,
        "consent.grant",
        terms({ purposes: ["telemarketing"] }),
        400,
        "invalid_payload",
      ],
      ["no purposes", c.key, "consent.grant", terms({ purposes: [] }), 400, "invalid_payload"],
      [
        "repeated category",
        c.key,
        "consent.grant",
        terms({ categories: ["contact", "contact"] }),
        400,
        "invalid_payload",
      ],
      [
        "notes are not consentable",
        c.key,
        "consent.grant",
        terms({ categories: ["notes"] }),
        400,
        "invalid_payload",
      ],
      [
        "free text",
        c.key,
        "consent.grant",
        { ...terms(), note: "call me maybe" },
        400,
        "invalid_payload",
      ],
      [
        "no end",
        c.key,
        "consent.grant",
        (({ validUntil: _end, ...rest }) => rest)(terms()),
        400,
        "invalid_payload",
      ],
      [
        "not a time",
        c.key,
        "consent.grant",
        terms({ validUntil: "next year" }),
        400,
        "invalid_payload",
      ],
      [
        "ended already",
        c.key,
        "consent.grant",
        terms({ validUntil: iso(clock.now() - 1000) }),
        400,
        "invalid_validity",
      ],
      [
        "longer than five years",
        c.key,
        "consent.grant",
        terms({ validUntil: iso(clock.now() + 6 * 366 * DAY) }),
        400,
        "invalid_validity",
      ],
      [
        "starts after it ends",
        c.key,
        "consent.grant",
        terms({ validFrom: iso(clock.now() + 40 * DAY) }),
        400,
        "invalid_validity",
      ],
      [
        "unknown grantee",
        c.key,
        "consent.grant",
        terms({ grantee: "m_nosuchmerchant" }),
        400,
        "unknown_grantee",
      ],
      [
        "bad revokeOn",
        c.key,
        "consent.grant",
        terms({ revokeOn: ["DROP TABLE"] }),
        400,
        "invalid_payload",
      ],
      ["unbound key", unbound, "consent.grant", terms(), 403, "unknown_actor"],
      ["another's consent", c.key, "consent.revoke", { consentId: theirs.id }, 404, "not_found"],
      [
        "another's consent, narrowed",
        c.key,
        "consent.narrow",
        { consentId: theirs.id, purposes: ["personalisation"] },
        404,
        "not_found",
      ],
      [
        "unknown consent",
        c.key,
        "consent.revoke",
        { consentId: "cn_nosuchconsent" },
        404,
        "not_found",
      ],
      [
        "narrowing nothing",
        c.key,
        "consent.narrow",
        { consentId: theirs.id },
        400,
        "invalid_payload",
      ],
    ];
    const before = size(t.node);
    for (const [what, key, type, payload, status, code] of cases) {
      const r = await sign(key, type, payload);
      expect({ what, status: r.statusCode, code: r.json().error?.code }).toEqual({
        what,
        status,
        code,
      });
      expect(r.json().error.message).toEqual(expect.any(String));
    }
    expect(size(t.node)).toBe(before);
    expect((await consent(theirs.id)).status).toBe("active");
  });

  it("refuses a use on the consent basis without a consent covering purpose and categories, and records the refusal", async () => {
    const c = await customer();
    // A purpose on consent must be one customers can consent to.
    const odd = await call("PUT", "/v1/purposes/loyalty_club", { name: "Club", basis: "consent" });
    expect(odd.statusCode).toBe(400);
    expect(odd.json().error.code).toBe("not_a_consent_purpose");

    const refused = await readAs(c.id, "marketing_email");
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("consent_required");
    // Contact only: a profile read reveals demographics too.
    const narrow = await grant(c, { categories: ["contact"] });
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);
    // A consent to marketing by SMS does not cover email.
    await grant(c, { purposes: ["marketing_sms"] });
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);

    const full = await grant(c);
    const ok = await readAs(c.id, "marketing_email");
    expect(ok.statusCode, ok.body).toBe(200);
    // Other purposes keep their own bases.
    expect((await call("GET", `/v1/customers/${c.id}`)).statusCode).toBe(200);

    expect((await sign(c.key, "consent.revoke", { consentId: full.id })).statusCode).toBe(201);
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);

    const log = await records(c.id);
    const mine = log.filter((r) => r.purpose === "marketing_email");
    expect(mine.filter((r) => r.action === "read_refused")).toHaveLength(4);
    expect(mine.filter((r) => r.action === "read")).toEqual([
      expect.objectContaining({ basis: full.id, categories: ["contact", "demographics"] }),
    ]);
    expect(log.some((r) => r.basis === narrow.id)).toBe(false);
  });

  it("lapses on the injected clock: refused at once, and the sweep writes the lapse", async () => {
    const c = await customer();
    const g = await grant(c, { validUntil: iso(clock.now() + HOUR) });
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(200);
    clock.advance(HOUR);
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);
    expect((await consent(g.id)).status).toBe("lapsed");
    await sweep();
    const v = await consent(g.id);
    expect(v).toMatchObject({
      status: "lapsed",
      endedReason: "expired",
      endedAt: iso(clock.now()),
    });
    const lapsed = await entry(v.lastEntryIndex);
    expect(lapsed.type).toBe("consent.lapsed");
    expect(lapsed.actor).toBe("node:consent-sweep");
    // Nothing left to do: a second sweep writes nothing about it.
    const before = size(t.node);
    await sweep();
    expect(size(t.node)).toBe(before);
    // A lapsed consent cannot be revoked or narrowed.
    const late = await sign(c.key, "consent.revoke", { consentId: g.id });
    expect(late.json().error.code).toBe("consent_ended");
  });

  it("starts at validFrom: refused before, allowed after", async () => {
    const c = await customer();
    const g = await grant(c, { validFrom: iso(clock.now() + DAY) });
    expect((await consent(g.id)).status).toBe("scheduled");
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);
    clock.advance(DAY);
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(200);
  });

  it("auto-revokes when an entry of a named type about the customer is written", async () => {
    const c = await customer();
    const byInteraction = await grant(c, { revokeOn: ["interaction.recorded"] });
    const other = await customer();
    const untouched = await grant(other, { revokeOn: ["interaction.recorded"] });
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(200);
    const i = await call("POST", "/v1/interactions", {
      channel: "store",
      direction: "inbound",
      kind: "purchase",
      occurredAt: iso(clock.now()),
      customerId: c.id,
      amount: { value: 1250, currency: "EUR" },
    });
    expect(i.statusCode, i.body).toBe(201);
    // Refused from the triggering entry on, before the sweep has written anything.
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);
    await sweep();
    const v = await consent(byInteraction.id);
    expect(v).toMatchObject({ status: "revoked", endedReason: "event" });
    expect((await entry(v.lastEntryIndex)).payload).toMatchObject({
      reason: "event",
      trigger: i.json().entryIndex,
    });
    // Another customer's interaction does not touch theirs.
    expect((await consent(untouched.id)).status).toBe("active");

    // Any entry type: a profile change.
    const byUpdate = await grant(other, { revokeOn: ["customer.updated"] });
    expect((await call("PATCH", `/v1/customers/${other.id}`, { language: "de" })).statusCode).toBe(
      200,
    );
    await sweep();
    expect((await consent(byUpdate.id)).status).toBe("revoked");
    expect((await consent(untouched.id)).status).toBe("active");
  });

  it("records keyless consent with its evidence: the text in the vault, its commitment in the entry", async () => {
    const c = await customer();
    const text = "Yes, send me offers by email. Version 3 of our marketing notice.";
    const body = {
      purposes: ["marketing_email"],
      categories: ["contact"],
      validUntil: iso(clock.now() + 365 * DAY),
      method: "till",
      text,
      textVersion: "marketing-v3",
      shownAt: iso(clock.now() - 60_000),
    };
    const staffKey = (await call("POST", "/v1/api-keys", { role: "staff", label: "till" })).json()
      .key as string;
    const r = await call("POST", `/v1/customers/${c.id}/consents`, body, staffKey);
    expect(r.statusCode, r.body).toBe(201);
    const v = r.json().consent;
    expect(v).toMatchObject({
      method: "till",
      grantee: merchant,
      recordedBy: expect.stringMatching(/^merchant:m_.+\/key:k_/),
      evidence: { textVersion: "marketing-v3", shownAt: body.shownAt },
    });
    const e = await entry(v.entryIndex);
    expect(JSON.stringify(e)).not.toContain("send me offers");
    // The customer, given the vault's value and salt, recomputes the entry's commitment.
    const vault = new Vault(
      t.node.db,
      loadKeyStore(t.config.dataDir, { PATRON_MASTER_KEY: t.config.masterKey }),
    );
    const stored = await vault.get(merchant, c.id, "consent_text", v.entryIndex);
    expect(stored?.value).toEqual({ text, textVersion: "marketing-v3" });
    const recomputed = Vault.commit(
      c.id,
      "consent_text",
      v.entryIndex,
      stored?.value ?? null,
      stored?.salt ?? new Uint8Array(),
    );
    expect(Buffer.from(recomputed).toString("base64url")).toBe(
      (e.payload.evidence as { text: string }).text,
    );

    const cases: [string, unknown, string, number, string][] = [
      ["no text", { ...body, text: undefined }, t.ownerKey, 400, "invalid_request"],
      // Blank is no text the customer was shown.
      ["blank text", { ...body, text: " \n\t " }, t.ownerKey, 400, "invalid_request"],
      [
        "shown in the future",
        { ...body, shownAt: iso(clock.now() + HOUR) },
        t.ownerKey,
        400,
        "invalid_shown_at",
      ],
      ["bad version label", { ...body, textVersion: "v 3" }, t.ownerKey, 400, "invalid_request"],
      ["unknown method", { ...body, method: "telepathy" }, t.ownerKey, 400, "invalid_request"],
      [
        "email without double opt-in",
        { ...body, email: "x@example.com" },
        t.ownerKey,
        400,
        "invalid_request",
      ],
      ["an auditor", body, auditorKey, 403, "forbidden"],
    ];
    const before = size(t.node);
    for (const [what, b, key, status, code] of cases) {
      const res = await call("POST", `/v1/customers/${c.id}/consents`, b, key);
      expect({ what, status: res.statusCode, code: res.json().error?.code }).toEqual({
        what,
        status,
        code,
      });
    }
    const unknown = await call("POST", "/v1/customers/c_nosuchcustomer/consents", body);
    expect(unknown.statusCode).toBe(404);
    const theirs = await call("POST", `/v1/customers/${c.id}/consents`, body, stranger.key);
    expect(theirs.statusCode).toBe(404);
    expect(size(t.node)).toBe(before);

    // Withdrawn at the till later.
    const w = await call("POST", `/v1/consents/${v.id}/revoke`, { method: "till" }, staffKey);
    expect(w.statusCode, w.body).toBe(200);
    expect(w.json()).toMatchObject({ status: "revoked", endedReason: "staff" });
    expect((await call("POST", `/v1/consents/${v.id}/revoke`, { method: "till" })).statusCode).toBe(
      409,
    );
  });

  it("grants by double opt-in only when the emailed link is confirmed", async () => {
    const c = await customer({ email: "opt.in@example.com" });
    const r = await call("POST", `/v1/customers/${c.id}/consents`, {
      purposes: ["marketing_email"],
      categories: ["contact"],
      validUntil: iso(clock.now() + 365 * DAY),
      method: "double_opt_in",
      text: "Send me the monthly newsletter.",
      textVersion: "newsletter-1",
    });
    expect(r.statusCode, r.body).toBe(202);
    expect(r.json()).toMatchObject({
      requestId: expect.stringMatching(/^cr_/),
      delivery: "outbox",
    });
    expect((await call("GET", `/v1/customers/${c.id}/consents`)).json().consents).toEqual([]);
    const elsewhere = await call("POST", `/v1/customers/${c.id}/consents`, {
      purposes: ["marketing_email"],
      categories: ["contact"],
      validUntil: iso(clock.now() + 365 * DAY),
      method: "double_opt_in",
      text: "x",
      textVersion: "newsletter-1",
      email: "someone.else@example.com",
    });
    expect(elsewhere.json().error.code).toBe("unknown_email");

    const outbox = (await call("GET", "/v1/outbox")).json().messages as {
      to: string;
      text: string;
    }[];
    const mail = outbox.find((m) => m.to === "opt.in@example.com");
    const link =
      /https:\/\/patron\.example(\/v1\/consent-requests\/[^?\s]+)\?token=([A-Za-z0-9_-]+)/.exec(
        mail?.text ?? "",
      );
    expect(link).not.toBeNull();
    const [, path, token] = link as RegExpExecArray;
    const pageAnswer = await t.node.app.inject({ url: `${path}?token=${token}` });
    expect(pageAnswer.statusCode).toBe(200);
    expect(pageAnswer.body).toContain('<form method="post"');
    const confirm = (tok: string) =>
      t.node.app.inject({
        method: "POST",
        url: `${path}-link`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: `token=${tok}`,
      });
    const before = size(t.node);
    const wrong = await confirm("A".repeat(32));
    expect(wrong.statusCode).toBe(404);
    expect(size(t.node)).toBe(before);
    expect((await confirm(token as string)).statusCode).toBe(200);
    const [granted] = (await call("GET", `/v1/customers/${c.id}/consents`)).json().consents;
    expect(granted).toMatchObject({
      method: "double_opt_in",
      recordedBy: "node:double-opt-in",
      evidence: {
        textVersion: "newsletter-1",
        requestId: r.json().requestId,
        requestedBy: expect.stringMatching(/^merchant:/),
        confirmedAt: iso(clock.now()),
      },
    });
    const twice = await confirm(token as string);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe("already_confirmed");
  });

  it("lets a partner read only the granted categories while the consent holds, recording every attempt", async () => {
    const c = await customer({ name: "Ana Souza", language: "pt" });
    const g = await grant(c, {
      grantee: partner.id,
      purposes: ["sharing"],
      categories: ["contact"],
      validUntil: iso(clock.now() + 2 * DAY),
    });
    const data = (key: string, query = "", id = g.id) =>
      call("GET", `/v1/consents/${id}/data${query}`, undefined, key);

    const ok = await data(partner.key);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({
      consentId: g.id,
      purpose: "sharing",
      categories: ["contact"],
      data: { contact: { name: "Ana Souza" } },
    });
    expect(ok.json().data.demographics).toBeUndefined();
    expect(ok.body).not.toContain(c.id);

    const notCovered = await data(partner.key, "?categories=contact,demographics");
    expect(notCovered.statusCode).toBe(403);
    expect(notCovered.json().error.code).toBe("consent_required");
    const wrongPurpose = await call("GET", `/v1/consents/${g.id}/data`, undefined, partner.key, {
      "patron-purpose": "analytics",
    });
    expect(wrongPurpose.json().error.code).toBe("consent_required");

    // No consent: the same 404 as an unknown customer.
    const none = await data(stranger.key);
    const unknownCustomer = await call(
      "GET",
      "/v1/customers/c_nosuchcustomer",
      undefined,
      stranger.key,
    );
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe(unknownCustomer.json().error.code);
    expect((await data(partner.key, "", "cn_nosuchconsent")).statusCode).toBe(404);
    expect((await data(partner.key, "?categories=secrets")).statusCode).toBe(400);

    // The grantee sees the terms, not the customer's id at the holder.
    const seen = await consent(g.id, partner.key);
    expect(seen.customerId).toBeUndefined();
    expect(seen.evidence).toBeUndefined();
    expect((await call("GET", `/v1/consents/${g.id}`, undefined, stranger.key)).statusCode).toBe(
      404,
    );
    const received = await call("GET", "/v1/consents/received", undefined, partner.key);
    expect(received.json().consents.map((x: { id: string }) => x.id)).toContain(g.id);

    // Lapsed: 403.
    clock.advance(2 * DAY);
    const lapsed = await data(partner.key);
    expect(lapsed.statusCode).toBe(403);
    expect(lapsed.json().error.code).toBe("consent_required");

    // Revoked: 403 too (the partner knows the customer already).
    const g2 = await grant(c, {
      grantee: partner.id,
      purposes: ["sharing"],
      categories: ["contact"],
    });
    expect((await data(partner.key, "", g2.id)).statusCode).toBe(200);
    expect((await sign(c.key, "consent.revoke", { consentId: g2.id })).statusCode).toBe(201);
    expect((await data(partner.key, "", g2.id)).statusCode).toBe(403);

    const log = await records(c.id);
    const partnerUses = log.filter((r) => r.role === "partner");
    expect(partnerUses.filter((r) => r.action === "partner_read").map((r) => r.basis)).toEqual([
      g2.id,
      g.id,
    ]);
    // Refused: not covered, wrong purpose, the stranger's 404, lapsed, revoked.
    expect(partnerUses.filter((r) => r.action === "partner_read_refused")).toHaveLength(5);
    // The merchant's own reads under this consent are refused: it is to the partner.
    expect((await readAs(c.id, "marketing_email")).statusCode).toBe(403);
  });

  it("issues a receipt per consent, a vc+jwt that verifies against the merchant's JWKS", async () => {
    const c = await customer();
    const g = await grant(c);
    const r = await call("GET", `/v1/consents/${g.id}/receipt`);
    expect(r.statusCode, r.body).toBe(200);
    const { receipt, jwks } = r.json();
    expect(jwks).toBe(`/v1/merchants/${merchant}/issuer`);
    const keys = await t.node.app.inject({ url: jwks });
    expect(keys.statusCode).toBe(200);
    expect(keys.json().keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect(keys.json().keys[0].d).toBeUndefined();
    const set = createLocalJWKSet(keys.json());
    const { payload, protectedHeader } = await jwtVerify(receipt, set, { typ: "vc+jwt" });
    expect(protectedHeader).toMatchObject({ alg: "EdDSA", typ: "vc+jwt" });
    expect(payload).toMatchObject({
      "@context": ["https://www.w3.org/ns/credentials/v2"],
      type: ["VerifiableCredential", "ConsentReceipt"],
      issuer: `https://patron.example/v1/merchants/${merchant}/issuer`,
      credentialSubject: {
        id: c.key.did,
        consent: { id: g.id, grantee: merchant, purposes: ["marketing_email", "personalisation"] },
      },
    });
    // One key per merchant: the same kid tomorrow, and another merchant's keys do not verify it.
    const again = await call("GET", `/v1/consents/${g.id}/receipt`);
    expect(decodeProtectedHeader(again.json().receipt).kid).toBe(protectedHeader.kid);
    const theirs = await t.node.app.inject({ url: `/v1/merchants/${stranger.id}/issuer` });
    await expect(jwtVerify(receipt, createLocalJWKSet(theirs.json()))).rejects.toThrow();
    // A changed claim breaks the signature.
    const [h, p, s] = receipt.split(".");
    const forged = JSON.parse(Buffer.from(p, "base64url").toString());
    forged.credentialSubject.consent.categories.push("purchase_history");
    const tampered = `${h}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${s}`;
    await expect(jwtVerify(tampered, set)).rejects.toThrow();
    // The private key rests sealed: no column holds it in clear.
    const { rows } = await t.node.db.query<{ public_jwk: string; sealed: string }>(
      "SELECT public_jwk, encode(sealed, 'hex') AS sealed FROM consent_issuer_keys WHERE merchant_id = $1",
      [merchant],
    );
    expect(rows[0]?.public_jwk).not.toContain('"d"');
    expect(rows[0]?.sealed).not.toContain(Buffer.from('"d"').toString("hex"));

    expect(
      (await t.node.app.inject({ url: "/v1/merchants/m_nosuchmerchant/issuer" })).statusCode,
    ).toBe(404);
    expect(
      (await call("GET", `/v1/consents/${g.id}/receipt`, undefined, stranger.key)).statusCode,
    ).toBe(404);
  });

  it("erasure revokes the customer's consents", async () => {
    const c = await customer();
    const g = await grant(c);
    expect((await call("POST", `/v1/customers/${c.id}/erase`)).statusCode).toBe(200);
    await sweep();
    expect((await consent(g.id)).endedReason).toBe("erased");
  });

  it("audit rebuilds the consents table from the log and checks every entry's subjects", async () => {
    await sweep();
    const clean = await auditProjections(t.node.db, projectorsOf(withTest));
    expect(clean.tables).toContain("consents");
    expect(clean.problems).toEqual([]);
    const ledger = await auditLedger(t.node.db, {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(withTest, origin),
    });
    expect(ledger.problems).toEqual([]);
    await t.node.db.query(
      'UPDATE consents SET categories = \'["contact","loyalty"]\'::jsonb WHERE id = (SELECT id FROM consents LIMIT 1)',
    );
    const bad = await auditProjections(t.node.db, projectorsOf(withTest));
    expect(bad.problems.map((p) => p.at)).toContain("consents");
  });
});

/** An SMTP server that keeps each message's headers and text, parsed by mailparser. */
async function smtpServer() {
  const received: { to: string; text: string; headers: Map<string, string> }[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            to: mail.to && !Array.isArray(mail.to) ? mail.to.text : "",
            text: mail.text ?? "",
            // The raw header lines: mailparser folds List-* headers into one object.
            headers: new Map(
              mail.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(":") + 1).trim()]),
            ),
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

describe("marketing email with one-click unsubscribe (RFC 8058), over real SMTP", () => {
  let t: TestNode;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  const clock = new ManualClock(Date.UTC(2026, 4, 1, 9));
  const call = (method: string, url: string, body?: unknown) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${t.ownerKey}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await testNode(
      backends[0] as (typeof backends)[number],
      { publicUrl: "https://patron.example", mailUrl: smtp.url, mailFrom: "shop@example.com" },
      { clock },
    );
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => smtp?.server.close(() => resolve()));
  });

  it("sends only under consent, with the headers, and one POST to the URL withdraws it", async () => {
    const c = await call("POST", "/v1/customers", { name: "Jo", email: "jo@example.com" });
    const id = c.json().id as string;
    const send = () =>
      call("POST", `/v1/customers/${id}/marketing-emails`, {
        subject: "Spring offers",
        text: "Ten percent off this week.",
      });
    const refused = await send();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("consent_required");
    expect(smtp.received).toHaveLength(0);

    const granted = await call("POST", `/v1/customers/${id}/consents`, {
      purposes: ["marketing_email", "personalisation"],
      categories: ["contact"],
      validUntil: new Date(clock.now() + 90 * 24 * 3_600_000).toISOString(),
      method: "web_form",
      text: "Email me offers.",
      textVersion: "web-1",
    });
    expect(granted.statusCode, granted.body).toBe(201);
    const consentId = granted.json().consent.id as string;

    const blank = await call("POST", `/v1/customers/${id}/marketing-emails`, {
      subject: "Spring offers",
      text: "  \n ",
    });
    expect(blank.statusCode, blank.body).toBe(400);
    expect(smtp.received).toHaveLength(0);

    const sent = await send();
    expect(sent.statusCode, sent.body).toBe(201);
    expect(sent.json()).toEqual({ consentId, delivery: "smtp" });
    const [mail] = smtp.received;
    expect(mail?.to).toBe("jo@example.com");
    expect(mail?.headers.get("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    const header = String(mail?.headers.get("list-unsubscribe"));
    const m = /^<https:\/\/patron\.example(\/v1\/unsubscribe\/[^>]+)>$/.exec(header);
    expect(m, header).not.toBeNull();
    const path = (m as RegExpExecArray)[1] as string;

    // A forged token is not an unsubscribe link.
    const forged = await t.node.app.inject({
      method: "POST",
      url: `${path.slice(0, -4)}AAAA`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "List-Unsubscribe=One-Click",
    });
    expect(forged.statusCode).toBe(404);
    // The one-click POST, as a mail provider sends it: no key, no cookie.
    const click = () =>
      t.node.app.inject({
        method: "POST",
        url: path,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: "List-Unsubscribe=One-Click",
      });
    expect((await click()).statusCode).toBe(200);
    const after = (await call("GET", `/v1/consents/${consentId}`)).json();
    // Marketing email withdrawn; the other purpose stays.
    expect(after).toMatchObject({ status: "active", purposes: ["personalisation"] });
    expect((await click()).statusCode).toBe(200);
    const again = await send();
    expect(again.statusCode).toBe(403);
    expect(smtp.received).toHaveLength(1);

    const log = (await call("GET", `/v1/customers/${id}/data-access`)).json().records as {
      action: string;
      basis: string;
    }[];
    expect(log.map((r) => `${r.action} ${r.basis}`)).toEqual([
      "marketing_email_refused consent",
      `marketing_email ${consentId}`,
      "marketing_email_refused consent",
      "create contract",
    ]);
  });
});

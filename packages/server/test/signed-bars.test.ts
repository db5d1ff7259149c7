import { randomBytes } from "node:crypto";
import { attachmentCommitment } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../src/ledger/clock.js";
import { backends } from "../src/test-support/backends.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";

const HOUR = 3_600_000;
const json = { "content-type": "application/json" };

// The ledger issue's bars for signed commands, held again with the command types customers sign
// today (issue 8): forged, replayed, expired, far-future, other-ledger, rotated-key and unbound
// commands are refused with their own code, and nothing is written: no entry, no row.

describe.each(backends)("the bars of signed commands, on real command types ($name)", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let old: Signer;
  let current: Signer;

  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const post = (body: unknown) => call("POST", "/v1/commands", body, {});
  const cmd = (
    s: Signer,
    type: string,
    payload: Record<string, unknown> = {},
    over: { expires?: string; ledger?: string } = {},
  ) =>
    ({
      v: 1,
      type,
      ledger: over.ledger ?? t.node.identity.origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: over.expires ?? new Date(clock.now() + HOUR).toISOString(),
      payload,
    }) as Record<string, never>;

  /** Each real type with a payload it accepts, and what travels beside it. */
  const kinds: { type: string; payload: () => Record<string, unknown> }[] = [];
  const valued = (values: Record<string, unknown>) => {
    const salt = randomBytes(16);
    return {
      payload: { attached: attachmentCommitment(salt, values as never) },
      beside: { salt: salt.toString("base64url"), values },
    };
  };

  /** Rows any of these commands would write, beside the ledger's size. */
  const written = async () => {
    const count = async (table: string) => {
      const { rows } = await t.node.db.query<{ n: string | number }>(
        `SELECT count(*) AS n FROM ${table}`,
      );
      return Number(rows[0]?.n);
    };
    return {
      size: size(t.node),
      consents: await count("consents"),
      requests: await count("subject_requests"),
      customers: await count("customers WHERE status = 'active'"),
    };
  };

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    t = await testNode(backend, {}, { clock });
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    expect(
      (await call("PUT", "/v1/purposes/marketing_email", { name: "News", basis: "consent" }))
        .statusCode,
    ).toBeLessThan(300);
    old = ed25519Signer();
    const joined = valued({ name: "Bar Tester", email: "bars@example.org" });
    const j = await post({
      ...old.sign(cmd(old, "customer.join", joined.payload)),
      attached: joined.beside,
    });
    expect(j.statusCode, j.body).toBe(201);
    current = ed25519Signer();
    const accept = current.sign(cmd(current, "key.accept", { from: old.did }));
    const r = await post(old.sign(cmd(old, "key.rotate", { accept })));
    expect(r.statusCode, r.body).toBe(201);

    kinds.push(
      // Its values travel beside it: the tests put them there.
      { type: "customer.update", payload: () => ({}) },
      {
        type: "consent.grant",
        payload: () => ({
          grantee: merchant,
          purposes: ["marketing_email"],
          categories: ["contact"],
          validUntil: new Date(clock.now() + 30 * 24 * HOUR).toISOString(),
        }),
      },
      { type: "request.submit", payload: () => ({ kind: "access" }) },
      { type: "customer.erase", payload: () => ({}) },
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses each bar on each type with its own code, and writes nothing", async () => {
    const mallory = ed25519Signer();
    const stranger = ed25519Signer();
    for (const k of kinds) {
      const withValues = (signed: object, payload: Record<string, unknown>) => {
        if (k.type !== "customer.update") return signed;
        const values = { name: "Refused Name" };
        const salt = randomBytes(16);
        (payload as { attached?: string }).attached = attachmentCommitment(salt, values);
        return { ...signed, attached: { salt: salt.toString("base64url"), values } };
      };
      const make = (s: Signer, by: Signer, over: { expires?: string; ledger?: string } = {}) => {
        const payload = k.payload();
        const body = withValues({}, payload);
        return { ...body, ...s.sign(cmd(by, k.type, payload, over)) };
      };
      const cases: [string, unknown, number, string][] = [
        ["forged", make(mallory, current), 401, "invalid_signature"],
        [
          "expired",
          make(current, current, { expires: new Date(clock.now() - 1).toISOString() }),
          400,
          "command_expired",
        ],
        [
          "far future",
          make(current, current, {
            expires: new Date(clock.now() + 24 * HOUR + 1000).toISOString(),
          }),
          400,
          "expires_too_far",
        ],
        [
          "other ledger",
          make(current, current, { ledger: "example.com/another-log" }),
          400,
          "wrong_ledger",
        ],
        ["rotated key", make(old, old), 403, "key_rotated"],
        ["unbound key", make(stranger, stranger), 403, "unknown_actor"],
      ];
      const before = await written();
      for (const [what, body, status, code] of cases) {
        const r = await post(body);
        expect({ type: k.type, what, status: r.statusCode, code: r.json().error?.code }).toEqual({
          type: k.type,
          what,
          status,
          code,
        });
      }
      expect({ type: k.type, ...(await written()) }).toEqual({ type: k.type, ...before });
    }
  });

  it("takes each once, then refuses it replayed and writes nothing more", async () => {
    for (const k of kinds) {
      let body: object = current.sign(cmd(current, k.type, k.payload()));
      if (k.type === "customer.update") {
        const v = valued({ name: "Replayed Name" });
        body = { ...current.sign(cmd(current, k.type, v.payload)), attached: v.beside };
      }
      const first = await post(body);
      expect({ type: k.type, status: first.statusCode }, first.body).toEqual({
        type: k.type,
        status: 201,
      });
      const before = await written();
      const again = await post(body);
      expect({ type: k.type, status: again.statusCode, code: again.json().error?.code }).toEqual({
        type: k.type,
        status: 409,
        code: "nonce_reused",
      });
      expect({ type: k.type, ...(await written()) }).toEqual({ type: k.type, ...before });
    }
  });
});

import { decodeEntry, encodeEntry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { domains, entryAuditorOf, startNode } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { testDomain } from "../src/test-support/test-domain.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";

const HOUR = 3600_000;
const withTest = [...domains, testDomain];

describe.each(backends)("signed commands on $name", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let origin: string;
  let alice: Signer;

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    t = await testNode(backend, {}, { domains: withTest, clock });
    merchant = (await t.node.app.inject({ url: "/v1/merchants/me", headers: t.auth() })).json().id;
    origin = t.node.identity.origin;
    alice = ed25519Signer();
    expect((await post(alice.sign(cmd(alice, "test.bind")))).statusCode).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
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
  const post = (body: unknown) =>
    t.node.app.inject({
      method: "POST",
      url: "/v1/commands",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
  const full = async (index: number) =>
    (await t.node.app.inject({ url: `/v1/ledger/entries/${index}`, headers: t.auth() })).json();

  it("accepts a signed command with no API key, and keeps it byte for byte", async () => {
    const signed = alice.sign(cmd(alice, "test.note", { hello: "world" }));
    const r = await post(signed);
    expect(r.statusCode).toBe(201);
    const [e] = r.json().entries;
    expect(e.type).toBe("test.noted");
    const stored = await full(e.index);
    expect(stored.entry.signed).toEqual(signed);
    expect(stored.entry.actor).toBe(alice.did);
    expect(stored.sealed).toBe(true);
    const [c, m] = stored.entry.subjects;
    expect(c.customer).toMatch(/^c_/);
    expect(m).toEqual({ merchant, prev: expect.any(Number) });
    // The public sees the leaf hash only.
    const outsider = (await t.node.app.inject(`/v1/ledger/entries/${e.index}`)).json();
    expect(outsider).toEqual({ index: e.index, leafHash: e.leafHash, sealed: true });
  });

  it("refuses every bad command with its own code, and writes nothing", async () => {
    const mallory = ed25519Signer();
    const stranger = ed25519Signer();
    const flip = (s: string) => {
      const b = Buffer.from(s, "base64url");
      b[5] = (b[5] as number) ^ 0x01;
      return b.toString("base64url");
    };
    const good = () => alice.sign(cmd(alice, "test.note"));
    const replayed = good();
    const first = await post(replayed);
    expect(first.statusCode).toBe(201);
    const cases: [string, unknown, number, string][] = [
      ["forged", { ...mallory.sign(cmd(alice, "test.note")) }, 401, "invalid_signature"],
      [
        "bit-flipped signature",
        { ...good(), signature: flip(good().signature) },
        401,
        "invalid_signature",
      ],
      [
        "payload changed after signing",
        (() => {
          const s = good();
          return { ...s, command: { ...s.command, payload: { hello: "x" } } };
        })(),
        401,
        "invalid_signature",
      ],
      ["replayed", replayed, 409, "nonce_reused"],
      [
        "expired",
        alice.sign(
          cmd(alice, "test.note", {}, { expires: new Date(clock.now() - 1).toISOString() }),
        ),
        400,
        "command_expired",
      ],
      [
        "expiring exactly now",
        alice.sign(cmd(alice, "test.note", {}, { expires: new Date(clock.now()).toISOString() })),
        400,
        "command_expired",
      ],
      [
        "far future",
        alice.sign(
          cmd(
            alice,
            "test.note",
            {},
            { expires: new Date(clock.now() + 24 * HOUR + 1000).toISOString() },
          ),
        ),
        400,
        "expires_too_far",
      ],
      [
        "other ledger",
        alice.sign(cmd(alice, "test.note", {}, { ledger: "example.com/another-log" })),
        400,
        "wrong_ledger",
      ],
      ["unbound key", stranger.sign(cmd(stranger, "test.note")), 403, "unknown_actor"],
      ["wrong type for the signer", alice.sign(cmd(alice, "test.attest")), 403, "type_not_allowed"],
      ["unknown type", alice.sign(cmd(alice, "test.nothing")), 400, "unknown_command"],
      [
        "unknown merchant",
        alice.sign(cmd(alice, "test.note", {}, { merchant: "m_nosuchmerchant" })),
        404,
        "unknown_merchant",
      ],
      [
        "extra field",
        alice.sign({ ...cmd(alice, "test.note"), extra: 1 } as Record<string, never>),
        400,
        "malformed_command",
      ],
      [
        "short nonce",
        alice.sign(cmd(alice, "test.note", {}, { nonce: "AAAA" })),
        400,
        "malformed_command",
      ],
      ["no signature", { command: good().command }, 400, "malformed_command"],
      ["not JSON object", { command: "x", signature: "y" }, 400, "malformed_command"],
    ];
    const before = size(t.node);
    for (const [what, body, status, code] of cases) {
      const r = await post(body);
      expect({ what, status: r.statusCode, code: r.json().error?.code }).toEqual({
        what,
        status,
        code,
      });
      expect(r.json().error.message).toEqual(expect.any(String));
    }
    expect(size(t.node)).toBe(before);
    // A sign-in sent here by mistake is told where it goes.
    const signIn = (await post(alice.sign(cmd(alice, "session.open", { challenge: "x" })))).json();
    expect(signIn.error).toMatchObject({
      code: "unknown_command",
      message: "session.open is the portal's sign-in: send it to POST /v1/portal/sessions",
    });
    expect(size(t.node)).toBe(before);
    // The refused replay tells the signer which entries the command wrote (a lost answer).
    const again = (await post(replayed)).json();
    expect(again.error.details).toEqual(first.json());
    // Another command with a spent nonce is told nothing more.
    const sameNonce = alice.sign(
      cmd(alice, "test.note", { other: "payload" }, { nonce: replayed.command.nonce }),
    );
    const r = (await post(sameNonce)).json();
    expect(r.error.code).toBe("nonce_reused");
    expect(r.error.details).toBeUndefined();
  });

  it("accepts fractional seconds and an expiry exactly 24 h ahead", async () => {
    const exp = new Date(clock.now() + 90_000).toISOString().replace(/\.\d+Z$/, ".123456789Z");
    expect((await post(alice.sign(cmd(alice, "test.note", {}, { expires: exp })))).statusCode).toBe(
      201,
    );
    const day = new Date(clock.now() + 24 * HOUR).toISOString();
    expect((await post(alice.sign(cmd(alice, "test.note", {}, { expires: day })))).statusCode).toBe(
      201,
    );
  });

  it("writes the three entries of a command together, or none when the second is refused", async () => {
    const before = size(t.node);
    const refused = await post(alice.sign(cmd(alice, "test.triple", { fail: true })));
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("test_refused");
    expect(size(t.node)).toBe(before);
    const ok = await post(alice.sign(cmd(alice, "test.triple", { fail: false })));
    expect(ok.statusCode).toBe(201);
    expect(ok.json().entries.map((e: { index: number }) => e.index)).toEqual([
      Number(before),
      Number(before) + 1,
      Number(before) + 2,
    ]);
  });

  it("binds a key once: the command that creates a binding is refused for a bound key", async () => {
    const r = await post(alice.sign(cmd(alice, "test.bind")));
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe("already_bound");
  });

  it("verifies every stored signature in audit, and names the entry whose signature fails", async () => {
    const opts = {
      origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(withTest, origin),
    };
    expect((await post(alice.sign(cmd(alice, "test.note")))).statusCode).toBe(201);
    expect((await auditLedger(t.node.db, opts)).problems).toEqual([]);
    const signedRow = (
      await t.node.db.query<{ idx: string }>(
        "SELECT idx FROM ledger_entries WHERE type = 'test.noted' ORDER BY idx LIMIT 1",
      )
    ).rows[0];
    const idx = BigInt(String(signedRow?.idx));
    const row = (
      await t.node.db.query<{ data: string }>(
        "SELECT encode(data, 'hex') AS data FROM ledger_entries WHERE idx = $1",
        [idx.toString()],
      )
    ).rows[0];
    const entry = decodeEntry(new Uint8Array(Buffer.from(String(row?.data), "hex")));
    const signed = entry.signed as { command: never; signature: string };
    const sig = signed.signature;
    // Still a canonical entry, with a signature that no longer verifies.
    const tampered = encodeEntry({
      ...entry,
      signed: {
        ...signed,
        signature: `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`,
      },
    });
    await t.node.db.query("UPDATE ledger_entries SET data = $1 WHERE idx = $2", [
      Buffer.from(tampered),
      idx.toString(),
    ]);
    try {
      const bad = await auditLedger(t.node.db, opts);
      expect(bad.problems).toContainEqual({
        kind: "entry",
        at: idx.toString(),
        message: expect.stringMatching(/signed command does not verify/),
      });
    } finally {
      await t.node.db.query("UPDATE ledger_entries SET data = decode($1, 'hex') WHERE idx = $2", [
        row?.data,
        idx.toString(),
      ]);
    }
    expect((await auditLedger(t.node.db, opts)).problems).toEqual([]);

    // The same signed command written again, later in the log: a replay audit must name.
    const next = size(t.node);
    await post(alice.sign(cmd(alice, "test.note")));
    const end = size(t.node);
    await t.node.db.query(
      `INSERT INTO ledger_entries (idx, type, actor, time, data, leaf_hash)
       SELECT $1, type, actor, time, data, leaf_hash FROM ledger_entries WHERE idx = $2`,
      [end.toString(), idx.toString()],
    );
    try {
      const replayed = await auditLedger(t.node.db, opts);
      expect(replayed.problems).toContainEqual({
        kind: "entry",
        at: end.toString(),
        message: `its command reuses the nonce of entry ${idx}`,
      });
      expect(next).toBeLessThan(end);
    } finally {
      await t.node.db.query("DELETE FROM ledger_entries WHERE idx = $1", [end.toString()]);
    }
  });
});

describe.each(backends)("nonces on $name", (backend) => {
  it("stay spent across a restart, until their command expires", { timeout: 60_000 }, async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const c = backend.config();
    try {
      let node = await startNode(c.config, {
        schema: c.schema,
        listen: false,
        domains: withTest,
        clock,
      });
      const merchant = (
        await node.app.inject({
          url: "/v1/merchants/me",
          headers: { authorization: `Bearer ${node.ownerKey}` },
        })
      ).json().id;
      const s = ed25519Signer();
      const mk = (type: string) =>
        s.sign({
          v: 1,
          type,
          ledger: node.identity.origin,
          actor: s.did,
          merchant,
          nonce: nonce(),
          expires: new Date(clock.now() + HOUR).toISOString(),
          payload: {},
        });
      const send = (n: typeof node, body: unknown) =>
        n.app.inject({
          method: "POST",
          url: "/v1/commands",
          headers: { "content-type": "application/json" },
          payload: JSON.stringify(body),
        });
      expect((await send(node, mk("test.bind"))).statusCode).toBe(201);
      const note = mk("test.note");
      expect((await send(node, note)).statusCode).toBe(201);
      await node.close();

      node = await startNode(c.config, {
        schema: c.schema,
        listen: false,
        domains: withTest,
        clock,
      });
      const again = await send(node, note);
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe("nonce_reused");
      // Once expired, the replay is refused as expired; the nonce's row may then go.
      clock.advance(2 * HOUR);
      const late = await send(node, note);
      expect(late.json().error.code).toBe("command_expired");
      await node.close();
    } finally {
      c.cleanup();
    }
  });
});

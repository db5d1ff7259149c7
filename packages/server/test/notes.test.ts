import { commitment, decodeEntry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { loadKeyStore } from "../src/vault/keystore.js";
import { Vault } from "../src/vault/vault.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { expectNoneAtRest } from "./personal-data.js";

const json = { "content-type": "application/json" };

/** What staff wrote: none of it may be on the ledger or in clear in any table. */
const TEXTS = [
  "Prefers calls after 6pm; allergic to latex gloves",
  "Asked us to stop the newsletter — 李娜 said so at the till",
  "Second note, to page through",
];

describe.each(backends)("notes ($name)", (backend) => {
  let t: TestNode;
  let other: string;
  let staff: string;
  let auditor: string;
  let merchantId: string;
  let lina: string;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const call = (method: string, url: string, body?: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...bearer(key) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const entryAt = async (index: number | bigint) => {
    const [row] = await listEntries(t.node.db, BigInt(index), BigInt(index) + 1n);
    return decodeEntry((row as { data: Uint8Array }).data);
  };

  beforeAll(async () => {
    t = await testNode(backend);
    const created = await call("POST", "/v1/merchants", { name: "Elsewhere" }, t.operatorKey);
    other = created.json().ownerKey;
    const key = async (role: string) =>
      (await call("POST", "/v1/api-keys", { role, label: role })).json().key as string;
    staff = await key("staff");
    auditor = await key("auditor");
    merchantId = (await call("GET", "/v1/merchants/me")).json().id;
    lina = (await call("POST", "/v1/customers", { name: "李娜", email: "lina@example.cn" })).json()
      .id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("keeps the text in the vault and only its commitment on the customer's chain", async () => {
    const before = size(t.node);
    const r = await call("POST", `/v1/customers/${lina}/notes`, { text: TEXTS[0] }, staff);
    expect(r.statusCode, r.body).toBe(201);
    const note = r.json();
    expect(note).toMatchObject({
      id: expect.stringMatching(/^n_/),
      customerId: lina,
      text: TEXTS[0],
      author: expect.stringMatching(/^merchant:m_.*\/key:/),
      entryIndex: Number(before),
    });
    expect(size(t.node)).toBe(before + 1n);
    const entry = await entryAt(before);
    expect(entry.type).toBe("note.added");
    expect(entry.salt).toBeDefined();
    expect(entry.subjects).toEqual([
      { customer: lina, prev: expect.any(Number) },
      { merchant: merchantId, prev: expect.any(Number) },
    ]);
    const payload = entry.payload as { noteId: string; text: string };
    expect(Object.keys(payload).sort()).toEqual(["customerId", "merchantId", "noteId", "text"]);
    // The customer, given value and salt from the vault, recomputes the entry's commitment.
    const vault = new Vault(t.node.db, loadKeyStore(t.config.dataDir, {}));
    const stored = await vault.get(merchantId, lina, `note/${note.id}`);
    expect(stored?.value).toBe(TEXTS[0]);
    const c = commitment(stored?.salt as Uint8Array, {
      customer: lina,
      field: `note/${note.id}`,
      version: Number(before),
      value: TEXTS[0] as string,
    });
    expect(Buffer.from(c).toString("base64url")).toBe(payload.text);
  });

  it("lists notes newest first with a cursor, for every role", async () => {
    await call("POST", `/v1/customers/${lina}/notes`, { text: TEXTS[1] });
    await call("POST", `/v1/customers/${lina}/notes`, { text: TEXTS[2] });
    const first = await call("GET", `/v1/customers/${lina}/notes?limit=2`, undefined, auditor);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().notes.map((n: { text: string }) => n.text)).toEqual([TEXTS[2], TEXTS[1]]);
    const rest = await call("GET", `/v1/customers/${lina}/notes?cursor=${first.json().next}`);
    expect(rest.json()).toMatchObject({ notes: [{ text: TEXTS[0] }], next: null });
    const bad = await call("GET", `/v1/customers/${lina}/notes?cursor=nope`);
    expect(bad.json().error.code).toBe("invalid_cursor");
  });

  it("replays a retried note with the same Idempotency-Key", async () => {
    const before = size(t.node);
    const post = (text: string) =>
      t.node.app.inject({
        method: "POST",
        url: `/v1/customers/${lina}/notes`,
        headers: { ...json, ...bearer(staff), "idempotency-key": "note-42" },
        payload: JSON.stringify({ text }),
      });
    const a = await post("Called back");
    const b = await post("Called back");
    expect([a.statusCode, b.statusCode]).toEqual([201, 200]);
    expect(b.json()).toEqual(a.json());
    expect((await post("Something else")).json().error.code).toBe("idempotency_conflict");
    expect(size(t.node)).toBe(before + 1n);
  });

  it("refuses bad notes, auditors and other merchants, writing nothing", async () => {
    const before = size(t.node);
    const url = `/v1/customers/${lina}/notes`;
    for (const body of [
      {},
      { text: "" },
      { text: "   \n " },
      { text: "x".repeat(10_001) },
      { text: "bell\u0007" },
      { text: "evil\u202etxt" },
      { text: 42 },
      { text: "ok", pinned: true },
    ]) {
      const r = await call("POST", url, body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    const noBody = await call("POST", url);
    expect(noBody.statusCode).toBe(400);
    const byAuditor = await call("POST", url, { text: "hello" }, auditor);
    expect(byAuditor.statusCode).toBe(403);
    expect(byAuditor.json().error.code).toBe("forbidden");
    const noteId = (await call("GET", url)).json().notes[0].id;
    expect((await call("DELETE", `${url}/${noteId}`, undefined, auditor)).statusCode).toBe(403);
    // Another merchant: the same 404 as a customer that does not exist.
    for (const id of [lina, "c_nobody"]) {
      for (const [method, path, body] of [
        ["POST", `/v1/customers/${id}/notes`, { text: "hello" }],
        ["GET", `/v1/customers/${id}/notes`],
        ["DELETE", `/v1/customers/${id}/notes/${noteId}`],
      ] as const) {
        const r = await call(method, path, body, other);
        expect(r.statusCode, `${method} ${path}`).toBe(404);
        expect(r.json().error).toEqual({ code: "not_found", message: `customer ${id} not found` });
      }
    }
    const unknown = await call("DELETE", `${url}/n_nothere`);
    expect(unknown.statusCode).toBe(404);
    expect((await call("DELETE", `${url}/x_bad`)).statusCode).toBe(400);
    expect(size(t.node)).toBe(before);
  });

  it("deletes a note with an entry and drops its text from the vault, once", async () => {
    const posted = await call("POST", `/v1/customers/${lina}/notes`, { text: "Delete me soon" });
    const id = posted.json().id;
    const before = size(t.node);
    const results = await Promise.all(
      [0, 1, 2].map(() => call("DELETE", `/v1/customers/${lina}/notes/${id}`, undefined, staff)),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409]);
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json().error.code).toBe("already_deleted");
    }
    expect(size(t.node)).toBe(before + 1n);
    const entry = await entryAt(before);
    expect(entry).toMatchObject({ type: "note.deleted", payload: { noteId: id } });
    const { rows } = await t.node.db.query(
      "SELECT 1 FROM vault_fields WHERE customer_id = $1 AND field = $2",
      [lina, `note/${id}`],
    );
    expect(rows).toEqual([]);
    const listed = (await call("GET", `/v1/customers/${lina}/notes?limit=100`)).json().notes;
    expect(listed.map((n: { id: string }) => n.id)).not.toContain(id);
    // The timeline keeps both entries; the deleted note's text is gone.
    const items = (await call("GET", `/v1/customers/${lina}/timeline`)).json().items as {
      type: string;
      payload: { noteId?: string };
      note?: string | null;
    }[];
    expect(items[0]).toMatchObject({ type: "note.deleted", payload: { noteId: id } });
    expect(items.find((i) => i.type === "note.added" && i.payload.noteId === id)?.note).toBeNull();
    expect(items.filter((i) => i.type === "note.added" && i.note).map((i) => i.note)).toEqual(
      expect.arrayContaining(TEXTS),
    );
  });

  it("refuses notes on a record merged into another", async () => {
    const a = (await call("POST", "/v1/customers", { name: "Twin A" })).json().id;
    const b = (await call("POST", "/v1/customers", { name: "Twin B" })).json().id;
    const merged = await call("POST", `/v1/customers/${a}/merge`, { from: b });
    expect(merged.statusCode, merged.body).toBe(200);
    const before = size(t.node);
    const r = await call("POST", `/v1/customers/${b}/notes`, { text: "on the absorbed one" });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe("customer_merged");
    expect(size(t.node)).toBe(before);
  });

  it("keeps no note text in clear in any table or entry", async () => {
    await expectNoneInClear(t, [...TEXTS, "Delete me soon"]);
  });

  it("refuses notes about an erased customer, whose notes are shredded with them", async () => {
    const noteId = (await call("GET", `/v1/customers/${lina}/notes`)).json().notes[0].id;
    expect((await call("POST", `/v1/customers/${lina}/erase`)).statusCode).toBe(200);
    const before = size(t.node);
    const added = await call("POST", `/v1/customers/${lina}/notes`, { text: "too late" });
    expect(added.statusCode).toBe(409);
    expect(added.json().error.code).toBe("customer_erased");
    const deleted = await call("DELETE", `/v1/customers/${lina}/notes/${noteId}`);
    expect(deleted.json().error.code).toBe("customer_erased");
    expect(size(t.node)).toBe(before);
    // What was recorded stays listed, without its text.
    const listed = (await call("GET", `/v1/customers/${lina}/notes`)).json().notes;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((n: { text: string | null }) => n.text === null)).toBe(true);
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
  });
});

/** Every column of every table, and every entry's bytes, holds none of the texts. */
function expectNoneInClear(t: TestNode, values: string[]) {
  const needles = values.flatMap((v) => {
    const word = v.split(/\s+/).find((w) => w.length >= 6) ?? v;
    return [v, word, JSON.stringify(v).slice(1, -1)].map((n) => Buffer.from(n, "utf8"));
  });
  return expectNoneAtRest(t, needles);
}

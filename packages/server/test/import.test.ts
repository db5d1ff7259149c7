import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, testDatabaseUrl } from "../src/test-support/backends.js";
import { runCli, schemaUrl, startServer } from "./child.js";
import { type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** n customers, one per row, each with its own email and phone. */
function people(n: number, from = 0) {
  const lines = ["Full Name,E-mail,Mobile,Tags"];
  for (let i = from; i < from + n; i++) {
    lines.push(
      `Person ${i},person${i}@shop.example,+33 6 12 34 ${String(Math.floor(i / 100) + 10)} ${String(i % 100).padStart(2, "0")},import`,
    );
  }
  return lines;
}

describe.each(backends)("customer import ($name)", (backend) => {
  let t: TestNode;
  let other: { id: string; key: string };
  let auditorKey: string;
  const upload = (csv: string, query = "wait=true", key = t.ownerKey, type = "text/csv") =>
    t.node.app.inject({
      method: "POST",
      url: `/v1/imports/customers${query ? `?${query}` : ""}`,
      headers: { "content-type": type, ...bearer(key) },
      payload: csv,
    });
  const get = (url: string, key = t.ownerKey) =>
    t.node.app.inject({ method: "GET", url, headers: bearer(key) });
  const post = (url: string, body: unknown, key = t.ownerKey) =>
    t.node.app.inject({
      method: "POST",
      url,
      headers: { ...json, ...bearer(key) },
      payload: JSON.stringify(body),
    });
  const errors = async (id: string, warnings = false) =>
    (await get(`/v1/imports/${id}/errors${warnings ? "?warnings=true" : ""}`)).json().errors as {
      row: number;
      line: number | null;
      level: string;
      code: string;
      reason: string;
    }[];
  const lookup = async (q: string, key = t.ownerKey) => get(`/v1/customers/lookup?${q}`, key);
  /**
   * The ledger's size but for the access log's own entries, which it commits every few
   * seconds about the reads above (decision 11), whatever an import does.
   */
  const written = async () => {
    const { rows } = await t.node.db.query<{ n: bigint | number }>(
      "SELECT count(*) AS n FROM ledger_entries WHERE type <> 'access.recorded'",
    );
    return BigInt(rows[0]?.n ?? 0);
  };

  beforeAll(async () => {
    t = await testNode(backend, { defaultCountry: "FR" });
    const created = await post("/v1/merchants", { name: "Second shop" }, t.operatorKey);
    other = { id: created.json().id, key: created.json().ownerKey };
    const auditor = await post("/v1/api-keys", { role: "auditor", label: "audit" });
    auditorKey = auditor.json().key;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  let fifty: string;
  it("imports 50 rows, rejects the 2 bad ones by number and reason, and writes nothing of them", async () => {
    const lines = people(50);
    // Row 17 has an email that is none, row 33 a phone number that cannot exist.
    lines[17] = "Bad Email,not-an-email@,+33 7 01 02 03 17,import";
    lines[33] = "Bad Phone,bad.phone@shop.example,12,import";
    fifty = `${lines.join("\n")}\n`;
    const before = await written();
    const r = await upload(fifty);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      status: "completed",
      rowsRead: 50,
      processed: 50,
      created: 48,
      updated: 0,
      unchanged: 0,
      rejected: 2,
      columns: [
        { header: "Full Name", field: "name" },
        { header: "E-mail", field: "email" },
        { header: "Mobile", field: "phone" },
        { header: "Tags", field: "tags" },
      ],
    });
    expect(await written()).toBe(before + 48n);
    const bad = await errors(r.json().id);
    expect(bad).toEqual([
      expect.objectContaining({ row: 17, code: "invalid_email" }),
      expect.objectContaining({ row: 33, code: "invalid_phone" }),
    ]);
    expect(bad[0]?.reason).toMatch(/column "E-mail": not an email address/);
    expect(bad[1]?.reason).toMatch(/column "Mobile": not a possible phone number/);
    // Reasons name the column, never the value.
    expect(JSON.stringify(bad)).not.toMatch(/not-an-email|"12"/);
    // Nothing of a rejected row is written: its valid phone and email belong to nobody.
    expect((await lookup("phone=%2B33701020317")).statusCode).toBe(404);
    expect((await lookup("email=bad.phone%40shop.example")).statusCode).toBe(404);
    const ok = await lookup("email=person3%40shop.example");
    expect(ok.json()).toMatchObject({
      name: "Person 3",
      phones: [{ number: "+33612341003" }],
      tags: ["import"],
    });
  });

  it("changes nothing when the same file is imported again", async () => {
    const before = await written();
    const r = await upload(fifty);
    expect(r.json()).toMatchObject({ created: 0, updated: 0, unchanged: 48, rejected: 2 });
    expect(await written()).toBe(before);
  });

  it("forgets an erased customer's imported rows with the customer", async () => {
    const csv = "name,email\nTo Erase,erase.me@shop.example\n";
    expect((await upload(csv)).json()).toMatchObject({ created: 1 });
    const id = (await lookup("email=erase.me%40shop.example")).json().id;
    const fingerprints = async (customer: string) =>
      Number(
        (
          await t.node.db.query<{ n: number | bigint }>(
            "SELECT count(*) AS n FROM vault_index WHERE customer_id = $1 AND kind = 'import-row'",
            [customer],
          )
        ).rows[0]?.n,
      );
    expect(await fingerprints(id)).toBe(1);
    expect((await post(`/v1/customers/${id}/erase`, {})).statusCode).toBe(200);
    expect(await fingerprints(id)).toBe(0);
    // The same row again is a new person to this merchant.
    expect((await upload(csv)).json()).toMatchObject({ created: 1, unchanged: 0 });
    expect((await lookup("email=erase.me%40shop.example")).json().id).not.toBe(id);
  });

  it("rejects a row with the wrong number of fields, and reports an unclosed quote with its line", async () => {
    const csv = [
      "name,email,note",
      "Ann,ann@shop.example,",
      "Ben,ben@shop.example,,extra",
      "",
      'Cleo,cleo@shop.example,"a note\non two lines"',
      "Dan,dan@shop.example,",
      'Eve,eve@shop.example,"an open quote',
      "Fay,fay@shop.example,",
    ].join("\n");
    const before = await written();
    const r = await upload(csv);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ rowsRead: 5, created: 3, rejected: 2 });
    expect(await written()).toBe(before + 3n);
    const bad = await errors(r.json().id);
    expect(bad).toEqual([
      expect.objectContaining({ row: 2, code: "wrong_field_count", line: 3 }),
      expect.objectContaining({ row: 5, code: "unclosed_quote", line: 8 }),
    ]);
    expect(bad[0]?.reason).toMatch(/4 instead of 3/);
    expect(bad[1]?.reason).toMatch(/a quote opened on line 8 never closes/);
    expect((await lookup("email=ben%40shop.example")).statusCode).toBe(404);
    expect((await lookup("email=fay%40shop.example")).statusCode).toBe(404);
    expect((await lookup("email=cleo%40shop.example")).json().name).toBe("Cleo");
  });

  it("adds missing identifiers and fields to the customer a row matches, and overwrites nothing", async () => {
    const before = await written();
    const csv =
      "email,phone,name,birthday,wechat\nperson5@shop.example,+33 7 00 00 00 05,Other Name,1990-01-31,wx_p5\n";
    const r = await upload(csv);
    expect(r.json()).toMatchObject({ created: 0, updated: 1 });
    expect(await written()).toBe(before + 1n);
    const c = (await lookup("email=person5%40shop.example")).json();
    expect(c).toMatchObject({
      name: "Person 5",
      birthday: "1990-01-31",
      phones: [{ number: "+33612341005" }, { number: "+33700000005" }],
      identities: [{ type: "wechat", value: "wx_p5" }],
    });
    // Matched by the new WeChat id too.
    expect((await lookup("identity=wechat:wx_p5")).json().id).toBe(c.id);
  });

  it("makes one customer of the rows of one file that name the same person", async () => {
    const before = await written();
    const csv =
      "name,email,phone\nSame Person,same@shop.example,\nSame Person,same@shop.example,+33 6 55 44 33 22\nName Only,,\nName Only,,\n";
    const r = await upload(csv);
    expect(r.json()).toMatchObject({ created: 2, updated: 1, unchanged: 1, rejected: 0 });
    expect(await written()).toBe(before + 3n);
    const same = (await lookup("email=same%40shop.example")).json();
    expect(same.phones).toEqual([{ number: "+33655443322", valid: true }]);
    const names = await get(`/v1/customers?query=${encodeURIComponent("Name Only")}`);
    expect(names.json().customers).toHaveLength(1);
  });

  it("resolves rows against the rows of earlier rounds still being committed", {
    timeout: 120_000,
  }, async () => {
    // Rounds are 1,000 rows, and on PostgreSQL the next is written while the last commits:
    // rows 1,001 to 1,003 name people of the first round, and must see them.
    const before = await written();
    const lines = ["name,email,phone"];
    for (let i = 0; i < 1000; i++) lines.push(`Round Person ${i},round${i}@shop.example,`);
    lines[3] = "Round Name Only,,";
    lines.push("Round Person 0,round0@shop.example,"); // the same row again: unchanged
    lines.push("Round Name Only,,"); // the same person by the row alone: unchanged
    lines.push("Round Person 1,round1@shop.example,+33 6 12 00 00 01"); // fills in a phone
    for (let i = 1000; i < 1200; i++) lines.push(`Round Person ${i},round${i}@shop.example,`);
    const r = await upload(`${lines.join("\n")}\n`);
    expect(r.json()).toMatchObject({ created: 1200, updated: 1, unchanged: 2, rejected: 0 });
    expect(await written()).toBe(before + 1201n);
    const one = (await lookup("email=round1%40shop.example")).json();
    expect(one.phones).toEqual([{ number: "+33612000001", valid: true }]);
    const names = await get(`/v1/customers?query=${encodeURIComponent("Round Name Only")}`);
    expect(names.json().customers).toHaveLength(1);
    const { rows } = await t.node.db.query<{ n: bigint | number }>(
      `SELECT count(*) AS n FROM customers WHERE status = 'active'
       AND id IN (SELECT customer_id FROM import_outcomes WHERE import_id = $1)`,
      [r.json().id],
    );
    expect(Number(rows[0]?.n)).toBe(1200);
  });

  it("creates a new customer and a merge suggestion when a row's identifiers disagree", async () => {
    const a = (await lookup("email=person1%40shop.example")).json();
    const b = (await lookup("email=person2%40shop.example")).json();
    const before = await written();
    // person1's email with person2's phone; then person4's phone with a new email.
    const csv =
      "name,email,phone\nMixed Up,person1@shop.example,+33612341002\nNew Email,someone.else@shop.example,+33612341004\n";
    const r = await upload(csv);
    expect(r.json()).toMatchObject({ created: 2, updated: 0, suggestions: 2 });
    expect(await written()).toBe(before + 2n);
    const notes = await errors(r.json().id, true);
    expect(notes.map((n) => [n.row, n.code])).toEqual([
      [1, "merge_suggested"],
      [2, "merge_suggested"],
    ]);
    // Nobody lost an identifier: the new customers hold only what was free.
    expect((await lookup("email=person1%40shop.example")).json().id).toBe(a.id);
    expect((await lookup("phone=%2B33612341002")).json().id).toBe(b.id);
    const apart = (await lookup("email=someone.else%40shop.example")).json();
    expect(apart.phones).toEqual([]);
    const list = (await get("/v1/merge-suggestions")).json().suggestions;
    const d = (await lookup("email=person4%40shop.example")).json();
    expect(list).toEqual(
      expect.arrayContaining([
        // Why each pair was made, in kinds only: Mixed Up's email is a's, its phone b's, and
        // each of them has a phone or an email of their own besides.
        expect.objectContaining({
          otherId: a.id,
          reason: "identifier_conflict",
          identifiers: { shared: ["email"], differing: ["phone"] },
        }),
        expect.objectContaining({
          otherId: b.id,
          reason: "identifier_conflict",
          identifiers: { shared: ["phone"], differing: ["email"] },
        }),
        expect.objectContaining({
          customerId: apart.id,
          otherId: d.id,
          reason: "email_conflict",
          identifiers: { shared: ["phone"], differing: ["email"] },
          source: `import:${r.json().id}`,
        }),
      ]),
    );
    // No value of an identifier is in a suggestion, only its kind.
    expect(JSON.stringify(list)).not.toMatch(/@|\+33/);
    // The same file again: nothing new, no second suggestion.
    const again = await upload(csv);
    expect(again.json()).toMatchObject({ created: 0, unchanged: 2, suggestions: 0 });
    expect(await written()).toBe(before + 2n);
    // Another merchant sees none of them.
    expect((await get("/v1/merge-suggestions", other.key)).json().suggestions).toEqual([]);
    // Each one by its id, as the list has it; another merchant's, or none, is not found.
    for (const s of list) {
      const one = await get(`/v1/merge-suggestions/${s.id}`);
      expect(one.statusCode, one.body).toBe(200);
      expect(one.json()).toEqual(s);
      const elsewhere = await get(`/v1/merge-suggestions/${s.id}`, other.key);
      expect(elsewhere.statusCode).toBe(404);
      expect(elsewhere.json().error.code).toBe("not_found");
    }
    const none = await get("/v1/merge-suggestions/ms_nosuchsuggestion");
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe("not_found");
    expect((await get("/v1/merge-suggestions/c_notasuggestion")).statusCode).toBe(400);

    // Staff settle them: a merge of the pair closes its suggestion, a dismissal another.
    const post = (url: string, body?: unknown, key = t.ownerKey) =>
      t.node.app.inject({
        method: "POST",
        url,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    const emailConflict = list.find((x: { reason: string }) => x.reason === "email_conflict");
    const other1 = list.find((x: { otherId: string }) => x.otherId === a.id);
    const merged = await post(`/v1/customers/${emailConflict.otherId}/merge`, {
      from: emailConflict.customerId,
    });
    expect(merged.statusCode, merged.body).toBe(200);
    const refused = await post(`/v1/merge-suggestions/${other1.id}/dismiss`, undefined, other.key);
    expect(refused.statusCode).toBe(404);
    // A body the route does not take is refused, not dropped: the suggestion stays open.
    const stray = await post(`/v1/merge-suggestions/${other1.id}/dismiss`, { reason: "dupe" });
    expect(stray.statusCode).toBe(400);
    expect(stray.json().error).toMatchObject({
      code: "invalid_request",
      message: 'body/: Unrecognized key: "reason" (this endpoint takes no body)',
      details: [{ path: "body/" }],
    });
    expect(
      (await get("/v1/merge-suggestions")).json().suggestions.map((x: { id: string }) => x.id),
    ).toContain(other1.id);
    // `{}`, as many clients send, is no body.
    expect((await post(`/v1/merge-suggestions/${other1.id}/dismiss`, {})).json()).toEqual({
      id: other1.id,
      status: "dismissed",
    });
    const twice = await post(`/v1/merge-suggestions/${other1.id}/dismiss`);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe("suggestion_closed");
    const all = (await get("/v1/merge-suggestions?status=all")).json().suggestions as {
      id: string;
      status: string;
    }[];
    expect(all.find((x) => x.id === emailConflict.id)?.status).toBe("merged");
    expect(all.find((x) => x.id === other1.id)?.status).toBe("dismissed");
    // Settled ones are still read by their id, with their status.
    expect((await get(`/v1/merge-suggestions/${emailConflict.id}`)).json().status).toBe("merged");
    expect((await get(`/v1/merge-suggestions/${other1.id}`)).json()).toMatchObject({
      status: "dismissed",
      dismissedBy: expect.stringMatching(/^merchant:/),
    });
    const open = (await get("/v1/merge-suggestions")).json().suggestions as { id: string }[];
    expect(open.map((x) => x.id)).not.toContain(emailConflict.id);
    expect(open.map((x) => x.id)).not.toContain(other1.id);

    // Who dismissed it and when; dismissed by mistake, it is reopened.
    const dismissed = (await get("/v1/merge-suggestions?status=dismissed")).json().suggestions;
    expect(dismissed).toEqual([
      expect.objectContaining({
        id: other1.id,
        status: "dismissed",
        dismissedBy: expect.stringMatching(/^merchant:/),
        dismissedAt: expect.any(String),
      }),
    ]);
    expect(
      (await post(`/v1/merge-suggestions/${other1.id}/reopen`, undefined, other.key)).statusCode,
    ).toBe(404);
    expect((await post(`/v1/merge-suggestions/${other1.id}/reopen`)).json()).toEqual({
      id: other1.id,
      status: "open",
    });
    const reopened = (await get("/v1/merge-suggestions")).json().suggestions;
    expect(reopened).toContainEqual(
      expect.objectContaining({
        id: other1.id,
        status: "open",
        dismissedBy: null,
        dismissedAt: null,
      }),
    );
    // Only a dismissed one: an open one, or one a merge settled (unmerging undoes that).
    for (const id of [other1.id, emailConflict.id]) {
      const refused = await post(`/v1/merge-suggestions/${id}/reopen`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe("suggestion_not_dismissed");
    }
    expect(
      (await get("/v1/merge-suggestions?status=all"))
        .json()
        .suggestions.find((x: { id: string }) => x.id === emailConflict.id).status,
    ).toBe("merged");
    // Unmerging says they are two people: the suggestion the merge settled is dismissed, by
    // whoever unmerged, and may be reopened like any other.
    const unmerged = await post(`/v1/customers/${emailConflict.customerId}/unmerge`);
    expect(unmerged.statusCode, unmerged.body).toBe(200);
    expect(
      (await get("/v1/merge-suggestions?status=dismissed"))
        .json()
        .suggestions.find((x: { id: string }) => x.id === emailConflict.id),
    ).toMatchObject({
      status: "dismissed",
      dismissedBy: expect.stringMatching(/^merchant:.*\/key:/),
      dismissedAt: expect.any(String),
    });
    expect((await post(`/v1/merge-suggestions/${emailConflict.id}/reopen`)).json()).toEqual({
      id: emailConflict.id,
      status: "open",
    });
    expect((await post("/v1/merge-suggestions/ms_nosuchsuggestion/reopen")).statusCode).toBe(404);
  });

  it("leaves out blocked values with a warning, and rejects a row they were all it had", async () => {
    const csv =
      "name,email,phone\nShared Desk,noreply@shop.example,+33 6 98 76 54 32\n,test@shop.example,\nZeros,zed@shop.example,+33 6 00 00 00 00\n";
    const r = await upload(csv);
    expect(r.json()).toMatchObject({ created: 2, rejected: 1 });
    const notes = await errors(r.json().id, true);
    expect(notes.map((n) => [n.row, n.level, n.code])).toEqual([
      [1, "warning", "blocked_email"],
      [2, "error", "no_identifier"],
      [2, "warning", "blocked_email"],
      [3, "warning", "blocked_phone"],
    ]);
    expect((await lookup("phone=%2B33698765432")).json().emails).toEqual([]);
    expect((await lookup("email=noreply%40shop.example")).statusCode).toBe(404);
    expect((await lookup("email=zed%40shop.example")).json().phones).toEqual([]);
  });

  it("predicts a dry run without writing anything", async () => {
    const before = await written();
    const csv = `${people(3, 48).join("\n")}\nDry New,dry.new@shop.example,,x\nDry New Again,dry.new@shop.example,,y\n`;
    const r = await upload(csv, "dryRun=true");
    expect(r.statusCode, r.body).toBe(200);
    // Rows 48 and 49 exist (unchanged), 50 and the first dry.new are new; the second updates it.
    expect(r.json()).toMatchObject({
      dryRun: true,
      status: "completed",
      created: 2,
      unchanged: 2,
      updated: 1,
    });
    expect(await written()).toBe(before);
    expect((await lookup("email=dry.new%40shop.example")).statusCode).toBe(404);
  });

  it("predicts in a dry run what the import then does, rows of one file that disagree included", async () => {
    const existing = await post("/v1/customers", { email: "agree.x@shop.example" });
    expect(existing.statusCode, existing.body).toBe(201);
    const csv = [
      "Full Name,E-mail,Mobile,Tags",
      "Agree One,agree1@shop.example,+33 6 55 00 00 01,a",
      // The phone of row 1 with another email: a second person, apart, with a suggestion.
      "Agree Other,agree1b@shop.example,+33 6 55 00 00 01,",
      "Agree One,agree1@shop.example,+33 6 55 00 00 01,a",
      // Two rows adding to one existing customer: two updates, no suggestion.
      "Agree X,agree.x@shop.example,,b",
      "Agree X,agree.x@shop.example,+33 6 55 00 00 05,",
      // Identifiers of two customers: apart, with a suggestion.
      "Mixed,agree1@shop.example,+33 6 55 00 00 05,",
    ].join("\n");
    const counts = (v: Record<string, unknown>) => ({
      created: v.created,
      updated: v.updated,
      unchanged: v.unchanged,
      rejected: v.rejected,
      suggestions: v.suggestions,
      warnings: v.warnings,
    });
    const byRow = async (id: string) =>
      (await errors(id, true)).map((e) => [e.row, e.level, e.code]);
    const dry = await upload(csv, "dryRun=true");
    expect(dry.statusCode, dry.body).toBe(200);
    const real = await upload(csv);
    expect(real.statusCode, real.body).toBe(200);
    expect(counts(real.json())).toEqual({
      created: 3,
      updated: 2,
      unchanged: 1,
      rejected: 0,
      suggestions: 2,
      warnings: 2,
    });
    expect(counts(dry.json())).toEqual(counts(real.json()));
    expect(await byRow(dry.json().id)).toEqual(await byRow(real.json().id));
    expect(await byRow(real.json().id)).toEqual([
      [2, "warning", "merge_suggested"],
      [6, "warning", "merge_suggested"],
    ]);
  });

  it("maps columns as told, and refuses a file it cannot map", async () => {
    const mapped = await upload(
      "Client,Courriel,Carte,Ignored\nMapped Person,mapped@shop.example,CARD-1,zzz\n",
      `wait=true&map=${encodeURIComponent(JSON.stringify({ Client: "name", Courriel: "email", Carte: "card", Ignored: null }))}`,
    );
    expect(mapped.json()).toMatchObject({ created: 1 });
    expect((await lookup("identity=card:CARD-1")).json().name).toBe("Mapped Person");

    const before = await written();
    const refusals: [string, string, string, string?][] = [
      ["foo,bar\n1,2\n", "wait=true", "no_columns"],
      ["email,email\na@b.example,c@d.example\n", "wait=true", "duplicate_column"],
      ["", "wait=true", "empty_file"],
      ["email\nx@shop.example\n", `map=${encodeURIComponent('{"nope":"email"}')}`, "invalid_map"],
      ["email\nx@shop.example\n", `map=${encodeURIComponent('{"email":"shoe"}')}`, "invalid_map"],
      ["email\nx@shop.example\n", "map=%7Bnot", "invalid_map"],
    ];
    for (const [csv, query, code] of refusals) {
      const r = await upload(csv, query);
      expect(r.statusCode, `${code}: ${r.body}`).toBe(400);
      expect(r.json().error.code).toBe(code);
    }
    const asJson = await upload(
      JSON.stringify({ email: "x@shop.example" }),
      "",
      t.ownerKey,
      "application/json",
    );
    expect(asJson.statusCode).toBe(415);
    expect(asJson.json().error.code).toBe("unsupported_media_type");
    const latin = await upload(
      "email\nx@shop.example\n",
      "",
      t.ownerKey,
      "text/csv; charset=latin1",
    );
    expect(latin.statusCode).toBe(415);
    expect((await upload("email\nx@shop.example\n", "", auditorKey)).statusCode).toBe(403);
    const anonymous = await t.node.app.inject({
      method: "POST",
      url: "/v1/imports/customers",
      headers: { "content-type": "text/csv" },
      payload: "email\nx@shop.example\n",
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await written()).toBe(before);
    // Another merchant cannot read this merchant's imports.
    const mine = (await get("/v1/imports")).json().imports[0].id;
    expect((await get(`/v1/imports/${mine}`, other.key)).statusCode).toBe(404);
    expect((await get(`/v1/imports/${mine}/errors`, other.key)).statusCode).toBe(404);
    expect((await post(`/v1/imports/${mine}/resume`, {}, other.key)).statusCode).toBe(404);
  });

  it("refuses a file that is not UTF-8 whole, at its first bytes or midway, and writes nothing of it", async () => {
    const send = (payload: Buffer | Readable, type = "text/csv") =>
      t.node.app.inject({
        method: "POST",
        url: "/v1/imports/customers?wait=true",
        headers: { "content-type": type, ...bearer(t.ownerKey) },
        payload,
      });
    const imports = async () =>
      (await get("/v1/imports?limit=100")).json().imports as { id: string; status: string }[];
    const before = { written: await written(), imports: (await imports()).length };
    // A Latin-1 export's é, the file said to be UTF-8 or not said at all.
    const latin1 = Buffer.from("name,email\nJos\xe9 Latin,jose@shop.example\n", "latin1");
    for (const type of ["text/csv", "text/csv; charset=utf-8"]) {
      const r = await send(latin1, type);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().error).toMatchObject({
        code: "invalid_utf8",
        message: expect.stringMatching(/not UTF-8/),
      });
    }
    expect((await imports()).length).toBe(before.imports);
    // Midway, after rows already read: the import kept of it, if any, failed, none of its rows
    // staged, and none written.
    const rows = Array.from({ length: 3000 }, (_, i) => `Early ${i},early${i}@shop.example`);
    const midway = await send(
      Readable.from([Buffer.from(`name,email\n${rows.join("\n")}\n`), Buffer.from([0x4c, 0xe9])]),
    );
    expect(midway.statusCode, midway.body).toBe(400);
    expect(midway.json().error.code).toBe("invalid_utf8");
    const kept = (await imports()).slice(0, (await imports()).length - before.imports);
    expect(kept.every((i) => i.status === "failed")).toBe(true);
    // Found after rows were staged (the import made): it failed, its staged rows are gone,
    // and why is said as a code too, for a screen to say in its own language.
    const late = await send(
      Readable.from(
        (async function* () {
          yield Buffer.from(`name,email\n${rows.join("\n")}\n`);
          await new Promise((done) => setTimeout(done, 300));
          yield Buffer.from([0x4c, 0xe9]);
        })(),
      ),
    );
    expect(late.json().error.code).toBe("invalid_utf8");
    const last = await t.node.db.query<{ id: string }>(
      "SELECT id FROM imports ORDER BY created_at DESC, id DESC LIMIT 1",
    );
    expect((await get(`/v1/imports/${last.rows[0]?.id}`)).json()).toMatchObject({
      status: "failed",
      errorCode: "invalid_utf8",
      error: expect.stringMatching(/not UTF-8/),
    });
    const staged = await t.node.db.query<{ n: number | bigint }>(
      "SELECT count(*) AS n FROM import_rows",
    );
    expect(Number(staged.rows[0]?.n)).toBe(0);
    expect(await written()).toBe(before.written);
    expect((await lookup("email=early1%40shop.example")).statusCode).toBe(404);

    // A character cut in two between the upload's chunks is UTF-8 all the same.
    const cut = await send(
      Readable.from([
        Buffer.from("name,email\nZo\xc3", "latin1"),
        Buffer.from("\xab Split,zoe.split@shop.example\n", "latin1"),
      ]),
    );
    expect(cut.json()).toMatchObject({ created: 1, rejected: 0 });
    expect((await lookup("email=zoe.split%40shop.example")).json().name).toBe("Zoë Split");
  });

  it("reads numbers without + in the file's country, and refuses a country that names none", async () => {
    const csv = "name,phone\nBerlin Person,030 12345678\n";
    const de = await upload(csv, "wait=true&country=DE");
    expect(de.json()).toMatchObject({ created: 1, rejected: 0 });
    expect((await lookup("phone=%2B493012345678")).json().name).toBe("Berlin Person");

    // Two capitals that are no ISO 3166-1 code, lower case, three letters, none: one code,
    // before the file is read, and no import is kept.
    const imports = async () => (await get("/v1/imports?limit=100")).json().imports.length;
    const before = { written: await written(), imports: await imports() };
    for (const country of ["ZZ", "QQ", "de", "DEU", "", "D%00"]) {
      for (const query of [`wait=true&country=${country}`, `dryRun=true&country=${country}`]) {
        const r = await upload(csv, query);
        if (country === "D%00") {
          expect(r.json().error.code).toBe("nul_character");
          continue;
        }
        expect(r.statusCode, `${query}: ${r.body}`).toBe(400);
        expect(r.json().error).toMatchObject({
          code: "invalid_country",
          message: expect.stringMatching(/ISO 3166-1 alpha-2/),
        });
      }
    }
    expect(await written()).toBe(before.written);
    expect(await imports()).toBe(before.imports);
    // The codes a phone number's country can be, as an address takes them, are countries too.
    const kosovo = await upload(
      "name,phone\nKosovo Person,044 123 456\n",
      "dryRun=true&country=XK",
    );
    expect(kosovo.statusCode, kosovo.body).toBe(200);
  });

  it("stages rows sealed, never a personal value in clear, and destroys them when done", async () => {
    const lines = people(1500, 1000);
    const r = await upload(`${lines.join("\n")}\n`, "");
    expect(r.statusCode, r.body).toBe(202);
    const id = r.json().id;
    const staged = await t.node.db.query<{ sealed: string }>(
      "SELECT encode(sealed, 'escape') AS sealed FROM import_rows WHERE import_id = $1",
      [id],
    );
    expect(staged.rows.length).toBeGreaterThan(0);
    const text = staged.rows.map((s) => s.sealed).join("\n");
    for (const value of ["person1000@shop.example", "Person 1000", "+33612341000", "33612341000"]) {
      expect(text).not.toContain(value);
    }
    for (const table of ["imports", "import_issues", "import_outcomes", "merge_suggestions"]) {
      const all = await t.node.db.query(`SELECT * FROM ${table}`);
      const dump = JSON.stringify(all.rows, (_k, v) => (typeof v === "bigint" ? String(v) : v));
      for (const value of ["person1", "Person 1", "+336123", "shop.example"]) {
        expect(dump, table).not.toContain(value);
      }
    }
    let view = (await get(`/v1/imports/${id}`)).json();
    for (let i = 0; i < 600 && view.status === "running"; i++) {
      await new Promise((res) => setTimeout(res, 100));
      view = (await get(`/v1/imports/${id}`)).json();
    }
    expect(view).toMatchObject({ status: "completed", created: 1500, rejected: 0 });
    const left = await t.node.db.query(
      "SELECT (SELECT count(*) FROM import_rows WHERE import_id = $1) AS rows, (SELECT count(*) FROM vault_data_keys WHERE customer_id = $1) AS keys",
      [id],
    );
    expect(Number(left.rows[0]?.rows)).toBe(0);
    expect(Number(left.rows[0]?.keys)).toBe(0);
  }, 120_000);

  it("keeps in staging only the rows an interrupted import has not written", async () => {
    // Row 1,100 cannot be written until the trigger goes: the import stops there.
    await t.node.db.exec(`
      CREATE FUNCTION refuse_row_1100() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.row = 1100 THEN RAISE EXCEPTION 'refused for the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_row_1100 BEFORE INSERT ON import_outcomes
        FOR EACH ROW EXECUTE FUNCTION refuse_row_1100();`);
    const staged = async (id: string) => {
      const { rows } = await t.node.db.query<{ row: bigint | number; written: boolean }>(
        `SELECT r.row, EXISTS (SELECT 1 FROM import_outcomes o
           WHERE o.import_id = r.import_id AND o.row = r.row) AS written
         FROM import_rows r WHERE r.import_id = $1`,
        [id],
      );
      return rows;
    };
    let id: string;
    try {
      const r = await upload(`${people(1200, 5000).join("\n")}\n`);
      expect(r.json()).toMatchObject({ status: "interrupted" });
      id = r.json().id;
      const left = await staged(id);
      // Round one's rows are gone from staging; what is left was never written.
      expect(left.length).toBeGreaterThan(0);
      expect(left.length).toBeLessThan(200);
      expect(left.every((r) => !r.written)).toBe(true);
      expect(left.some((r) => Number(r.row) === 1100)).toBe(true);
    } finally {
      await t.node.db.exec(
        "DROP TRIGGER refuse_row_1100 ON import_outcomes; DROP FUNCTION refuse_row_1100();",
      );
    }
    const resumed = await post(`/v1/imports/${id}/resume`, {});
    expect(resumed.statusCode, resumed.body).toBe(202);
    let view = resumed.json();
    for (let i = 0; i < 600 && view.status === "running"; i++) {
      await new Promise((res) => setTimeout(res, 100));
      view = (await get(`/v1/imports/${id}`)).json();
    }
    expect(view).toMatchObject({ status: "completed", created: 1200, processed: 1200 });
    expect(await staged(id)).toEqual([]);
  }, 120_000);

  // Its limit is generous: on a loaded machine, exporting and re-importing everyone takes minutes.
  it("exports every active customer as CSV and JSON, and the CSV imports back as the same customers", async () => {
    const csv = await get("/v1/customers/export?format=csv");
    expect(csv.statusCode).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    const asJson = await get("/v1/customers/export?format=json");
    expect(asJson.statusCode).toBe(200);
    const exported = asJson.json().customers as Record<string, unknown>[];
    const lines = csv.body.trim().split("\r\n");
    expect(lines.length - 1).toBe(exported.length);
    expect(lines[0]).toMatch(/^id,name,emails,phones,birthday,language,tags,stage,/);

    const r = await upload(csv.body, "wait=true", other.key);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ created: exported.length, rejected: 0 });
    // The ids name no customer of this merchant: each row is matched by its identifiers.
    expect(r.json().columns[0]).toEqual({ header: "id", field: "id" });
    const back = (await get("/v1/customers/export?format=json", other.key)).json()
      .customers as Record<string, unknown>[];
    const comparable = (c: Record<string, unknown>) => {
      const { id: _id, createdAt: _c, updatedAt: _u, head: _h, ...rest } = c;
      return rest;
    };
    // Rows are written many at a time, so the new customers' order may differ.
    const sorted = (cs: Record<string, unknown>[]) =>
      cs.map((c) => JSON.stringify(comparable(c))).sort();
    expect(sorted(back)).toEqual(sorted(exported));
    // Each export is a use of every customer it revealed, with its purpose (decision 11).
    const records = (await get(`/v1/customers/${exported[0]?.id}/data-access`)).json().records as {
      action: string;
      purpose: string;
    }[];
    expect(records.filter((x) => x.action === "export")).toHaveLength(2);
    expect(records[0]).toMatchObject({ action: "export", purpose: "customer_service" });
  }, 300_000);

  it("imports an export back as the same customers by their id, one with a name alone too", async () => {
    const create = async (body: unknown, key = t.ownerKey) => {
      const r = await post("/v1/customers", body, key);
      expect(r.statusCode, r.body).toBe(201);
      return r.json().id as string;
    };
    const nameOnly = await create({ name: "Only A Name" });
    const withEmail = await create({ name: "Has Mail", emails: ["has.mail@shop.example"] });
    const erased = await create({ name: "Gone Soon" });
    const absorbed = await create({ name: "Absorbed One", tags: ["merged-away"] });
    const theirs = await create({ name: "Theirs" }, other.key);
    const exported = (await get("/v1/customers/export?format=csv")).body.trim().split("\r\n");
    const lineOf = (id: string) => {
      const line = exported.find((l) => l.startsWith(`${id},`));
      expect(line, id).toBeDefined();
      return line as string;
    };
    expect((await post(`/v1/customers/${erased}/erase`, {})).statusCode).toBe(200);
    const merged = await post(`/v1/customers/${withEmail}/merge`, { from: absorbed });
    expect(merged.statusCode, merged.body).toBe(200);
    const file = [
      exported[0],
      lineOf(nameOnly),
      lineOf(withEmail),
      // An old export does not bring back an erased customer.
      lineOf(erased),
      // The id names one customer, the email is another's: neither is guessed at.
      lineOf(withEmail).replace(withEmail, nameOnly),
      // Ids that name no customer of this merchant: matched by what the row holds, as a file
      // from another node or system is (another merchant's customer is none of its business).
      lineOf(nameOnly).replace(nameOnly, "c_nosuchcustomer").replace("Only A Name", "Unknown Id"),
      lineOf(nameOnly).replace(nameOnly, theirs).replace("Only A Name", "Their Id"),
      // A record merged since is the customer that absorbed it.
      lineOf(absorbed),
    ].join("\r\n");
    const before = await written();
    const expected = { created: 2, updated: 0, unchanged: 3, rejected: 2 };
    const dry = await upload(file, "dryRun=true");
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject(expected);
    expect(await written()).toBe(before);
    const r = await upload(file);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject(expected);
    expect(await written()).toBe(before + 2n);
    for (const id of [dry.json().id, r.json().id]) {
      expect((await errors(id)).map((e) => [e.row, e.code, e.reason])).toEqual([
        [3, "customer_erased", "its id names a customer who was erased: not imported again"],
        [4, "identity_conflict", expect.stringMatching(/^its id names one customer, and another/)],
      ]);
    }
    const named = async (name: string) =>
      (await get(`/v1/customers?query=${encodeURIComponent(name)}&limit=100`))
        .json()
        .customers.filter((c: { name: string }) => c.name === name)
        .map((c: { id: string }) => c.id);
    expect(await named("Only A Name")).toEqual([nameOnly]);
    expect(await named("Has Mail")).toEqual([withEmail]);
    expect(await named("Absorbed One")).toEqual([]);
    expect(await named("Gone Soon")).toEqual([]);
    expect(await named("Unknown Id")).toHaveLength(1);
    expect(await named("Their Id")).toHaveLength(1);
    expect((await get(`/v1/customers/${theirs}`, other.key)).json().name).toBe("Theirs");
    expect((await get(`/v1/customers/${nameOnly}`)).json().emails).toEqual([]);
  });

  it("pages through the imports with an opaque cursor, newest first, none twice or missed", async () => {
    const ids = async (cursor?: string, limit = 2, key = t.ownerKey) => {
      const r = await get(`/v1/imports?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, key);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json() as { imports: { id: string }[]; next: string | null };
      return { ids: body.imports.map((i) => i.id), next: body.next };
    };
    const walk = async (limit: number) => {
      const seen: string[] = [];
      let page = await ids(undefined, limit);
      seen.push(...page.ids);
      for (let i = 0; page.next !== null && i < 50; i++) {
        expect(page.next).toMatch(/^[A-Za-z0-9_-]+$/);
        page = await ids(page.next, limit);
        seen.push(...page.ids);
      }
      expect(page.next).toBeNull();
      return seen;
    };
    const all = await ids(undefined, 100);
    expect(all.next).toBeNull();
    expect(all.ids.length).toBeGreaterThanOrEqual(6);
    expect(await walk(2)).toEqual(all.ids);
    expect(await walk(all.ids.length)).toEqual(all.ids);

    // Imports started in the same instant keep one order (their ids) across pages.
    await t.node.db.query(
      `UPDATE imports SET created_at = (SELECT created_at FROM imports WHERE id = $1)
       WHERE id = ANY($2::text[])`,
      [all.ids[1], all.ids.slice(1, 5)],
    );
    const tied = (await ids(undefined, 100)).ids;
    expect([...tied].sort()).toEqual([...all.ids].sort());
    expect(tied.slice(1, 5)).toEqual([...all.ids.slice(1, 5)].sort());
    expect(await walk(1)).toEqual(tied);
    expect(await walk(3)).toEqual(tied);

    // A cursor this API did not give out: malformed, another list's, or another merchant's.
    const first = await ids(undefined, 1);
    const otherFirst = await ids(undefined, 1, other.key);
    expect(otherFirst.ids).toHaveLength(1);
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const customersNext = (await get("/v1/customers?limit=1")).json().next as string;
    for (const [cursor, key] of [
      ["not a cursor", t.ownerKey],
      ["$$", t.ownerKey],
      [b64("i1:imp_doesnotexist"), t.ownerKey],
      [b64(`i1:${all.ids[0]}x`), t.ownerKey],
      [b64("c1:5"), t.ownerKey],
      [customersNext, t.ownerKey],
      [first.next as string, other.key],
    ] as const) {
      const r = await get(`/v1/imports?cursor=${encodeURIComponent(cursor)}`, key);
      expect(r.statusCode, `${cursor}: ${r.body}`).toBe(400);
      expect(r.json().error.code).toBe("invalid_cursor");
    }
    expect((await get(`/v1/imports?cursor=${"A".repeat(101)}`)).statusCode).toBe(400);
    // The auditor reads the same pages.
    expect((await ids(first.next as string, 100, auditorKey)).ids).toEqual(tied.slice(1));
  });
});

describe.each(backends)("an import killed with -9 ($name)", (backend) => {
  const OWNER = "pat_test_owner_key_import_0123456789abcdefghij";
  it("resumes after a restart with no duplicate and no gap", { timeout: 300_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "patron-import-kill-"));
    const env: Record<string, string> = {
      PATRON_DATA_DIR: dataDir,
      PATRON_OWNER_KEY: OWNER,
      PATRON_CHAIN: "off",
    };
    if (backend.name === "postgres" && testDatabaseUrl) {
      env.DATABASE_URL = await schemaUrl(
        testDatabaseUrl,
        `imp_${process.pid}_${Date.now().toString(36)}`,
      );
    }
    const auth = { authorization: `Bearer ${OWNER}` };
    // Enough rows that a loaded machine still answers a poll before the import ends.
    const N = 4_000;
    try {
      const first = await startServer(env);
      const lines = ["name,email"];
      for (let i = 0; i < N; i++) lines.push(`Killed ${i},killed${i}@shop.example`);
      const r = await fetch(`${first.url}/v1/imports/customers`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/csv" },
        body: `${lines.join("\n")}\n`,
      });
      expect(r.status).toBe(202);
      const id = (await r.json()).id as string;
      let seen = 0;
      for (let i = 0; i < 1200 && seen < 300; i++) {
        await new Promise((res) => setTimeout(res, 25));
        // A loaded machine may answer slowly or refuse a poll: only a progress report counts.
        const polled = await fetch(`${first.url}/v1/imports/${id}`, { headers: auth }).catch(
          () => undefined,
        );
        const progress = polled?.ok ? ((await polled.json()) as { processed?: unknown }) : {};
        if (typeof progress.processed === "number") seen = progress.processed;
      }
      first.child.kill("SIGKILL");
      await first.exited;
      // Killed mid-import: some rows committed, not all.
      expect(seen).toBeGreaterThanOrEqual(300);
      expect(seen).toBeLessThan(N);

      const second = await startServer(env);
      let view = (await (
        await fetch(`${second.url}/v1/imports/${id}`, { headers: auth })
      ).json()) as {
        status: string;
        created: number;
        processed: number;
      };
      for (let i = 0; i < 2400 && view.status === "running"; i++) {
        await new Promise((res) => setTimeout(res, 100));
        view = await (await fetch(`${second.url}/v1/imports/${id}`, { headers: auth })).json();
      }
      expect(view).toMatchObject({ status: "completed", created: N, processed: N });
      const resumed = await fetch(`${second.url}/v1/imports/${id}/resume`, {
        method: "POST",
        headers: auth,
      });
      expect(resumed.status).toBe(409);
      // Every row's customer exactly once.
      const exported = (await (
        await fetch(`${second.url}/v1/customers/export?format=json`, { headers: auth })
      ).json()) as { customers: { name: string; emails: string[] }[] };
      const count = new Map<string, number>();
      for (const c of exported.customers) {
        for (const e of c.emails) count.set(e, (count.get(e) ?? 0) + 1);
      }
      expect(exported.customers).toHaveLength(N);
      for (let i = 0; i < N; i++)
        expect(count.get(`killed${i}@shop.example`), `row ${i + 1}`).toBe(1);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
      const audit = await runCli(["audit"], env);
      expect(audit.stdout + audit.stderr).toMatch(/^OK: \d+ entries/m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

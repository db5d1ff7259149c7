import { decodeEntry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors, startNode } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };

const VIP_LOYAL = {
  and: [{ in: ["vip", { var: "tags" }] }, { in: [{ var: "stage" }, ["loyal", "repeat"]] }],
};

describe.each(backends)("segments ($name)", (backend) => {
  let t: TestNode;
  let other: string;
  let staff: string;
  let auditor: string;
  let merchantId: string;
  const ids: Record<string, string> = {};
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
  const members = async (segment: string, q = "") =>
    (await call("GET", `/v1/segments/${segment}/members?limit=100${q}`))
      .json()
      .customers.map((c: { name: string }) => c.name);

  beforeAll(async () => {
    t = await testNode(backend);
    const created = await call("POST", "/v1/merchants", { name: "Elsewhere" }, t.operatorKey);
    other = created.json().ownerKey;
    const key = async (role: string) =>
      (await call("POST", "/v1/api-keys", { role, label: role })).json().key as string;
    staff = await key("staff");
    auditor = await key("auditor");
    merchantId = (await call("GET", "/v1/merchants/me")).json().id;
    const people = [
      { name: "Ada Vip Loyal", tags: ["vip"], stage: "loyal", attributes: { visits: 12 } },
      { name: "Bo Vip Repeat", tags: ["vip", "b2b"], stage: "repeat", language: "fr" },
      { name: "Cy Vip Prospect", tags: ["vip"], attributes: { visits: 1 } },
      { name: "Di Loyal", stage: "loyal", birthday: "1990-03-14", attributes: { visits: 7 } },
      { name: '=HYPERLINK("http://evil")', tags: ["vip"], stage: "loyal" },
      { name: "Erased Vip", tags: ["vip"], stage: "loyal" },
    ];
    for (const p of people) {
      const r = await call("POST", "/v1/customers", p);
      expect(r.statusCode, r.body).toBe(201);
      ids[p.name] = r.json().id;
    }
    expect((await call("POST", `/v1/customers/${ids["Erased Vip"]}/erase`)).statusCode).toBe(200);
    // The other merchant's customers never count here.
    await call(
      "POST",
      "/v1/customers",
      { name: "Elsewhere Vip", tags: ["vip"], stage: "loyal" },
      other,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  let vip: string;

  it("defines a segment with a sealed entry on the merchant's chain only", async () => {
    const before = size(t.node);
    const r = await call(
      "POST",
      "/v1/segments",
      { name: "VIP regulars", condition: VIP_LOYAL },
      staff,
    );
    expect(r.statusCode, r.body).toBe(201);
    vip = r.json().id;
    expect(r.json()).toMatchObject({
      id: expect.stringMatching(/^s_/),
      name: "VIP regulars",
      condition: VIP_LOYAL,
      entryIndex: Number(before),
    });
    expect(size(t.node)).toBe(before + 1n);
    const entry = await entryAt(before);
    expect(entry.type).toBe("segment.defined");
    expect(entry.salt).toBeDefined();
    expect(entry.subjects).toEqual([{ merchant: merchantId, prev: expect.any(Number) }]);
    expect(entry.payload).toEqual({
      merchantId,
      segmentId: vip,
      name: "VIP regulars",
      condition: VIP_LOYAL,
    });
  });

  it("counts live, lists members with a cursor, and filters GET /v1/customers", async () => {
    const preview = await call("POST", "/v1/segments/preview", { condition: VIP_LOYAL }, auditor);
    expect(preview.statusCode, preview.body).toBe(200);
    // Ada, Bo and the formula-named one; not Cy (prospect), Di (no tag), the erased customer
    // or the other merchant's.
    expect(preview.json()).toEqual({ count: 3 });
    const got = await call("GET", `/v1/segments/${vip}`, undefined, auditor);
    expect(got.json()).toMatchObject({ id: vip, name: "VIP regulars", count: 3 });
    const expected = ['=HYPERLINK("http://evil")', "Bo Vip Repeat", "Ada Vip Loyal"];
    expect(await members(vip)).toEqual(expected);
    const first = (
      await call("GET", `/v1/segments/${vip}/members?limit=2`, undefined, auditor)
    ).json();
    expect(first.customers.map((c: { name: string }) => c.name)).toEqual(expected.slice(0, 2));
    expect(first.customers[0]).toMatchObject({ tags: ["vip"], stage: "loyal", status: "active" });
    const second = (
      await call("GET", `/v1/segments/${vip}/members?limit=2&cursor=${first.next}`)
    ).json();
    expect(second).toMatchObject({ customers: [{ name: "Ada Vip Loyal" }], next: null });
    const listed = (await call("GET", `/v1/customers?segment=${vip}`)).json().customers;
    expect(listed.map((c: { name: string }) => c.name)).toEqual(expected);
    const narrowed = (await call("GET", `/v1/customers?segment=${vip}&stage=repeat`)).json();
    expect(narrowed.customers.map((c: { name: string }) => c.name)).toEqual(["Bo Vip Repeat"]);
    const count = async (condition: unknown) =>
      (await call("POST", "/v1/segments/preview", { condition })).json().count;
    expect(await count(true)).toBe(5);
    expect(await count({ ">=": [{ var: "attributes.visits" }, 7] })).toBe(2);
    expect(await count({ "<": [2, { var: "birthMonth" }, 4] })).toBe(1);
    expect(await count({ "!": { in: ["vip", { var: "tags" }] } })).toBe(1);
    expect(await count({ "==": [{ var: "language" }, null] })).toBe(4);
    expect(await count({ in: ["email", { var: "channels" }] })).toBe(0);
    expect(await count({ ">": [{ var: "createdAt" }, "2000-01-01"] })).toBe(5);
  });

  it("changes a segment with one entry naming what changed, and nothing when nothing did", async () => {
    const before = size(t.node);
    const r = await call("PATCH", `/v1/segments/${vip}`, { name: "VIPs" });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      name: "VIPs",
      condition: VIP_LOYAL,
      entryIndex: Number(before),
    });
    expect((await entryAt(before)).payload).toEqual({ merchantId, segmentId: vip, name: "VIPs" });
    const same = await call("PATCH", `/v1/segments/${vip}`, { name: "VIPs", condition: VIP_LOYAL });
    expect(same.statusCode).toBe(200);
    expect(size(t.node)).toBe(before + 1n);
    const tighter = { "==": [{ var: "stage" }, "repeat"] };
    const changed = await call("PATCH", `/v1/segments/${vip}`, { condition: tighter });
    expect(changed.json().condition).toEqual(tighter);
    expect(await members(vip)).toEqual(["Bo Vip Repeat"]);
    expect((await call("PATCH", `/v1/segments/${vip}`, { condition: VIP_LOYAL })).statusCode).toBe(
      200,
    );
    const list = (await call("GET", "/v1/segments", undefined, auditor)).json();
    expect(list).toEqual({
      segments: [expect.objectContaining({ id: vip, name: "VIPs" })],
      next: null,
    });
  });

  it("exports the members as CSV, formulas defused, and as JSON, streamed", async () => {
    const csv = await call("GET", `/v1/segments/${vip}/export?format=csv`, undefined, staff);
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.headers["content-disposition"]).toBe(`attachment; filename="segment-${vip}.csv"`);
    const lines = csv.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "id,name,emails,phones,birthday,language,country,stage,tags,birthMonth,ageBand,attributes,createdAt",
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(
      `${ids['=HYPERLINK("http://evil")']},"'=HYPERLINK(""http://evil"")"`,
    );
    expect(lines[3]).toContain('Ada Vip Loyal,,,,,,loyal,vip,,,"{""visits"":12}"');
    const asJson = await call("GET", `/v1/segments/${vip}/export?format=json`, undefined, staff);
    expect(asJson.headers["content-type"]).toMatch(/^application\/json/);
    const all = JSON.parse(asJson.body);
    expect(all.map((c: { name: string }) => c.name)).toEqual(await members(vip));
    expect(all[0]).toMatchObject({
      id: expect.stringMatching(/^c_/),
      emails: [],
      head: expect.any(Number),
    });
    // Exports are for staff, not auditors; an unknown format is refused.
    expect((await call("GET", `/v1/segments/${vip}/export`, undefined, auditor)).statusCode).toBe(
      403,
    );
    expect((await call("GET", `/v1/segments/${vip}/export?format=xlsx`)).statusCode).toBe(400);
    // An empty segment is a header alone, or an empty array.
    const none = (await call("POST", "/v1/segments", { name: "Nobody", condition: false })).json()
      .id;
    expect((await call("GET", `/v1/segments/${none}/export`)).body.split("\r\n")).toHaveLength(2);
    expect(JSON.parse((await call("GET", `/v1/segments/${none}/export?format=json`)).body)).toEqual(
      [],
    );
    expect((await call("DELETE", `/v1/segments/${none}`)).statusCode).toBe(200);
  });

  it("refuses conditions outside the subset with the path of the fault, writing nothing", async () => {
    const before = size(t.node);
    const cases: [unknown, string][] = [
      [{ "==": [{ var: "name" }, "Ada"] }, '$["=="][0].var'],
      [{ in: ["ada@example.org", { var: "emails" }] }, "$.in[1].var"],
      [{ and: [true, { "==": [{ var: "attributes.__proto__" }, 1] }] }, '$.and[1]["=="][0].var'],
      [{ or: [{ reduce: [] }] }, "$.or[0]"],
      [{ "==": [{ var: "stage" }, 3] }, '$["=="]'],
      ["loyal", "$"],
      [null, "$"],
    ];
    for (const [condition, path] of cases) {
      for (const [url, body] of [
        ["/v1/segments", { name: "Bad", condition }],
        ["/v1/segments/preview", { condition }],
      ] as const) {
        const r = await call("POST", url, body);
        expect(r.statusCode, JSON.stringify(condition)).toBe(400);
        expect(r.json().error).toMatchObject({ code: "invalid_condition", details: { path } });
      }
      const patch = await call("PATCH", `/v1/segments/${vip}`, { condition });
      expect(patch.json().error.code).toBe("invalid_condition");
    }
    for (const body of [
      { condition: true },
      { name: "", condition: true },
      { name: "   ", condition: true },
      { name: "x".repeat(101), condition: true },
      { name: "A\u202eB", condition: true },
      { name: "Fine", condition: true, extra: 1 },
    ]) {
      const r = await call("POST", "/v1/segments", body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    expect((await call("PATCH", `/v1/segments/${vip}`, {})).json().error.code).toBe(
      "invalid_request",
    );
    expect((await call("GET", "/v1/customers?segment=nope")).statusCode).toBe(400);
    expect((await call("GET", `/v1/segments/${vip}/members?cursor=nope`)).json().error.code).toBe(
      "invalid_cursor",
    );
    expect(size(t.node)).toBe(before);
  });

  it("shows another merchant's key nothing and lets auditors only read", async () => {
    const before = size(t.node);
    for (const [method, url, body] of [
      ["GET", `/v1/segments/${vip}`],
      ["PATCH", `/v1/segments/${vip}`, { name: "Mine now" }],
      ["DELETE", `/v1/segments/${vip}`],
      ["GET", `/v1/segments/${vip}/members`],
      ["GET", `/v1/segments/${vip}/export`],
      ["GET", `/v1/customers?segment=${vip}`],
    ] as const) {
      const r = await call(method, url, body, other);
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      expect(r.json().error).toEqual({ code: "not_found", message: `segment ${vip} not found` });
    }
    expect((await call("GET", "/v1/segments", undefined, other)).json().segments).toEqual([]);
    // Its own preview counts only its own customer.
    expect(
      (await call("POST", "/v1/segments/preview", { condition: VIP_LOYAL }, other)).json(),
    ).toEqual({
      count: 1,
    });
    for (const [method, url, body] of [
      ["POST", "/v1/segments", { name: "Audit", condition: true }],
      ["PATCH", `/v1/segments/${vip}`, { name: "Audit" }],
      ["DELETE", `/v1/segments/${vip}`],
    ] as const) {
      const r = await call(method, url, body, auditor);
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().error.code).toBe("forbidden");
    }
    expect(size(t.node)).toBe(before);
  });

  it("keeps names unique among a merchant's live segments, requests at once too", async () => {
    const before = size(t.node);
    const taken = (r: { statusCode: number; json(): { error: { code: string } } }) =>
      r.statusCode === 409 && r.json().error.code === "segment_name_taken";
    // "VIPs" is vip's name: compared ignoring case and the spaces around it.
    for (const name of ["VIPs", "vips", "  VIPS ", "VIPs\u00a0"]) {
      const r = await call("POST", "/v1/segments", { name, condition: true });
      expect(taken(r), `${JSON.stringify(name)}: ${r.body}`).toBe(true);
      expect(r.json().error).toMatchObject({
        message: expect.stringContaining(`a segment named "${name.trim()}" already`),
        details: [{ path: "body/name" }],
      });
    }
    expect(size(t.node)).toBe(before);

    const created: string[] = [];
    const define = async (name: string, key = t.ownerKey) => {
      const r = await call("POST", "/v1/segments", { name, condition: true }, key);
      expect(r.statusCode, r.body).toBe(201);
      created.push(r.json().id);
      return r.json().id as string;
    };
    const at = size(t.node);
    const racing = await Promise.all(
      ["VIP regulars", "vip regulars", "VIP Regulars", "VIP regulars", " VIP regulars"].map(
        (name) => call("POST", "/v1/segments", { name, condition: true }, staff),
      ),
    );
    expect(racing.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(racing.filter(taken)).toHaveLength(4);
    expect(size(t.node)).toBe(at + 1n);
    const regulars = racing.find((r) => r.statusCode === 201)?.json().id as string;
    created.push(regulars);
    // Another merchant's names are its own.
    await define("VIP regulars", other);

    // A rename to a taken name is refused too; a change of case alone is a rename.
    const lapsed = await define("Lapsed");
    const rename = await call("PATCH", `/v1/segments/${lapsed}`, { name: "vip REGULARS" });
    expect(taken(rename), rename.body).toBe(true);
    expect((await call("GET", `/v1/segments/${lapsed}`)).json().name).toBe("Lapsed");
    const recased = await call("PATCH", `/v1/segments/${regulars}`, { name: "Vip Regulars" });
    expect(recased.statusCode, recased.body).toBe(200);
    expect(recased.json().name).toBe("Vip Regulars");
    const [alpha, beta] = [await define("Alpha"), await define("Beta")];
    const renames = await Promise.all(
      [alpha, beta].map((id) => call("PATCH", `/v1/segments/${id}`, { name: "Gamma" })),
    );
    expect(renames.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    // The name a segment had is free once it is renamed, or deleted.
    const loser = renames[0]?.statusCode === 409 ? alpha : beta;
    const winner = loser === alpha ? beta : alpha;
    expect(
      (await call("PATCH", `/v1/segments/${loser}`, { name: winner === alpha ? "Alpha" : "Beta" }))
        .statusCode,
    ).toBe(200);
    expect((await call("DELETE", `/v1/segments/${regulars}`)).statusCode).toBe(200);
    await define("VIP regulars");
    const names = (await call("GET", "/v1/segments"))
      .json()
      .segments.map((s: { name: string }) => s.name);
    expect(names.filter((n: string) => n.toLowerCase() === "vip regulars")).toEqual([
      "VIP regulars",
    ]);

    for (const id of created.filter((id) => id !== regulars)) {
      const key = id === created[1] ? other : t.ownerKey;
      expect((await call("DELETE", `/v1/segments/${id}`, undefined, key)).statusCode).toBe(200);
    }
  });

  it("deletes a segment once, even when asked at once; audit rebuilds the table", async () => {
    const before = size(t.node);
    const results = await Promise.all(
      [0, 1, 2].map(() => call("DELETE", `/v1/segments/${vip}`, undefined, staff)),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 404, 404]);
    expect(size(t.node)).toBe(before + 1n);
    const entry = await entryAt(before);
    expect(entry).toMatchObject({
      type: "segment.deleted",
      payload: { merchantId, segmentId: vip },
      subjects: [{ merchant: merchantId, prev: expect.any(Number) }],
    });
    for (const [method, url, body] of [
      ["GET", `/v1/segments/${vip}`],
      ["PATCH", `/v1/segments/${vip}`, { name: "Back" }],
      ["GET", `/v1/segments/${vip}/members`],
      ["GET", `/v1/customers?segment=${vip}`],
    ] as const) {
      expect((await call(method, url, body)).statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await call("GET", "/v1/segments")).json().segments).toEqual([]);
    expect(size(t.node)).toBe(before + 1n);
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
  });
});

describe.each(backends)("segment names across a restart ($name)", (backend) => {
  it("knows the taken names again from the stored state: a taken name is refused after it", async () => {
    const c = backend.config();
    let node = await startNode(c.config, { schema: c.schema, listen: false });
    const key = node.ownerKey as string;
    try {
      const call = (method: string, url: string, body?: unknown) =>
        node.app.inject({
          method: method as "GET",
          url,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : json),
          },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
      const define = async (name: string) => {
        const r = await call("POST", "/v1/segments", { name, condition: true });
        expect(r.statusCode, r.body).toBe(201);
        return r.json().id as string;
      };
      const regulars = await define("VIP regulars");
      const lapsed = await define("Lapsed");
      const gone = await define("Gone");
      // Renamed, its old name is free and its new one taken; deleted, its name is free.
      expect((await call("PATCH", `/v1/segments/${lapsed}`, { name: "Dormant" })).statusCode).toBe(
        200,
      );
      expect((await call("DELETE", `/v1/segments/${gone}`)).statusCode).toBe(200);
      await node.close();

      node = await startNode(c.config, { schema: c.schema, listen: false });
      const before = size(node);
      for (const name of [" vip REGULARS ", "dormant"]) {
        const r = await call("POST", "/v1/segments", { name, condition: true });
        expect(r.statusCode, `${name}: ${r.body}`).toBe(409);
        expect(r.json().error).toMatchObject({
          code: "segment_name_taken",
          details: [{ path: "body/name" }],
        });
      }
      const rename = await call("PATCH", `/v1/segments/${lapsed}`, { name: "Vip Regulars" });
      expect(rename.statusCode, rename.body).toBe(409);
      expect(rename.json().error.code).toBe("segment_name_taken");
      expect(size(node)).toBe(before);
      // A segment's own name is its own still: a change of case alone is a rename.
      const recased = await call("PATCH", `/v1/segments/${regulars}`, { name: "Vip Regulars" });
      expect(recased.statusCode, recased.body).toBe(200);
      // The names given up before the restart are free.
      await define("Lapsed");
      await define("Gone");
      // Kept without the spaces around it, as it is compared.
      const spaced = await call("POST", "/v1/segments", {
        name: "  Weekend buyers ",
        condition: true,
      });
      expect(spaced.statusCode, spaced.body).toBe(201);
      expect(spaced.json().name).toBe("Weekend buyers");
      const respaced = await call("PATCH", `/v1/segments/${spaced.json().id}`, {
        name: " Weekenders  ",
      });
      expect(respaced.statusCode, respaced.body).toBe(200);
      expect(respaced.json().name).toBe("Weekenders");
      // Requests at once for a name still go one way only.
      const racing = await Promise.all(
        ["Fresh", "fresh", " FRESH "].map((name) =>
          call("POST", "/v1/segments", { name, condition: true }),
        ),
      );
      expect(racing.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
    } finally {
      await node.close();
      c.cleanup();
    }
  });
});

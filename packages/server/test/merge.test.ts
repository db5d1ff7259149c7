import { decodeEntry, type Entry } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { size, type TestNode, testNode } from "./helpers.js";

const json = { "content-type": "application/json" };

/** The profile as it stands, without what a merge or unmerge itself changes. */
const profile = (c: Record<string, unknown>) => {
  const { updatedAt: _u, head: _h, ...rest } = c;
  return rest;
};

describe.each(backends)("merging and unmerging customers ($name)", (backend) => {
  let t: TestNode;
  let other: { id: string; key: string };
  let staffKey: string;
  let auditorKey: string;
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
  const get = async (id: string) => (await call("GET", `/v1/customers/${id}`)).json();
  const visit = (customerId: string, summary: string) =>
    call("POST", "/v1/interactions", {
      channel: "store",
      direction: "inbound",
      kind: "visit",
      occurredAt: "2026-11-30T10:00:00Z",
      customerId,
      summary,
    });

  /** Every entry of the log, decoded. */
  const allEntries = async () =>
    (await listEntries(t.node.db, 0n, size(t.node))).map((e) => ({
      index: Number(e.index),
      entry: decodeEntry(e.data),
    }));
  const names = (e: Entry, id: string) =>
    e.subjects?.some((s) => "customer" in s && s.customer === id);

  beforeAll(async () => {
    t = await testNode(backend);
    const m = await call("POST", "/v1/merchants", { name: "Elsewhere" }, t.operatorKey);
    other = { id: m.json().id, key: m.json().ownerKey };
    staffKey = (await call("POST", "/v1/api-keys", { role: "staff", label: "till" })).json().key;
    auditorKey = (await call("POST", "/v1/api-keys", { role: "auditor", label: "audit" })).json()
      .key;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it("never merges on an unverified hint: identifiers pointing at two customers are refused", async () => {
    const a = await create({ name: "Li Wei", email: "li.wei@example.com" });
    const b = await create({ phone: "+44 20 7946 0001" });
    const before = size(t.node);
    const r = await call("POST", "/v1/interactions", {
      channel: "phone",
      direction: "inbound",
      kind: "call",
      occurredAt: "2026-11-30T10:00:00Z",
      identity: { email: "li.wei@example.com", phone: "+44 20 7946 0001" },
    });
    expect(r.statusCode).toBe(409);
    expect(size(t.node)).toBe(before);
    expect((await get(a)).status).toBe("active");
    expect((await get(b)).status).toBe("active");
  });

  it("merges two records of one person, walks one chain through both, and unmerges back to the state before", async () => {
    const survivor = await create({
      email: "ana@example.com",
      phone: "+44 20 7946 0100",
      tags: ["vip"],
    });
    const absorbed = await create({
      name: "Ana Souza",
      email: "ana.souza@example.org",
      tags: ["newsletter", "vip"],
      identities: [{ type: "wechat", value: "wx_ana" }],
    });
    expect((await visit(survivor, "Bought shoes")).statusCode).toBe(201);
    expect((await visit(absorbed, "Asked about sizes")).statusCode).toBe(201);
    const before = { survivor: await get(survivor), absorbed: await get(absorbed) };

    const merged = await call(
      "POST",
      `/v1/customers/${survivor}/merge`,
      { from: absorbed },
      staffKey,
    );
    expect(merged.statusCode, merged.body).toBe(200);
    const s = merged.json().customer;
    expect(s.emails).toEqual(["ana@example.com", "ana.souza@example.org"]);
    expect(s.identities).toEqual([{ type: "wechat", value: "wx_ana" }]);
    // The survivor had no name: it takes the other record's.
    expect(s.name).toBe("Ana Souza");
    expect(s.tags).toEqual(["vip", "newsletter"]);
    expect(merged.json().other).toMatchObject({ status: "merged", mergedInto: survivor });
    // Every identifier of the absorbed record now finds the survivor.
    for (const q of [
      "email=ana.souza%40example.org",
      "identity=wechat:wx_ana",
      "email=ana%40example.com",
    ]) {
      expect((await call("GET", `/v1/customers/lookup?${q}`)).json().id).toBe(survivor);
    }
    const listed = (await call("GET", "/v1/customers?query=souza")).json().customers;
    expect(listed.map((c: { id: string }) => c.id)).toEqual([survivor]);
    // The absorbed record takes no more writes; the survivor does.
    const refused = await visit(absorbed, "Late");
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("customer_merged");
    expect(
      (await call("PATCH", `/v1/customers/${absorbed}`, { stage: "loyal" })).json().error.code,
    ).toBe("customer_merged");
    expect((await visit(survivor, "Came back")).statusCode).toBe(201);

    // One timeline across both records.
    const timeline = (await call("GET", `/v1/customers/${survivor}/timeline`)).json().items as {
      type: string;
      text?: { summary: string };
    }[];
    expect(timeline.map((i) => i.text?.summary).filter(Boolean)).toEqual([
      "Came back",
      "Asked about sizes",
      "Bought shoes",
    ]);
    expect(timeline.filter((i) => i.type === "customer.merged")).toHaveLength(1);

    // Decision 7: walking the survivor's chain, through the merge entry's two prevs, yields
    // exactly the entries naming either record (checked against a full scan).
    const head = (await get(survivor)).head as number;
    const entries = new Map((await allEntries()).map((e) => [e.index, e.entry]));
    const walked = new Set<number>();
    const walk = (from: number | null, party: string) => {
      let at = from;
      while (at !== null && at !== undefined) {
        const e = entries.get(at) as Entry;
        walked.add(at);
        for (const sub of e.subjects ?? []) {
          if ("customer" in sub && sub.customer !== party && e.type === "customer.merged") {
            walk(sub.prev ?? null, sub.customer);
          }
        }
        const mine = e.subjects?.find((x) => "customer" in x && x.customer === party);
        at = mine?.prev ?? null;
      }
    };
    walk(head, survivor);
    const scanned = [...entries]
      .filter(([, e]) => names(e, survivor) || names(e, absorbed))
      .map(([i]) => i);
    expect([...walked].sort((x, y) => x - y)).toEqual(scanned);

    // Unmerge: both records as they were, the survivor keeping what it gained since.
    const sizeBefore = size(t.node);
    const unmerged = await call("POST", `/v1/customers/${absorbed}/unmerge`, undefined, staffKey);
    expect(unmerged.statusCode, unmerged.body).toBe(200);
    expect(size(t.node)).toBe(sizeBefore + 1n);
    expect(profile(await get(absorbed))).toEqual(profile(before.absorbed));
    expect(profile(await get(survivor))).toEqual(profile(before.survivor));
    expect((await call("GET", "/v1/customers/lookup?identity=wechat:wx_ana")).json().id).toBe(
      absorbed,
    );
    expect((await call("GET", "/v1/customers/lookup?email=ana%40example.com")).json().id).toBe(
      survivor,
    );
    // The restored record's chain resumes from the unmerge entry.
    expect((await visit(absorbed, "Back on its own")).statusCode).toBe(201);
    const restoredHead = (await get(absorbed)).head as number;
    const after = new Map((await allEntries()).map((e) => [e.index, e.entry]));
    const latest = after.get(restoredHead) as Entry;
    const prev = latest.subjects?.find((x) => "customer" in x && x.customer === absorbed)?.prev;
    expect(after.get(prev as number)?.type).toBe("customer.unmerged");
    // And the survivor's timeline no longer holds the other's interactions.
    const own = (await call("GET", `/v1/customers/${survivor}/timeline`)).json().items as {
      text?: { summary: string };
    }[];
    expect(own.map((i) => i.text?.summary).filter(Boolean)).toEqual(["Came back", "Bought shoes"]);
  });

  it("refuses bad merges with a clear 4xx and writes nothing", async () => {
    const a = await create({ email: "one@example.net" });
    const b = await create({ email: "two@example.net" });
    const gone = await create({ email: "gone@example.net" });
    expect((await call("POST", `/v1/customers/${gone}/erase`)).statusCode).toBe(200);
    const before = size(t.node);
    const cases: [string, string, unknown, number, string, string?][] = [
      ["merge into itself", `/v1/customers/${a}/merge`, { from: a }, 400, "same_customer"],
      [
        "unknown",
        `/v1/customers/${a}/merge`,
        { from: "c_AAAAAAAAAAAAAAAAAAAAAA" },
        404,
        "not_found",
      ],
      ["erased", `/v1/customers/${a}/merge`, { from: gone }, 409, "customer_erased"],
      ["no body field", `/v1/customers/${a}/merge`, {}, 400, "invalid_request"],
      [
        "unknown field",
        `/v1/customers/${a}/merge`,
        { from: b, force: true },
        400,
        "invalid_request",
      ],
      ["malformed id", `/v1/customers/${a}/merge`, { from: "nope" }, 400, "invalid_request"],
      ["auditor", `/v1/customers/${a}/merge`, { from: b }, 403, "forbidden", auditorKey],
      ["another merchant", `/v1/customers/${a}/merge`, { from: b }, 404, "not_found", other.key],
      ["not merged", `/v1/customers/${b}/unmerge`, undefined, 409, "not_merged"],
      ["unmerge elsewhere", `/v1/customers/${b}/unmerge`, undefined, 404, "not_found", other.key],
    ];
    for (const [what, url, body, status, code, key] of cases) {
      const r = await call("POST", url, body, key ?? t.ownerKey);
      expect(r.statusCode, `${what}: ${r.body}`).toBe(status);
      expect(r.json().error.code, what).toBe(code);
    }
    expect(size(t.node)).toBe(before);
    // A record merged away cannot absorb or be absorbed again until unmerged.
    expect((await call("POST", `/v1/customers/${a}/merge`, { from: b })).statusCode).toBe(200);
    const again = await call("POST", `/v1/customers/${a}/merge`, { from: b });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("customer_merged");
    expect((await call("POST", `/v1/customers/${b}/merge`, { from: a })).json().error.code).toBe(
      "customer_merged",
    );
  });

  it("erases the records merged into a customer with it, however deep", async () => {
    const s = await create({ name: "Zhang Min", email: "zhang.min@example.cn" });
    const a = await create({ phone: "+86 138 0013 8000" });
    const d = await create({ name: "Min Z.", email: "min.z@example.cn" });
    // d into a, then a into s: d's record is s's person too.
    expect((await call("POST", `/v1/customers/${a}/merge`, { from: d })).statusCode).toBe(200);
    expect((await call("POST", `/v1/customers/${s}/merge`, { from: a })).statusCode).toBe(200);
    const timeline = (await call("GET", `/v1/customers/${s}/timeline?limit=200`)).json().items as {
      type: string;
    }[];
    expect(timeline.filter((i) => i.type === "customer.created")).toHaveLength(3);
    const erasedMerged = await call("POST", `/v1/customers/${a}/erase`);
    expect(erasedMerged.json().error.code).toBe("customer_merged");
    expect((await call("POST", `/v1/customers/${s}/erase`)).statusCode).toBe(200);
    expect((await get(s)).status).toBe("erased");
    expect((await get(a)).status).toBe("erased");
    expect((await get(d)).status).toBe("erased");
    expect((await call("GET", "/v1/customers/lookup?phone=%2B8613800138000")).statusCode).toBe(404);
    expect((await call("GET", "/v1/customers/lookup?email=min.z%40example.cn")).statusCode).toBe(
      404,
    );
    const left = await t.node.db.query("SELECT 1 FROM vault_fields WHERE customer_id = $1", [d]);
    expect(left.rows).toHaveLength(0);
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey: t.node.identity.verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
  });
});

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachmentCommitment, verifyAccessRecords, verifyHistory } from "@patron/ledger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { domains, entryAuditorOf, projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { runCli } from "./child.js";
import { ed25519Signer, nonce, type Signer } from "./command-signing.js";
import { size, type TestNode, testNode } from "./helpers.js";
import { expectNoPersonalData } from "./personal-data.js";

const HOUR = 3_600_000;
const json = { "content-type": "application/json" };
const PERSONAL = ["Lina Portal", "Lina Renamed", "lina.portal@example.org", "Asked about returns"];

describe.each(backends)("the portal's API ($name)", (backend) => {
  let t: TestNode;
  let clock: ManualClock;
  let merchant: string;
  let verifierKey: string;
  let lina: Signer;
  let linaId: string;
  let token: string;
  let dir: string;

  const call = (method: string, url: string, body?: unknown, headers = t.auth()) =>
    t.node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const cmd = (s: Signer, type: string, payload: Record<string, unknown> = {}) =>
    ({
      v: 1,
      type,
      ledger: t.node.identity.origin,
      actor: s.did,
      merchant,
      nonce: nonce(),
      expires: new Date(clock.now() + HOUR).toISOString(),
      payload,
    }) as Record<string, never>;
  /** A command with values beside it. */
  const withValues = (s: Signer, type: string, values: Record<string, unknown>) => {
    const salt = randomBytes(16);
    return {
      ...s.sign(cmd(s, type, { attached: attachmentCommitment(salt, values as never) })),
      attached: { salt: salt.toString("base64url"), values },
    };
  };
  const post = (body: unknown) => call("POST", "/v1/commands", body, {});
  const me = () => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    t = await testNode(backend, {}, { clock });
    merchant = (await call("GET", "/v1/merchants/me")).json().id;
    verifierKey = (await call("GET", "/v1/ledger/key", undefined, {})).body.trim();
    dir = mkdtempSync(join(tmpdir(), "patron-portal-"));
    lina = ed25519Signer();
    const joined = await post(
      withValues(lina, "customer.join", { name: "Lina Portal", email: "lina.portal@example.org" }),
    );
    expect(joined.statusCode, joined.body).toBe(201);
    linaId = (await call("GET", `/v1/ledger/entries/${joined.json().entries[0].index}`)).json()
      .entry.payload.customerId;
    const i = await call("POST", "/v1/interactions", {
      channel: "phone",
      direction: "inbound",
      kind: "call",
      occurredAt: "2026-05-30T10:00:00Z",
      customerId: linaId,
      summary: "Asked about returns",
    });
    expect(i.statusCode, i.body).toBe(201);
    expect((await call("PATCH", `/v1/customers/${linaId}`, { tags: ["vip"] })).statusCode).toBe(
      200,
    );
    const c = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    token = (
      await call(
        "POST",
        "/v1/portal/sessions",
        lina.sign(cmd(lina, "session.open", { challenge: c })),
        {},
      )
    ).json().token;
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("rectifies the profile by a signed command whose values travel beside it", async () => {
    const r = await post(withValues(lina, "customer.update", { name: "Lina Renamed" }));
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().entries[0].type).toBe("customer.updated");
    expect((await call("GET", "/v1/portal/me", undefined, me())).json().profile.name).toBe(
      "Lina Renamed",
    );
    const before = size(t.node);
    const refusals: [unknown, string][] = [
      [withValues(lina, "customer.update", { name: "Lina Renamed" }), "no_change"],
      [withValues(lina, "customer.update", { tags: ["gold"] }), "invalid_request"],
      [lina.sign(cmd(lina, "customer.update", { name: "x" })), "invalid_payload"],
      [lina.sign(cmd(lina, "customer.update")), "attachment_missing"],
    ];
    for (const [body, code] of refusals) expect((await post(body)).json().error.code).toBe(code);
    expect(size(t.node)).toBe(before);
  });

  it("shows the customer their own sealed entries whole, and nobody else's", async () => {
    const profile = (await call("GET", "/v1/portal/me", undefined, me())).json().profile;
    const own = (await call("GET", `/v1/ledger/entries/${profile.head}`, undefined, me())).json();
    expect(own.entry.subjects[0]).toMatchObject({ customer: linaId });
    const other = (await call("POST", "/v1/customers", { name: "Someone" })).json().id;
    const head = (await call("GET", `/v1/customers/${other}`)).json().head;
    const theirs = (await call("GET", `/v1/ledger/entries/${head}`, undefined, me())).json();
    expect(theirs).toEqual({ index: head, leafHash: expect.any(String), sealed: true });
    const receipt = await call("GET", `/v1/ledger/receipts/${head}`, undefined, me());
    expect(receipt.statusCode).toBe(403);
    expect(
      (await call("GET", `/v1/ledger/receipts/${profile.head}`, undefined, me())).statusCode,
    ).toBe(200);
  });

  it("serves the history with proofs, and the browser's check finds it whole", async () => {
    const h = await call("GET", "/v1/portal/history?limit=2", undefined, me());
    expect(h.statusCode, h.body).toBe(200);
    const first = h.json();
    expect(first.entries.length).toBe(2);
    expect(first.records).toEqual([linaId]);
    // The log grows between pages: the next page is proven in the first page's checkpoint.
    expect((await call("POST", "/v1/customers", { name: "Meanwhile" })).statusCode).toBe(201);
    const rest = (
      await call(
        "GET",
        `/v1/portal/history?before=${first.next}&size=${first.size}`,
        undefined,
        me(),
      )
    ).json();
    expect(rest).toMatchObject({ size: first.size, checkpoint: first.checkpoint, next: null });
    const latest = (
      await call("GET", `/v1/portal/history?before=${first.next}`, undefined, me())
    ).json();
    expect(latest.size).toBeGreaterThan(first.size);
    const unsigned = await call(
      "GET",
      `/v1/portal/history?size=${latest.size + 5}`,
      undefined,
      me(),
    );
    expect(unsigned.statusCode).toBe(404);
    const fields = (await call("GET", "/v1/portal/fields", undefined, me())).json().fields;
    expect(fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(["name", "email"]),
    );
    const check = verifyHistory({
      checkpoint: first.checkpoint,
      verifierKey,
      records: [linaId],
      entries: [...first.entries, ...rest.entries],
      fields,
    });
    expect(check.problems).toEqual([]);
    expect(check.chain).toEqual({ complete: true });
    // created, key bound, interaction, staff update, rectification
    expect(check.entries.map((e) => e.entry.type)).toEqual([
      "customer.updated",
      "customer.updated",
      "interaction.recorded",
      "identity.key_bound",
      "customer.created",
    ]);
    expect(check.fields).toBe(fields.length);

    // A page left out is a gap; a changed entry or value is caught.
    const gap = verifyHistory({
      checkpoint: first.checkpoint,
      verifierKey,
      records: [linaId],
      entries: first.entries,
    });
    expect(gap.chain.complete).toBe(false);
    const tampered = structuredClone(first.entries);
    const bytes = Buffer.from(tampered[0].data, "base64");
    tampered[0].data = Buffer.from(
      bytes.toString().replace("customer.updated", "customer.updatex"),
    ).toString("base64");
    const bad = verifyHistory({
      checkpoint: first.checkpoint,
      verifierKey,
      records: [linaId],
      entries: [...tampered, ...rest.entries],
      fields: fields.map((f: { field: string; value: unknown }) =>
        f.field === "email" ? { ...f, value: ["someone@example.org"] } : f,
      ),
    });
    expect(bad.problems.join("\n")).toMatch(/not in the checkpoint's tree/);
    expect(bad.problems.join("\n")).toMatch(/field email: its value does not match/);
    expect((await call("GET", "/v1/portal/history")).statusCode).toBe(401);
  });

  it("shows every use of their data by role and purpose, each proven against its batch entry", async () => {
    // A purpose of the merchant's own: the customer reads it by the name declared for it.
    const declared = await call("PUT", "/v1/purposes/fraud_prevention", {
      name: "Fraud prevention",
      basis: "legitimate_interest",
      note: "Card fraud harms customers and the shop; checks use order patterns only.",
    });
    expect(declared.statusCode, declared.body).toBeLessThan(300);
    const fraud = await call("GET", `/v1/customers/${linaId}`, undefined, {
      ...t.auth(),
      "patron-purpose": "fraud_prevention",
    });
    expect(fraud.statusCode, fraud.body).toBe(200);
    expect((await call("GET", `/v1/customers/${linaId}`)).statusCode).toBe(200);
    await t.node.accessLog.flush();
    expect((await call("GET", `/v1/customers/${linaId}`)).statusCode).toBe(200);
    const r = await call("GET", "/v1/portal/data-access", undefined, me());
    expect(r.statusCode, r.body).toBe(200);
    const page = r.json();
    const [pending, ...committed] = page.records;
    expect(pending).toMatchObject({ customerId: linaId, role: "owner", batch: null });
    expect(committed[0]).toMatchObject({
      purpose: "customer_service",
      basis: "contract",
      categories: expect.arrayContaining(["contact"]),
    });
    expect(committed[1]).toMatchObject({ purpose: "fraud_prevention", action: "read" });
    // The names the merchant declared ride beside the records, outside what is proven.
    expect(page.purposes).toEqual(
      expect.arrayContaining([
        { id: "customer_service", name: "Customer service" },
        { id: "fraud_prevention", name: "Fraud prevention" },
      ]),
    );
    // Who used it is the role, never the key or the employee.
    expect(JSON.stringify(page.records)).not.toMatch(/key:|staff:/);
    const check = verifyAccessRecords({ ...page, verifierKey });
    expect(check).toEqual({ proven: committed.length, pending: 1, problems: [] });
    const forged = structuredClone(page.records);
    forged[1].purpose = "analytics";
    const bad = verifyAccessRecords({ ...page, records: forged, verifierKey });
    expect(bad.problems).toEqual([`record ${forged[1].id}: not in its batch's tree`]);
  });

  it("lists the customer's own consents with their receipts and what they may consent to; nobody else's", async () => {
    const options = () => call("GET", "/v1/portal/consent-options", undefined, me());
    expect((await options()).json().purposes).toEqual([]);
    const declared = await call("PUT", "/v1/purposes/marketing_email", {
      name: "Our newsletter",
      basis: "consent",
    });
    expect(declared.statusCode, declared.body).toBeLessThan(300);
    const o = (await options()).json();
    expect(o.merchant.id).toBe(merchant);
    expect(o.purposes).toEqual([{ id: "marketing_email", name: "Our newsletter" }]);
    expect(o.categories).toContain("contact");
    expect(o.maxDays).toBeGreaterThanOrEqual(5 * 365);
    expect((await call("GET", "/v1/portal/consent-options", undefined, {})).statusCode).toBe(401);

    const granted = await post(
      lina.sign(
        cmd(lina, "consent.grant", {
          grantee: merchant,
          purposes: ["marketing_email"],
          categories: ["contact"],
          validUntil: new Date(clock.now() + 365 * 24 * HOUR).toISOString(),
        }),
      ),
    );
    expect(granted.statusCode, granted.body).toBe(201);
    const list = (await call("GET", "/v1/portal/consents", undefined, me())).json().consents;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      customerId: linaId,
      purposes: ["marketing_email"],
      status: "active",
      recordedBy: lina.did,
    });
    const receipt = await call("GET", `/v1/portal/consents/${list[0].id}/receipt`, undefined, me());
    expect(receipt.statusCode, receipt.body).toBe(200);
    expect(receipt.json().receipt.split("~")[0].split(".")).toHaveLength(3);
    expect(receipt.json().jwks).toBe(`/v1/merchants/${merchant}/issuer`);

    // Another customer signs in and sees none of Lina's, not even by id.
    const other = ed25519Signer();
    expect((await post(withValues(other, "customer.join", { name: "Other" }))).statusCode).toBe(
      201,
    );
    const c = (await call("POST", "/v1/portal/challenges", { merchant }, {})).json().challenge;
    const theirs = (
      await call(
        "POST",
        "/v1/portal/sessions",
        other.sign(cmd(other, "session.open", { challenge: c })),
        {},
      )
    ).json().token;
    const as = { authorization: `Bearer ${theirs}` };
    expect((await call("GET", "/v1/portal/consents", undefined, as)).json().consents).toEqual([]);
    const foreign = await call("GET", `/v1/portal/consents/${list[0].id}/receipt`, undefined, as);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe("not_found");
    const bad = await call("GET", "/v1/portal/consents/nonsense/receipt", undefined, me());
    expect(bad.statusCode).toBe(400);

    const revoked = await post(lina.sign(cmd(lina, "consent.revoke", { consentId: list[0].id })));
    expect(revoked.statusCode, revoked.body).toBe(201);
    const after = (await call("GET", "/v1/portal/consents", undefined, me())).json().consents;
    expect(after[0]).toMatchObject({ status: "revoked", endedReason: "customer" });
  });

  it("exports everything in one bundle that `patron verify` checks offline, also after erasure", async () => {
    const r = await call("GET", "/v1/portal/export", undefined, me());
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers["content-disposition"]).toMatch(/attachment/);
    const bundle = r.json();
    expect(bundle).toMatchObject({
      format: "patron-export/v1",
      customer: { id: linaId, key: lina.did, records: [linaId] },
      profile: { name: "Lina Renamed", emails: ["lina.portal@example.org"] },
    });
    // The five entries above, and the consent granted, then revoked.
    expect(bundle.entries.length).toBe(7);
    expect(bundle.sections.consents).toMatchObject([
      { status: "revoked", purposes: ["marketing_email"] },
    ]);
    const file = join(dir, "export.json");
    writeFileSync(file, r.body);
    const ok = await runCli(["verify", file, "--key", verifierKey], {});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/7 entries, all in .* on one chain with no gap/);
    expect(ok.stdout).toMatch(/[1-9][0-9]* uses of their data proven in the access log/);
    const altered = structuredClone(bundle);
    altered.fields[0].value = "Someone Else";
    writeFileSync(join(dir, "altered.json"), JSON.stringify(altered));
    const no = await runCli(["verify", join(dir, "altered.json"), "--key", verifierKey], {});
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/FAILED: field/);

    // Erasure by the customer's own signature: nothing readable remains, the export still verifies.
    const erased = await post(lina.sign(cmd(lina, "customer.erase")));
    expect(erased.statusCode, erased.body).toBe(201);
    expect(erased.json().entries[0].type).toBe("customer.erased");
    expect((await call("GET", "/v1/portal/me", undefined, me())).statusCode).toBe(401);
    expect((await call("GET", `/v1/customers/${linaId}`)).json().status).toBe("erased");
    const again = await runCli(["verify", file], {});
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/verifier key inside the export/);
    const audit = await auditLedger(t.node.db, {
      origin: t.node.identity.origin,
      verifierKey,
      entries: () => entryAuditorOf(domains),
    });
    expect(audit.problems).toEqual([]);
    expect((await auditProjections(t.node.db, projectors)).problems).toEqual([]);
    await expectNoPersonalData(t, PERSONAL);
  });
});

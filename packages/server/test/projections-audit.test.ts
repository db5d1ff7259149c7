import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { auditProjections } from "../src/ledger/projections-audit.js";
import { projectors } from "../src/node.js";
import { backends } from "../src/test-support/backends.js";
import { type TestNode, testNode } from "./helpers.js";

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

describe.each(backends)("projection audit on $name", (backend) => {
  let t: TestNode | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const count = async (table: string) =>
    Number(
      (await t?.node.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`))?.rows[0]?.n,
    );

  it("rebuilds every projection from the log, names a tampered table, and changes nothing", {
    timeout: 60_000,
  }, async () => {
    t = await testNode(backend);
    const { node, auth } = t;
    for (const s of ["a", "b", "c"]) {
      const r = await node.app.inject({
        method: "POST",
        url: "/v1/attestations",
        headers: auth(),
        payload: { digest: digest(s), subject: `doc ${s}` },
      });
      expect(r.statusCode).toBe(201);
    }
    const created = await node.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: auth(),
      payload: { role: "staff", label: "till 1" },
    });
    expect(created.statusCode).toBe(201);
    const revoked = await node.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${created.json().id}`,
      headers: auth(),
    });
    expect(revoked.statusCode).toBeLessThan(300);

    const clean = await auditProjections(node.db, projectors, { page: 2 });
    expect(clean.problems).toEqual([]);
    expect(clean.tables).toEqual([
      "ledger_subjects",
      "merchants",
      "api_keys",
      "attestations",
      "purposes",
      "customers",
      "interactions",
      "notes",
      "key_recoveries",
      "segments",
      "staff",
      "consents",
      "retention_policies",
      "subject_requests",
      "loyalty_programmes",
      "loyalty_rule_events",
      "loyalty_orders",
      "loyalty_awards",
      "loyalty_lots",
      "loyalty_refunds",
      "loyalty_debts",
      "loyalty_transfers",
      "loyalty_adjustments",
      "loyalty_expiries",
      "loyalty_members",
      "loyalty_liability",
      "loyalty_liability_customers",
      "loyalty_tiers",
      "loyalty_rewards",
      "loyalty_redemptions",
      "actor_bindings",
    ]);
    expect(clean.entries).toBe(node.sequencer.head.size);

    // Someone edits a projection behind the log's back, and un-revokes a key.
    await node.db.query("UPDATE attestations SET subject = 'forged' WHERE subject = 'doc b'");
    await node.db.query("UPDATE api_keys SET revoked_at = NULL");
    const before = { attestations: await count("attestations"), keys: await count("api_keys") };
    const bad = await auditProjections(node.db, projectors);
    const where = bad.problems.map((p) => `${p.kind} ${p.at}`);
    expect(where).toContain("projection attestations");
    expect(where).toContain("projection api_keys");
    expect(bad.problems.find((p) => p.at === "attestations")?.message).toMatch(/forged/);

    // The check rolled its rebuild back: the (tampered) tables are as they were.
    expect(await count("attestations")).toBe(before.attestations);
    expect(await count("api_keys")).toBe(before.keys);
    const { rows } = await node.db.query("SELECT 1 FROM attestations WHERE subject = 'forged'");
    expect(rows).toHaveLength(1);

    // A missing row is found too.
    await node.db.query("DELETE FROM attestations WHERE subject = 'doc c'");
    const missing = await auditProjections(node.db, projectors);
    expect(missing.problems.some((p) => /missing or differ/.test(p.message))).toBe(true);
  });
});

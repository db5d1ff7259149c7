import { decodeEntry, type Entry } from "@patron/ledger";
import { expect } from "vitest";
import type { Config } from "../src/config.js";
import { auditLedger } from "../src/ledger/audit.js";
import { ManualClock } from "../src/ledger/clock.js";
import { listEntries } from "../src/ledger/store.js";
import { domains, entryAuditorOf, type PatronNode } from "../src/node.js";
import type { Backend } from "../src/test-support/backends.js";
import { EARN_RULES } from "./earn-rules.js";
import { type TestNode, testNode } from "./helpers.js";

export { EARN_RULES };

const json = { "content-type": "application/json" };

/** The rule every loyalty suite publishes first, as "base": 1 point per 100 (1.00) spent. */
export const BASE_RULE = EARN_RULES.base;

/**
 * Drafts and publishes each of `rules` by its id with the owner's key (a draft of a rule that
 * exists is its next version), in force from the node's clock's now.
 */
export async function publishRules(
  t: { node: PatronNode; ownerKey: string },
  rules: Record<string, unknown>,
): Promise<void> {
  const call = (url: string, body?: unknown) =>
    t.node.app.inject({
      method: "POST",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${t.ownerKey}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  for (const [id, document] of Object.entries(rules)) {
    const d = await call("/v1/loyalty/rules", { id, document });
    expect([200, 201], d.body).toContain(d.statusCode);
    const p = await call(`/v1/loyalty/rules/${id}/publish`);
    expect(p.statusCode, p.body).toBe(201);
  }
}

/**
 * A node for loyalty tests on `backend`, on a manual clock at `start` (1 Jan 2026 09:00 UTC
 * unless said), with "base" published (`BASE_RULE`) and then each of `rules` by its id; the
 * clock then moves on a minute, so all are in force. Its own sweep waits a day (tests run it
 * when they mean to), unless `config` gives the node's settings instead.
 */
export async function startLoyaltyNode(
  backend: Backend,
  rules: Record<string, unknown> = {},
  opts: { start?: number; config?: Partial<Config> } = {},
): Promise<{ t: TestNode; clock: ManualClock }> {
  const clock = new ManualClock(opts.start ?? Date.UTC(2026, 0, 1, 9));
  const t = await testNode(backend, opts.config ?? { loyaltySweepMs: 86_400_000 }, { clock });
  await publishRules(t, { base: BASE_RULE });
  await publishRules(t, rules);
  clock.advance(60_000);
  return { t, clock };
}

/**
 * The owner's calls a loyalty test makes, on the node and clock `started()` gives (set in a
 * beforeAll); customers get emails tagged with `tag`, unique per suite and backend.
 */
export function loyaltyCalls(started: () => { t: TestNode; clock: ManualClock }, tag: string) {
  let n = 0;
  const node = () => started().t;
  const call = (method: string, url: string, body?: unknown) =>
    node().node.app.inject({
      method: method as "GET",
      url,
      headers: { ...(body === undefined ? {} : json), authorization: `Bearer ${node().ownerKey}` },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const now = () => started().clock.now();
  return {
    call,
    async customer() {
      const r = await call("POST", "/v1/customers", {
        name: "Test Customer",
        email: `${tag}${++n}@example.com`,
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json().id as string;
    },
    async entry(index: number): Promise<Entry & { payload: Record<string, unknown> }> {
      const [row] = await listEntries(node().node.db, BigInt(index), BigInt(index) + 1n);
      return decodeEntry((row as { data: Uint8Array }).data) as Entry & {
        payload: Record<string, unknown>;
      };
    },
    /** An order of one item worth `amount`, a minute before now on the node's clock. */
    async order(customerId: string, orderId: string, amount: number, channel = "store") {
      const r = await call("POST", "/v1/orders", {
        orderId,
        customer: { id: customerId },
        amount,
        currency: "EUR",
        items: [{ sku: "a", category: "misc", quantity: 1, unitPrice: amount }],
        channel,
        occurredAt: new Date(now() - 60_000).toISOString(),
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json() as {
        points: number;
        entryIndex: number;
        tier: { from: string | null; to: string | null } | null;
        awards: { rule: string; points: number }[];
      };
    },
    /** `POST /v1/loyalty/sweep`, which must answer 200. */
    async sweep() {
      const r = await call("POST", "/v1/loyalty/sweep");
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as {
        released: number;
        expired: { customers: number; points: number; more: boolean };
        tiers: { evaluated: number; changed: number };
      };
    },
    /** Drafts and publishes a rule, in force at once. */
    publish(id: string, document: unknown) {
      return publishRules(node(), { [id]: document });
    },
    /** The whole ledger audited, entries re-executed. */
    audit() {
      const origin = node().node.identity.origin;
      return auditLedger(node().node.db, {
        origin,
        verifierKey: node().node.identity.verifierKey,
        entries: () => entryAuditorOf(domains, origin),
      });
    },
  };
}

import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, customerOf, requireCustomer } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses, IdOf, Limit, toHex } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import type { ProofService } from "../ledger/proofs.js";
import type { Sequencer } from "../ledger/sequencer.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import { customerPoints } from "./points.js";
import { ProgrammeSchema } from "./programme.js";
import type { Programmes } from "./programmes.js";
import { PointsResponse, RuleHistoryEvent } from "./routes.js";
import type { Rules } from "./rules.js";
import { tierView } from "./tiers.js";

export interface LoyaltyPortalDeps {
  db: Queryable;
  clock: Clock;
  sequencer: Sequencer;
  proofs: ProofService;
  tenancy: Tenancy;
  programmes: Programmes;
  rules: Rules;
}

/** Most publications, retirements and programme changes the public read proves at once. */
export const MAX_PUBLISHED_ENTRIES = 5000;

const ProvenEntry = z.object({
  index: z.number(),
  data: z.string().describe("the entry's canonical bytes, base64"),
  proof: z.array(z.string()).describe("inclusion proof in the checkpoint's tree (hex)"),
});

const PublicRuleView = z.object({
  id: z.string(),
  status: z
    .enum(["scheduled", "active", "retired"])
    .describe("as of now: a version in force, the first one later, or ended"),
  current: z
    .object({ version: z.number(), hash: z.string(), effectiveFrom: z.string() })
    .nullable()
    .describe("the version in force now"),
  history: z.array(
    RuleHistoryEvent.extend({
      entryIndex: z.number().describe("its entry: the document is in `entries`, proven"),
    }),
  ),
});

/**
 * The customer's side of loyalty (issue 9): their points, and the merchant's published rules
 * and programme as public entries with their proofs, so the portal can recompute every award
 * in the browser from the rule version it names (decision 8). The awards themselves are in the
 * customer's history (GET /v1/portal/history), proven there.
 */
export function loyaltyPortalRoutes(app: App, d: LoyaltyPortalDeps): void {
  app.get(
    "/v1/portal/points",
    {
      onRequest: requireCustomer,
      schema: {
        tags: ["portal"],
        security: [{ customerSession: [] }],
        summary:
          "The signed-in customer's points: available balance, pending, debt, tier, lots with their expiry, and the programme's terms",
        querystring: z.strictObject({ limit: Limit(1000, 200).describe("most lots to list") }),
        response: {
          200: PointsResponse.extend({
            programme: ProgrammeSchema.describe("the programme's terms as they stand now"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const { programme } = await d.programmes.get(who.merchantId);
      const now = d.clock.now();
      const tier = await tierView(d.db, who.merchantId, who.customerId, programme, now);
      const points = await customerPoints(d.db, who.merchantId, who.customerId, now, {
        pointName: programme.pointName,
        limit: req.query.limit,
        tier,
      });
      return { ...points, programme };
    },
  );

  app.get(
    "/v1/merchants/:id/loyalty/rules",
    {
      schema: {
        tags: ["loyalty"],
        summary:
          "A merchant's published loyalty rules and programme, public: every publication and retirement, with its entry proven in the latest checkpoint",
        description:
          "Anyone may read it (rule versions and the programme are public entries, decision 6). `entries` are the rule.published, rule.retired and latest programme.set entries, each with its inclusion proof in `checkpoint`: check the proofs, then each document against its hash (`ruleHash` of @patron/rules), and recompute awards with it. Drafts are never shown.",
        params: z.strictObject({ id: IdOf("m", "a merchant") }),
        response: {
          200: z.object({
            merchantId: z.string(),
            size: z.number(),
            checkpoint: z.string().describe("the signed checkpoint note the proofs are in"),
            programme: z.object({
              programme: ProgrammeSchema,
              entryIndex: z
                .number()
                .nullable()
                .describe("its programme.set entry, in `entries`; null: the default"),
              updatedAt: z.string().nullable(),
            }),
            rules: z.array(PublicRuleView),
            entries: z.array(ProvenEntry),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => publishedRules(d, req.params.id),
  );
}

/**
 * A merchant's published rules and programme, as of the latest checkpoint: every publication
 * and retirement (never a draft) and the entries that made them, with their inclusion proofs.
 */
export async function publishedRules(d: LoyaltyPortalDeps, merchantId: string) {
  if (!(await d.tenancy.merchant(merchantId))) {
    throw new ApiError(404, "not_found", `merchant ${merchantId} not found`);
  }
  const head = d.sequencer.head;
  const [programme, all] = await Promise.all([
    d.programmes.get(merchantId),
    d.rules.list(merchantId),
  ]);
  // Only what is on the ledger, as of the checkpoint the proofs are in.
  const rules = all.flatMap((r) => {
    const history = r.history.filter((h) => BigInt(h.entryIndex) < head.size);
    if (history.length === 0 || r.status === "draft") return [];
    return [
      {
        id: r.id,
        status: r.status,
        current: r.current
          ? {
              version: r.current.version,
              hash: r.current.hash,
              effectiveFrom: r.current.effectiveFrom,
            }
          : null,
        history,
      },
    ];
  });
  const indexes = rules.flatMap((r) => r.history.map((h) => BigInt(h.entryIndex)));
  if (programme.entryIndex !== null && BigInt(programme.entryIndex) < head.size) {
    indexes.push(BigInt(programme.entryIndex));
  }
  if (indexes.length > MAX_PUBLISHED_ENTRIES) {
    throw new ApiError(
      413,
      "too_many_entries",
      `the merchant has ${indexes.length} rule events, more than ${MAX_PUBLISHED_ENTRIES} to prove at once`,
    );
  }
  indexes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const { rows } = await d.db.query<{ idx: string | number; data: string }>(
    `SELECT idx, encode(data, 'hex') AS data FROM ledger_entries
       WHERE idx = ANY($1::bigint[]) ORDER BY idx`,
    [indexes.map(String)],
  );
  const proofs = await d.proofs.inclusionMany(
    rows.map((r) => BigInt(r.idx)),
    head.size,
  );
  return {
    merchantId,
    size: Number(head.size),
    checkpoint: head.note,
    programme: {
      programme: programme.programme,
      entryIndex: programme.entryIndex,
      updatedAt: programme.updatedAt,
    },
    rules,
    entries: rows.map((r, i) => ({
      index: Number(r.idx),
      data: Buffer.from(r.data, "hex").toString("base64"),
      proof: (proofs[i] ?? []).map(toHex),
    })),
  };
}

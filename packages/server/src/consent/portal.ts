import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, customerOf, requireCustomer } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import { errorResponses } from "../http/schemas.js";
import type { Clock } from "../ledger/clock.js";
import { CONSENT_PURPOSES, type Purposes } from "../privacy/purposes.js";
import type { Tenancy } from "../tenancy/tenancy.js";
import { MAX_CONSENT_MS } from "./consents.js";
import { CONSENT_CATEGORIES } from "./entries.js";
import type { Issuer } from "./issuer.js";
import { ConsentId } from "./schemas.js";
import { type ConsentRow, ROW_COLUMNS } from "./state.js";
import { ConsentView, receiptFacts, toView } from "./views.js";

export interface PortalConsentDeps {
  db: Queryable;
  clock: Clock;
  tenancy: Tenancy;
  purposes: Purposes;
  issuer: Issuer;
}

const security = [{ customerSession: [] }];
const tags = ["portal"];

const Option = z.object({
  id: z.enum(CONSENT_PURPOSES),
  name: z.string().describe("the merchant's name for it, as declared"),
});

/** A customer's consents at a merchant (their records: own and merged), newest first; or one. */
export async function consentsOf(
  db: Queryable,
  merchantId: string,
  records: readonly string[],
  id?: string,
): Promise<ConsentRow[]> {
  const params: unknown[] = [merchantId, records];
  if (id !== undefined) params.push(id);
  const { rows } = await db.query<ConsentRow>(
    `SELECT ${ROW_COLUMNS} FROM consents
     WHERE merchant_id = $1 AND customer_id = ANY($2::text[]) ${id === undefined ? "" : "AND id = $3"}
     ORDER BY granted_idx DESC LIMIT 1000`,
    params,
  );
  return rows;
}

/**
 * The customer's side of consent (issue 8): what they have given this merchant and its
 * partners, each with its receipt, and what they may give. Granting, narrowing and revoking
 * are signed commands at POST /v1/commands; these routes only read.
 */
export function portalConsentRoutes(app: App, d: PortalConsentDeps): void {
  const own = (merchantId: string, records: readonly string[], id?: string) =>
    consentsOf(d.db, merchantId, records, id);

  app.get(
    "/v1/portal/consents",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary: "The customer's own consents at this merchant, newest first, as of now",
        response: { 200: z.object({ consents: z.array(ConsentView) }), ...errorResponses },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const now = d.clock.now();
      return { consents: (await own(who.merchantId, who.records)).map((r) => toView(r, now)) };
    },
  );

  app.get(
    "/v1/portal/consents/:id/receipt",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary: "One of the customer's consents as a verifiable credential the merchant signed",
        params: z.strictObject({ id: ConsentId }),
        response: {
          200: z.object({ receipt: z.string(), jwks: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const [row] = await own(who.merchantId, who.records, req.params.id);
      // Another customer's consent is as absent as one that never was.
      if (!row) throw new ApiError(404, "not_found", `consent ${req.params.id} not found`);
      const view = toView(row, d.clock.now());
      return {
        receipt: await d.issuer.receipt(receiptFacts(view)),
        jwks: `/v1/merchants/${view.merchantId}/issuer`,
      };
    },
  );

  app.get(
    "/v1/portal/consent-options",
    {
      onRequest: requireCustomer,
      schema: {
        tags,
        security,
        summary:
          "What the customer may consent to here: the merchant's purposes on the consent basis, the categories, the partners and the longest term",
        response: {
          200: z.object({
            merchant: z.object({ id: z.string(), name: z.string() }),
            purposes: z.array(Option),
            categories: z.array(z.enum(CONSENT_CATEGORIES)),
            partners: z
              .array(z.object({ id: z.string(), name: z.string() }))
              .describe("other merchants on this node a consent may be to"),
            maxDays: z
              .number()
              .describe("the longest a consent may run, in days; renewed by asking again"),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const who = customerOf(req);
      const merchant = await d.tenancy.merchant(who.merchantId);
      if (!merchant) throw new ApiError(404, "not_found", `merchant ${who.merchantId} not found`);
      const declared = await d.purposes.list(who.merchantId);
      const purposes = declared
        .filter((p) => p.basis === "consent" && !p.retired)
        .flatMap((p) =>
          (CONSENT_PURPOSES as readonly string[]).includes(p.id)
            ? [{ id: p.id as (typeof CONSENT_PURPOSES)[number], name: p.name }]
            : [],
        );
      const { rows } = await d.db.query<{ id: string; name: string }>(
        "SELECT id, name FROM merchants WHERE id <> $1 ORDER BY name LIMIT 200",
        [who.merchantId],
      );
      return {
        merchant,
        purposes,
        categories: [...CONSENT_CATEGORIES],
        partners: rows.map((r) => ({ id: r.id, name: r.name })),
        maxDays: Math.floor(MAX_CONSENT_MS / 86_400_000),
      };
    },
  );
}

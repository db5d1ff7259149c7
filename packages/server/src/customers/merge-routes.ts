import { z } from "zod";
import { type App, principalOf, requireRole } from "../http/app.js";
import { errorResponses, IdOf } from "../http/schemas.js";
import { type DataUse, PROFILE, PurposeHeader } from "../privacy/index.js";
import { actorOf, can } from "../tenancy/roles.js";
import type { Customers } from "./customers.js";
import type { Merges } from "./merge.js";
import { CustomerView } from "./routes.js";

const CustomerId = IdOf("c", "a customer");

/** Merge and unmerge by staff: every one an entry naming both records (decision 7). */
export function mergeRoutes(
  app: App,
  deps: { customers: Customers; merges: Merges; dataUse: DataUse },
) {
  const { customers, merges, dataUse } = deps;
  const tags = ["customers"];
  const security = [{ apiKey: [] }];
  const write = requireRole(can.write, "merge customers");
  const Answer = z.object({
    customer: CustomerView,
    other: CustomerView,
    entryIndex: z.number(),
  });

  app.post(
    "/v1/customers/:id/merge",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Merge another record of the same person into this one: its identifiers move here, its chain ends in the merge entry",
        params: z.strictObject({ id: CustomerId }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        body: z.strictObject({
          from: CustomerId.describe("the record absorbed into this one"),
        }),
        response: { 200: Answer, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const e = await merges.merge(p.merchantId, req.params.id, req.body.from, actorOf(p), "staff");
      return answer(p.merchantId, req.params.id, req.body.from, e.index, async (ids) =>
        dataUse.record(req, use, ids, PROFILE, "merge"),
      );
    },
  );

  app.post(
    "/v1/customers/:id/unmerge",
    {
      onRequest: write,
      schema: {
        tags,
        security,
        summary:
          "Undo the merge that absorbed this record: it is active again with its own identifiers, and the survivor keeps what it gained since",
        params: z.strictObject({ id: CustomerId }),
        headers: z.object({ "patron-purpose": PurposeHeader }),
        response: { 200: Answer, ...errorResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const use = await dataUse.use(req);
      const e = await merges.unmerge(p.merchantId, req.params.id, actorOf(p));
      const survivor = (e.entry.payload as { customerId: string }).customerId;
      return answer(p.merchantId, survivor, req.params.id, e.index, async (ids) =>
        dataUse.record(req, use, ids, PROFILE, "unmerge"),
      );
    },
  );

  async function answer(
    merchantId: string,
    survivorId: string,
    otherId: string,
    index: bigint,
    record: (ids: string[]) => Promise<void>,
  ) {
    const [customer, other] = await Promise.all([
      customers.get(merchantId, survivorId),
      customers.get(merchantId, otherId),
    ]);
    if (!customer || !other) throw new Error("a merged customer vanished");
    await record([survivorId, otherId]);
    return { customer, other, entryIndex: Number(index) };
  }
}

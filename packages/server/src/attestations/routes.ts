import { z } from "zod";
import type { Queryable } from "../db/database.js";
import { type App, principalOf, requireRole } from "../http/app.js";
import { ErrorBody, errorResponses, Hex32, Label, Limit, toHex } from "../http/schemas.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { can } from "../tenancy/roles.js";
import { attest, findAttestations } from "./attestations.js";

// Labels only: personal data never belongs on the ledger (see docs/security.md).
const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "must be 1 to 200 printable ASCII characters without spaces")
  .optional();

export function attestationRoutes(app: App, deps: { db: Queryable; sequencer: Sequencer }) {
  const tags = ["attestations"];
  const Committed = z.object({ index: z.number(), leafHash: z.string(), time: z.string() });

  app.post(
    "/v1/attestations",
    {
      onRequest: requireRole(can.write, "write to the ledger"),
      schema: {
        tags,
        summary: "Notarise a document digest; returns once the entry is committed",
        security: [{ apiKey: [] }],
        headers: z.object({ "idempotency-key": IdempotencyKey }),
        body: z.strictObject({
          digest: Hex32.describe("SHA-256 of the document, hex"),
          subject: Label(200).optional().describe("what the document is (no personal data)"),
          note: Label(1000).optional(),
          sealed: z
            .boolean()
            .optional()
            .describe(
              "private notarisation: the entry is sealed, its content shown only to this merchant",
            ),
        }),
        response: { 200: Committed, 201: Committed, 413: ErrorBody, ...errorResponses },
      },
    },
    async (req, reply) => {
      const c = await attest(
        deps.sequencer,
        principalOf(req),
        req.body,
        req.headers["idempotency-key"],
      );
      if (c.replayed) reply.header("idempotent-replayed", "true");
      reply.code(c.replayed ? 200 : 201);
      return { index: Number(c.index), leafHash: toHex(c.leafHash), time: c.entry.time };
    },
  );

  app.get(
    "/v1/attestations",
    {
      schema: {
        tags,
        summary:
          "Find the attestations of a digest: public ones, and with an API key the merchant's sealed ones",
        querystring: z.strictObject({
          digest: Hex32,
          limit: Limit(1000, 100),
        }),
        response: {
          200: z.object({
            attestations: z.array(
              z.object({
                index: z.number(),
                merchantId: z.string(),
                digest: z.string(),
                subject: z.string().nullable(),
                note: z.string().nullable(),
                time: z.string(),
                sealed: z.boolean(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      attestations: await findAttestations(
        deps.db,
        req.query.digest,
        req.query.limit,
        req.principal?.merchantId,
      ),
    }),
  );
}

import { z } from "zod";
import type { Queryable } from "../db/database.js";
import type { App } from "../http/app.js";
import { errorResponses, Limit, toHex } from "../http/schemas.js";
import { listAnchors } from "./anchors.js";
import type { ChainLink } from "./client.js";

const AnchorView = z.object({
  size: z.number(),
  root: z.string(),
  txHash: z.string().nullable(),
  blockNumber: z.number().nullable(),
  status: z.enum(["pending", "sent", "confirmed", "failed"]),
  confirmations: z.number(),
  createdAt: z.string(),
  confirmedAt: z.string().nullable(),
});

export function anchorRoutes(
  app: App,
  deps: {
    db: Queryable;
    chain?: ChainLink;
    /** The JSON-RPC URL browsers may read the contract at (config: publicRpcUrl), if any. */
    publicRpcUrl?: string;
  },
) {
  app.get(
    "/v1/ledger/anchors",
    {
      schema: {
        tags: ["ledger"],
        summary: "Checkpoints anchored on the EVM chain, newest first, with their transactions",
        querystring: z.strictObject({
          limit: Limit(1000, 50),
        }),
        response: {
          200: z.object({
            enabled: z.boolean(),
            chainId: z.number().nullable(),
            contract: z.string().nullable(),
            rpcUrl: z
              .string()
              .nullable()
              .describe(
                "a JSON-RPC URL browsers may call to read the contract themselves (PATRON_CHAIN_PUBLIC_RPC_URL); null when the node publishes none",
              ),
            anchors: z.array(AnchorView),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const rows = await listAnchors(deps.db, req.query.limit);
      return {
        enabled: deps.chain !== undefined,
        chainId: deps.chain?.chainId ?? rows[0]?.chainId ?? null,
        contract: deps.chain?.contract ?? rows[0]?.contract ?? null,
        rpcUrl: deps.publicRpcUrl ?? null,
        anchors: rows.map((a) => ({
          size: Number(a.size),
          root: toHex(a.root),
          txHash: a.txHash,
          blockNumber: a.blockNumber === null ? null : Number(a.blockNumber),
          // "signed" is the outbox's own step before sending; to clients it is still pending.
          status: a.status === "signed" ? ("pending" as const) : a.status,
          confirmations: a.confirmations,
          createdAt: a.createdAt.toISOString(),
          confirmedAt: a.confirmedAt?.toISOString() ?? null,
        })),
      };
    },
  );
}

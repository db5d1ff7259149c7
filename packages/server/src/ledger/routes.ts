import { decodeEntry, type Entry, formatReceipt } from "@patron/ledger";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { confirmedAnchorCovering } from "../chain/anchors.js";
import type { Queryable } from "../db/database.js";
import type { App } from "../http/app.js";
import { ApiError, notFound } from "../http/errors.js";
import { errorResponses, Limit, Position, toHex } from "../http/schemas.js";
import type { ProofService } from "./proofs.js";
import type { Sequencer } from "./sequencer.js";
import { checkpointAt, getEntry, listCheckpoints, listEntries, type StoredEntry } from "./store.js";

const FullEntry = z.object({
  index: z.number(),
  type: z.string(),
  actor: z.string(),
  time: z.string(),
  leafHash: z.string().describe("hex SHA-256(0x00 ‖ canonical)"),
  canonical: z.string().describe("base64 of the exact leaf bytes (RFC 8785 JSON)"),
  entry: z.unknown().describe("the canonical bytes, parsed"),
  sealed: z.boolean().describe("whether the entry is sealed (shown whole only to its parties)"),
});

const SealedEntry = z
  .object({
    index: z.number(),
    leafHash: z.string().describe("hex SHA-256(0x00 ‖ canonical): enough to verify the tree"),
    sealed: z.literal(true),
  })
  .describe("a sealed entry, to a caller that is not one of its parties");

const EntryView = z.union([FullEntry, SealedEntry]);

/** Who asks: a merchant's key or staff, or a customer signed in to the portal. */
export interface Viewer {
  merchantId?: string;
  /** A customer's session: their merchant and their records (their own, and those merged into it). */
  customer?: { merchantId: string; records: readonly string[] };
}

export const viewerOf = (req: FastifyRequest): Viewer => ({
  merchantId: req.principal?.merchantId,
  customer: req.customer,
});

/**
 * Whether the caller may see an entry whole (decision 6): a public one anyone may; a sealed one
 * the merchants it names (their keys of any role, auditors included), and the customers it
 * names, at the merchant it names.
 */
export function mayRead(entry: Entry, viewer: Viewer): boolean {
  if (entry.salt === undefined) return true;
  const subjects = entry.subjects ?? [];
  const names = (m: string | undefined) =>
    m !== undefined && subjects.some((s) => "merchant" in s && s.merchant === m);
  if (names(viewer.merchantId)) return true;
  const c = viewer.customer;
  return (
    c !== undefined &&
    names(c.merchantId) &&
    subjects.some((s) => "customer" in s && c.records.includes(s.customer))
  );
}

const view = (e: StoredEntry, viewer: Viewer) => {
  const entry = decodeEntry(e.data);
  if (!mayRead(entry, viewer)) {
    return { index: Number(e.index), leafHash: toHex(e.leafHash), sealed: true as const };
  }
  return {
    index: Number(e.index),
    type: e.type,
    actor: e.actor,
    time: e.time.toISOString(),
    leafHash: toHex(e.leafHash),
    canonical: Buffer.from(e.data).toString("base64"),
    entry,
    sealed: entry.salt !== undefined,
  };
};

const text = "text/plain; charset=utf-8";

const ReceiptJson = z.object({
  index: z.number(),
  size: z.number(),
  receipt: z.string().describe("C2SP tlog-proof receipt"),
  anchor: z
    .object({
      chainId: z.number(),
      contract: z.string(),
      size: z.number(),
      root: z.string(),
      txHash: z.string().nullable(),
      blockNumber: z.number().nullable(),
      exact: z.boolean().describe("whether the anchor is of the receipt's checkpoint itself"),
    })
    .nullable()
    .describe("the confirmed anchor of the receipt's checkpoint, or of a later one"),
});

/** Public, read-only access to the log: anyone may verify it without an account. */
export function ledgerRoutes(
  app: App,
  deps: {
    db: Queryable;
    sequencer: Sequencer;
    proofs: ProofService;
    verifierKey: string;
    origin: string;
    /** Whether this node anchors checkpoints on a chain (PATRON_CHAIN is not `off`). */
    anchoring: boolean;
  },
) {
  const { db, sequencer, proofs } = deps;
  const tags = ["ledger"];
  const checkSize = (size: bigint) => {
    if (size > sequencer.head.size) {
      throw new ApiError(
        400,
        "invalid_range",
        `size ${size} is past the current tree size ${sequencer.head.size}`,
      );
    }
  };

  app.get(
    "/v1/ledger/checkpoint",
    {
      schema: { tags, summary: "The latest signed checkpoint (C2SP tlog-checkpoint signed note)" },
    },
    async (_req, reply) => {
      reply.header("cache-control", "no-store").type(text);
      return sequencer.head.note;
    },
  );

  app.get(
    "/v1/ledger/key",
    { schema: { tags, summary: "The checkpoint verifier key (Go signed-note vkey format)" } },
    async (_req, reply) => {
      reply.type(text);
      return `${deps.verifierKey}\n`;
    },
  );

  app.get(
    "/v1/ledger/checkpoints",
    {
      schema: {
        tags,
        summary: "Stored checkpoints in increasing size (for mirrors and auditors)",
        querystring: z.strictObject({
          after: Position.optional(),
          limit: Limit(1000, 100),
        }),
        response: {
          200: z.object({
            checkpoints: z.array(
              z.object({
                size: z.number(),
                root: z.string(),
                note: z.string(),
                createdAt: z.string(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const rows = await listCheckpoints(db, req.query.after ?? 0n, req.query.limit);
      return {
        checkpoints: rows.map((c) => ({
          size: Number(c.size),
          root: toHex(c.root),
          note: c.note,
          createdAt: c.createdAt.toISOString(),
        })),
      };
    },
  );

  app.get(
    "/v1/ledger/entries",
    {
      schema: {
        tags,
        summary: "Entries in index order, a page at a time",
        description:
          "Sealed entries show only their index and leaf hash, unless the API key is of a merchant they name.",
        querystring: z.strictObject({
          from: Position.default(0n),
          limit: Limit(1000, 100),
        }),
        response: {
          200: z.object({
            size: z.number(),
            entries: z.array(EntryView),
            next: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const size = sequencer.head.size;
      const from = req.query.from;
      const to = from + BigInt(req.query.limit) < size ? from + BigInt(req.query.limit) : size;
      const rows = from < size ? await listEntries(db, from, to) : [];
      const viewer = viewerOf(req);
      return {
        size: Number(size),
        entries: rows.map((r) => view(r, viewer)),
        next: to < size ? Number(to) : null,
      };
    },
  );

  app.get(
    "/v1/ledger/entries/:index",
    {
      schema: {
        tags,
        summary: "One entry",
        params: z.strictObject({ index: Position }),
        response: { 200: EntryView, ...errorResponses },
      },
    },
    async (req) => {
      const e =
        req.params.index < sequencer.head.size ? await getEntry(db, req.params.index) : undefined;
      if (!e) throw notFound(`entry ${req.params.index}`);
      return view(e, viewerOf(req));
    },
  );

  app.get(
    "/v1/ledger/proofs/inclusion",
    {
      schema: {
        tags,
        summary:
          "RFC 9162 inclusion proof of entry `index` in the tree of `size` (default: latest)",
        querystring: z.strictObject({ index: Position, size: Position.optional() }),
        response: {
          200: z.object({
            index: z.number(),
            size: z.number(),
            leafHash: z.string(),
            proof: z.array(z.string()),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const size = req.query.size ?? sequencer.head.size;
      checkSize(size);
      const proof = await proofs.inclusion(req.query.index, size);
      const e = await getEntry(db, req.query.index);
      if (!e) throw notFound(`entry ${req.query.index}`);
      return {
        index: Number(req.query.index),
        size: Number(size),
        leafHash: toHex(e.leafHash),
        proof: proof.map(toHex),
      };
    },
  );

  app.get(
    "/v1/ledger/proofs/consistency",
    {
      schema: {
        tags,
        summary: "RFC 9162 consistency proof between tree sizes `from` and `to` (default: latest)",
        querystring: z.strictObject({ from: Position, to: Position.optional() }),
        response: {
          200: z.object({ from: z.number(), to: z.number(), proof: z.array(z.string()) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const to = req.query.to ?? sequencer.head.size;
      checkSize(to);
      const proof = await proofs.consistency(req.query.from, to);
      return { from: Number(req.query.from), to: Number(to), proof: proof.map(toHex) };
    },
  );

  app.get(
    "/v1/ledger/receipts/:index",
    {
      schema: {
        tags,
        summary:
          "An offline-verifiable receipt (C2SP tlog-proof) for one entry: the entry's bytes, its inclusion proof and the signed checkpoint",
        description:
          "Proves against the latest checkpoint, the stored checkpoint of exactly `size` entries (checkpoints exist only at batch boundaries: list them with `GET /v1/ledger/checkpoints`), or with `anchored=true` the smallest confirmed anchored one covering the entry. The anchor covering the receipt's checkpoint rides in the `Patron-Anchor` header (text) or in the body (`format=json`).",
        params: z.strictObject({ index: Position }),
        querystring: z.strictObject({
          size: Position.optional().describe(
            "prove against the stored checkpoint of exactly this size; not with `anchored=true`",
          ),
          anchored: z
            .enum(["true", "false"])
            .optional()
            .describe(
              "prove against the smallest confirmed anchored checkpoint that covers the entry, so the receipt verifies against the chain alone",
            ),
          format: z
            .enum(["text", "json"])
            .optional()
            .describe(
              "`json` wraps the receipt with the anchor that covers its checkpoint: `{ index, size, receipt, anchor }`",
            ),
        }),
        response: {
          200: {
            description: "the receipt (text), or with `format=json` the receipt and its anchor",
            content: {
              "text/plain": { schema: z.string().describe("C2SP tlog-proof receipt") },
              "application/json": { schema: ReceiptJson },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const head = sequencer.head;
      const index = req.params.index;
      const anchored = req.query.anchored === "true";
      if (anchored && req.query.size !== undefined) {
        throw new ApiError(
          400,
          "invalid_request",
          "give either size or anchored=true, not both: anchored=true picks the checkpoint itself (the smallest confirmed anchored one covering the entry)",
        );
      }
      if (index >= head.size) throw notFound(`entry ${index}`);
      let note = head.note;
      let size = head.size;
      let at = req.query.size;
      if (at !== undefined) {
        checkSize(at);
        if (index >= at) {
          throw new ApiError(
            400,
            "invalid_range",
            `entry ${index} is not in the tree of size ${at}`,
          );
        }
      }
      // The confirmed anchor of the receipt's checkpoint size, or of a later one it extends.
      let covering: Awaited<ReturnType<typeof confirmedAnchorCovering>>;
      if (anchored) {
        covering = await confirmedAnchorCovering(db, index + 1n);
        if (!covering) {
          throw new ApiError(
            409,
            "not_anchored",
            deps.anchoring
              ? `no confirmed anchor covers entry ${index} yet; retry after the next anchor`
              : `anchoring is off on this node (PATRON_CHAIN=off), so no anchor covers entry ${index} and none ever will; ask without anchored=true`,
          );
        }
        at = covering.size;
      }
      if (at !== undefined) {
        const cp = await checkpointAt(db, at);
        if (!cp) {
          throw new ApiError(
            404,
            "not_found",
            `no checkpoint was signed at size ${at}: checkpoints exist only at batch boundaries; list them with GET /v1/ledger/checkpoints`,
          );
        }
        note = cp.note;
        size = cp.size;
      }
      const e = await getEntry(db, index);
      if (!e) throw notFound(`entry ${index}`);
      if (!mayRead(decodeEntry(e.data), viewerOf(req))) {
        throw new ApiError(
          403,
          "sealed_entry",
          `entry ${index} is sealed: its receipt holds the entry's bytes, so only its parties get it (the inclusion proof of its leaf hash is public)`,
        );
      }
      const proof = await proofs.inclusion(index, size);
      const receipt = formatReceipt({ index, proof, checkpoint: note, extra: e.data });
      covering ??= await confirmedAnchorCovering(db, size);
      const anchor = covering
        ? {
            chainId: covering.chainId,
            contract: covering.contract,
            size: Number(covering.size),
            root: toHex(covering.root),
            txHash: covering.txHash,
            blockNumber: covering.blockNumber === null ? null : Number(covering.blockNumber),
            exact: covering.size === size,
          }
        : null;
      if (req.query.format === "json") {
        return { index: Number(index), size: Number(size), receipt, anchor };
      }
      if (anchor) {
        reply.header(
          "patron-anchor",
          `chain=${anchor.chainId}; contract=${anchor.contract}; size=${anchor.size}; tx=${anchor.txHash}; block=${anchor.blockNumber}`,
        );
      }
      reply.type(text);
      return receipt;
    },
  );
}

import type { JsonValue } from "@patron/ledger";
import { z } from "zod";

// The answers the verification pages read (packages/server/src/identity/portal.ts and the
// ledger's public routes). Nothing here is trusted: the pages prove every byte with
// @patron/ledger before they call anything verified.

/** One entry as the node serves it: its exact bytes (base64) and inclusion proof (hex). */
export const ProvenEntry = z.object({
  index: z.number().int().nonnegative(),
  data: z.string(),
  proof: z.array(z.string()),
});

export const HistoryPage = z.object({
  size: z.number().int().nonnegative(),
  checkpoint: z.string(),
  records: z.array(z.string()).min(1),
  entries: z.array(ProvenEntry),
  next: z.number().int().nonnegative().nullable(),
});
export type HistoryPage = z.infer<typeof HistoryPage>;

/** A stored version of a personal field, with the salt that recomputes its commitment. */
export const FieldValue = z.object({
  customerId: z.string(),
  field: z.string(),
  version: z.number().int().nonnegative(),
  value: z.json() as unknown as z.ZodType<JsonValue>,
  salt: z.string(),
});
export type FieldValue = z.infer<typeof FieldValue>;

export const Fields = z.object({ fields: z.array(FieldValue) });

/**
 * One use of the customer's data. Loose: its leaf is the hash of the whole record as the node
 * committed it, so a field this portal does not know must stay in it to be hashed.
 */
export const AccessRecord = z.looseObject({
  id: z.string(),
  merchantId: z.string(),
  customerId: z.string(),
  at: z.string(),
  role: z.string(),
  purpose: z.string(),
  basis: z.string(),
  categories: z.array(z.string()),
  action: z.string(),
  batch: z
    .object({
      entryIndex: z.number().int().nonnegative(),
      leafIndex: z.number().int().nonnegative(),
      size: z.number().int().positive(),
      proof: z.array(z.string()),
    })
    .nullable(),
});
export type AccessRecord = z.infer<typeof AccessRecord>;

export const DataAccess = z.object({
  size: z.number().int().nonnegative(),
  checkpoint: z.string(),
  records: z.array(AccessRecord),
  batches: z.array(ProvenEntry),
  /** The merchant's purposes with the names it declared: a record names one by id. */
  purposes: z.array(z.object({ id: z.string(), name: z.string() })),
});
export type DataAccess = z.infer<typeof DataAccess>;

export const Anchor = z.object({
  size: z.number().int().nonnegative(),
  root: z.string(),
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nonnegative().nullable(),
  status: z.enum(["pending", "sent", "confirmed", "failed"]),
  confirmations: z.number(),
  createdAt: z.string(),
  confirmedAt: z.string().nullable(),
});

export const Anchors = z.object({
  enabled: z.boolean(),
  chainId: z.number().nullable(),
  contract: z.string().nullable(),
  /** Where browsers may read the contract by JSON-RPC (PATRON_CHAIN_PUBLIC_RPC_URL); older nodes say nothing. */
  rpcUrl: z.string().nullable().default(null),
  anchors: z.array(Anchor),
});
export type Anchors = z.infer<typeof Anchors>;

export const Consistency = z.object({
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  proof: z.array(z.string()),
});

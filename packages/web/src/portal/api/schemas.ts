import { z } from "zod";

// The shapes of the node's answers the portal reads (packages/server/src/identity/routes.ts).
// Unknown extra fields are dropped, so the pages see only what they expect.

export const Health = z.object({ origin: z.string().min(1), version: z.string() });

export const MerchantRef = z.object({ id: z.string(), name: z.string() });
export type MerchantRef = z.infer<typeof MerchantRef>;

export const JoinInfo = z.object({ merchant: MerchantRef, url: z.string(), qr: z.string() });

export const Challenge = z.object({ challenge: z.string(), expiresAt: z.string() });

export const SessionView = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});
export type SessionView = z.infer<typeof SessionView>;

export const Opened = z.object({
  token: z.string(),
  session: SessionView,
  customerId: z.string(),
  merchantId: z.string(),
});

export const Committed = z.object({
  entries: z.array(z.object({ index: z.number(), leafHash: z.string(), type: z.string() })),
  time: z.string(),
});

export const Profile = z.object({
  id: z.string(),
  status: z.string(),
  name: z.string().nullable(),
  emails: z.array(z.string()),
  phones: z.array(z.object({ number: z.string(), valid: z.boolean() })),
  birthday: z.string().nullable(),
  address: z.record(z.string(), z.string()).nullable(),
  language: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  head: z.number().nullable(),
  verified: z.array(z.object({ type: z.enum(["email", "phone"]), value: z.string() })),
});
export type Profile = z.infer<typeof Profile>;

export const Me = z.object({ merchant: MerchantRef, key: z.string(), profile: Profile });
export type Me = z.infer<typeof Me>;

export const Sessions = z.object({ sessions: z.array(SessionView) });

export const RecoveryView = z.object({
  id: z.string(),
  customerId: z.string(),
  oldKey: z.string(),
  newKey: z.string(),
  status: z.enum(["pending", "vetoed", "cancelled", "completed"]),
  completesAt: z.string(),
  startedIndex: z.number(),
  endedIndex: z.number().nullable(),
});
export type RecoveryView = z.infer<typeof RecoveryView>;

export const Recoveries = z.object({ recoveries: z.array(RecoveryView) });

export const NoContent = z.undefined();

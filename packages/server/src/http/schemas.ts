import { z } from "zod";
import { ApiError } from "./errors.js";

/** Shared pieces of request and response schemas. */

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** The largest value PostgreSQL's bigint holds, where indexes and sizes are stored. */
export const MAX_POSITION = 2n ** 63n - 1n;

/**
 * A tree index, size or cursor in a path or query string: decimal digits only (no sign, no
 * `0x`, no exponent, no spaces, no leading zeros), at most what storage holds (2^63 − 1).
 */
export const Position = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, "must be a non-negative decimal integer")
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_POSITION, "must be at most 2^63 - 1 (9223372036854775807)");

/** A page size in a query string: decimal digits only, from 1 to `max`. */
export const Limit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "must be a positive decimal integer")
    .transform((s) => Number(s))
    .refine((n) => n <= max, `must be at most ${max}`)
    .prefault(String(fallback))
    .describe(`How many to return, 1 to ${max} (default ${fallback}).`);

/** An id Patron gave out: its prefix (`m` merchant, `k` API key), `_`, then base64url. */
export const IdOf = (prefix: string, what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`),
      `must be ${what} id such as ${prefix}_abc123`,
    );

export const Hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits (SHA-256)");

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
};

export const toHex = (b: Uint8Array) =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
export const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

// Bidirectional controls (Trojan Source, CVE-2021-42574) reorder what a reader sees; zero-width
// characters make two different labels look alike. Neither belongs in a name a person reads.
// Every format character (\p{Cf}: bidi controls and isolates, zero-width spaces and joiners,
// the word joiner, soft hyphens, tag characters, the BOM), and U+180E, which was one.
const HIDDEN = /[\p{Cf}\u180e]/u;

/**
 * Short text: no control characters (they hide content in logs and UIs), no bidirectional
 * overrides or isolates and no zero-width characters (they disguise what a reader sees).
 */
export const ShortText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters")
    .refine(
      (s) => !HIDDEN.test(s),
      "must not contain bidirectional controls (U+202A-202E, U+2066-2069) or zero-width characters",
    );

/** Short human text, never blank: a name of spaces shows as nothing in a list. */
export const Label = (max: number) =>
  ShortText(max).refine((s) => s.trim() !== "", "must not be blank");

/** How far ahead of the node's clock an `occurredAt` may be: clocks of tills and PCs drift. */
export const OCCURRED_AHEAD_MS = 24 * 3_600_000;

/**
 * When something happened (an interaction, an order), as RFC 3339 with its offset. Checked
 * against the node's clock by `checkOccurredAt`, so that the refusal has its own code.
 */
export const OccurredAt = (what: string) =>
  z.iso
    .datetime({ offset: true })
    .describe(
      `RFC 3339: ${what}; after 1970-01-01T00:00:00Z and at most a day ahead of the node's clock (else 400 invalid_occurred_at)`,
    );

/**
 * Refuses an `occurredAt` more than a day ahead, or at or before 1970-01-01T00:00:00Z. The
 * lower bound is fixed, not "N years ago", so a request valid today stays valid when replayed
 * or re-imported later; and the epoch itself is excluded because it is what an unset timestamp
 * (0) turns into, a client's bug rather than a date anyone meant. No merchant keeps records of
 * visits or orders from before it, and a year such as 1800 is a typo.
 */
export function checkOccurredAt(occurredAt: string, now: number): void {
  const at = Date.parse(occurredAt);
  if (at > now + OCCURRED_AHEAD_MS) {
    throw new ApiError(400, "invalid_occurred_at", "occurredAt is more than a day ahead");
  }
  if (at <= 0) {
    throw new ApiError(
      400,
      "invalid_occurred_at",
      "occurredAt must be after 1970-01-01T00:00:00Z (the epoch is what an unset timestamp becomes)",
    );
  }
}

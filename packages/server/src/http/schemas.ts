import { z } from "zod";

/** Shared pieces of request and response schemas. */

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** A non-negative 64-bit integer given as a decimal string (query strings and paths). */
export const U64 = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, "must be a non-negative integer")
  .transform((s) => BigInt(s))
  .refine((n) => n < 2n ** 64n, "must be below 2^64");

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

/** Short human text: no control characters (they hide content in logs and UIs). */
export const Label = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters");

import type { z } from "zod";
import { ApiError } from "../http/errors.js";

/** A signed command's payload parsed by its schema, or 400 `invalid_payload` naming the first fault. */
export function commandPayload<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const r = schema.safeParse(payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ["payload", ...(issue?.path ?? [])].join(".");
    throw new ApiError(400, "invalid_payload", `${path}: ${issue?.message ?? "invalid"}`);
  }
  return r.data;
}

/** The customer whose key signed a command, or 403 `type_not_allowed` (`refusal` says why). */
export function signingCustomer(party: string | undefined, refusal: string): string {
  if (!party?.startsWith("c_")) throw new ApiError(403, "type_not_allowed", refusal);
  return party;
}

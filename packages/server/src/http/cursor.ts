import { ApiError } from "./errors.js";
import { MAX_POSITION } from "./schemas.js";

/** An opaque page cursor: the position where the previous page stopped. */
export const encodeCursor = (before: bigint) => Buffer.from(`c1:${before}`).toString("base64url");

/** The position of a cursor this API gave out; anything else is a 400. */
export function decodeCursor(cursor: string): bigint {
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf8")
    : "";
  const m = /^c1:(0|[1-9][0-9]{0,18})$/.exec(text);
  if (!m?.[1] || BigInt(m[1]) > MAX_POSITION) {
    throw new ApiError(400, "invalid_cursor", "cursor is not one this API gave out (use `next`)");
  }
  return BigInt(m[1]);
}

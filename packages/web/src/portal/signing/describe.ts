import type { Command } from "@patron/ledger";
import { pointNameFor } from "../../lib/point-name.js";

// What a command means, in plain words, before the customer signs it (decision 13). Each type
// the portal signs has its sentence in the catalogues (signing.types.*); any other type is
// shown as unknown, with a warning to read the exact command.

export const KNOWN_TYPES = [
  "customer.join",
  "customer.claim",
  "customer.update",
  "session.open",
  "key.accept",
  "key.rotate",
  "key.veto",
  "consent.grant",
  "consent.narrow",
  "consent.revoke",
  "request.submit",
  "customer.erase",
  "points.transfer",
  "redemption.hold",
  "redemption.release",
] as const;
export type KnownType = (typeof KNOWN_TYPES)[number];

export interface Description {
  /** The catalogue key of the sentence. */
  key: `signing.types.${KnownType}` | "signing.types.redemptionReward" | "signing.types.unknown";
  params: Record<string, string>;
  known: boolean;
}

const text = (x: unknown): string => (typeof x === "string" ? x : "");
const field = (payload: unknown, name: string): unknown =>
  payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)[name]
    : undefined;

/** An id as the page that made the command calls it, else as it is. */
const named = (names: Record<string, string>, x: unknown): string => {
  const id = text(x);
  return Object.hasOwn(names, id) ? (names[id] as string) : id;
};
const list = (names: Record<string, string>, x: unknown): string =>
  Array.isArray(x) ? x.map((v) => named(names, v)).join(", ") : "";
/** A whole number as the command states it, digits grouped; anything else as it is. */
const count = (x: unknown): string =>
  typeof x === "number" && Number.isSafeInteger(x) ? x.toLocaleString("en") : String(x);
/** The calendar day of an RFC 3339 time, as the command states it (UTC). */
const day = (x: unknown): string => text(x).slice(0, 10);

/**
 * The sentence for `command`, with what it names (a code, a recovery, the new key; a consent's
 * purposes, categories, grantee and end). `names` gives ids the words the page shows for them;
 * the exact command is always shown beside the sentence.
 */
export function describeCommand(
  command: Command,
  merchantName: string,
  names: Record<string, string> = {},
  /** The programme's name for its points, and the reader's language: "50 stars", "1 star". */
  unit?: { pointName: string; language: string },
): Description {
  /** Points as the command states them, with the point name when it is known. */
  const points = (x: unknown): string => {
    const n = count(x);
    if (!unit || typeof x !== "number") return n;
    return `${x.toLocaleString(unit.language)} ${pointNameFor(unit.pointName, x, unit.language)}`;
  };
  const params: Record<string, string> = { merchant: merchantName, type: command.type };
  const type = KNOWN_TYPES.find((t) => t === command.type);
  if (!type) return { key: "signing.types.unknown", params, known: false };
  if (type === "customer.claim") params.code = text(field(command.payload, "code"));
  if (type === "key.veto") params.recovery = text(field(command.payload, "recovery"));
  if (type === "key.accept") params.from = text(field(command.payload, "from"));
  if (type === "key.rotate") {
    const accept = field(command.payload, "accept");
    params.next = text(field(field(accept, "command"), "actor"));
  }
  if (type === "consent.grant" || type === "consent.narrow") {
    const grantee = text(field(command.payload, "grantee"));
    if (type === "consent.grant") {
      params.grantee = grantee === command.merchant ? merchantName : named(names, grantee);
    }
    params.purposes = list(names, field(command.payload, "purposes"));
    params.categories = list(names, field(command.payload, "categories"));
    params.until = day(field(command.payload, "validUntil"));
  }
  if (type === "consent.narrow" || type === "consent.revoke") {
    params.consent = named(names, field(command.payload, "consentId"));
  }
  if (type === "request.submit") params.kind = named(names, field(command.payload, "kind"));
  if (type === "points.transfer") {
    params.to = named(names, field(command.payload, "to"));
    params.points = points(field(command.payload, "points"));
  }
  if (type === "redemption.hold") {
    const reward = field(command.payload, "rewardId");
    if (typeof reward === "string") {
      params.reward = named(names, reward);
      params.points = named(names, `${reward}#points`);
      if (params.points === `${reward}#points`) params.points = "?";
      return { key: "signing.types.redemptionReward", params, known: true };
    }
    params.points = points(field(command.payload, "points"));
  }
  if (type === "redemption.release") {
    params.redemption = named(names, field(command.payload, "redemptionId"));
  }
  return { key: `signing.types.${type}`, params, known: true };
}

import type { Command } from "@patron/ledger";

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
] as const;
export type KnownType = (typeof KNOWN_TYPES)[number];

export interface Description {
  /** The catalogue key of the sentence. */
  key: `signing.types.${KnownType}` | "signing.types.unknown";
  params: Record<string, string>;
  known: boolean;
}

const text = (x: unknown): string => (typeof x === "string" ? x : "");
const field = (payload: unknown, name: string): unknown =>
  payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)[name]
    : undefined;

/** The sentence for `command`, with what it names (a code, a recovery, the new key). */
export function describeCommand(command: Command, merchantName: string): Description {
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
  return { key: `signing.types.${type}`, params, known: true };
}

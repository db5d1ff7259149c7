import type { ComponentType } from "react";

// The expiry policies the programme form offers, one entry each: its id (the node's `policy`),
// a fresh value, and the fields that edit the rest of it (none for `none`). A policy the node
// adds later (`fixed`, `inactivity`) is one more entry here and its catalogue words under
// `loyalty.programme.expiryPolicies` and `expiryHint`; until then a programme that uses one is
// shown by its id and saved back unchanged.

export type ExpiryValue = Record<string, unknown> & { policy?: unknown };

export interface ExpiryPolicy {
  id: string;
  initial: () => ExpiryValue;
  Fields?: ComponentType<{ value: ExpiryValue; onChange: (v: ExpiryValue) => void }>;
}

export const EXPIRY_POLICIES: readonly ExpiryPolicy[] = [
  { id: "none", initial: () => ({ policy: "none" }) },
];

/** The entry that edits `value`, or undefined for a policy this console does not know. */
export const expiryFormOf = (value: ExpiryValue | undefined) =>
  EXPIRY_POLICIES.find((p) => p.id === (value?.policy ?? "none"));

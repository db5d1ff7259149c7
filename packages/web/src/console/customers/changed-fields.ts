import { CHANNEL_KINDS } from "../api/schemas.js";

/**
 * Every name a profile entry's payload may give a change: its personal fields (`fields`, by
 * vault field name, one per identity kind) and its facts in clear (`facts`). The timeline
 * says them in words (`timeline.fieldNames.*`); one it does not know is shown as it is.
 */
export const TIMELINE_FIELDS = [
  "name",
  "birthday",
  "address",
  "email",
  "phone",
  ...CHANNEL_KINDS,
  "stage",
  "tags",
  "language",
  "country",
  "birthMonth",
  "ageBand",
  "attributes",
  "channels",
] as const;

type Obj = Record<string, unknown>;
const objectOf = (x: unknown): Obj => (typeof x === "object" && x !== null ? (x as Obj) : {});

/** The names of the fields a `customer.created` or `customer.updated` entry wrote, once each. */
export function changedFields(payload: unknown): string[] {
  const p = objectOf(payload);
  const names = [...Object.keys(objectOf(p.fields)), ...Object.keys(objectOf(p.facts))];
  // Older entries named identity fields `identities.<kind>`.
  return [...new Set(names.map((n) => n.replace(/^identities\./, "")))];
}

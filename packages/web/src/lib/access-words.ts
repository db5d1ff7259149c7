// How an access record reads, to the customer in the portal and to staff in the console
// (packages/server/src/privacy/access-log.ts, ACCESS_ACTIONS). A record names what was done by a
// code ("read", "segment export", "subject-request.export"), a use on consent that no consent
// covered by that code and `_refused`, and its basis by name or, for a use a consent allowed, by
// the consent's id.

const REFUSED = "_refused";

/** The catalogue key (actions.<key>) of a recorded action, and whether it was refused. */
export function actionOf(action: string): { key: string; refused: boolean } {
  const refused = action.endsWith(REFUSED);
  const base = refused ? action.slice(0, -REFUSED.length) : action;
  // Keys hold no dots or spaces (i18next reads a dot as nesting).
  return { key: base.replace(/[^a-z0-9]+/g, "_"), refused };
}

/**
 * What a record's basis says: a lawful basis by its name, the consent that allowed the use, or,
 * for a refused use, that the purpose needs a consent and none covered it.
 */
export type BasisOf =
  | { kind: "basis"; key: string }
  | { kind: "consent"; consentId: string }
  | { kind: "no_consent" };

export function basisOf(record: { basis: string; action: string }): BasisOf {
  if (actionOf(record.action).refused) return { kind: "no_consent" };
  if (/^cn_/.test(record.basis)) return { kind: "consent", consentId: record.basis };
  return { kind: "basis", key: record.basis };
}

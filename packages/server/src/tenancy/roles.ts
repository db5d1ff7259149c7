export const ROLES = ["owner", "admin", "staff", "auditor"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from an API key, or a staff user's session cookie, on every request. */
export interface Principal {
  merchantId: string;
  keyId: string;
  role: Role;
  /** Set when a staff user's session authenticates the request. */
  staffId?: string;
}

/** The ledger actor string naming the caller: a staff user, or an API key of a merchant. */
export const actorOf = (p: Principal) =>
  p.staffId
    ? `merchant:${p.merchantId}/staff:${p.staffId}`
    : `merchant:${p.merchantId}/key:${p.keyId}`;

/** The ledger actor string of the node operator's key. */
export const OPERATOR_ACTOR = "node:operator";

/** What each role may do. Auditors read; staff write business facts; admins manage staff. */
export const can = {
  write: (r: Role) => r === "owner" || r === "admin" || r === "staff",
  read: (_r: Role) => true,
  manageKeys: (r: Role) => r === "owner" || r === "admin",
  /** Which roles a key of role `r` may create or revoke. */
  grant: (r: Role, target: Role) =>
    r === "owner" || (r === "admin" && (target === "staff" || target === "auditor")),
};

/** "an admin", "a staff": a role name with its indefinite article, for messages. */
export const withArticle = (r: Role) => `${/^[aeiou]/.test(r) ? "an" : "a"} ${r}`;

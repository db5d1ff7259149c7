import type { Entry } from "@patron/ledger";
import type { DomainAuditor } from "../ledger/audit-entries.js";

const str = (p: Entry["payload"], k: string): string | undefined => {
  if (!p || typeof p !== "object" || Array.isArray(p)) return undefined;
  const v = p[k];
  return typeof v === "string" ? v : undefined;
};

/**
 * Tenancy's invariants over the log: a key is revoked once, by its own merchant, and every
 * merchant that was given an owner key keeps at least one active owner key.
 */
export function tenancyAuditor(): DomainAuditor {
  const keys = new Map<string, { merchant: string; role: string; revoked: boolean }>();
  const owners = new Map<string, number>();
  return {
    visit(index, entry, report) {
      const at = index.toString();
      const merchant = str(entry.payload, "merchantId");
      const keyId = str(entry.payload, "keyId");
      if (!merchant || !keyId) return;
      if (entry.type === "apikey.created") {
        const role = str(entry.payload, "role") ?? "";
        keys.set(keyId, { merchant, role, revoked: false });
        if (role === "owner") owners.set(merchant, (owners.get(merchant) ?? 0) + 1);
      } else if (entry.type === "apikey.revoked") {
        const k = keys.get(keyId);
        if (!k || k.merchant !== merchant) {
          report({ kind: "invariant", at, message: `revokes ${keyId}, no key of ${merchant}` });
        } else if (k.revoked) {
          report({ kind: "invariant", at, message: `revokes ${keyId} a second time` });
        } else {
          k.revoked = true;
          if (k.role === "owner") {
            const n = (owners.get(merchant) ?? 0) - 1;
            owners.set(merchant, n);
            if (n === 0) {
              report({
                kind: "invariant",
                at,
                message: `revokes the last active owner key of ${merchant}`,
              });
            }
          }
        }
      }
    },
    finish() {},
  };
}

import type { Entry } from "@patron/ledger";
import type { DomainAuditor } from "../ledger/audit-entries.js";
import { STAFF_CREATED, STAFF_DISABLED, STAFF_ROLE_CHANGED } from "./staff.js";

const str = (p: Entry["payload"], k: string): string | undefined => {
  if (!p || typeof p !== "object" || Array.isArray(p)) return undefined;
  const v = p[k];
  return typeof v === "string" ? v : undefined;
};

/**
 * The staff entries' invariants over the log: a staff user is created once; a role change or a
 * disabling names an enabled staff user of the same merchant; no payload holds anything beyond
 * the ids and the role (an email there would be personal data on the ledger).
 */
export function staffAuditor(): DomainAuditor {
  const staff = new Map<string, { merchant: string; role: string; disabled: boolean }>();
  const allowed: Record<string, string[]> = {
    [STAFF_CREATED]: ["merchantId", "role", "staffId"],
    [STAFF_ROLE_CHANGED]: ["merchantId", "role", "staffId"],
    [STAFF_DISABLED]: ["merchantId", "staffId"],
  };
  return {
    visit(index, entry, report) {
      const fields = allowed[entry.type];
      if (!fields) return;
      const at = index.toString();
      const p = entry.payload;
      const keys = p && typeof p === "object" && !Array.isArray(p) ? Object.keys(p).sort() : [];
      if (keys.join() !== fields.join()) {
        report({ kind: "invariant", at, message: `${entry.type} carries ${keys.join(", ")}` });
        return;
      }
      const merchant = str(p, "merchantId") as string;
      const staffId = str(p, "staffId") as string;
      const known = staff.get(staffId);
      if (entry.type === STAFF_CREATED) {
        if (known) report({ kind: "invariant", at, message: `creates ${staffId} a second time` });
        else staff.set(staffId, { merchant, role: str(p, "role") ?? "", disabled: false });
        return;
      }
      if (!known || known.merchant !== merchant) {
        report({ kind: "invariant", at, message: `names ${staffId}, no staff of ${merchant}` });
      } else if (known.disabled) {
        report({ kind: "invariant", at, message: `changes ${staffId} after it was disabled` });
      } else if (entry.type === STAFF_DISABLED) {
        known.disabled = true;
      } else {
        known.role = str(p, "role") ?? "";
      }
    },
    finish() {},
  };
}

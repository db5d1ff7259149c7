import { useTranslation } from "react-i18next";
import type { Names } from "./hooks.js";
import type { ConsentOptions, ConsentView } from "./schemas.js";

/**
 * What the ids of consent read as: a purpose by the name the merchant declared for it (else the
 * portal's own words), a category in the portal's words, a merchant by its name. The same words
 * go to the signing dialog, so it says what the page says.
 */
export function useConsentWords(merchantName: string, options: ConsentOptions | undefined) {
  const { t } = useTranslation();
  const declared = new Map(options?.purposes.map((p) => [p.id, p.name]) ?? []);
  const partners = new Map(options?.partners.map((p) => [p.id, p.name]) ?? []);
  // An id the portal has no word for reads as itself (a receipt may state one).
  const purpose = (id: string) =>
    declared.get(id as never) ?? t(`consents.purposes.${id}`, { defaultValue: id });
  const category = (id: string) => t(`consents.categories.${id}`, { defaultValue: id });
  const grantee = (c: Pick<ConsentView, "grantee" | "merchantId">) =>
    c.grantee === c.merchantId
      ? t("consents.thisMerchant", { merchant: merchantName })
      : t("consents.partner", { name: partners.get(c.grantee) ?? c.grantee });
  /** The names the dialog gives the ids in a command about `c` (or a new grant). */
  const names = (ids: { purposes: string[]; categories: string[]; consent?: ConsentView }) => {
    const out: Names = {};
    for (const p of ids.purposes) out[p] = purpose(p);
    for (const c of ids.categories) out[c] = category(c);
    for (const [id, name] of partners) out[id] = name;
    if (ids.consent) {
      out[ids.consent.id] = t("consents.named", {
        purposes: ids.consent.purposes.map(purpose).join(", "),
        id: ids.consent.id,
      });
    }
    return out;
  };
  return { purpose, category, grantee, names };
}

import { useTranslation } from "react-i18next";
import { useTitle } from "../layout/ui.js";
import { LoyaltyRules } from "../loyalty/components/LoyaltyRules.js";

/** /m/:merchant/points/rules: see LoyaltyRules. */
export function LoyaltyRulesPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.titles.rules"));
  return <LoyaltyRules />;
}

import { useTranslation } from "react-i18next";
import { useTitle } from "../layout/ui.js";
import { LoyaltyHistory } from "../loyalty/components/LoyaltyHistory.js";

/** /m/:merchant/points/history: see LoyaltyHistory. */
export function LoyaltyHistoryPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.titles.history"));
  return <LoyaltyHistory />;
}

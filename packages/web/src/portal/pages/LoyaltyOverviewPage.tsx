import { useTranslation } from "react-i18next";
import { useTitle } from "../layout/ui.js";
import { LoyaltyOverview } from "../loyalty/components/LoyaltyOverview.js";

/** /m/:merchant/points: see LoyaltyOverview. */
export function LoyaltyOverviewPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.titles.overview"));
  return <LoyaltyOverview />;
}

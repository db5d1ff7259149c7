import { useTranslation } from "react-i18next";
import { useTitle } from "../layout/ui.js";
import { LoyaltyRedeem } from "../loyalty/components/LoyaltyRedeem.js";

/** /m/:merchant/points/redeem: see LoyaltyRedeem. */
export function LoyaltyRedeemPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.titles.redeem"));
  return <LoyaltyRedeem />;
}

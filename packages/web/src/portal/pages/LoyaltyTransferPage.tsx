import { useTranslation } from "react-i18next";
import { useTitle } from "../layout/ui.js";
import { LoyaltyTransfer } from "../loyalty/components/LoyaltyTransfer.js";

/** /m/:merchant/points/transfer: see LoyaltyTransfer. */
export function LoyaltyTransferPage() {
  const { t } = useTranslation();
  useTitle(t("loyalty.titles.transfer"));
  return <LoyaltyTransfer />;
}

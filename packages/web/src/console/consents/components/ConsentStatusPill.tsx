import { useTranslation } from "react-i18next";
import type { ConsentStatus } from "../../api/schemas.js";

const TONE: Record<ConsentStatus, string> = {
  active: "pill-ok",
  scheduled: "pill-info",
  lapsed: "pill-neutral",
  revoked: "pill-bad",
};

/** A consent's status as of now, in words and colour (never colour alone). */
export function ConsentStatusPill(props: { status: ConsentStatus }) {
  const { t } = useTranslation();
  return (
    <span className={`pill ${TONE[props.status]}`} data-testid="consent-status">
      {t(`consents.statuses.${props.status}`)}
    </span>
  );
}

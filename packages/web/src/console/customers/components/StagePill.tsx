import { useTranslation } from "react-i18next";
import type { Stage } from "../../api/schemas.js";

const TONE: Record<Stage, string> = {
  prospect: "neutral",
  first_purchase: "info",
  repeat: "info",
  loyal: "ok",
  at_risk: "warn",
  lapsed: "bad",
};

export function StagePill(props: { stage: Stage }) {
  const { t } = useTranslation();
  return <span className={`pill pill-${TONE[props.stage]}`}>{t(`stage.${props.stage}`)}</span>;
}

import { useTranslation } from "react-i18next";
import { Pill, type Tone } from "../../../components/ui.js";
import type { RuleView } from "../api.js";

const TONES: Record<RuleView["status"], Tone> = {
  draft: "neutral",
  scheduled: "info",
  active: "ok",
  retired: "warn",
};

export function RuleStatusPill(props: { status: RuleView["status"] }) {
  const { t } = useTranslation();
  return <Pill tone={TONES[props.status]}>{t(`loyalty.rules.status.${props.status}`)}</Pill>;
}

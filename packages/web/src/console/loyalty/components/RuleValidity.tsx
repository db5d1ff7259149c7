import { useTranslation } from "react-i18next";
import { DateTime } from "../../layout/ui.js";
import { ownValidity } from "../rule-view.js";

/** A rule version's own validity (its document's validFrom and validUntil), in words. */
export function RuleValidity(props: {
  terms: { validFrom?: string | null; validUntil?: string | null };
}) {
  const { t } = useTranslation();
  const v = ownValidity(props.terms);
  switch (v.kind) {
    case "always":
      return <span className="muted">{t("loyalty.rules.validAlways")}</span>;
    case "from":
      return (
        <span data-testid="rule-validity">
          {t("loyalty.rules.validFrom")} <DateTime iso={v.from} />
        </span>
      );
    case "until":
      return (
        <span data-testid="rule-validity">
          {t("loyalty.rules.validUntil")} <DateTime iso={v.until} />
        </span>
      );
    case "between":
      return (
        <span data-testid="rule-validity">
          <DateTime iso={v.from} /> – <DateTime iso={v.until} />
        </span>
      );
  }
}

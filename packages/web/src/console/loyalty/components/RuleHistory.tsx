import { useTranslation } from "react-i18next";
import { DateTime, useErrorText } from "../../layout/ui.js";
import type { RuleView } from "../api.js";
import { useDropDraft } from "../hooks/useRules.js";
import { ruleName } from "../rule-view.js";
import { RetireButton } from "./RetireButton.js";
import { RuleValidity } from "./RuleValidity.js";

/**
 * Every publication and retirement of a rule, with when each held; retiring it (from now) and
 * dropping its draft.
 */
export function RuleHistory(props: {
  rule: RuleView;
  canWrite: boolean;
  canPublish: boolean;
  onDropped: () => void;
}) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const drop = useDropDraft(props.rule.id);
  const r = props.rule;
  const retirable = r.status === "active" || r.status === "scheduled";
  const error = drop.error;
  return (
    <>
      {r.history.length === 0 ? (
        <p className="empty-line">{t("loyalty.history.none")}</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="rule-history">
            <thead>
              <tr>
                <th scope="col">{t("loyalty.history.event")}</th>
                <th scope="col">{t("loyalty.rules.column.version")}</th>
                <th scope="col">{t("loyalty.rules.column.from")}</th>
                <th scope="col">{t("loyalty.rules.column.until")}</th>
                <th scope="col">{t("loyalty.rules.column.valid")}</th>
                <th scope="col">{t("loyalty.history.entry")}</th>
              </tr>
            </thead>
            <tbody>
              {r.history.map((h) => (
                <tr key={h.entryIndex} data-testid="history-row">
                  <td data-label={t("loyalty.history.event")}>
                    {t(`loyalty.history.events.${h.event}`)}
                    {h.replaced ? (
                      <span className="muted"> {t("loyalty.history.replaced")}</span>
                    ) : null}
                  </td>
                  <td data-label={t("loyalty.rules.column.version")}>
                    {t("loyalty.rules.versionN", { version: h.version })}
                  </td>
                  <td data-label={t("loyalty.rules.column.from")}>
                    <DateTime iso={h.effectiveFrom} />
                  </td>
                  <td data-label={t("loyalty.rules.column.until")}>
                    {h.effectiveUntil ? (
                      <DateTime iso={h.effectiveUntil} />
                    ) : h.event === "published" && !h.replaced ? (
                      t("loyalty.rules.open")
                    ) : (
                      "—"
                    )}
                  </td>
                  <td data-label={t("loyalty.rules.column.valid")}>
                    {h.event === "published" ? <RuleValidity terms={h} /> : "—"}
                  </td>
                  <td data-label={t("loyalty.history.entry")}>
                    <a href={`/entries/${h.entryIndex}`}>#{h.entryIndex}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {error ? (
        <p className="field-error" role="alert" data-testid="rule-history-error">
          {errorText(error).detail}
        </p>
      ) : null}
      <div className="form-actions">
        {props.canPublish && retirable ? <RetireButton id={r.id} name={ruleName(r)} /> : null}
        {props.canWrite && r.draft ? (
          <button
            type="button"
            className="btn btn-ghost"
            disabled={drop.isPending}
            onClick={() => drop.mutate(undefined, { onSuccess: props.onDropped })}
            data-testid="rule-drop-draft"
          >
            {t("loyalty.history.dropDraft")}
          </button>
        ) : null}
      </div>
    </>
  );
}

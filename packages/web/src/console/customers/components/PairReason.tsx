import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Card, Field, Fields, Spinner } from "../../../components/ui.js";
import type { MergeSuggestion } from "../../api/schemas.js";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useDismissSuggestion, useMergeSuggestions } from "../hooks/useMergeSuggestions.js";

/** The open suggestion pairing `a` and `b`, whichever of them the import created. */
const pairOf = (list: MergeSuggestion[], a: string, b: string) =>
  list.find(
    (s) => (s.customerId === a && s.otherId === b) || (s.customerId === b && s.otherId === a),
  );

/**
 * Why the compare page's two records were paired: the suggestion's reason and the identifier
 * kinds they share and differ on (kinds only; the values are in the cards below). Staff who
 * write can dismiss it from here: the page then says so, with the way back to the list.
 */
export function PairReason(props: { a: string; b: string; canDismiss: boolean }) {
  const { t } = useTranslation();
  const suggestions = useMergeSuggestions();
  const dismiss = useDismissSuggestion();
  const [dismissed, setDismissed] = useState(false);
  // The panel's button goes away once dismissed: the focus goes to the message saying so.
  const status = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (dismissed) status.current?.focus();
  }, [dismissed]);
  if (dismissed) {
    return (
      <Card title={t("merge.whyTitle")}>
        <p
          ref={status}
          tabIndex={-1}
          className="hint suggestion-status"
          role="status"
          data-testid="compare-dismissed"
        >
          {t("merge.dismissed")}
        </p>
        <div className="form-actions">
          <Link to="/customers" className="btn btn-ghost">
            {t("merge.backToList")}
          </Link>
        </div>
      </Card>
    );
  }
  if (suggestions.isPending) return <LoadingState />;
  if (suggestions.isError) return <ErrorMessage error={suggestions.error} />;
  const s = pairOf(suggestions.data.suggestions, props.a, props.b);
  if (!s) {
    return (
      <p className="hint" data-testid="compare-not-suggested">
        {t("merge.notSuggested")}
      </p>
    );
  }
  const kinds = (xs: string[]) =>
    xs.length === 0
      ? t("merge.noneOfThem")
      : xs.map((k) => t(`channel.${k}`, { defaultValue: k })).join(t("timeline.fieldSeparator"));
  const source = /^import:(imp_[\w-]+)$/.exec(s.source)?.[1];
  return (
    <Card title={t("merge.whyTitle")}>
      <div data-testid="compare-reason">
        <p>{t(`duplicates.reasons.${s.reason}`, { defaultValue: s.reason })}</p>
        <Fields>
          <Field label={t("merge.shared")}>
            <span data-testid="compare-shared">
              {s.identifiers ? kinds(s.identifiers.shared) : t("merge.unknownKinds")}
            </span>
          </Field>
          {s.identifiers ? (
            <Field label={t("merge.differing")}>
              <span data-testid="compare-differing">{kinds(s.identifiers.differing)}</span>
            </Field>
          ) : null}
          {source ? null : <Field label={t("merge.source")}>{s.source}</Field>}
        </Fields>
      </div>
      <div className="form-actions suggestion-actions">
        {props.canDismiss ? (
          <button
            type="button"
            className="btn"
            disabled={dismiss.isPending}
            onClick={() => {
              if (!window.confirm(t("duplicates.confirmDismiss"))) return;
              dismiss.mutate(s.id, { onSuccess: () => setDismissed(true) });
            }}
            data-testid="compare-dismiss"
          >
            {dismiss.isPending ? <Spinner /> : null} {t("merge.dismiss")}
          </button>
        ) : null}
        {source ? (
          <Link to={`/import/${source}`} className="btn btn-ghost">
            {t("merge.openImport")}
          </Link>
        ) : null}
      </div>
      {dismiss.isError ? <ErrorMessage error={dismiss.error} /> : null}
    </Card>
  );
}

import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Card, Field, Fields, Spinner } from "../../../components/ui.js";
import type { MergeSuggestion } from "../../api/schemas.js";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useDismissSuggestion, useMergeSuggestion } from "../hooks/useMergeSuggestions.js";

/** Whether a suggestion pairs `a` and `b`, whichever of them the import created. */
const pairs = (s: MergeSuggestion, a: string, b: string) =>
  (s.customerId === a && s.otherId === b) || (s.customerId === b && s.otherId === a);

/**
 * Why the compare page's two records were paired: the suggestion's reason and the identifier
 * kinds they share and differ on (kinds only; the values are in the cards below). Staff who
 * write can dismiss it from here: the page then says so, with the way back to the list.
 */
export function PairReason(props: {
  a: string;
  b: string;
  /** The suggestion the page was opened for (`?suggestion=`), if any. */
  suggestionId: string | undefined;
  canDismiss: boolean;
}) {
  const { t } = useTranslation();
  const suggestion = useMergeSuggestion(props.suggestionId);
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
  // Without a suggestion, or with one settled meanwhile or about another pair (a link edited
  // by hand), the two are compared as they are.
  if (props.suggestionId !== undefined && suggestion.isPending) return <LoadingState />;
  if (suggestion.isError) return <ErrorMessage error={suggestion.error} />;
  const s = suggestion.data;
  if (s?.status !== "open" || !pairs(s, props.a, props.b)) {
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

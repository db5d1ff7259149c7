import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useCustomer } from "../hooks/useCustomers.js";
import { useMergeSuggestions } from "../hooks/useMergeSuggestions.js";

/** A customer by name (its id until the profile arrives, or if it cannot be read). */
function CustomerLink(props: { id: string }) {
  const { t } = useTranslation();
  const customer = useCustomer(props.id);
  const name = customer.data
    ? customer.data.status === "erased"
      ? t("customer.erased")
      : (customer.data.name ?? t("customer.unnamed"))
    : props.id;
  return (
    <Link to={`/customers/${props.id}`} title={props.id}>
      {name}
    </Link>
  );
}

/**
 * Pairs an import found may be one person, each customer a link to its 360 page. Compare opens
 * both side by side, where either can absorb the other.
 */
export function MergeSuggestions() {
  const { t } = useTranslation();
  const suggestions = useMergeSuggestions();
  if (suggestions.isPending) return <LoadingState />;
  if (suggestions.isError) return <ErrorMessage error={suggestions.error} />;
  const list = suggestions.data.suggestions;
  if (list.length === 0) return <p className="empty-line">{t("duplicates.none")}</p>;
  return (
    <ul className="plain-list duplicate-list" data-testid="merge-suggestions">
      {list.map((s) => (
        <li key={s.id}>
          <CustomerLink id={s.customerId} /> <span aria-hidden="true">↔</span>
          <span className="sr-only">{t("duplicates.mayBe")}</span> <CustomerLink id={s.otherId} />{" "}
          <span className="muted">
            {t(`duplicates.reasons.${s.reason}`, { defaultValue: s.reason })} · {s.source} ·{" "}
            <DateTime iso={s.createdAt} dateOnly />
          </span>{" "}
          <Link
            to={`/customers/${s.customerId}/compare/${s.otherId}`}
            className="btn btn-ghost btn-small"
            data-testid="compare"
          >
            {t("merge.compare")}
          </Link>
        </li>
      ))}
    </ul>
  );
}

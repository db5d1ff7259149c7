import { useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Spinner } from "../../../components/ui.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useCustomer } from "../hooks/useCustomers.js";
import {
  useDismissSuggestion,
  useMergeSuggestions,
  useReopenSuggestion,
} from "../hooks/useMergeSuggestions.js";

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

/** The compare page of a suggestion's pair, which reads the suggestion by its id. */
export const comparePath = (s: { id: string; customerId: string; otherId: string }) =>
  `/customers/${s.customerId}/compare/${s.otherId}?suggestion=${encodeURIComponent(s.id)}`;

/** The two customers of a suggestion, named for the buttons beside them (`id`). */
function Pair(props: { id: string; suggestion: { customerId: string; otherId: string } }) {
  const { t } = useTranslation();
  return (
    <span id={props.id}>
      <CustomerLink id={props.suggestion.customerId} /> <span aria-hidden="true">↔</span>
      <span className="sr-only">{t("duplicates.mayBe")}</span>{" "}
      <CustomerLink id={props.suggestion.otherId} />
    </span>
  );
}

/**
 * Pairs an import found may be one person, each customer a link to its 360 page. Compare opens
 * both side by side, where either can absorb the other; Dismiss (staff who write) settles a pair
 * as two people, and the list is read again.
 */
export function MergeSuggestions(props: { canWrite: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const suggestions = useMergeSuggestions();
  const dismiss = useDismissSuggestion();
  const [dismissed, setDismissed] = useState(false);
  // The dismissed row leaves the list: the focus goes to the message saying so, not to the page.
  const status = useRef<HTMLParagraphElement>(null);
  const onDismiss = (suggestionId: string) => {
    if (!window.confirm(t("duplicates.confirmDismiss"))) return;
    setDismissed(false);
    dismiss.mutate(suggestionId, {
      onSuccess: () => {
        setDismissed(true);
        window.setTimeout(() => status.current?.focus(), 0);
      },
    });
  };
  if (suggestions.isPending) return <LoadingState />;
  if (suggestions.isError) return <ErrorMessage error={suggestions.error} />;
  const list = suggestions.data.suggestions;
  return (
    <>
      {list.length === 0 ? (
        <p className="empty-line" data-testid="merge-suggestions-none">
          {t("duplicates.none")}
        </p>
      ) : (
        <ul className="plain-list duplicate-list" data-testid="merge-suggestions">
          {list.map((s) => (
            <li key={s.id} data-suggestion={s.id}>
              <Pair id={`${id}-${s.id}`} suggestion={s} />{" "}
              <span className="muted">
                {t(`duplicates.reasons.${s.reason}`, { defaultValue: s.reason })} · {s.source} ·{" "}
                <DateTime iso={s.createdAt} dateOnly />
              </span>{" "}
              <span className="suggestion-actions">
                <Link
                  to={comparePath(s)}
                  className="btn btn-ghost btn-small"
                  aria-describedby={`${id}-${s.id}`}
                  data-testid="compare"
                >
                  {t("merge.compare")}
                </Link>
                {props.canWrite ? (
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    disabled={dismiss.isPending}
                    onClick={() => onDismiss(s.id)}
                    aria-describedby={`${id}-${s.id}`}
                    data-testid="dismiss-suggestion"
                  >
                    {dismiss.isPending && dismiss.variables === s.id ? <Spinner /> : null}{" "}
                    {t("duplicates.dismiss")}
                  </button>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
      <p
        ref={status}
        tabIndex={-1}
        className={dismissed ? "hint suggestion-status" : "sr-only"}
        role="status"
        data-testid="suggestion-dismissed"
      >
        {dismissed ? t("duplicates.dismissed") : ""}
      </p>
      {dismiss.isError ? <ErrorMessage error={dismiss.error} /> : null}
      <DismissedSuggestions canWrite={props.canWrite} />
    </>
  );
}

/** Who dismissed a pair: a staff member or an API key, by id. */
function byWhom(actor: string | null | undefined): string {
  if (!actor) return "";
  return /\/(?:staff|key):([^/]+)$/.exec(actor)?.[1] ?? actor;
}

/**
 * The pairs staff dismissed, read when the disclosure is opened: who dismissed each and when,
 * and Reopen (staff who write) for one dismissed by mistake; it goes back to the open list.
 */
function DismissedSuggestions(props: { canWrite: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const [open, setOpen] = useState(false);
  const dismissed = useMergeSuggestions("dismissed", open);
  const reopen = useReopenSuggestion();
  const [reopened, setReopened] = useState(false);
  const list = dismissed.data?.suggestions ?? [];
  return (
    <details
      className="dismissed-suggestions"
      data-testid="dismissed-suggestions"
      onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>{t("duplicates.dismissedTitle")}</summary>
      {!open ? null : dismissed.isPending ? (
        <LoadingState />
      ) : dismissed.isError ? (
        <ErrorMessage error={dismissed.error} />
      ) : list.length === 0 ? (
        <p className="empty-line">{t("duplicates.noneDismissed")}</p>
      ) : (
        <ul className="plain-list duplicate-list">
          {list.map((s) => (
            <li key={s.id} data-suggestion={s.id}>
              <Pair id={`${id}-${s.id}`} suggestion={s} />{" "}
              <span className="muted">
                {t("duplicates.dismissedBy", { who: byWhom(s.dismissedBy) })}
                {s.dismissedAt ? (
                  <>
                    {" · "}
                    <DateTime iso={s.dismissedAt} dateOnly />
                  </>
                ) : null}
              </span>{" "}
              {props.canWrite ? (
                <span className="suggestion-actions">
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    disabled={reopen.isPending}
                    onClick={() => {
                      setReopened(false);
                      reopen.mutate(s.id, { onSuccess: () => setReopened(true) });
                    }}
                    aria-describedby={`${id}-${s.id}`}
                    data-testid="reopen-suggestion"
                  >
                    {reopen.isPending && reopen.variables === s.id ? <Spinner /> : null}{" "}
                    {t("duplicates.reopen")}
                  </button>
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <p className={reopened ? "hint" : "sr-only"} role="status" data-testid="suggestion-reopened">
        {reopened ? t("duplicates.reopened") : ""}
      </p>
      {reopen.isError ? <ErrorMessage error={reopen.error} /> : null}
    </details>
  );
}

import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { Card } from "../../components/ui.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { ExportDownload, RequestCard } from "../requests/components/RequestCard.js";
import { RetentionPolicies } from "../requests/components/RetentionPolicies.js";
import { type Executed, useRequestQueue } from "../requests/hooks/useRequests.js";
import { useCanWrite, useSession } from "../session/hooks/useSession.js";

/**
 * Requests this page closed: they leave the open queue, so what became of them (and an export
 * bundle to send) is said here, and the focus comes here rather than being lost with the card.
 */
function ClosedHere(props: { closed: Executed[] }) {
  const { t } = useTranslation();
  const status = useRef<HTMLDivElement>(null);
  const count = props.closed.length;
  useEffect(() => {
    if (count > 0) status.current?.focus();
  }, [count]);
  return (
    <div
      ref={status}
      tabIndex={-1}
      role="status"
      className={count > 0 ? "closed-here" : "sr-only"}
      data-testid="requests-closed-here"
    >
      {props.closed.map(({ request: r, export: bundle }) => (
        <div key={r.id} className="notice" data-request={r.id}>
          <p>
            {t(`requests.closedHere.${r.status === "rejected" ? "rejected" : "completed"}`, {
              kind: t(`requests.kinds.${r.kind}`),
            })}{" "}
            <Link to={`/customers/${encodeURIComponent(r.customerId)}`}>
              <code>{r.customerId}</code>
            </Link>
          </p>
          {bundle ? <ExportDownload bundle={bundle} customerId={r.customerId} inline /> : null}
        </div>
      ))}
    </div>
  );
}

/**
 * The data-subject request queue (open ones soonest deadline first, or closed ones), and the
 * retention policies an erasure follows.
 */
export function RequestsPage() {
  const { t } = useTranslation();
  useTitle(t("requests.title"));
  const [params, setParams] = useSearchParams();
  const status = params.get("status") === "closed" ? "closed" : "open";
  const queue = useRequestQueue(status);
  const canWrite = useCanWrite();
  const role = useSession().data?.staff.role;
  const canManage = role === "owner" || role === "admin";
  const overdue = queue.data?.requests.filter((r) => r.overdue).length ?? 0;
  const [closed, setClosed] = useState<Executed[]>([]);
  return (
    <div className="page">
      <PageHead title={t("requests.title")} lead={t("requests.lead")} />
      <Card
        title={t("requests.queue")}
        actions={
          <fieldset className="fieldset segmented">
            <legend className="sr-only">{t("requests.show")}</legend>
            {(["open", "closed"] as const).map((s) => (
              <button
                key={s}
                type="button"
                className={s === status ? "btn btn-primary btn-small" : "btn btn-small"}
                aria-pressed={s === status}
                onClick={() => setParams(s === "open" ? {} : { status: s })}
                data-testid={`requests-${s}`}
              >
                {t(`requests.${s}`)}
              </button>
            ))}
          </fieldset>
        }
      >
        <ClosedHere closed={closed} />
        {queue.isPending ? (
          <LoadingState />
        ) : queue.isError ? (
          <ErrorMessage error={queue.error} retry={() => queue.refetch()} />
        ) : queue.data.requests.length === 0 ? (
          <p className="empty-line" data-testid="requests-empty">
            {status === "open" ? t("requests.noneOpen") : t("requests.noneClosed")}
          </p>
        ) : (
          <>
            <p className="muted result-count" aria-live="polite" data-testid="request-count">
              {t("requests.shown", { count: queue.data.requests.length })}
              {overdue > 0 ? ` · ${t("requests.overdueCount", { count: overdue })}` : ""}
            </p>
            <ul className="plain-list request-list" data-testid="request-queue">
              {queue.data.requests.map((r) => (
                <RequestCard
                  key={r.id}
                  request={r}
                  canWrite={canWrite}
                  canManage={canManage}
                  showCustomer
                  onClosed={(answer) => setClosed((xs) => [answer, ...xs])}
                />
              ))}
            </ul>
          </>
        )}
      </Card>
      <Card title={t("retention.policiesTitle")}>
        <RetentionPolicies canManage={canManage} />
      </Card>
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { Clock, ShieldCheck, ShieldX } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { actionOf, basisOf } from "../../../lib/access-words.js";
import type { AccessRecord } from "../../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useVerifiedEntry } from "../../ledger/hooks/useVerifiedEntry.js";
import { committedRoot, verifyAccessRecord } from "../../ledger/verify-access.js";
import { useAccessRecords } from "../hooks/useTimeline.js";

/**
 * "Verified" holds when the record is a leaf of its batch's tree (checked here), and that
 * batch's root is what the sealed access.recorded entry commits, an entry the signed
 * checkpoint includes (checked here too, as the explorer checks any entry).
 */
function AccessProofBadge(props: { record: AccessRecord }) {
  const { t } = useTranslation();
  const own = verifyAccessRecord(props.record);
  const batch = useVerifiedEntry(props.record.batch?.entryIndex);
  if (own.state === "pending") {
    return (
      <span className="pill pill-neutral" title={t("access.pendingTitle")}>
        <Clock size={13} /> {t("access.pending")}
      </span>
    );
  }
  if (own.state === "verified" && batch.isPending) {
    return <Spinner label={t("proof.checking")} />;
  }
  const root = batch.data ? committedRoot(batch.data.entry) : undefined;
  const failure =
    own.state === "failed"
      ? own.reason
      : batch.isError
        ? String(batch.error)
        : !batch.data?.verified
          ? t("access.batchUnverified")
          : root !== props.record.batch?.root.toLowerCase()
            ? t("access.rootMismatch")
            : undefined;
  if (failure === undefined) {
    return (
      <span
        className="pill pill-ok"
        title={t("access.verifiedTitle", { index: props.record.batch?.entryIndex })}
        data-testid="access-verified"
      >
        <ShieldCheck size={13} /> {t("access.verified")}
      </span>
    );
  }
  return (
    <span className="pill pill-bad" title={failure} data-testid="access-failed">
      <ShieldX size={13} /> {t("access.failed")}
    </span>
  );
}

export function AccessRecords(props: { customerId: string }) {
  const { t } = useTranslation();
  const records = useAccessRecords(props.customerId);
  if (records.isPending) return <LoadingState />;
  if (records.isError && !records.data) {
    return <ErrorMessage error={records.error} retry={() => records.refetch()} />;
  }
  const list = records.data.pages.flatMap((p) => p.records);
  return (
    <>
      <div className="card-toolbar">
        <p className="hint hint-top">{t("access.lead")}</p>
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => records.refetch()}
          disabled={records.isFetching}
          data-testid="access-refresh"
        >
          {records.isFetching ? <Spinner /> : null} {t("action.refresh")}
        </button>
      </div>
      {list.length === 0 ? (
        <p className="empty-line">{t("access.empty")}</p>
      ) : (
        <div className="table-wrap">
          <table className="table access-table" data-testid="access-records">
            <thead>
              <tr>
                <th scope="col">{t("access.when")}</th>
                <th scope="col">{t("access.action")}</th>
                <th scope="col">{t("access.purpose")}</th>
                <th scope="col">{t("access.role")}</th>
                <th scope="col">{t("access.categories")}</th>
                <th scope="col">{t("access.proof")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => {
                const action = actionOf(r.action);
                const basis = basisOf(r);
                return (
                  <tr key={r.id} data-action={r.action}>
                    <td>
                      <DateTime iso={r.at} />
                    </td>
                    <td data-testid="access-action">
                      {t(`access.actions.${action.key}`, { defaultValue: r.action })}
                      {action.refused ? (
                        <>
                          {" "}
                          <span className="pill pill-warn" title={t("access.refusedTitle")}>
                            {t("access.refused")}
                          </span>
                        </>
                      ) : null}
                    </td>
                    <td data-testid="access-basis">
                      {r.purpose}{" "}
                      <span className="muted">
                        (
                        {basis.kind === "basis"
                          ? t(`access.bases.${basis.key}`, { defaultValue: basis.key })
                          : basis.kind === "consent"
                            ? t("access.byConsent", { id: basis.consentId })
                            : t("access.noConsent")}
                        )
                      </span>
                    </td>
                    <td>
                      {r.role === "partner"
                        ? t("access.partnerRole")
                        : t(`role.${r.role}`, { defaultValue: r.role })}
                    </td>
                    <td>
                      {r.categories
                        .map((c) => t(`access.categoryNames.${c}`, { defaultValue: c }))
                        .join(", ")}
                    </td>
                    <td>
                      <AccessProofBadge record={r} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {records.hasNextPage ? (
        <div className="pager">
          <button
            type="button"
            className="btn"
            onClick={() => records.fetchNextPage()}
            disabled={records.isFetchingNextPage}
          >
            {t("action.loadMore")}
          </button>
        </div>
      ) : null}
    </>
  );
}

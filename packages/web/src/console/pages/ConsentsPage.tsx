import { useId } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Card, Spinner } from "../../components/ui.js";
import {
  CONSENT_PURPOSES,
  CONSENT_STATUSES,
  type ConsentPurpose,
  type ConsentStatus,
} from "../api/schemas.js";
import { ConsentTable } from "../consents/components/ConsentTable.js";
import { PurposesCard } from "../consents/components/PurposesCard.js";
import { type ConsentFilters, useConsentList } from "../consents/hooks/useConsents.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { useSession } from "../session/hooks/useSession.js";

const isPurpose = (s: string | null): s is ConsentPurpose => CONSENT_PURPOSES.some((p) => p === s);
const isStatus = (s: string | null): s is ConsentStatus => CONSENT_STATUSES.some((x) => x === s);

/** Consents by purpose and status (filters in the address), and the purposes with their bases. */
export function ConsentsPage() {
  const { t } = useTranslation();
  useTitle(t("consents.title"));
  const id = useId();
  const [params, setParams] = useSearchParams();
  const purpose = params.get("purpose");
  const status = params.get("status");
  const filters: ConsentFilters = {
    purpose: isPurpose(purpose) ? purpose : undefined,
    status: isStatus(status) ? status : undefined,
  };
  const list = useConsentList(filters);
  const consents = list.data?.pages.flatMap((p) => p.consents) ?? [];
  const role = useSession().data?.staff.role;
  const change = (key: "purpose" | "status", value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };
  return (
    <div className="page">
      <PageHead title={t("consents.title")} lead={t("consents.lead")} />
      <Card>
        <div className="filters consent-filters">
          <div className="form-field">
            <label className="label" htmlFor={`${id}-purpose`}>
              {t("consents.purpose")}
            </label>
            <select
              id={`${id}-purpose`}
              className="input"
              value={filters.purpose ?? ""}
              onChange={(e) => change("purpose", e.target.value)}
              data-testid="consent-filter-purpose"
            >
              <option value="">{t("consents.anyPurpose")}</option>
              {CONSENT_PURPOSES.map((p) => (
                <option key={p} value={p}>
                  {t(`consents.purposeNames.${p}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-status`}>
              {t("consents.status")}
            </label>
            <select
              id={`${id}-status`}
              className="input"
              value={filters.status ?? ""}
              onChange={(e) => change("status", e.target.value)}
              data-testid="consent-filter-status"
            >
              <option value="">{t("consents.anyStatus")}</option>
              {CONSENT_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`consents.statuses.${s}`)}
                </option>
              ))}
            </select>
          </div>
        </div>
      </Card>
      <Card title={t("consents.listTitle")}>
        {list.isPending ? (
          <LoadingState />
        ) : list.isError && consents.length === 0 ? (
          <ErrorMessage error={list.error} retry={() => list.refetch()} />
        ) : consents.length === 0 ? (
          <p className="empty-line" data-testid="consents-empty">
            {filters.purpose || filters.status ? t("consents.noMatch") : t("consents.noneAtAll")}
          </p>
        ) : (
          <>
            <p className="muted result-count" aria-live="polite" data-testid="consent-count">
              {t("consents.shown", { count: consents.length })}
            </p>
            <ConsentTable consents={consents} customerColumn />
            {list.hasNextPage ? (
              <div className="pager">
                <button
                  type="button"
                  className="btn"
                  onClick={() => list.fetchNextPage()}
                  disabled={list.isFetchingNextPage}
                >
                  {list.isFetchingNextPage ? <Spinner /> : null} {t("action.loadMore")}
                </button>
              </div>
            ) : null}
            {list.isError ? <ErrorMessage error={list.error} /> : null}
          </>
        )}
      </Card>
      <Card title={t("purposes.title")}>
        <PurposesCard canManage={role === "owner" || role === "admin"} />
      </Card>
    </div>
  );
}

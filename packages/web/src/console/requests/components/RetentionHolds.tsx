import { useTranslation } from "react-i18next";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useRetentionHolds, useRetentionPolicies } from "../hooks/useRequests.js";

/**
 * What the erasure kept of an erased customer, and why: each hold's policy (the law it names),
 * how many records it keeps under its own key, and until when; shredded ones say so.
 */
export function RetentionHolds(props: { customerId: string }) {
  const { t } = useTranslation();
  const holds = useRetentionHolds(props.customerId, true);
  const policies = useRetentionPolicies();
  if (holds.isPending) return <LoadingState />;
  if (holds.isError) return <ErrorMessage error={holds.error} retry={() => holds.refetch()} />;
  const policy = (id: string) => policies.data?.policies.find((p) => p.id === id);
  return (
    <>
      <p className="hint hint-top">{t("retention.holdsLead")}</p>
      {holds.data.holds.length === 0 ? (
        <p className="empty-line" data-testid="retention-none">
          {t("retention.noHolds")}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="retention-holds">
            <thead>
              <tr>
                <th scope="col">{t("retention.policy")}</th>
                <th scope="col">{t("retention.values")}</th>
                <th scope="col">{t("retention.until")}</th>
                <th scope="col">{t("retention.state")}</th>
              </tr>
            </thead>
            <tbody>
              {holds.data.holds.map((h) => {
                const p = policy(h.policyId);
                return (
                  <tr key={h.id} data-testid="retention-hold">
                    <td data-label={t("retention.policy")}>
                      <span className="cell-stack">
                        {p?.name ?? h.policyId}
                        {p ? <span className="muted hold-note"> {p.note}</span> : null}
                      </span>
                    </td>
                    <td data-label={t("retention.values")}>{h.values}</td>
                    <td data-label={t("retention.until")}>
                      <DateTime iso={h.until} dateOnly />
                    </td>
                    <td data-label={t("retention.state")}>
                      {h.shreddedIndex === null ? (
                        <span className="pill pill-warn">{t("retention.held")}</span>
                      ) : (
                        <span className="pill pill-neutral">{t("retention.shredded")}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

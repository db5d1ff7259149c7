import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { Card, Spinner } from "../../components/ui.js";
import type { Customer } from "../api/schemas.js";
import { CustomerIdentities } from "../customers/components/CustomerIdentities.js";
import { CustomerProfile } from "../customers/components/CustomerProfile.js";
import { PairReason } from "../customers/components/PairReason.js";
import { useCustomer, useMergeCustomers } from "../customers/hooks/useCustomers.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { useCanWrite } from "../session/hooks/useSession.js";

/**
 * Two records side by side, under why they were paired; either can absorb the other (an
 * unmerge undoes it), or the pair be dismissed, for staff who write: auditors compare only.
 */
export function ComparePage() {
  const { t } = useTranslation();
  useTitle(t("merge.title"));
  const { id = "", otherId = "" } = useParams();
  const suggestionId = useSearchParams()[0].get("suggestion") ?? undefined;
  const left = useCustomer(id);
  const right = useCustomer(otherId);
  const merge = useMergeCustomers();
  const navigate = useNavigate();
  const writes = useCanWrite();
  const side = (c: Customer, other: Customer) => (
    <Card title={c.name ?? t("customer.unnamed")}>
      <CustomerProfile customer={c} />
      <h3 className="subhead">{t("customer.identities")}</h3>
      <CustomerIdentities customer={c} />
      {writes && c.status === "active" && other.status === "active" ? (
        <div className="form-actions merge-actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={merge.isPending}
            onClick={() => {
              if (
                window.confirm(
                  t("merge.confirm", { into: c.name ?? c.id, from: other.name ?? other.id }),
                )
              ) {
                merge.mutate(
                  { into: c.id, from: other.id },
                  { onSuccess: () => navigate(`/customers/${c.id}`) },
                );
              }
            }}
            data-testid={`merge-into-${c.id}`}
          >
            {merge.isPending ? <Spinner /> : null} {t("merge.keepThis")}
          </button>
        </div>
      ) : null}
    </Card>
  );
  return (
    <div className="page">
      <nav className="crumbs" aria-label={t("nav.breadcrumbs")}>
        <Link to="/customers">{t("customers.title")}</Link> <span aria-hidden="true">/</span>{" "}
        <span aria-current="page">{t("merge.title")}</span>
      </nav>
      <PageHead title={t("merge.title")} lead={t("merge.lead")} />
      {merge.isError ? <ErrorMessage error={merge.error} /> : null}
      {left.isPending || right.isPending ? (
        <LoadingState />
      ) : left.isError || right.isError ? (
        <ErrorMessage error={left.error ?? right.error} />
      ) : (
        <>
          <PairReason
            a={left.data.id}
            b={right.data.id}
            suggestionId={suggestionId}
            canDismiss={writes && left.data.status === "active" && right.data.status === "active"}
          />
          <div className="compare-layout">
            {side(left.data, right.data)}
            {side(right.data, left.data)}
          </div>
        </>
      )}
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Notice, Spinner } from "../../../components/ui.js";
import type { Customer } from "../../api/schemas.js";
import { ErrorMessage } from "../../layout/ui.js";
import { useUnmergeCustomer } from "../hooks/useCustomers.js";

/** A record another customer absorbed: where it went, and the unmerge that restores it. */
export function CustomerMerged(props: { customer: Customer; canWrite: boolean }) {
  const { t } = useTranslation();
  const unmerge = useUnmergeCustomer();
  const into = props.customer.mergedInto;
  return (
    <div data-testid="merged-notice">
      <Notice title={t("merge.mergedInto")}>
        <p>{t("merge.mergedDetail")}</p>
        <div className="form-actions">
          {into ? <Link to={`/customers/${into}`}>{t("merge.openSurvivor")}</Link> : null}
          {props.canWrite ? (
            <button
              type="button"
              className="btn"
              disabled={unmerge.isPending}
              onClick={() => unmerge.mutate(props.customer.id)}
              data-testid="unmerge"
            >
              {unmerge.isPending ? <Spinner /> : null} {t("merge.unmerge")}
            </button>
          ) : null}
        </div>
      </Notice>
      {unmerge.isError ? <ErrorMessage error={unmerge.error} /> : null}
    </div>
  );
}

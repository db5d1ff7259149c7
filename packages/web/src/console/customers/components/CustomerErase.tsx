import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { ErrorMessage } from "../../layout/ui.js";
import { useEraseCustomer } from "../hooks/useCustomers.js";

/** Erasure on the customer's request (owners and admins): it cannot be undone. */
export function CustomerErase(props: { customerId: string; name: string }) {
  const { t } = useTranslation();
  const erase = useEraseCustomer(props.customerId);
  return (
    <>
      <p className="hint hint-top">{t("erase.lead")}</p>
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-danger"
          disabled={erase.isPending}
          onClick={() => {
            if (window.confirm(t("erase.confirm", { name: props.name }))) erase.mutate();
          }}
          data-testid="erase-customer"
        >
          {erase.isPending ? <Spinner /> : null} {t("erase.action")}
        </button>
      </div>
      {erase.isError ? <ErrorMessage error={erase.error} /> : null}
    </>
  );
}

import { useTranslation } from "react-i18next";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useCustomerRequests } from "../hooks/useRequests.js";
import { RequestCard } from "./RequestCard.js";
import { RequestForm } from "./RequestForm.js";

/** The customer's data-subject requests, and recording one that came outside the portal. */
export function CustomerRequests(props: {
  customerId: string;
  active: boolean;
  canWrite: boolean;
  canManage: boolean;
}) {
  const { t } = useTranslation();
  const requests = useCustomerRequests(props.customerId);
  return (
    <>
      <p className="hint hint-top">{t("requests.customerLead")}</p>
      {requests.isPending ? (
        <LoadingState />
      ) : requests.isError ? (
        <ErrorMessage error={requests.error} retry={() => requests.refetch()} />
      ) : requests.data.requests.length === 0 ? (
        <p className="empty-line">{t("requests.noneForCustomer")}</p>
      ) : (
        <ul className="plain-list request-list" data-testid="customer-requests">
          {requests.data.requests.map((r) => (
            <RequestCard
              key={r.id}
              request={r}
              canWrite={props.canWrite}
              canManage={props.canManage}
            />
          ))}
        </ul>
      )}
      {props.active && props.canWrite ? <RequestForm customerId={props.customerId} /> : null}
    </>
  );
}

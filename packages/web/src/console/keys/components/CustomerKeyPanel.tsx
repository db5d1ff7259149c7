import { useTranslation } from "react-i18next";
import { CopyButton, Spinner } from "../../../components/ui.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useCreateInvite, useCustomerKey, useInvites } from "../hooks/useCustomerKey.js";
import { InviteResult } from "./InviteResult.js";
import { RecoveryForm } from "./RecoveryForm.js";
import { RecoveryList } from "./RecoveryList.js";

function Invites(props: { customerId: string; canInvite: boolean }) {
  const { t } = useTranslation();
  const invites = useInvites(props.customerId);
  const create = useCreateInvite(props.customerId);
  const now = Date.now();
  return (
    <div className="key-invites">
      {props.canInvite ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={create.isPending}
            onClick={() => create.mutate()}
            data-testid="invite-create"
          >
            {create.isPending ? <Spinner /> : null} {t("customerKey.invite")}
          </button>
        </div>
      ) : null}
      {create.isError ? <ErrorMessage error={create.error} /> : null}
      {create.data ? <InviteResult invite={create.data} /> : null}
      {invites.isPending ? (
        <LoadingState />
      ) : invites.isError ? (
        <ErrorMessage error={invites.error} retry={() => invites.refetch()} />
      ) : invites.data.invites.length === 0 ? null : (
        <div className="table-wrap">
          <table className="table" data-testid="invite-table">
            <caption className="sr-only">{t("customerKey.invites")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("customerKey.invited")}</th>
                <th scope="col">{t("customerKey.expires")}</th>
                <th scope="col">{t("customerKey.inviteStatus")}</th>
              </tr>
            </thead>
            <tbody>
              {invites.data.invites.map((i) => (
                <tr key={i.id} data-testid="invite-row">
                  <td data-label={t("customerKey.invited")}>
                    <DateTime iso={i.createdAt} />
                  </td>
                  <td data-label={t("customerKey.expires")}>
                    <DateTime iso={i.expiresAt} />
                  </td>
                  <td data-label={t("customerKey.inviteStatus")}>
                    {i.claimed
                      ? t("customerKey.claimed")
                      : Date.parse(i.expiresAt) <= now
                        ? t("customerKey.expired")
                        : t("customerKey.open")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/**
 * The key the customer signs with here: a did:key, or none yet (then an invite to claim the
 * profile); recoveries of a lost key for owners and admins, with the time-lock's countdown.
 */
export function CustomerKeyPanel(props: {
  customerId: string;
  active: boolean;
  canWrite: boolean;
  canManage: boolean;
}) {
  const { t } = useTranslation();
  const key = useCustomerKey(props.customerId);
  if (key.isPending) return <LoadingState />;
  if (key.isError) return <ErrorMessage error={key.error} retry={() => key.refetch()} />;
  const { key: did, recoveries } = key.data;
  const pending = recoveries.some((r) => r.status === "pending");
  return (
    <>
      <p className="hint hint-top">{t("customerKey.lead")}</p>
      {did ? (
        <p className="customer-did" data-testid="customer-key">
          <code className="did">{did}</code>{" "}
          <CopyButton value={did} label={t("customerKey.copyKey")} />
        </p>
      ) : (
        <p className="empty-line" data-testid="customer-key-none">
          {t("customerKey.none")}
        </p>
      )}
      {did ? null : (
        <Invites customerId={props.customerId} canInvite={props.active && props.canWrite} />
      )}
      {recoveries.length > 0 ? (
        <>
          <h3 className="subhead">{t("customerKey.recoveries")}</h3>
          <RecoveryList
            recoveries={recoveries}
            customerId={props.customerId}
            canManage={props.canManage}
          />
        </>
      ) : null}
      {did && props.active && props.canManage && !pending ? (
        <RecoveryForm customerId={props.customerId} />
      ) : null}
    </>
  );
}

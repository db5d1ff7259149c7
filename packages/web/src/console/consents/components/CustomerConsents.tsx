import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { CONSENT_METHODS, type Consent, type ConsentMethod } from "../../api/schemas.js";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useCustomerConsents, useRevokeConsent } from "../hooks/useConsents.js";
import { ConsentForm } from "./ConsentForm.js";
import { ConsentTable } from "./ConsentTable.js";

type WithdrawMethod = Exclude<ConsentMethod, "double_opt_in">;
const WITHDRAW_METHODS = CONSENT_METHODS.filter((m): m is WithdrawMethod => m !== "double_opt_in");

/** A consent the customer withdrew at the till, by phone…: how, then the record. */
function RevokeControl(props: { consent: Consent }) {
  const { t } = useTranslation();
  const id = useId();
  const revoke = useRevokeConsent();
  const [open, setOpen] = useState(false);
  const [method, setMethod] = useState<WithdrawMethod>("till");
  if (props.consent.status !== "active" && props.consent.status !== "scheduled") return null;
  if (!open) {
    return (
      <button
        type="button"
        className="btn btn-ghost btn-small"
        onClick={() => setOpen(true)}
        data-testid="consent-revoke"
      >
        {t("consents.revoke")}
      </button>
    );
  }
  return (
    <form
      className="revoke-form"
      onSubmit={(e) => {
        e.preventDefault();
        revoke.mutate({ id: props.consent.id, method }, { onSuccess: () => setOpen(false) });
      }}
    >
      <label className="label" htmlFor={`${id}-how`}>
        {t("consents.withdrawnHow")}
      </label>
      <select
        id={`${id}-how`}
        className="input select-compact"
        value={method}
        onChange={(e) => setMethod(e.target.value as WithdrawMethod)}
        data-testid="consent-revoke-method"
      >
        {WITHDRAW_METHODS.map((m) => (
          <option key={m} value={m}>
            {t(`consents.methods.${m}`)}
          </option>
        ))}
      </select>
      <button
        type="submit"
        className="btn btn-danger btn-small"
        disabled={revoke.isPending}
        data-testid="consent-revoke-confirm"
      >
        {revoke.isPending ? <Spinner /> : null} {t("consents.revokeConfirm")}
      </button>
      <button type="button" className="btn btn-ghost btn-small" onClick={() => setOpen(false)}>
        {t("action.cancel")}
      </button>
      {revoke.isError ? <ErrorMessage error={revoke.error} /> : null}
    </form>
  );
}

/** The customer's consents, and (for roles that write) recording and revoking them. */
export function CustomerConsents(props: {
  customerId: string;
  emails: string[];
  canWrite: boolean;
}) {
  const { t } = useTranslation();
  const consents = useCustomerConsents(props.customerId);
  return (
    <>
      <p className="hint hint-top">{t("consents.customerLead")}</p>
      {consents.isPending ? (
        <LoadingState />
      ) : consents.isError ? (
        <ErrorMessage error={consents.error} retry={() => consents.refetch()} />
      ) : consents.data.consents.length === 0 ? (
        <p className="empty-line" data-testid="consents-empty">
          {t("consents.none")}
        </p>
      ) : (
        <ConsentTable
          consents={consents.data.consents}
          actions={props.canWrite ? (c) => <RevokeControl consent={c} /> : undefined}
        />
      )}
      {props.canWrite ? <ConsentForm customerId={props.customerId} emails={props.emails} /> : null}
    </>
  );
}

import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Card, Notice, Spinner } from "../../components/ui.js";
import { ConsoleApiError } from "../api/client.js";
import { PageHead, useErrorText, useTitle } from "../layout/ui.js";
import { PasswordForm } from "../session/components/PasswordForm.js";
import {
  useAcceptInvitation,
  useConfirmReset,
  useRequestReset,
} from "../session/hooks/useAccount.js";

/**
 * The token of an emailed link, from the address's fragment (never sent to any server). It is
 * taken out of the address bar at once, so it stays in neither the history nor a screenshot.
 */
function useLinkToken(): string | undefined {
  const [token] = useState(() => {
    const found = /(?:^#|&)token=([A-Za-z0-9_.-]{1,200})(?:&|$)/.exec(window.location.hash)?.[1];
    if (window.location.hash) {
      window.history.replaceState(
        window.history.state,
        "",
        window.location.pathname + window.location.search,
      );
    }
    return found;
  });
  return token;
}

function useFailureText() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  return (err: unknown) =>
    err instanceof ConsoleApiError && err.code === "invalid_token"
      ? t("account.linkInvalid")
      : err instanceof ConsoleApiError && err.status === 429
        ? t("signIn.throttled")
        : err
          ? errorText(err).detail
          : undefined;
}

function SetPasswordPage(props: {
  kind: "invitation" | "reset";
  mutation: ReturnType<typeof useAcceptInvitation>;
}) {
  const { t } = useTranslation();
  const title = props.kind === "invitation" ? t("account.acceptTitle") : t("account.resetTitle");
  useTitle(title);
  const token = useLinkToken();
  const failureText = useFailureText();
  const m = props.mutation;
  return (
    <div className="page narrow">
      <PageHead
        title={title}
        lead={props.kind === "invitation" ? t("account.acceptLead") : t("account.resetLead")}
      />
      <Card>
        {!token ? (
          <Notice tone="warn" title={t("account.noToken")}>
            {t("account.noTokenDetail")}
          </Notice>
        ) : m.isSuccess ? (
          <div role="status" data-testid="account-done">
            <p>{t("account.passwordSet")}</p>
            <p>
              <Link to="/sign-in">{t("account.goSignIn")}</Link>
            </p>
          </div>
        ) : (
          <PasswordForm
            submitLabel={t("account.setPassword")}
            busy={m.isPending}
            failure={failureText(m.error)}
            onSubmit={(password) => m.mutate({ token, password })}
          />
        )}
      </Card>
    </div>
  );
}

export function AcceptInvitationPage() {
  return <SetPasswordPage kind="invitation" mutation={useAcceptInvitation()} />;
}

export function ResetPasswordPage() {
  return <SetPasswordPage kind="reset" mutation={useConfirmReset()} />;
}

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  useTitle(t("account.forgotTitle"));
  const id = useId();
  const [email, setEmail] = useState("");
  const request = useRequestReset();
  const failureText = useFailureText();
  const valid = /^[^\s@]+@[^\s@]+$/.test(email.trim());
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (valid) request.mutate(email.trim());
  };
  return (
    <div className="page narrow">
      <PageHead title={t("account.forgotTitle")} lead={t("account.forgotLead")} />
      <Card>
        {request.isSuccess ? (
          <p role="status" data-testid="reset-requested">
            {t("account.resetRequested")}
          </p>
        ) : (
          <form className="form" onSubmit={submit} noValidate>
            <div className="form-field">
              <label className="label" htmlFor={`${id}-email`}>
                {t("signIn.email")}
              </label>
              <input
                id={`${id}-email`}
                className="input"
                type="email"
                autoComplete="username"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </div>
            {request.isError ? (
              <p className="field-error" role="alert">
                {failureText(request.error)}
              </p>
            ) : null}
            <div className="form-actions">
              <button
                type="submit"
                className="btn btn-primary"
                disabled={!valid || request.isPending}
              >
                {request.isPending ? <Spinner /> : null} {t("account.sendLink")}
              </button>
            </div>
          </form>
        )}
      </Card>
      <p>
        <Link to="/sign-in">{t("account.goSignIn")}</Link>
      </p>
    </div>
  );
}

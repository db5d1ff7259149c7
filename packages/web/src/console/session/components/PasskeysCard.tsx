import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { DateTime, ErrorMessage, LoadingState, useErrorText } from "../../layout/ui.js";
import { usePasskeys, useRegisterPasskey, useRemovePasskey } from "../hooks/usePasskeys.js";
import { useSession } from "../hooks/useSession.js";
import { passkeysAvailable } from "../webauthn.js";

/** The signed-in staff user's own passkeys: add one, see when each was last used, remove one. */
export function PasskeysCard() {
  const { t } = useTranslation();
  const id = useId();
  const session = useSession().data;
  const passkeys = usePasskeys();
  const register = useRegisterPasskey();
  const remove = useRemovePasskey();
  const errorText = useErrorText();
  const [label, setLabel] = useState("");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!session || label.trim() === "") return;
    register.mutate({ label: label.trim(), session }, { onSuccess: () => setLabel("") });
  };
  const registerError = register.error
    ? register.error instanceof DOMException
      ? t("passkeys.cancelled")
      : errorText(register.error).detail
    : undefined;
  return (
    <>
      {passkeys.isPending ? (
        <LoadingState />
      ) : passkeys.isError ? (
        <ErrorMessage error={passkeys.error} />
      ) : passkeys.data.passkeys.length === 0 ? (
        <p className="empty-line">{t("passkeys.none")}</p>
      ) : (
        <ul className="plain-list" data-testid="passkey-list">
          {passkeys.data.passkeys.map((p) => (
            <li key={p.id} className="passkey-row">
              <strong>{p.label}</strong>{" "}
              <span className="muted">
                {t("passkeys.added")} <DateTime iso={p.createdAt} dateOnly />
                {p.lastUsedAt ? (
                  <>
                    {" · "}
                    {t("passkeys.lastUsed")} <DateTime iso={p.lastUsedAt} />
                  </>
                ) : null}
              </span>{" "}
              <button
                type="button"
                className="btn btn-ghost btn-small"
                onClick={() => remove.mutate(p.id)}
                disabled={remove.isPending}
              >
                {t("passkeys.remove")}
              </button>
            </li>
          ))}
        </ul>
      )}
      {passkeysAvailable() ? (
        <form className="form inline-form" onSubmit={submit} noValidate>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-label`}>
              {t("passkeys.label")}
            </label>
            <input
              id={`${id}-label`}
              className="input"
              value={label}
              maxLength={100}
              onChange={(e) => setLabel(e.target.value)}
              data-testid="passkey-label"
            />
          </div>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={register.isPending || label.trim() === ""}
            data-testid="passkey-add"
          >
            {register.isPending ? <Spinner /> : null} {t("passkeys.add")}
          </button>
        </form>
      ) : (
        <p className="hint">{t("passkeys.unavailable")}</p>
      )}
      {registerError ? (
        <p className="field-error" role="alert" data-testid="passkey-add-error">
          {registerError}
        </p>
      ) : null}
      {remove.isError ? <ErrorMessage error={remove.error} /> : null}
    </>
  );
}

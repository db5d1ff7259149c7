import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton, Spinner } from "../../../components/ui.js";
import { ROLES, type Role } from "../../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState, useErrorText } from "../../layout/ui.js";
import { useApiKeys, useCreateApiKey, useRevokeApiKey } from "../hooks/useTeam.js";

export function ApiKeysCard() {
  const { t } = useTranslation();
  const id = useId();
  const keys = useApiKeys(true);
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const errorText = useErrorText();
  const [label, setLabel] = useState("");
  const [role, setRole] = useState<Role>("staff");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    create.mutate({ label: label.trim(), role }, { onSuccess: () => setLabel("") });
  };
  return (
    <>
      {keys.isPending ? (
        <LoadingState />
      ) : keys.isError ? (
        <ErrorMessage error={keys.error} />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="key-table">
            <thead>
              <tr>
                <th scope="col">{t("keys.label")}</th>
                <th scope="col">{t("team.role")}</th>
                <th scope="col">{t("keys.created")}</th>
                <th scope="col">
                  <span className="sr-only">{t("keys.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr key={k.id}>
                  <td>
                    {k.label} <code className="muted">{k.id}</code>
                  </td>
                  <td>{t(`role.${k.role}`, { defaultValue: k.role })}</td>
                  <td>{k.createdAt ? <DateTime iso={k.createdAt} dateOnly /> : null}</td>
                  <td>
                    {k.revokedAt ? (
                      <span className="pill pill-neutral">{t("keys.revoked")}</span>
                    ) : (
                      <button
                        type="button"
                        className="btn btn-ghost"
                        onClick={() => {
                          if (window.confirm(t("keys.confirmRevoke", { label: k.label }))) {
                            revoke.mutate(k.id);
                          }
                        }}
                      >
                        {t("keys.revoke")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoke.isError ? <ErrorMessage error={revoke.error} /> : null}
      <form className="form inline-form" onSubmit={submit} noValidate>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-label`}>
            {t("keys.label")}
          </label>
          <input
            id={`${id}-label`}
            className="input"
            value={label}
            maxLength={100}
            onChange={(e) => setLabel(e.target.value)}
          />
        </div>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-role`}>
            {t("team.role")}
          </label>
          <select
            id={`${id}-role`}
            className="input"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !label}>
          {create.isPending ? <Spinner /> : null} {t("keys.create")}
        </button>
      </form>
      {create.isError ? (
        <p className="field-error" role="alert">
          {errorText(create.error).detail}
        </p>
      ) : null}
      {create.data ? (
        <div className="notice notice-warn" role="status">
          <div>
            <strong>{t("keys.once")}</strong>
            <p className="key-secret">
              <code>{create.data.key}</code>{" "}
              <CopyButton value={create.data.key} label={t("keys.copy")} />
            </p>
          </div>
        </div>
      ) : null}
    </>
  );
}

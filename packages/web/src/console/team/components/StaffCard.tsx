import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { ROLES, type Role } from "../../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState, useErrorText } from "../../layout/ui.js";
import { useSession } from "../../session/hooks/useSession.js";
import { useChangeRole, useDisableStaff, useInviteStaff, useStaffUsers } from "../hooks/useTeam.js";

export function StaffCard() {
  const { t } = useTranslation();
  const id = useId();
  const staff = useStaffUsers(true);
  const invite = useInviteStaff();
  const errorText = useErrorText();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("staff");
  const me = useSession().data?.staff.id;
  const changeRole = useChangeRole();
  const disable = useDisableStaff();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    invite.mutate({ email: email.trim(), role }, { onSuccess: () => setEmail("") });
  };
  return (
    <>
      {staff.isPending ? (
        <LoadingState />
      ) : staff.isError ? (
        <ErrorMessage error={staff.error} />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="staff-table">
            <thead>
              <tr>
                <th scope="col">{t("team.email")}</th>
                <th scope="col">{t("team.role")}</th>
                <th scope="col">{t("team.status")}</th>
                <th scope="col">{t("team.since")}</th>
                <th scope="col">
                  <span className="sr-only">{t("keys.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {staff.data.staff.map((s) => (
                <tr key={s.id}>
                  <td>{s.email}</td>
                  <td>
                    {s.status === "disabled" || s.id === me ? (
                      t(`role.${s.role}`, { defaultValue: s.role })
                    ) : (
                      <>
                        <label className="sr-only" htmlFor={`${id}-role-${s.id}`}>
                          {t("team.roleOf", { email: s.email })}
                        </label>
                        <select
                          id={`${id}-role-${s.id}`}
                          className="input select-compact"
                          value={s.role}
                          disabled={changeRole.isPending}
                          onChange={(e) =>
                            changeRole.mutate({ id: s.id, role: e.target.value as Role })
                          }
                          data-testid="staff-role"
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {t(`role.${r}`)}
                            </option>
                          ))}
                        </select>
                      </>
                    )}
                  </td>
                  <td>{t(`team.statuses.${s.status}`, { defaultValue: s.status })}</td>
                  <td>
                    <DateTime iso={s.createdAt} dateOnly />
                  </td>
                  <td>
                    {s.status === "disabled" || s.id === me ? null : (
                      <button
                        type="button"
                        className="btn btn-ghost"
                        disabled={disable.isPending}
                        onClick={() => {
                          if (window.confirm(t("team.confirmDisable", { email: s.email }))) {
                            disable.mutate(s.id);
                          }
                        }}
                        data-testid="staff-disable"
                      >
                        {t("team.disable")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {changeRole.isError ? <ErrorMessage error={changeRole.error} /> : null}
      {disable.isError ? <ErrorMessage error={disable.error} /> : null}
      <form className="form inline-form" onSubmit={submit} noValidate>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-email`}>
            {t("team.inviteEmail")}
          </label>
          <input
            id={`${id}-email`}
            className="input"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
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
            data-testid="invite-role"
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </div>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={invite.isPending || !email}
          data-testid="invite-submit"
        >
          {invite.isPending ? <Spinner /> : null} {t("team.invite")}
        </button>
      </form>
      {invite.isError ? (
        <p className="field-error" role="alert">
          {errorText(invite.error).detail}
        </p>
      ) : null}
      {invite.isSuccess ? (
        <p className="hint" role="status">
          {t("team.invited", { email: invite.data.staff.email, delivery: invite.data.delivery })}
        </p>
      ) : null}
    </>
  );
}

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { Alert, Key } from "../../components/icons.js";
import { Card, Pill, Spinner, shorten } from "../../components/ui.js";
import { KeyChoice, useKeyChoice } from "../account/components/KeyChoice.js";
import { useAccount } from "../account/hooks.js";
import { useRotate, useVeto } from "../account/security-hooks.js";
import type { RecoveryView, SessionView } from "../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState, useTitle } from "../layout/ui.js";
import { useRecoveries, useRevokeSession, useSessions } from "../session/hooks.js";
import { SignCancelled } from "../signing/SigningProvider.js";

/** Sessions, recoveries of the key (with the veto) and key rotation at one merchant. */
export function SecurityPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  useTitle(t("merchant.security"));
  return (
    <div className="stack">
      <RecoveriesCard merchant={merchant} />
      <SessionsCard merchant={merchant} />
      <RotateCard merchant={merchant} />
    </div>
  );
}

function RecoveriesCard(props: { merchant: string }) {
  const { t } = useTranslation();
  const recoveries = useRecoveries(props.merchant);
  const account = useAccount(props.merchant);
  const veto = useVeto(account.data);
  return (
    <Card title={t("recoveries.title")}>
      <p className="hint">{t("recoveries.lead")}</p>
      {recoveries.isPending ? <LoadingState /> : null}
      {recoveries.isError ? <ErrorMessage error={recoveries.error} /> : null}
      {recoveries.data?.recoveries.length === 0 ? (
        <p data-testid="recoveries-none">{t("recoveries.none")}</p>
      ) : null}
      {veto.error && !(veto.error instanceof SignCancelled) ? (
        <ErrorMessage error={veto.error} testId="veto-error" />
      ) : null}
      <ul className="plain-list recovery-list" data-testid="recoveries">
        {recoveries.data?.recoveries.map((r) => (
          <Recovery
            key={r.id}
            recovery={r}
            onVeto={() => veto.mutate(r.id)}
            busy={veto.isPending && veto.variables === r.id}
          />
        ))}
      </ul>
    </Card>
  );
}

function Recovery(props: { recovery: RecoveryView; onVeto: () => void; busy: boolean }) {
  const { t } = useTranslation();
  const r = props.recovery;
  const tone = r.status === "pending" ? "warn" : r.status === "completed" ? "info" : "neutral";
  return (
    <li className={`recovery recovery-${r.status}`} data-testid="recovery">
      <div className="recovery-head">
        <Pill tone={tone} icon={r.status === "pending" ? <Alert size={12} /> : undefined}>
          {t(`recoveries.status.${r.status}`)}
        </Pill>{" "}
        <code>{r.id}</code>
      </div>
      {r.status === "pending" ? (
        <>
          <p>
            {t("recoveries.pending")} <DateTime iso={r.completesAt} />
          </p>
          <p className="hint">
            {t("recoveries.newKey")} <code title={r.newKey}>{shorten(r.newKey, 10)}</code>
          </p>
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-danger"
              onClick={props.onVeto}
              disabled={props.busy}
              data-testid="veto"
            >
              {props.busy ? <Spinner /> : null} {t("recoveries.veto")}
            </button>
          </div>
        </>
      ) : null}
    </li>
  );
}

function SessionsCard(props: { merchant: string }) {
  const { t } = useTranslation();
  const sessions = useSessions(props.merchant);
  const revoke = useRevokeSession(props.merchant);
  return (
    <Card title={t("sessions.title")}>
      <p className="hint">{t("sessions.lead")}</p>
      {sessions.isPending ? <LoadingState /> : null}
      {sessions.isError ? <ErrorMessage error={sessions.error} /> : null}
      {revoke.error ? <ErrorMessage error={revoke.error} /> : null}
      <ul className="plain-list session-list" data-testid="sessions">
        {sessions.data?.sessions.map((s) => (
          <SessionRow
            key={s.id}
            session={s}
            onRevoke={() => revoke.mutate(s.id)}
            busy={revoke.isPending && revoke.variables === s.id}
          />
        ))}
      </ul>
    </Card>
  );
}

function SessionRow(props: { session: SessionView; onRevoke: () => void; busy: boolean }) {
  const { t } = useTranslation();
  const s = props.session;
  return (
    <li className="session-row" data-testid="session">
      <div>
        <strong className="session-agent">{s.userAgent ?? t("sessions.unknownDevice")}</strong>{" "}
        {s.current ? <Pill tone="ok">{t("sessions.current")}</Pill> : null}
        <p className="hint">
          {t("sessions.opened")} <DateTime iso={s.createdAt} /> · {t("sessions.expires")}{" "}
          <DateTime iso={s.expiresAt} />
        </p>
      </div>
      <button
        type="button"
        className="btn btn-small"
        onClick={props.onRevoke}
        disabled={props.busy}
        aria-label={s.current ? t("sessions.endCurrent") : t("sessions.endOther", { id: s.id })}
        data-testid="session-end"
      >
        {props.busy ? <Spinner /> : null} {s.current ? t("sessions.endCurrent") : t("sessions.end")}
      </button>
    </li>
  );
}

function RotateCard(props: { merchant: string }) {
  const { t } = useTranslation();
  const account = useAccount(props.merchant);
  const rotate = useRotate(account.data);
  const [kind, setKind, passkeys] = useKeyChoice();
  const [open, setOpen] = useState(false);
  return (
    <Card title={t("rotate.title")}>
      <p className="hint">{t("rotate.lead")}</p>
      {account.data && account.data.retired.length > 0 ? (
        <p>{t("rotate.retired", { count: account.data.retired.length })}</p>
      ) : null}
      {!open ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            onClick={() => setOpen(true)}
            data-testid="rotate-open"
          >
            <Key size={14} /> {t("rotate.open")}
          </button>
        </div>
      ) : (
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            rotate.mutate(kind);
          }}
        >
          <KeyChoice
            value={kind}
            onChange={setKind}
            supported={passkeys}
            legend={t("rotate.choose")}
          />
          {rotate.error && !(rotate.error instanceof SignCancelled) ? (
            <ErrorMessage error={rotate.error} testId="rotate-error" />
          ) : null}
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={rotate.isPending}
              data-testid="rotate-submit"
            >
              {rotate.isPending ? <Spinner /> : <Key size={14} />} {t("rotate.submit")}
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setOpen(false)}>
              {t("action.cancel")}
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}

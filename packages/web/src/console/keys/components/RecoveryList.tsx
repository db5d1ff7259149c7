import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import type { Recovery } from "../../api/schemas.js";
import { DateTime, ErrorMessage } from "../../layout/ui.js";
import { timeLeft, useNow } from "../../layout/useNow.js";
import { useEndRecovery } from "../hooks/useCustomerKey.js";

const TONE: Record<Recovery["status"], string> = {
  pending: "pill-warn",
  completed: "pill-ok",
  cancelled: "pill-neutral",
  vetoed: "pill-bad",
};

/** How long a recovery's time-lock has to run, updated every second. */
function Countdown(props: { until: string }) {
  const { t } = useTranslation();
  const left = timeLeft(Date.parse(props.until), useNow());
  if (left.due) return <span data-testid="recovery-due">{t("customerKey.due")}</span>;
  return (
    <span data-testid="recovery-countdown">
      {t("customerKey.countdown", {
        days: left.days,
        hours: left.hours,
        minutes: left.minutes,
        seconds: left.seconds,
      })}
    </span>
  );
}

function RecoveryRow(props: { recovery: Recovery; customerId: string; canManage: boolean }) {
  const { t } = useTranslation();
  const r = props.recovery;
  const end = useEndRecovery(props.customerId);
  const due = Date.parse(r.completesAt) <= useNow(5000);
  return (
    <li className="recovery" data-testid="recovery" data-recovery={r.id}>
      <p className="recovery-head">
        <span className={`pill ${TONE[r.status]}`} data-testid="recovery-status">
          {t(`customerKey.statuses.${r.status}`)}
        </span>{" "}
        <code>{r.id}</code>
      </p>
      <dl className="fields">
        <div className="field">
          <dt>{t("customerKey.newKey")}</dt>
          <dd>
            <code className="did">{r.newKey}</code>
          </dd>
        </div>
        <div className="field">
          <dt>
            {r.status === "pending" ? t("customerKey.completesAt") : t("customerKey.timeLockEnd")}
          </dt>
          <dd>
            <DateTime iso={r.completesAt} />
            {r.status === "pending" ? (
              <>
                {" · "}
                <Countdown until={r.completesAt} />
              </>
            ) : null}
          </dd>
        </div>
      </dl>
      {r.status === "pending" && props.canManage ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            disabled={end.isPending}
            onClick={() => {
              if (window.confirm(t("customerKey.confirmCancel")))
                end.mutate({ id: r.id, action: "cancel" });
            }}
            data-testid="recovery-cancel"
          >
            {t("customerKey.cancelRecovery")}
          </button>
          <button
            type="button"
            className="btn btn-primary"
            disabled={end.isPending || !due}
            aria-describedby={due ? undefined : `${r.id}-lock`}
            onClick={() => end.mutate({ id: r.id, action: "complete" })}
            data-testid="recovery-complete"
          >
            {end.isPending ? <Spinner /> : null} {t("customerKey.completeRecovery")}
          </button>
          {due ? null : (
            <span className="hint" id={`${r.id}-lock`}>
              {t("customerKey.lockedHint")}
            </span>
          )}
        </div>
      ) : null}
      {end.isError ? <ErrorMessage error={end.error} /> : null}
    </li>
  );
}

export function RecoveryList(props: {
  recoveries: Recovery[];
  customerId: string;
  canManage: boolean;
}) {
  return (
    <ul className="plain-list recovery-list" data-testid="recoveries">
      {props.recoveries.map((r) => (
        <RecoveryRow
          key={r.id}
          recovery={r}
          customerId={props.customerId}
          canManage={props.canManage}
        />
      ))}
    </ul>
  );
}

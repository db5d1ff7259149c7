import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Download } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import {
  EXTENSION_REASONS,
  IDENTITY_CHECKS,
  REJECTION_REASONS,
  type SubjectRequest,
} from "../../api/schemas.js";
import { DateTime, ErrorMessage } from "../../layout/ui.js";
import { type Executed, useRequestAction } from "../hooks/useRequests.js";

const TONE: Record<SubjectRequest["status"], string> = {
  received: "pill-info",
  verified: "pill-warn",
  completed: "pill-ok",
  rejected: "pill-neutral",
};

type Panel = "verify" | "extend" | "reject" | "rectify" | null;

/** An export bundle, kept in memory and offered as a JSON file. */
function ExportDownload(props: { bundle: Record<string, unknown>; customerId: string }) {
  const { t } = useTranslation();
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const made = URL.createObjectURL(
      new Blob([JSON.stringify(props.bundle, null, 2)], { type: "application/json" }),
    );
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [props.bundle]);
  if (!url) return null;
  return (
    <p className="notice" role="status">
      <span>{t("requests.exportReady")}</span>{" "}
      <a
        className="btn"
        href={url}
        download={`patron-export-${props.customerId}.json`}
        data-testid="request-export-download"
      >
        <Download size={14} /> {t("requests.exportDownload")}
      </a>
    </p>
  );
}

/** The identity checks done: recorded, the request can be carried out. */
function VerifyForm(props: { run: (checks: string[]) => void; pending: boolean }) {
  const { t } = useTranslation();
  const [checks, setChecks] = useState<string[]>([]);
  return (
    <form
      className="form request-panel"
      onSubmit={(e) => {
        e.preventDefault();
        props.run(checks);
      }}
    >
      <fieldset className="fieldset choice-group">
        <legend className="label">{t("requests.checksDone")}</legend>
        <div className="choice-row">
          {IDENTITY_CHECKS.map((c) => (
            <label key={c} className="radio">
              <input
                type="checkbox"
                checked={checks.includes(c)}
                onChange={(e) =>
                  setChecks((xs) => (e.target.checked ? [...xs, c] : xs.filter((x) => x !== c)))
                }
              />
              {t(`checks.${c}`)}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={props.pending || checks.length === 0}
          data-testid="request-verify-submit"
        >
          {t("requests.verifySubmit")}
        </button>
      </div>
    </form>
  );
}

/** One reason from a list, then the action (extend: and by how many months). */
function ReasonForm(props: {
  reasons: readonly string[];
  family: string;
  months?: boolean;
  submit: string;
  testId: string;
  run: (reason: string, months: 1 | 2) => void;
  pending: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [reason, setReason] = useState(props.reasons[0] as string);
  const [months, setMonths] = useState<1 | 2>(1);
  return (
    <form
      className="form inline-form request-panel"
      onSubmit={(e) => {
        e.preventDefault();
        props.run(reason, months);
      }}
    >
      <div className="form-field">
        <label className="label" htmlFor={`${id}-reason`}>
          {t("requests.reason")}
        </label>
        <select
          id={`${id}-reason`}
          className="input"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        >
          {props.reasons.map((r) => (
            <option key={r} value={r}>
              {t(`${props.family}.${r}`)}
            </option>
          ))}
        </select>
      </div>
      {props.months ? (
        <div className="form-field">
          <label className="label" htmlFor={`${id}-months`}>
            {t("requests.months")}
          </label>
          <select
            id={`${id}-months`}
            className="input"
            value={months}
            onChange={(e) => setMonths(e.target.value === "2" ? 2 : 1)}
          >
            <option value="1">{t("requests.monthCount", { count: 1 })}</option>
            <option value="2">{t("requests.monthCount", { count: 2 })}</option>
          </select>
        </div>
      ) : null}
      <button
        type="submit"
        className="btn btn-primary"
        disabled={props.pending}
        data-testid={props.testId}
      >
        {props.submit}
      </button>
    </form>
  );
}

/** A rectification's corrected fields: only those filled in are sent. */
function RectifyForm(props: { run: (patch: Record<string, unknown>) => void; pending: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [phone, setPhone] = useState("");
  const field = (key: string, label: string, value: string, set: (v: string) => void) => (
    <div className="form-field">
      <label className="label" htmlFor={`${id}-${key}`}>
        {label}
      </label>
      <input
        id={`${id}-${key}`}
        className="input"
        value={value}
        onChange={(e) => set(e.target.value)}
        data-testid={`rectify-${key}`}
      />
    </div>
  );
  return (
    <form
      className="form form-grid request-panel"
      onSubmit={(e) => {
        e.preventDefault();
        const patch: Record<string, unknown> = {};
        if (name.trim()) patch.name = name.trim();
        if (email.trim()) patch.emails = [email.trim()];
        if (phone.trim()) patch.phones = [phone.trim()];
        props.run(patch);
      }}
    >
      <p className="hint form-wide">{t("requests.rectifyLead")}</p>
      {field("name", t("customer.name"), name, setName)}
      {field("email", t("customer.email"), email, setEmail)}
      {field("phone", t("customer.phone"), phone, setPhone)}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={props.pending || !(name.trim() || email.trim() || phone.trim())}
          data-testid="rectify-submit"
        >
          {t("requests.rectifySubmit")}
        </button>
      </div>
    </form>
  );
}

/**
 * One request: what, from whom, where it stands, its deadline (overdue marked in words, not by
 * colour alone), and the next steps the role may take: verify (staff and up), extend, reject
 * and carry out (owners and admins).
 */
export function RequestCard(props: {
  request: SubjectRequest;
  canWrite: boolean;
  canManage: boolean;
  showCustomer?: boolean;
}) {
  const { t } = useTranslation();
  const r = props.request;
  const act = useRequestAction(r.id);
  const [panel, setPanel] = useState<Panel>(null);
  const [done, setDone] = useState<Executed>();
  const open = r.status === "received" || r.status === "verified";
  const run = (input: Parameters<typeof act.mutate>[0]) =>
    act.mutate(input, {
      onSuccess: (answer) => {
        setPanel(null);
        if (answer.export) setDone(answer);
      },
    });
  const execute = () => {
    if (r.kind === "rectification") return setPanel(panel === "rectify" ? null : "rectify");
    if (r.kind === "erasure" && !window.confirm(t("requests.confirmErase"))) return;
    run({ action: "execute" });
  };
  const toggle = (p: Panel) => () => setPanel(panel === p ? null : p);
  return (
    <li
      className={r.overdue ? "request request-overdue" : "request"}
      data-testid="request"
      data-request={r.id}
    >
      <div className="request-head">
        <strong>{t(`requests.kinds.${r.kind}`)}</strong>
        <span className={`pill ${TONE[r.status]}`} data-testid="request-status">
          {t(`requests.statuses.${r.status}`)}
        </span>
        {r.overdue ? (
          <span className="pill pill-bad" data-testid="request-overdue">
            {t("requests.overdue")}
          </span>
        ) : null}
        {r.extended ? <span className="pill pill-neutral">{t("requests.extended")}</span> : null}
      </div>
      <dl className="fields request-facts">
        {props.showCustomer ? (
          <div className="field">
            <dt>{t("requests.customer")}</dt>
            <dd>
              <Link to={`/customers/${encodeURIComponent(r.customerId)}`}>
                <code>{r.customerId}</code>
              </Link>
            </dd>
          </div>
        ) : null}
        <div className="field">
          <dt>{t("requests.received")}</dt>
          <dd>
            <DateTime iso={r.receivedAt} /> · {t(`requests.channels.${r.channel}`)}
          </dd>
        </div>
        <div className="field">
          <dt>{r.closedAt ? t("requests.closed") : t("requests.due")}</dt>
          <dd data-testid="request-due">
            <DateTime iso={r.closedAt ?? r.dueAt} dateOnly />
          </dd>
        </div>
        <div className="field">
          <dt>{t("requests.checks")}</dt>
          <dd>
            {r.checks.length === 0
              ? t("requests.noChecks")
              : r.checks.map((c) => t(`checks.${c}`, { defaultValue: c })).join(", ")}
          </dd>
        </div>
        {r.reason ? (
          <div className="field">
            <dt>{t("requests.reason")}</dt>
            <dd>{t(`requests.reasons.${r.reason}`, { defaultValue: r.reason })}</dd>
          </div>
        ) : null}
      </dl>
      {open && (props.canWrite || props.canManage) ? (
        <div className="form-actions request-actions">
          {props.canWrite && r.status === "received" ? (
            <button
              type="button"
              className="btn"
              aria-expanded={panel === "verify"}
              onClick={toggle("verify")}
              data-testid="request-verify"
            >
              {t("requests.verify")}
            </button>
          ) : null}
          {props.canManage && r.status === "verified" ? (
            <button
              type="button"
              className={r.kind === "erasure" ? "btn btn-danger" : "btn btn-primary"}
              disabled={act.isPending}
              aria-expanded={r.kind === "rectification" ? panel === "rectify" : undefined}
              onClick={execute}
              data-testid="request-execute"
            >
              {act.isPending ? <Spinner /> : null} {t(`requests.execute.${r.kind}`)}
            </button>
          ) : null}
          {props.canManage && !r.extended ? (
            <button
              type="button"
              className="btn btn-ghost"
              aria-expanded={panel === "extend"}
              onClick={toggle("extend")}
              data-testid="request-extend"
            >
              {t("requests.extend")}
            </button>
          ) : null}
          {props.canManage ? (
            <button
              type="button"
              className="btn btn-ghost"
              aria-expanded={panel === "reject"}
              onClick={toggle("reject")}
              data-testid="request-reject"
            >
              {t("requests.reject")}
            </button>
          ) : null}
        </div>
      ) : null}
      {panel === "verify" ? (
        <VerifyForm pending={act.isPending} run={(checks) => run({ action: "verify", checks })} />
      ) : null}
      {panel === "extend" ? (
        <ReasonForm
          reasons={EXTENSION_REASONS}
          family="requests.reasons"
          months
          submit={t("requests.extendSubmit")}
          testId="request-extend-submit"
          pending={act.isPending}
          run={(reason, months) => run({ action: "extend", reason, months })}
        />
      ) : null}
      {panel === "reject" ? (
        <ReasonForm
          reasons={REJECTION_REASONS}
          family="requests.reasons"
          submit={t("requests.rejectSubmit")}
          testId="request-reject-submit"
          pending={act.isPending}
          run={(reason) => run({ action: "reject", reason })}
        />
      ) : null}
      {panel === "rectify" ? (
        <RectifyForm pending={act.isPending} run={(patch) => run({ action: "execute", patch })} />
      ) : null}
      {act.isError ? <ErrorMessage error={act.error} /> : null}
      {done?.export ? <ExportDownload bundle={done.export} customerId={r.customerId} /> : null}
    </li>
  );
}

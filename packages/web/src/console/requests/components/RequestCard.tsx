import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Download } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
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
export function ExportDownload(props: {
  bundle: Record<string, unknown>;
  customerId: string;
  /** Inside a message that is already announced: no status of its own. */
  inline?: boolean;
}) {
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
  const link = (
    <a
      className="btn"
      href={url}
      download={`patron-export-${props.customerId}.json`}
      data-testid="request-export-download"
    >
      <Download size={14} /> {t("requests.exportDownload")}
    </a>
  );
  if (props.inline) {
    return (
      <p className="export-line">
        <span>{t("requests.exportReady")}</span> {link}
      </p>
    );
  }
  return (
    <p className="notice" role="status">
      <span>{t("requests.exportReady")}</span> {link}
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

/**
 * One reason from a list, then the action (extend: and by how many months). No reason is
 * chosen for the user: a request is refused or extended for the reason they pick.
 */
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
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const [months, setMonths] = useState<1 | 2>(1);
  return (
    <form
      className="form inline-form request-panel"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!reason) {
          setMissing(true);
          document.getElementById(`${id}-reason`)?.focus();
          return;
        }
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
          aria-invalid={missing ? true : undefined}
          aria-describedby={missing ? `${id}-reason-error` : undefined}
          onChange={(e) => {
            setReason(e.target.value);
            if (e.target.value) setMissing(false);
          }}
          data-testid={`${props.testId}-reason`}
        >
          <option value="">{t("requests.chooseReason")}</option>
          {props.reasons.map((r) => (
            <option key={r} value={r}>
              {t(`${props.family}.${r}`)}
            </option>
          ))}
        </select>
        {missing ? (
          <p className="field-error" id={`${id}-reason-error`}>
            {t("requests.reasonNeeded")}
          </p>
        ) : null}
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

type RectifyField = "name" | "email" | "phone";

/**
 * The rectification field a refusal is about, when the node says which: an email or a phone it
 * cannot take, one another customer holds, or a validation issue under `patch`.
 */
function rectifyFieldOf(err: unknown): RectifyField | undefined {
  if (!(err instanceof ConsoleApiError)) return undefined;
  if (err.code === "invalid_email") return "email";
  if (err.code === "invalid_phone") return "phone";
  if (err.code === "identity_in_use") {
    const type = (err.details as { type?: unknown } | undefined)?.type;
    return type === "email" || type === "phone" ? type : undefined;
  }
  if (!Array.isArray(err.details)) return undefined;
  for (const issue of err.details as { path?: unknown }[]) {
    const [, under, key] = typeof issue?.path === "string" ? issue.path.split("/") : [];
    if (under !== "patch") continue;
    if (key === "name") return "name";
    if (key === "emails") return "email";
    if (key === "phones") return "phone";
  }
  return undefined;
}

/**
 * A rectification's corrected fields: only those filled in are sent. The node's refusal of
 * one of them is shown beside it.
 */
function RectifyForm(props: {
  run: (patch: Record<string, unknown>) => void;
  pending: boolean;
  refused?: { field: RectifyField; message: string };
}) {
  const { t } = useTranslation();
  const id = useId();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [phone, setPhone] = useState("");
  const field = (key: RectifyField, label: string, value: string, set: (v: string) => void) => {
    const error = props.refused?.field === key ? props.refused.message : undefined;
    return (
      <div className="form-field">
        <label className="label" htmlFor={`${id}-${key}`}>
          {label}
        </label>
        <input
          id={`${id}-${key}`}
          className="input"
          value={value}
          onChange={(e) => set(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-${key}-error` : undefined}
          data-testid={`rectify-${key}`}
        />
        {error ? (
          <p className="field-error" id={`${id}-${key}-error`} role="alert">
            {error}
          </p>
        ) : null}
      </div>
    );
  };
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
 * and carry out (owners and admins). `onClosed` hands a request that closed (with its export
 * bundle) to a list that no longer shows it (the open queue); without it the card shows it.
 */
export function RequestCard(props: {
  request: SubjectRequest;
  canWrite: boolean;
  canManage: boolean;
  showCustomer?: boolean;
  onClosed?: (answer: Executed) => void;
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
        const closed =
          answer.request.status === "completed" || answer.request.status === "rejected";
        if (closed && props.onClosed) props.onClosed(answer);
        else if (answer.export) setDone(answer);
      },
    });
  const execute = () => {
    if (r.kind === "rectification") return setPanel(panel === "rectify" ? null : "rectify");
    if (r.kind === "erasure" && !window.confirm(t("requests.confirmErase"))) return;
    run({ action: "execute" });
  };
  const toggle = (p: Panel) => () => setPanel(panel === p ? null : p);
  // A rectification the node refused for one of its fields: shown beside that field.
  const refusedField = panel === "rectify" && act.isError ? rectifyFieldOf(act.error) : undefined;
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
        <RectifyForm
          pending={act.isPending}
          run={(patch) => run({ action: "execute", patch })}
          refused={
            refusedField ? { field: refusedField, message: act.error?.message ?? "" } : undefined
          }
        />
      ) : null}
      {act.isError && !refusedField ? <ErrorMessage error={act.error} /> : null}
      {done?.export ? <ExportDownload bundle={done.export} customerId={r.customerId} /> : null}
    </li>
  );
}

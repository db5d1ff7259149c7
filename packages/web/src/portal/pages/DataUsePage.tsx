import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { Check, Clock, Cross, ShieldCheck, ShieldX } from "../../components/icons.js";
import { Card, Pill, Spinner } from "../../components/ui.js";
import { actionOf, basisOf } from "../../lib/access-words.js";
import { DateTime, ErrorMessage, useTitle } from "../layout/ui.js";
import type { DataUseVerdict, RecordState } from "../verify/history.js";
import { useDataUse } from "../verify/hooks.js";

/**
 * Every use of the customer's data at one merchant (decision 11): when, by which role, for
 * which purpose on which basis, each record proven in the browser against the access.recorded
 * entry that committed it, and that entry against the signed checkpoint (verifyAccessRecords).
 */
export function DataUsePage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const use = useDataUse(merchant);
  useTitle(t("dataUse.title"));
  return (
    <div className="stack" data-testid="data-use">
      <Card title={t("dataUse.title")}>
        <p className="hint">{t("dataUse.lead")}</p>
        {use.isPending ? (
          <div className="verify-progress" data-testid="data-use-progress">
            <Spinner label={t("dataUse.verifying")} />
          </div>
        ) : null}
        {use.isError ? <ErrorMessage error={use.error} retry={() => use.refetch()} /> : null}
        {use.data ? <Verdict verdict={use.data} /> : null}
        {use.data && use.data.rows.length === 0 ? (
          <p data-testid="data-use-none">{t("dataUse.none")}</p>
        ) : null}
        {use.data?.rows.some((r) => actionOf(r.record.action).refused) ? (
          <p className="hint" data-testid="data-use-refused-note">
            {t("dataUse.refusedNote")}
          </p>
        ) : null}
        {use.data && use.data.rows.length > 0 ? (
          <UseTable verdict={use.data} purposeNames={use.data.purposeNames} />
        ) : null}
      </Card>
    </div>
  );
}

function Verdict(props: { verdict: DataUseVerdict }) {
  const { t } = useTranslation();
  const v = props.verdict;
  if (!v.ok) {
    return (
      <div className="verdict verdict-bad" role="alert" data-testid="data-use-failed">
        <ShieldX size={22} />
        <div className="verdict-main">
          <strong>{t("dataUse.failed")}</strong>
          <p>{t("dataUse.failedLead")}</p>
          <ul className="problem-list">
            {v.problems.map((p) => (
              <li key={p}>
                <code className="problem-detail">{p}</code>
              </li>
            ))}
          </ul>
        </div>
      </div>
    );
  }
  if (v.rows.length === 0) return null;
  return (
    <div className="verdict verdict-ok" role="status" data-testid="data-use-verified">
      <ShieldCheck size={22} />
      <div className="verdict-main">
        <strong>{t("dataUse.verified")}</strong>
        {v.proven > 0 ? <p>{t("dataUse.summary", { count: v.proven })}</p> : null}
        {v.pending > 0 ? <p>{t("dataUse.pending", { count: v.pending })}</p> : null}
      </div>
    </div>
  );
}

function UseTable(props: { verdict: DataUseVerdict; purposeNames: ReadonlyMap<string, string> }) {
  const { t } = useTranslation();
  const word = (family: string, id: string, fallback = id) =>
    t(`dataUse.${family}.${id.replace(/[^a-z0-9]+/g, "_")}`, { defaultValue: fallback });
  // A purpose of the catalogue reads in the customer's language; one the merchant made up
  // reads by the name it declared for it.
  const purpose = (id: string) => word("purposes", id, props.purposeNames.get(id) ?? id);
  const cols = {
    at: t("dataUse.columns.at"),
    role: t("dataUse.columns.role"),
    purpose: t("dataUse.columns.purpose"),
    basis: t("dataUse.columns.basis"),
    categories: t("dataUse.columns.categories"),
    action: t("dataUse.columns.action"),
    status: t("dataUse.columns.status"),
  };
  return (
    <div className="table-wrap data-use-wrap">
      <table className="table data-use-table" data-testid="data-use-table">
        <caption className="sr-only">{t("dataUse.caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{cols.at}</th>
            <th scope="col">{cols.role}</th>
            <th scope="col">{cols.purpose}</th>
            <th scope="col">{cols.basis}</th>
            <th scope="col">{cols.categories}</th>
            <th scope="col">{cols.action}</th>
            <th scope="col">{cols.status}</th>
          </tr>
        </thead>
        <tbody>
          {props.verdict.rows.map(({ record: r, state, problem }) => {
            const action = actionOf(r.action);
            const basis = basisOf(r);
            return (
              <tr key={r.id} data-testid="data-use-row" data-state={state} data-action={r.action}>
                <td data-label={cols.at}>
                  <DateTime iso={r.at} />
                </td>
                <td data-label={cols.role} data-testid="data-use-role">
                  {word("roles", r.role)}
                </td>
                <td data-label={cols.purpose} data-testid="data-use-purpose">
                  {purpose(r.purpose)}
                </td>
                <td data-label={cols.basis} data-testid="data-use-basis">
                  {basis.kind === "basis" ? word("bases", basis.key) : null}
                  {basis.kind === "no_consent" ? t("dataUse.noConsent") : null}
                  {basis.kind === "consent" ? (
                    <>
                      {t("dataUse.bases.consent")} <code>{basis.consentId}</code>
                    </>
                  ) : null}
                </td>
                <td data-label={cols.categories}>
                  {r.categories.map((c) => word("categories", c)).join(", ")}
                </td>
                <td data-label={cols.action} data-testid="data-use-action">
                  {word("actions", action.key, r.action)}
                  {action.refused ? (
                    <>
                      {" "}
                      <Pill tone="warn" icon={<Cross size={12} />}>
                        <span data-testid="data-use-refused">{t("dataUse.refused")}</span>
                      </Pill>
                    </>
                  ) : null}
                </td>
                <td data-label={cols.status}>
                  <Status state={state} problem={problem} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Status(props: { state: RecordState; problem?: string }) {
  const { t } = useTranslation();
  switch (props.state) {
    case "proven":
      return (
        <Pill tone="ok" icon={<Check size={12} />}>
          {t("dataUse.status.proven")}
        </Pill>
      );
    case "pending":
      return (
        <Pill tone="neutral" icon={<Clock size={12} />}>
          {t("dataUse.status.pending")}
        </Pill>
      );
    default:
      return (
        <Pill tone="bad" icon={<Cross size={12} />} title={props.problem}>
          {t("dataUse.status.failed")}
        </Pill>
      );
  }
}

import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { DateTime, useErrorText } from "../../layout/ui.js";
import { type RuleProblem, type RuleView, ruleProblems, type Simulation } from "../api.js";
import { type SimulatedRule, useSimulate } from "../hooks/useRules.js";
import { formatMoney } from "../money.js";
import { instantOf } from "../rule-forms.js";
import { RuleProblems } from "./RuleProblems.js";

const DAY = 86_400_000;
const local = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

/**
 * The rule set with this rule as the editor holds it, run over a past window's orders beside
 * the set in force: points, their cost at the programme's point value, orders and customers
 * given points, and how many customers would get another total. Writes nothing.
 */
export function SimulationPanel(props: {
  ruleId: string;
  document: Record<string, unknown> | undefined;
  rules: RuleView[];
  pointName: string;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const errorText = useErrorText();
  const simulate = useSimulate();
  const [from, setFrom] = useState(() => local(Date.now() - 30 * DAY));
  // Blank: up to now, read when the simulation runs.
  const [to, setTo] = useState("");
  const [problems, setProblems] = useState<RuleProblem[]>([]);
  const [error, setError] = useState<string>();
  const [report, setReport] = useState<Simulation>();

  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    setProblems([]);
    setError(undefined);
    const start = instantOf(from);
    const endAt = to === "" ? new Date().toISOString() : instantOf(to);
    if (!props.document) {
      setError(t("loyalty.simulate.noDocument"));
      return;
    }
    if (!start || !endAt || endAt <= start) {
      setError(t("loyalty.simulate.windowInvalid"));
      return;
    }
    // The other rules as they are in force now; this one as the editor holds it.
    const set: SimulatedRule[] = props.rules
      .filter((r) => r.id !== props.ruleId && r.current)
      .map((r) => ({ id: r.id, document: r.current?.document }));
    set.push({ id: props.ruleId, document: props.document });
    const end = Math.min(Date.parse(endAt), Date.now());
    try {
      setReport(
        await simulate.mutateAsync({ rules: set, from: start, to: new Date(end).toISOString() }),
      );
    } catch (err) {
      const listed = err instanceof ConsoleApiError ? ruleProblems(err.details) : [];
      if (listed.length) setProblems(listed);
      else setError(errorText(err).detail);
    }
  };

  const money = (minor: number) =>
    report ? formatMoney(minor, report.currency, i18n.language) : "";
  const signed = (n: number, text: string) => (n > 0 ? `+${text}` : text);
  const number = (n: number) => n.toLocaleString(i18n.language);
  return (
    <div className="simulation" data-testid="simulation">
      <form className="form inline-form" onSubmit={run} noValidate>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-from`}>
            {t("loyalty.simulate.from")}
          </label>
          <input
            id={`${id}-from`}
            className="input"
            type="datetime-local"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
            data-testid="simulate-from"
          />
        </div>
        <div className="form-field">
          <label className="label" htmlFor={`${id}-to`}>
            {t("loyalty.simulate.to")}
          </label>
          <input
            id={`${id}-to`}
            className="input"
            type="datetime-local"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            aria-describedby={`${id}-to-hint`}
            data-testid="simulate-to"
          />
          <p className="hint field-hint" id={`${id}-to-hint`}>
            {t("loyalty.simulate.toHint")}
          </p>
        </div>
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={simulate.isPending}
            data-testid="simulate-run"
          >
            {simulate.isPending ? <Spinner /> : null} {t("loyalty.simulate.run")}
          </button>
        </div>
      </form>
      <RuleProblems id={`${id}-problems`} problems={problems} />
      {error ? (
        <p className="field-error" role="alert" data-testid="simulate-error">
          {error}
        </p>
      ) : null}
      {report ? (
        <div className="simulation-report" role="status" data-testid="simulation-report">
          <p>
            {t("loyalty.simulate.window", {
              orders: number(report.orders),
              customers: number(report.customers),
            })}{" "}
            <DateTime iso={report.from} /> – <DateTime iso={report.to} />
          </p>
          <div className="table-wrap">
            <table className="table simulation-table">
              <caption className="sr-only">{t("loyalty.simulate.caption")}</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">{t("loyalty.simulate.measure")}</span>
                  </th>
                  <th scope="col">{t("loyalty.simulate.draft")}</th>
                  <th scope="col">{t("loyalty.simulate.published")}</th>
                  <th scope="col">{t("loyalty.simulate.difference")}</th>
                </tr>
              </thead>
              <tbody>
                <tr data-testid="simulate-points">
                  <th scope="row">{t("loyalty.simulate.points", { name: props.pointName })}</th>
                  <td data-label={t("loyalty.simulate.draft")}>{number(report.draft.points)}</td>
                  <td data-label={t("loyalty.simulate.published")}>
                    {number(report.published.points)}
                  </td>
                  <td data-label={t("loyalty.simulate.difference")}>
                    {signed(report.difference.points, number(report.difference.points))}
                  </td>
                </tr>
                <tr data-testid="simulate-cost">
                  <th scope="row">{t("loyalty.simulate.cost")}</th>
                  <td data-label={t("loyalty.simulate.draft")}>{money(report.draft.cost)}</td>
                  <td data-label={t("loyalty.simulate.published")}>
                    {money(report.published.cost)}
                  </td>
                  <td data-label={t("loyalty.simulate.difference")}>
                    {signed(report.difference.cost, money(report.difference.cost))}
                  </td>
                </tr>
                <tr>
                  <th scope="row">{t("loyalty.simulate.ordersGiven")}</th>
                  <td data-label={t("loyalty.simulate.draft")}>{number(report.draft.orders)}</td>
                  <td data-label={t("loyalty.simulate.published")}>
                    {number(report.published.orders)}
                  </td>
                  <td data-label={t("loyalty.simulate.difference")}>
                    {signed(
                      report.draft.orders - report.published.orders,
                      number(report.draft.orders - report.published.orders),
                    )}
                  </td>
                </tr>
                <tr data-testid="simulate-customers">
                  <th scope="row">{t("loyalty.simulate.customersGiven")}</th>
                  <td data-label={t("loyalty.simulate.draft")}>{number(report.draft.customers)}</td>
                  <td data-label={t("loyalty.simulate.published")}>
                    {number(report.published.customers)}
                  </td>
                  <td data-label={t("loyalty.simulate.difference")}>
                    {t("loyalty.simulate.affected", { count: report.difference.customers })}
                  </td>
                </tr>
              </tbody>
            </table>
          </div>
          <h3 className="form-title">{t("loyalty.simulate.byRule")}</h3>
          <div className="table-wrap">
            <table className="table" data-testid="simulate-rules">
              <thead>
                <tr>
                  <th scope="col">{t("loyalty.simulate.rule")}</th>
                  <th scope="col">{t("loyalty.simulate.points", { name: props.pointName })}</th>
                  <th scope="col">{t("loyalty.simulate.ordersGiven")}</th>
                  <th scope="col">{t("loyalty.simulate.failed")}</th>
                </tr>
              </thead>
              <tbody>
                {report.draft.rules.map((r) => (
                  <tr key={r.rule} data-rule={r.rule}>
                    <td data-label={t("loyalty.simulate.rule")}>
                      <code>{r.rule}</code>
                    </td>
                    <td data-label={t("loyalty.simulate.points", { name: props.pointName })}>
                      {number(r.points)}
                    </td>
                    <td data-label={t("loyalty.simulate.ordersGiven")}>{number(r.orders)}</td>
                    <td data-label={t("loyalty.simulate.failed")}>{number(r.failed)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}
    </div>
  );
}

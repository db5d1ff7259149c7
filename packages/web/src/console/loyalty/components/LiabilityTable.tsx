import { useTranslation } from "react-i18next";
import { Field, Fields } from "../../../components/ui.js";
import type { Liability } from "../api.js";
import { formatMoney } from "../money.js";

/**
 * The points outstanding (pending and available) at the programme's point value, by the month
 * their lots expire; lots that do not expire are a row of their own, last. Debt is apart.
 */
export function LiabilityTable(props: { liability: Liability }) {
  const { t, i18n } = useTranslation();
  const l = props.liability;
  const number = (n: number) => n.toLocaleString(i18n.language);
  const money = (minor: number) => formatMoney(minor, l.currency, i18n.language);
  const monthName = (month: string) => {
    const [y, m] = month.split("-").map(Number);
    return new Intl.DateTimeFormat(i18n.language, {
      year: "numeric",
      month: "long",
      timeZone: "UTC",
    }).format(new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1)));
  };
  const column = {
    month: t("loyalty.liability.column.month"),
    points: t("loyalty.liability.column.points", { name: l.pointName }),
    available: t("loyalty.liability.column.available"),
    pending: t("loyalty.liability.column.pending"),
    value: t("loyalty.liability.column.value", { currency: l.currency }),
    lots: t("loyalty.liability.column.lots"),
  };
  return (
    <div className="liability-view">
      <Fields>
        <Field label={t("loyalty.liability.totalPoints", { name: l.pointName })}>
          <span data-testid="liability-points">{number(l.total.points)}</span>
        </Field>
        <Field label={t("loyalty.liability.totalValue")}>
          <span data-testid="liability-value">{money(l.total.value)}</span>
        </Field>
        <Field label={t("loyalty.liability.customers")}>{number(l.total.customers)}</Field>
        <Field label={t("loyalty.liability.pointValue")}>
          {formatMoney(l.valuePer100Points, l.currency, i18n.language, 2)}
        </Field>
        <Field label={t("loyalty.liability.debt")}>
          <span data-testid="liability-debt">
            {t("loyalty.liability.debtValue", {
              points: number(l.debt.points),
              value: money(l.debt.value),
              count: l.debt.customers,
            })}
          </span>
        </Field>
      </Fields>
      {l.months.length === 0 ? (
        <p className="empty-line" data-testid="liability-empty">
          {t("loyalty.liability.none")}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="liability-table">
            <caption className="sr-only">
              {t("loyalty.liability.caption", { zone: l.timeZone })}
            </caption>
            <thead>
              <tr>
                {Object.values(column).map((c) => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {l.months.map((m) => (
                <tr
                  key={m.month ?? "never"}
                  data-testid="liability-row"
                  data-month={m.month ?? "never"}
                >
                  <th scope="row" data-label={column.month}>
                    {m.month === null ? t("loyalty.liability.noExpiry") : monthName(m.month)}
                  </th>
                  <td data-label={column.points}>{number(m.points)}</td>
                  <td data-label={column.available}>{number(m.available)}</td>
                  <td data-label={column.pending}>{number(m.pending)}</td>
                  <td data-label={column.value}>{money(m.value)}</td>
                  <td data-label={column.lots}>{number(m.lots)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr data-testid="liability-total">
                <th scope="row" data-label={column.month}>
                  {t("loyalty.liability.total")}
                </th>
                <td data-label={column.points}>{number(l.total.points)}</td>
                <td data-label={column.available}>{number(l.total.available)}</td>
                <td data-label={column.pending}>{number(l.total.pending)}</td>
                <td data-label={column.value}>{money(l.total.value)}</td>
                <td data-label={column.lots}>{number(l.total.lots)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      )}
      <p className="hint">{t("loyalty.liability.note", { zone: l.timeZone })}</p>
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Field, Fields } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useProgramme } from "../../loyalty/hooks/useProgramme.js";
import { formatMoney } from "../../loyalty/money.js";
import { type Qualification, useCustomerPoints } from "../hooks/useCustomerPoints.js";

/**
 * The customer's points on their 360: available, pending, held, debt, tier and the progress to
 * keep it or reach the next, with the way to the members and to an adjustment of their points.
 */
export function CustomerLoyalty(props: { customerId: string; canWrite: boolean }) {
  const { t, i18n } = useTranslation();
  const points = useCustomerPoints(props.customerId);
  const programme = useProgramme();
  if (points.isPending) return <LoadingState />;
  if (points.isError) return <ErrorMessage error={points.error} retry={() => points.refetch()} />;
  const p = points.data;
  const terms = programme.data?.programme;
  const tierName = (id: string) => terms?.tiers.find((x) => x.id === id)?.name ?? id;
  const number = (n: number) => n.toLocaleString(i18n.language);
  const amount = (n: number) => `${number(n)} ${pointNameFor(p.pointName, n, i18n.language)}`;
  const figure = (q: Qualification, n: number) =>
    q.metric === "spend" && terms ? formatMoney(n, terms.currency, i18n.language) : amount(n);
  const progress = (q: Qualification, key: "keep" | "next") => (
    <div className="loyalty-progress" data-testid={`customer-tier-${key}`}>
      <p>
        {t(`customerLoyalty.${key}`, {
          tier: tierName(q.tier),
          figure: figure(q, q.figure),
          threshold: figure(q, q.threshold),
          count: q.months,
        })}
      </p>
      <progress
        max={Math.max(q.threshold, 1)}
        value={Math.min(q.figure, Math.max(q.threshold, 1))}
        aria-label={t(`customerLoyalty.${key}Label`, { tier: tierName(q.tier) })}
      />
    </div>
  );
  const { current, next } = p.tierProgress;
  return (
    <div data-testid="customer-loyalty">
      <Fields>
        <Field label={t("customerLoyalty.balance")}>
          <span data-testid="customer-points-balance">{amount(p.balance)}</span>
        </Field>
        <Field label={t("customerLoyalty.pending")}>
          <span data-testid="customer-points-pending">{amount(p.pending)}</span>
        </Field>
        <Field label={t("customerLoyalty.held")}>
          <span data-testid="customer-points-held">{amount(p.held)}</span>
        </Field>
        <Field label={t("customerLoyalty.debt")}>
          <span data-testid="customer-points-debt">{amount(p.debt)}</span>
        </Field>
        <Field label={t("customerLoyalty.tier")}>
          <span data-testid="customer-points-tier">
            {p.tier === null ? t("customerLoyalty.noTier") : tierName(p.tier)}
          </span>
        </Field>
      </Fields>
      {current ? progress(current, "keep") : null}
      {next ? progress(next, "next") : null}
      {p.tier !== null && current && !next ? (
        <p className="muted">{t("customerLoyalty.top")}</p>
      ) : null}
      <p className="card-links">
        <Link to="/loyalty/members">{t("customerLoyalty.members")}</Link>
        {props.canWrite ? (
          <>
            {" · "}
            <Link
              to={`/loyalty/adjustments?customer=${encodeURIComponent(props.customerId)}`}
              data-testid="customer-points-adjust"
            >
              {t("customerLoyalty.adjust", { pointName: p.pointName })}
            </Link>
          </>
        ) : null}
      </p>
    </div>
  );
}

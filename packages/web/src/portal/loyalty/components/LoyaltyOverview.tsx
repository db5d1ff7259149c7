import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Card } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useHistoryCheck } from "../../verify/hooks.js";
import { formatMoney } from "../describe.js";
import { usePoints } from "../hooks.js";
import type { Lot, Points, Tier } from "../schemas.js";
import { nextTier, qualifying } from "../tiers.js";

/** The customer's points at a merchant: available, pending, owed, their lots and tier. */
export function LoyaltyOverview() {
  const { t, i18n } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const points = usePoints(merchant);
  if (points.isPending) return <LoadingState />;
  if (points.isError) return <ErrorMessage error={points.error} retry={() => points.refetch()} />;
  const p = points.data;
  return (
    <>
      <Card title={t("loyalty.overview.title")}>
        <dl className="loyalty-figures">
          <div className="loyalty-figure">
            <dt>{t("loyalty.overview.balance")}</dt>
            <dd data-testid="loyalty-balance">
              <span className="loyalty-number">{p.balance.toLocaleString()}</span> {p.pointName}
            </dd>
          </div>
          <div className="loyalty-figure">
            <dt>{t("loyalty.overview.pending")}</dt>
            <dd data-testid="loyalty-pending">
              <span className="loyalty-number">{p.pending.toLocaleString()}</span> {p.pointName}
            </dd>
          </div>
          {p.debt > 0 ? (
            <div className="loyalty-figure">
              <dt>{t("loyalty.overview.debt")}</dt>
              <dd data-testid="loyalty-debt">
                <span className="loyalty-number">{p.debt.toLocaleString()}</span> {p.pointName}
              </dd>
            </div>
          ) : null}
        </dl>
        <p className="hint">
          {p.programme.returnWindowDays > 0
            ? t("loyalty.overview.pendingHint", { count: p.programme.returnWindowDays })
            : t("loyalty.overview.noWindow")}{" "}
          {p.debt > 0 ? t("loyalty.overview.debtHint") : null}
        </p>
        <p className="hint">
          {t("loyalty.overview.value", {
            value: formatMoney(p.programme.valuePer100Points, p.programme.currency, i18n.language),
            pointName: p.pointName,
          })}{" "}
          <Link to={`/m/${merchant}/points/history`}>{t("loyalty.overview.checkLink")}</Link>
        </p>
      </Card>
      <TierCard points={p} />
      <Lots points={p} />
    </>
  );
}

function TierCard(props: { points: Points }) {
  const { t } = useTranslation();
  const { tiers } = props.points.programme;
  if (tiers.length === 0) {
    return (
      <Card title={t("loyalty.tier.title")}>
        <p className="muted" data-testid="loyalty-no-tiers">
          {t("loyalty.tier.none")}
        </p>
      </Card>
    );
  }
  const current = tiers.find((x) => x.id === props.points.tier);
  const next = nextTier(tiers, props.points.tier);
  return (
    <Card title={t("loyalty.tier.title")}>
      <p data-testid="loyalty-tier">
        {current
          ? t("loyalty.tier.current", { tier: current.name })
          : props.points.tier
            ? t("loyalty.tier.current", { tier: props.points.tier })
            : t("loyalty.tier.noneYet")}
      </p>
      {next ? (
        <TierProgress
          tier={next}
          pointName={props.points.pointName}
          currency={props.points.programme.currency}
        />
      ) : null}
      <ul className="plain-list loyalty-list loyalty-tiers">
        {tiers.map((tier) => (
          <li key={tier.id} aria-current={tier.id === current?.id ? "true" : undefined}>
            <strong>{tier.name}</strong>
            {": "}
            <TierRule
              tier={tier}
              pointName={props.points.pointName}
              currency={props.points.programme.currency}
            />
          </li>
        ))}
      </ul>
    </Card>
  );
}

function TierRule(props: { tier: Tier; pointName: string; currency: string }) {
  const { t, i18n } = useTranslation();
  const q = props.tier.qualification;
  return (
    <>
      {q.metric === "points"
        ? t("loyalty.tier.byPoints", {
            threshold: q.threshold.toLocaleString(),
            pointName: props.pointName,
            count: q.months,
          })
        : t("loyalty.tier.bySpend", {
            threshold: formatMoney(q.threshold, props.currency, i18n.language),
            count: q.months,
          })}
    </>
  );
}

/** How far the customer's verified history goes toward the next tier. */
function TierProgress(props: { tier: Tier; pointName: string; currency: string }) {
  const { t, i18n } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const history = useHistoryCheck(merchant);
  const verdict = history.data?.verdict;
  if (!verdict?.ok) return null;
  const q = props.tier.qualification;
  const have = qualifying(verdict.entries, q.metric, q.months, Date.now());
  const left = Math.max(0, q.threshold - have);
  const show = (n: number) =>
    q.metric === "points" ? n.toLocaleString() : formatMoney(n, props.currency, i18n.language);
  return (
    <div className="loyalty-progress" data-testid="loyalty-tier-progress">
      <progress
        max={Math.max(1, q.threshold)}
        value={Math.min(have, q.threshold)}
        aria-label={t("loyalty.tier.progressLabel", { tier: props.tier.name })}
      />
      <p className="hint">
        {t(q.metric === "points" ? "loyalty.tier.havePoints" : "loyalty.tier.haveSpend", {
          have: show(have),
          left: show(left),
          tier: props.tier.name,
          pointName: props.pointName,
          count: q.months,
        })}
      </p>
    </div>
  );
}

function Lots(props: { points: Points }) {
  const { t } = useTranslation();
  const { lots, lotCount, pointName } = props.points;
  return (
    <Card title={t("loyalty.lots.title")}>
      <p className="hint">{t("loyalty.lots.lead")}</p>
      {lots.length === 0 ? (
        <p className="muted" data-testid="loyalty-no-lots">
          {t("loyalty.lots.none")}
        </p>
      ) : (
        <ul className="plain-list loyalty-list loyalty-lots" data-testid="loyalty-lots">
          {lots.map((lot) => (
            <LotItem key={lot.id} lot={lot} pointName={pointName} />
          ))}
        </ul>
      )}
      {lotCount > lots.length ? (
        <p className="hint">{t("loyalty.lots.more", { count: lotCount - lots.length })}</p>
      ) : null}
    </Card>
  );
}

function LotItem(props: { lot: Lot; pointName: string }) {
  const { t, i18n } = useTranslation();
  const { lot } = props;
  return (
    <li className="loyalty-lot" data-testid="loyalty-lot" data-status={lot.status}>
      <div className="loyalty-lot-head">
        <strong>
          {lot.remaining === lot.points
            ? t("loyalty.lots.points", {
                count: lot.points,
                pointName: pointNameFor(props.pointName, lot.points, i18n.language),
              })
            : t("loyalty.lots.left", {
                left: lot.remaining.toLocaleString(),
                count: lot.points,
                pointName: pointNameFor(props.pointName, lot.points, i18n.language),
              })}
        </strong>{" "}
        <span className={lot.status === "available" ? "pill pill-ok" : "pill pill-warn"}>
          {t(`loyalty.lots.status.${lot.status}`)}
        </span>
      </div>
      <dl className="history-values">
        <div className="field">
          <dt>{t("loyalty.lots.from")}</dt>
          <dd data-testid="loyalty-lot-source">
            {lot.source.type === "order"
              ? t("loyalty.lots.order", { order: lot.source.orderId })
              : lot.source.type === "transfer"
                ? t("loyalty.lots.transfer")
                : t("loyalty.lots.adjustment")}
          </dd>
        </div>
        <div className="field">
          <dt>{t("loyalty.lots.awarded")}</dt>
          <dd>
            <DateTime iso={lot.awardedAt} />
          </dd>
        </div>
        <div className="field">
          <dt>{t("loyalty.lots.available")}</dt>
          <dd>
            <DateTime iso={lot.availableAt} />
          </dd>
        </div>
        <div className="field">
          <dt>{t("loyalty.lots.expires")}</dt>
          <dd data-testid="loyalty-lot-expires">
            {lot.expiresAt ? <DateTime iso={lot.expiresAt} /> : t("loyalty.lots.never")}
          </dd>
        </div>
      </dl>
    </li>
  );
}

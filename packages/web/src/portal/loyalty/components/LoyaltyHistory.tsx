import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Check, Refresh, ShieldCheck, ShieldX } from "../../../components/icons.js";
import { Card, Spinner } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { DateTime, ErrorMessage } from "../../layout/ui.js";
import { formatMoney } from "../describe.js";
import { useLoyaltyHistory } from "../hooks.js";
import type { AwardCheck, LoyaltyRow, LoyaltyVerdict, PublishedCheck } from "../verify.js";
import { RulesProblems } from "./RulesProblems.js";

/**
 * The customer's loyalty entries, from their history verified in this browser, each award
 * recomputed here from the published rule version it names (verify.ts). A mismatch is a red
 * alert, and nothing is then said to match.
 */
export function LoyaltyHistory() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const { history, rules, loyalty } = useLoyaltyHistory(merchant);
  const verdict = history.data?.verdict;
  // An award naming a version published after the rules were read: read them again, once.
  const behind =
    loyalty !== undefined &&
    rules.data !== undefined &&
    verdict?.ok === true &&
    rules.data.answer.size < verdict.head.size &&
    loyalty.rows.some((r) => r.awards.some((a) => a.state === "unpublished"));
  useEffect(() => {
    if (behind && !rules.isFetching) rules.refetch();
  }, [behind, rules]);
  const busy = history.isFetching || history.isPending || rules.isPending || rules.isFetching;
  return (
    <Card
      title={t("loyalty.history.title")}
      actions={
        history.data || history.isError ? (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              history.refetch();
              rules.refetch();
            }}
            disabled={busy}
            data-testid="loyalty-recheck"
          >
            <Refresh size={14} /> {t("loyalty.history.recheck")}
          </button>
        ) : null
      }
    >
      <p className="hint">{t("loyalty.history.lead")}</p>
      {busy ? (
        <p className="hint" role="status">
          <Spinner /> {t("loyalty.history.checking")}
        </p>
      ) : null}
      {history.isError ? (
        <ErrorMessage error={history.error} retry={() => history.refetch()} />
      ) : null}
      {rules.isError ? <ErrorMessage error={rules.error} retry={() => rules.refetch()} /> : null}
      {!busy && verdict && !verdict.ok ? (
        <div className="verdict verdict-bad" role="alert" data-testid="loyalty-history-failed">
          <ShieldX size={22} />
          <div className="verdict-main">
            <strong>{t("loyalty.history.historyFailed")}</strong>
            <p>
              <Link to={`/m/${merchant}/history`}>{t("loyalty.history.historyLink")}</Link>
            </p>
          </div>
        </div>
      ) : null}
      {!busy && loyalty && rules.data ? (
        <Outcome
          loyalty={loyalty}
          published={rules.data.check}
          pointName={rules.data.answer.programme.programme.pointName}
        />
      ) : null}
    </Card>
  );
}

function Outcome(props: { loyalty: LoyaltyVerdict; published: PublishedCheck; pointName: string }) {
  const { t } = useTranslation();
  const { loyalty, published } = props;
  const bad = loyalty.failed > 0 || !published.ok;
  return (
    <>
      {bad ? (
        <div className="verdict verdict-bad" role="alert" data-testid="loyalty-mismatch">
          <ShieldX size={22} />
          <div className="verdict-main">
            <strong>{t("loyalty.history.mismatchTitle")}</strong>
            <p>{t("loyalty.history.mismatchLead", { count: loyalty.failed })}</p>
            {!published.ok ? <RulesProblems problems={published.problems} /> : null}
          </div>
        </div>
      ) : (
        <div className="verdict verdict-ok" role="status" data-testid="loyalty-verified">
          <ShieldCheck size={22} />
          <div className="verdict-main">
            <strong>
              {loyalty.awards > 0
                ? t("loyalty.history.allMatch", { count: loyalty.awards })
                : t("loyalty.history.noAwards")}
            </strong>
            <p>{t("loyalty.history.allMatchLead")}</p>
          </div>
        </div>
      )}
      {loyalty.rows.length === 0 ? (
        <p className="muted" data-testid="loyalty-history-empty">
          {t("loyalty.history.empty")}
        </p>
      ) : (
        <ol className="plain-list loyalty-list history-list" data-testid="loyalty-entries">
          {loyalty.rows.map((r) => (
            <Row key={r.index} row={r} pointName={props.pointName} />
          ))}
        </ol>
      )}
    </>
  );
}

/** Points that moved: sent, received, set aside for a code, spent at the till, returned. */
const MOVED: readonly string[] = [
  "points.sent",
  "points.received",
  "redemption.held",
  "redemption.captured",
  "redemption.released",
];

function Row(props: { row: LoyaltyRow; pointName: string }) {
  const { t, i18n } = useTranslation();
  /** The point name agreeing with `n` (1 star, 2 stars). */
  const named = (n: number) => pointNameFor(props.pointName, n, i18n.language);
  const r = props.row;
  return (
    <li
      className="history-item"
      data-testid="loyalty-entry"
      data-type={r.type}
      data-ok={r.ok ? "true" : "false"}
    >
      <div className="history-item-head">
        <strong>{t(`loyalty.history.types.${r.type}`)}</strong>{" "}
        <code className="muted">{r.type}</code>
      </div>
      <p className="hint history-meta">
        <DateTime iso={r.time} /> · {t("loyalty.history.entry", { index: r.index })}
        {r.orderId ? ` · ${t("loyalty.history.order", { order: r.orderId })}` : null}
      </p>
      <p className="loyalty-entry-facts">
        {r.type === "order.recorded" && r.amount !== undefined && r.currency
          ? t("loyalty.history.orderFacts", {
              amount: formatMoney(r.amount, r.currency, i18n.language),
              count: r.items ?? 0,
            })
          : null}
        {r.type === "points.awarded"
          ? t("loyalty.history.awardedFacts", {
              count: r.points ?? 0,
              pointName: named(r.points ?? 0),
            })
          : null}
        {r.debtRepaid
          ? ` ${t("loyalty.history.debtRepaid", { count: r.debtRepaid, pointName: named(r.debtRepaid) })}`
          : null}
        {r.type === "order.refunded"
          ? t("loyalty.history.refundFacts", {
              before: r.pointsBefore,
              after: r.pointsAfter,
              pointName: props.pointName,
            })
          : null}
        {MOVED.includes(r.type)
          ? t(`loyalty.history.movedFacts.${r.type}`, {
              points: (r.points ?? 0).toLocaleString(),
              pointName: named(r.points ?? 0),
            })
          : null}
        {r.type === "points.reversed"
          ? t("loyalty.history.reversedFacts", {
              count: r.points ?? 0,
              debt: r.debt ?? 0,
              writtenOff: r.writtenOff ?? 0,
              pointName: named(r.points ?? 0),
            })
          : null}
      </p>
      {r.awards.length > 0 ? (
        <ul className="plain-list loyalty-list loyalty-awards">
          {r.awards.map((a) => (
            <AwardLine key={`${a.rule}@${a.version}`} award={a} pointName={props.pointName} />
          ))}
        </ul>
      ) : null}
      {r.problems.length > 0 ? (
        <ul className="problem-list check-bad" data-testid="loyalty-entry-problems">
          {r.problems.map((p) => (
            <li key={p}>
              <code className="problem-detail">{p}</code>
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function AwardLine(props: { award: AwardCheck; pointName: string }) {
  const { t, i18n } = useTranslation();
  const a = props.award;
  const pointName = pointNameFor(props.pointName, a.recomputed ?? 0, i18n.language);
  const rule = t("loyalty.history.rule", { name: a.name ?? a.rule, version: a.version });
  if (a.state === "ok") {
    return (
      <li className="check-ok loyalty-award" data-testid="award-recomputed" data-rule={a.rule}>
        <Check size={14} />{" "}
        <span>
          {t("loyalty.history.recomputed", { count: a.recomputed ?? 0, rule, pointName })}
        </span>
      </li>
    );
  }
  return (
    <li className="check-bad loyalty-award" data-testid="award-mismatch" data-rule={a.rule}>
      <ShieldX size={14} />{" "}
      <span>
        <strong>
          {a.state === "mismatch"
            ? t("loyalty.history.differs", {
                recorded: a.recorded,
                recomputed: a.recomputed ?? "?",
                rule,
                pointName,
              })
            : a.state === "unpublished"
              ? t("loyalty.history.unpublished", { recorded: a.recorded, rule, pointName })
              : t("loyalty.history.unverified", { recorded: a.recorded, rule, pointName })}
        </strong>
        {a.problems.map((p) => (
          <code key={p} className="problem-detail">
            {p}
          </code>
        ))}
      </span>
    </li>
  );
}

import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { Clock, ShieldCheck, ShieldX } from "../../../components/icons.js";
import { Card, shorten } from "../../../components/ui.js";
import { capitalise } from "../../../lib/point-name.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { describeRule, formatMoney } from "../describe.js";
import { usePublishedRules } from "../hooks.js";
import type { Programme, PublishedRules } from "../schemas.js";
import { type PublishedCheck, type PublishedVersion, versionKey } from "../verify.js";
import { RulesProblems } from "./RulesProblems.js";

/**
 * The merchant's rules as published on the ledger, in plain words generated from each proven
 * document, and what changes when: publications and retirements still to come, and the past.
 */
export function LoyaltyRules() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const rules = usePublishedRules(merchant);
  if (rules.isPending) return <LoadingState />;
  if (rules.isError) return <ErrorMessage error={rules.error} retry={() => rules.refetch()} />;
  const { answer, check } = rules.data;
  const programme = answer.programme.programme;
  return (
    <>
      <Card title={t("loyalty.rules.title")}>
        <p className="hint">{t("loyalty.rules.lead")}</p>
        {check.ok ? (
          <div className="verdict verdict-ok" role="status" data-testid="rules-verified">
            <ShieldCheck size={22} />
            <div className="verdict-main">
              <strong>
                {t("loyalty.rules.verified", {
                  count: check.versions.size,
                  size: (check.head?.size ?? 0).toLocaleString(),
                })}
              </strong>
              <p>{t("loyalty.rules.verifiedLead")}</p>
            </div>
          </div>
        ) : (
          <div className="verdict verdict-bad" role="alert" data-testid="rules-failed">
            <ShieldX size={22} />
            <div className="verdict-main">
              <strong>{t("loyalty.rules.failed")}</strong>
              <RulesProblems problems={check.problems} />
            </div>
          </div>
        )}
        <InForce answer={answer} check={check} programme={programme} />
      </Card>
      <Schedule answer={answer} check={check} />
      <ProgrammeCard programme={programme} />
    </>
  );
}

function InForce(props: { answer: PublishedRules; check: PublishedCheck; programme: Programme }) {
  const { t } = useTranslation();
  const current = props.answer.rules.flatMap((r) => {
    const v = r.current ? props.check.versions.get(versionKey(r.id, r.current.version)) : undefined;
    return v ? [v] : [];
  });
  if (current.length === 0) {
    return (
      <p className="muted" data-testid="rules-none">
        {t("loyalty.rules.none")}
      </p>
    );
  }
  return (
    <ul className="plain-list loyalty-list history-list" data-testid="rules-in-force">
      {current.map((v) => (
        <RuleItem key={v.rv.id} version={v} programme={props.programme} />
      ))}
    </ul>
  );
}

function RuleItem(props: { version: PublishedVersion; programme: Programme }) {
  const { t, i18n } = useTranslation();
  const { rv, index, effectiveFrom } = props.version;
  const words = describeRule(rv.rule, {
    pointName: props.programme.pointName,
    currency: props.programme.currency,
    language: i18n.language,
    t: (key, options) => t(key, options) as string,
  });
  return (
    <li className="history-item" data-testid="rule" data-rule={rv.id}>
      <div className="history-item-head">
        <strong>{rv.rule.name}</strong>{" "}
        <span className="muted">{t("loyalty.rules.version", { version: rv.version })}</span>
      </div>
      <p data-testid="rule-words">{words.gives}</p>
      {words.condition ? (
        <p className="loyalty-rule-detail" data-testid="rule-condition">
          {t("loyalty.words.condition")} <code className="loyalty-formula">{words.condition}</code>
        </p>
      ) : null}
      {words.details.map((d) => (
        <p key={d} className="loyalty-rule-detail">
          {d}
        </p>
      ))}
      {words.validity ? (
        <p className="loyalty-rule-detail" data-testid="rule-validity">
          {words.validity}
        </p>
      ) : null}
      {rv.rule.description ? <p className="hint">{rv.rule.description}</p> : null}
      <p className="hint history-meta">
        {t("loyalty.rules.since")} <DateTime iso={effectiveFrom} /> ·{" "}
        {t("loyalty.history.entry", { index })} · {t("loyalty.rules.hash")}{" "}
        <code className="did" title={rv.hash}>
          {shorten(rv.hash, 10)}
        </code>
      </p>
      <details className="loyalty-document">
        <summary>{t("loyalty.rules.document")}</summary>
        <pre className="command-line">{JSON.stringify(rv.document, null, 2)}</pre>
        <p className="hint">
          {t("loyalty.rules.hash")} <code className="loyalty-formula">{rv.hash}</code>
        </p>
      </details>
    </li>
  );
}

interface Change {
  at: string;
  rule: string;
  name: string;
  version: number;
  event: "published" | "retired";
  entry: number;
  /** The version it supersedes, for a publication. */
  replaces?: number;
}

function Schedule(props: { answer: PublishedRules; check: PublishedCheck }) {
  const { t } = useTranslation();
  const now = Date.now();
  const changes: Change[] = [];
  for (const r of props.answer.rules) {
    let before: number | undefined;
    for (const h of r.history) {
      if (h.replaced) continue;
      const v = props.check.versions.get(versionKey(r.id, h.version));
      changes.push({
        at: h.effectiveFrom,
        rule: r.id,
        name: v?.rv.rule.name ?? r.id,
        version: h.version,
        event: h.event,
        entry: h.entryIndex,
        replaces: h.event === "published" ? before : undefined,
      });
      if (h.event === "published") before = h.version;
    }
  }
  changes.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const upcoming = changes.filter((c) => Date.parse(c.at) > now);
  const past = changes.filter((c) => Date.parse(c.at) <= now).reverse();
  return (
    <Card title={t("loyalty.rules.scheduleTitle")}>
      <p className="hint">{t("loyalty.rules.scheduleLead")}</p>
      <h3 className="loyalty-subhead">{t("loyalty.rules.upcoming")}</h3>
      {upcoming.length === 0 ? (
        <p className="muted" data-testid="rules-nothing-scheduled">
          {t("loyalty.rules.nothingScheduled")}
        </p>
      ) : (
        <ul className="plain-list loyalty-list loyalty-changes" data-testid="rules-upcoming">
          {upcoming.map((c) => (
            <ChangeItem key={c.entry} change={c} upcoming />
          ))}
        </ul>
      )}
      {past.length > 0 ? (
        <>
          <h3 className="loyalty-subhead">{t("loyalty.rules.past")}</h3>
          <ul className="plain-list loyalty-list loyalty-changes" data-testid="rules-past">
            {past.map((c) => (
              <ChangeItem key={c.entry} change={c} />
            ))}
          </ul>
        </>
      ) : null}
    </Card>
  );
}

function ChangeItem(props: { change: Change; upcoming?: boolean }) {
  const { t } = useTranslation();
  const c = props.change;
  const text =
    c.event === "retired"
      ? t("loyalty.rules.change.retired", { name: c.name })
      : c.replaces !== undefined
        ? t("loyalty.rules.change.replaces", {
            name: c.name,
            version: c.version,
            previous: c.replaces,
          })
        : t("loyalty.rules.change.published", { name: c.name, version: c.version });
  return (
    <li className="loyalty-change" data-testid="rule-change" data-event={c.event}>
      {props.upcoming ? <Clock size={14} /> : null}
      <DateTime iso={c.at} /> — <span>{text}</span>{" "}
      <span className="muted">{t("loyalty.history.entry", { index: c.entry })}</span>
    </li>
  );
}

function ProgrammeCard(props: { programme: Programme }) {
  const { t, i18n } = useTranslation();
  const p = props.programme;
  return (
    <Card title={t("loyalty.programme.title")}>
      <ul className="plain-list loyalty-list loyalty-terms" data-testid="programme-terms">
        <li>
          {t("loyalty.programme.value", {
            pointName: p.pointName,
            value: formatMoney(p.valuePer100Points, p.currency, i18n.language),
          })}
        </li>
        <li>
          {/* The point name starts these sentences. */}
          {capitalise(
            p.returnWindowDays > 0
              ? t("loyalty.programme.window", { count: p.returnWindowDays, pointName: p.pointName })
              : t("loyalty.programme.noWindow", { pointName: p.pointName }),
            i18n.language,
          )}
        </li>
        <li>{t("loyalty.programme.timeZone", { zone: p.timeZone })}</li>
        {p.tiers.length > 0 ? (
          <li>
            {t("loyalty.programme.tiers", {
              list: p.tiers.map((x) => x.name).join(t("loyalty.words.listSeparator")),
            })}
          </li>
        ) : null}
      </ul>
    </Card>
  );
}

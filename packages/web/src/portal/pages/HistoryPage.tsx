import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import {
  Alert,
  Anchor as AnchorIcon,
  Check,
  Clock,
  Cross,
  Info,
  Refresh,
  ShieldCheck,
  ShieldX,
} from "../../components/icons.js";
import { Card, Pill, Spinner, shorten } from "../../components/ui.js";
import { dateLocale } from "../i18n/date-locale.js";
import { DateTime, ErrorMessage, useTitle } from "../layout/ui.js";
import type { ChainAnchor, ChainMismatch } from "../verify/chain.js";
import { type Continuity, contradicts } from "../verify/continuity.js";
import { ExportCard } from "../verify/ExportCard.js";
import { actedBy, formatValue, type Problem, type ProvenHistoryEntry } from "../verify/history.js";
import {
  type HistoryCheck,
  type HistoryStep,
  useHistoryAnchor,
  useHistoryCheck,
} from "../verify/hooks.js";
import { forgetLastCheck } from "../verify/last-check.js";
import type { FieldValue } from "../verify/schemas.js";

/**
 * The customer's history at one merchant, proven in the browser (verify/history.ts): the
 * checkpoint's signature, every entry's inclusion, every signature of theirs, every value's
 * commitment, the chain with no gap, that the log still holds what this browser verified last
 * time (verify/continuity.ts), and whether it is anchored, read from the chain (verify/chain.ts).
 */
export function HistoryPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const check = useHistoryCheck(merchant);
  useTitle(t("history.title"));
  const verdict = check.data?.verdict;
  return (
    <div className="stack" data-testid="history">
      <Card
        title={t("history.title")}
        actions={
          check.data || check.isError ? (
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => check.refetch()}
              disabled={check.isFetching}
              data-testid="history-recheck"
            >
              <Refresh size={14} /> {t("history.recheck")}
            </button>
          ) : null
        }
      >
        <p className="hint">{t("history.lead")}</p>
        {check.isFetching || check.isPending ? <Progress step={check.step} /> : null}
        {check.isError ? <ErrorMessage error={check.error} retry={() => check.refetch()} /> : null}
        {!check.isFetching && verdict && !verdict.ok ? (
          <Failed problems={verdict.problems} />
        ) : null}
        {!check.isFetching && check.data && verdict?.ok ? (
          <Verified
            check={check.data}
            forget={() => {
              forgetLastCheck(merchant, check.data.customer);
              check.refetch();
            }}
          />
        ) : null}
      </Card>
      {!check.isFetching && check.data && verdict?.ok ? (
        <Entries entries={verdict.entries} currentKey={check.data.currentKey} />
      ) : null}
      <ExportCard merchant={merchant} />
    </div>
  );
}

function Progress(props: { step: HistoryStep }) {
  const { t } = useTranslation();
  const s = props.step;
  const order: HistoryStep["step"][] = ["key", "history", "fields", "verify"];
  const at = order.indexOf(s.step);
  const count = "fetched" in s ? s.fetched : 0;
  const label = (step: HistoryStep["step"]) =>
    step === "key"
      ? t("history.steps.key")
      : step === "history"
        ? t("history.steps.history", { count })
        : step === "fields"
          ? t("history.steps.fields", { count })
          : t("history.steps.verify", { count });
  return (
    <div className="verify-progress" data-testid="history-progress">
      <progress
        max={order.length}
        value={at + 0.5}
        aria-label={t("history.steps.label")}
        className="verify-bar"
      />
      <ol className="plain-list verify-steps" aria-live="polite">
        {order.slice(0, at + 1).map((step, i) => (
          <li key={step} className={i < at ? "check-ok" : "check-skip"}>
            {i < at ? <Check size={14} /> : <Spinner />} <span>{label(step)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Every problem, each naming the entry or value and what failed; nothing reads as verified. */
function Failed(props: { problems: Problem[] }) {
  const { t, i18n } = useTranslation();
  const field = (name: string | undefined) =>
    name ? fieldLabel(name, t, (k) => i18n.exists(k)) : "";
  return (
    <div className="verdict verdict-bad" role="alert" data-testid="history-failed">
      <ShieldX size={22} />
      <div className="verdict-main">
        <strong>{t("history.failed")}</strong>
        <p>{t("history.failedLead")}</p>
        <ul className="problem-list">
          {props.problems.map((p) => (
            <li key={p.detail} data-testid="history-problem" data-entry={p.entry}>
              <strong>
                {t(`history.problems.${p.kind}`, {
                  entry: p.entry,
                  field: field(p.field),
                })}
              </strong>
              <code className="problem-detail">{p.detail}</code>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function Verified(props: { check: HistoryCheck; forget: () => void }) {
  const { t } = useTranslation();
  const v = props.check.verdict;
  const anchor = useHistoryAnchor(props.check);
  if (!v.ok) return null;
  const size = v.head.size.toLocaleString();
  const continuity = props.check.continuity;
  const broken = continuity !== undefined && contradicts(continuity);
  return (
    <div
      className="verify-verdict"
      data-testid={broken ? "history-contradicted" : "history-verified"}
    >
      {broken ? (
        <div className="verdict verdict-bad" role="alert" data-testid="history-continuity-alert">
          <ShieldX size={22} />
          <div className="verdict-main">
            <strong>{t("history.continuity.alertTitle")}</strong>
            <p>
              <ContinuityText
                c={continuity}
                count={v.entries.length}
                size={v.head.size}
                origin={v.head.checkpoint.origin}
              />
            </p>
            <p>{t("history.continuity.alertLead")}</p>
            <p className="hint">
              <button
                type="button"
                className="btn btn-ghost"
                onClick={props.forget}
                data-testid="history-forget"
              >
                {t("history.continuity.forget")}
              </button>{" "}
              {t("history.continuity.forgetHint")}
            </p>
          </div>
        </div>
      ) : (
        <div className="verdict verdict-ok" role="status">
          <ShieldCheck size={22} />
          <div className="verdict-main">
            <strong>{t("history.verified")}</strong>
            <p data-testid="history-summary">
              {t("history.summary", { count: v.entries.length, size })}
            </p>
          </div>
        </div>
      )}
      <ul className="plain-list verify-checks">
        <li className="check-ok">
          <Check size={14} />
          <span>
            {t("history.checks.checkpoint", {
              size,
              key: `${v.head.keyName}+${v.head.keyId}`,
            })}
          </span>
        </li>
        <li className="check-ok">
          <Check size={14} />
          <span>{t("history.checks.inclusion")}</span>
        </li>
        {v.signed > 0 ? (
          <li className="check-ok">
            <Check size={14} />
            <span>{t("history.checks.signatures", { count: v.signed })}</span>
          </li>
        ) : null}
        {v.fields > 0 ? (
          <li className="check-ok">
            <Check size={14} />
            <span>{t("history.checks.fields", { count: v.fields })}</span>
          </li>
        ) : null}
        <li className="check-ok" data-testid="history-chain">
          <Check size={14} />
          <span>{t("history.checks.chain")}</span>
        </li>
        {continuity ? (
          <ContinuityRow
            c={continuity}
            count={v.entries.length}
            size={v.head.size}
            origin={v.head.checkpoint.origin}
          />
        ) : null}
        <AnchorRow
          state={anchor.data}
          pending={anchor.isPending}
          failed={anchor.isError && !anchor.data}
        />
      </ul>
    </div>
  );
}

/** A date and time in the page's language. */
function useWhen() {
  const { i18n } = useTranslation();
  return (iso: string) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return new Intl.DateTimeFormat(dateLocale(i18n.language), {
      dateStyle: "medium",
      timeStyle: "short",
    }).format(d);
  };
}

/** What this check says of the last one this browser verified, in words. */
function ContinuityText(props: { c: Continuity; count: number; size: number; origin: string }) {
  const { t } = useTranslation();
  const when = useWhen();
  const { c } = props;
  const size = props.size.toLocaleString();
  if (c.kind === "first") return <>{t("history.continuity.first", { count: props.count, size })}</>;
  const last = {
    lastSize: c.last.size.toLocaleString(),
    date: when(c.last.at),
    head: c.last.head,
    size,
  };
  switch (c.kind) {
    case "consistent":
      return <>{t("history.continuity.consistent", { count: props.count, ...last })}</>;
    case "behind":
      return <>{t("history.continuity.behind", last)}</>;
    case "unchecked":
      return <>{t("history.continuity.unchecked", last)}</>;
    case "rewritten":
      return <>{t("history.continuity.rewritten", last)}</>;
    case "headLost":
      return <>{t("history.continuity.headLost", last)}</>;
    default:
      return (
        <>
          {t("history.continuity.otherLog", {
            ...last,
            lastOrigin: c.last.origin,
            origin: props.origin,
          })}
        </>
      );
  }
}

function ContinuityRow(props: { c: Continuity; count: number; size: number; origin: string }) {
  const { c } = props;
  const bad = contradicts(c);
  const ok = c.kind === "first" || c.kind === "consistent";
  return (
    <li
      className={bad ? "check-bad" : ok ? "check-ok" : "check-skip"}
      data-testid="history-continuity"
      data-state={c.kind}
    >
      {bad ? <Cross size={14} /> : ok ? <Check size={14} /> : <Info size={14} />}
      <span>
        <ContinuityText c={c} count={props.count} size={props.size} origin={props.origin} />
      </span>
    </li>
  );
}

function AnchorRow(props: { state?: ChainAnchor; pending: boolean; failed: boolean }) {
  const { t } = useTranslation();
  const s = props.state;
  const row = (cls: string, icon: ReactNode, text: ReactNode, testState: string, label = true) => (
    <li className={cls} data-testid="history-anchor" data-state={testState}>
      {icon}
      <span>
        {label ? <span className="check-label">{t("history.anchor.label")}: </span> : null}
        {text}
      </span>
    </li>
  );
  if (!s) {
    if (props.failed)
      return row("check-skip", <Info size={14} />, t("history.anchor.error"), "error");
    return row("check-skip", <Spinner />, t("history.anchor.checking"), "checking");
  }
  switch (s.kind) {
    case "anchored": {
      const words = {
        chain: s.source.chainId,
        size: s.size.toLocaleString(),
        checkpoint: s.checkpoint.toLocaleString(),
        host: s.source.host,
      };
      return row(
        "check-ok",
        <AnchorIcon size={14} />,
        <>
          {s.how === "exact"
            ? t("history.anchor.exact", words)
            : s.how === "later"
              ? t("history.anchor.later", words)
              : t("history.anchor.earlier", words)}{" "}
          <span className="hint">
            {t("history.anchor.contract")}{" "}
            <code title={s.source.contract} className="did" data-testid="history-anchor-contract">
              {shorten(s.source.contract, 8)}
            </code>
            {s.txHash ? (
              <>
                , {t("history.anchor.transaction")}{" "}
                <code title={s.txHash} className="did">
                  {shorten(s.txHash, 8)}
                </code>
              </>
            ) : null}
            .
          </span>
        </>,
        `anchored-${s.how}`,
        // The words begin with "Anchored on chain N".
        false,
      );
    }
    case "mismatch":
      return (
        <li className="check-bad" data-testid="history-anchor" data-state="mismatch">
          <Cross size={14} />
          <span role="alert">
            <span className="check-label">{t("history.anchor.label")}: </span>
            <strong>{t("history.anchor.mismatch.title")}</strong>:{" "}
            <MismatchText problem={s.problem} host={s.source.host} chain={s.source.chainId} />{" "}
            <span className="hint">
              {t("history.anchor.contract")}{" "}
              <code title={s.source.contract} className="did">
                {shorten(s.source.contract, 8)}
              </code>
              .
            </span>
          </span>
        </li>
      );
    case "pending":
      return row(
        "check-skip",
        <Clock size={14} />,
        <>
          {t("history.anchor.pending", {
            latest: s.latest.toLocaleString(),
            size: s.size.toLocaleString(),
            host: s.source.host,
          })}
          {s.nodeFailing ? <> {t("history.anchor.nodeFailing")}</> : null}
        </>,
        "pending",
      );
    case "noRpc":
      return row("check-skip", <Info size={14} />, t("history.anchor.noRpc"), "no-rpc");
    case "unreachable":
      return row(
        "check-skip",
        <Alert size={14} />,
        <>
          {t("history.anchor.unreachable", { host: s.host })}{" "}
          <code className="problem-detail">{s.detail}</code>
        </>,
        "unreachable",
      );
    case "proofError":
      return row("check-skip", <Alert size={14} />, t("history.anchor.proofError"), "proof-error");
    case "off":
      return row("check-skip", <Info size={14} />, t("history.anchor.off"), "off");
    default:
      return row("check-skip", <Info size={14} />, t("history.anchor.unavailable"), "unavailable");
  }
}

function MismatchText(props: { problem: ChainMismatch; host: string; chain: number }) {
  const { t } = useTranslation();
  const p = props.problem;
  switch (p.what) {
    case "chain":
      return (
        <>
          {t("history.anchor.mismatch.chain", {
            host: props.host,
            chain: props.chain,
            nodeChain: p.nodeChainId,
          })}
        </>
      );
    case "noContract":
      return <>{t("history.anchor.mismatch.noContract", { chain: props.chain })}</>;
    case "origin":
      return (
        <>
          {t("history.anchor.mismatch.origin", {
            contractOrigin: p.contractOrigin,
            logOrigin: p.logOrigin,
          })}
        </>
      );
    case "root":
      return <>{t("history.anchor.mismatch.root", { size: p.size.toLocaleString() })}</>;
    case "consistency":
      return <>{t("history.anchor.mismatch.consistency", { size: p.size.toLocaleString() })}</>;
    default:
      return <>{t("history.anchor.mismatch.noRoot", { size: p.size.toLocaleString() })}</>;
  }
}

type T = ReturnType<typeof useTranslation>["t"];

/** A personal field's name for people: the profile's words, an interaction, a note. */
function fieldLabel(name: string, t: T, exists: (key: string) => boolean): string {
  if (name.startsWith("interaction/")) return t("history.interaction");
  if (name.startsWith("note/")) return t("history.note");
  const key = `profile.fields.${name}`;
  return exists(key) ? t(key) : name;
}

function Entries(props: { entries: ProvenHistoryEntry[]; currentKey: string }) {
  const { t } = useTranslation();
  return (
    <Card title={t("history.entriesTitle")}>
      <p className="hint">{t("history.entriesLead")}</p>
      <ol className="plain-list history-list" data-testid="history-entries">
        {props.entries.map((e) => (
          <EntryItem key={e.index} item={e} currentKey={props.currentKey} />
        ))}
      </ol>
    </Card>
  );
}

function EntryItem(props: { item: ProvenHistoryEntry; currentKey: string }) {
  const { t, i18n } = useTranslation();
  const { entry, index, fields } = props.item;
  const who = actedBy(entry, props.currentKey);
  const byText =
    who.kind === "you"
      ? who.current
        ? t("history.who.you")
        : t("history.who.youBefore")
      : who.kind === "staff"
        ? t("history.who.staff", { key: who.key })
        : who.kind === "node"
          ? t("history.who.node")
          : who.actor;
  return (
    <li className="history-item" data-testid="history-entry" data-type={entry.type}>
      <div className="history-item-head">
        <strong>{t(`history.types.${entry.type}`, { defaultValue: entry.type })}</strong>{" "}
        <code className="muted">{entry.type}</code>
        {entry.signed ? (
          <>
            {" "}
            <Pill tone="ok" icon={<Check size={12} />}>
              {t("history.signedByYou")}
            </Pill>
          </>
        ) : null}
      </div>
      <p className="hint history-meta">
        <DateTime iso={entry.time} /> · {t("history.entry", { index })} · {t("history.by")}{" "}
        <span data-testid="history-by" title={entry.actor}>
          {byText}
        </span>
        {who.kind === "you" ? (
          <>
            {" "}
            <code className="did">{shorten(who.key, 8)}</code>
          </>
        ) : null}
      </p>
      {fields.length > 0 ? (
        <dl className="history-values">
          {fields.map((f: FieldValue) => (
            <div key={`${f.customerId}/${f.field}`} className="field">
              <dt>{fieldLabel(f.field, t, (k) => i18n.exists(k))}</dt>
              <dd data-testid="history-value" data-field={f.field}>
                {formatValue(f.value) || <span className="muted">—</span>}
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
    </li>
  );
}

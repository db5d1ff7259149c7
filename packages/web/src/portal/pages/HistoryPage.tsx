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
import { DateTime, ErrorMessage, useTitle } from "../layout/ui.js";
import type { HistoryAnchor } from "../verify/anchor.js";
import { ExportCard } from "../verify/ExportCard.js";
import { actedBy, formatValue, type Problem, type ProvenHistoryEntry } from "../verify/history.js";
import {
  type HistoryCheck,
  type HistoryStep,
  useHistoryAnchor,
  useHistoryCheck,
} from "../verify/hooks.js";
import type { FieldValue } from "../verify/schemas.js";

/**
 * The customer's history at one merchant, proven in the browser (verify/history.ts): the
 * checkpoint's signature, every entry's inclusion, every signature of theirs, every value's
 * commitment, the chain with no gap, and whether the checkpoint is anchored on chain.
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
        {!check.isFetching && check.data && verdict?.ok ? <Verified check={check.data} /> : null}
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

function Verified(props: { check: HistoryCheck }) {
  const { t } = useTranslation();
  const v = props.check.verdict;
  const anchor = useHistoryAnchor(props.check);
  if (!v.ok) return null;
  const size = v.head.size.toLocaleString();
  return (
    <div className="verify-verdict" data-testid="history-verified">
      <div className="verdict verdict-ok" role="status">
        <ShieldCheck size={22} />
        <div className="verdict-main">
          <strong>{t("history.verified")}</strong>
          <p data-testid="history-summary">
            {t("history.summary", { count: v.entries.length, size })}
          </p>
        </div>
      </div>
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
        <AnchorRow
          state={anchor.data}
          pending={anchor.isPending}
          failed={anchor.isError && !anchor.data}
        />
      </ul>
    </div>
  );
}

function AnchorRow(props: { state?: HistoryAnchor; pending: boolean; failed: boolean }) {
  const { t } = useTranslation();
  const s = props.state;
  const row = (cls: string, icon: ReactNode, text: ReactNode, testState: string) => (
    <li className={cls} data-testid="history-anchor" data-state={testState}>
      {icon}
      <span>
        <span className="check-label">{t("history.anchor.label")}: </span>
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
    case "anchored":
      return row(
        "check-ok",
        <AnchorIcon size={14} />,
        <>
          {t("history.anchor.anchored", {
            size: s.size.toLocaleString(),
            chain: s.chainId ?? "?",
            block: s.blockNumber?.toLocaleString() ?? "?",
          })}
          {s.txHash ? (
            <>
              {" "}
              {t("history.anchor.transaction")}{" "}
              <code title={s.txHash} className="did">
                {shorten(s.txHash, 8)}
              </code>
              .
            </>
          ) : null}{" "}
          <span className="hint">{t("history.anchor.fromNode")}</span>
        </>,
        "anchored",
      );
    case "mismatch":
      return (
        <li className="check-bad" data-testid="history-anchor" data-state="mismatch" role="alert">
          <Cross size={14} />
          <span>
            <span className="check-label">{t("history.anchor.label")}: </span>
            {t("history.anchor.mismatch", { size: s.size.toLocaleString() })}
          </span>
        </li>
      );
    case "waiting":
      return row(
        "check-skip",
        <Clock size={14} />,
        s.inFlight ? t("history.anchor.inFlight") : t("history.anchor.waiting"),
        "waiting",
      );
    case "failed":
      return row("check-skip", <Alert size={14} />, t("history.anchor.failed"), "failed");
    case "off":
      return row("check-skip", <Info size={14} />, t("history.anchor.off"), "off");
    default:
      return row("check-skip", <Info size={14} />, t("history.anchor.unavailable"), "unavailable");
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

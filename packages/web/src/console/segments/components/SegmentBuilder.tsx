import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { CHANNEL_KINDS, STAGES } from "../../api/schemas.js";
import { ErrorMessage, useErrorText } from "../../layout/ui.js";
import {
  type Combinator,
  conditionOf,
  RULE_FIELDS,
  type Rule,
  type RuleField,
} from "../condition.js";
import { useDefineSegment, useSegmentCount } from "../hooks/useSegments.js";

/** The value settles for a moment before the live count asks the node. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(id);
  }, [value, ms]);
  return settled;
}

const blankRule = (): Rule => ({ field: "stage", negated: false, value: "loyal" });

/** `canSave`: auditors build and count, but the node would refuse them saving. */
export function SegmentBuilder(props: { canSave: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const [combinator, setCombinator] = useState<Combinator>("and");
  const [rules, setRules] = useState<Rule[]>([blankRule()]);
  const [name, setName] = useState("");
  const condition = conditionOf(combinator, rules);
  const define = useDefineSegment();
  const errorText = useErrorText();
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    if (name.trim() === "") return;
    define.mutate({ name: name.trim(), condition }, { onSuccess: () => setName("") });
  };
  return (
    <form className="form segment-builder" onSubmit={save} noValidate>
      <RulesEditor
        combinator={combinator}
        rules={rules}
        onCombinator={setCombinator}
        onRules={setRules}
      />
      <LiveCount condition={condition} />
      <LogicView condition={condition} />
      {props.canSave ? (
        <div className="save-row">
          <div className="form-field">
            <label className="label" htmlFor={`${id}-name`}>
              {t("segments.name")}
            </label>
            <input
              id={`${id}-name`}
              className="input"
              value={name}
              maxLength={100}
              onChange={(e) => setName(e.target.value)}
              data-testid="segment-name"
            />
          </div>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={define.isPending || name.trim() === ""}
            data-testid="segment-save"
          >
            {define.isPending ? <Spinner /> : null} {t("segments.save")}
          </button>
        </div>
      ) : null}
      {define.isError ? (
        <p className="field-error" role="alert">
          {errorText(define.error).detail}
        </p>
      ) : null}
      {define.isSuccess ? (
        <p className="hint" role="status" data-testid="segment-saved">
          {t("segments.savedNotice", { name: define.data.name })}
        </p>
      ) : null}
    </form>
  );
}

/** All rules or any rule, and the rules themselves: each a fact, is / is not, and a value. */
export function RulesEditor(props: {
  combinator: Combinator;
  rules: Rule[];
  onCombinator: (next: Combinator) => void;
  onRules: (update: (rules: Rule[]) => Rule[]) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const { rules, onRules } = props;
  const change = (i: number, next: Partial<Rule>) =>
    onRules((rs) => rs.map((r, j) => (j === i ? { ...r, ...next } : r)));
  return (
    <>
      <fieldset className="fieldset">
        <legend className="label">{t("segments.match")}</legend>
        <div className="radio-row">
          {(["and", "or"] as const).map((c) => (
            <label key={c} className="radio">
              <input
                type="radio"
                name={`${id}-combinator`}
                value={c}
                checked={props.combinator === c}
                onChange={() => props.onCombinator(c)}
              />
              {t(`segments.${c}`)}
            </label>
          ))}
        </div>
      </fieldset>
      <ol className="rules">
        {rules.map((rule, i) => (
          <li
            // biome-ignore lint/suspicious/noArrayIndexKey: rules are edited in place, by position
            key={i}
            className="rule"
            data-testid="segment-rule"
          >
            <label className="sr-only" htmlFor={`${id}-field-${i}`}>
              {t("segments.field")}
            </label>
            <select
              id={`${id}-field-${i}`}
              className="input"
              value={rule.field}
              onChange={(e) => change(i, { field: e.target.value as RuleField, value: "" })}
              data-testid="rule-field"
            >
              {RULE_FIELDS.map((f) => (
                <option key={f} value={f}>
                  {t(`segments.fields.${f}`)}
                </option>
              ))}
            </select>
            <label className="sr-only" htmlFor={`${id}-op-${i}`}>
              {t("segments.operator")}
            </label>
            <select
              id={`${id}-op-${i}`}
              className="input"
              value={rule.negated ? "not" : "is"}
              onChange={(e) => change(i, { negated: e.target.value === "not" })}
            >
              <option value="is">{t("segments.is")}</option>
              <option value="not">{t("segments.isNot")}</option>
            </select>
            <RuleValue
              id={`${id}-value-${i}`}
              rule={rule}
              onChange={(value) => change(i, { value })}
            />
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => onRules((rs) => rs.filter((_, j) => j !== i))}
              aria-label={t("segments.removeRule", { n: i + 1 })}
              data-testid="rule-remove"
            >
              ×
            </button>
          </li>
        ))}
      </ol>
      <div className="form-actions">
        <button
          type="button"
          className="btn"
          onClick={() => onRules((rs) => [...rs, { field: "tag", negated: false, value: "" }])}
          data-testid="add-rule"
        >
          {t("segments.addRule")}
        </button>
      </div>
    </>
  );
}

/**
 * How many active customers the condition selects now, asked once it settles; nothing while
 * `enabled` is false (a condition that is not JSON yet, or one the node has just refused).
 */
export function LiveCount(props: { condition: unknown; enabled?: boolean }) {
  const { t } = useTranslation();
  const settled = useSettled(props.condition, 250);
  const count = useSegmentCount(settled, props.enabled ?? true);
  return (
    <div className="live-count" aria-live="polite">
      {props.enabled === false ? null : count.isError ? (
        <ErrorMessage error={count.error} />
      ) : count.data ? (
        <p>
          <span className="big-number" data-testid="segment-count">
            {count.data.count.toLocaleString()}
          </span>{" "}
          {t("segments.countLabel", { count: count.data.count })}
          {count.isFetching ? <Spinner label={t("segments.counting")} /> : null}
        </p>
      ) : (
        <Spinner label={t("segments.counting")} />
      )}
    </div>
  );
}

/** The exact condition sent, folded away. */
export function LogicView(props: { condition: unknown }) {
  const { t } = useTranslation();
  return (
    <details className="logic">
      <summary>{t("segments.logic")}</summary>
      <pre className="code" data-testid="segment-logic">
        {JSON.stringify(props.condition, null, 2)}
      </pre>
    </details>
  );
}

function RuleValue(props: { id: string; rule: Rule; onChange: (value: string) => void }) {
  const { t } = useTranslation();
  const label = (
    <label className="sr-only" htmlFor={props.id}>
      {t("segments.value")}
    </label>
  );
  const { field, value } = props.rule;
  if (field === "stage" || field === "channel") {
    const options = field === "stage" ? STAGES : ["email", "phone", ...CHANNEL_KINDS];
    return (
      <>
        {label}
        <select
          id={props.id}
          className="input"
          value={value}
          onChange={(e) => props.onChange(e.target.value)}
          data-testid="rule-value"
        >
          <option value="">—</option>
          {options.map((o) => (
            <option key={o} value={o}>
              {field === "stage" ? t(`stage.${o}`) : t(`channel.${o}`)}
            </option>
          ))}
        </select>
      </>
    );
  }
  return (
    <>
      {label}
      <input
        id={props.id}
        className="input"
        type={field === "createdAfter" || field === "createdBefore" ? "date" : "text"}
        inputMode={field === "birthMonth" ? "numeric" : undefined}
        value={value}
        maxLength={200}
        placeholder={t(`segments.placeholder.${field}`)}
        onChange={(e) => props.onChange(e.target.value)}
        data-testid="rule-value"
      />
    </>
  );
}

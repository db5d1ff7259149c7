import { useEffect, useId, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError, issuesByField } from "../../api/client.js";
import type { Segment } from "../../api/schemas.js";
import { useErrorText } from "../../layout/ui.js";
import { type Combinator, canonical, conditionOf, type Rule, rulesOf } from "../condition.js";
import { useChangeSegment } from "../hooks/useSegments.js";
import { LiveCount, LogicView, RulesEditor } from "./SegmentBuilder.js";

/**
 * A saved segment's name and condition, changed in place. The condition opens in the builder
 * when the builder can show it exactly (it wrote it), otherwise as JsonLogic to edit by hand;
 * either way the live count follows. Only what changed is sent: one entry naming it.
 */
export function SegmentEditForm(props: { segment: Segment; onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const id = useId();
  const s = props.segment;
  const parsed = useMemo(() => rulesOf(s.condition), [s.condition]);
  const [name, setName] = useState(s.name);
  const [combinator, setCombinator] = useState<Combinator>(parsed?.combinator ?? "and");
  const [rules, setRules] = useState<Rule[]>(parsed?.rules ?? []);
  const [json, setJson] = useState(() => JSON.stringify(s.condition, null, 2));
  const [nameError, setNameError] = useState<string | undefined>(undefined);
  const [conditionError, setConditionError] = useState<string | undefined>(undefined);
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const change = useChangeSegment(s.id);
  const errorText = useErrorText();
  const nameInput = useRef<HTMLInputElement>(null);
  useEffect(() => nameInput.current?.focus(), []);

  let condition: unknown;
  let jsonValid = true;
  if (parsed) {
    condition = conditionOf(combinator, rules);
  } else {
    try {
      condition = JSON.parse(json);
    } catch {
      jsonValid = false;
    }
  }

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setFormError(undefined);
    const trimmed = name.trim();
    const nameProblem = trimmed === "" ? t("segments.nameEmpty") : undefined;
    const conditionProblem = jsonValid ? undefined : t("segments.jsonInvalid");
    setNameError(nameProblem);
    setConditionError(conditionProblem);
    if (nameProblem || conditionProblem) return;
    const changes = {
      ...(trimmed !== s.name ? { name: trimmed } : {}),
      ...(canonical(condition) !== canonical(s.condition) ? { condition } : {}),
    };
    if (Object.keys(changes).length === 0) {
      props.onDone(false);
      return;
    }
    change.mutate(changes, {
      onSuccess: () => props.onDone(true),
      onError: (err) => {
        // The node says which: a condition outside the subset (with its JSON path), or a
        // validation issue of the name or the condition; anything else goes under the form.
        if (err instanceof ConsoleApiError && err.code === "invalid_condition") {
          setConditionError(err.message);
          return;
        }
        const issues = issuesByField(err);
        if (issues.has("name")) setNameError(issues.get("name"));
        if (issues.has("condition")) setConditionError(issues.get("condition"));
        if (!issues.has("name") && !issues.has("condition")) {
          setFormError(errorText(err).detail);
        }
      },
    });
  };

  return (
    <form
      className="form segment-edit"
      onSubmit={submit}
      noValidate
      aria-labelledby={`${id}-title`}
      // Escape leaves the form as Cancel does, the segment as it was.
      onKeyDown={(e) => {
        if (e.key === "Escape" && !change.isPending) props.onDone(false);
      }}
      data-testid="segment-edit"
    >
      <h3 id={`${id}-title`} className="form-title">
        {t("segments.editTitle", { name: s.name })}
      </h3>
      <div className="form-field">
        <label className="label" htmlFor={`${id}-name`}>
          {t("segments.name")}
        </label>
        <input
          ref={nameInput}
          id={`${id}-name`}
          className="input"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? `${id}-name-error` : undefined}
          data-testid="segment-edit-name"
        />
        {nameError ? (
          <p className="field-error" id={`${id}-name-error`}>
            {nameError}
          </p>
        ) : null}
      </div>
      {parsed ? (
        <RulesEditor
          combinator={combinator}
          rules={rules}
          onCombinator={(c) => {
            setCombinator(c);
            setConditionError(undefined);
          }}
          onRules={(update) => {
            setRules(update);
            setConditionError(undefined);
          }}
        />
      ) : (
        <div className="form-field">
          <label className="label" htmlFor={`${id}-json`}>
            {t("segments.logic")}
          </label>
          <textarea
            id={`${id}-json`}
            className="input mono segment-json"
            value={json}
            rows={Math.min(16, Math.max(4, json.split("\n").length))}
            spellCheck={false}
            onChange={(e) => {
              setJson(e.target.value);
              setConditionError(undefined);
            }}
            aria-invalid={conditionError || !jsonValid ? true : undefined}
            aria-describedby={[`${id}-json-hint`, conditionError ? `${id}-condition-error` : ""]
              .filter(Boolean)
              .join(" ")}
            data-testid="segment-edit-json"
          />
          <p className="hint field-hint" id={`${id}-json-hint`}>
            {t("segments.jsonHint")}
          </p>
        </div>
      )}
      {conditionError ? (
        <p
          className="field-error"
          id={`${id}-condition-error`}
          role="alert"
          data-testid="segment-edit-error"
        >
          {conditionError}
        </p>
      ) : null}
      {/* The refusal beside the condition says all there is to say about it until it changes. */}
      <LiveCount condition={condition} enabled={jsonValid && conditionError === undefined} />
      {parsed ? <LogicView condition={condition} /> : null}
      {formError ? (
        <p className="field-error" role="alert">
          {formError}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={change.isPending}
          data-testid="segment-edit-save"
        >
          {change.isPending ? <Spinner /> : null} {t("segments.saveChanges")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => props.onDone(false)}>
          {t("action.cancel")}
        </button>
      </div>
    </form>
  );
}

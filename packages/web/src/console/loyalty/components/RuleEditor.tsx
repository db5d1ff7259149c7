import { useEffect, useId, useMemo, useState } from "react";
import { useForm, useWatch } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { type RuleProblem, type RuleView, ruleProblems } from "../api.js";
import { useSaveDraft } from "../hooks/useRules.js";
import {
  canonical,
  documentOf,
  EMPTY_FIELDS,
  fieldsOf,
  type RuleFields,
  TEMPLATE_FIELDS,
  TEMPLATE_IDS,
} from "../rule-forms.js";
import { FieldShell } from "./FieldShell.js";
import { RuleProblems } from "./RuleProblems.js";

/** The node's path of a fault (`action.points`) as the form field that shows it. */
const FIELD_OF_PATH: Record<string, keyof RuleFields> = {
  name: "name",
  description: "description",
  "action.points": "points",
  "action.per": "per",
  "action.rounding": "rounding",
  "action.factor": "factor",
  "action.divisor": "factor",
  "action.rules": "multiplies",
  "scope.channels": "channels",
  "scope.categories": "categories",
  "scope.products": "products",
  validFrom: "validFrom",
  validUntil: "validUntil",
};

export type EditorState =
  | { ok: true; document: Record<string, unknown> }
  | { ok: false; reason: "form" | "json" };

/**
 * A rule's document, edited in a form for the common rules or as JSON (JsonLogic conditions)
 * for the rest. Saving sends it as the rule's draft; the node's faults come back with their
 * paths, listed under the editor and beside the form's fields. `onDocument` tells the page
 * what the editor holds now, for the simulation and for knowing whether the draft is saved.
 */
export function RuleEditor(props: {
  rule: RuleView | undefined;
  /** What to start from when the rule has no draft and no version in force. */
  published?: unknown;
  digits: number;
  currency: string;
  canWrite: boolean;
  onSaved: (rule: RuleView) => void;
  onDocument: (state: EditorState) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const errorText = useErrorText();
  const save = useSaveDraft();
  const initial = (props.rule?.draft?.document ??
    props.rule?.current?.document ??
    props.published) as Record<string, unknown> | undefined;
  const initialFields = useMemo(
    () => (initial ? fieldsOf(initial, props.digits) : { ...EMPTY_FIELDS }),
    [initial, props.digits],
  );
  const [mode, setMode] = useState<"form" | "json">(initialFields ? "form" : "json");
  const [json, setJson] = useState(() => (initial ? JSON.stringify(initial, null, 2) : ""));
  const [ruleId, setRuleId] = useState("");
  const [problems, setProblems] = useState<RuleProblem[]>([]);
  const [formError, setFormError] = useState<string>();
  const [modeNote, setModeNote] = useState<string>();
  const form = useForm<RuleFields>({ defaultValues: initialFields ?? EMPTY_FIELDS });
  const fields = useWatch({ control: form.control }) as RuleFields;
  const template = fields.template ?? "per_amount";

  // What the editor holds now, as a document or why it is not one yet.
  let state: EditorState;
  if (mode === "form") {
    const made = documentOf(fields, props.digits);
    state =
      "document" in made ? { ok: true, document: made.document } : { ok: false, reason: "form" };
  } else {
    try {
      const parsed = JSON.parse(json) as unknown;
      state =
        parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
          ? { ok: true, document: parsed as Record<string, unknown> }
          : { ok: false, reason: "json" };
    } catch {
      state = { ok: false, reason: "json" };
    }
  }
  const stateKey = state.ok ? canonical(state.document) : `!${state.reason}`;
  const { onDocument } = props;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key stands for the state
  useEffect(() => onDocument(state), [stateKey, onDocument]);

  const toJson = () => {
    const made = documentOf(fields, props.digits);
    setJson(JSON.stringify("document" in made ? made.document : (initial ?? {}), null, 2));
    setMode("json");
    setModeNote(undefined);
  };
  const toForm = () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      setModeNote(t("loyalty.editor.jsonInvalid"));
      return;
    }
    const f = fieldsOf(parsed, props.digits);
    if (!f) {
      setModeNote(t("loyalty.editor.noForm"));
      return;
    }
    form.reset(f);
    setMode("form");
    setModeNote(undefined);
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setProblems([]);
    setFormError(undefined);
    form.clearErrors();
    let document: Record<string, unknown>;
    if (mode === "form") {
      const made = documentOf(fields, props.digits);
      if (!("document" in made)) {
        for (const [k, v] of Object.entries(made.problems)) {
          form.setError(k as keyof RuleFields, { type: "client", message: v });
        }
        const first = Object.keys(made.problems)[0] as keyof RuleFields | undefined;
        if (first) form.setFocus(first);
        return;
      }
      document = made.document;
    } else {
      if (!state.ok) {
        setFormError(t("loyalty.editor.jsonInvalid"));
        return;
      }
      document = state.document;
    }
    try {
      const saved = await save.mutateAsync({
        id: props.rule?.id ?? (ruleId.trim() || undefined),
        document,
      });
      props.onSaved(saved);
    } catch (err) {
      const listed = err instanceof ConsoleApiError ? ruleProblems(err.details) : [];
      if (listed.length > 0) {
        setProblems(listed);
        if (mode === "form") {
          for (const p of listed) {
            const field = FIELD_OF_PATH[p.path];
            if (field) form.setError(field, { type: "server", message: p.message });
          }
        }
      } else {
        setFormError(errorText(err).detail);
      }
    }
  };

  const errors = form.formState.errors;
  const shown = new Set<keyof RuleFields>(["name", "description", ...TEMPLATE_FIELDS[template]]);
  const text = (name: keyof RuleFields, hint?: string, extra: Record<string, string> = {}) =>
    shown.has(name) ? (
      <FieldShell
        key={name}
        label={t(`loyalty.editor.field.${name}`, { currency: props.currency })}
        hint={hint}
        error={errors[name]}
      >
        {(c) => (
          <input
            {...c}
            className="input"
            data-testid={`rule-field-${name}`}
            {...extra}
            {...form.register(name)}
          />
        )}
      </FieldShell>
    ) : null;

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="rule-editor">
      <fieldset className="fieldset segmented">
        <legend className="sr-only">{t("loyalty.editor.mode")}</legend>
        <button
          type="button"
          className={mode === "form" ? "btn btn-primary btn-small" : "btn btn-small"}
          aria-pressed={mode === "form"}
          onClick={() => (mode === "form" ? undefined : toForm())}
          data-testid="rule-mode-form"
        >
          {t("loyalty.editor.modeForm")}
        </button>
        <button
          type="button"
          className={mode === "json" ? "btn btn-primary btn-small" : "btn btn-small"}
          aria-pressed={mode === "json"}
          onClick={() => (mode === "json" ? undefined : toJson())}
          data-testid="rule-mode-json"
        >
          {t("loyalty.editor.modeJson")}
        </button>
      </fieldset>
      {modeNote ? (
        <p className="hint" role="status" data-testid="rule-mode-note">
          {modeNote}
        </p>
      ) : null}
      <fieldset className="fieldset form-grid" disabled={!props.canWrite}>
        <legend className="sr-only">{t("loyalty.editor.legend")}</legend>
        {props.rule ? null : (
          <FieldShell label={t("loyalty.editor.ruleId")} hint={t("loyalty.editor.ruleIdHint")}>
            {(c) => (
              <input
                {...c}
                className="input mono"
                value={ruleId}
                onChange={(e) => setRuleId(e.target.value)}
                data-testid="rule-id"
              />
            )}
          </FieldShell>
        )}
        {mode === "form" ? (
          <>
            <FieldShell
              label={t("loyalty.editor.template")}
              hint={t(`loyalty.editor.templateHint.${template}`)}
            >
              {(c) => (
                <select
                  {...c}
                  className="input"
                  data-testid="rule-template"
                  {...form.register("template")}
                >
                  {TEMPLATE_IDS.map((tpl) => (
                    <option key={tpl} value={tpl}>
                      {t(`loyalty.editor.templates.${tpl}`)}
                    </option>
                  ))}
                </select>
              )}
            </FieldShell>
            {text("name")}
            <div className="form-wide">{text("description")}</div>
            {template === "category_bonus"
              ? text("categories", t("loyalty.editor.listHint"))
              : null}
            {template === "product_bonus" ? text("products", t("loyalty.editor.listHint")) : null}
            {text("points", undefined, { inputMode: "numeric" })}
            {text("per", t("loyalty.editor.perHint"), { inputMode: "decimal" })}
            {shown.has("rounding") ? (
              <FieldShell label={t("loyalty.editor.field.rounding")} error={errors.rounding}>
                {(c) => (
                  <select
                    {...c}
                    className="input"
                    data-testid="rule-field-rounding"
                    {...form.register("rounding")}
                  >
                    {(["floor", "ceil", "half_up"] as const).map((r) => (
                      <option key={r} value={r}>
                        {t(`loyalty.editor.rounding.${r}`)}
                      </option>
                    ))}
                  </select>
                )}
              </FieldShell>
            ) : null}
            {text("factor", t("loyalty.editor.factorHint"), { inputMode: "decimal" })}
            {text("multiplies", t("loyalty.editor.multipliesHint"))}
            {text("minAmount", t("loyalty.editor.minAmountHint"), { inputMode: "decimal" })}
            {text("channels", t("loyalty.editor.channelsHint"))}
            {text("validFrom", undefined, { type: "datetime-local" })}
            {text("validUntil", undefined, { type: "datetime-local" })}
          </>
        ) : (
          <div className="form-field form-wide">
            <label className="label" htmlFor={`${id}-json`}>
              {t("loyalty.editor.json")}
            </label>
            <textarea
              id={`${id}-json`}
              className="input mono rule-json"
              value={json}
              rows={Math.min(24, Math.max(8, json.split("\n").length))}
              spellCheck={false}
              onChange={(e) => {
                setJson(e.target.value);
                setProblems([]);
              }}
              aria-invalid={problems.length > 0 || (!state.ok && json !== "") ? true : undefined}
              aria-describedby={`${id}-json-hint${problems.length > 0 ? ` ${id}-problems` : ""}`}
              data-testid="rule-json"
            />
            <p className="hint field-hint" id={`${id}-json-hint`}>
              {t("loyalty.editor.jsonHint")}
            </p>
          </div>
        )}
      </fieldset>
      <RuleProblems id={`${id}-problems`} problems={problems} />
      {formError ? (
        <p className="field-error" role="alert" data-testid="rule-error">
          {formError}
        </p>
      ) : null}
      {props.canWrite ? (
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={save.isPending}
            data-testid="rule-save"
          >
            {save.isPending ? <Spinner /> : null} {t("loyalty.editor.save")}
          </button>
        </div>
      ) : null}
    </form>
  );
}

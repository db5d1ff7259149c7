import { useId } from "react";
import { Controller, type FieldValues, type Path, type UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Alert } from "../../components/icons.js";
import { PortalApiError } from "../api/client.js";
import { ErrorMessage } from "../layout/ui.js";
import { SignCancelled } from "../signing/SigningProvider.js";

/**
 * Why a signed change did not happen, beside its form: a cancelled signature (nothing was sent),
 * a node refusal this part of the portal explains in its own words (`<ns>.refusals.<code>`), with
 * the node's message beneath, or any other error as every portal page shows it.
 */
export function Refusal(props: {
  error: unknown;
  ns: "consents" | "requests" | "erase";
  testId: string;
}) {
  const { t, i18n } = useTranslation();
  const err = props.error;
  if (!err) return null;
  if (err instanceof SignCancelled) {
    return (
      <p className="hint" role="status" data-testid={`${props.testId}-cancelled`}>
        {t("signing.cancelled")}
      </p>
    );
  }
  const key = err instanceof PortalApiError ? `${props.ns}.refusals.${err.code}` : "";
  if (err instanceof PortalApiError && i18n.exists(key)) {
    return (
      <div
        className="notice notice-bad"
        role="alert"
        data-testid={props.testId}
        data-code={err.code}
      >
        <Alert size={18} />
        <div>
          <strong>{t(key)}</strong>
          <p>{err.message}</p>
        </div>
      </div>
    );
  }
  return <ErrorMessage error={err} testId={props.testId} />;
}

/**
 * A group of checkboxes bound to a react-hook-form array of strings, with its legend, each
 * option's label (and hint) and the group's error announced and tied to it.
 */
export function CheckGroup<T extends FieldValues>(props: {
  form: UseFormReturn<T>;
  name: Path<T>;
  legend: string;
  options: { value: string; label: string; hint?: string }[];
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const error = props.form.getFieldState(props.name, props.form.formState).error;
  const message = error?.message
    ? i18n.exists(error.message)
      ? t(error.message)
      : error.message
    : undefined;
  return (
    <Controller
      control={props.form.control}
      name={props.name}
      render={({ field }) => {
        const value = (field.value ?? []) as string[];
        return (
          <fieldset
            className="fieldset check-group"
            aria-describedby={message ? `${id}-error` : undefined}
            data-testid={`group-${props.name}`}
          >
            <legend className="label">{props.legend}</legend>
            {props.options.map((o) => (
              <div className="check-row" key={o.value}>
                <input
                  type="checkbox"
                  className="check-input"
                  id={`${id}-${o.value}`}
                  name={field.name}
                  value={o.value}
                  checked={value.includes(o.value)}
                  onChange={(e) =>
                    field.onChange(
                      e.target.checked ? [...value, o.value] : value.filter((v) => v !== o.value),
                    )
                  }
                  onBlur={field.onBlur}
                  aria-invalid={message ? true : undefined}
                  aria-describedby={o.hint ? `${id}-${o.value}-hint` : undefined}
                  data-testid={`check-${props.name}-${o.value}`}
                />
                <div>
                  <label htmlFor={`${id}-${o.value}`}>{o.label}</label>
                  {o.hint ? (
                    <p className="hint" id={`${id}-${o.value}-hint`}>
                      {o.hint}
                    </p>
                  ) : null}
                </div>
              </div>
            ))}
            {message ? (
              <p className="field-error" id={`${id}-error`}>
                {message}
              </p>
            ) : null}
          </fieldset>
        );
      }}
    />
  );
}

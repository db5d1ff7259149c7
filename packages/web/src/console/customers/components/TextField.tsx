import { useId } from "react";
import type { FieldValues, Path, UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";

/**
 * A labelled input bound to a react-hook-form field, its error announced and tied to it.
 * Client-side messages are catalogue keys; the node's are shown as it wrote them, unless the
 * form said one of them with a key (type `catalogue`).
 */
export function TextField<T extends FieldValues>(props: {
  form: UseFormReturn<T>;
  name: Path<T>;
  label: string;
  type?: string;
  hint?: string;
  autoComplete?: string;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const error = props.form.getFieldState(props.name, props.form.formState).error;
  const message = error?.message
    ? error.type === "server" || !i18n.exists(error.message)
      ? error.message
      : t(error.message)
    : undefined;
  const describedBy = [message ? `${id}-error` : "", props.hint ? `${id}-hint` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="form-field">
      <label className="label" htmlFor={id}>
        {props.label}
      </label>
      <input
        id={id}
        className="input"
        type={props.type ?? "text"}
        autoComplete={props.autoComplete}
        aria-invalid={message ? true : undefined}
        aria-describedby={describedBy || undefined}
        data-testid={`field-${props.name}`}
        {...props.form.register(props.name)}
      />
      {props.hint ? (
        <p className="hint field-hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {message ? (
        <p className="field-error" id={`${id}-error`}>
          {message}
        </p>
      ) : null}
    </div>
  );
}

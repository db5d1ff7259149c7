import { useId } from "react";
import type { FieldValues, Path, UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";

/**
 * A labelled group of checkboxes bound to one react-hook-form field, whose value is the list
 * of the ticked options. Its error is announced and tied to the group.
 */
export function CheckboxGroup<T extends FieldValues>(props: {
  form: UseFormReturn<T>;
  name: Path<T>;
  legend: string;
  options: readonly { value: string; label: string }[];
  testId: string;
  className?: string;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const error = props.form.getFieldState(props.name, props.form.formState).error;
  const message = error?.message
    ? error.type === "server" || !i18n.exists(error.message)
      ? error.message
      : t(error.message)
    : undefined;
  return (
    <fieldset
      className={`fieldset choice-group ${props.className ?? ""}`.trim()}
      aria-describedby={message ? `${id}-error` : undefined}
      data-testid={props.testId}
    >
      <legend className="label">{props.legend}</legend>
      <div className="choice-row">
        {props.options.map((o) => (
          <label key={o.value} className="radio">
            <input type="checkbox" value={o.value} {...props.form.register(props.name)} />
            {o.label}
          </label>
        ))}
      </div>
      {message ? (
        <p className="field-error" id={`${id}-error`}>
          {message}
        </p>
      ) : null}
    </fieldset>
  );
}

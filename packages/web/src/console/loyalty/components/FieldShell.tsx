import { type ReactNode, useId } from "react";
import { useTranslation } from "react-i18next";

export interface FieldControl {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

/**
 * A label, a control, its hint and its error, tied together for assistive technology. A
 * client-side error is a catalogue key under `loyalty.problems`; the node's is shown as it
 * wrote it.
 */
export function FieldShell(props: {
  label: ReactNode;
  hint?: ReactNode;
  error?: { message?: string; type?: string | number };
  className?: string;
  children: (control: FieldControl) => ReactNode;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const raw = props.error?.message;
  const message = raw
    ? props.error?.type === "server" || !i18n.exists(`loyalty.problems.${raw}`)
      ? raw
      : t(`loyalty.problems.${raw}`)
    : undefined;
  const describedBy = [props.hint ? `${id}-hint` : "", message ? `${id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={props.className ? `form-field ${props.className}` : "form-field"}>
      <label className="label" htmlFor={id}>
        {props.label}
      </label>
      {props.children({
        id,
        "aria-invalid": message ? true : undefined,
        "aria-describedby": describedBy || undefined,
      })}
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

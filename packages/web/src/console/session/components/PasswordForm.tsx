import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";

// The node's bounds (staff/passwords.ts): 10 to 256 characters.
const PasswordValues = z
  .object({
    password: z
      .string()
      .min(10, { error: "account.passwordShort" })
      .max(256, { error: "form.tooLong" }),
    repeat: z.string(),
  })
  .refine((v) => v.password === v.repeat, { error: "account.passwordsDiffer", path: ["repeat"] });
type PasswordValues = z.infer<typeof PasswordValues>;

/** A new password, typed twice; `onSubmit` answers with the node's refusal, if any. */
export function PasswordForm(props: {
  submitLabel: string;
  busy: boolean;
  failure?: string;
  onSubmit: (password: string) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const form = useForm<PasswordValues>({
    resolver: zodResolver(PasswordValues),
    defaultValues: { password: "", repeat: "" },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit((v) => props.onSubmit(v.password));
  const field = (name: "password" | "repeat", label: string, hint?: string) => {
    const error = errors[name]?.message;
    const describedBy = [error ? `${id}-${name}-error` : "", hint ? `${id}-${name}-hint` : ""]
      .filter(Boolean)
      .join(" ");
    return (
      <div className="form-field">
        <label className="label" htmlFor={`${id}-${name}`}>
          {label}
        </label>
        <input
          id={`${id}-${name}`}
          className="input"
          type="password"
          autoComplete="new-password"
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy || undefined}
          data-testid={`new-${name}`}
          {...form.register(name)}
        />
        {hint ? (
          <p className="hint field-hint" id={`${id}-${name}-hint`}>
            {hint}
          </p>
        ) : null}
        {error ? (
          <p className="field-error" id={`${id}-${name}-error`}>
            {t(error)}
          </p>
        ) : null}
      </div>
    );
  };
  return (
    <form className="form" onSubmit={submit} noValidate>
      {field("password", t("account.newPassword"), t("account.passwordHint"))}
      {field("repeat", t("account.repeatPassword"))}
      {props.failure ? (
        <p className="field-error" role="alert" data-testid="account-error">
          {props.failure}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={props.busy}
          data-testid="password-submit"
        >
          {props.busy ? <Spinner /> : null} {props.submitLabel}
        </button>
      </div>
    </form>
  );
}

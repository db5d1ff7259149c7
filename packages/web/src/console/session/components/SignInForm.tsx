import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Lock } from "../../../components/icons.js";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { useSignIn } from "../hooks/useSession.js";

const SignInValues = z.object({
  email: z.email({ error: "signIn.emailInvalid" }),
  password: z.string().min(1, { error: "signIn.passwordRequired" }),
});
type SignInValues = z.infer<typeof SignInValues>;

export function SignInForm() {
  const { t } = useTranslation();
  const id = useId();
  const signIn = useSignIn();
  const errorText = useErrorText();
  const form = useForm<SignInValues>({
    resolver: zodResolver(SignInValues),
    defaultValues: { email: "", password: "" },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit((values) => signIn.mutate(values));
  const failure = signIn.error;
  const failureText =
    failure instanceof ConsoleApiError && failure.code === "invalid_credentials"
      ? t("signIn.wrong")
      : failure instanceof ConsoleApiError && failure.status === 429
        ? t("signIn.throttled")
        : failure
          ? errorText(failure).detail
          : undefined;
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("signIn.title")}>
      <div className="form-field">
        <label className="label" htmlFor={`${id}-email`}>
          {t("signIn.email")}
        </label>
        <input
          id={`${id}-email`}
          className="input"
          type="email"
          autoComplete="username"
          aria-invalid={errors.email ? true : undefined}
          aria-describedby={errors.email ? `${id}-email-error` : undefined}
          data-testid="sign-in-email"
          {...form.register("email")}
        />
        {errors.email?.message ? (
          <p className="field-error" id={`${id}-email-error`}>
            {t(errors.email.message)}
          </p>
        ) : null}
      </div>
      <div className="form-field">
        <label className="label" htmlFor={`${id}-password`}>
          {t("signIn.password")}
        </label>
        <input
          id={`${id}-password`}
          className="input"
          type="password"
          autoComplete="current-password"
          aria-invalid={errors.password ? true : undefined}
          aria-describedby={errors.password ? `${id}-password-error` : undefined}
          data-testid="sign-in-password"
          {...form.register("password")}
        />
        {errors.password?.message ? (
          <p className="field-error" id={`${id}-password-error`}>
            {t(errors.password.message)}
          </p>
        ) : null}
      </div>
      {failureText ? (
        <p className="field-error" role="alert" data-testid="sign-in-error">
          {failureText}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={signIn.isPending}
          data-testid="sign-in-submit"
        >
          {signIn.isPending ? <Spinner /> : <Lock size={14} />} {t("signIn.submit")}
        </button>
      </div>
    </form>
  );
}

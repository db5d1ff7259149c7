import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { issuesByField } from "../../api/client.js";
import {
  CONSENT_CATEGORIES,
  CONSENT_METHODS,
  CONSENT_PURPOSES,
  type ConsentPurpose,
} from "../../api/schemas.js";
import { TextField } from "../../customers/components/TextField.js";
import { CheckboxGroup } from "../../layout/CheckboxGroup.js";
import { DateTime, useErrorText } from "../../layout/ui.js";
import { useRecordConsent } from "../hooks/useConsents.js";

// The node's limits (consent/routes.ts GrantBody), so most mistakes are caught before a request.
const ConsentValues = z
  .object({
    purposes: z.array(z.enum(CONSENT_PURPOSES)).min(1, { error: "consents.pickPurpose" }),
    categories: z.array(z.enum(CONSENT_CATEGORIES)).min(1, { error: "consents.pickCategory" }),
    validUntil: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "consents.dateInvalid" })
      .refine((s) => Date.parse(`${s}T23:59:59Z`) > Date.now(), { error: "consents.datePast" }),
    method: z.enum(CONSENT_METHODS),
    text: z
      .string()
      .max(20_000, { error: "form.tooLong" })
      .refine((s) => s.trim() !== "", { error: "consents.textEmpty" }),
    textVersion: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "consents.versionInvalid" }),
    email: z.string().trim().max(254, { error: "form.tooLong" }),
  })
  .refine((v) => v.method !== "double_opt_in" || v.email === "" || v.email.includes("@"), {
    error: "form.emailInvalid",
    path: ["email"],
  });
type ConsentValues = z.infer<typeof ConsentValues>;

const inAYear = () => {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
};

/**
 * Records a consent the customer gave without a key, with its evidence: how it was given, the
 * exact text shown and that text's version. "Double opt-in" emails the customer a link
 * instead, and the consent exists once they confirm it.
 */
export function ConsentForm(props: { customerId: string; emails: string[] }) {
  const { t } = useTranslation();
  const id = useId();
  const record = useRecordConsent(props.customerId);
  const errorText = useErrorText();
  const form = useForm<ConsentValues>({
    resolver: zodResolver(ConsentValues),
    defaultValues: {
      purposes: [] as ConsentPurpose[],
      categories: ["contact"],
      validUntil: inAYear(),
      method: "till",
      text: "",
      textVersion: "",
      email: props.emails[0] ?? "",
    },
  });
  const method = form.watch("method");
  const submit = form.handleSubmit(async (v) => {
    try {
      await record.mutateAsync({
        purposes: v.purposes,
        categories: v.categories,
        validUntil: `${v.validUntil}T23:59:59Z`,
        method: v.method,
        text: v.text,
        textVersion: v.textVersion,
        ...(v.method === "double_opt_in" && v.email ? { email: v.email } : {}),
      });
      form.reset({ ...v, text: "", purposes: [] });
    } catch (err) {
      let placed = false;
      for (const [field, message] of issuesByField(err)) {
        if (field in v) {
          form.setError(field as keyof ConsentValues, { type: "server", message });
          placed = true;
        }
      }
      if (!placed) form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  const textError = form.formState.errors.text;
  const textMessage = textError?.message
    ? textError.type === "server"
      ? textError.message
      : t(textError.message)
    : undefined;
  const done = record.data;
  return (
    <form className="form form-grid consent-form" onSubmit={submit} noValidate>
      <h3 className="form-title">{t("consents.recordTitle")}</h3>
      <CheckboxGroup
        form={form}
        name="purposes"
        legend={t("consents.purposes")}
        options={CONSENT_PURPOSES.map((p) => ({
          value: p,
          label: t(`consents.purposeNames.${p}`),
        }))}
        testId="consent-purposes"
        className="form-wide"
      />
      <CheckboxGroup
        form={form}
        name="categories"
        legend={t("consents.categories")}
        options={CONSENT_CATEGORIES.map((c) => ({
          value: c,
          label: t(`access.categoryNames.${c}`),
        }))}
        testId="consent-categories"
        className="form-wide"
      />
      <div className="form-field">
        <label className="label" htmlFor={`${id}-method`}>
          {t("consents.method")}
        </label>
        <select
          id={`${id}-method`}
          className="input"
          data-testid="consent-method"
          {...form.register("method")}
        >
          {CONSENT_METHODS.map((m) => (
            <option key={m} value={m}>
              {t(`consents.methods.${m}`)}
            </option>
          ))}
        </select>
      </div>
      <TextField
        form={form}
        name="validUntil"
        type="date"
        label={t("consents.validUntil")}
        hint={t("consents.validUntilHint")}
      />
      <div className="form-field form-wide">
        <label className="label" htmlFor={`${id}-text`}>
          {t("consents.text")}
        </label>
        <textarea
          id={`${id}-text`}
          className="input"
          rows={3}
          aria-invalid={textMessage ? true : undefined}
          aria-describedby={textMessage ? `${id}-text-error ${id}-text-hint` : `${id}-text-hint`}
          data-testid="consent-text"
          {...form.register("text")}
        />
        <p className="hint field-hint" id={`${id}-text-hint`}>
          {t("consents.textHint")}
        </p>
        {textMessage ? (
          <p className="field-error" id={`${id}-text-error`}>
            {textMessage}
          </p>
        ) : null}
      </div>
      <TextField
        form={form}
        name="textVersion"
        label={t("consents.textVersion")}
        hint={t("consents.textVersionHint")}
      />
      {method === "double_opt_in" ? (
        <TextField
          form={form}
          name="email"
          type="email"
          label={t("consents.email")}
          hint={t("consents.emailHint")}
        />
      ) : null}
      {form.formState.errors.root ? (
        <p className="field-error form-wide" role="alert" data-testid="consent-error">
          {form.formState.errors.root.message}
        </p>
      ) : null}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={record.isPending}
          data-testid="consent-submit"
        >
          {record.isPending ? <Spinner /> : null}{" "}
          {method === "double_opt_in" ? t("consents.sendLink") : t("consents.record")}
        </button>
      </div>
      {done ? (
        <p className="notice form-wide" role="status" data-testid="consent-done">
          {"consent" in done ? (
            t("consents.recorded")
          ) : (
            <>
              {t("consents.linkSent")} <DateTime iso={done.expiresAt} />
            </>
          )}
        </p>
      ) : null}
    </form>
  );
}

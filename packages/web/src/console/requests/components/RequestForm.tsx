import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { IDENTITY_CHECKS, REQUEST_CHANNELS, REQUEST_KINDS } from "../../api/schemas.js";
import { CheckboxGroup } from "../../layout/CheckboxGroup.js";
import { useErrorText } from "../../layout/ui.js";
import { useRecordRequest } from "../hooks/useRequests.js";

const RequestValues = z.object({
  kind: z.enum(REQUEST_KINDS),
  channel: z.enum(REQUEST_CHANNELS),
  checks: z.array(z.enum(IDENTITY_CHECKS)),
});
type RequestValues = z.infer<typeof RequestValues>;

/**
 * Records a data-subject request that came by email, post, phone, in person or to staff. The
 * deadline starts now (one month); with no identity check yet, it waits for one.
 */
export function RequestForm(props: { customerId: string }) {
  const { t } = useTranslation();
  const id = useId();
  const record = useRecordRequest(props.customerId);
  const errorText = useErrorText();
  const form = useForm<RequestValues>({
    resolver: zodResolver(RequestValues),
    defaultValues: { kind: "access", channel: "email", checks: [] },
  });
  const submit = form.handleSubmit(async (v) => {
    try {
      await record.mutateAsync(v);
      form.reset();
    } catch (err) {
      form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  const select = (name: "kind" | "channel", options: readonly string[], family: string) => (
    <div className="form-field">
      <label className="label" htmlFor={`${id}-${name}`}>
        {t(`requests.${name}`)}
      </label>
      <select
        id={`${id}-${name}`}
        className="input"
        data-testid={`request-${name}`}
        {...form.register(name)}
      >
        {options.map((o) => (
          <option key={o} value={o}>
            {t(`${family}.${o}`)}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <form className="form form-grid request-form" onSubmit={submit} noValidate>
      <h3 className="form-title">{t("requests.recordTitle")}</h3>
      {select("kind", REQUEST_KINDS, "requests.kinds")}
      {select("channel", REQUEST_CHANNELS, "requests.channels")}
      <CheckboxGroup
        form={form}
        name="checks"
        legend={t("requests.checksDone")}
        options={IDENTITY_CHECKS.map((c) => ({ value: c, label: t(`checks.${c}`) }))}
        testId="request-checks"
        className="form-wide"
      />
      {form.formState.errors.root ? (
        <p className="field-error form-wide" role="alert">
          {form.formState.errors.root.message}
        </p>
      ) : null}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={record.isPending}
          data-testid="request-submit"
        >
          {record.isPending ? <Spinner /> : null} {t("requests.record")}
        </button>
      </div>
    </form>
  );
}

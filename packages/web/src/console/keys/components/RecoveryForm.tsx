import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { RECOVERY_CHECKS } from "../../api/schemas.js";
import { TextField } from "../../customers/components/TextField.js";
import { CheckboxGroup } from "../../layout/CheckboxGroup.js";
import { useErrorText } from "../../layout/ui.js";
import { useStartRecovery } from "../hooks/useCustomerKey.js";

const RecoveryValues = z.object({
  key: z
    .string()
    .trim()
    .regex(/^did:key:z[1-9A-HJ-NP-Za-km-z]{40,120}$/, { error: "customerKey.didInvalid" }),
  checks: z.array(z.enum(RECOVERY_CHECKS)).min(1, { error: "customerKey.pickCheck" }),
});
type RecoveryValues = z.infer<typeof RecoveryValues>;

/**
 * Starts a recovery after a lost key (owners and admins): the customer's new did:key, from the
 * portal on their new device, and the identity checks done. The new key binds when the
 * time-lock ends; the old key and the customer's contacts are told, and the old key can veto.
 */
export function RecoveryForm(props: { customerId: string }) {
  const { t } = useTranslation();
  const start = useStartRecovery(props.customerId);
  const errorText = useErrorText();
  const form = useForm<RecoveryValues>({
    resolver: zodResolver(RecoveryValues),
    defaultValues: { key: "", checks: [] },
  });
  const submit = form.handleSubmit(async (v) => {
    try {
      await start.mutateAsync(v);
      form.reset();
    } catch (err) {
      form.setError("key", { type: "server", message: errorText(err).detail });
    }
  });
  return (
    <form className="form recovery-form" onSubmit={submit} noValidate>
      <h3 className="form-title">{t("customerKey.recoverTitle")}</h3>
      <p className="hint">{t("customerKey.recoverLead")}</p>
      <TextField
        form={form}
        name="key"
        label={t("customerKey.newKey")}
        hint={t("customerKey.newKeyHint")}
        autoComplete="off"
      />
      <CheckboxGroup
        form={form}
        name="checks"
        legend={t("customerKey.checks")}
        options={RECOVERY_CHECKS.map((c) => ({ value: c, label: t(`checks.${c}`) }))}
        testId="recovery-checks"
      />
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={start.isPending}
          data-testid="recovery-start"
        >
          {start.isPending ? <Spinner /> : null} {t("customerKey.recoverStart")}
        </button>
      </div>
    </form>
  );
}

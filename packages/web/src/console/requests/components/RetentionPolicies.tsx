import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { HELD_FIELDS, type RetentionPolicy } from "../../api/schemas.js";
import { TextField } from "../../customers/components/TextField.js";
import { INTERACTION_KINDS } from "../../customers/hooks/useRecordInteraction.js";
import { CheckboxGroup } from "../../layout/CheckboxGroup.js";
import { ErrorMessage, LoadingState, useErrorText } from "../../layout/ui.js";
import { useRemovePolicy, useRetentionPolicies, useSetPolicy } from "../hooks/useRequests.js";

const PolicyValues = z
  .object({
    id: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]{0,39}$/, { error: "retention.idInvalid" }),
    name: z
      .string()
      .trim()
      .min(1, { error: "retention.nameEmpty" })
      .max(100, { error: "form.tooLong" }),
    note: z
      .string()
      .trim()
      .min(1, { error: "retention.noteEmpty" })
      .max(500, { error: "form.tooLong" }),
    years: z
      .string()
      .trim()
      .refine((s) => /^\d{1,2}$/.test(s) && Number(s) >= 1 && Number(s) <= 30, {
        error: "retention.yearsInvalid",
      }),
    fields: z.array(z.enum(HELD_FIELDS)),
    interactionKinds: z.array(z.enum(INTERACTION_KINDS)),
  })
  // A policy that keeps nothing is one the node refuses: said beside the fields, before sending.
  .refine((v) => v.fields.length + v.interactionKinds.length > 0, {
    error: "retention.keepsNothing",
    path: ["fields"],
    // Checked with the other fields' errors too, not only once they are right.
    when: (p) => {
      const v = p.value as Partial<Record<"fields" | "interactionKinds", unknown>>;
      return Array.isArray(v.fields) && Array.isArray(v.interactionKinds);
    },
  });
type PolicyValues = z.infer<typeof PolicyValues>;

const EMPTY: PolicyValues = {
  id: "",
  name: "",
  note: "",
  years: "10",
  fields: [],
  interactionKinds: [],
};

/** Sets a policy (a new id adds one, an existing id replaces it): an entry on the merchant's chain. */
function PolicyForm(props: { form: UseFormReturn<PolicyValues>; id: string }) {
  const { t } = useTranslation();
  const set = useSetPolicy();
  const errorText = useErrorText();
  const { form } = props;
  const submit = form.handleSubmit(async (v) => {
    try {
      await set.mutateAsync({ ...v, years: Number(v.years) });
      form.reset(EMPTY);
    } catch (err) {
      form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  return (
    <form id={props.id} className="form form-grid policy-form" onSubmit={submit} noValidate>
      <h3 className="form-title">{t("retention.setTitle")}</h3>
      <TextField form={form} name="id" label={t("retention.id")} hint={t("retention.idHint")} />
      <TextField form={form} name="name" label={t("retention.name")} />
      <div className="form-wide">
        <TextField
          form={form}
          name="note"
          label={t("retention.note")}
          hint={t("retention.noteHint")}
        />
      </div>
      <TextField form={form} name="years" type="number" label={t("retention.years")} />
      <CheckboxGroup
        form={form}
        name="fields"
        legend={t("retention.fields")}
        options={HELD_FIELDS.map((f) => ({ value: f, label: t(`retention.fieldNames.${f}`) }))}
        testId="policy-fields"
        className="form-wide"
      />
      <CheckboxGroup
        form={form}
        name="interactionKinds"
        legend={t("retention.interactionKinds")}
        options={INTERACTION_KINDS.map((k) => ({ value: k, label: t(`interaction.${k}`) }))}
        testId="policy-kinds"
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
          disabled={set.isPending}
          data-testid="policy-submit"
        >
          {set.isPending ? <Spinner /> : null} {t("retention.save")}
        </button>
      </div>
    </form>
  );
}

/** The merchant's retention policies: what an erasure keeps, for how long and why. */
export function RetentionPolicies(props: { canManage: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const policies = useRetentionPolicies();
  const remove = useRemovePolicy();
  const form = useForm<PolicyValues>({ resolver: zodResolver(PolicyValues), defaultValues: EMPTY });
  // Edit: the form takes the policy as it is; saving it under the same id replaces it.
  const edit = (p: RetentionPolicy) => {
    form.reset({
      id: p.id,
      name: p.name,
      note: p.note,
      years: String(p.years),
      fields: p.fields.filter((f): f is PolicyValues["fields"][number] =>
        HELD_FIELDS.some((x) => x === f),
      ),
      interactionKinds: p.interactionKinds.filter(
        (k): k is PolicyValues["interactionKinds"][number] =>
          INTERACTION_KINDS.some((x) => x === k),
      ),
    });
    document.getElementById(`${id}-form`)?.scrollIntoView({ block: "nearest" });
    form.setFocus("name");
  };
  const list = (xs: string[], family: string) =>
    xs.length === 0 ? "—" : xs.map((x) => t(`${family}.${x}`, { defaultValue: x })).join(", ");
  return (
    <>
      <p className="hint hint-top">{t("retention.policiesLead")}</p>
      {policies.isPending ? (
        <LoadingState />
      ) : policies.isError ? (
        <ErrorMessage error={policies.error} retry={() => policies.refetch()} />
      ) : policies.data.policies.length === 0 ? (
        <p className="empty-line">{t("retention.noPolicies")}</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="policy-table">
            <thead>
              <tr>
                <th scope="col">{t("retention.name")}</th>
                <th scope="col">{t("retention.years")}</th>
                <th scope="col">{t("retention.kept")}</th>
                {props.canManage ? (
                  <th scope="col">
                    <span className="sr-only">{t("retention.actions")}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {policies.data.policies.map((p) => (
                <tr key={p.id} data-testid="policy-row" data-policy={p.id}>
                  <td data-label={t("retention.name")}>
                    <span className="cell-stack">
                      {p.name} <code className="muted">{p.id}</code>
                      <span className="muted hold-note"> {p.note}</span>
                    </span>
                  </td>
                  <td data-label={t("retention.years")}>{p.years}</td>
                  <td data-label={t("retention.kept")}>
                    {list(p.fields, "retention.fieldNames")}
                    {p.interactionKinds.length > 0 ? (
                      <>
                        {"; "}
                        {list(p.interactionKinds, "interaction")}
                      </>
                    ) : null}
                  </td>
                  {props.canManage ? (
                    <td>
                      <button
                        type="button"
                        className="btn btn-ghost btn-small"
                        onClick={() => edit(p)}
                        aria-label={t("retention.editOne", { name: p.name })}
                        data-testid="policy-edit"
                      >
                        {t("retention.edit")}
                      </button>{" "}
                      <button
                        type="button"
                        className="btn btn-ghost btn-small"
                        disabled={remove.isPending}
                        aria-label={t("retention.removeOne", { name: p.name })}
                        onClick={() => {
                          if (window.confirm(t("retention.confirmRemove", { name: p.name }))) {
                            remove.mutate(p.id);
                          }
                        }}
                        data-testid="policy-remove"
                      >
                        {t("retention.remove")}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {remove.isError ? <ErrorMessage error={remove.error} /> : null}
      {props.canManage ? <PolicyForm form={form} id={`${id}-form`} /> : null}
    </>
  );
}

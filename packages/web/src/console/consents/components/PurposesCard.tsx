import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { BASES, type Purpose } from "../../api/schemas.js";
import { TextField } from "../../customers/components/TextField.js";
import { ErrorMessage, LoadingState, useErrorText } from "../../layout/ui.js";
import { useDeclarePurpose, usePurposes } from "../hooks/useConsents.js";

const PurposeValues = z
  .object({
    id: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]{0,39}$/, { error: "purposes.idInvalid" }),
    name: z
      .string()
      .trim()
      .min(1, { error: "purposes.nameEmpty" })
      .max(100, { error: "form.tooLong" }),
    basis: z.enum(BASES),
    note: z.string().trim().max(2000, { error: "form.tooLong" }),
    retired: z.boolean(),
  })
  .refine((v) => v.basis !== "legitimate_interest" || v.note !== "", {
    error: "purposes.noteNeeded",
    path: ["note"],
  });
type PurposeValues = z.infer<typeof PurposeValues>;

const EMPTY: PurposeValues = { id: "", name: "", basis: "contract", note: "", retired: false };

/**
 * The purposes this merchant uses personal data for, each with its lawful basis; owners and
 * admins declare one or change it (a sealed entry). A purpose on consent must be one customers
 * can consent to, as the node checks.
 */
export function PurposesCard(props: { canManage: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const purposes = usePurposes();
  const declare = useDeclarePurpose();
  const errorText = useErrorText();
  const form = useForm<PurposeValues>({
    resolver: zodResolver(PurposeValues),
    defaultValues: EMPTY,
  });
  const edit = (p: Purpose) => {
    form.reset({ id: p.id, name: p.name, basis: p.basis, note: p.note ?? "", retired: p.retired });
    document.getElementById(`${id}-form`)?.scrollIntoView({ block: "nearest" });
    form.setFocus("name");
  };
  const submit = form.handleSubmit(async (v) => {
    try {
      await declare.mutateAsync({
        id: v.id,
        name: v.name,
        basis: v.basis,
        retired: v.retired,
        ...(v.note ? { note: v.note } : {}),
      });
      form.reset(EMPTY);
    } catch (err) {
      form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  return (
    <>
      <p className="hint hint-top">{t("purposes.lead")}</p>
      {purposes.isPending ? (
        <LoadingState />
      ) : purposes.isError ? (
        <ErrorMessage error={purposes.error} retry={() => purposes.refetch()} />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="purpose-table">
            <thead>
              <tr>
                <th scope="col">{t("purposes.purpose")}</th>
                <th scope="col">{t("purposes.basis")}</th>
                <th scope="col">{t("purposes.defaultFor")}</th>
                {props.canManage ? (
                  <th scope="col">
                    <span className="sr-only">{t("purposes.actions")}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {purposes.data.purposes.map((p) => (
                <tr key={p.id} data-testid="purpose-row" data-purpose={p.id}>
                  <td data-label={t("purposes.purpose")}>
                    <span className="cell-stack">
                      {p.name} <code className="muted">{p.id}</code>
                      {p.retired ? (
                        <span className="pill pill-neutral">{t("purposes.retired")}</span>
                      ) : null}
                      {p.note ? <span className="muted hold-note"> {p.note}</span> : null}
                    </span>
                  </td>
                  <td data-label={t("purposes.basis")} data-testid="purpose-basis">
                    {t(`access.bases.${p.basis}`)}
                  </td>
                  <td data-label={t("purposes.defaultFor")}>
                    {p.defaultFor.length === 0
                      ? "—"
                      : p.defaultFor.map((r) => t(`role.${r}`, { defaultValue: r })).join(", ")}
                  </td>
                  {props.canManage ? (
                    <td>
                      <button
                        type="button"
                        className="btn btn-ghost btn-small"
                        onClick={() => edit(p)}
                        aria-label={t("purposes.editOne", { name: p.name })}
                        data-testid="purpose-edit"
                      >
                        {t("purposes.edit")}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.canManage ? (
        <form
          id={`${id}-form`}
          className="form form-grid purpose-form"
          onSubmit={submit}
          noValidate
        >
          <h3 className="form-title">{t("purposes.declareTitle")}</h3>
          <TextField form={form} name="id" label={t("purposes.id")} hint={t("purposes.idHint")} />
          <TextField form={form} name="name" label={t("purposes.name")} />
          <div className="form-field">
            <label className="label" htmlFor={`${id}-basis`}>
              {t("purposes.basis")}
            </label>
            <select
              id={`${id}-basis`}
              className="input"
              data-testid="purpose-basis-select"
              {...form.register("basis")}
            >
              {BASES.map((b) => (
                <option key={b} value={b}>
                  {t(`access.bases.${b}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="form-field">
            <label className="radio">
              <input type="checkbox" {...form.register("retired")} /> {t("purposes.retire")}
            </label>
          </div>
          <div className="form-wide">
            <TextField
              form={form}
              name="note"
              label={t("purposes.note")}
              hint={t("purposes.noteHint")}
            />
          </div>
          {form.formState.errors.root ? (
            <p className="field-error form-wide" role="alert" data-testid="purpose-error">
              {form.formState.errors.root.message}
            </p>
          ) : null}
          <div className="form-actions form-wide">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={declare.isPending}
              data-testid="purpose-submit"
            >
              {declare.isPending ? <Spinner /> : null} {t("purposes.save")}
            </button>
          </div>
        </form>
      ) : null}
    </>
  );
}

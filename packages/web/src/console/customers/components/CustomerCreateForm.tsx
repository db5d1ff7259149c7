import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { type Path, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { STAGES } from "../../api/schemas.js";
import { useErrorText } from "../../layout/ui.js";
import { useCreateCustomer } from "../hooks/useCustomers.js";
import {
  AddressValues,
  AttributeValues,
  addressToSend,
  addressValues,
  attributePatch,
  profileFieldErrors,
} from "../profile-fields.js";
import { AddressFields } from "./AddressFields.js";
import { AttributeFields } from "./AttributeFields.js";
import { showServerError } from "./server-errors.js";
import { TextField } from "./TextField.js";

// The same limits as the node's CustomerInput, so most mistakes are caught before a request;
// the node stays the judge (an email's domain, a phone's country, an identity in use).
export const CustomerValues = z
  .object({
    name: z.string().trim().max(200, { error: "form.tooLong" }),
    email: z
      .string()
      .trim()
      .max(254, { error: "form.tooLong" })
      .refine((s) => s === "" || z.email().safeParse(s).success, { error: "form.emailInvalid" }),
    phone: z
      .string()
      .trim()
      .max(40, { error: "form.tooLong" })
      .refine((s) => s === "" || /^[+0-9 ().-]{2,}$/.test(s), { error: "form.phoneInvalid" }),
    stage: z.enum(STAGES),
    tags: z
      .string()
      .max(2000, { error: "form.tooLong" })
      .refine(
        (s) => splitTags(s).every((tag) => /^[\p{L}\p{N}][\p{L}\p{N} _.:-]{0,39}$/u.test(tag)),
        { error: "form.tagInvalid" },
      ),
    language: z.string().trim().max(35, { error: "form.tooLong" }),
    address: AddressValues,
    attributes: AttributeValues,
  })
  .refine((v) => v.name !== "" || v.email !== "" || v.phone !== "", {
    error: "form.needOne",
    path: ["name"],
  });
export type CustomerValues = z.infer<typeof CustomerValues>;

export const splitTags = (s: string) =>
  s
    .split(/[,，]/)
    .map((x) => x.trim())
    .filter((x) => x !== "");

const FIELDS = ["name", "email", "phone", "stage", "tags", "language"] as const;

export function CustomerCreateForm(props: { onDone: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  const navigate = useNavigate();
  const create = useCreateCustomer();
  const errorText = useErrorText();
  const form = useForm<CustomerValues>({
    resolver: zodResolver(CustomerValues),
    defaultValues: {
      name: "",
      email: "",
      phone: "",
      stage: "prospect",
      tags: "",
      language: "",
      address: addressValues(null),
      attributes: [],
    },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    const address = addressToSend(v.address);
    const attributes = attributePatch(v.attributes, {});
    try {
      const c = await create.mutateAsync({
        ...(v.name ? { name: v.name } : {}),
        ...(v.email ? { emails: [v.email] } : {}),
        ...(v.phone ? { phones: [v.phone] } : {}),
        stage: v.stage,
        ...(v.tags ? { tags: splitTags(v.tags) } : {}),
        ...(v.language ? { language: v.language } : {}),
        ...(address ? { address } : {}),
        ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
      });
      form.reset();
      props.onDone();
      navigate(`/customers/${c.id}`);
    } catch (err) {
      // An address line's or an attribute's refusal goes beside it; the others beside theirs.
      const fields = profileFieldErrors(err, v.attributes);
      for (const f of fields) {
        form.setError(f.name as Path<CustomerValues>, {
          type: f.catalogue ? "catalogue" : "server",
          message: f.message,
        });
      }
      if (!showServerError(err, FIELDS, form.setError) && fields.length === 0) {
        form.setError("root", { type: "server", message: errorText(err).detail });
      }
    }
  });
  return (
    <form className="form form-grid" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="form-title">
        {t("customers.create")}
      </h2>
      <TextField form={form} name="name" label={t("customer.name")} autoComplete="off" />
      <TextField form={form} name="email" label={t("customer.email")} type="email" />
      <TextField
        form={form}
        name="phone"
        label={t("customer.phone")}
        type="tel"
        hint={t("customer.phoneHint")}
      />
      <div className="form-field">
        <label className="label" htmlFor={`${id}-stage`}>
          {t("customer.stage")}
        </label>
        <select id={`${id}-stage`} className="input" {...form.register("stage")}>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {t(`stage.${s}`)}
            </option>
          ))}
        </select>
      </div>
      <TextField form={form} name="tags" label={t("customer.tags")} hint={t("customer.tagsHint")} />
      <TextField
        form={form}
        name="language"
        label={t("customer.language")}
        hint={t("customer.languageHint")}
      />
      <AddressFields form={form} />
      <AttributeFields form={form} />
      {errors.root?.message ? (
        <p className="field-error form-wide" role="alert" data-testid="create-error">
          {errors.root.message}
        </p>
      ) : null}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={create.isPending}
          data-testid="create-submit"
        >
          {create.isPending ? <Spinner /> : null} {t("action.create")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onDone}>
          {t("action.cancel")}
        </button>
      </div>
    </form>
  );
}

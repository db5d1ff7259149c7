import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { type Path, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { type Customer, STAGES } from "../../api/schemas.js";
import { useErrorText } from "../../layout/ui.js";
import { type CustomerChanges, useUpdateCustomer } from "../hooks/useCustomers.js";
import { identitiesChanged, identityRowErrors } from "../identities.js";
import {
  AddressValues,
  AttributeValues,
  addressChanged,
  addressToSend,
  addressValues,
  attributePatch,
  attributeRows,
  profileFieldErrors,
} from "../profile-fields.js";
import { AddressFields } from "./AddressFields.js";
import { AttributeFields } from "./AttributeFields.js";
import { splitTags } from "./CustomerCreateForm.js";
import { IdentityFields, IdentityValues } from "./IdentityFields.js";
import { showServerError } from "./server-errors.js";
import { TextField } from "./TextField.js";

const splitList = (s: string) =>
  s
    .split(/[,，\n]/)
    .map((x) => x.trim())
    .filter((x) => x !== "");

const EditValues = z.object({
  name: z.string().trim().max(200, { error: "form.tooLong" }),
  email: z
    .string()
    .max(2600, { error: "form.tooLong" })
    .refine((s) => splitList(s).every((e) => z.email().safeParse(e).success), {
      error: "form.emailInvalid",
    }),
  phone: z
    .string()
    .max(450, { error: "form.tooLong" })
    .refine((s) => splitList(s).every((p) => /^[+0-9 ().-]{2,40}$/.test(p)), {
      error: "form.phoneInvalid",
    }),
  stage: z.enum(STAGES),
  tags: z
    .string()
    .max(2000, { error: "form.tooLong" })
    .refine(
      (s) => splitTags(s).every((tag) => /^[\p{L}\p{N}][\p{L}\p{N} _.:-]{0,39}$/u.test(tag)),
      {
        error: "form.tagInvalid",
      },
    ),
  language: z.string().trim().max(35, { error: "form.tooLong" }),
  birthday: z
    .string()
    .trim()
    .refine((s) => s === "" || /^\d{4}-\d{2}-\d{2}$/.test(s), { error: "form.dateInvalid" }),
  address: AddressValues,
  identities: IdentityValues,
  attributes: AttributeValues,
});
type EditValues = z.infer<typeof EditValues>;

const FIELDS = ["name", "email", "phone", "stage", "tags", "language", "birthday"] as const;
const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Sends only what changed: each change is an entry naming the fields it touched. Channel
 * identities go as one list when any of them changed (the node replaces them all), the address
 * whole when any line changed (it replaces the address), attributes one by one (merged into the
 * node's; null removes one).
 */
export function CustomerEditForm(props: { customer: Customer; onDone: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  const c = props.customer;
  const update = useUpdateCustomer(c.id);
  const errorText = useErrorText();
  const form = useForm<EditValues>({
    resolver: zodResolver(EditValues),
    defaultValues: {
      name: c.name ?? "",
      email: c.emails.join(", "),
      phone: c.phones.map((p) => p.number).join(", "),
      stage: c.stage,
      tags: c.tags.join(", "),
      language: c.language ?? "",
      birthday: c.birthday ?? "",
      address: addressValues(c.address),
      identities: c.identities.map((i) => ({ type: i.type, value: i.value })),
      attributes: attributeRows(c.attributes),
    },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    const emails = splitList(v.email);
    const phones = splitList(v.phone);
    const tags = splitTags(v.tags);
    const identities = v.identities.map((i) => ({ type: i.type, value: i.value.trim() }));
    const address = addressToSend(v.address);
    const attributes = attributePatch(v.attributes, c.attributes);
    const changes: CustomerChanges = {
      ...(v.name !== (c.name ?? "") ? { name: v.name || null } : {}),
      ...(same(emails, c.emails) ? {} : { emails }),
      ...(same(
        phones,
        c.phones.map((p) => p.number),
      )
        ? {}
        : { phones }),
      ...(v.stage !== c.stage ? { stage: v.stage } : {}),
      ...(same(tags, c.tags) ? {} : { tags }),
      ...(v.language !== (c.language ?? "") ? { language: v.language || null } : {}),
      ...(v.birthday !== (c.birthday ?? "") ? { birthday: v.birthday || null } : {}),
      ...(addressChanged(address, c.address) ? { address } : {}),
      ...(identitiesChanged(identities, c.identities) ? { identities } : {}),
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    };
    if (Object.keys(changes).length === 0) {
      props.onDone();
      return;
    }
    try {
      await update.mutateAsync(changes);
      props.onDone();
    } catch (err) {
      // A refusal about an identity goes beside its row; one about an address line or an
      // attribute, beside it (too many attributes: under them all); one about the other fields,
      // beside theirs (a request's validation issues can name several); anything else, under
      // the form.
      const rows = identityRowErrors(err, changes.identities ?? [], c.identities);
      for (const r of rows) {
        form.setError(`identities.${r.index}.value`, { type: "server", message: r.message });
      }
      const fields = profileFieldErrors(err, v.attributes);
      for (const f of fields) {
        form.setError(f.name as Path<EditValues>, {
          type: f.catalogue ? "catalogue" : "server",
          message: f.message,
        });
      }
      const issues = err instanceof ConsoleApiError && err.code === "invalid_request";
      const shown =
        ((rows.length === 0 || issues) && showServerError(err, FIELDS, form.setError)) ||
        rows.length > 0 ||
        fields.length > 0;
      if (!shown) form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  return (
    <form className="form form-grid" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="form-title">
        {t("customer.edit")}
      </h3>
      <TextField form={form} name="name" label={t("customer.name")} autoComplete="off" />
      <TextField
        form={form}
        name="email"
        label={t("customer.emails")}
        hint={t("customer.listHint")}
      />
      <TextField
        form={form}
        name="phone"
        label={t("customer.phones")}
        hint={t("customer.phoneHint")}
      />
      <div className="form-field">
        <label className="label" htmlFor={`${id}-stage`}>
          {t("customer.stage")}
        </label>
        <select
          id={`${id}-stage`}
          className="input"
          data-testid="field-stage"
          {...form.register("stage")}
        >
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
      <TextField
        form={form}
        name="birthday"
        label={t("customer.birthday")}
        hint={t("customer.birthdayHint")}
      />
      <AddressFields form={form} />
      <IdentityFields form={form} />
      <AttributeFields form={form} />
      {errors.root?.message ? (
        <p className="field-error form-wide" role="alert" data-testid="edit-error">
          {errors.root.message}
        </p>
      ) : null}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={update.isPending}
          data-testid="edit-submit"
        >
          {update.isPending ? <Spinner /> : null} {t("action.save")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onDone}>
          {t("action.cancel")}
        </button>
      </div>
    </form>
  );
}

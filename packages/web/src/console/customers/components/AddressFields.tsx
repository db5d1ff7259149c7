import { useId } from "react";
import type { UseFormReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";
import type { AddressValues } from "../profile-fields.js";
import { TextField } from "./TextField.js";

type WithAddress = { address: AddressValues };

/**
 * The customer's postal address, one field per line. Saving sends the whole address, which
 * replaces the one the node holds; every line left empty removes it. Each field's error, the
 * form's or the node's, is tied to it.
 */
export function AddressFields<T extends WithAddress>(props: { form: UseFormReturn<T> }) {
  // One shape for the generic form: the fields below are the form's `address`.
  const form = props.form as unknown as UseFormReturn<WithAddress>;
  const { t } = useTranslation();
  const id = useId();
  return (
    <fieldset
      className="fieldset form-wide address-fieldset"
      aria-describedby={`${id}-hint`}
      data-testid="address-fields"
    >
      <legend className="label">{t("customer.address")}</legend>
      <p className="hint field-hint hint-top" id={`${id}-hint`}>
        {t("customer.addressHint")}
      </p>
      <div className="form-grid">
        <div className="form-wide">
          <TextField
            form={form}
            name="address.line1"
            label={t("customer.addressLine1")}
            autoComplete="off"
          />
        </div>
        <div className="form-wide">
          <TextField
            form={form}
            name="address.line2"
            label={t("customer.addressLine2")}
            autoComplete="off"
          />
        </div>
        <TextField
          form={form}
          name="address.city"
          label={t("customer.addressCity")}
          autoComplete="off"
        />
        <TextField
          form={form}
          name="address.region"
          label={t("customer.addressRegion")}
          autoComplete="off"
        />
        <TextField
          form={form}
          name="address.postcode"
          label={t("customer.addressPostcode")}
          autoComplete="off"
        />
        <TextField
          form={form}
          name="address.country"
          label={t("customer.addressCountry")}
          hint={t("customer.addressCountryHint")}
          autoComplete="off"
        />
      </div>
    </fieldset>
  );
}

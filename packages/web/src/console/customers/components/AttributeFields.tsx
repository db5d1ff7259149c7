import { useId, useRef } from "react";
import { type UseFormReturn, useFieldArray, useWatch } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { ATTRIBUTE_MAX, ATTRIBUTE_TYPES, type AttributeRow } from "../profile-fields.js";

type WithAttributes = { attributes: AttributeRow[] };

/**
 * Add, change or remove a customer's attributes: a name and a value that is text, a number, or
 * yes or no. Saving sends only the attributes that changed, and removes those whose row was
 * removed; the node merges that into the ones it holds. Each row's error, the form's or the
 * node's, is tied to its field; the node's refusal of them all (too many), to the group.
 */
export function AttributeFields<T extends WithAttributes>(props: { form: UseFormReturn<T> }) {
  // One shape for the generic form: the fields below are the form's `attributes`.
  const form = props.form as unknown as UseFormReturn<WithAttributes>;
  const { t, i18n } = useTranslation();
  const id = useId();
  const { fields, append, remove } = useFieldArray({ control: form.control, name: "attributes" });
  const rows = useWatch({ control: form.control, name: "attributes" }) ?? [];
  const addButton = useRef<HTMLButtonElement>(null);
  const errors = form.formState.errors.attributes;
  const text = (e: { message?: string; type?: string } | undefined) =>
    e?.message
      ? e.type === "server" || !i18n.exists(e.message)
        ? e.message
        : t(e.message)
      : undefined;
  const whole = text(errors?.root);
  const describedBy = [`${id}-hint`, whole ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <fieldset
      className="fieldset form-wide identity-fieldset"
      aria-describedby={describedBy}
      data-testid="attribute-fields"
    >
      <legend className="label">{t("customer.attributes")}</legend>
      <p className="hint field-hint hint-top" id={`${id}-hint`}>
        {t("customer.attributesHint")}
      </p>
      {fields.length === 0 ? (
        <p className="empty-line">{t("customer.noAttributes")}</p>
      ) : (
        <ol className="identity-rows">
          {fields.map((field, i) => {
            const row = rows[i] ?? field;
            const n = i + 1;
            const rowErrors = errors?.[i];
            const keyError = text(rowErrors?.key);
            const valueError = text(rowErrors?.value);
            const valueProps = {
              id: `${id}-value-${i}`,
              className: "input attribute-value",
              "aria-invalid": valueError ? true : undefined,
              "aria-describedby": valueError ? `${id}-value-error-${i}` : undefined,
              "data-testid": "attribute-value",
            } as const;
            const type = form.register(`attributes.${i}.type`);
            return (
              <li key={field.id} className="attribute-row" data-testid="attribute-row">
                <label className="sr-only" htmlFor={`${id}-key-${i}`}>
                  {t("customer.attributeKey", { n })}
                </label>
                <input
                  id={`${id}-key-${i}`}
                  className="input attribute-key"
                  autoComplete="off"
                  autoCapitalize="off"
                  spellCheck={false}
                  placeholder={t("customer.attributeKeyPlaceholder")}
                  aria-invalid={keyError ? true : undefined}
                  aria-describedby={keyError ? `${id}-key-error-${i}` : undefined}
                  data-testid="attribute-key"
                  {...form.register(`attributes.${i}.key`)}
                />
                <label className="sr-only" htmlFor={`${id}-type-${i}`}>
                  {t("customer.attributeType", { n })}
                </label>
                <select
                  id={`${id}-type-${i}`}
                  className="input attribute-type"
                  data-testid="attribute-type"
                  {...type}
                  onChange={(e) => {
                    // A value that means nothing in the new type starts again from a fitting one.
                    const next = e.target.value;
                    const value = form.getValues(`attributes.${i}.value`);
                    const yesNo = value === "true" || value === "false";
                    if (next === "boolean" && !yesNo)
                      form.setValue(`attributes.${i}.value`, "true");
                    if (next === "number" && yesNo) form.setValue(`attributes.${i}.value`, "");
                    return type.onChange(e);
                  }}
                >
                  {ATTRIBUTE_TYPES.map((k) => (
                    <option key={k} value={k}>
                      {t(`customer.attributeTypes.${k}`)}
                    </option>
                  ))}
                </select>
                <label className="sr-only" htmlFor={`${id}-value-${i}`}>
                  {t("customer.attributeValue", { n })}
                </label>
                {row.type === "boolean" ? (
                  <select {...valueProps} {...form.register(`attributes.${i}.value`)}>
                    <option value="true">{t("customer.attributeYes")}</option>
                    <option value="false">{t("customer.attributeNo")}</option>
                  </select>
                ) : (
                  <input
                    {...valueProps}
                    autoComplete="off"
                    inputMode={row.type === "number" ? "decimal" : undefined}
                    placeholder={
                      row.type === "number"
                        ? t("customer.attributeNumberPlaceholder")
                        : t("customer.attributeTextPlaceholder")
                    }
                    {...form.register(`attributes.${i}.value`)}
                  />
                )}
                <button
                  type="button"
                  className="btn btn-ghost identity-remove attribute-remove"
                  onClick={() => {
                    remove(i);
                    addButton.current?.focus();
                  }}
                  aria-label={t("customer.removeAttribute", { n, key: row.key || "—" })}
                  title={t("customer.removeAttribute", { n, key: row.key || "—" })}
                  data-testid="attribute-remove"
                >
                  ×
                </button>
                {keyError ? (
                  <p className="field-error attribute-error" id={`${id}-key-error-${i}`}>
                    {keyError}
                  </p>
                ) : null}
                {valueError ? (
                  <p className="field-error attribute-error" id={`${id}-value-error-${i}`}>
                    {valueError}
                  </p>
                ) : null}
              </li>
            );
          })}
        </ol>
      )}
      {whole ? (
        <p className="field-error" id={`${id}-error`} role="alert" data-testid="attributes-error">
          {whole}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          ref={addButton}
          type="button"
          className="btn btn-small identity-add"
          disabled={fields.length >= ATTRIBUTE_MAX}
          onClick={() =>
            append(
              { key: "", type: "string", value: "" },
              { focusName: `attributes.${fields.length}.key` },
            )
          }
          data-testid="attribute-add"
        >
          {t("customer.addAttribute")}
        </button>
      </div>
    </fieldset>
  );
}

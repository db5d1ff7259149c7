import { useId, useRef } from "react";
import { type UseFormReturn, useFieldArray, useWatch } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { CHANNEL_KINDS } from "../../api/schemas.js";
import { HIDDEN_CHARACTERS, IDENTITY_MAX, rowsOverLimit } from "../identities.js";
import { ChannelIcon } from "./channel.js";

/** The channel identities of the edit form: one row per identity, in the node's limits. */
export const IdentityValues = z
  .array(
    z.object({
      type: z.string(),
      value: z
        .string()
        .trim()
        .min(1, { error: "form.identityEmpty" })
        .max(200, { error: "form.tooLong" })
        .refine((s) => !HIDDEN_CHARACTERS.test(s), { error: "form.controls" }),
    }),
  )
  .max(IDENTITY_MAX)
  .superRefine((rows, ctx) => {
    for (const i of rowsOverLimit(rows)) {
      ctx.addIssue({ code: "custom", message: "form.identityLimit", path: [i, "value"] });
    }
  });

type WithIdentities = { identities: { type: string; value: string }[] };

/**
 * Add, change or remove a customer's channel identities (WeChat, WhatsApp, social handles, a
 * loyalty card, an app user id, a point-of-sale number). Saving sends the whole list: it
 * replaces every channel identity. Each row's error, the form's or the node's, is tied to it.
 */
export function IdentityFields<T extends WithIdentities>(props: { form: UseFormReturn<T> }) {
  // One shape for the generic form: the fields below are the form's `identities`.
  const form = props.form as unknown as UseFormReturn<WithIdentities>;
  const { t, i18n } = useTranslation();
  const id = useId();
  const { fields, append, remove } = useFieldArray({ control: form.control, name: "identities" });
  const rows = useWatch({ control: form.control, name: "identities" }) ?? [];
  const addButton = useRef<HTMLButtonElement>(null);
  const errors = form.formState.errors.identities;
  const text = (e: { message?: string; type?: string } | undefined) =>
    e?.message
      ? e.type === "server" || !i18n.exists(e.message)
        ? e.message
        : t(e.message)
      : undefined;
  return (
    <fieldset
      className="fieldset form-wide identity-fieldset"
      aria-describedby={`${id}-hint`}
      data-testid="identity-fields"
    >
      <legend className="label">{t("customer.channelIdentities")}</legend>
      <p className="hint field-hint hint-top" id={`${id}-hint`}>
        {t("customer.channelIdentitiesHint")}
      </p>
      {fields.length === 0 ? (
        <p className="empty-line">{t("customer.noChannelIdentities")}</p>
      ) : (
        <ol className="identity-rows">
          {fields.map((field, i) => {
            const type = rows[i]?.type ?? field.type;
            const known = (CHANNEL_KINDS as readonly string[]).includes(type);
            const rowError = errors?.[i];
            const message = text(rowError?.value) ?? text(rowError?.type);
            const channel = t(`channel.${type}`, { defaultValue: type });
            return (
              <li key={field.id} className="identity-row" data-testid="identity-row">
                <span className="identity-row-mark" aria-hidden="true">
                  <ChannelIcon kind={type} />
                </span>
                <label className="sr-only" htmlFor={`${id}-type-${i}`}>
                  {t("customer.identityType", { n: i + 1 })}
                </label>
                <select
                  id={`${id}-type-${i}`}
                  className="input"
                  data-testid="identity-type"
                  {...form.register(`identities.${i}.type`)}
                >
                  {/* A channel this console does not know yet stays as the node gave it. */}
                  {known ? null : <option value={type}>{type}</option>}
                  {CHANNEL_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {t(`channel.${k}`)}
                    </option>
                  ))}
                </select>
                <label className="sr-only" htmlFor={`${id}-value-${i}`}>
                  {t("customer.identityValue", { n: i + 1, channel })}
                </label>
                <input
                  id={`${id}-value-${i}`}
                  className="input"
                  autoComplete="off"
                  spellCheck={false}
                  placeholder={
                    known ? t(`customer.identityPlaceholder.${type}`, { defaultValue: "" }) : ""
                  }
                  aria-invalid={message ? true : undefined}
                  aria-describedby={message ? `${id}-error-${i}` : undefined}
                  data-testid="identity-value"
                  {...form.register(`identities.${i}.value`)}
                />
                <button
                  type="button"
                  className="btn btn-ghost identity-remove"
                  onClick={() => {
                    remove(i);
                    addButton.current?.focus();
                  }}
                  aria-label={t("customer.removeIdentity", { n: i + 1, channel })}
                  title={t("customer.removeIdentity", { n: i + 1, channel })}
                  data-testid="identity-remove"
                >
                  ×
                </button>
                {message ? (
                  <p className="field-error identity-error" id={`${id}-error-${i}`}>
                    {message}
                  </p>
                ) : null}
              </li>
            );
          })}
        </ol>
      )}
      <div className="form-actions">
        <button
          ref={addButton}
          type="button"
          className="btn btn-small identity-add"
          disabled={fields.length >= IDENTITY_MAX}
          onClick={() =>
            append(
              { type: rows.at(-1)?.type ?? "wechat", value: "" },
              { focusName: `identities.${fields.length}.type` },
            )
          }
          data-testid="identity-add"
        >
          {t("customer.addIdentity")}
        </button>
      </div>
    </fieldset>
  );
}

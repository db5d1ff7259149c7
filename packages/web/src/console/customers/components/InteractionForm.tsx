import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { useErrorText } from "../../layout/ui.js";
import {
  INTERACTION_CHANNELS,
  INTERACTION_KINDS,
  useRecordInteraction,
} from "../hooks/useRecordInteraction.js";

const InteractionValues = z.object({
  channel: z.enum(INTERACTION_CHANNELS),
  kind: z.enum(INTERACTION_KINDS),
  direction: z.enum(["inbound", "outbound"]),
  summary: z.string().trim().max(500, { error: "form.tooLong" }),
  content: z.string().max(20_000, { error: "form.tooLong" }),
});
type InteractionValues = z.infer<typeof InteractionValues>;

/** Logs a call, a visit, a message…: one entry on the customer's chain, its text in the vault. */
export function InteractionForm(props: { customerId: string }) {
  const { t } = useTranslation();
  const id = useId();
  const record = useRecordInteraction(props.customerId);
  const errorText = useErrorText();
  const form = useForm<InteractionValues>({
    resolver: zodResolver(InteractionValues),
    defaultValues: {
      channel: "phone",
      kind: "call",
      direction: "inbound",
      summary: "",
      content: "",
    },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    try {
      await record.mutateAsync({
        channel: v.channel,
        kind: v.kind,
        direction: v.direction,
        ...(v.summary ? { summary: v.summary } : {}),
        ...(v.content.trim() ? { content: v.content } : {}),
      });
      form.reset();
    } catch (err) {
      form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });
  const select = <K extends "channel" | "kind" | "direction">(
    name: K,
    label: string,
    options: readonly string[],
    prefix: string,
  ) => (
    <div className="form-field">
      <label className="label" htmlFor={`${id}-${name}`}>
        {label}
      </label>
      <select
        id={`${id}-${name}`}
        className="input"
        data-testid={`interaction-${name}`}
        {...form.register(name)}
      >
        {options.map((o) => (
          <option key={o} value={o}>
            {t(`${prefix}.${o}`)}
          </option>
        ))}
      </select>
    </div>
  );
  const fieldError = (name: "summary" | "content") => {
    const message = errors[name]?.message;
    return message ? (
      <p className="field-error" id={`${id}-${name}-error`}>
        {t(message)}
      </p>
    ) : null;
  };
  return (
    <form className="form form-grid interaction-form" onSubmit={submit} noValidate>
      {select("kind", t("interactionForm.kind"), INTERACTION_KINDS, "interaction")}
      {/* The options have words of their own: the timeline's (interactionChannel, direction)
          are lower-case, said mid-sentence. */}
      {select(
        "channel",
        t("interactionForm.channel"),
        INTERACTION_CHANNELS,
        "interactionForm.channels",
      )}
      {select(
        "direction",
        t("interactionForm.direction"),
        ["inbound", "outbound"],
        "interactionForm.directions",
      )}
      <div className="form-field form-wide">
        <label className="label" htmlFor={`${id}-summary`}>
          {t("interactionForm.summary")}
        </label>
        <input
          id={`${id}-summary`}
          className="input"
          aria-invalid={errors.summary ? true : undefined}
          aria-describedby={errors.summary ? `${id}-summary-error` : undefined}
          data-testid="interaction-summary"
          {...form.register("summary")}
        />
        {fieldError("summary")}
      </div>
      <div className="form-field form-wide">
        <label className="label" htmlFor={`${id}-content`}>
          {t("interactionForm.content")}
        </label>
        <textarea
          id={`${id}-content`}
          className="input"
          rows={2}
          aria-invalid={errors.content ? true : undefined}
          aria-describedby={errors.content ? `${id}-content-error` : undefined}
          data-testid="interaction-content"
          {...form.register("content")}
        />
        {fieldError("content")}
      </div>
      {errors.root?.message ? (
        <p className="field-error form-wide" role="alert">
          {errors.root.message}
        </p>
      ) : null}
      <div className="form-actions form-wide">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={record.isPending}
          data-testid="interaction-submit"
        >
          {record.isPending ? <Spinner /> : null} {t("interactionForm.submit")}
        </button>
      </div>
    </form>
  );
}

import { zodResolver } from "@hookform/resolvers/zod";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { useErrorText } from "../../layout/ui.js";
import { useAddNote } from "../hooks/useTimeline.js";

// The node refuses control characters and bidirectional overrides in notes; so does the form,
// with a message, before a request.
const NoteValues = z.object({
  text: z
    .string()
    .max(10_000, { error: "form.tooLong" })
    .refine((s) => s.trim() !== "", { error: "note.empty" })
    .refine((s) => !/[^\P{Cc}\n\r\t]/u.test(s) && !/[\u202a-\u202e\u2066-\u2069]/.test(s), {
      error: "note.controls",
    }),
});
type NoteValues = z.infer<typeof NoteValues>;

export function NoteForm(props: { customerId: string }) {
  const { t } = useTranslation();
  const id = useId();
  const add = useAddNote(props.customerId);
  const errorText = useErrorText();
  const form = useForm<NoteValues>({
    resolver: zodResolver(NoteValues),
    defaultValues: { text: "" },
  });
  const error = form.formState.errors.text;
  const submit = form.handleSubmit(async (v) => {
    try {
      await add.mutateAsync(v.text);
      form.reset();
    } catch (err) {
      form.setError("text", { type: "server", message: errorText(err).detail });
    }
  });
  const message = error?.message
    ? error.type === "server"
      ? error.message
      : t(error.message)
    : undefined;
  return (
    <form className="form note-form" onSubmit={submit} noValidate>
      <label className="label" htmlFor={`${id}-text`}>
        {t("note.label")}
      </label>
      <textarea
        id={`${id}-text`}
        className="input"
        rows={3}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? `${id}-error ${id}-hint` : `${id}-hint`}
        data-testid="note-text"
        {...form.register("text")}
      />
      <p className="hint field-hint" id={`${id}-hint`}>
        {t("note.hint")}
      </p>
      {message ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {message}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={add.isPending}
          data-testid="note-submit"
        >
          {add.isPending ? <Spinner /> : null} {t("note.add")}
        </button>
      </div>
    </form>
  );
}

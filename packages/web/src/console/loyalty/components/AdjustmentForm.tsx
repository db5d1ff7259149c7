import { useRef, useState } from "react";
import { type Path, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { issuesByField } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { useCreateAdjustment } from "../hooks/useOps.js";
import { ADJUSTMENT_REASONS, type Adjustment } from "../ops-api.js";
import { FieldShell } from "./FieldShell.js";

interface AdjustmentValues {
  customerId: string;
  direction: "credit" | "debit";
  points: string;
  reason: string;
  note: string;
}

const blank = (customerId = ""): AdjustmentValues => ({
  customerId,
  direction: "credit",
  points: "",
  reason: "goodwill",
  note: "",
});

const newKey = () => `console-adj-${crypto.randomUUID()}`;

/**
 * A credit or debit of a customer's points with a reason code and a note. Up to the programme's
 * threshold it applies at once; above it, it waits for another owner or admin.
 */
export function AdjustmentForm(props: {
  customerId?: string;
  threshold: number;
  pointName: string;
  onDone: (a: Adjustment) => void;
}) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const create = useCreateAdjustment();
  const form = useForm<AdjustmentValues>({ defaultValues: blank(props.customerId) });
  const errors = form.formState.errors;
  // One key per adjustment the form holds: a retry after a lost answer is not a second one.
  const key = useRef(newKey());
  const [last, setLast] = useState<Adjustment>();

  const submit = form.handleSubmit(async (v) => {
    setLast(undefined);
    try {
      const a = await create.mutateAsync({
        key: key.current,
        body: {
          customerId: v.customerId.trim(),
          direction: v.direction,
          points: Number(v.points.trim()),
          reason: v.reason,
          note: v.note.trim(),
        },
      });
      key.current = newKey();
      form.reset(blank(props.customerId));
      setLast(a);
      props.onDone(a);
    } catch (err) {
      key.current = newKey();
      let placed = false;
      for (const [field, message] of issuesByField(err)) {
        if (field in v) {
          form.setError(field as Path<AdjustmentValues>, { type: "server", message });
          placed = true;
        }
      }
      const code = (err as { code?: string }).code;
      if (code === "insufficient_points") {
        form.setError("points", { type: "server", message: errorText(err).detail });
      } else if (code === "not_found") {
        form.setError("customerId", { type: "server", message: errorText(err).detail });
      } else if (!placed) {
        form.setError("root", { type: "server", message: errorText(err).detail });
      }
    }
  });

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="adjustment-form">
      <div className="form-grid">
        <FieldShell
          label={t("loyalty.ops.adjustments.field.customer")}
          hint={t("loyalty.ops.adjustments.field.customerHint")}
          error={errors.customerId}
        >
          {(c) => (
            <input
              {...c}
              className="input mono"
              autoComplete="off"
              spellCheck={false}
              data-testid="adjustment-customer"
              {...form.register("customerId", {
                validate: (s) =>
                  /^c_[A-Za-z0-9_-]+$/.test(s.trim()) ? true : t("loyalty.ops.problems.customerId"),
              })}
            />
          )}
        </FieldShell>
        <FieldShell label={t("loyalty.ops.adjustments.field.direction")}>
          {(c) => (
            <select
              {...c}
              className="input"
              data-testid="adjustment-direction"
              {...form.register("direction")}
            >
              <option value="credit">{t("loyalty.ops.adjustments.direction.credit")}</option>
              <option value="debit">{t("loyalty.ops.adjustments.direction.debit")}</option>
            </select>
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.ops.adjustments.field.points", { name: props.pointName })}
          hint={t("loyalty.ops.adjustments.field.pointsHint", {
            threshold: props.threshold.toLocaleString(),
          })}
          error={errors.points}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="adjustment-points"
              {...form.register("points", {
                validate: (s) =>
                  /^\d{1,10}$/.test(s.trim()) && Number(s.trim()) >= 1
                    ? true
                    : t("loyalty.ops.problems.wholeOne"),
              })}
            />
          )}
        </FieldShell>
        <FieldShell label={t("loyalty.ops.adjustments.field.reason")} error={errors.reason}>
          {(c) => (
            <select
              {...c}
              className="input"
              data-testid="adjustment-reason"
              {...form.register("reason")}
            >
              {ADJUSTMENT_REASONS.map((r) => (
                <option key={r} value={r}>
                  {t(`loyalty.ops.adjustments.reasons.${r}`)}
                </option>
              ))}
            </select>
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.ops.adjustments.field.note")}
          hint={t("loyalty.ops.adjustments.field.noteHint")}
          error={errors.note}
          className="form-wide"
        >
          {(c) => (
            <textarea
              {...c}
              className="input"
              rows={2}
              maxLength={2000}
              data-testid="adjustment-note"
              {...form.register("note", {
                validate: (s) => (s.trim() === "" ? t("loyalty.ops.problems.noteEmpty") : true),
              })}
            />
          )}
        </FieldShell>
      </div>
      {errors.root ? (
        <p className="field-error" role="alert" data-testid="adjustment-error">
          {errors.root.message}
        </p>
      ) : null}
      {last ? (
        <p className="notice" role="status" data-testid="adjustment-result">
          {last.status === "pending"
            ? t("loyalty.ops.adjustments.pendingNow", { index: last.requestIndex })
            : t("loyalty.ops.adjustments.appliedNow", {
                index: last.appliedIndex ?? last.requestIndex,
              })}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={create.isPending}
          data-testid="adjustment-submit"
        >
          {create.isPending ? <Spinner /> : null} {t("loyalty.ops.adjustments.submit")}
        </button>
      </div>
    </form>
  );
}

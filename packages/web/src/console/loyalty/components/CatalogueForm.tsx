import { useEffect, useState } from "react";
import { type Path, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import { issuesByField } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { type RewardBody, useSaveReward } from "../hooks/useOps.js";
import type { Reward } from "../ops-api.js";
import { FieldShell } from "./FieldShell.js";

interface RewardValues {
  name: string;
  points: string;
  stock: string;
  perCustomerLimit: string;
  active: boolean;
}

const valuesOf = (r?: Reward): RewardValues => ({
  name: r?.name ?? "",
  points: r ? String(r.points) : "",
  stock: r?.stock === null || r === undefined ? "" : String(r.stock),
  perCustomerLimit: r?.perCustomerLimit == null ? "" : String(r.perCustomerLimit),
  active: r?.active ?? true,
});

/** Blank, or a whole number of at least `min`; otherwise the words of the fault. */
const whole = (min: number, fault: string) => (text: string) => {
  const s = text.trim();
  if (s === "") return true;
  return /^\d{1,10}$/.test(s) && Number(s) >= min ? true : fault;
};

const bodyOf = (v: RewardValues): RewardBody => ({
  name: v.name.trim(),
  points: Number(v.points.trim()),
  stock: v.stock.trim() === "" ? null : Number(v.stock.trim()),
  perCustomerLimit: v.perCustomerLimit.trim() === "" ? null : Number(v.perCustomerLimit.trim()),
  active: v.active,
});

/**
 * A reward of the catalogue, new (`reward` undefined) or changed: its name, its cost in points,
 * the stock left (blank: unlimited), the per-customer limit (blank: none) and whether it can be
 * redeemed. The node's refusals come back beside their fields.
 */
export function CatalogueForm(props: {
  reward?: Reward;
  pointName: string;
  onDone: (saved?: Reward) => void;
}) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const save = useSaveReward();
  const [unchanged, setUnchanged] = useState(false);
  const form = useForm<RewardValues>({ defaultValues: valuesOf(props.reward) });
  const errors = form.formState.errors;
  const wholeOne = t("loyalty.ops.problems.wholeOne");
  const wholeZero = t("loyalty.ops.problems.wholeZero");
  useEffect(() => {
    form.reset(valuesOf(props.reward));
    setUnchanged(false);
  }, [props.reward, form]);

  const submit = form.handleSubmit(async (v) => {
    setUnchanged(false);
    try {
      const saved = await save.mutateAsync({
        ...(props.reward ? { id: props.reward.id } : {}),
        body: bodyOf(v),
      });
      form.reset(valuesOf(props.reward ? saved : undefined));
      props.onDone(saved);
    } catch (err) {
      const fields = issuesByField(err);
      let placed = false;
      for (const [field, message] of fields) {
        if (field in v) {
          form.setError(field as Path<RewardValues>, { type: "server", message });
          placed = true;
        }
      }
      const code = (err as { code?: string }).code;
      if (code === "unchanged") setUnchanged(true);
      else if (!placed) form.setError("root", { type: "server", message: errorText(err).detail });
    }
  });

  const id = props.reward?.id ?? "new";
  return (
    <form className="form" onSubmit={submit} noValidate data-testid="reward-form" data-reward={id}>
      <div className="form-grid">
        <FieldShell label={t("loyalty.ops.catalogue.field.name")} error={errors.name}>
          {(c) => (
            <input
              {...c}
              className="input"
              autoComplete="off"
              maxLength={100}
              data-testid="reward-name"
              {...form.register("name", {
                validate: (s) => (s.trim() === "" ? t("loyalty.ops.problems.nameEmpty") : true),
              })}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.ops.catalogue.field.points", { name: props.pointName })}
          error={errors.points}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="reward-points"
              {...form.register("points", {
                validate: (s) => (s.trim() === "" ? wholeOne : whole(1, wholeOne)(s)),
              })}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.ops.catalogue.field.stock")}
          hint={t("loyalty.ops.catalogue.field.stockHint")}
          error={errors.stock}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="reward-stock"
              {...form.register("stock", { validate: whole(0, wholeZero) })}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.ops.catalogue.field.limit")}
          hint={t("loyalty.ops.catalogue.field.limitHint")}
          error={errors.perCustomerLimit}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="reward-limit"
              {...form.register("perCustomerLimit", { validate: whole(1, wholeOne) })}
            />
          )}
        </FieldShell>
        <div className="form-field">
          <label className="radio">
            <input type="checkbox" data-testid="reward-active" {...form.register("active")} />{" "}
            {t("loyalty.ops.catalogue.field.active")}
          </label>
        </div>
      </div>
      {errors.root ? (
        <p className="field-error" role="alert" data-testid="reward-error">
          {errors.root.message}
        </p>
      ) : null}
      {unchanged ? (
        <p className="notice" role="status" data-testid="reward-unchanged">
          {t("loyalty.ops.catalogue.unchanged")}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={save.isPending}
          data-testid="reward-save"
        >
          {save.isPending ? <Spinner /> : null}{" "}
          {props.reward ? t("loyalty.ops.catalogue.save") : t("loyalty.ops.catalogue.create")}
        </button>
        {props.reward ? (
          <button type="button" className="btn btn-ghost" onClick={() => props.onDone()}>
            {t("loyalty.ops.cancel")}
          </button>
        ) : null}
      </div>
    </form>
  );
}

import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect, useMemo, useRef, useState } from "react";
import { type Path, useFieldArray, useForm, useWatch } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Spinner } from "../../../components/ui.js";
import { ConsoleApiError } from "../../api/client.js";
import { useErrorText } from "../../layout/ui.js";
import { DEFAULT_APPROVAL_THRESHOLD, type Programme, type ProgrammeView } from "../api.js";
import { EXPIRY_POLICIES, expiryFormOf } from "../expiry-policies.js";
import { useSetProgramme } from "../hooks/useProgramme.js";
import { currencyDigits, decimalText, formatMoney, parseDecimal } from "../money.js";
import { type ValueChange, valueChangeToConfirm } from "../point-value.js";
import { FieldShell } from "./FieldShell.js";

const TierValues = z.object({
  id: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/, { error: "tierId" }),
  name: z.string().trim().min(1, { error: "nameEmpty" }).max(80, { error: "tooLong" }),
  metric: z.enum(["points", "spend"]),
  threshold: z.string(),
  months: z.string().regex(/^\s*([1-9]|[1-9][0-9]|1[01][0-9]|120)\s*$/, { error: "months" }),
});

const ProgrammeValues = z
  .object({
    pointName: z.string().trim().min(1, { error: "nameEmpty" }).max(40, { error: "tooLong" }),
    pointValue: z.string(),
    currency: z
      .string()
      .trim()
      .regex(/^[A-Za-z]{3}$/, { error: "currency" }),
    returnWindowDays: z.string().regex(/^\s*(\d{1,2}|[12]\d\d|3[0-5]\d|36[0-5])\s*$/, {
      error: "returnWindow",
    }),
    timeZone: z.string().trim().min(1, { error: "timeZone" }),
    debtPolicy: z.enum(["recover", "write_off"]),
    transfersAllowed: z.boolean(),
    receivedAvailability: z.enum(["immediate", "return_window"]),
    approvalThreshold: z
      .string()
      .regex(/^\s*(\d{1,9}|1000000000)\s*$/, { error: "approvalThreshold" }),
    expiry: z.record(z.string(), z.unknown()),
    tiers: z.array(TierValues).max(20),
  })
  .superRefine((v, ctx) => {
    const digits = currencyDigits(v.currency.trim().toUpperCase());
    if (parseDecimal(v.pointValue, digits + 2) === undefined) {
      ctx.addIssue({ code: "custom", path: ["pointValue"], message: "pointValue" });
    }
    const seen = new Set<string>();
    v.tiers.forEach((tier, i) => {
      const threshold =
        tier.metric === "spend"
          ? parseDecimal(tier.threshold, digits)
          : /^\s*\d{1,15}\s*$/.test(tier.threshold)
            ? Number(tier.threshold)
            : undefined;
      if (threshold === undefined) {
        ctx.addIssue({ code: "custom", path: ["tiers", i, "threshold"], message: "threshold" });
      }
      if (seen.has(tier.id.trim())) {
        ctx.addIssue({ code: "custom", path: ["tiers", i, "id"], message: "tierTwice" });
      }
      seen.add(tier.id.trim());
    });
  });
type ProgrammeValues = z.infer<typeof ProgrammeValues>;

function valuesOf(p: Programme): ProgrammeValues {
  const digits = currencyDigits(p.currency);
  return {
    pointName: p.pointName,
    pointValue: decimalText(p.valuePer100Points, digits + 2) || "0",
    currency: p.currency,
    returnWindowDays: String(p.returnWindowDays),
    timeZone: p.timeZone,
    debtPolicy: p.debtPolicy,
    transfersAllowed: p.transfers.allowed,
    receivedAvailability: p.transfers.receivedAvailability,
    approvalThreshold: String(p.adjustments?.approvalThreshold ?? DEFAULT_APPROVAL_THRESHOLD),
    expiry: p.expiry,
    tiers: p.tiers.map((tier) => ({
      id: tier.id,
      name: tier.name,
      metric: tier.qualification.metric,
      threshold:
        tier.qualification.metric === "spend"
          ? decimalText(tier.qualification.threshold, digits) || "0"
          : String(tier.qualification.threshold),
      months: String(tier.qualification.months),
    })),
  };
}

/**
 * The programme to save: the form's values over what the node has, because `PUT` replaces the
 * objects it is given whole (the transfer limits the form does not show must travel back).
 */
function programmeOf(v: ProgrammeValues, current: Programme): Programme {
  const currency = v.currency.trim().toUpperCase();
  const digits = currencyDigits(currency);
  const approvalThreshold = Number(v.approvalThreshold);
  return {
    // Left out while it is the default the programme never set, so an unchanged save writes none.
    ...(current.adjustments || approvalThreshold !== DEFAULT_APPROVAL_THRESHOLD
      ? { adjustments: { approvalThreshold } }
      : {}),
    pointName: v.pointName.trim(),
    valuePer100Points: parseDecimal(v.pointValue, digits + 2) ?? 0,
    currency,
    returnWindowDays: Number(v.returnWindowDays),
    expiry: v.expiry as Programme["expiry"],
    transfers: {
      ...current.transfers,
      allowed: v.transfersAllowed,
      receivedAvailability: v.receivedAvailability,
    },
    tiers: v.tiers.map((tier) => ({
      id: tier.id.trim(),
      name: tier.name.trim(),
      qualification: {
        metric: tier.metric,
        threshold:
          tier.metric === "spend"
            ? (parseDecimal(tier.threshold, digits) ?? 0)
            : Number(tier.threshold),
        months: Number(tier.months),
      },
    })),
    timeZone: v.timeZone.trim(),
    debtPolicy: v.debtPolicy,
  };
}

/** The node's field (`body/tiers/0/qualification/threshold`) as the form's (`tiers.0.threshold`). */
function fieldOfPath(path: string): string | undefined {
  const parts = path.replace(/^body\/?/, "").split("/");
  const [top, i, sub, leaf] = parts;
  if (top === "valuePer100Points") return "pointValue";
  if (top === "adjustments") return "approvalThreshold";
  if (top === "transfers") return sub === "allowed" ? "transfersAllowed" : "receivedAvailability";
  if (top === "tiers" && i !== undefined && /^\d+$/.test(i)) {
    if (sub === "qualification" && leaf) return `tiers.${i}.${leaf}`;
    if (sub) return `tiers.${i}.${sub}`;
  }
  return top || undefined;
}

let zones: string[] | undefined;
const timeZones = () => {
  zones ??= (
    Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  ).supportedValuesOf?.("timeZone") ?? ["UTC"];
  return zones;
};

/**
 * The programme's terms: what points are called and worth, the currency and time zone orders
 * are evaluated in, the return window, what happens to points already spent when an order is
 * refunded, transfers, expiry and tiers. Saving writes one public programme.set entry with the
 * whole programme; owners and admins change it, everyone else reads it.
 */
export function ProgrammeForm(props: { view: ProgrammeView; canManage: boolean }) {
  const { t, i18n } = useTranslation();
  const errorText = useErrorText();
  const set = useSetProgramme();
  const [saved, setSaved] = useState<{ entryIndex: number | null; changed: boolean }>();
  const defaults = useMemo(() => valuesOf(props.view.programme), [props.view.programme]);
  const form = useForm<ProgrammeValues>({
    resolver: zodResolver(ProgrammeValues),
    defaultValues: defaults,
  });
  const tiers = useFieldArray({ control: form.control, name: "tiers" });
  const [currency, pointValue, expiry, tierRows] = useWatch({
    control: form.control,
    name: ["currency", "pointValue", "expiry", "tiers"],
  });
  const code = (currency ?? "").trim().toUpperCase();
  const digits = /^[A-Z]{3}$/.test(code) ? currencyDigits(code) : 2;
  const per100 = parseDecimal(pointValue ?? "", digits + 2);
  const policy = expiryFormOf(expiry);
  const errors = form.formState.errors;
  const disabled = !props.canManage;

  // A large change of the point value waits here for the staff member's confirmation.
  const [confirming, setConfirming] = useState<{ values: ProgrammeValues; change: ValueChange }>();
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  const submit = form.handleSubmit(async (v) => {
    setSaved(undefined);
    const change = valueChangeToConfirm(props.view.programme, programmeOf(v, props.view.programme));
    if (change) setConfirming({ values: v, change });
    else await save(v);
  });

  const save = async (v: ProgrammeValues) => {
    setConfirming(undefined);
    try {
      const before = props.view.entryIndex;
      const view = await set.mutateAsync(programmeOf(v, props.view.programme));
      form.reset(valuesOf(view.programme));
      setSaved({ entryIndex: view.entryIndex, changed: view.entryIndex !== before });
    } catch (err) {
      let placed = false;
      if (err instanceof ConsoleApiError && Array.isArray(err.details)) {
        for (const issue of err.details as { path?: unknown; message?: unknown }[]) {
          if (typeof issue.path !== "string" || typeof issue.message !== "string") continue;
          const field = fieldOfPath(issue.path);
          if (field && field in form.getValues()) {
            form.setError(field as Path<ProgrammeValues>, {
              type: "server",
              message: issue.message,
            });
            placed = true;
          } else if (field?.startsWith("tiers.")) {
            form.setError(field as Path<ProgrammeValues>, {
              type: "server",
              message: issue.message,
            });
            placed = true;
          }
        }
      }
      if (!placed) form.setError("root", { type: "server", message: errorText(err).detail });
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="programme-form">
      <fieldset className="fieldset form-grid" disabled={disabled}>
        <legend className="form-title">{t("loyalty.programme.points")}</legend>
        <FieldShell label={t("loyalty.programme.pointName")} error={errors.pointName}>
          {(c) => (
            <input
              {...c}
              className="input"
              data-testid="programme-point-name"
              {...form.register("pointName")}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.programme.currency")}
          hint={t("loyalty.programme.currencyHint")}
          error={errors.currency}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              autoCapitalize="characters"
              maxLength={3}
              data-testid="programme-currency"
              {...form.register("currency")}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.programme.pointValue", { currency: code })}
          hint={
            per100 !== undefined
              ? t("loyalty.programme.pointValueHint", {
                  hundred: formatMoney(per100, code || "EUR", i18n.language),
                  thousand: formatMoney(per100 * 10, code || "EUR", i18n.language),
                })
              : t("loyalty.programme.pointValueHelp")
          }
          error={errors.pointValue}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="decimal"
              data-testid="programme-point-value"
              {...form.register("pointValue")}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.programme.returnWindow")}
          hint={t("loyalty.programme.returnWindowHint")}
          error={errors.returnWindowDays}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="programme-return-window"
              {...form.register("returnWindowDays")}
            />
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.programme.timeZone")}
          hint={t("loyalty.programme.timeZoneHint")}
          error={errors.timeZone}
        >
          {(c) => (
            <>
              <input
                {...c}
                className="input"
                list={`${c.id}-zones`}
                autoComplete="off"
                data-testid="programme-time-zone"
                {...form.register("timeZone")}
              />
              <datalist id={`${c.id}-zones`}>
                {timeZones().map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </>
          )}
        </FieldShell>
        <FieldShell
          label={t("loyalty.programme.debtPolicy")}
          hint={t(`loyalty.programme.debtHint.${form.watch("debtPolicy")}`)}
          error={errors.debtPolicy}
        >
          {(c) => (
            <select
              {...c}
              className="input"
              data-testid="programme-debt-policy"
              {...form.register("debtPolicy")}
            >
              <option value="recover">{t("loyalty.programme.debt.recover")}</option>
              <option value="write_off">{t("loyalty.programme.debt.write_off")}</option>
            </select>
          )}
        </FieldShell>
      </fieldset>

      <fieldset className="fieldset form-grid" disabled={disabled}>
        <legend className="form-title">{t("loyalty.programme.transfers")}</legend>
        <div className="form-field">
          <label className="radio">
            <input
              type="checkbox"
              data-testid="programme-transfers"
              {...form.register("transfersAllowed")}
            />{" "}
            {t("loyalty.programme.transfersAllowed")}
          </label>
        </div>
        <FieldShell label={t("loyalty.programme.received")} error={errors.receivedAvailability}>
          {(c) => (
            <select {...c} className="input" {...form.register("receivedAvailability")}>
              <option value="immediate">{t("loyalty.programme.receivedWhen.immediate")}</option>
              <option value="return_window">
                {t("loyalty.programme.receivedWhen.return_window")}
              </option>
            </select>
          )}
        </FieldShell>
      </fieldset>

      <fieldset className="fieldset form-grid" disabled={disabled}>
        <legend className="form-title">{t("loyalty.programme.adjustments")}</legend>
        <FieldShell
          label={t("loyalty.programme.approvalThreshold")}
          hint={t("loyalty.programme.approvalThresholdHint")}
          error={errors.approvalThreshold}
        >
          {(c) => (
            <input
              {...c}
              className="input"
              inputMode="numeric"
              data-testid="programme-approval-threshold"
              {...form.register("approvalThreshold")}
            />
          )}
        </FieldShell>
      </fieldset>

      <fieldset className="fieldset form-grid" disabled={disabled}>
        <legend className="form-title">{t("loyalty.programme.expiry")}</legend>
        <FieldShell
          label={t("loyalty.programme.expiryPolicy")}
          hint={
            policy
              ? t(`loyalty.programme.expiryHint.${policy.id}`)
              : t("loyalty.programme.expiryUnknown")
          }
        >
          {(c) => (
            <select
              {...c}
              className="input"
              data-testid="programme-expiry"
              value={String(expiry?.policy ?? "none")}
              onChange={(e) => {
                const next = EXPIRY_POLICIES.find((p) => p.id === e.target.value);
                if (next) form.setValue("expiry", next.initial(), { shouldDirty: true });
              }}
            >
              {EXPIRY_POLICIES.map((p) => (
                <option key={p.id} value={p.id}>
                  {t(`loyalty.programme.expiryPolicies.${p.id}`)}
                </option>
              ))}
              {policy ? null : (
                <option value={String(expiry?.policy)}>{String(expiry?.policy)}</option>
              )}
            </select>
          )}
        </FieldShell>
        {policy?.Fields ? (
          <policy.Fields
            value={expiry}
            onChange={(v) => form.setValue("expiry", v, { shouldDirty: true })}
          />
        ) : null}
      </fieldset>

      <fieldset className="fieldset" disabled={disabled} data-testid="programme-tiers">
        <legend className="form-title">{t("loyalty.programme.tiers")}</legend>
        <p className="hint field-hint hint-top">{t("loyalty.programme.tiersHint")}</p>
        {tiers.fields.length === 0 ? (
          <p className="empty-line">{t("loyalty.programme.noTiers")}</p>
        ) : (
          <ol className="plain-list tier-rows">
            {tiers.fields.map((field, i) => {
              const e = errors.tiers?.[i];
              const metric = tierRows?.[i]?.metric ?? field.metric;
              const n = i + 1;
              return (
                <li key={field.id} className="tier-row" data-testid="tier-row">
                  <FieldShell label={t("loyalty.programme.tierName", { n })} error={e?.name}>
                    {(c) => (
                      <input
                        {...c}
                        className="input"
                        data-testid="tier-name"
                        {...form.register(`tiers.${i}.name`)}
                      />
                    )}
                  </FieldShell>
                  <FieldShell label={t("loyalty.programme.tierId", { n })} error={e?.id}>
                    {(c) => (
                      <input
                        {...c}
                        className="input mono"
                        data-testid="tier-id"
                        {...form.register(`tiers.${i}.id`)}
                      />
                    )}
                  </FieldShell>
                  <FieldShell label={t("loyalty.programme.tierMetric", { n })} error={e?.metric}>
                    {(c) => (
                      <select
                        {...c}
                        className="input"
                        data-testid="tier-metric"
                        {...form.register(`tiers.${i}.metric`)}
                      >
                        <option value="points">{t("loyalty.programme.metric.points")}</option>
                        <option value="spend">{t("loyalty.programme.metric.spend")}</option>
                      </select>
                    )}
                  </FieldShell>
                  <FieldShell
                    label={
                      metric === "spend"
                        ? t("loyalty.programme.tierSpend", { n, currency: code })
                        : t("loyalty.programme.tierPoints", { n })
                    }
                    error={e?.threshold}
                  >
                    {(c) => (
                      <input
                        {...c}
                        className="input"
                        inputMode="decimal"
                        data-testid="tier-threshold"
                        {...form.register(`tiers.${i}.threshold`)}
                      />
                    )}
                  </FieldShell>
                  <FieldShell label={t("loyalty.programme.tierMonths", { n })} error={e?.months}>
                    {(c) => (
                      <input
                        {...c}
                        className="input"
                        inputMode="numeric"
                        data-testid="tier-months"
                        {...form.register(`tiers.${i}.months`)}
                      />
                    )}
                  </FieldShell>
                  {props.canManage ? (
                    <button
                      type="button"
                      className="btn btn-ghost btn-small tier-remove"
                      onClick={() => tiers.remove(i)}
                      aria-label={t("loyalty.programme.removeTier", {
                        name: tierRows?.[i]?.name || n,
                      })}
                      data-testid="tier-remove"
                    >
                      {t("loyalty.programme.remove")}
                    </button>
                  ) : null}
                </li>
              );
            })}
          </ol>
        )}
        {props.canManage && tiers.fields.length < 20 ? (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() =>
              tiers.append(
                { id: "", name: "", metric: "points", threshold: "0", months: "12" },
                { shouldFocus: true, focusName: `tiers.${tiers.fields.length}.name` },
              )
            }
            data-testid="tier-add"
          >
            {t("loyalty.programme.addTier")}
          </button>
        ) : null}
      </fieldset>

      {errors.root ? (
        <p className="field-error" role="alert" data-testid="programme-error">
          {errors.root.message}
        </p>
      ) : null}
      {saved ? (
        <p className="notice" role="status" data-testid="programme-saved">
          {saved.changed && saved.entryIndex !== null
            ? t("loyalty.programme.saved", { index: saved.entryIndex })
            : t("loyalty.programme.unchanged")}
        </p>
      ) : null}
      {confirming ? (
        <ValueConfirm
          change={confirming.change}
          pointName={confirming.values.pointName.trim()}
          confirmRef={confirmRef}
          onConfirm={() => save(confirming.values)}
          onCancel={() => {
            setConfirming(undefined);
            form.setFocus("pointValue");
          }}
        />
      ) : null}
      {props.canManage ? (
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={set.isPending}
            data-testid="programme-save"
          >
            {set.isPending ? <Spinner /> : null} {t("loyalty.programme.save")}
          </button>
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              form.reset(defaults);
              setSaved(undefined);
            }}
          >
            {t("loyalty.programme.reset")}
          </button>
        </div>
      ) : (
        <p className="hint">{t("loyalty.programme.readOnly")}</p>
      )}
    </form>
  );
}

/** Asks before a large change of the point value: the worth of 100 points before and after. */
function ValueConfirm(props: {
  change: ValueChange;
  pointName: string;
  confirmRef: React.RefObject<HTMLButtonElement | null>;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t, i18n } = useTranslation();
  const { before, after, percent } = props.change;
  const money = (v: { valuePer100Points: number; currency: string }) =>
    formatMoney(v.valuePer100Points, v.currency, i18n.language);
  return (
    <div className="notice notice-warn" role="alert" data-testid="programme-value-confirm">
      <div>
        <p>
          {t("loyalty.programme.valueConfirm", {
            pointName: props.pointName,
            before: money(before),
            after: money(after),
          })}{" "}
          {percent === null
            ? null
            : t("loyalty.programme.valueChange", {
                change: `${percent > 0 ? "+" : "−"}${Math.abs(percent).toLocaleString(i18n.language)} %`,
              })}
        </p>
        <p>{t("loyalty.programme.valueConfirmLead")}</p>
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            ref={props.confirmRef}
            onClick={props.onConfirm}
            data-testid="programme-value-confirm-save"
          >
            {t("loyalty.programme.valueConfirmSave")}
          </button>
          <button type="button" className="btn btn-ghost" onClick={props.onCancel}>
            {t("loyalty.programme.valueConfirmCancel")}
          </button>
        </div>
      </div>
    </div>
  );
}

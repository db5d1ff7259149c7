import { type FormEvent, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { Card, CopyButton, Pill } from "../../../components/ui.js";
import { pointNameFor } from "../../../lib/point-name.js";
import { useAccount } from "../../account/hooks.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { SignCancelled } from "../../signing/SigningProvider.js";
import { usePoints } from "../hooks.js";
import { useTransfer, useTransfers } from "../moves.js";
import {
  type TransferForm as Form,
  MESSAGE_MAX,
  type TransferProblems as Problems,
  transferProblems,
} from "../moves-form.js";
import type { Points, Transfer } from "../schemas.js";
import { MoveError } from "./MoveError.js";

/** Send points to another customer of the merchant, and the transfers sent and received. */
export function LoyaltyTransfer() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const points = usePoints(merchant);
  if (points.isPending) return <LoadingState />;
  if (points.isError) return <ErrorMessage error={points.error} retry={() => points.refetch()} />;
  return (
    <>
      <SendCard merchant={merchant} points={points.data} />
      <TransferList merchant={merchant} pointName={points.data.pointName} />
      <p className="hint">{t("loyalty.transfer.note")}</p>
    </>
  );
}

function SendCard(props: { merchant: string; points: Points }) {
  const { t } = useTranslation();
  const { points: p } = props;
  const account = useAccount(props.merchant);
  const transfer = useTransfer(account.data);
  const [form, setForm] = useState<Form>({ to: "", points: "", message: "" });
  const [shown, setShown] = useState<Problems>({});
  const [sent, setSent] = useState<{ to: string; points: number }>();
  const id = useId();
  const terms = p.programme.transfers;
  const allowed = terms?.allowed !== false;
  const limits = [
    terms?.minPoints !== undefined
      ? t("loyalty.transfer.limits.min", { count: terms.minPoints })
      : "",
    terms?.maxPoints !== undefined
      ? t("loyalty.transfer.limits.max", { count: terms.maxPoints })
      : "",
    terms?.dailyMaxPoints !== undefined
      ? t("loyalty.transfer.limits.dailyPoints", { count: terms.dailyMaxPoints })
      : "",
    terms?.dailyMaxCount !== undefined
      ? t("loyalty.transfer.limits.dailyCount", { count: terms.dailyMaxCount })
      : "",
  ].filter(Boolean);

  const set = (k: keyof Form) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    setShown((s) => ({ ...s, [k]: undefined }));
  };
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSent(undefined);
    const problems = transferProblems(form, p.customerId, p.balance);
    setShown(problems);
    const first = (Object.keys(problems) as (keyof Form)[])[0];
    if (first) {
      document.getElementById(`${id}-${first}`)?.focus();
      return;
    }
    const input = { to: form.to.trim(), points: Number(form.points), message: form.message };
    try {
      await transfer.mutateAsync(input);
      setSent({ to: input.to, points: input.points });
      setForm({ to: "", points: "", message: "" });
    } catch {
      // shown below from the mutation's error
    }
  };
  const field = (k: keyof Form) => ({
    id: `${id}-${k}`,
    "aria-invalid": shown[k] ? true : undefined,
    "aria-describedby":
      [shown[k] ? `${id}-${k}-error` : "", `${id}-${k}-hint`].filter(Boolean).join(" ") ||
      undefined,
    "data-testid": `transfer-${k}`,
  });
  const error = (k: keyof Form) =>
    shown[k] ? (
      <p className="field-error" id={`${id}-${k}-error`}>
        {t(shown[k] as string, { balance: p.balance.toLocaleString(), max: MESSAGE_MAX })}
      </p>
    ) : null;
  const failure =
    transfer.error && !(transfer.error instanceof SignCancelled) ? transfer.error : undefined;

  return (
    <Card title={t("loyalty.transfer.title")}>
      <p className="hint">
        {t("loyalty.transfer.lead", { pointName: p.pointName })}{" "}
        <strong data-testid="transfer-available">
          {t("loyalty.transfer.available", {
            count: p.balance,
            balance: p.balance.toLocaleString(),
            pointName: p.pointName,
          })}
        </strong>
      </p>
      <div className="value-line loyalty-my-id">
        <span>{t("loyalty.transfer.myId")}</span>{" "}
        <code data-testid="transfer-my-id">{p.customerId}</code> <CopyButton value={p.customerId} />
      </div>
      {!allowed ? (
        <p className="notice notice-warn" data-testid="transfer-disabled">
          {t("loyalty.refusals.transfers_disabled")}
        </p>
      ) : (
        <form className="stack loyalty-form" onSubmit={onSubmit} noValidate>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-to`}>
              {t("loyalty.transfer.to")}
            </label>
            <input
              className="input mono"
              type="text"
              autoComplete="off"
              autoCapitalize="off"
              spellCheck={false}
              value={form.to}
              onChange={set("to")}
              {...field("to")}
            />
            <p className="hint field-hint" id={`${id}-to-hint`}>
              {t("loyalty.transfer.toHint")}
            </p>
            {error("to")}
          </div>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-points`}>
              {t("loyalty.transfer.points", { pointName: p.pointName })}
            </label>
            <input
              className="input"
              type="text"
              inputMode="numeric"
              autoComplete="off"
              value={form.points}
              onChange={set("points")}
              {...field("points")}
            />
            <p className="hint field-hint" id={`${id}-points-hint`}>
              {limits.length > 0
                ? t("loyalty.transfer.limits.lead", { list: limits.join("; ") })
                : t("loyalty.transfer.limits.none")}
            </p>
            {error("points")}
          </div>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-message`}>
              {t("loyalty.transfer.message")}
            </label>
            <textarea
              className="input"
              rows={3}
              maxLength={MESSAGE_MAX + 100}
              value={form.message}
              onChange={set("message")}
              {...field("message")}
            />
            <p className="hint field-hint" id={`${id}-message-hint`}>
              {t("loyalty.transfer.messageHint", { max: MESSAGE_MAX })}
            </p>
            {error("message")}
          </div>
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={transfer.isPending || !account.data}
              data-testid="transfer-submit"
            >
              {t("loyalty.transfer.submit")}
            </button>
          </div>
        </form>
      )}
      <div aria-live="polite">
        {sent ? (
          <p className="notice notice-info" data-testid="transfer-sent">
            {t("loyalty.transfer.sent", {
              count: sent.points,
              points: sent.points.toLocaleString(),
              pointName: p.pointName,
              to: sent.to,
            })}
          </p>
        ) : null}
        {transfer.error instanceof SignCancelled ? (
          <p className="hint">{t("loyalty.cancelled")}</p>
        ) : null}
      </div>
      {failure ? <MoveError error={failure} testId="transfer-error" /> : null}
    </Card>
  );
}

function TransferList(props: { merchant: string; pointName: string }) {
  const { t } = useTranslation();
  const list = useTransfers(props.merchant);
  return (
    <Card title={t("loyalty.transfer.listTitle")}>
      {list.isPending ? <LoadingState /> : null}
      {list.isError ? <ErrorMessage error={list.error} retry={() => list.refetch()} /> : null}
      {list.data && list.data.transfers.length === 0 ? (
        <p className="muted" data-testid="transfers-none">
          {t("loyalty.transfer.none")}
        </p>
      ) : null}
      {list.data && list.data.transfers.length > 0 ? (
        <ul className="loyalty-list loyalty-moves" data-testid="transfers">
          {list.data.transfers.map((x) => (
            <TransferRow key={`${x.transferId}-${x.direction}`} x={x} pointName={props.pointName} />
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function TransferRow(props: { x: Transfer; pointName: string }) {
  const { t, i18n } = useTranslation();
  const { x } = props;
  return (
    <li className="loyalty-move" data-testid="transfer" data-direction={x.direction}>
      <div className="loyalty-lot-head">
        <Pill tone={x.direction === "received" ? "ok" : "neutral"}>
          {x.direction === "received"
            ? t("loyalty.transfer.received")
            : t("loyalty.transfer.sentPill")}
        </Pill>
        <strong data-testid="transfer-row-points">
          {x.direction === "received" ? "+" : "−"}
          {x.points.toLocaleString()} {pointNameFor(props.pointName, x.points, i18n.language)}
        </strong>
        <span className="muted">
          <DateTime iso={x.at} />
        </span>
      </div>
      <p className="loyalty-move-who">
        {x.direction === "received" ? t("loyalty.transfer.from") : t("loyalty.transfer.toWhom")}{" "}
        <code>{x.counterparty}</code>
      </p>
      {x.message ? (
        <blockquote className="loyalty-message" data-testid="transfer-row-message">
          {x.message}
        </blockquote>
      ) : x.hasMessage ? (
        <p className="muted">{t("loyalty.transfer.messageGone")}</p>
      ) : null}
    </li>
  );
}

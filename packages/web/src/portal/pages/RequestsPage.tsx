import { zodResolver } from "@hookform/resolvers/zod";
import { useId, useMemo, useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { z } from "zod";
import { Alert, Check, Clock, Key } from "../../components/icons.js";
import { Card, Field, Fields, Pill, Spinner, type Tone } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { useAccount } from "../account/hooks.js";
import type { Account } from "../keys/store.js";
import { DateTime, ErrorMessage, LoadingState, useTitle } from "../layout/ui.js";
import { Refusal } from "../rights/components.js";
import { useErase, useRequests, useRetention, useSubmitRequest } from "../rights/hooks.js";
import { REQUEST_KINDS, type RequestKind, type SubjectRequest } from "../rights/schemas.js";

const STATUS_TONE: Record<SubjectRequest["status"], Tone> = {
  received: "info",
  verified: "info",
  completed: "ok",
  rejected: "bad",
};

/**
 * The customer's data-subject rights at one merchant: a request (access, export, rectification,
 * erasure) their key signs, the requests they made with where each stands and its deadline, and
 * closing the account by erasing their data themselves.
 */
export function RequestsPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const account = useAccount(merchant);
  const name = account.data?.merchantName ?? merchant;
  useTitle(t("requests.tab"));
  return (
    <div className="stack" data-testid="requests-page">
      <SubmitCard account={account.data} merchant={merchant} merchantName={name} />
      <RequestsCard merchant={merchant} />
      <EraseCard account={account.data} merchant={merchant} merchantName={name} />
    </div>
  );
}

interface KindForm {
  kind: string;
}

const KindSchema = z.object({
  kind: z.string().refine((k) => (REQUEST_KINDS as readonly string[]).includes(k), {
    error: "requests.errors.kind",
  }),
}) satisfies z.ZodType<KindForm>;

function SubmitCard(props: {
  account: Account | null | undefined;
  merchant: string;
  merchantName: string;
}) {
  const { t } = useTranslation();
  const id = useId();
  const submitRequest = useSubmitRequest(props.account);
  const [sent, setSent] = useState<RequestKind>();
  const form = useForm<KindForm>({
    resolver: zodResolver(KindSchema),
    defaultValues: { kind: "" },
  });
  const error = form.formState.errors.kind?.message;
  const submit = form.handleSubmit(({ kind }) => {
    setSent(undefined);
    const k = kind as RequestKind;
    submitRequest.mutate(
      { kind: k, names: { [k]: t(`requests.kinds.${k}`) } },
      {
        onSuccess: () => {
          setSent(k);
          form.reset({ kind: "" });
        },
      },
    );
  });
  return (
    <Card title={t("requests.title")}>
      <form className="form stack" onSubmit={submit} noValidate aria-label={t("requests.title")}>
        <p className="hint">{t("requests.lead", { merchant: props.merchantName })}</p>
        <fieldset
          className="fieldset kind-choice"
          aria-describedby={error ? `${id}-error` : undefined}
          data-testid="request-kinds"
        >
          <legend className="label">{t("requests.kind")}</legend>
          {REQUEST_KINDS.map((k) => (
            <div className="check-row" key={k}>
              <input
                type="radio"
                className="check-input"
                id={`${id}-${k}`}
                value={k}
                aria-describedby={`${id}-${k}-hint`}
                aria-invalid={error ? true : undefined}
                data-testid={`request-kind-${k}`}
                {...form.register("kind")}
              />
              <div>
                <label htmlFor={`${id}-${k}`}>{t(`requests.kinds.${k}`)}</label>
                <p className="hint" id={`${id}-${k}-hint`}>
                  {t(`requests.hints.${k}`)}
                  {k === "rectification" ? (
                    <>
                      {" "}
                      <Link to={`/m/${props.merchant}/edit`}>{t("requests.correctYourself")}</Link>
                    </>
                  ) : null}
                </p>
              </div>
            </div>
          ))}
          {error ? (
            <p className="field-error" id={`${id}-error`}>
              {t(error)}
            </p>
          ) : null}
        </fieldset>
        <Refusal error={submitRequest.error} ns="requests" testId="request-error" />
        {sent && !submitRequest.error ? (
          <p className="notice notice-info" role="status" data-testid="request-sent">
            <Check size={18} />{" "}
            <span>{t("requests.sent", { kind: t(`requests.kinds.${sent}`) })}</span>
          </p>
        ) : null}
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={submitRequest.isPending}
            data-testid="request-submit"
          >
            {submitRequest.isPending ? <Spinner /> : <Key size={14} />} {t("requests.submit")}
          </button>
        </div>
      </form>
    </Card>
  );
}

function RequestsCard(props: { merchant: string }) {
  const { t } = useTranslation();
  const requests = useRequests(props.merchant);
  // Newest first: the node lists them by deadline, which is the order they came in.
  const list = useMemo(
    () =>
      [...(requests.data?.requests ?? [])].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt)),
    [requests.data],
  );
  return (
    <Card title={t("requests.listTitle")}>
      {requests.isPending ? <LoadingState /> : null}
      {requests.isError ? (
        <ErrorMessage error={requests.error} retry={() => requests.refetch()} />
      ) : null}
      {requests.data?.requests.length === 0 ? (
        <p data-testid="requests-none">{t("requests.none")}</p>
      ) : null}
      <ul className="me-list me-request-list" data-testid="requests">
        {list.map((r) => (
          <RequestItem key={r.id} request={r} />
        ))}
      </ul>
    </Card>
  );
}

function RequestItem(props: { request: SubjectRequest }) {
  const { t, i18n } = useTranslation();
  const r = props.request;
  const open = r.status === "received" || r.status === "verified";
  const channel = i18n.exists(`requests.channels.${r.channel}`)
    ? t(`requests.channels.${r.channel}`)
    : r.channel;
  return (
    <li className="me-item" data-testid="request" data-request-id={r.id} data-status={r.status}>
      <div className="me-item-head">
        <strong data-testid="request-kind">{t(`requests.kinds.${r.kind}`)}</strong>{" "}
        <Pill tone={STATUS_TONE[r.status]}>
          <span data-testid="request-status">{t(`requests.status.${r.status}`)}</span>
        </Pill>{" "}
        {open && r.overdue ? (
          <Pill tone="warn" icon={<Alert size={12} />}>
            {t("requests.overdue")}
          </Pill>
        ) : null}
      </div>
      <Fields>
        <Field label={t("requests.fields.received")}>
          <DateTime iso={r.receivedAt} /> · {channel}
        </Field>
        {open ? (
          <Field label={t("requests.fields.due")}>
            <span data-testid="request-due">
              <Clock size={12} /> <DateTime iso={r.dueAt} />
              {r.extended ? ` (${t("requests.extended")})` : null}
            </span>
          </Field>
        ) : null}
        {r.closedAt ? (
          <Field label={t("requests.fields.closed")}>
            <DateTime iso={r.closedAt} />
          </Field>
        ) : null}
        {r.reason ? (
          <Field label={t("requests.fields.reason")}>
            {i18n.exists(`requests.reasons.${r.reason}`)
              ? t(`requests.reasons.${r.reason}`)
              : r.reason}
          </Field>
        ) : null}
        <Field label={t("requests.fields.id")}>
          <code>{r.id}</code>
        </Field>
      </Fields>
    </li>
  );
}

interface ConfirmForm {
  words: string;
}

function EraseCard(props: {
  account: Account | null | undefined;
  merchant: string;
  merchantName: string;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <Card title={t("erase.title")} className="erase-card">
      <p>{t("erase.lead", { merchant: props.merchantName })}</p>
      {!open ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-danger"
            onClick={() => setOpen(true)}
            data-testid="erase-open"
          >
            {t("erase.open")}
          </button>
        </div>
      ) : (
        <EraseForm
          account={props.account}
          merchant={props.merchant}
          merchantName={props.merchantName}
          onCancel={() => setOpen(false)}
        />
      )}
    </Card>
  );
}

function EraseForm(props: {
  account: Account | null | undefined;
  merchant: string;
  merchantName: string;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const erase = useErase(props.account);
  const retention = useRetention(props.merchant);
  const word = t("erase.word");
  const schema = useMemo(
    () =>
      z.object({
        words: z.string().refine((s) => s.trim().toLowerCase() === word.toLowerCase(), {
          error: "erase.errors.words",
        }),
      }),
    [word],
  );
  const form = useForm<ConfirmForm>({
    resolver: zodResolver(schema),
    defaultValues: { words: "" },
  });
  const submit = form.handleSubmit(() => erase.mutate());
  const m = props.merchantName;
  return (
    <form
      className="form stack"
      onSubmit={submit}
      noValidate
      aria-label={t("erase.title")}
      data-testid="erase-form"
    >
      <h3>{t("erase.whatTitle")}</h3>
      <ul className="erase-list">
        <li>{t("erase.what.data", { merchant: m })}</li>
        <li>{t("erase.what.access", { merchant: m })}</li>
        <li>{t("erase.what.ledger")}</li>
        <li>{t("erase.what.backups", { merchant: m })}</li>
      </ul>
      <h3>{t("erase.keptTitle", { merchant: m })}</h3>
      {retention.isPending ? <LoadingState /> : null}
      {retention.isError ? <ErrorMessage error={retention.error} /> : null}
      {retention.data?.policies.length === 0 ? (
        <p data-testid="retention-none">{t("erase.keptNone", { merchant: m })}</p>
      ) : null}
      {retention.data && retention.data.policies.length > 0 ? (
        <>
          <p className="hint">{t("erase.keptLead")}</p>
          <ul className="me-list me-retention-list" data-testid="retention">
            {retention.data.policies.map((p) => (
              <li key={p.id} className="me-item me-retention-policy" data-testid="retention-policy">
                <strong>{p.name}</strong> — {t("erase.keptFor", { count: p.years })}
                <p className="hint">{p.note}</p>
                {p.interactionKinds.length > 0 ? (
                  <p>
                    {t("erase.keptKinds", { count: p.years })}{" "}
                    {p.interactionKinds.map((k) => t(`erase.kinds.${k}`)).join(", ")}
                  </p>
                ) : null}
                {p.fields.length > 0 ? (
                  <p>
                    {p.interactionKinds.length > 0
                      ? t("erase.keptFieldsWith")
                      : t("erase.keptFields")}{" "}
                    {p.fields.map((f) => t(`erase.fields.${f}`)).join(", ")}
                  </p>
                ) : null}
                {/* The node keeps nothing under a policy on records the customer does not have
                    (rights/retention.ts): its details neither. */}
                {p.interactionKinds.length > 0 ? (
                  <p className="hint" data-testid="retention-only-if">
                    {t("erase.keptOnlyIf")}
                  </p>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <div className="notice notice-warn">
        <Alert size={18} />
        <span>
          {t("erase.final")}{" "}
          <Link to={`/m/${props.merchant}/history`} data-testid="erase-download-first">
            {t("erase.finalLink")}
          </Link>
        </span>
      </div>
      <FormField
        form={form}
        name="words"
        label={t("erase.confirmLabel", { word })}
        hint={t("erase.confirmHint")}
        autoComplete="off"
      />
      <Refusal error={erase.error} ns="erase" testId="erase-error" />
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-danger"
          disabled={erase.isPending}
          data-testid="erase-submit"
        >
          {erase.isPending ? <Spinner /> : <Key size={14} />} {t("erase.submit")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onCancel}>
          {t("action.cancel")}
        </button>
      </div>
    </form>
  );
}

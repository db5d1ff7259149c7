import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect, useMemo, useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { z } from "zod";
import { Check, Download, Key, ShieldCheck, ShieldX } from "../../components/icons.js";
import { Card, Field, Fields, Pill, Spinner, type Tone } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { useAccount } from "../account/hooks.js";
import type { Account } from "../keys/store.js";
import { DateTime, ErrorMessage, LoadingState, useTitle } from "../layout/ui.js";
import { CheckGroup, Refusal } from "../rights/components.js";
import {
  useConsentOptions,
  useConsents,
  useGrant,
  useIssuerKeys,
  useNarrow,
  useReceipt,
  useRevoke,
} from "../rights/hooks.js";
import { checkReceipt, decodeReceipt } from "../rights/receipt.js";
import type { ConsentOptions, ConsentView } from "../rights/schemas.js";
import {
  DEFAULT_DURATION,
  DURATIONS,
  dateOf,
  durationsWithin,
  type GrantForm,
  grantPayload,
  lastDay,
  type NarrowForm,
  narrowDefaults,
  narrowPayload,
  narrowProblem,
  untilProblem,
} from "../rights/terms.js";
import { useConsentWords } from "../rights/words.js";

const STATUS_TONE: Record<ConsentView["status"], Tone> = {
  active: "ok",
  scheduled: "info",
  lapsed: "neutral",
  revoked: "neutral",
};

/**
 * The customer's consents at one merchant (GET /v1/portal/consents): what each allows, to whom
 * and until when, with its receipt; and the signed commands that give, narrow and withdraw one.
 */
export function ConsentsPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const account = useAccount(merchant);
  const consents = useConsents(merchant);
  const options = useConsentOptions(merchant);
  const name = account.data?.merchantName ?? merchant;
  const words = useConsentWords(name, options.data);
  useTitle(t("consents.tab"));
  return (
    <div className="stack" data-testid="consents-page">
      <Card title={t("consents.title")}>
        <p className="hint">{t("consents.lead", { merchant: name })}</p>
        {consents.isPending ? <LoadingState /> : null}
        {consents.isError ? (
          <ErrorMessage error={consents.error} retry={() => consents.refetch()} />
        ) : null}
        {consents.data?.consents.length === 0 ? (
          <p data-testid="consents-none">{t("consents.none")}</p>
        ) : null}
        <ul className="me-list me-consent-list" data-testid="consents">
          {consents.data?.consents.map((c) => (
            <ConsentItem
              key={c.id}
              consent={c}
              account={account.data}
              merchant={merchant}
              words={words}
            />
          ))}
        </ul>
      </Card>
      <GrantCard account={account.data} merchantName={name} options={options} words={words} />
    </div>
  );
}

type Words = ReturnType<typeof useConsentWords>;
type Panel = "narrow" | "revoke" | "receipt" | undefined;

function ConsentItem(props: {
  consent: ConsentView;
  account: Account | null | undefined;
  merchant: string;
  words: Words;
}) {
  const { t } = useTranslation();
  const c = props.consent;
  const { words } = props;
  const [panel, setPanel] = useState<Panel>();
  const open = c.status === "active" || c.status === "scheduled";
  const toggle = (p: Panel) => setPanel((was) => (was === p ? undefined : p));
  return (
    <li
      className={`me-item me-consent-${c.status}`}
      data-testid="consent"
      data-consent-id={c.id}
      data-status={c.status}
    >
      <div className="me-item-head">
        <strong className="me-consent-purposes" data-testid="consent-purposes">
          {c.purposes.map(words.purpose).join(", ")}
        </strong>{" "}
        <Pill
          tone={STATUS_TONE[c.status]}
          icon={c.status === "active" ? <Check size={12} /> : undefined}
        >
          <span data-testid="consent-status">{t(`consents.status.${c.status}`)}</span>
        </Pill>
      </div>
      <Fields>
        <Field label={t("consents.fields.grantee")}>
          <span data-testid="consent-grantee">{words.grantee(c)}</span>
        </Field>
        <Field label={t("consents.fields.categories")}>
          <span data-testid="consent-categories">
            {c.categories.map(words.category).join(", ")}
          </span>
        </Field>
        <Field label={t("consents.fields.from")}>
          <DateTime iso={c.validFrom} />
        </Field>
        <Field label={t("consents.fields.until")}>
          <span data-testid="consent-until">
            <DateTime iso={c.validUntil} />
          </span>
        </Field>
        <Field label={t("consents.fields.method")}>
          {t(`consents.methods.${c.method}`)} · <DateTime iso={c.grantedAt} />
        </Field>
        {c.endedAt ? (
          <Field label={t("consents.fields.ended")}>
            <span data-testid="consent-ended">
              <DateTime iso={c.endedAt} />
              {c.endedReason ? ` · ${t(`consents.ended.${c.endedReason}`)}` : null}
            </span>
          </Field>
        ) : null}
        <Field label={t("consents.fields.id")}>
          <code>{c.id}</code>
        </Field>
      </Fields>
      <div className="form-actions me-item-actions">
        <button
          type="button"
          className="btn btn-small"
          aria-expanded={panel === "receipt"}
          onClick={() => toggle("receipt")}
          data-testid="receipt-open"
        >
          <ShieldCheck size={14} /> {t("consents.receipt.open")}
        </button>
        {open ? (
          <>
            <button
              type="button"
              className="btn btn-small"
              aria-expanded={panel === "narrow"}
              onClick={() => toggle("narrow")}
              data-testid="narrow-open"
            >
              {t("consents.narrow.open")}
            </button>
            <button
              type="button"
              className="btn btn-small btn-danger"
              aria-expanded={panel === "revoke"}
              onClick={() => toggle("revoke")}
              data-testid="revoke-open"
            >
              {t("consents.revoke.open")}
            </button>
          </>
        ) : null}
      </div>
      {panel === "receipt" ? (
        <ReceiptPanel consent={c} merchant={props.merchant} words={words} />
      ) : null}
      {panel === "narrow" && open ? (
        <NarrowPanel
          consent={c}
          account={props.account}
          words={words}
          onDone={() => setPanel(undefined)}
        />
      ) : null}
      {panel === "revoke" && open ? (
        <RevokePanel
          consent={c}
          account={props.account}
          words={words}
          onDone={() => setPanel(undefined)}
        />
      ) : null}
    </li>
  );
}

function RevokePanel(props: {
  consent: ConsentView;
  account: Account | null | undefined;
  words: Words;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  const revoke = useRevoke(props.account);
  const c = props.consent;
  return (
    <div className="me-panel notice notice-warn" data-testid="revoke-panel">
      <div className="stack">
        <p>
          <strong>{t("consents.revoke.confirm")}</strong>
        </p>
        <p>{t("consents.revoke.lead")}</p>
        <Refusal error={revoke.error} ns="consents" testId="revoke-error" />
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-danger"
            disabled={revoke.isPending}
            onClick={() =>
              revoke.mutate(
                {
                  consentId: c.id,
                  names: props.words.names({ purposes: [], categories: [], consent: c }),
                },
                { onSuccess: props.onDone },
              )
            }
            data-testid="revoke-confirm"
          >
            {revoke.isPending ? <Spinner /> : <Key size={14} />} {t("consents.revoke.submit")}
          </button>
          <button type="button" className="btn btn-ghost" onClick={props.onDone}>
            {t("consents.revoke.keep")}
          </button>
        </div>
      </div>
    </div>
  );
}

function NarrowPanel(props: {
  consent: ConsentView;
  account: Account | null | undefined;
  words: Words;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  const c = props.consent;
  const narrow = useNarrow(props.account);
  const schema = useMemo(
    () =>
      z
        .object({
          purposes: z.array(z.string()),
          categories: z.array(z.string()),
          until: z.string(),
        })
        .superRefine((v, ctx) => {
          const problem = narrowProblem(c, v, Date.now());
          if (problem) ctx.addIssue({ code: "custom", path: [problem[0]], message: problem[1] });
        }),
    [c],
  );
  const form = useForm<NarrowForm>({
    resolver: zodResolver(schema),
    defaultValues: narrowDefaults(c),
  });
  const submit = form.handleSubmit((values) => {
    const payload = narrowPayload(c, values);
    narrow.mutate(
      {
        payload,
        names: props.words.names({ purposes: c.purposes, categories: c.categories, consent: c }),
      },
      { onSuccess: props.onDone },
    );
  });
  return (
    <form
      className="form me-panel"
      onSubmit={submit}
      noValidate
      aria-label={t("consents.narrow.title")}
      data-testid="narrow-form"
    >
      <h3>{t("consents.narrow.title")}</h3>
      <p className="hint">{t("consents.narrow.lead")}</p>
      <CheckGroup
        form={form}
        name="purposes"
        legend={t("consents.grant.purposes")}
        options={c.purposes.map((p) => ({ value: p, label: props.words.purpose(p) }))}
      />
      <CheckGroup
        form={form}
        name="categories"
        legend={t("consents.grant.categories")}
        options={c.categories.map((x) => ({ value: x, label: props.words.category(x) }))}
      />
      <FormField
        form={form}
        name="until"
        type="date"
        label={t("consents.narrow.until")}
        hint={t("consents.narrow.untilHint", { date: dateOf(Date.parse(c.validUntil)) })}
      />
      <Refusal error={narrow.error} ns="consents" testId="narrow-error" />
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={narrow.isPending}
          data-testid="narrow-submit"
        >
          {narrow.isPending ? <Spinner /> : <Key size={14} />} {t("consents.narrow.submit")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onDone}>
          {t("action.cancel")}
        </button>
      </div>
    </form>
  );
}

function ReceiptPanel(props: { consent: ConsentView; merchant: string; words: Words }) {
  const { t } = useTranslation();
  const receipt = useReceipt(props.merchant, props.consent.id, true);
  const decoded = useMemo(() => {
    if (!receipt.data) return undefined;
    try {
      return { ok: true as const, value: decodeReceipt(receipt.data.receipt) };
    } catch (err) {
      return { ok: false as const, error: err };
    }
  }, [receipt.data]);
  const keys = useIssuerKeys(receipt.data?.jwks);
  const check = decoded?.ok && keys.data ? checkReceipt(decoded.value, keys.data) : undefined;
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!receipt.data) return;
    const made = URL.createObjectURL(new Blob([receipt.data.receipt], { type: "application/jwt" }));
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [receipt.data]);
  if (receipt.isPending) return <LoadingState />;
  if (receipt.isError)
    return <ErrorMessage error={receipt.error} retry={() => receipt.refetch()} />;
  if (!decoded?.ok) return <ErrorMessage error={decoded?.error} testId="receipt-error" />;
  const { claims, consent } = decoded.value;
  const text = (x: unknown) => (typeof x === "string" ? x : "");
  // What the credential states, read in the page's words (its exact codes are in the claims
  // below): a word for each value it names, the value itself when the portal has none.
  const { words } = props;
  const ids = (x: unknown) => (Array.isArray(x) ? x.filter((v) => typeof v === "string") : []);
  const status = text(consent.status);
  const grantee = text(consent.grantee);
  const iat = typeof claims.iat === "number" ? new Date(claims.iat * 1000).toISOString() : "";
  return (
    <section
      className="me-panel receipt"
      aria-label={t("consents.receipt.title")}
      data-testid="receipt"
    >
      <h3>{t("consents.receipt.title")}</h3>
      <p className="hint">{t("consents.receipt.lead")}</p>
      {keys.isPending ? <LoadingState label={t("consents.receipt.checking")} /> : null}
      {keys.isError ? <ErrorMessage error={keys.error} /> : null}
      {check ? (
        <p
          className={check.ok ? "notice notice-info" : "notice notice-bad"}
          role="status"
          data-testid="receipt-check"
          data-ok={check.ok}
        >
          {check.ok ? <ShieldCheck size={18} /> : <ShieldX size={18} />}
          <span>
            {check.ok
              ? t("consents.receipt.valid", { kid: check.kid })
              : t(`consents.receipt.invalid.${check.reason}`)}
          </span>
        </p>
      ) : null}
      <Fields>
        <Field label={t("consents.receipt.issuer")}>
          <code className="did">{text(claims.issuer) || text(claims.iss)}</code>
        </Field>
        {iat ? (
          <Field label={t("consents.receipt.issued")}>
            <DateTime iso={iat} />
          </Field>
        ) : null}
        <Field label={t("consents.receipt.states")}>
          <span data-testid="receipt-status">
            {t(`consents.status.${status}`, { defaultValue: status })}
          </span>
        </Field>
        <Field label={t("consents.fields.purposes")}>
          <span data-testid="receipt-purposes">
            {ids(consent.purposes).map(words.purpose).join(", ")}
          </span>
        </Field>
        <Field label={t("consents.fields.categories")}>
          <span data-testid="receipt-categories">
            {ids(consent.categories).map(words.category).join(", ")}
          </span>
        </Field>
        <Field label={t("consents.fields.grantee")}>
          <span data-testid="receipt-grantee">
            {grantee ? words.grantee({ grantee, merchantId: props.consent.merchantId }) : null}
          </span>
        </Field>
        <Field label={t("consents.fields.until")}>
          {text(claims.validUntil) ? <DateTime iso={text(claims.validUntil)} /> : null}
        </Field>
        {text(object(claims.credentialSubject).id) ? (
          <Field label={t("consents.receipt.signer")}>
            <code className="did">{text(object(claims.credentialSubject).id)}</code>
          </Field>
        ) : null}
        <Field label={t("consents.receipt.entry")}>{String(consent.entryIndex ?? "")}</Field>
      </Fields>
      <details className="receipt-details">
        <summary>{t("consents.receipt.claims")}</summary>
        <pre className="code raw" data-testid="receipt-claims">
          {JSON.stringify({ header: decoded.value.header, claims }, null, 2)}
        </pre>
      </details>
      <details className="receipt-details">
        <summary>{t("consents.receipt.raw")}</summary>
        <pre className="code raw" data-testid="receipt-jwt">
          {receipt.data.receipt}
        </pre>
      </details>
      {url ? (
        <p>
          <a
            href={url}
            download={`consent-${props.consent.id}.jwt`}
            className="btn btn-small"
            data-testid="receipt-download"
          >
            <Download size={14} /> {t("consents.receipt.download")}
          </a>
        </p>
      ) : null}
    </section>
  );
}

const object = (x: unknown): Record<string, unknown> =>
  x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : {};

function GrantCard(props: {
  account: Account | null | undefined;
  merchantName: string;
  options: ReturnType<typeof useConsentOptions>;
  words: Words;
}) {
  const { t } = useTranslation();
  const { options } = props;
  return (
    <Card title={t("consents.grant.title")}>
      {options.isPending ? <LoadingState /> : null}
      {options.isError ? (
        <ErrorMessage error={options.error} retry={() => options.refetch()} />
      ) : null}
      {options.data && options.data.purposes.length === 0 ? (
        <p className="notice notice-info" data-testid="no-purposes">
          {t("consents.noPurposes", { merchant: props.merchantName })}
        </p>
      ) : null}
      {options.data && options.data.purposes.length > 0 ? (
        <GrantTerms account={props.account} options={options.data} words={props.words} />
      ) : null}
    </Card>
  );
}

function GrantTerms(props: {
  account: Account | null | undefined;
  options: ConsentOptions;
  words: Words;
}) {
  const { t } = useTranslation();
  const { options, words } = props;
  const grant = useGrant(props.account);
  const [done, setDone] = useState(false);
  const now = Date.now();
  const latest = lastDay(now, options.maxDays);
  const schema = useMemo(
    () =>
      z
        .object({
          purposes: z.array(z.string()).min(1, { error: "consents.errors.purposes" }),
          categories: z.array(z.string()).min(1, { error: "consents.errors.categories" }),
          grantee: z.string().min(1),
          duration: z.enum(DURATIONS),
          until: z.string(),
        })
        .superRefine((v, ctx) => {
          const problem = untilProblem(v, Date.now(), options.maxDays);
          if (problem) ctx.addIssue({ code: "custom", path: ["until"], message: problem });
        }),
    [options.maxDays],
  );
  const defaults: GrantForm = {
    purposes: [],
    categories: [],
    grantee: options.merchant.id,
    duration: DEFAULT_DURATION,
    until: "",
  };
  const form = useForm<GrantForm>({ resolver: zodResolver(schema), defaultValues: defaults });
  const duration = form.watch("duration");
  const durations = durationsWithin(now, options.maxDays).map((d) => ({
    value: d,
    label: t(`consents.grant.durations.${d}`),
  }));
  const grantees = [
    {
      value: options.merchant.id,
      label: t("consents.thisMerchant", { merchant: options.merchant.name }),
    },
    ...options.partners.map((p) => ({
      value: p.id,
      label: t("consents.partner", { name: p.name }),
    })),
  ];
  const submit = form.handleSubmit((values) => {
    setDone(false);
    const payload = grantPayload(values, Date.now());
    grant.mutate(
      { payload, names: words.names({ purposes: values.purposes, categories: values.categories }) },
      {
        onSuccess: () => {
          form.reset(defaults);
          setDone(true);
        },
      },
    );
  });
  return (
    <form
      className="form stack"
      onSubmit={submit}
      noValidate
      aria-label={t("consents.grant.title")}
      data-testid="grant-form"
    >
      <p className="hint">{t("consents.grant.lead", { merchant: options.merchant.name })}</p>
      <CheckGroup
        form={form}
        name="purposes"
        legend={t("consents.grant.purposes")}
        options={options.purposes.map((p) => ({
          value: p.id,
          label: p.name,
          hint: t(`consents.purposes.${p.id}`),
        }))}
      />
      <CheckGroup
        form={form}
        name="categories"
        legend={t("consents.grant.categories")}
        options={options.categories.map((c) => ({ value: c, label: words.category(c) }))}
      />
      <div className="form-grid">
        <FormField
          form={form}
          name="grantee"
          label={t("consents.grant.grantee")}
          options={grantees}
        />
        <FormField
          form={form}
          name="duration"
          label={t("consents.grant.duration")}
          options={durations}
        />
        {duration === "date" ? (
          <FormField
            form={form}
            name="until"
            type="date"
            label={t("consents.grant.until")}
            hint={t("consents.grant.untilHint", { date: latest })}
          />
        ) : null}
      </div>
      <Refusal error={grant.error} ns="consents" testId="grant-error" />
      {done && !grant.error ? (
        <p className="notice notice-info" role="status" data-testid="grant-done">
          <Check size={18} /> <span>{t("consents.grant.done")}</span>
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={grant.isPending}
          data-testid="grant-submit"
        >
          {grant.isPending ? <Spinner /> : <Key size={14} />} {t("consents.grant.submit")}
        </button>
      </div>
    </form>
  );
}

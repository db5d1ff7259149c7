import { type ReactNode, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Alert, Refresh } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { PortalApiError } from "../api/client.js";
import { dateLocale } from "../i18n/date-locale.js";
import { BackupError } from "../keys/backup.js";
import { PasskeyError } from "../keys/passkey.js";
import { KeyStoreError } from "../keys/store.js";

// Small pieces every portal page uses, with their words from the catalogues.

export function useTitle(title: string) {
  const { t } = useTranslation();
  const suffix = t("app.title");
  useEffect(() => {
    document.title = title ? `${title} · ${suffix}` : suffix;
  }, [title, suffix]);
}

/** Node refusals the portal explains in its own words; others show the node's message. */
const KNOWN_CODES = [
  "identity_in_use",
  "already_joined",
  "already_claimed",
  "invite_not_found",
  "invite_expired",
  "invite_used",
  "profile_gone",
  "too_many_attempts",
  "invalid_challenge",
  "unknown_actor",
  "key_rotated",
  "key_revoked",
  "account_closed",
  "session_expired",
  "command_expired",
  "expires_too_far",
  "wrong_ledger",
  "invalid_signature",
  "recovery_pending",
  "recovery_ended",
  "key_in_use",
  "unknown_merchant",
] as const;

/** Why something failed, in the reader's language, with the technical detail beside it. */
export function useErrorText() {
  const { t } = useTranslation();
  return (err: unknown): { title: string; detail: string } => {
    if (err instanceof PortalApiError) {
      const known = KNOWN_CODES.find((c) => c === err.code);
      if (known) return { title: t(`refusal.${known}`), detail: err.message };
      if (err.status === 0) return { title: t("error.unreachable"), detail: err.message };
      if (err.code === "bad_answer") return { title: t("error.badAnswer"), detail: err.message };
      if (err.status === 401) return { title: t("error.signedOut"), detail: err.message };
      if (err.status === 404) return { title: t("error.notFound"), detail: err.message };
      if (err.status >= 500) return { title: t("error.server"), detail: err.message };
      return { title: t("error.refused"), detail: err.message };
    }
    if (err instanceof PasskeyError)
      return { title: t(`passkey.${err.code}`), detail: err.message };
    if (err instanceof BackupError)
      return { title: t(`backup.errors.${err.code}`), detail: err.message };
    if (err instanceof KeyStoreError)
      return { title: t(`keys.errors.${err.code}`), detail: err.message };
    return { title: t("error.unknown"), detail: err instanceof Error ? err.message : String(err) };
  };
}

export function ErrorMessage(props: { error: unknown; retry?: () => void; testId?: string }) {
  const { t } = useTranslation();
  const { title, detail } = useErrorText()(props.error);
  return (
    <div className="notice notice-bad" role="alert" data-testid={props.testId ?? "error"}>
      <Alert size={18} />
      <div>
        <strong>{title}</strong>
        <p>{detail}</p>
      </div>
      {props.retry ? (
        <button type="button" className="btn btn-ghost" onClick={props.retry}>
          <Refresh size={14} /> {t("action.retry")}
        </button>
      ) : null}
    </div>
  );
}

export function LoadingState(props: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div className="state state-loading">
      <Spinner label={props.label ?? t("state.loading")} />
    </div>
  );
}

export function PageHead(props: { title: ReactNode; lead?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1>{props.title}</h1>
        {props.lead ? <p className="lead">{props.lead}</p> : null}
      </div>
      {props.actions ? <div className="page-actions">{props.actions}</div> : null}
    </div>
  );
}

const formats = new Map<string, Intl.DateTimeFormat>();

export function DateTime(props: { iso: string; dateOnly?: boolean }) {
  const { i18n } = useTranslation();
  const locale = dateLocale(i18n.language);
  const key = `${locale}|${props.dateOnly === true}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(
      locale,
      props.dateOnly
        ? { dateStyle: "long", timeZone: "UTC" }
        : { dateStyle: "medium", timeStyle: "short" },
    );
    formats.set(key, format);
  }
  const d = new Date(props.dateOnly ? `${props.iso}T00:00:00Z` : props.iso);
  if (Number.isNaN(d.getTime())) return <span>{props.iso}</span>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {format.format(d)}
    </time>
  );
}

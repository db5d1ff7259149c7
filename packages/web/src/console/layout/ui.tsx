import { type ReactNode, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Alert, Refresh } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { ConsoleApiError } from "../api/client.js";

// Small pieces every console page uses, with their words from the catalogues.

export function useTitle(title: string) {
  const { t } = useTranslation();
  const suffix = t("app.title");
  useEffect(() => {
    document.title = title ? `${title} · ${suffix}` : suffix;
  }, [title, suffix]);
}

/** Why a request failed, in the reader's language, with the node's own words as detail. */
export function useErrorText() {
  const { t } = useTranslation();
  return (err: unknown): { title: string; detail: string } => {
    if (err instanceof ConsoleApiError) {
      if (err.status === 0) return { title: t("error.unreachable"), detail: err.message };
      if (err.code === "bad_answer") return { title: t("error.badAnswer"), detail: err.message };
      if (err.status === 401) return { title: t("error.signedOut"), detail: err.message };
      if (err.status === 403) return { title: t("error.forbidden"), detail: err.message };
      if (err.status === 404) return { title: t("error.notFound"), detail: err.message };
      if (err.status >= 500) return { title: t("error.server"), detail: err.message };
      return { title: t("error.refused"), detail: err.message };
    }
    return { title: t("error.unknown"), detail: err instanceof Error ? err.message : String(err) };
  };
}

/** `detail`, when given, says the error in place of the node's words (a refusal known by code). */
export function ErrorMessage(props: { error: unknown; retry?: () => void; detail?: ReactNode }) {
  const { t } = useTranslation();
  const text = useErrorText()(props.error);
  const title = text.title;
  const detail = props.detail ?? text.detail;
  return (
    <div className="notice notice-bad" role="alert">
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
  const key = `${i18n.language}|${props.dateOnly === true}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(
      i18n.language,
      props.dateOnly ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" },
    );
    formats.set(key, format);
  }
  const d = new Date(props.iso);
  if (Number.isNaN(d.getTime())) return <span>{props.iso}</span>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {format.format(d)}
    </time>
  );
}

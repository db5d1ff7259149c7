import { type ReactNode, useEffect, useRef, useState } from "react";
import { ApiError } from "../lib/api.js";
import { reasonOf } from "../lib/verify.js";
import { Alert, Check, Copy, Info, Refresh } from "./icons.js";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API outside secure contexts (a node reached over plain http by its address).
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export function CopyButton(props: { value: string; label?: string; text?: string }) {
  const [copied, setCopied] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const click = async () => {
    if (!(await copyText(props.value))) return;
    setCopied(true);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setCopied(false), 1500);
  };
  const label = props.label ?? "Copy";
  return (
    <button
      type="button"
      className={props.text ? "copy copy-text" : "copy"}
      onClick={click}
      title={copied ? "Copied" : label}
      aria-label={props.text ? undefined : label}
    >
      {copied ? <Check size={14} /> : <Copy size={14} />}
      {props.text ? <span>{copied ? "Copied" : props.text}</span> : null}
      <span className="sr-only" aria-live="polite">
        {copied ? "Copied" : ""}
      </span>
    </button>
  );
}

export function shorten(value: string, keep = 8): string {
  const prefix = value.startsWith("0x") ? 2 : 0;
  if (value.length <= prefix + keep * 2 + 1) return value;
  return `${value.slice(0, prefix + keep)}…${value.slice(-keep)}`;
}

/** A hash readable at a glance: shortened, the whole value on hover and one click to copy. */
export function Hash(props: { value: string; label?: string; full?: boolean; keep?: number }) {
  return (
    <span className="hash">
      <code title={props.value} className={props.full ? "hash-full" : undefined}>
        {props.full ? props.value : shorten(props.value, props.keep)}
      </code>
      <CopyButton value={props.value} label={`Copy ${props.label ?? "hash"}`} />
    </span>
  );
}

export type Tone = "ok" | "bad" | "warn" | "info" | "neutral";

export function Pill(props: { tone: Tone; children: ReactNode; icon?: ReactNode; title?: string }) {
  return (
    <span className={`pill pill-${props.tone}`} title={props.title}>
      {props.icon}
      {props.children}
    </span>
  );
}

export function Card(props: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  return (
    <section className={props.className ? `card ${props.className}` : "card"} id={props.id}>
      {props.title || props.actions ? (
        <header className="card-head">
          {props.title ? <h2>{props.title}</h2> : <span />}
          {props.actions ? <div className="card-actions">{props.actions}</div> : null}
        </header>
      ) : null}
      <div className="card-body">{props.children}</div>
    </section>
  );
}

export function Fields(props: { children: ReactNode }) {
  return <dl className="fields">{props.children}</dl>;
}

export function Field(props: { label: ReactNode; children: ReactNode }) {
  return (
    <div className="field">
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <span className="spinner-wrap" role="status">
      <span className="spinner" aria-hidden="true" />
      <span className={props.label ? undefined : "sr-only"}>{props.label ?? "Loading"}</span>
    </span>
  );
}

export function Loading(props: { label: string }) {
  return (
    <div className="state state-loading">
      <Spinner label={props.label} />
    </div>
  );
}

export function Skeleton(props: { lines?: number }) {
  return (
    <div className="skeleton" aria-hidden="true">
      {Array.from({ length: props.lines ?? 3 }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders have no identity
        <span key={i} className="skeleton-line" />
      ))}
    </div>
  );
}

export function describeError(err: unknown): { title: string; detail: string } {
  if (err instanceof ApiError) {
    if (err.status === 0) return { title: "Cannot reach the node", detail: err.message };
    if (err.code === "bad_answer")
      return { title: "The node sent a bad answer", detail: err.message };
    if (err.code === "sealed_entry") return { title: "This entry is sealed", detail: err.message };
    if (err.status === 404) return { title: "Not found", detail: err.message };
    if (err.status >= 500) return { title: "The node had a problem", detail: err.message };
    return { title: "The node refused the request", detail: err.message };
  }
  return { title: "Something went wrong", detail: reasonOf(err) };
}

export function ErrorNotice(props: { error: unknown; title?: string; retry?: () => void }) {
  const { title, detail } = describeError(props.error);
  return (
    <div className="notice notice-bad" role="alert">
      <Alert size={18} />
      <div>
        <strong>{props.title ?? title}</strong>
        <p>{detail}</p>
      </div>
      {props.retry ? (
        <button type="button" className="btn btn-ghost" onClick={props.retry}>
          <Refresh size={14} /> Retry
        </button>
      ) : null}
    </div>
  );
}

export function Notice(props: { tone?: "info" | "warn"; title: ReactNode; children?: ReactNode }) {
  const tone = props.tone ?? "info";
  return (
    <div className={`notice notice-${tone}`}>
      {tone === "warn" ? <Alert size={18} /> : <Info size={18} />}
      <div>
        <strong>{props.title}</strong>
        {props.children ? <div className="notice-body">{props.children}</div> : null}
      </div>
    </div>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function Time(props: { iso: string }) {
  const d = new Date(props.iso);
  if (Number.isNaN(d.getTime())) return <span>{props.iso}</span>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {dateTime.format(d)}
    </time>
  );
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

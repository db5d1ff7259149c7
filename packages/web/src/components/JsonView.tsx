import type { ReactNode } from "react";

// Indented, coloured JSON built as React nodes (never as HTML), so whatever a ledger entry
// contains is shown as text.

function render(value: unknown, indent: string, out: ReactNode[], key: { n: number }) {
  const k = () => key.n++;
  if (value === null) {
    out.push(
      <span key={k()} className="j-null">
        null
      </span>,
    );
  } else if (typeof value === "string") {
    out.push(
      <span key={k()} className="j-str">
        {JSON.stringify(value)}
      </span>,
    );
  } else if (typeof value === "number") {
    out.push(
      <span key={k()} className="j-num">
        {JSON.stringify(value)}
      </span>,
    );
  } else if (typeof value === "boolean") {
    out.push(
      <span key={k()} className="j-bool">
        {String(value)}
      </span>,
    );
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push("[]");
      return;
    }
    out.push("[\n");
    value.forEach((item, i) => {
      out.push(`${indent}  `);
      render(item, `${indent}  `, out, key);
      out.push(i < value.length - 1 ? ",\n" : "\n");
    });
    out.push(`${indent}]`);
  } else if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
      out.push("{}");
      return;
    }
    out.push("{\n");
    entries.forEach(([name, item], i) => {
      out.push(`${indent}  `);
      out.push(
        <span key={k()} className="j-key">
          {JSON.stringify(name)}
        </span>,
      );
      out.push(": ");
      render(item, `${indent}  `, out, key);
      out.push(i < entries.length - 1 ? ",\n" : "\n");
    });
    out.push(`${indent}}`);
  }
}

export function JsonView(props: { text: string; label?: string }) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(props.text);
  } catch {
    return (
      <figure className="code-figure" aria-label={props.label}>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling block must be reachable by keyboard */}
        <pre className="code" tabIndex={0}>
          {props.text}
        </pre>
      </figure>
    );
  }
  const out: ReactNode[] = [];
  render(parsed, "", out, { n: 0 });
  return (
    <figure className="code-figure" aria-label={props.label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling block must be reachable by keyboard */}
      <pre className="code json" tabIndex={0}>
        {out}
      </pre>
    </figure>
  );
}

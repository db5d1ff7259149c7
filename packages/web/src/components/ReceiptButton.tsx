import { type ReactNode, useState } from "react";
import { api } from "../lib/api.js";
import { describeError, Spinner } from "./ui.js";

/** Saves `text` as a file, from memory: nothing is uploaded or fetched again. */
export function saveText(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Some browsers read the blob after click() returns.
  window.setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/**
 * A receipt download. A public entry's receipt is a plain link anyone may follow; a sealed
 * entry's holds its bytes, so it is fetched with this tab's API key (a link cannot carry one)
 * and saved from memory.
 */
export function ReceiptButton(props: {
  index: number;
  size: number;
  sealed: boolean;
  filename: string;
  title: string;
  className: string;
  testId: string;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!props.sealed) {
    return (
      <a
        className={props.className}
        href={api.receiptUrl(props.index, props.size)}
        download={props.filename}
        title={props.title}
        data-testid={props.testId}
      >
        {props.children}
      </a>
    );
  }
  const click = async () => {
    setBusy(true);
    setError(undefined);
    try {
      saveText(props.filename, await api.receipt(props.index, props.size));
    } catch (err) {
      const { title, detail } = describeError(err);
      setError(`${title}: ${detail}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="receipt-button">
      <button
        type="button"
        className={props.className}
        onClick={click}
        disabled={busy}
        title={props.title}
        data-testid={props.testId}
      >
        {busy ? <Spinner /> : null}
        {props.children}
      </button>
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}

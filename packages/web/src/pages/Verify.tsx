import { canonicalJson, isSealed, parseVerifierKey } from "@patron/ledger";
import { type ChangeEvent, type DragEvent, useId, useState } from "react";
import { AnchorBadge, useAnchorStatus } from "../components/AnchorStatus.js";
import { TypeTag } from "../components/EntryTable.js";
import { File as FileIcon, ShieldCheck, ShieldX, Upload } from "../components/icons.js";
import { JsonView } from "../components/JsonView.js";
import { SealedBadge } from "../components/Sealed.js";
import {
  Card,
  ErrorNotice,
  Field,
  Fields,
  formatCount,
  Hash,
  Pill,
  Spinner,
  Time,
} from "../components/ui.js";
import { api } from "../lib/api.js";
import { useHead, verifierKey } from "../lib/head.js";
import { useAsync, useTitle } from "../lib/hooks.js";
import { Link } from "../lib/router.js";
import {
  checkReceipt,
  consistencyNeeded,
  prettyJson,
  type ReceiptOutcome,
  reasonOf,
  sameHistory,
  type Tree,
  type VerifiedCheckpoint,
} from "../lib/verify.js";

// A receipt is a few kilobytes; anything much larger is not one, and reading it would only
// make the page slow.
const MAX_RECEIPT_BYTES = 1 << 20;

interface Checked {
  name: string;
  outcome: ReceiptOutcome;
  key: string;
  /** Checked with this node's own key: its tree and anchors are the receipt's ledger. */
  nodeKey: boolean;
}

export function VerifyPage() {
  useTitle("Verify a receipt");
  const nodeKey = useAsync(() => verifierKey(), []);
  const head = useHead();
  const [customKey, setCustomKey] = useState<string | undefined>(undefined);
  const [checked, setChecked] = useState<Checked | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const keyProblem = (() => {
    if (customKey === undefined) return undefined;
    try {
      parseVerifierKey(customKey.trim());
      return undefined;
    } catch (err) {
      return reasonOf(err);
    }
  })();
  const key = customKey === undefined ? nodeKey.data : keyProblem ? undefined : customKey.trim();

  const verify = async (name: string, read: () => Promise<string>) => {
    if (!key) return;
    setBusy(true);
    try {
      const text = await read();
      // With the node's own key the receipt must also name this ledger; a key the auditor
      // brings says by itself which ledger it trusts.
      const origin = customKey === undefined ? head.data?.checkpoint.origin : undefined;
      setChecked({
        name,
        outcome: checkReceipt(text, key, origin),
        key,
        nodeKey: customKey === undefined,
      });
    } catch (err) {
      setChecked({
        name,
        key,
        nodeKey: customKey === undefined,
        outcome: {
          ok: false,
          code: "unreadable",
          reason: "The file could not be read.",
          detail: reasonOf(err),
        },
      });
    } finally {
      setBusy(false);
    }
  };

  const onFile = (file: File) => {
    if (file.size > MAX_RECEIPT_BYTES) {
      setChecked({
        name: file.name,
        key: key ?? "",
        nodeKey: customKey === undefined,
        outcome: {
          ok: false,
          code: "too_large",
          reason: "This file is too large to be a receipt.",
          detail: `${formatCount(file.size)} bytes; receipts are a few kilobytes.`,
        },
      });
      return;
    }
    void verify(file.name, () => file.text());
  };

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <p className="eyebrow">Receipts</p>
          <h1>Verify a receipt</h1>
          <p className="lead">
            A receipt (<code>.tlog-proof</code>) proves that an entry is in this ledger. It is
            checked here, in your browser, against the ledger's key: the file is not uploaded.
          </p>
        </div>
      </div>

      {nodeKey.state === "error" && customKey === undefined ? (
        <ErrorNotice
          error={nodeKey.error}
          title="The ledger's key could not be fetched"
          retry={nodeKey.reload}
        />
      ) : null}

      <div className="verify-layout">
        <div className="verify-main">
          <DropZone onFile={onFile} disabled={!key || busy} busy={busy} />
          <PasteBox
            disabled={!key || busy}
            onVerify={(text) => void verify("pasted receipt", async () => text)}
          />
        </div>
        <Card title="Checked against" className="key-card">
          {customKey === undefined ? (
            <>
              {nodeKey.data ? (
                <Hash value={nodeKey.data} label="verifier key" keep={16} />
              ) : (
                <Spinner />
              )}
              <p className="hint">
                This node's verifier key. An auditor can paste the key they obtained independently
                instead.
              </p>
              <button type="button" className="btn btn-ghost" onClick={() => setCustomKey("")}>
                Use another key
              </button>
            </>
          ) : (
            <>
              <label htmlFor="custom-key" className="label">
                Verifier key
              </label>
              <textarea
                id="custom-key"
                className="input mono"
                rows={3}
                value={customKey}
                placeholder="name+keyid+base64key"
                spellCheck={false}
                onChange={(e) => setCustomKey(e.target.value)}
              />
              {customKey.trim() !== "" && keyProblem ? (
                <p className="field-error">{keyProblem}</p>
              ) : null}
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() => setCustomKey(undefined)}
              >
                Use this node's key
              </button>
            </>
          )}
        </Card>
      </div>

      {checked ? <Result checked={checked} head={head.data} /> : null}
    </div>
  );
}

function DropZone(props: { onFile: (f: File) => void; disabled: boolean; busy: boolean }) {
  const [over, setOver] = useState(false);
  const inputId = useId();
  const drop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file && !props.disabled) props.onFile(file);
  };
  const pick = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = ""; // picking the same file again must verify it again
    if (file) props.onFile(file);
  };
  return (
    <section
      className={over ? "dropzone over" : "dropzone"}
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
      aria-label="Drop a receipt file here"
      data-testid="dropzone"
    >
      <div className="dropzone-icon">{props.busy ? <Spinner /> : <Upload size={26} />}</div>
      <p className="dropzone-title">Drop a receipt file here</p>
      <p className="muted">or</p>
      <label htmlFor={inputId} className={props.disabled ? "btn btn-disabled" : "btn btn-primary"}>
        <FileIcon size={14} /> Choose a file
      </label>
      <input
        id={inputId}
        type="file"
        className="sr-only"
        accept=".tlog-proof,.txt,text/plain"
        disabled={props.disabled}
        onChange={pick}
        data-testid="receipt-input"
      />
      <p className="hint">
        Download one from any entry's page, or with{" "}
        <code>GET /v1/ledger/receipts/&lt;index&gt;</code>.
      </p>
    </section>
  );
}

function PasteBox(props: { disabled: boolean; onVerify: (text: string) => void }) {
  const [text, setText] = useState("");
  return (
    <details className="paste">
      <summary>Or paste the receipt's text</summary>
      <textarea
        className="input mono"
        rows={8}
        value={text}
        spellCheck={false}
        aria-label="Receipt text"
        placeholder={"c2sp.org/tlog-proof@v1\nextra …\nindex …"}
        onChange={(e) => setText(e.target.value)}
      />
      <button
        type="button"
        className="btn btn-primary"
        disabled={props.disabled || text.trim() === ""}
        // A pasted note loses its final newline easily; the format needs it.
        onClick={() => props.onVerify(text.endsWith("\n") ? text : `${text}\n`)}
      >
        Verify
      </button>
    </details>
  );
}

function Result({ checked, head }: { checked: Checked; head: VerifiedCheckpoint | undefined }) {
  const o = checked.outcome;
  if (!o.ok) {
    return (
      <section className="verdict verdict-bad result" data-testid="receipt-result" role="alert">
        <ShieldX size={28} />
        <div className="verdict-main">
          <div className="verdict-title">
            <strong>Receipt rejected</strong>
            <span className="muted file-name">{checked.name}</span>
          </div>
          <p data-testid="receipt-reason">{o.reason}</p>
          <p className="reason-detail">
            <code>{o.code}</code> {o.detail}
          </p>
        </div>
      </section>
    );
  }
  const { receipt } = o;
  const index = Number(receipt.index);
  const entryText = receipt.entry ? canonicalJson(receipt.entry) : undefined;
  return (
    <>
      <section className="verdict verdict-ok result" data-testid="receipt-result">
        <ShieldCheck size={28} />
        <div className="verdict-main">
          <div className="verdict-title">
            <strong>Receipt verified</strong>
            <span className="muted file-name">{checked.name}</span>
          </div>
          <p>
            Entry #{formatCount(index)} is in the checkpoint of {formatCount(o.size)} entries signed
            by the ledger's key. This holds offline, forever, whatever the node says later.
          </p>
          {checked.nodeKey && head ? (
            <div className="verdict-pills">
              <Consistency size={o.size} rootHex={o.rootHex} head={head} />
              <ReceiptAnchor
                index={index}
                tree={{ size: o.size, root: receipt.checkpoint.root, rootHex: o.rootHex }}
              />
            </div>
          ) : null}
        </div>
      </section>
      <div className="grid-2">
        <Card title="Receipt">
          <Fields>
            <Field label="Entry index">
              <Link href={`/entries/${index}`}>#{formatCount(index)}</Link>
            </Field>
            <Field label="Checkpoint size">
              <span data-testid="receipt-size">{formatCount(o.size)}</span>
            </Field>
            <Field label="Origin">
              <code>{receipt.checkpoint.origin}</code>
            </Field>
            <Field label="Checkpoint root">
              <Hash value={o.rootHex} label="root hash" />
            </Field>
            <Field label="Leaf hash">
              <Hash value={o.leafHashHex} label="leaf hash" />
            </Field>
          </Fields>
        </Card>
        <Card title="Entry">
          {receipt.entry ? (
            <>
              <Fields>
                <Field label="Type">
                  <span className="type-cell">
                    <TypeTag type={receipt.entry.type} />
                    {isSealed(receipt.entry) ? <SealedBadge withheld={false} /> : null}
                  </span>
                </Field>
                <Field label="Actor">
                  <code className="wrap">{receipt.entry.actor}</code>
                </Field>
                <Field label="Time">
                  <Time iso={receipt.entry.time} />
                </Field>
              </Fields>
              {entryText ? (
                <JsonView text={prettyJson(entryText)} label="Entry, formatted" />
              ) : null}
            </>
          ) : (
            <p className="muted">
              The proved data is not a Patron entry; the receipt still proves it is in the log.
            </p>
          )}
        </Card>
      </div>
    </>
  );
}

/** Whether the receipt's checkpoint, or a later one consistent with it, is anchored on chain. */
function ReceiptAnchor(props: { index: number; tree: Tree & { rootHex: string } }) {
  const status = useAnchorStatus(props.index, props.tree);
  return <AnchorBadge status={status} />;
}

/**
 * A valid receipt stays valid on its own; this adds whether the node's current tree still
 * contains the receipt's checkpoint, which would catch a node showing different histories.
 */
function Consistency(props: { size: number; rootHex: string; head: VerifiedCheckpoint }) {
  const { size, rootHex, head } = props;
  const check = useAsync(
    async () => {
      const need = consistencyNeeded(head, size);
      const proof = need ? await api.consistency(need.from, need.to) : undefined;
      return sameHistory(head, size, rootHex, proof);
    },
    [size, rootHex, head.note],
    { keepPrevious: true },
  );
  if (check.data === undefined) {
    return check.state === "error" ? (
      <Pill tone="neutral">could not compare with this node's current tree</Pill>
    ) : (
      <Pill tone="neutral">comparing with this node's tree…</Pill>
    );
  }
  return check.data ? (
    <Pill tone="ok" icon={<ShieldCheck size={12} />}>
      same history as this node's current tree of {formatCount(head.size)} entries
    </Pill>
  ) : (
    <Pill tone="bad" icon={<ShieldX size={12} />}>
      this node's current tree does not contain the receipt's checkpoint
    </Pill>
  );
}

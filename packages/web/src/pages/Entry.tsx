import { LedgerError } from "@patron/ledger";
import type { ReactNode } from "react";
import { AnchorBadge, AnchorCheckRow, useAnchorStatus } from "../components/AnchorStatus.js";
import { EntryChain } from "../components/EntryChain.js";
import { TypeTag } from "../components/EntryTable.js";
import {
  Anchor as AnchorIcon,
  Check,
  ChevronRight,
  Cross,
  Download,
  Info,
  Lock,
  Refresh,
  ShieldCheck,
  ShieldX,
} from "../components/icons.js";
import { JsonView } from "../components/JsonView.js";
import { ReceiptButton } from "../components/ReceiptButton.js";
import { SealedBadge, SealedNotice } from "../components/Sealed.js";
import { SignedCommandCard } from "../components/SignedCommand.js";
import {
  Card,
  CopyButton,
  ErrorNotice,
  Field,
  Fields,
  formatCount,
  Hash,
  Notice,
  Skeleton,
  Spinner,
  Time,
} from "../components/ui.js";
import { ApiError, api, type EntryView, type InclusionProof, isWithheld } from "../lib/api.js";
import { fetchVerifiedHead } from "../lib/head.js";
import { useAsync, useTitle } from "../lib/hooks.js";
import { Link } from "../lib/router.js";
import { type Session, useSession } from "../lib/session.js";
import {
  type EntryVerification,
  prettyJson,
  type VerifiedCheckpoint,
  verifyEntry,
  verifySealedEntry,
} from "../lib/verify.js";

interface Loaded {
  view: EntryView;
  head: VerifiedCheckpoint;
  proof: InclusionProof;
  verification: EntryVerification;
}

// The entry first, then the checkpoint: a node shows an entry only once a checkpoint covers
// it, so the checkpoint fetched afterwards always includes the entry. A sealed entry the node
// withholds is proved the same way, from the leaf hash alone.
async function load(index: number): Promise<Loaded> {
  const view = await api.entry(index);
  const head = await fetchVerifiedHead();
  const proof = await api.inclusion(index, head.size);
  const claimedLeafHash = view.leafHash;
  const verification = isWithheld(view)
    ? verifySealedEntry({ index, claimedLeafHash, proof, head })
    : verifyEntry({ index, canonical: view.canonical, claimedLeafHash, proof, head });
  return { view, head, proof, verification };
}

export function EntryPage({ index }: { index: number }) {
  useTitle(`Entry #${index}`);
  const session = useSession();
  // Signing in or out shows the entry as the new reader may see it.
  const result = useAsync(() => load(index), [index, session.epoch]);
  if (result.data) {
    return (
      <LoadedPage
        index={index}
        session={session}
        data={result.data}
        reload={result.reload}
        reloading={result.state === "loading"}
        reloadError={result.state === "error" ? result.error : undefined}
      />
    );
  }
  return (
    <div className="page">
      <EntryHead index={index} />
      {result.state === "error" ? (
        <LoadError index={index} error={result.error} retry={result.reload} />
      ) : (
        <>
          <div className="verdict verdict-pending" data-testid="verdict-pending">
            <Spinner />
            <div>
              <strong>Verifying in your browser…</strong>
              <p>Fetching the entry, the signed checkpoint and the inclusion proof.</p>
            </div>
          </div>
          <div className="grid-2">
            <Card title="Entry">
              <Skeleton lines={5} />
            </Card>
            <Card title="Inclusion proof">
              <Skeleton lines={5} />
            </Card>
          </div>
        </>
      )}
    </div>
  );
}

function EntryHead(props: {
  index: number;
  type?: string;
  sealed?: "withheld" | "whole";
  actions?: ReactNode;
}) {
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/entries">Entries</Link>
        <ChevronRight size={14} />
        <span aria-current="page">#{formatCount(props.index)}</span>
      </nav>
      <div className="page-head">
        <div>
          <p className="eyebrow">Ledger entry</p>
          <h1 className="entry-title">
            Entry #{formatCount(props.index)} {props.type ? <TypeTag type={props.type} /> : null}
            {props.sealed ? <SealedBadge withheld={props.sealed === "withheld"} /> : null}
          </h1>
        </div>
        {props.actions ? <div className="page-actions">{props.actions}</div> : null}
      </div>
    </>
  );
}

function LoadError(props: { index: number; error: unknown; retry: () => void }) {
  if (props.error instanceof LedgerError) {
    return (
      <div className="verdict verdict-bad" role="alert" data-testid="verdict">
        <ShieldX size={28} />
        <div>
          <strong>Not verified</strong>
          <p>The ledger's latest checkpoint does not verify: {props.error.message}</p>
        </div>
      </div>
    );
  }
  if (props.error instanceof ApiError && props.error.status === 404) {
    return (
      <div className="empty-page">
        <h2>There is no entry #{formatCount(props.index)}</h2>
        <p className="lead">The ledger does not have that many entries yet.</p>
        <p className="actions">
          <Link href="/entries" className="btn btn-primary">
            Newest entries
          </Link>
        </p>
      </div>
    );
  }
  return <ErrorNotice error={props.error} retry={props.retry} />;
}

function LoadedPage(props: {
  index: number;
  session: Session;
  data: Loaded;
  reload: () => void;
  reloading: boolean;
  reloadError: unknown;
}) {
  const { index, data, session } = props;
  const { view, head, proof, verification: v } = data;
  const anchor = useAnchorStatus(index, head);
  // What the page shows about the entry comes from the verified bytes when they decode; the
  // node's own summary fields are only a fallback for an entry that failed verification.
  const entry = v.entry;
  const full = isWithheld(view) ? undefined : view;
  const type = entry?.type ?? full?.type;
  const leafHash = v.leafHash || view.leafHash;
  const sealed = v.withheld ? "withheld" : v.sealed ? "whole" : undefined;
  // Anchoring speaks for the checkpoint; it says something about this entry only once the
  // entry is proved to be in that checkpoint.
  const anchored = v.verified && anchor.data?.kind === "anchored" ? anchor.data.anchor : undefined;

  // A receipt carries the entry's bytes: none for an entry whose bytes the node withholds.
  const actions = (
    <>
      <button
        type="button"
        className="btn btn-ghost"
        onClick={props.reload}
        disabled={props.reloading}
      >
        {props.reloading ? <Spinner /> : <Refresh size={14} />} Verify again
      </button>
      {anchored && !v.withheld ? (
        <ReceiptButton
          index={index}
          size={anchored.size}
          sealed={v.sealed}
          className="btn"
          filename={`patron-entry-${index}-anchored.tlog-proof`}
          title={`A receipt against the anchored checkpoint of ${formatCount(anchored.size)} entries: it verifies against the chain alone`}
          testId="download-anchored-receipt"
        >
          <AnchorIcon size={14} /> Anchored receipt
        </ReceiptButton>
      ) : null}
      {v.withheld ? null : (
        <ReceiptButton
          index={index}
          size={head.size}
          sealed={v.sealed}
          className="btn btn-primary"
          filename={`patron-entry-${index}.tlog-proof`}
          title={`A receipt against the signed checkpoint of ${formatCount(head.size)} entries${v.sealed ? ". It holds the sealed entry: share it only with its parties" : ""}`}
          testId="download-receipt"
        >
          <Download size={14} /> Download receipt
        </ReceiptButton>
      )}
    </>
  );

  const steps = [
    { label: "Leaf", hash: leafHash },
    ...proof.proof.map((hash, i) => ({ label: `Sibling ${i + 1}`, hash })),
  ];

  const summary = !v.verified
    ? "This entry could not be proved to be in the ledger's signed checkpoint. See the failed check below."
    : v.withheld
      ? `The leaf hash of entry #${formatCount(index)} is in the ledger's signed checkpoint of ${formatCount(head.size)} entries. Checked in this browser; the node was not trusted. The entry's content is sealed.`
      : `Entry #${formatCount(index)} is in the ledger's signed checkpoint of ${formatCount(head.size)} entries. Checked in this browser; the node was not trusted.`;

  return (
    <div className="page">
      <EntryHead index={index} type={type} sealed={sealed} actions={actions} />
      {props.reloadError ? <ErrorNotice error={props.reloadError} retry={props.reload} /> : null}

      <section
        className={v.verified ? "verdict verdict-ok" : "verdict verdict-bad"}
        data-testid="verdict"
        aria-live="polite"
      >
        {v.verified ? <ShieldCheck size={28} /> : <ShieldX size={28} />}
        <div className="verdict-main">
          <div className="verdict-title">
            <strong>{v.verified ? "Verified" : "Not verified"}</strong>
            {v.verified ? <AnchorBadge status={anchor} /> : null}
          </div>
          <p>{summary}</p>
          <ul className="checks">
            {v.checks.map((c) => (
              <li
                key={c.label}
                className={c.skipped ? "check-skip" : c.ok ? "check-ok" : "check-bad"}
              >
                {c.skipped ? <Info size={14} /> : c.ok ? <Check size={14} /> : <Cross size={14} />}
                <span className="check-label">{c.label}</span>
                <span className="check-detail">{c.detail}</span>
              </li>
            ))}
            {v.verified ? <AnchorCheckRow status={anchor} /> : null}
          </ul>
        </div>
      </section>

      {v.withheld ? <SealedNotice session={session} next={`/entries/${index}`} /> : null}
      {sealed === "whole" ? <ShownToParty session={session} /> : null}

      <div className="grid-2">
        <Card title="Entry">
          <Fields>
            <Field label="Index">
              <code>{index}</code>
            </Field>
            {v.withheld ? (
              <Field label="Content">
                <span className="sealed-content">
                  <Lock size={14} /> Sealed: shown to its parties only
                </span>
              </Field>
            ) : (
              <>
                {type ? (
                  <Field label="Type">
                    <TypeTag type={type} />
                  </Field>
                ) : null}
                <Field label="Actor">
                  <code className="wrap">{entry?.actor ?? full?.actor}</code>
                </Field>
                <Field label="Time">
                  <Time iso={entry?.time ?? full?.time ?? ""} />
                </Field>
              </>
            )}
            <Field label="Leaf hash">
              <Hash value={leafHash} label="leaf hash" />
            </Field>
            {entry?.subjects ? (
              <Field label="Parties">
                <EntryChain subjects={entry.subjects} />
              </Field>
            ) : null}
            {v.command ? (
              <Field label="Signed by">
                <span className="stack">
                  <span>
                    the customer ({v.command.method === "passkey" ? "passkey" : "Ed25519"})
                  </span>
                  <Hash value={v.command.signed.command.actor} label="signer's did:key" keep={12} />
                </span>
              </Field>
            ) : null}
            {entry?.signature ? (
              <Field label="Signed by">
                <span className="stack">
                  <span>{entry.signature.alg}</span>
                  <Hash value={entry.signature.key} label="signing key" keep={12} />
                </span>
              </Field>
            ) : null}
            <Field label="Checkpoint">
              <span className="stack">
                <span>
                  {formatCount(head.size)} entries, signed by{" "}
                  <code>
                    {head.keyName}+{head.keyId}
                  </code>
                </span>
              </span>
            </Field>
          </Fields>
        </Card>
        <Card title="Inclusion proof">
          <p className="hint hint-top">
            RFC 9162 audit path for leaf {formatCount(index)} in the tree of{" "}
            {formatCount(proof.size)} entries, from the leaf up to the signed root.
          </p>
          <ol className="proof-path" data-testid="proof-path">
            {steps.map((s) => (
              <li key={s.label}>
                <span className="step-label">{s.label}</span>
                <Hash value={s.hash} label={s.label.toLowerCase()} keep={10} />
              </li>
            ))}
            <li className={v.verified ? "step-root ok" : "step-root bad"}>
              <span className="step-label">Root</span>
              <Hash value={head.rootHex} label="root hash" keep={10} />
            </li>
          </ol>
          {proof.proof.length === 0 ? (
            <p className="hint">
              The tree has a single entry, so the leaf hash is the root and the proof is empty.
            </p>
          ) : null}
        </Card>
      </div>

      {v.command ? <SignedCommandCard command={v.command} /> : null}

      {v.withheld ? null : (
        <Card
          title="Canonical JSON"
          actions={v.text ? <CopyButton value={v.text} text="Copy bytes" /> : null}
        >
          {v.text !== undefined ? (
            <>
              <JsonView text={prettyJson(v.text)} label="Entry, formatted" />
              <h3 className="subhead">Canonical bytes (the leaf that is hashed)</h3>
              <pre className="code raw" data-testid="canonical">
                {v.text}
              </pre>
            </>
          ) : (
            <p className="muted">The entry's bytes are not UTF-8 text.</p>
          )}
        </Card>
      )}
    </div>
  );
}

/** A sealed entry shown whole: say why this reader sees it, and that its receipt is private. */
function ShownToParty({ session }: { session: Session }) {
  const who =
    session.state === "signed-in"
      ? `${session.me.merchant.name} (${session.me.key.role})`
      : "one of its parties";
  return (
    <Notice title={`Sealed, shown whole to ${who}`}>
      <p>
        Others see only this entry's index and leaf hash. You see its content because the API key
        you signed in with is of a merchant it names. Its receipt holds the entry itself: share it
        only with the entry's parties.
      </p>
    </Notice>
  );
}

import { LedgerError } from "@patron/ledger";
import type { ReactNode } from "react";
import { EntryTable } from "../components/EntryTable.js";
import { Anchor as AnchorIcon, ChevronRight, ShieldCheck, ShieldX } from "../components/icons.js";
import {
  Card,
  CopyButton,
  ErrorNotice,
  Field,
  Fields,
  formatCount,
  Hash,
  Notice,
  Pill,
  Skeleton,
  Time,
  type Tone,
} from "../components/ui.js";
import { type Anchor, type Anchors, api } from "../lib/api.js";
import { useHead } from "../lib/head.js";
import { useAsync, useTitle } from "../lib/hooks.js";
import { Link } from "../lib/router.js";
import { useSession } from "../lib/session.js";
import { consistencyNeeded, sameHistory, type VerifiedCheckpoint } from "../lib/verify.js";

const RECENT = 5;

export function HomePage() {
  useTitle("");
  const head = useHead();
  // No verified checkpoint to show (as opposed to one still loading).
  const failed = head.state === "error" && !head.data;
  const unavailable = (
    <p className="muted empty-line">
      {head.error instanceof LedgerError
        ? "Not shown: the checkpoint the node sent does not verify."
        : "Not available: the node could not be reached."}
    </p>
  );
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <p className="eyebrow">Ledger overview</p>
          <h1>{head.data ? head.data.checkpoint.origin : "Patron ledger"}</h1>
          <p className="lead">
            An append-only RFC 9162 Merkle log. Every entry is covered by a signed checkpoint, and
            anchoring checkpoints on a chain means nobody can quietly rewrite history. All of it is
            checked here, in your browser.
          </p>
        </div>
      </div>

      {head.state === "error" && head.error instanceof LedgerError ? (
        <div className="verdict verdict-bad" role="alert">
          <ShieldX size={28} />
          <div>
            <strong>The latest checkpoint does not verify</strong>
            <p>{head.error.message}</p>
          </div>
        </div>
      ) : head.data ? (
        <div className="verdict verdict-ok">
          <ShieldCheck size={28} />
          <div>
            <strong>Latest checkpoint verified</strong>
            <p>
              Its Ed25519 signature was checked in this browser against the ledger key{" "}
              <code>
                {head.data.keyName}+{head.data.keyId}
              </code>
              .
            </p>
          </div>
        </div>
      ) : head.state === "error" ? (
        <ErrorNotice error={head.error} />
      ) : null}

      <div className="grid-2">
        <Card title="Latest checkpoint">
          {head.data ? (
            <CheckpointFields head={head.data} />
          ) : failed ? (
            unavailable
          ) : (
            <Skeleton lines={5} />
          )}
        </Card>
        <Card
          title="Signed note"
          actions={head.data ? <CopyButton value={head.data.note} text="Copy" /> : null}
        >
          {head.data ? (
            <>
              <pre className="code note" data-testid="checkpoint-note">
                {head.data.note}
              </pre>
              <p className="hint">
                C2SP tlog-checkpoint: origin, tree size, base64 root, then the signature line.
              </p>
            </>
          ) : failed ? (
            unavailable
          ) : (
            <Skeleton lines={5} />
          )}
        </Card>
      </div>

      <AnchorsCard head={head.data} />

      <RecentEntries size={head.data?.size} unavailable={failed ? unavailable : undefined} />
    </div>
  );
}

function CheckpointFields({ head }: { head: VerifiedCheckpoint }) {
  return (
    <Fields>
      <Field label="Origin">
        <code>{head.checkpoint.origin}</code>
      </Field>
      <Field label="Tree size">
        <span className="big-number" data-testid="tree-size">
          {formatCount(head.size)}
        </span>{" "}
        <span className="muted">entries</span>
      </Field>
      <Field label="Root hash">
        <Hash value={head.rootHex} label="root hash" />
      </Field>
      <Field label="Signed by">
        <span className="stack">
          <span>
            <code>
              {head.keyName}+{head.keyId}
            </code>{" "}
            <Pill tone="ok" icon={<ShieldCheck size={12} />}>
              signature valid
            </Pill>
          </span>
        </span>
      </Field>
      <Field label="Verifier key">
        <Hash value={head.key} label="verifier key" keep={14} />
      </Field>
    </Fields>
  );
}

const STATUS_TONE: Record<Anchor["status"], Tone> = {
  confirmed: "ok",
  sent: "info",
  pending: "neutral",
  failed: "bad",
};

function AnchorsCard({ head }: { head: VerifiedCheckpoint | undefined }) {
  const anchors = useAsync(() => api.anchors(), [], { pollMs: 10_000 });
  return (
    <Card
      title={
        <>
          <AnchorIcon size={18} /> Anchors on chain
        </>
      }
      className="anchors"
      id="anchors"
    >
      {anchors.state === "loading" ? (
        <Skeleton lines={3} />
      ) : anchors.data === undefined && anchors.state === "error" ? (
        <ErrorNotice error={anchors.error} retry={anchors.reload} />
      ) : anchors.data === undefined ? (
        <Notice title="Anchoring is not available on this node">
          This node does not publish chain anchors. Its checkpoints are still signed and every proof
          on this site still verifies; anchoring adds an independent, public timestamp on an EVM
          chain.
        </Notice>
      ) : (
        <AnchorList data={anchors.data} head={head} />
      )}
    </Card>
  );
}

function AnchorList({ data, head }: { data: Anchors; head: VerifiedCheckpoint | undefined }) {
  if (!data.enabled && data.anchors.length === 0) {
    return (
      <Notice title="Anchoring is turned off on this node">
        Checkpoints are signed but not published on a chain. The operator can enable anchoring with
        an EVM endpoint (see the operations guide).
      </Notice>
    );
  }
  const latestConfirmed = data.anchors.find((a) => a.status === "confirmed");
  return (
    <>
      <Fields>
        <Field label="Chain">
          {data.chainId === null ? (
            <span className="muted">unknown</span>
          ) : (
            `chain id ${data.chainId}`
          )}
          {data.enabled ? null : (
            <>
              {" "}
              <Pill tone="warn">anchoring paused</Pill>
            </>
          )}
        </Field>
        <Field label="Contract">
          {data.contract ? (
            <Hash value={data.contract} label="contract address" />
          ) : (
            <span className="muted">not deployed yet</span>
          )}
        </Field>
        {latestConfirmed && head ? (
          <Field label="Latest anchor">
            <AnchorCheck head={head} anchor={latestConfirmed} />
          </Field>
        ) : null}
      </Fields>
      {data.anchors.length === 0 ? (
        <p className="muted empty-line">
          No anchors yet: the node anchors its latest checkpoint every few seconds.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table anchors-table">
            <caption className="sr-only">Anchored checkpoints, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Tree size</th>
                <th scope="col">Root</th>
                <th scope="col">Status</th>
                <th scope="col">Transaction</th>
                <th scope="col">Block</th>
                <th scope="col">Anchored</th>
              </tr>
            </thead>
            <tbody>
              {data.anchors.map((a) => (
                <tr key={`${a.size}-${a.root}`}>
                  <td data-label="Tree size" className="num">
                    {formatCount(a.size)}
                  </td>
                  <td data-label="Root">
                    <Hash value={a.root} label="anchored root" keep={6} />
                  </td>
                  <td data-label="Status">
                    <Pill tone={STATUS_TONE[a.status] ?? "neutral"}>
                      {a.status}
                      {a.status === "confirmed" || a.status === "sent"
                        ? ` · ${formatCount(a.confirmations)} conf.`
                        : ""}
                    </Pill>
                  </td>
                  <td data-label="Transaction">
                    {a.txHash ? (
                      <Hash value={a.txHash} label="transaction hash" keep={6} />
                    ) : (
                      <span className="muted">not sent</span>
                    )}
                  </td>
                  <td data-label="Block" className="num">
                    {a.blockNumber === null ? (
                      <span className="muted">—</span>
                    ) : (
                      formatCount(a.blockNumber)
                    )}
                  </td>
                  <td data-label="Anchored" className="nowrap">
                    <Time iso={a.confirmedAt ?? a.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Ties the newest anchored root to the verified checkpoint, so the anchor list is not hearsay. */
function AnchorCheck({ head, anchor }: { head: VerifiedCheckpoint; anchor: Anchor }) {
  const check = useAsync(
    async () => {
      const need = consistencyNeeded(head, anchor.size);
      const proof = need ? await api.consistency(need.from, need.to) : undefined;
      return sameHistory(head, anchor.size, anchor.root, proof);
    },
    [head.note, anchor.size, anchor.root],
    { keepPrevious: true },
  );
  const label = `tree size ${formatCount(anchor.size)}`;
  if (check.data === undefined) {
    return check.state === "error" ? (
      <span className="muted">{label}, could not be checked</span>
    ) : (
      <span className="muted">{label}, checking…</span>
    );
  }
  return check.data ? (
    <span>
      {label}{" "}
      <Pill tone="ok" icon={<ShieldCheck size={12} />}>
        consistent with the checkpoint
      </Pill>
    </span>
  ) : (
    <span>
      {label}{" "}
      <Pill tone="bad" icon={<ShieldX size={12} />}>
        not consistent with the checkpoint
      </Pill>
    </span>
  );
}

function RecentEntries(props: { size: number | undefined; unavailable?: ReactNode }) {
  const { size } = props;
  const { epoch } = useSession();
  const page = useAsync(
    async () => (size === undefined ? undefined : api.entries(Math.max(0, size - RECENT), RECENT)),
    [size, epoch],
    { keepPrevious: true },
  );
  const entries = page.data ? [...page.data.entries].reverse() : [];
  return (
    <Card
      title="Latest entries"
      actions={
        <Link href="/entries" className="btn btn-ghost">
          All entries <ChevronRight size={14} />
        </Link>
      }
    >
      {page.state === "error" && !page.data ? (
        <ErrorNotice error={page.error} retry={page.reload} />
      ) : page.data ? (
        entries.length === 0 ? (
          <p className="muted empty-line">The ledger is empty.</p>
        ) : (
          <EntryTable entries={entries} caption="Latest entries, newest first" />
        )
      ) : size === undefined && props.unavailable ? (
        props.unavailable
      ) : (
        <Skeleton lines={RECENT} />
      )}
    </Card>
  );
}

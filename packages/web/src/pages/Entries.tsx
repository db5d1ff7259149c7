import { type FormEvent, useState } from "react";
import { EntryTable } from "../components/EntryTable.js";
import { ChevronLeft, ChevronRight } from "../components/icons.js";
import { Card, ErrorNotice, formatCount, Skeleton, Spinner } from "../components/ui.js";
import { api, type EntryView } from "../lib/api.js";
import { currentHeadSize } from "../lib/head.js";
import { useAsync, useTitle } from "../lib/hooks.js";
import { Link, navigate } from "../lib/router.js";
import { useSession } from "../lib/session.js";

const PAGE = 25;

interface Page {
  /** Index of the oldest entry on the page; entries are [from, to). */
  from: number;
  to: number;
  size: number;
  entries: EntryView[];
}

/**
 * The API pages forwards from an index; the explorer shows newest first, so it asks for the
 * window just below `before` (or below the tree size) and reverses it.
 */
async function loadPage(before: number | undefined): Promise<Page> {
  if (before !== undefined) {
    const from = Math.max(0, before - PAGE);
    const res = before > from ? await api.entries(from, before - from) : undefined;
    const size = res?.size ?? (await api.entries(0, 1)).size;
    const entries = res?.entries ?? [];
    return { from, to: from + entries.length, size, entries: entries.reverse() };
  }
  let from = Math.max(0, (currentHeadSize() ?? 0) - PAGE);
  let res = await api.entries(from, PAGE);
  // The tree grew past the size we knew: the answer carries the real one.
  if (res.size > from + PAGE) {
    from = res.size - PAGE;
    res = await api.entries(from, PAGE);
  }
  return { from, to: from + res.entries.length, size: res.size, entries: res.entries.reverse() };
}

export function EntriesPage({ before }: { before?: number }) {
  useTitle(before === undefined ? "Entries" : `Entries before #${before}`);
  // Read again on sign-in and sign-out: the signed-in merchant's sealed entries come whole.
  const { epoch } = useSession();
  const page = useAsync(() => loadPage(before), [before, epoch], {
    pollMs: before === undefined ? 5_000 : undefined,
    keepPrevious: true,
  });
  const data = page.data;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <p className="eyebrow">Ledger</p>
          <h1>Entries</h1>
          <p className="lead">
            Every fact recorded on the ledger, newest first.
            {data ? ` ${formatCount(data.size)} entries so far.` : ""}
          </p>
        </div>
        <JumpTo />
      </div>
      <Card
        title={data ? <RangeTitle page={data} /> : "Entries"}
        actions={
          <>
            {page.state === "loading" && data ? <Spinner /> : null}
            {data ? <Pager page={data} label="Pages of entries" /> : null}
          </>
        }
      >
        {page.state === "error" && !data ? (
          <ErrorNotice error={page.error} retry={page.reload} />
        ) : !data ? (
          <Skeleton lines={8} />
        ) : data.entries.length === 0 ? (
          <p className="muted empty-line">
            {data.size === 0 ? "The ledger is empty." : "No entries here. "}
            {data.size > 0 ? <Link href="/entries">Show the newest entries</Link> : null}
          </p>
        ) : (
          <EntryTable entries={data.entries} caption="Ledger entries, newest first" />
        )}
      </Card>
      {data && data.entries.length > 0 ? (
        <div className="pager-bottom">
          <Pager page={data} label="Pages of entries, bottom" />
        </div>
      ) : null}
    </div>
  );
}

function RangeTitle({ page }: { page: Page }) {
  if (page.entries.length === 0) return <>Entries</>;
  return (
    <>
      #{formatCount(page.to - 1)} – #{formatCount(page.from)}{" "}
      <span className="muted">of {formatCount(page.size)}</span>
    </>
  );
}

function Pager({ page, label }: { page: Page; label: string }) {
  const newest = page.to >= page.size;
  const newer = page.to + PAGE >= page.size ? "/entries" : `/entries?before=${page.to + PAGE}`;
  return (
    <nav className="pager" aria-label={label}>
      {newest ? (
        <span className="btn btn-disabled" aria-disabled="true">
          <ChevronLeft size={14} /> Newer
        </span>
      ) : (
        <Link href={newer} className="btn" rel="prev">
          <ChevronLeft size={14} /> Newer
        </Link>
      )}
      {page.from <= 0 ? (
        <span className="btn btn-disabled" aria-disabled="true">
          Older <ChevronRight size={14} />
        </span>
      ) : (
        <Link href={`/entries?before=${page.from}`} className="btn" rel="next">
          Older <ChevronRight size={14} />
        </Link>
      )}
    </nav>
  );
}

function JumpTo() {
  const [value, setValue] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = value.trim().replace(/^#/, "");
    if (/^(0|[1-9][0-9]{0,15})$/.test(v)) navigate(`/entries/${v}`);
  };
  return (
    <search>
      <form className="jump" onSubmit={submit}>
        <label htmlFor="jump-index">Go to entry</label>
        <div className="jump-row">
          <input
            id="jump-index"
            inputMode="numeric"
            pattern="#?[0-9]*"
            placeholder="#index"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="off"
          />
          <button type="submit" className="btn">
            Open
          </button>
        </div>
      </form>
    </search>
  );
}

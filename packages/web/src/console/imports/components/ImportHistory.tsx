import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Spinner } from "../../../components/ui.js";
import type { Import } from "../../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useImportList, useResumeImport } from "../hooks/useImports.js";

const TONE: Record<Import["status"], string> = {
  uploading: "pill-info",
  running: "pill-info",
  interrupted: "pill-warn",
  completed: "pill-ok",
  failed: "pill-bad",
};

export function ImportStatus(props: { status: Import["status"] }) {
  const { t } = useTranslation();
  return (
    <span className={`pill ${TONE[props.status]}`} data-testid="import-status">
      {t(`import.status.${props.status}`)}
    </span>
  );
}

/** What a row of the history is: a check (a dry run, nothing written) or an import. */
export function useImportKind() {
  const { t } = useTranslation();
  return (imp: Import) => (imp.dryRun ? t("import.kinds.check") : t("import.kinds.import"));
}

/**
 * The merchant's past imports and checks, newest first, with their counts and status; each
 * opens its report. An interrupted one can be resumed from here (staff who write). **Load more**
 * reads the next page on the node's cursor, as long as there is one.
 */
export function ImportHistory(props: { canWrite: boolean }) {
  const { t } = useTranslation();
  const list = useImportList();
  const resume = useResumeImport();
  const kind = useImportKind();
  const imports = list.data?.pages.flatMap((p) => p.imports) ?? [];
  const table = useRef<HTMLTableElement>(null);
  // Where the keyboard goes on once more are loaded: the first of them (the button may be gone).
  const focusFrom = useRef<number | null>(null);
  useEffect(() => {
    const from = focusFrom.current;
    if (from === null || imports.length <= from) return;
    focusFrom.current = null;
    table.current?.querySelectorAll<HTMLElement>('[data-testid="import-open"]')[from]?.focus();
  }, [imports.length]);
  const loadMore = () => {
    focusFrom.current = imports.length;
    list.fetchNextPage().then((r) => {
      if (r.isError) focusFrom.current = null;
    });
  };
  if (list.isPending) return <LoadingState />;
  if (list.isError && imports.length === 0) {
    return <ErrorMessage error={list.error} retry={() => list.refetch()} />;
  }
  if (imports.length === 0) {
    return (
      <p className="empty-line" data-testid="import-history-none">
        {t("import.historyNone")}
      </p>
    );
  }
  const label = {
    started: t("import.started"),
    kind: t("import.kind"),
    status: t("import.statusLabel"),
    read: t("import.rowsRead"),
    created: t("import.created"),
    updated: t("import.updated"),
    unchanged: t("import.unchanged"),
    rejected: t("import.rejected"),
  };
  return (
    <>
      <div className="table-wrap">
        <table ref={table} className="table import-history" data-testid="import-history">
          <thead>
            <tr>
              <th scope="col">{label.started}</th>
              <th scope="col">{label.kind}</th>
              <th scope="col">{label.status}</th>
              <th scope="col" className="num">
                {label.read}
              </th>
              <th scope="col" className="num">
                {label.created}
              </th>
              <th scope="col" className="num">
                {label.updated}
              </th>
              <th scope="col" className="num">
                {label.unchanged}
              </th>
              <th scope="col" className="num">
                {label.rejected}
              </th>
              <th scope="col">
                <span className="sr-only">{t("import.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {imports.map((imp) => (
              <tr key={imp.id} data-testid="import-history-row" data-import={imp.id}>
                <td data-label={label.started}>
                  <Link
                    to={`/import/${encodeURIComponent(imp.id)}`}
                    className="import-open"
                    data-testid="import-open"
                  >
                    <DateTime iso={imp.createdAt} />
                  </Link>
                </td>
                <td data-label={label.kind}>{kind(imp)}</td>
                <td data-label={label.status}>
                  <ImportStatus status={imp.status} />
                </td>
                <td data-label={label.read} className="num">
                  {imp.rowsRead}
                </td>
                <td data-label={label.created} className="num" data-testid="history-created">
                  {imp.created}
                </td>
                <td data-label={label.updated} className="num">
                  {imp.updated}
                </td>
                <td data-label={label.unchanged} className="num">
                  {imp.unchanged}
                </td>
                <td data-label={label.rejected} className="num" data-testid="history-rejected">
                  {imp.rejected}
                </td>
                <td className="row-actions">
                  {props.canWrite && imp.status === "interrupted" ? (
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={resume.isPending}
                      onClick={() => resume.mutate(imp.id)}
                      data-testid="import-resume"
                    >
                      {resume.isPending && resume.variables === imp.id ? <Spinner /> : null}{" "}
                      {t("import.resume")}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {resume.isError ? <ErrorMessage error={resume.error} /> : null}
      {list.hasNextPage ? (
        <div className="pager">
          <button
            type="button"
            className="btn"
            onClick={loadMore}
            disabled={list.isFetchingNextPage}
            data-testid="import-history-more"
          >
            {list.isFetchingNextPage ? <Spinner /> : null} {t("action.loadMore")}
          </button>
        </div>
      ) : null}
      {list.isError ? <ErrorMessage error={list.error} /> : null}
    </>
  );
}

import { useTranslation } from "react-i18next";
import { Field, Fields, Spinner } from "../../../components/ui.js";
import { type Import, STAGES } from "../../api/schemas.js";
import { ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useImportIssues } from "../hooks/useImports.js";
import { failureKey, issueColumns, knownIssue } from "../issue-text.js";
import { useFieldLabel } from "./ColumnMapping.js";

const done = (s: Import["status"]) => s === "completed" || s === "failed" || s === "interrupted";

export function ImportProgress(props: { imp: Import }) {
  const { t } = useTranslation();
  const { imp } = props;
  const total = Math.max(imp.rowsRead, imp.processed, 1);
  return (
    <div className="import-progress">
      <label className="label" htmlFor={`progress-${imp.id}`} data-testid="import-progress-status">
        {t(`import.status.${imp.status}`)}
      </label>
      <progress
        id={`progress-${imp.id}`}
        max={total}
        // Full once completed; an interrupted or failed one shows how far it went.
        value={imp.status === "completed" ? total : imp.processed}
        data-testid="import-progress"
      />
      <p className="muted">
        {t("import.processed", { processed: imp.processed, total: imp.rowsRead })}
      </p>
    </div>
  );
}

/**
 * A row's issue in the console's language, by its code, with the file's columns it names; the
 * node's own (English) reason for a code the console does not know.
 */
function IssueReason(props: { code: string; reason: string }) {
  const { t } = useTranslation();
  const { code, reason } = props;
  if (!knownIssue(code)) {
    return (
      <span data-testid="issue-reason">
        <code>{code}</code> {reason}
      </span>
    );
  }
  const columns = issueColumns(reason);
  // The values a file may hold, as it must write them (the words a stage shows are not).
  const stages = STAGES.join(", ");
  return (
    <span data-testid="issue-reason">
      <code>{code}</code> {t(`import.issueCodes.${code}`, { stages })}
      <InColumns columns={columns} />
    </span>
  );
}

/** The file's columns a reason names ("in columns “a”, “b”"), after the reason; none: nothing. */
export function InColumns(props: { columns: string[] }) {
  const { t } = useTranslation();
  if (props.columns.length === 0) return null;
  return (
    <>
      {" "}
      <span className="muted">
        {t("import.inColumns", { columns: props.columns.map((c) => `“${c}”`).join(", ") })}
      </span>
    </>
  );
}

/**
 * Why an import failed or stopped, in the console's language when its code has words here (a
 * cut upload, a stopped node, a file's refusal), else as the node said it (a database's error
 * says more as it is).
 */
export function useImportFailure(): (imp: Import) => string | null {
  const { t } = useTranslation();
  return (imp) => {
    const key = failureKey(imp.errorCode);
    return key === null ? imp.error : t(key);
  };
}

/** `showError: false` where the page already says why the import stopped. */
export function ImportReport(props: { imp: Import; showError?: boolean }) {
  const failure = useImportFailure();
  const { t } = useTranslation();
  const fieldLabel = useFieldLabel();
  const { imp } = props;
  const issues = useImportIssues(imp.id, done(imp.status));
  const rows = issues.data?.pages.flatMap((p) => p.errors) ?? [];
  return (
    <div className="import-report" data-testid="import-report">
      <Fields>
        <Field label={t("import.rowsRead")}>
          <span data-testid="report-read">{imp.rowsRead}</span>
        </Field>
        <Field label={imp.dryRun ? t("import.wouldCreate") : t("import.created")}>
          <span data-testid="report-created">{imp.created}</span>
        </Field>
        <Field label={imp.dryRun ? t("import.wouldUpdate") : t("import.updated")}>
          {imp.updated}
        </Field>
        <Field label={t("import.unchanged")}>{imp.unchanged}</Field>
        <Field label={t("import.rejected")}>
          <span data-testid="report-rejected">{imp.rejected}</span>
        </Field>
        <Field label={t("import.skipped")}>{imp.skipped}</Field>
        <Field label={t("import.suggestions")}>{imp.suggestions}</Field>
        <Field label={t("import.columns")}>
          {imp.columns
            .map(
              (c) =>
                `${c.header} → ${c.field === null ? t("import.ignored") : fieldLabel(c.field)}`,
            )
            .join(" · ")}
        </Field>
      </Fields>
      {imp.error && props.showError !== false ? (
        <p className="field-error">{failure(imp)}</p>
      ) : null}
      <h3 className="subhead">{t("import.issues")}</h3>
      {!done(imp.status) ? null : issues.isPending ? (
        <LoadingState />
      ) : issues.isError && rows.length === 0 ? (
        <ErrorMessage error={issues.error} retry={() => issues.refetch()} />
      ) : rows.length === 0 ? (
        <p className="empty-line">{t("import.noIssues")}</p>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="import-issues">
              <thead>
                <tr>
                  <th scope="col">{t("import.row")}</th>
                  <th scope="col">{t("import.level")}</th>
                  <th scope="col">{t("import.reason")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={`${e.row}-${e.level}-${e.code}-${e.reason}`} data-level={e.level}>
                    <td data-label={t("import.row")}>{e.row}</td>
                    <td data-label={t("import.level")}>
                      <span className={`pill ${e.level === "error" ? "pill-bad" : "pill-warn"}`}>
                        {t(`import.levels.${e.level}`)}
                      </span>
                    </td>
                    <td data-label={t("import.reason")}>
                      <IssueReason code={e.code} reason={e.reason} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {issues.hasNextPage ? (
            <div className="pager">
              <button
                type="button"
                className="btn"
                onClick={() => issues.fetchNextPage()}
                disabled={issues.isFetchingNextPage}
                data-testid="issues-more"
              >
                {issues.isFetchingNextPage ? <Spinner /> : null} {t("action.loadMore")}
              </button>
            </div>
          ) : null}
          {issues.isError ? <ErrorMessage error={issues.error} /> : null}
        </>
      )}
    </div>
  );
}

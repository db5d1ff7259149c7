import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Card, Notice, Spinner } from "../../components/ui.js";
import { ImportStatus, useImportKind } from "../imports/components/ImportHistory.js";
import {
  ImportProgress,
  ImportReport,
  useImportFailure,
} from "../imports/components/ImportReport.js";
import { useImport, useResumeImport } from "../imports/hooks/useImports.js";
import { DateTime, ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { useCanWrite } from "../session/hooks/useSession.js";

/**
 * One past import or check: its counts, its columns and every row it rejected or warned about.
 * An interrupted import says why and can be resumed; its progress is followed here.
 */
export function ImportDetailPage() {
  const { t } = useTranslation();
  const { id = "" } = useParams();
  const imp = useImport(id);
  const resume = useResumeImport();
  const kind = useImportKind();
  const canWrite = useCanWrite();
  const failure = useImportFailure();
  const data = imp.data;
  useTitle(t("import.reportTitle"));
  return (
    <div className="page" data-testid="import-detail">
      <nav className="crumbs" aria-label={t("nav.breadcrumbs")}>
        <Link to="/import">{t("import.title")}</Link> <span aria-hidden="true">/</span>{" "}
        <span aria-current="page">{t("import.reportTitle")}</span>
      </nav>
      {imp.isPending ? (
        <LoadingState />
      ) : imp.isError || !data ? (
        <ErrorMessage error={imp.error} retry={() => imp.refetch()} />
      ) : (
        <>
          <PageHead
            title={t("import.reportTitle")}
            lead={
              <>
                {kind(data)} · <DateTime iso={data.createdAt} /> · <code>{data.id}</code>
              </>
            }
            actions={<ImportStatus status={data.status} />}
          />
          {data.status === "interrupted" ? (
            <div data-testid="import-interrupted">
              <Notice tone="warn" title={t("import.interruptedTitle")}>
                {data.error ? <p>{t("import.stoppedBy", { error: failure(data) })}</p> : null}
                <p>{t("import.interruptedDetail")}</p>
                {canWrite ? (
                  <div className="form-actions notice-actions">
                    <button
                      type="button"
                      className="btn btn-primary"
                      disabled={resume.isPending}
                      onClick={() => resume.mutate(data.id)}
                      data-testid="import-resume"
                    >
                      {resume.isPending ? <Spinner /> : null} {t("import.resume")}
                    </button>
                  </div>
                ) : null}
              </Notice>
            </div>
          ) : null}
          {data.status === "failed" ? (
            <Notice tone="warn" title={t("import.failedTitle")}>
              {data.error ? <p>{t("import.stoppedBy", { error: failure(data) })}</p> : null}
              <p>{t("import.failedDetail")}</p>
            </Notice>
          ) : null}
          {resume.isError ? <ErrorMessage error={resume.error} /> : null}
          <Card title={data.dryRun ? t("import.checkReport") : t("import.importReport")}>
            {data.dryRun ? <p className="hint hint-top">{t("import.dryRunLead")}</p> : null}
            <ImportProgress imp={data} />
            <ImportReport
              imp={data}
              showError={data.status !== "interrupted" && data.status !== "failed"}
            />
            {data.status === "completed" && !data.dryRun ? (
              <p>
                <Link to="/customers">{t("import.seeCustomers")}</Link>
              </p>
            ) : null}
          </Card>
        </>
      )}
    </div>
  );
}

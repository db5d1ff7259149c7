import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Upload } from "../../components/icons.js";
import { Card, Spinner } from "../../components/ui.js";
import { ImportProgress, ImportReport } from "../imports/components/ImportReport.js";
import { useImport, useUploadImport } from "../imports/hooks/useImports.js";
import { ErrorMessage, PageHead, useTitle } from "../layout/ui.js";

/**
 * The import wizard: choose a CSV, check it with a dry run (nothing written), then import it
 * and follow its progress; rejected rows are listed with their reasons either way.
 */
export function ImportPage() {
  const { t } = useTranslation();
  useTitle(t("import.title"));
  const id = useId();
  const [file, setFile] = useState<File | undefined>(undefined);
  const check = useUploadImport();
  const run = useUploadImport();
  const checked = check.data;
  const started = useImport(run.data?.id);
  const current = started.data ?? run.data;
  const choose = (f: File | undefined) => {
    setFile(f);
    check.reset();
    run.reset();
  };
  return (
    <div className="page">
      <PageHead title={t("import.title")} lead={t("import.lead")} />
      <Card title={t("import.step1")}>
        <label className="label" htmlFor={`${id}-file`}>
          {t("import.file")}
        </label>
        <input
          id={`${id}-file`}
          className="input"
          type="file"
          accept=".csv,text/csv"
          onChange={(e) => choose(e.target.files?.[0])}
          aria-describedby={`${id}-hint`}
          data-testid="import-file"
        />
        <p className="hint" id={`${id}-hint`}>
          {t("import.fileHint")}
        </p>
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            disabled={!file || check.isPending}
            onClick={() => file && check.mutate({ file, dryRun: true })}
            data-testid="import-check"
          >
            {check.isPending ? <Spinner /> : null} {t("import.check")}
          </button>
        </div>
        {check.isError ? <ErrorMessage error={check.error} /> : null}
      </Card>
      {checked ? (
        <Card title={t("import.step2")}>
          <p className="hint hint-top">{t("import.dryRunLead")}</p>
          <ImportReport imp={checked} />
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={!file || run.isPending || run.isSuccess}
              onClick={() => file && run.mutate({ file, dryRun: false })}
              data-testid="import-run"
            >
              {run.isPending ? <Spinner /> : <Upload size={14} />} {t("import.run")}
            </button>
          </div>
          {run.isError ? <ErrorMessage error={run.error} /> : null}
        </Card>
      ) : null}
      {current ? (
        <Card title={t("import.step3")}>
          <ImportProgress imp={current} />
          <ImportReport imp={current} />
          {current.status === "completed" ? (
            <p>
              <Link to="/customers" data-testid="import-to-customers">
                {t("import.seeCustomers")}
              </Link>
            </p>
          ) : null}
        </Card>
      ) : null}
    </div>
  );
}

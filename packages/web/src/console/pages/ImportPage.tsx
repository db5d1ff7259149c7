import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Upload } from "../../components/icons.js";
import { Card, Notice, Spinner } from "../../components/ui.js";
import { isCountryCode } from "../customers/countries.js";
import { ColumnMapping } from "../imports/components/ColumnMapping.js";
import { ImportHistory } from "../imports/components/ImportHistory.js";
import { ImportRefusal } from "../imports/components/ImportRefusal.js";
import { ImportProgress, ImportReport } from "../imports/components/ImportReport.js";
import { useImport, useUploadImport } from "../imports/hooks/useImports.js";
import { PageHead, useTitle } from "../layout/ui.js";
import { useCanWrite } from "../session/hooks/useSession.js";

/**
 * The import wizard: choose a CSV, check it with a dry run (nothing written), then import it
 * and follow its progress; rejected rows are listed with their reasons either way. Under it,
 * the past imports, each opening its report (auditors read those too).
 */
export function ImportPage() {
  const { t } = useTranslation();
  useTitle(t("import.title"));
  const writes = useCanWrite();
  if (!writes) {
    return (
      <div className="page">
        <PageHead title={t("import.title")} lead={t("import.lead")} />
        <Notice title={t("import.notAllowed")}>{t("import.notAllowedDetail")}</Notice>
        <PastImports canWrite={false} />
      </div>
    );
  }
  return <ImportWizard />;
}

function ImportWizard() {
  const { t } = useTranslation();
  const id = useId();
  const [file, setFile] = useState<File | undefined>(undefined);
  const [map, setMap] = useState<Record<string, string | null>>({});
  const [country, setCountry] = useState("");
  const check = useUploadImport();
  const run = useUploadImport();
  const checked = check.data;
  const started = useImport(run.data?.id);
  const current = started.data ?? run.data;
  // The node's list of countries: two letters such as ZZ would only reject every number
  // written without + (the node refuses them too, 400 invalid_country).
  const countryKnown = /^[A-Z]{2}$/.test(country) && isCountryCode(country);
  const countryValid = country === "" || countryKnown;
  const countryError = country.length === 2 && !countryKnown;
  const options = { map, country: countryValid ? country : undefined };
  const choose = (f: File | undefined) => {
    setFile(f);
    setMap({});
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
        <div className="form-field country-field">
          <label className="label" htmlFor={`${id}-country`}>
            {t("import.country")}
          </label>
          <input
            id={`${id}-country`}
            className="input"
            value={country}
            maxLength={2}
            onChange={(e) => setCountry(e.target.value.toUpperCase())}
            aria-invalid={countryValid ? undefined : true}
            aria-describedby={
              countryError ? `${id}-country-error ${id}-country-hint` : `${id}-country-hint`
            }
            data-testid="import-country"
          />
          <p className="hint field-hint" id={`${id}-country-hint`}>
            {t("import.countryHint")}
          </p>
          {countryError ? (
            <p
              className="field-error"
              id={`${id}-country-error`}
              data-testid="import-country-error"
            >
              {t("form.countryUnknown")}
            </p>
          ) : null}
        </div>
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            disabled={!file || check.isPending || !countryValid}
            onClick={() => {
              if (!file) return;
              run.reset();
              check.mutate({ file, dryRun: true, ...options });
            }}
            data-testid="import-check"
          >
            {check.isPending ? <Spinner /> : null} {t("import.check")}
          </button>
        </div>
        {check.isError ? <ImportRefusal error={check.error} /> : null}
      </Card>
      {checked ? (
        <Card title={t("import.step2")}>
          <p className="hint hint-top">{t("import.dryRunLead")}</p>
          <ImportReport imp={checked} />
          <h3 className="subhead">{t("import.mapping")}</h3>
          <p className="hint hint-top">{t("import.mappingLead")}</p>
          <ColumnMapping columns={checked.columns} value={map} onChange={setMap} />
          <div className="form-actions mapping-actions">
            <button
              type="button"
              className="btn"
              disabled={!file || check.isPending}
              onClick={() => file && check.mutate({ file, dryRun: true, ...options })}
              data-testid="import-recheck"
            >
              {check.isPending ? <Spinner /> : null} {t("import.recheck")}
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={!file || run.isPending || run.isSuccess}
              onClick={() => file && run.mutate({ file, dryRun: false, ...options })}
              data-testid="import-run"
            >
              {run.isPending ? <Spinner /> : <Upload size={14} />} {t("import.run")}
            </button>
          </div>
          {run.isError ? <ImportRefusal error={run.error} /> : null}
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
      <PastImports canWrite />
    </div>
  );
}

function PastImports(props: { canWrite: boolean }) {
  const { t } = useTranslation();
  return (
    <Card title={t("import.history")}>
      <p className="hint hint-top">{t("import.historyLead")}</p>
      <ImportHistory canWrite={props.canWrite} />
    </Card>
  );
}

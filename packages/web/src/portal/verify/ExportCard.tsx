import { useTranslation } from "react-i18next";
import { Check, Download } from "../../components/icons.js";
import { Card, Spinner } from "../../components/ui.js";
import { ErrorMessage } from "../layout/ui.js";
import { useExport } from "./hooks.js";

/**
 * The export (GDPR Art. 15 and 20): one JSON file, exactly as the node sent it, that
 * `patron verify <file>` checks offline.
 */
export function ExportCard(props: { merchant: string }) {
  const { t } = useTranslation();
  const exp = useExport(props.merchant);
  // Pinned with --key: without it the check trusts the key inside the file (patron verify says
  // so), and the point of the file is to trust nobody.
  const keyUrl = new URL("/v1/ledger/key", window.location.href).href;
  return (
    <Card title={t("export.title")}>
      <p className="hint">{t("export.lead")}</p>
      {exp.error ? <ErrorMessage error={exp.error} testId="export-error" /> : null}
      {exp.data ? (
        <p className="notice notice-info" role="status" data-testid="export-done">
          <Check size={18} />
          <span>{t("export.done", { name: exp.data.name, count: exp.data.entries })}</span>
        </p>
      ) : null}
      <p>{t("export.offline")}</p>
      <pre className="command-line">
        <code data-testid="export-command">
          patron verify {exp.data?.name ?? "patron-export-….json"} --key "$(curl -s {keyUrl})"
        </code>
      </pre>
      <p className="hint">{t("export.pin")}</p>
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => exp.mutate()}
          disabled={exp.isPending}
          data-testid="export-download"
        >
          {exp.isPending ? <Spinner label={t("export.working")} /> : <Download size={14} />}{" "}
          {exp.isPending ? null : t("export.download")}
        </button>
      </div>
    </Card>
  );
}

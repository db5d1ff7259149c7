import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Check, Upload } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { useRestoreBackup } from "../keys/hooks.js";
import { ErrorMessage, PageHead, useTitle } from "../layout/ui.js";

/** Restores a backup file into this browser: the same keys, for the same merchants. */
export function RestorePage() {
  const { t } = useTranslation();
  const id = useId();
  useTitle(t("restore.title"));
  const [progress, setProgress] = useState(0);
  const restore = useRestoreBackup(setProgress);
  const [file, setFile] = useState<File>();
  const [passphrase, setPassphrase] = useState("");
  const [missing, setMissing] = useState<"file" | "passphrase">();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!file) return setMissing("file");
    if (!passphrase) return setMissing("passphrase");
    setMissing(undefined);
    setProgress(0);
    if (file.size > 2_000_000) {
      restore.reset();
      return restore.mutate({ text: "", passphrase });
    }
    restore.mutate({ text: await file.text(), passphrase });
  };
  return (
    <div className="page narrow">
      <PageHead title={t("restore.title")} lead={t("restore.lead")} />
      <form className="form card" onSubmit={submit} noValidate aria-label={t("restore.title")}>
        <div className="card-body stack">
          <div className="form-field">
            <label className="label" htmlFor={`${id}-file`}>
              {t("restore.file")}
            </label>
            <input
              id={`${id}-file`}
              className="input"
              type="file"
              accept="application/json,.json"
              onChange={(e) => setFile(e.target.files?.[0])}
              aria-invalid={missing === "file" ? true : undefined}
              aria-describedby={missing === "file" ? `${id}-file-error` : undefined}
              data-testid="restore-file"
            />
            {missing === "file" ? (
              <p className="field-error" id={`${id}-file-error`}>
                {t("restore.needFile")}
              </p>
            ) : null}
          </div>
          <div className="form-field">
            <label className="label" htmlFor={`${id}-passphrase`}>
              {t("backup.passphrase")}
            </label>
            <input
              id={`${id}-passphrase`}
              className="input"
              type="password"
              autoComplete="current-password"
              value={passphrase}
              onChange={(e) => setPassphrase(e.target.value)}
              aria-invalid={missing === "passphrase" ? true : undefined}
              aria-describedby={missing === "passphrase" ? `${id}-pass-error` : undefined}
              data-testid="restore-passphrase"
            />
            {missing === "passphrase" ? (
              <p className="field-error" id={`${id}-pass-error`}>
                {t("restore.needPassphrase")}
              </p>
            ) : null}
          </div>
          {restore.error ? <ErrorMessage error={restore.error} testId="restore-error" /> : null}
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={restore.isPending}
              data-testid="restore-submit"
            >
              {restore.isPending ? <Spinner /> : <Upload size={14} />} {t("restore.submit")}
            </button>
            {restore.isPending ? (
              <progress
                max={1}
                value={progress}
                aria-label={t("backup.working")}
                className="kdf-progress"
              />
            ) : null}
          </div>
          {restore.data ? (
            <div className="notice notice-info" role="status" data-testid="restored">
              <Check size={18} />
              <div>
                <strong>{t("restore.done", { count: restore.data.length })}</strong>
                <ul className="plain-list link-list">
                  {restore.data.map((a) => (
                    <li key={a.merchant}>
                      <Link to={`/m/${a.merchant}`}>{a.merchantName}</Link>
                    </li>
                  ))}
                </ul>
              </div>
            </div>
          ) : null}
        </div>
      </form>
    </div>
  );
}

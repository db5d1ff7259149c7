import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect, useState } from "react";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { z } from "zod";
import { Download, Lock } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { FormField } from "../account/components/FormField.js";
import { useAccounts } from "../account/hooks.js";
import { MIN_PASSPHRASE } from "../keys/backup.js";
import { useMakeBackup } from "../keys/hooks.js";
import { ErrorMessage, PageHead, useTitle } from "../layout/ui.js";

const BackupSchema = z
  .object({
    passphrase: z.string().refine((s) => [...s.normalize("NFC")].length >= MIN_PASSPHRASE, {
      error: "backup.errors.short",
    }),
    repeat: z.string(),
  })
  .refine((v) => v.passphrase === v.repeat, { error: "backup.errors.differ", path: ["repeat"] });
type BackupForm = z.infer<typeof BackupSchema>;

/** The backup file: the root secret (and the account list) under a passphrase, to download. */
export function BackupPage() {
  const { t } = useTranslation();
  useTitle(t("backup.title"));
  const accounts = useAccounts();
  const [progress, setProgress] = useState(0);
  const make = useMakeBackup(setProgress);
  const [url, setUrl] = useState<string>();
  const form = useForm<BackupForm>({
    resolver: zodResolver(BackupSchema),
    defaultValues: { passphrase: "", repeat: "" },
  });
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);
  const submit = form.handleSubmit(async ({ passphrase }) => {
    setProgress(0);
    setUrl(undefined);
    const made = await make.mutateAsync(passphrase).catch(() => undefined);
    if (!made) return;
    form.reset();
    setUrl(URL.createObjectURL(new Blob([made.text], { type: "application/json" })));
  });
  const fileName = `patron-keys-${new Date().toISOString().slice(0, 10)}.json`;
  const count = accounts.data?.filter((a) => a.bound).length ?? 0;
  if (accounts.data && count === 0 && !url) {
    // A file with no account in it would only look like a backup.
    return (
      <div className="page narrow">
        <PageHead title={t("backup.title")} lead={t("backup.lead")} />
        <div className="notice notice-info" data-testid="backup-nothing">
          <Lock size={18} />
          <span>
            {t("backup.nothing")} <Link to="/restore">{t("home.restore")}</Link>
          </span>
        </div>
      </div>
    );
  }
  return (
    <div className="page narrow">
      <PageHead title={t("backup.title")} lead={t("backup.lead")} />
      <form className="form card" onSubmit={submit} noValidate aria-label={t("backup.title")}>
        <div className="card-body stack">
          <p>{t("backup.contains", { count })}</p>
          <FormField
            form={form}
            name="passphrase"
            type="password"
            label={t("backup.passphrase")}
            hint={t("backup.passphraseHint", { min: MIN_PASSPHRASE })}
            autoComplete="new-password"
          />
          <FormField
            form={form}
            name="repeat"
            type="password"
            label={t("backup.repeat")}
            autoComplete="new-password"
          />
          {make.error ? <ErrorMessage error={make.error} testId="backup-error" /> : null}
          <div className="form-actions">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={make.isPending}
              data-testid="backup-make"
            >
              {make.isPending ? <Spinner /> : <Lock size={14} />} {t("backup.make")}
            </button>
            {make.isPending ? (
              <progress
                max={1}
                value={progress}
                aria-label={t("backup.working")}
                className="kdf-progress"
              />
            ) : null}
          </div>
          {url ? (
            <div className="notice notice-info" role="status" data-testid="backup-ready">
              <Download size={18} />
              <div>
                <strong>{t("backup.ready")}</strong>
                <p>{t("backup.keepIt")}</p>
                <p>
                  <a href={url} download={fileName} className="btn" data-testid="backup-download">
                    <Download size={14} /> {t("backup.download")}
                  </a>
                </p>
              </div>
            </div>
          ) : null}
        </div>
      </form>
    </div>
  );
}

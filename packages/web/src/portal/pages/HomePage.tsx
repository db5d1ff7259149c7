import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Download, Key, Upload } from "../../components/icons.js";
import { Pill } from "../../components/ui.js";
import { useAccounts } from "../account/hooks.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";

/** The merchants this browser holds keys for, and the way to keep those keys safe. */
export function HomePage() {
  const { t } = useTranslation();
  const accounts = useAccounts();
  useTitle(t("home.title"));
  if (accounts.isPending) return <LoadingState />;
  if (accounts.isError) {
    return (
      <div className="page narrow">
        <ErrorMessage error={accounts.error} retry={() => accounts.refetch()} />
      </div>
    );
  }
  const bound = accounts.data.filter((a) => a.bound);
  const unfinished = accounts.data.filter((a) => !a.bound && !a.erased);
  const derived = bound.some((a) => a.kind === "ed25519");
  return (
    <div className="page narrow">
      <PageHead title={t("home.title")} lead={t("home.lead")} />
      {bound.length === 0 ? (
        <div className="card" data-testid="no-accounts">
          <div className="card-body stack">
            <p>{t("home.empty")}</p>
            <p>
              <Link to="/restore" className="btn">
                <Upload size={14} /> {t("home.restore")}
              </Link>
            </p>
          </div>
        </div>
      ) : (
        <ul className="account-list" data-testid="accounts">
          {bound.map((a) => (
            <li key={a.merchant} className="account-item">
              <Link to={`/m/${a.merchant}`} className="account-link" data-testid="account-link">
                <span className="account-name">{a.merchantName}</span>
                <span className="account-meta">
                  <Pill tone={a.kind === "passkey" ? "ok" : "info"} icon={<Key size={12} />}>
                    {t(`keys.kinds.${a.kind}`)}
                  </Pill>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {unfinished.length > 0 ? (
        <section className="card">
          <header className="card-head">
            <h2>{t("home.unfinished")}</h2>
          </header>
          <div className="card-body">
            <ul className="plain-list link-list">
              {unfinished.map((a) => (
                <li key={a.merchant}>
                  <Link to={a.recovering ? `/recover/${a.merchant}` : `/join/${a.merchant}`}>
                    {a.merchantName}
                  </Link>
                  {a.recovering ? <span className="muted"> · {t("home.recovering")}</span> : null}
                </li>
              ))}
            </ul>
          </div>
        </section>
      ) : null}
      {/* With no key yet there is nothing to back up: the empty state offers the restore. */}
      {bound.length > 0 ? (
        <section className="card">
          <header className="card-head">
            <h2>{t("home.keysTitle")}</h2>
          </header>
          <div className="card-body stack">
            <p>{derived ? t("home.keysDerived") : t("home.keysNone")}</p>
            <div className="form-actions">
              <Link to="/backup" className="btn btn-primary" data-testid="go-backup">
                <Download size={14} /> {t("home.backup")}
              </Link>
              <Link to="/restore" className="btn">
                <Upload size={14} /> {t("home.restore")}
              </Link>
            </div>
          </div>
        </section>
      ) : null}
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Key, Refresh } from "../../components/icons.js";
import { CopyButton, Spinner } from "../../components/ui.js";
import { KeyChoice, useKeyChoice } from "../account/components/KeyChoice.js";
import { useAccount, useMerchant } from "../account/hooks.js";
import { notYet, useFinishRecovery, useNewRecoveryKey } from "../account/recover-hooks.js";
import type { Account } from "../keys/store.js";
import { useQrImage } from "../layout/qr.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { SignCancelled } from "../signing/SigningProvider.js";

/**
 * A lost key (issue 8): the customer makes a new key here and shows it to the merchant's staff,
 * who check who they are and start a recovery. After its time-lock (72 h by default; the old
 * key and the customer's contact channels are told, and the old key may refuse) the node binds
 * the new key, and it signs in.
 */
export function RecoverPage() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const info = useMerchant(merchant);
  const account = useAccount(merchant);
  const make = useNewRecoveryKey(merchant);
  const [kind, setKind, passkeys] = useKeyChoice();
  const name = info.data?.merchant.name ?? merchant;
  useTitle(t("recover.title", { merchant: name }));
  if (info.isPending || account.isPending) return <LoadingState />;
  if (info.isError) {
    return (
      <div className="page narrow">
        <PageHead title={t("join.unknownMerchant")} />
        <ErrorMessage error={info.error} />
      </div>
    );
  }
  if (account.data?.bound) {
    return (
      <div className="page narrow">
        <PageHead title={t("recover.title", { merchant: name })} />
        <div className="notice notice-info" data-testid="recover-not-needed">
          <Key size={18} />
          <div>
            <strong>{t("recover.notNeeded")}</strong>
            <p>
              <Link to={`/m/${merchant}`}>{t("join.open", { merchant: name })}</Link>
            </p>
          </div>
        </div>
      </div>
    );
  }
  if (account.data?.recovering) return <AwaitingRecovery account={account.data} />;
  return (
    <div className="page narrow">
      <PageHead
        title={t("recover.title", { merchant: name })}
        lead={t("recover.lead", { merchant: name })}
      />
      <div className="card">
        <div className="card-body stack">
          <ol>
            <li>{t("recover.step1")}</li>
            <li>{t("recover.step2", { merchant: name })}</li>
            <li>{t("recover.step3")}</li>
          </ol>
          <KeyChoice value={kind} onChange={setKind} supported={passkeys} />
          {make.error ? <ErrorMessage error={make.error} testId="recover-error" /> : null}
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={make.isPending}
              onClick={() => make.mutate({ kind, merchantName: name })}
              data-testid="recover-make"
            >
              {make.isPending ? <Spinner /> : <Key size={14} />} {t("recover.make")}
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}

/** The new key, to show the staff, until the node has bound it. */
export function AwaitingRecovery(props: { account: Account }) {
  const { t } = useTranslation();
  const { account } = props;
  const finish = useFinishRecovery(account);
  const qr = useQrImage(account.did);
  useTitle(t("recover.waitingTitle", { merchant: account.merchantName }));
  const failure =
    finish.error && !(finish.error instanceof SignCancelled) && !notYet(finish.error)
      ? finish.error
      : undefined;
  return (
    <div className="page narrow" data-testid="recovery-waiting">
      <PageHead
        title={t("recover.waitingTitle", { merchant: account.merchantName })}
        lead={t("recover.waitingLead", { merchant: account.merchantName })}
      />
      <div className="card">
        <div className="card-body stack">
          {qr ? (
            <img
              className="invite-qr"
              src={qr}
              alt={t("recover.qrAlt")}
              width={192}
              height={192}
              data-testid="recover-qr"
            />
          ) : null}
          <div className="value-line">
            <code className="did" data-testid="recover-did">
              {account.did}
            </code>{" "}
            <CopyButton value={account.did} />
          </div>
          <p className="hint">{t("recover.waitingHint")}</p>
          {notYet(finish.error) ? (
            <p className="notice notice-info" role="status" data-testid="recover-not-yet">
              {t("recover.notYet")}
            </p>
          ) : null}
          {failure ? <ErrorMessage error={failure} testId="recover-finish-error" /> : null}
          {finish.error instanceof SignCancelled ? (
            <p className="hint" role="status">
              {t("signing.cancelled")}
            </p>
          ) : null}
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={finish.isPending}
              onClick={() => finish.mutate()}
              data-testid="recover-check"
            >
              {finish.isPending ? <Spinner /> : <Refresh size={14} />} {t("recover.check")}
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}

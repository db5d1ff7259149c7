import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation, useParams } from "react-router";
import { Key, LogOut } from "../../components/icons.js";
import { Spinner } from "../../components/ui.js";
import { useAccount } from "../account/hooks.js";
import type { Account } from "../keys/store.js";
import { AwaitingRecovery } from "../pages/RecoverPage.js";
import { useSignIn, useSignOut } from "../session/hooks.js";
import { useSession } from "../session/session.js";
import { SignCancelled } from "../signing/SigningProvider.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "./ui.js";

/**
 * A merchant's pages: the account this browser holds a key for there, signed in. Without a key,
 * the ways to get one; without a session, the sign-in.
 */
export function MerchantLayout() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const account = useAccount(merchant);
  const session = useSession(merchant);
  if (account.isPending) return <LoadingState />;
  if (account.isError) {
    return (
      <div className="page narrow">
        <ErrorMessage error={account.error} retry={() => account.refetch()} />
      </div>
    );
  }
  if (account.data?.recovering && !account.data.bound) {
    return <AwaitingRecovery account={account.data} />;
  }
  if (!account.data?.bound) {
    return <NoKeyHere merchant={merchant} erased={account.data?.erased === true} />;
  }
  if (!session) return <SignIn account={account.data} />;
  return (
    <div className="page">
      <PageHead title={account.data.merchantName} actions={<SignOutButton merchant={merchant} />} />
      <nav className="tabs" aria-label={t("merchant.sections")}>
        <NavLink
          to={`/m/${merchant}`}
          end
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("merchant.profile")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/points`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
          data-testid="tab-points"
        >
          {t("loyalty.tab")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/consents`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("consents.tab")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/requests`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("requests.tab")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/history`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("history.tab")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/data-use`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("dataUse.tab")}
        </NavLink>
        <NavLink
          to={`/m/${merchant}/security`}
          className={({ isActive }) => (isActive ? "tab active" : "tab")}
        >
          {t("merchant.security")}
        </NavLink>
      </nav>
      <Outlet />
    </div>
  );
}

function NoKeyHere(props: { merchant: string; erased: boolean }) {
  const { t } = useTranslation();
  useTitle(props.erased ? t("merchant.erasedTitle") : t("merchant.noKeyTitle"));
  if (props.erased) {
    // The account was closed from this browser: a recovery or a backup opens nothing there,
    // only joining again (with the next key) does.
    return (
      <div className="page narrow" data-testid="erased-here">
        <PageHead title={t("merchant.erasedTitle")} lead={t("merchant.erasedLead")} />
        <ul className="plain-list link-list">
          <li>
            <Link to={`/join/${props.merchant}`}>{t("merchant.joinAgain")}</Link>
          </li>
        </ul>
      </div>
    );
  }
  return (
    <div className="page narrow">
      <PageHead title={t("merchant.noKeyTitle")} lead={t("merchant.noKeyLead")} />
      <ul className="plain-list link-list">
        <li>
          <Link to={`/join/${props.merchant}`}>{t("merchant.goJoin")}</Link>
        </li>
        <li>
          <Link to="/restore">{t("merchant.goRestore")}</Link>
        </li>
        <li>
          <Link to={`/recover/${props.merchant}`} data-testid="go-recover">
            {t("merchant.goRecover")}
          </Link>
        </li>
      </ul>
    </div>
  );
}

function SignIn(props: { account: Account }) {
  const { t } = useTranslation();
  const signIn = useSignIn(props.account);
  const state = useLocation().state as { rotated?: boolean; joined?: boolean } | null;
  const rotated = state?.rotated === true;
  // Straight after joining or claiming: say it worked, and that signing in comes next.
  const joined = state?.joined === true;
  useTitle(t("signIn.title", { merchant: props.account.merchantName }));
  return (
    <div className="page narrow">
      <PageHead
        title={t("signIn.title", { merchant: props.account.merchantName })}
        lead={t(`signIn.lead.${props.account.kind}`)}
      />
      <div className="card">
        <div className="card-body stack">
          {rotated ? (
            <p className="notice notice-info" role="status" data-testid="rotated">
              {t("signIn.rotated")}
            </p>
          ) : null}
          {joined ? (
            <p className="notice notice-info" role="status" data-testid="joined-sign-in">
              {t("signIn.joined", { merchant: props.account.merchantName })}
            </p>
          ) : null}
          <p>{t("signIn.what")}</p>
          {signIn.error && !(signIn.error instanceof SignCancelled) ? (
            <ErrorMessage error={signIn.error} testId="sign-in-error" />
          ) : null}
          {signIn.error instanceof SignCancelled ? (
            <p className="hint" role="status">
              {t("signing.cancelled")}
            </p>
          ) : null}
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => signIn.mutate()}
              disabled={signIn.isPending}
              data-testid="sign-in"
            >
              {signIn.isPending ? <Spinner /> : <Key size={14} />} {t("signIn.submit")}
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}

function SignOutButton(props: { merchant: string }) {
  const { t } = useTranslation();
  const signOut = useSignOut(props.merchant);
  return (
    <button
      type="button"
      className="btn btn-ghost"
      onClick={() => signOut.mutate()}
      disabled={signOut.isPending}
      data-testid="sign-out"
    >
      <LogOut size={14} /> {t("session.signOut")}
    </button>
  );
}

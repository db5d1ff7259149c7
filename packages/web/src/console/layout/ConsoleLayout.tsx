import { useEffect, useId, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, NavLink, Outlet, useLocation } from "react-router";
import { LogOut } from "../../components/icons.js";
import { LANGUAGES, type Language, switchLanguage } from "../i18n/i18n.js";
import { useSession, useSignOut } from "../session/hooks/useSession.js";
import { ErrorMessage, LoadingState } from "./ui.js";

const NAV = [
  { to: "/customers", label: "nav.customers" },
  { to: "/segments", label: "nav.segments" },
  { to: "/consents", label: "nav.consents" },
  { to: "/requests", label: "nav.requests" },
  { to: "/loyalty", label: "nav.loyalty" },
  { to: "/import", label: "nav.import" },
  { to: "/team", label: "nav.team" },
] as const;

/**
 * A new page moves the focus to its content, as a full page load would, so a keyboard or
 * screen reader user starts there and not on the link they left. Changes of the query (a
 * filter) keep the focus where it is.
 */
function useFocusOnNavigation() {
  const { pathname } = useLocation();
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    document.getElementById("main")?.focus({ preventScroll: false });
  }, [pathname]);
}

export function ConsoleLayout() {
  const { t } = useTranslation();
  const session = useSession();
  useFocusOnNavigation();
  return (
    <div className="app console">
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/customers" className="brand">
            <img src="/favicon.svg" alt="" width="28" height="28" />
            <span className="brand-name">Patron</span>{" "}
            <span className="brand-sub">{t("app.name")}</span>
          </Link>
          {session.data ? (
            <nav className="nav" aria-label={t("nav.label")}>
              {NAV.map((n) => (
                <NavLink
                  key={n.to}
                  to={n.to}
                  className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}
                >
                  {t(n.label)}
                </NavLink>
              ))}
            </nav>
          ) : (
            <span className="nav" />
          )}
          <LanguageSwitch />
          {session.data ? <SignOutButton email={session.data.staff.email} /> : null}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const id = useId();
  return (
    <div className="language-switch">
      <label htmlFor={id} className="sr-only">
        {t("app.language")}
      </label>
      <select
        id={id}
        className="input select-compact"
        value={i18n.language}
        onChange={(e) => switchLanguage(e.target.value as Language)}
        data-testid="language-switch"
      >
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function SignOutButton(props: { email: string }) {
  const { t } = useTranslation();
  const signOut = useSignOut();
  return (
    <div className="session-control">
      <span className="session-email" title={props.email}>
        {props.email}
      </span>
      <button
        type="button"
        className="btn btn-ghost"
        onClick={() => signOut.mutate()}
        disabled={signOut.isPending}
        data-testid="sign-out"
      >
        <LogOut size={14} /> <span className="sign-out-label">{t("session.signOut")}</span>
      </button>
    </div>
  );
}

/** The signed-in pages: without a session, the sign-in form, coming back here after. */
export function RequireSession() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <LoadingState />;
  if (session.isError) {
    return (
      <div className="page">
        <ErrorMessage error={session.error} retry={() => session.refetch()} />
      </div>
    );
  }
  if (!session.data) {
    const next = location.pathname + location.search;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}

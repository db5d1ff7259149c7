import { useEffect, useId, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation } from "react-router";
import { LANGUAGES, type Language, switchLanguage } from "../i18n/i18n.js";

/** A new page moves the focus to its content, as a full page load would. */
function useFocusOnNavigation() {
  const { pathname } = useLocation();
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    document.getElementById("main")?.focus({ preventScroll: false });
  }, [pathname]);
}

export function PortalLayout() {
  const { t } = useTranslation();
  useFocusOnNavigation();
  return (
    <div className="app portal">
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand">
            <img src="/favicon.svg" alt="" width="28" height="28" />
            <span className="brand-name">Patron</span>{" "}
            <span className="brand-sub">{t("app.name")}</span>
          </Link>
          <nav className="nav" aria-label={t("nav.label")}>
            <NavLink
              to="/"
              end
              className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}
            >
              {t("nav.accounts")}
            </NavLink>
            <NavLink
              to="/backup"
              className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}
            >
              {t("nav.backup")}
            </NavLink>
          </nav>
          <LanguageSwitch />
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="footer">
        <div className="footer-inner">
          <p>{t("app.footer")}</p>
        </div>
      </footer>
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

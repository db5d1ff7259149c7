import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";

const TABS = [
  { to: "/loyalty/programme", label: "loyalty.nav.programme" },
  { to: "/loyalty/rules", label: "loyalty.nav.rules" },
  { to: "/loyalty/members", label: "loyalty.nav.members" },
  { to: "/loyalty/liability", label: "loyalty.nav.liability" },
  // The catalogue and adjustments screens join here once their APIs exist.
] as const;

/** The loyalty screens' own navigation, under the page heading. */
export function LoyaltyNav() {
  const { t } = useTranslation();
  return (
    <nav className="subnav" aria-label={t("loyalty.nav.label")}>
      {TABS.map((tab) => (
        <NavLink
          key={tab.to}
          to={tab.to}
          className={({ isActive }) => (isActive ? "subnav-link active" : "subnav-link")}
        >
          {t(tab.label)}
        </NavLink>
      ))}
    </nav>
  );
}

import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";

const TABS = [
  { to: "/loyalty/programme", label: "loyalty.nav.programme" },
  { to: "/loyalty/rules", label: "loyalty.nav.rules" },
  { to: "/loyalty/members", label: "loyalty.nav.members" },
  { to: "/loyalty/liability", label: "loyalty.nav.liability" },
  { to: "/loyalty/catalogue", label: "loyalty.ops.nav.catalogue" },
  { to: "/loyalty/adjustments", label: "loyalty.ops.nav.adjustments" },
  { to: "/loyalty/till", label: "loyalty.ops.nav.till" },
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

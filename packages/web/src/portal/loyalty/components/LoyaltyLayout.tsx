import { useTranslation } from "react-i18next";
import { NavLink, Outlet, useParams } from "react-router";
import { LOYALTY_SECTIONS } from "../sections.js";

/** The loyalty pages of a merchant: their own navigation, then the section. */
export function LoyaltyLayout() {
  const { t } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const base = `/m/${merchant}/points`;
  return (
    <div className="stack" data-testid="loyalty">
      <nav className="tabs subtabs" aria-label={t("loyalty.nav.label")}>
        {LOYALTY_SECTIONS.map((s) => (
          <NavLink
            key={s.path}
            to={s.path ? `${base}/${s.path}` : base}
            end
            className={({ isActive }) => (isActive ? "tab active" : "tab")}
            data-testid={s.testId}
          >
            {t(s.label)}
          </NavLink>
        ))}
      </nav>
      <Outlet />
    </div>
  );
}

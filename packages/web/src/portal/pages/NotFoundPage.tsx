import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { PageHead, useTitle } from "../layout/ui.js";

export function NotFoundPage() {
  const { t } = useTranslation();
  useTitle(t("notFound.title"));
  return (
    <div className="page narrow">
      <PageHead title={t("notFound.title")} lead={t("notFound.lead")} />
      <p>
        <Link to="/">{t("notFound.home")}</Link>
      </p>
    </div>
  );
}

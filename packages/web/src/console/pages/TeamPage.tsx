import { useTranslation } from "react-i18next";
import { Card, Notice } from "../../components/ui.js";
import { PageHead, useTitle } from "../layout/ui.js";
import { PasskeysCard } from "../session/components/PasskeysCard.js";
import { useSession } from "../session/hooks/useSession.js";
import { ApiKeysCard } from "../team/components/ApiKeysCard.js";
import { OutboxCard } from "../team/components/OutboxCard.js";
import { StaffCard } from "../team/components/StaffCard.js";

/** Staff, roles and API keys for owners and admins; the outbox for owners, as the node decides. */
export function TeamPage() {
  const { t } = useTranslation();
  useTitle(t("team.title"));
  const session = useSession();
  const role = session.data?.staff.role;
  const manages = role === "owner" || role === "admin";
  return (
    <div className="page">
      <PageHead title={t("team.title")} lead={t("team.lead")} />
      <Card title={t("passkeys.title")}>
        <PasskeysCard />
      </Card>
      {!manages ? (
        <Notice title={t("team.notAllowed")}>{t("team.notAllowedDetail")}</Notice>
      ) : (
        <>
          <Card title={t("team.staff")}>
            <StaffCard />
          </Card>
          <Card title={t("keys.title")}>
            <ApiKeysCard />
          </Card>
          {role === "owner" ? (
            <Card title={t("outbox.title")}>
              <OutboxCard />
            </Card>
          ) : null}
        </>
      )}
    </div>
  );
}

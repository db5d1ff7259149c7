import { useTranslation } from "react-i18next";
import { Link, useLocation, useParams } from "react-router";
import { Check, Pencil } from "../../components/icons.js";
import { Card, Field, Fields, Pill } from "../../components/ui.js";
import { useAccount } from "../account/hooks.js";
import { languageName } from "../account/profile-fields.js";
import { DateTime, ErrorMessage, LoadingState, useTitle } from "../layout/ui.js";
import { useMe } from "../session/hooks.js";
import { ProfileCheck } from "../verify/ProfileCheck.js";

const ADDRESS_ORDER = ["line1", "line2", "city", "region", "postcode", "country"];

/** The customer's profile at one merchant, decrypted by the node for them (GET /v1/portal/me). */
export function ProfilePage() {
  const { t, i18n } = useTranslation();
  const merchant = useParams().merchant ?? "";
  const me = useMe(merchant);
  const account = useAccount(merchant);
  const state = useLocation().state as { joined?: boolean; rectified?: boolean } | null;
  const joined = state?.joined === true;
  const rectified = state?.rectified === true;
  useTitle(t("merchant.profile"));
  if (me.isPending) return <LoadingState />;
  if (me.isError) return <ErrorMessage error={me.error} retry={() => me.refetch()} />;
  const { profile, key } = me.data;
  const verified = new Set(profile.verified.map((v) => `${v.type}:${v.value}`));
  const none = <span className="muted">{t("profile.none")}</span>;
  const address = profile.address
    ? ADDRESS_ORDER.map((k) => profile.address?.[k])
        .filter(Boolean)
        .join(", ")
    : "";
  return (
    <div className="stack" data-testid="profile">
      {joined ? (
        <div className="notice notice-info" role="status" data-testid="joined">
          <Check size={18} />
          <div>
            <strong>{t("profile.joined", { merchant: me.data.merchant.name })}</strong>
          </div>
        </div>
      ) : null}
      {rectified ? (
        <div className="notice notice-info" role="status" data-testid="rectified">
          <Check size={18} />
          <div>
            <strong>{t("profile.rectified")}</strong>
          </div>
        </div>
      ) : null}
      <Card
        title={t("profile.title")}
        actions={
          profile.status === "active" ? (
            <Link className="btn btn-ghost" to={`/m/${merchant}/edit`} data-testid="profile-edit">
              <Pencil size={14} /> {t("profile.edit")}
            </Link>
          ) : null
        }
      >
        <p className="hint">{t("profile.lead")}</p>
        <Fields>
          <Field label={t("profile.fields.name")}>
            <span data-testid="profile-name">{profile.name ?? none}</span>
          </Field>
          <Field label={t("profile.fields.email")}>
            {profile.emails.length === 0
              ? none
              : profile.emails.map((e) => (
                  <span key={e} className="value-line" data-testid="profile-email">
                    {e}{" "}
                    {verified.has(`email:${e}`) ? (
                      <Pill tone="ok">{t("profile.verified")}</Pill>
                    ) : null}
                  </span>
                ))}
          </Field>
          <Field label={t("profile.fields.phone")}>
            {profile.phones.length === 0
              ? none
              : profile.phones.map((p) => (
                  <span key={p.number} className="value-line" data-testid="profile-phone">
                    {p.number}{" "}
                    {verified.has(`phone:${p.number}`) ? (
                      <Pill tone="ok">{t("profile.verified")}</Pill>
                    ) : null}
                  </span>
                ))}
          </Field>
          <Field label={t("profile.fields.birthday")}>
            {profile.birthday ? <DateTime iso={profile.birthday} dateOnly /> : none}
          </Field>
          <Field label={t("profile.fields.language")}>
            {profile.language ? (
              <span data-testid="profile-language">
                {languageName(profile.language, i18n.language)}
              </span>
            ) : (
              none
            )}
          </Field>
          <Field label={t("profile.fields.address")}>{address || none}</Field>
          <Field label={t("profile.memberSince")}>
            <DateTime iso={profile.createdAt} />
          </Field>
        </Fields>
        <ProfileCheck merchant={merchant} profile={profile} />
      </Card>
      <Card title={t("profile.keyTitle")}>
        <p className="hint">{t("profile.keyLead")}</p>
        <Fields>
          <Field label={t("profile.keyKind")}>
            {account.data ? t(`keys.kinds.${account.data.kind}`) : null}
          </Field>
          <Field label={t("profile.keyDid")}>
            <code className="did" data-testid="profile-key">
              {key}
            </code>
          </Field>
          <Field label={t("profile.customerId")}>
            <code>{profile.id}</code>
          </Field>
        </Fields>
      </Card>
    </div>
  );
}

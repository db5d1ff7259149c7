import { useTranslation } from "react-i18next";
import { Field, Fields } from "../../../components/ui.js";
import type { Customer } from "../../api/schemas.js";
import { DateTime } from "../../layout/ui.js";
import { StagePill } from "./StagePill.js";

export function CustomerProfile(props: { customer: Customer }) {
  const { t } = useTranslation();
  const c = props.customer;
  const address = c.address
    ? [
        c.address.line1,
        c.address.line2,
        c.address.postcode,
        c.address.city,
        c.address.region,
        c.address.country,
      ]
        .filter(Boolean)
        .join(", ")
    : "";
  const attributes = Object.entries(c.attributes);
  return (
    <Fields>
      <Field label={t("customer.name")}>
        <span data-testid="profile-name">{c.name ?? t("customer.unnamed")}</span>
      </Field>
      <Field label={t("customer.stage")}>
        <StagePill stage={c.stage} />
      </Field>
      <Field label={t("customer.tags")}>
        {c.tags.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          <span className="tag-list">
            {c.tags.map((tag) => (
              <span key={tag} className="chip">
                {tag}
              </span>
            ))}
          </span>
        )}
      </Field>
      <Field label={t("customer.language")}>{c.language ?? "—"}</Field>
      <Field label={t("customer.birthday")}>{c.birthday ?? "—"}</Field>
      <Field label={t("customer.address")}>{address || "—"}</Field>
      {attributes.length > 0 ? (
        <Field label={t("customer.attributes")}>
          {attributes.map(([k, v]) => `${k}: ${String(v)}`).join(" · ")}
        </Field>
      ) : null}
      <Field label={t("customer.created")}>
        <DateTime iso={c.createdAt} />
      </Field>
      <Field label={t("customer.updated")}>
        <DateTime iso={c.updatedAt} />
      </Field>
      <Field label={t("customer.id")}>
        <code>{c.id}</code>
      </Field>
      {c.head !== null ? (
        <Field label={t("customer.head")}>
          {/* The explorer shows the entry, its proofs and the chain it continues. */}
          <a href={`/entries/${c.head}`}>{t("customer.headEntry", { index: c.head })}</a>
        </Field>
      ) : null}
    </Fields>
  );
}

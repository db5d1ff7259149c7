import { useTranslation } from "react-i18next";
import type { Customer } from "../../api/schemas.js";
import { ChannelIcon } from "./channel.js";

/** Every way the customer is known: emails, phones and channel identities, each with its mark. */
export function CustomerIdentities(props: { customer: Customer }) {
  const { t } = useTranslation();
  const c = props.customer;
  const rows = [
    ...c.emails.map((value) => ({ kind: "email", value, note: undefined as string | undefined })),
    ...c.phones.map((p) => ({
      kind: "phone",
      value: p.number,
      note: p.valid ? undefined : t("customer.phoneUnassigned"),
    })),
    ...c.identities.map((i) => ({ kind: i.type, value: i.value, note: undefined })),
  ];
  if (rows.length === 0) return <p className="empty-line">{t("customer.noIdentities")}</p>;
  return (
    <ul className="identity-list" data-testid="identities">
      {rows.map((r) => (
        <li key={`${r.kind}:${r.value}`} className="identity">
          <span className="identity-kind">
            <ChannelIcon kind={r.kind} />
            <span>{t(`channel.${r.kind}`, { defaultValue: r.kind })}</span>
          </span>
          <span className="identity-value">{r.value}</span>
          {r.note ? <span className="pill pill-warn">{r.note}</span> : null}
        </li>
      ))}
    </ul>
  );
}

import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import type { Consent } from "../../api/schemas.js";
import { DateTime } from "../../layout/ui.js";
import { ConsentStatusPill } from "./ConsentStatusPill.js";

/**
 * Consents as a table: purposes, data, how they were given (with the version of the text
 * shown), until when, status. `customerColumn` links each to its customer (the Consents page);
 * `actions` adds a control per row (revoke, on the customer page).
 */
export function ConsentTable(props: {
  consents: Consent[];
  customerColumn?: boolean;
  actions?: (c: Consent) => React.ReactNode;
}) {
  const { t } = useTranslation();
  const list = (xs: string[], family: string) =>
    xs.map((x) => t(`${family}.${x}`, { defaultValue: x })).join(", ");
  return (
    <div className="table-wrap">
      <table className="table consent-table" data-testid="consent-table">
        <thead>
          <tr>
            {props.customerColumn ? <th scope="col">{t("consents.customer")}</th> : null}
            <th scope="col">{t("consents.purposes")}</th>
            <th scope="col">{t("consents.categories")}</th>
            <th scope="col">{t("consents.method")}</th>
            <th scope="col">{t("consents.validUntil")}</th>
            <th scope="col">{t("consents.status")}</th>
            {props.actions ? (
              <th scope="col">
                <span className="sr-only">{t("consents.actions")}</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {props.consents.map((c) => (
            <tr key={c.id} data-consent={c.id} data-testid="consent-row">
              {props.customerColumn ? (
                <td data-label={t("consents.customer")}>
                  <Link to={`/customers/${encodeURIComponent(c.customerId)}`}>
                    <code>{c.customerId}</code>
                  </Link>
                </td>
              ) : null}
              <td data-label={t("consents.purposes")}>
                {list(c.purposes, "consents.purposeNames")}
              </td>
              <td data-label={t("consents.categories")}>
                {list(c.categories, "access.categoryNames")}
              </td>
              <td data-label={t("consents.method")}>
                <span className="cell-stack">
                  {t(`consents.methods.${c.method}`, { defaultValue: c.method })}
                  {c.evidence ? (
                    <span className="muted consent-evidence">
                      {" "}
                      {t("consents.textVersionShown", { version: c.evidence.textVersion })}
                    </span>
                  ) : null}
                </span>
              </td>
              <td data-label={t("consents.validUntil")}>
                <DateTime iso={c.validUntil} dateOnly />
              </td>
              <td data-label={t("consents.status")}>
                <span className="cell-stack">
                  <ConsentStatusPill status={c.status} />
                  {c.endedAt ? (
                    <span className="muted consent-ended">
                      {" "}
                      {t(`consents.endedReasons.${c.endedReason ?? "staff"}`, {
                        defaultValue: c.endedReason ?? "",
                      })}
                    </span>
                  ) : null}
                </span>
              </td>
              {props.actions ? <td>{props.actions(c)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

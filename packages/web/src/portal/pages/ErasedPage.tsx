import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router";
import { Check } from "../../components/icons.js";
import { PageHead, useTitle } from "../layout/ui.js";
import type { Erased } from "../rights/hooks.js";

/**
 * After the customer erased themselves (customer.erase): the final state. The session is gone
 * and this browser no longer holds the account, so nothing here can reach the merchant again.
 */
export function ErasedPage() {
  const { t } = useTranslation();
  const erased = (useLocation().state as Erased | null) ?? undefined;
  useTitle(t("erase.done.title"));
  const merchant = erased?.merchantName ?? "";
  return (
    <div className="page narrow" data-testid="erased">
      <PageHead
        title={t("erase.done.title")}
        lead={merchant ? t("erase.done.lead", { merchant }) : t("erase.done.generic")}
      />
      <div className="card">
        <div className="card-body stack">
          {erased ? (
            <ul className="me-list erased-facts">
              {erased.index !== undefined ? (
                <li data-testid="erased-entry">
                  <Check size={14} /> {t("erase.done.entry", { index: erased.index })}
                </li>
              ) : null}
              {erased.sessionEnded ? (
                <li data-testid="erased-session">
                  <Check size={14} /> {t("erase.done.session")}
                </li>
              ) : null}
              <li>
                <Check size={14} /> {t("erase.done.key", { merchant })}
              </li>
            </ul>
          ) : null}
          <p className="hint">{t("erase.done.kept")}</p>
          <p>
            <Link to="/" className="btn">
              {t("erase.done.home")}
            </Link>
          </p>
        </div>
      </div>
    </div>
  );
}

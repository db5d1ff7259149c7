import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/ui.js";
import type { CreatedInvite } from "../../api/schemas.js";
import { DateTime } from "../../layout/ui.js";

/**
 * The node's QR code as an image. It is an SVG the node made, but it is never put into the page
 * as markup: an <img> shows it from a data: URL (the console's CSP allows data: images), where
 * no script in it could run and nothing in it reaches the document.
 */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** A new invite: its code (shown once), its link and the QR code to show at the till. */
export function InviteResult(props: { invite: CreatedInvite }) {
  const { t } = useTranslation();
  const { invite } = props;
  return (
    <div className="invite-result" role="status" data-testid="invite-result">
      <img
        className="invite-qr"
        src={svgDataUrl(invite.qr)}
        alt={t("customerKey.qrAlt")}
        width={176}
        height={176}
        data-testid="invite-qr"
      />
      <div className="invite-facts">
        <p className="label">{t("customerKey.code")}</p>
        <p className="invite-code">
          <code data-testid="invite-code">{invite.code}</code>{" "}
          <CopyButton value={invite.code} label={t("customerKey.copyCode")} />
        </p>
        <p className="hint">{t("customerKey.codeOnce")}</p>
        <p className="label">{t("customerKey.link")}</p>
        <p className="invite-url">
          <code>{invite.url}</code>{" "}
          <CopyButton value={invite.url} label={t("customerKey.copyLink")} />
        </p>
        <p className="hint">
          {t("customerKey.expires")} <DateTime iso={invite.expiresAt} />
        </p>
      </div>
    </div>
  );
}

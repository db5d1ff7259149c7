import { useTranslation } from "react-i18next";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { useOutbox } from "../hooks/useTeam.js";

/** Messages the node kept for lack of a mail server: invitations and resets can be read here. */
export function OutboxCard() {
  const { t } = useTranslation();
  const outbox = useOutbox(true);
  if (outbox.isPending) return <LoadingState />;
  if (outbox.isError) return <ErrorMessage error={outbox.error} />;
  if (outbox.data.messages.length === 0) return <p className="empty-line">{t("outbox.empty")}</p>;
  return (
    <ul className="plain-list outbox-list" data-testid="outbox">
      {outbox.data.messages.map((m) => (
        <li key={m.id} className="outbox-message">
          <p>
            <strong>{m.subject ?? t(`outbox.${m.channel}`)}</strong>{" "}
            <span className="muted">
              → {m.to} · <DateTime iso={m.createdAt} />
            </span>
          </p>
          <pre className="outbox-text">{m.text}</pre>
        </li>
      ))}
    </ul>
  );
}

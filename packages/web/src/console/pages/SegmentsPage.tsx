import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Card } from "../../components/ui.js";
import { DateTime, ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { SegmentBuilder } from "../segments/components/SegmentBuilder.js";
import { useSegments } from "../segments/hooks/useSegments.js";

export function SegmentsPage() {
  const { t } = useTranslation();
  useTitle(t("segments.title"));
  const segments = useSegments();
  return (
    <div className="page">
      <PageHead title={t("segments.title")} lead={t("segments.lead")} />
      <Card title={t("segments.builder")}>
        <SegmentBuilder />
      </Card>
      <Card title={t("segments.savedTitle")}>
        {segments.isPending ? (
          <LoadingState />
        ) : segments.isError ? (
          <ErrorMessage error={segments.error} retry={() => segments.refetch()} />
        ) : segments.data.segments.length === 0 ? (
          <p className="empty-line">{t("segments.none")}</p>
        ) : (
          <ul className="plain-list segment-list" data-testid="segment-list">
            {segments.data.segments.map((s) => (
              <li key={s.id}>
                <Link to={`/customers?segment=${encodeURIComponent(s.id)}`}>{s.name}</Link>{" "}
                <span className="muted">
                  <DateTime iso={s.updatedAt} />
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { Card } from "../../components/ui.js";
import { ErrorMessage, LoadingState, PageHead, useTitle } from "../layout/ui.js";
import { SavedSegment } from "../segments/components/SavedSegment.js";
import { SegmentBuilder } from "../segments/components/SegmentBuilder.js";
import { useSegments } from "../segments/hooks/useSegments.js";
import { useCanWrite } from "../session/hooks/useSession.js";

export function SegmentsPage() {
  const { t } = useTranslation();
  useTitle(t("segments.title"));
  const segments = useSegments();
  const writes = useCanWrite();
  return (
    <div className="page">
      <PageHead title={t("segments.title")} lead={t("segments.lead")} />
      <Card title={t("segments.builder")}>
        <SegmentBuilder canSave={writes} />
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
              <SavedSegment key={s.id} segment={s} canWrite={writes} />
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}

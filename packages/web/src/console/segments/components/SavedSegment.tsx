import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Spinner } from "../../../components/ui.js";
import type { Segment } from "../../api/schemas.js";
import { DateTime } from "../../layout/ui.js";
import { useDeleteSegment, useSegment } from "../hooks/useSegments.js";

/** A saved segment: its members now (a link to them), when it changed, and delete. */
export function SavedSegment(props: { segment: Segment; canWrite: boolean }) {
  const { t } = useTranslation();
  const s = props.segment;
  const detail = useSegment(s.id);
  const remove = useDeleteSegment();
  return (
    <li className="segment-row" data-testid="saved-segment">
      <Link to={`/customers?segment=${encodeURIComponent(s.id)}`}>{s.name}</Link>{" "}
      <span className="muted">
        {detail.data ? (
          <span data-testid="saved-segment-count">
            {t("segments.members", { count: detail.data.count })}
          </span>
        ) : (
          <Spinner />
        )}
        {" · "}
        <DateTime iso={s.updatedAt} />
      </span>
      {props.canWrite ? (
        <button
          type="button"
          className="btn btn-ghost btn-small"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm(t("segments.confirmDelete", { name: s.name }))) remove.mutate(s.id);
          }}
          data-testid="segment-delete"
        >
          {t("segments.delete")}
        </button>
      ) : null}
    </li>
  );
}

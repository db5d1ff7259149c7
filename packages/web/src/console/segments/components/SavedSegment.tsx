import { useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Spinner } from "../../../components/ui.js";
import type { Segment } from "../../api/schemas.js";
import { DateTime, ErrorMessage } from "../../layout/ui.js";
import { useDeleteSegment, useSegment } from "../hooks/useSegments.js";
import { SegmentEditForm } from "./SegmentEditForm.js";

/**
 * A saved segment: its members now (a link to them), when it changed, and for staff who write,
 * Edit (its name and condition, in place) and Delete.
 */
export function SavedSegment(props: { segment: Segment; canWrite: boolean }) {
  const { t } = useTranslation();
  const id = useId();
  const s = props.segment;
  const detail = useSegment(s.id);
  const remove = useDeleteSegment();
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const done = (changed: boolean) => {
    setEditing(false);
    setSaved(changed);
    // Back where the keyboard was: the button that opened the form.
    window.setTimeout(() => editButton.current?.focus(), 0);
  };
  return (
    <li className="segment-row" data-testid="saved-segment" data-segment={s.id}>
      <Link to={`/customers?segment=${encodeURIComponent(s.id)}`} id={`${id}-name`}>
        {s.name}
      </Link>{" "}
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
      {props.canWrite && !editing ? (
        <span className="segment-actions">
          <button
            ref={editButton}
            type="button"
            className="btn btn-ghost btn-small"
            onClick={() => {
              setSaved(false);
              setEditing(true);
            }}
            aria-describedby={`${id}-name`}
            data-testid="segment-edit-open"
          >
            {t("segments.edit")}
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(t("segments.confirmDelete", { name: s.name }))) {
                remove.mutate(s.id);
              }
            }}
            aria-describedby={`${id}-name`}
            data-testid="segment-delete"
          >
            {t("segments.delete")}
          </button>
        </span>
      ) : null}
      {saved ? (
        <span className="hint segment-saved-line" role="status" data-testid="segment-changed">
          {t("segments.changedNotice")}
        </span>
      ) : null}
      {editing ? (
        <div className="segment-edit-wrap">
          <SegmentEditForm segment={s} onDone={done} />
        </div>
      ) : null}
      {remove.isError ? (
        <div className="segment-edit-wrap">
          <ErrorMessage error={remove.error} />
        </div>
      ) : null}
    </li>
  );
}

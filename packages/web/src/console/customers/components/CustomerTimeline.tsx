import type { TFunction } from "i18next";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Spinner } from "../../../components/ui.js";
import type { TimelineItem } from "../../api/schemas.js";
import { DateTime, ErrorMessage, LoadingState } from "../../layout/ui.js";
import { ChainStatus } from "../../ledger/components/ChainStatus.js";
import { EntryBadge } from "../../ledger/components/EntryBadge.js";
import { useProgramme } from "../../loyalty/hooks/useProgramme.js";
import { changedFields } from "../changed-fields.js";
import { useDeleteNote, useTimeline } from "../hooks/useTimeline.js";
import { type LoyaltyContext, loyaltyLine, type Words } from "../loyalty-timeline.js";
import { ChannelIcon } from "./channel.js";

type Obj = Record<string, unknown>;
const objectOf = (x: unknown): Obj => (typeof x === "object" && x !== null ? (x as Obj) : {});
const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);

interface Presented {
  icon: string;
  title: string;
  body?: ReactNode;
  /** A note that can still be deleted: its id. */
  noteId?: string;
}

/** A loyalty entry's words: its points, order, amount or tiers (loyalty-timeline.ts). */
function presentLoyalty(
  item: TimelineItem,
  t: TFunction,
  ctx: LoyaltyContext,
): Presented | undefined {
  const line = loyaltyLine(item.type, item.payload, ctx);
  if (!line) return undefined;
  const say = (w: Words) => {
    const values = { ...w.values };
    if (typeof values.reason === "string") {
      values.reason = t(`loyalty.ops.adjustments.reasons.${values.reason}`, {
        defaultValue: values.reason,
      });
    }
    return t(w.key, values);
  };
  return {
    icon: "loyalty",
    title: say(line.title),
    body:
      line.details.length > 0 ? (
        <p className="muted" data-testid="timeline-loyalty-detail">
          {line.details.map(say).join(" · ")}
        </p>
      ) : undefined,
  };
}

/** One presenter per entry type; an unknown type still shows, by its name. */
const PRESENTERS: Record<string, (item: TimelineItem, t: TFunction) => Presented> = {
  "interaction.recorded": (item, t) => {
    const p = objectOf(item.payload);
    const channel = str(p.channel) ?? "other";
    const amount = objectOf(p.amount);
    const value = typeof amount.value === "number" ? amount.value : undefined;
    const currency = str(amount.currency);
    return {
      icon: channel,
      title: t("timeline.interaction", {
        kind: t(`interaction.${str(p.kind) ?? "other"}`, { defaultValue: str(p.kind) }),
        channel: t(`interactionChannel.${channel}`, { defaultValue: channel }),
        direction: t(`direction.${str(p.direction) ?? "inbound"}`),
      }),
      body: (
        <>
          {item.text?.summary ? <p className="timeline-summary">{item.text.summary}</p> : null}
          {item.text?.content ? <p className="timeline-content">{item.text.content}</p> : null}
          {value !== undefined && currency ? (
            <p className="muted">
              {new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
                value / 100,
              )}
            </p>
          ) : null}
        </>
      ),
    };
  },
  "note.added": (item, t) => ({
    icon: "note",
    noteId: item.note ? str(objectOf(item.payload).noteId) : undefined,
    title: t("timeline.note"),
    body:
      item.note === null || item.note === undefined ? (
        <p className="muted">{t("timeline.noteGone")}</p>
      ) : (
        <p className="timeline-note" data-testid="timeline-note">
          {item.note}
        </p>
      ),
  }),
  "note.deleted": (_item, t) => ({ icon: "note", title: t("timeline.noteDeleted") }),
  "customer.created": (item, t) => ({
    icon: "profile",
    title: t("timeline.created"),
    body: <ChangedFields payload={item.payload} t={t} />,
  }),
  "customer.updated": (item, t) => ({
    icon: "profile",
    title: t("timeline.updated"),
    body: <ChangedFields payload={item.payload} t={t} />,
  }),
  "customer.erased": (_item, t) => ({ icon: "profile", title: t("timeline.erased") }),
  "customer.merged": (_item, t) => ({ icon: "profile", title: t("timeline.merged") }),
  "customer.unmerged": (_item, t) => ({ icon: "profile", title: t("timeline.unmerged") }),
  // Consents, keys and data-subject requests (issue 8): what happened, never a personal value.
  "consent.granted": (item, t) => ({
    icon: "other",
    title: t("timeline.consentGranted"),
    body: <Purposes payload={item.payload} t={t} />,
  }),
  "consent.narrowed": (item, t) => ({
    icon: "other",
    title: t("timeline.consentNarrowed"),
    body: <Purposes payload={item.payload} t={t} />,
  }),
  "consent.revoked": (item, t) => {
    const reason = str(objectOf(item.payload).reason);
    return {
      icon: "other",
      title: t("timeline.consentRevoked"),
      body: reason ? (
        <p className="muted">{t(`consents.endedReasons.${reason}`, { defaultValue: reason })}</p>
      ) : undefined,
    };
  },
  "consent.lapsed": (_item, t) => ({ icon: "other", title: t("timeline.consentLapsed") }),
  "identity.key_bound": (item, t) => ({
    icon: "profile",
    title: t("timeline.keyBound"),
    body: <p className="did muted">{str(objectOf(item.payload).key)}</p>,
  }),
  "identity.key_retired": (item, t) => ({
    icon: "profile",
    title: t("timeline.keyRetired"),
    body: <p className="did muted">{str(objectOf(item.payload).key)}</p>,
  }),
  "identity.recovery_started": (_item, t) => ({
    icon: "profile",
    title: t("timeline.recoveryStarted"),
  }),
  "identity.recovery_vetoed": (_item, t) => ({
    icon: "profile",
    title: t("timeline.recoveryVetoed"),
  }),
  "identity.recovery_cancelled": (_item, t) => ({
    icon: "profile",
    title: t("timeline.recoveryCancelled"),
  }),
  "request.received": (item, t) => {
    const kind = str(objectOf(item.payload).kind) ?? "";
    return {
      icon: "other",
      title: t("timeline.requestReceived", {
        kind: t(`requests.kinds.${kind}`, { defaultValue: kind }),
      }),
    };
  },
  "request.verified": (_item, t) => ({ icon: "other", title: t("timeline.requestVerified") }),
  "request.extended": (_item, t) => ({ icon: "other", title: t("timeline.requestExtended") }),
  "request.closed": (item, t) => ({
    icon: "other",
    title:
      objectOf(item.payload).outcome === "rejected"
        ? t("timeline.requestRejected")
        : t("timeline.requestCompleted"),
  }),
  "retention.shredded": (_item, t) => ({ icon: "other", title: t("timeline.holdShredded") }),
};

/** The purposes a consent entry names, in words. */
function Purposes(props: { payload: unknown; t: TFunction }) {
  const purposes = objectOf(props.payload).purposes;
  if (!Array.isArray(purposes) || purposes.length === 0) return null;
  return (
    <p className="muted">
      {purposes
        .map((p) => props.t(`consents.purposeNames.${String(p)}`, { defaultValue: String(p) }))
        .join(", ")}
    </p>
  );
}

/** The names of the fields an entry wrote, in words: commitments (personal) and facts (in clear). */
function ChangedFields(props: { payload: unknown; t: TFunction }) {
  const names = changedFields(props.payload);
  if (names.length === 0) return null;
  const { t } = props;
  return (
    <p className="muted" data-testid="timeline-fields">
      {t("timeline.fields", {
        fields: names
          .map((n) => t(`timeline.fieldNames.${n}`, { defaultValue: n }))
          .join(t("timeline.fieldSeparator")),
      })}
    </p>
  );
}

/**
 * When it happened: an interaction or an order says (`occurredAt`), and a till or an import
 * may log it long after; the entry's own time is then shown beside it, as when it was logged.
 */
function When(props: { item: TimelineItem }) {
  const { t } = useTranslation();
  const happened = str(objectOf(props.item.payload).occurredAt);
  const at = happened === undefined ? Number.NaN : Date.parse(happened);
  if (Number.isNaN(at)) return <DateTime iso={props.item.time} />;
  const loggedLater = Math.abs(Date.parse(props.item.time) - at) > 60_000;
  return (
    <>
      <DateTime iso={happened as string} />
      {loggedLater ? (
        <>
          {" · "}
          {t("timeline.logged")} <DateTime iso={props.item.time} />
        </>
      ) : null}
    </>
  );
}

export function CustomerTimeline(props: { customerId: string; editable: boolean }) {
  const { t, i18n } = useTranslation();
  const timeline = useTimeline(props.customerId);
  const programme = useProgramme().data?.programme;
  const loyalty: LoyaltyContext = {
    pointName: programme?.pointName ?? t("loyalty.ops.points"),
    language: i18n.language,
    tierNames: new Map(programme?.tiers.map((x) => [x.id, x.name])),
    currency: programme?.currency,
  };
  const deleteNote = useDeleteNote(props.customerId);
  if (timeline.isPending) return <LoadingState />;
  if (timeline.isError && !timeline.data) {
    return <ErrorMessage error={timeline.error} retry={() => timeline.refetch()} />;
  }
  const items = timeline.data.pages.flatMap((p) => p.items);
  if (items.length === 0) return <p className="empty-line">{t("timeline.empty")}</p>;
  return (
    <>
      <p className="chain-line">
        <ChainStatus
          customerId={props.customerId}
          indices={items.map((i) => i.index)}
          whole={!timeline.hasNextPage}
        />
      </p>
      <ol className="timeline" data-testid="timeline">
        {items.map((item) => {
          const present = PRESENTERS[item.type];
          const shown = present
            ? present(item, t)
            : (presentLoyalty(item, t, loyalty) ?? { icon: "other", title: item.type });
          return (
            <li key={item.index} className="timeline-item" data-type={item.type}>
              <span className="timeline-icon" aria-hidden="true">
                <ChannelIcon kind={shown.icon} />
              </span>
              <div className="timeline-main">
                <div className="timeline-head">
                  <strong>{shown.title}</strong>
                  <span className="muted timeline-time" data-testid="timeline-time">
                    <When item={item} />
                  </span>
                  <EntryBadge index={item.index} type={item.type} customerId={props.customerId} />
                </div>
                {shown.body}
                {shown.noteId && props.editable ? (
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    disabled={deleteNote.isPending}
                    onClick={() => {
                      if (window.confirm(t("note.confirmDelete"))) {
                        deleteNote.mutate(shown.noteId as string);
                      }
                    }}
                    data-testid="note-delete"
                  >
                    {t("note.delete")}
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ol>
      {deleteNote.isError ? <ErrorMessage error={deleteNote.error} /> : null}
      {timeline.hasNextPage ? (
        <div className="pager">
          <button
            type="button"
            className="btn"
            onClick={() => timeline.fetchNextPage()}
            disabled={timeline.isFetchingNextPage}
          >
            {timeline.isFetchingNextPage ? <Spinner /> : null} {t("action.loadMore")}
          </button>
        </div>
      ) : null}
    </>
  );
}

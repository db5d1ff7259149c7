import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import type { TFunction } from "i18next";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Pill, type Tone } from "../../../components/ui.js";
import { DataTable } from "../../layout/DataTable.js";
import { DateTime } from "../../layout/ui.js";
import type { Adjustment } from "../ops-api.js";

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, Adjustment>();

const TONES: Record<Adjustment["status"], Tone> = {
  pending: "warn",
  applied: "ok",
  approved: "ok",
  rejected: "bad",
};

/** Who an actor string names: this staff member, another one, or an API key. */
function actorLabel(actor: string, me: string, t: TFunction) {
  if (actor === me) return t("loyalty.ops.adjustments.you");
  const staff = /\/staff:([^/]+)$/.exec(actor);
  if (staff) return t("loyalty.ops.adjustments.staff", { id: staff[1] });
  const key = /\/key:([^/]+)$/.exec(actor);
  if (key) return t("loyalty.ops.adjustments.key", { id: key[1] });
  return actor;
}

/**
 * Adjustments, pending first: who asked, what and why, and where each stands. Owners and admins
 * approve or reject the pending ones others asked for; their own wait for a colleague.
 */
export function AdjustmentTable(props: {
  adjustments: Adjustment[];
  me: string;
  canDecide: boolean;
  busy: boolean;
  onDecide: (a: Adjustment, verb: "approve" | "reject") => void;
}) {
  const { t, i18n } = useTranslation();
  const { me, canDecide, busy, onDecide } = props;
  const columns = useMemo(() => {
    const number = (n: number) => n.toLocaleString(i18n.language);
    return helper.columns([
      helper.accessor("customerId", {
        header: () => t("loyalty.ops.adjustments.column.customer"),
        cell: (c) => (
          <Link to={`/customers/${c.getValue()}`} className="customer-link mono">
            {c.getValue()}
          </Link>
        ),
      }),
      helper.accessor("points", {
        header: () => t("loyalty.ops.adjustments.column.points"),
        cell: (c) => {
          const a = c.row.original;
          return (
            <span className="num">
              {a.direction === "credit" ? "+" : "−"}
              {number(c.getValue())}
            </span>
          );
        },
      }),
      helper.accessor("reason", {
        header: () => t("loyalty.ops.adjustments.column.reason"),
        cell: (c) => {
          const a = c.row.original;
          const key = `loyalty.ops.adjustments.reasons.${a.reason}`;
          return (
            <span className="ops-stack">
              <span>{i18n.exists(key) ? t(key) : a.reason}</span>
              {a.note !== null ? <span className="hint">{a.note}</span> : null}
            </span>
          );
        },
      }),
      helper.accessor("status", {
        header: () => t("loyalty.ops.adjustments.column.status"),
        cell: (c) => (
          <span data-testid="adjustment-status" data-status={c.getValue()}>
            <Pill tone={TONES[c.getValue()]}>
              {t(`loyalty.ops.adjustments.statuses.${c.getValue()}`)}
            </Pill>
          </span>
        ),
      }),
      helper.accessor("requestedBy", {
        header: () => t("loyalty.ops.adjustments.column.requested"),
        cell: (c) => (
          <span className="ops-stack">
            <span>{actorLabel(c.getValue(), me, t)}</span>
            <DateTime iso={c.row.original.requestedAt} />
          </span>
        ),
      }),
      helper.display({
        id: "decision",
        header: () => t("loyalty.ops.adjustments.column.decision"),
        cell: (c) => {
          const a = c.row.original;
          if (a.status !== "pending") {
            return a.decidedBy ? (
              <span className="ops-stack">
                <span>{actorLabel(a.decidedBy, me, t)}</span>
                {a.decidedAt ? <DateTime iso={a.decidedAt} /> : null}
              </span>
            ) : (
              <span className="hint">{t("loyalty.ops.adjustments.noDecision")}</span>
            );
          }
          if (!canDecide) {
            return <span className="hint">{t("loyalty.ops.adjustments.adminsDecide")}</span>;
          }
          if (a.requestedBy === me) {
            return (
              <span className="hint" data-testid="adjustment-own">
                {t("loyalty.ops.adjustments.ownRequest")}
              </span>
            );
          }
          return (
            <span className="ops-actions">
              <button
                type="button"
                className="btn btn-primary btn-small"
                disabled={busy}
                onClick={() => onDecide(a, "approve")}
                aria-label={t("loyalty.ops.adjustments.approveNamed", {
                  points: number(a.points),
                  customer: a.customerId,
                })}
                data-testid="adjustment-approve"
              >
                {t("loyalty.ops.adjustments.approve")}
              </button>
              <button
                type="button"
                className="btn btn-ghost btn-small"
                disabled={busy}
                onClick={() => onDecide(a, "reject")}
                aria-label={t("loyalty.ops.adjustments.rejectNamed", {
                  points: number(a.points),
                  customer: a.customerId,
                })}
                data-testid="adjustment-reject"
              >
                {t("loyalty.ops.adjustments.reject")}
              </button>
            </span>
          );
        },
      }),
    ]);
  }, [t, i18n, me, canDecide, busy, onDecide]);
  const table = useTable({ features, columns, data: props.adjustments });
  const labels: Record<string, string> = {
    customerId: t("loyalty.ops.adjustments.column.customer"),
    points: t("loyalty.ops.adjustments.column.points"),
    reason: t("loyalty.ops.adjustments.column.reason"),
    status: t("loyalty.ops.adjustments.column.status"),
    requestedBy: t("loyalty.ops.adjustments.column.requested"),
    decision: t("loyalty.ops.adjustments.column.decision"),
  };
  return (
    <DataTable
      table={table}
      labels={labels}
      testId="adjustment-table"
      rowTestId="adjustment-row"
      rowAttributes={(a) => ({ "data-adjustment": a.id })}
    />
  );
}

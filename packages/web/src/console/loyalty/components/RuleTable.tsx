import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { DataTable } from "../../layout/DataTable.js";
import { DateTime } from "../../layout/ui.js";
import { useNow } from "../../layout/useNow.js";
import type { RuleView } from "../api.js";
import { inForce, ruleName } from "../rule-view.js";
import { RetireButton } from "./RetireButton.js";
import { RuleStatusPill } from "./RuleStatusPill.js";
import { RuleValidity } from "./RuleValidity.js";

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, RuleView>();

/** The merchant's rules: drafts, versions in force, scheduled and retired, each to open. */
export function RuleTable(props: { rules: RuleView[]; canPublish: boolean }) {
  const { t } = useTranslation();
  const now = useNow(60_000);
  const columns = useMemo(
    () =>
      helper.columns([
        helper.display({
          id: "name",
          header: () => t("loyalty.rules.column.rule"),
          cell: (c) => (
            <span className="cell-stack">
              <Link
                to={`/loyalty/rules/${encodeURIComponent(c.row.original.id)}`}
                data-testid="rule-link"
              >
                {ruleName(c.row.original)}
              </Link>{" "}
              <code className="muted">{c.row.original.id}</code>
            </span>
          ),
        }),
        helper.accessor("status", {
          header: () => t("loyalty.rules.column.status"),
          cell: (c) => <RuleStatusPill status={c.getValue()} />,
        }),
        helper.display({
          id: "version",
          header: () => t("loyalty.rules.column.version"),
          cell: (c) => {
            const f = inForce(c.row.original, now);
            return f ? t("loyalty.rules.versionN", { version: f.version }) : "—";
          },
        }),
        helper.display({
          id: "from",
          header: () => t("loyalty.rules.column.from"),
          cell: (c) => {
            const f = inForce(c.row.original, now);
            return f ? <DateTime iso={f.effectiveFrom} /> : "—";
          },
        }),
        helper.display({
          id: "until",
          header: () => t("loyalty.rules.column.until"),
          cell: (c) => {
            const f = inForce(c.row.original, now);
            if (!f) return "—";
            if (!f.effectiveUntil) return t("loyalty.rules.open");
            // What takes over then: the next version scheduled, if any.
            const next = c.row.original.history.find(
              (h) =>
                h.event === "published" &&
                !h.replaced &&
                h.version > f.version &&
                h.effectiveFrom === f.effectiveUntil,
            );
            return (
              <span className="cell-stack">
                <DateTime iso={f.effectiveUntil} />
                {next ? (
                  <span className="muted" data-testid="rule-next">
                    {" "}
                    {t("loyalty.rules.thenVersion", { version: next.version })}
                  </span>
                ) : null}
              </span>
            );
          },
        }),
        helper.display({
          // The version's own validity (its document's validFrom and validUntil): it earns
          // nothing outside it even while published.
          id: "valid",
          header: () => t("loyalty.rules.column.valid"),
          cell: (c) => {
            const f = inForce(c.row.original, now);
            return f?.event === "published" ? <RuleValidity terms={f} /> : "—";
          },
        }),
        helper.display({
          id: "draft",
          header: () => t("loyalty.rules.column.draft"),
          cell: (c) => {
            const d = c.row.original.draft;
            return d ? (
              <span className="cell-stack">
                {t("loyalty.rules.draftOf", { version: d.version })}{" "}
                <span className="muted">
                  <DateTime iso={d.updatedAt} />
                </span>
              </span>
            ) : (
              "—"
            );
          },
        }),
        ...(props.canPublish
          ? [
              helper.display({
                id: "actions",
                header: () => <span className="sr-only">{t("loyalty.rules.column.actions")}</span>,
                cell: (c) => {
                  const r = c.row.original;
                  return r.status === "active" || r.status === "scheduled" ? (
                    <RetireButton id={r.id} name={ruleName(r)} small />
                  ) : null;
                },
              }),
            ]
          : []),
      ]),
    [t, now, props.canPublish],
  );
  const table = useTable({ features, columns, data: props.rules });
  const labels: Record<string, string> = {
    name: t("loyalty.rules.column.rule"),
    status: t("loyalty.rules.column.status"),
    version: t("loyalty.rules.column.version"),
    from: t("loyalty.rules.column.from"),
    until: t("loyalty.rules.column.until"),
    valid: t("loyalty.rules.column.valid"),
    draft: t("loyalty.rules.column.draft"),
  };
  return (
    <DataTable
      table={table}
      labels={labels}
      testId="rule-table"
      rowTestId="rule-row"
      rowAttributes={(r) => ({ "data-rule": r.id })}
    />
  );
}

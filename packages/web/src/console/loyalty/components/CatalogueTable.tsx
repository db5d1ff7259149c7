import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Pill } from "../../../components/ui.js";
import { DataTable } from "../../layout/DataTable.js";
import type { Reward } from "../ops-api.js";

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, Reward>();

/** The rewards: cost, stock left, per-customer limit, whether active; edit and withdraw. */
export function CatalogueTable(props: {
  rewards: Reward[];
  canManage: boolean;
  busy: boolean;
  onEdit: (r: Reward) => void;
  onDeactivate: (r: Reward) => void;
}) {
  const { t, i18n } = useTranslation();
  const { canManage, busy, onEdit, onDeactivate } = props;
  const columns = useMemo(() => {
    const number = (n: number) => n.toLocaleString(i18n.language);
    const cols = [
      helper.accessor("name", {
        header: () => t("loyalty.ops.catalogue.column.name"),
        cell: (c) => <strong>{c.getValue()}</strong>,
      }),
      helper.accessor("points", {
        header: () => t("loyalty.ops.catalogue.column.points"),
        cell: (c) => <span className="num">{number(c.getValue())}</span>,
      }),
      helper.accessor("stock", {
        header: () => t("loyalty.ops.catalogue.column.stock"),
        cell: (c) => {
          const v = c.getValue();
          return (
            <span className="num" data-testid="reward-stock-left">
              {v === null ? t("loyalty.ops.catalogue.unlimited") : number(v)}
            </span>
          );
        },
      }),
      helper.accessor("perCustomerLimit", {
        header: () => t("loyalty.ops.catalogue.column.limit"),
        cell: (c) => {
          const v = c.getValue();
          return (
            <span className="num">
              {v === null ? t("loyalty.ops.catalogue.noLimit") : number(v)}
            </span>
          );
        },
      }),
      helper.accessor("active", {
        header: () => t("loyalty.ops.catalogue.column.active"),
        cell: (c) =>
          c.getValue() ? (
            <Pill tone="ok">{t("loyalty.ops.catalogue.active")}</Pill>
          ) : (
            <Pill tone="neutral">{t("loyalty.ops.catalogue.inactive")}</Pill>
          ),
      }),
      helper.accessor("version", {
        header: () => t("loyalty.ops.catalogue.column.version"),
        cell: (c) => <span className="num">{c.getValue()}</span>,
      }),
    ];
    if (!canManage) return helper.columns(cols);
    return helper.columns([
      ...cols,
      helper.display({
        id: "actions",
        header: () => t("loyalty.ops.catalogue.column.actions"),
        cell: (c) => {
          const r = c.row.original;
          return (
            <span className="ops-actions">
              <button
                type="button"
                className="btn btn-ghost btn-small"
                onClick={() => onEdit(r)}
                aria-label={t("loyalty.ops.catalogue.editNamed", { name: r.name })}
                data-testid="reward-edit"
              >
                {t("loyalty.ops.catalogue.edit")}
              </button>
              {r.active ? (
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  disabled={busy}
                  onClick={() => onDeactivate(r)}
                  aria-label={t("loyalty.ops.catalogue.deactivateNamed", { name: r.name })}
                  data-testid="reward-deactivate"
                >
                  {t("loyalty.ops.catalogue.deactivate")}
                </button>
              ) : null}
            </span>
          );
        },
      }),
    ]);
  }, [t, i18n.language, canManage, busy, onEdit, onDeactivate]);
  const table = useTable({ features, columns, data: props.rewards });
  const labels: Record<string, string> = {
    name: t("loyalty.ops.catalogue.column.name"),
    points: t("loyalty.ops.catalogue.column.points"),
    stock: t("loyalty.ops.catalogue.column.stock"),
    perCustomerLimit: t("loyalty.ops.catalogue.column.limit"),
    active: t("loyalty.ops.catalogue.column.active"),
    version: t("loyalty.ops.catalogue.column.version"),
    actions: t("loyalty.ops.catalogue.column.actions"),
  };
  return (
    <DataTable
      table={table}
      labels={labels}
      testId="reward-table"
      rowTestId="reward-row"
      rowAttributes={(r) => ({ "data-reward": r.id })}
    />
  );
}

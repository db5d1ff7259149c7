import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { DataTable } from "../../layout/DataTable.js";
import { DateTime } from "../../layout/ui.js";
import type { Member } from "../api.js";

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, Member>();

/** Members with their points: available, pending (in the return window), debt and lots. */
export function MemberTable(props: { members: Member[] }) {
  const { t, i18n } = useTranslation();
  const columns = useMemo(() => {
    const number = (n: number) => n.toLocaleString(i18n.language);
    return helper.columns([
      helper.accessor("name", {
        header: () => t("loyalty.members.column.customer"),
        cell: (c) => {
          const m = c.row.original;
          const label =
            m.status === "erased" ? t("customer.erased") : (c.getValue() ?? t("customer.unnamed"));
          return (
            <Link to={`/customers/${m.customerId}`} className="customer-link">
              {label}
            </Link>
          );
        },
      }),
      helper.accessor("balance", {
        header: () => t("loyalty.members.column.balance"),
        cell: (c) => <span className="num">{number(c.getValue())}</span>,
      }),
      helper.accessor("pending", {
        header: () => t("loyalty.members.column.pending"),
        cell: (c) => <span className="num">{number(c.getValue())}</span>,
      }),
      helper.accessor("debt", {
        header: () => t("loyalty.members.column.debt"),
        cell: (c) => <span className="num">{number(c.getValue())}</span>,
      }),
      helper.accessor("lots", {
        header: () => t("loyalty.members.column.lots"),
        cell: (c) => <span className="num">{number(c.getValue())}</span>,
      }),
      helper.accessor("lastAwardedAt", {
        header: () => t("loyalty.members.column.last"),
        cell: (c) => <DateTime iso={c.getValue()} />,
      }),
    ]);
  }, [t, i18n.language]);
  const table = useTable({ features, columns, data: props.members });
  const labels: Record<string, string> = {
    name: t("loyalty.members.column.customer"),
    balance: t("loyalty.members.column.balance"),
    pending: t("loyalty.members.column.pending"),
    debt: t("loyalty.members.column.debt"),
    lots: t("loyalty.members.column.lots"),
    lastAwardedAt: t("loyalty.members.column.last"),
  };
  return (
    <DataTable
      table={table}
      labels={labels}
      testId="member-table"
      rowTestId="member-row"
      rowAttributes={(m) => ({ "data-customer": m.customerId })}
    />
  );
}

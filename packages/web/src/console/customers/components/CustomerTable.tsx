import { createColumnHelper, tableFeatures, useTable } from "@tanstack/react-table";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import type { Customer } from "../../api/schemas.js";
import { DataTable } from "../../layout/DataTable.js";
import { DateTime } from "../../layout/ui.js";
import { ChannelIcon } from "./channel.js";
import { StagePill } from "./StagePill.js";

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, Customer>();

/** The customers of the list: the server pages and filters; the table lays them out. */
export function CustomerTable(props: { customers: Customer[] }) {
  const { t } = useTranslation();
  const columns = useMemo(
    () =>
      helper.columns([
        helper.accessor("name", {
          header: () => t("customers.column.name"),
          cell: (c) => (
            <Link to={`/customers/${c.row.original.id}`} className="customer-link">
              {c.row.original.status === "erased"
                ? t("customer.erased")
                : (c.getValue() ?? t("customer.unnamed"))}
            </Link>
          ),
        }),
        helper.display({
          id: "contact",
          header: () => t("customers.column.contact"),
          cell: (c) => {
            const r = c.row.original;
            return (
              <span className="contact-cell">
                {r.emails[0] ?? r.phones[0]?.number ?? ""}
                <ChannelMarks customer={r} />
              </span>
            );
          },
        }),
        helper.accessor("stage", {
          header: () => t("customers.column.stage"),
          cell: (c) => <StagePill stage={c.getValue()} />,
        }),
        helper.accessor("tags", {
          header: () => t("customers.column.tags"),
          cell: (c) => (
            <span className="tag-list">
              {c.getValue().map((tag) => (
                <span key={tag} className="chip">
                  {tag}
                </span>
              ))}
            </span>
          ),
        }),
        helper.accessor("createdAt", {
          header: () => t("customers.column.created"),
          cell: (c) => <DateTime iso={c.getValue()} dateOnly />,
        }),
      ]),
    [t],
  );
  const table = useTable({ features, columns, data: props.customers });
  // Phones show each row as a card: every value carries its column's name.
  const labels: Record<string, string> = {
    name: t("customers.column.name"),
    contact: t("customers.column.contact"),
    stage: t("customers.column.stage"),
    tags: t("customers.column.tags"),
    createdAt: t("customers.column.created"),
  };
  return (
    <DataTable
      table={table}
      labels={labels}
      testId="customer-table"
      rowTestId="customer-row"
      className="table customer-table"
    />
  );
}

function ChannelMarks(props: { customer: Customer }) {
  const { t } = useTranslation();
  const kinds = [...new Set(props.customer.identities.map((i) => i.type))];
  if (kinds.length === 0) return null;
  return (
    <span className="channel-marks">
      {kinds.map((k) => (
        <span key={k} title={t(`channel.${k}`)}>
          <ChannelIcon kind={k} />
          <span className="sr-only">{t(`channel.${k}`)}</span>
        </span>
      ))}
    </span>
  );
}

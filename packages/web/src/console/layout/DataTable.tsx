import type { ReactTable, RowData, TableFeatures } from "@tanstack/react-table";

/**
 * A console table: its header row and one row per record, each cell labelled with its column's
 * name (`data-label`, which the phone layout shows beside the value, as a card).
 */
export function DataTable<TFeatures extends TableFeatures, TData extends RowData>(props: {
  table: ReactTable<TFeatures, TData>;
  /** The column names, by column id, for the phone layout. */
  labels: Record<string, string>;
  testId: string;
  rowTestId: string;
  className?: string;
  /** The row's own attributes (`data-…`), such as the record's id for tests. */
  rowAttributes?: (record: TData) => Record<`data-${string}`, string>;
}) {
  const { table } = props;
  return (
    <div className="table-wrap">
      <table className={props.className ?? "table"} data-testid={props.testId}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} scope="col">
                  {header.isPlaceholder ? null : <table.FlexRender header={header} />}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} data-testid={props.rowTestId} {...props.rowAttributes?.(row.original)}>
              {row.getAllCells().map((cell) => (
                <td key={cell.id} data-label={props.labels[cell.column.id]}>
                  <table.FlexRender cell={cell} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

import { useId } from "react";
import { useTranslation } from "react-i18next";
import { CHANNEL_KINDS } from "../../api/schemas.js";

/** The fields a column can go to (imports/columns.ts on the node), and "not imported". */
export const IMPORT_FIELDS = [
  "id",
  "name",
  "first_name",
  "last_name",
  "email",
  "phone",
  "birthday",
  "language",
  "tags",
  "stage",
  "address.line1",
  "address.line2",
  "address.city",
  "address.region",
  "address.postcode",
  "address.country",
  ...CHANNEL_KINDS.map((k) => `identity.${k}`),
] as const;

/** An attribute key from a header: lower-case letters, digits and _ (what the node accepts). */
export function attributeOf(header: string): string | undefined {
  const key = header
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^[^a-z]+|_+$/g, "")
    .slice(0, 40);
  return key ? `attributes.${key}` : undefined;
}

/** A profile field's name in the reader's language. */
export function useFieldLabel() {
  const { t } = useTranslation();
  return (f: string) =>
    f.startsWith("identity.")
      ? t(`channel.${f.slice("identity.".length)}`)
      : f.startsWith("attributes.")
        ? t("import.attribute", { key: f.slice("attributes.".length) })
        : t(`import.fields.${f.replace(".", "_")}`, { defaultValue: f });
}

/**
 * Where each column of the file goes, as the dry run mapped it; a change here is sent with the
 * next check and with the import (the node's `map`).
 */
export function ColumnMapping(props: {
  columns: { header: string; field: string | null }[];
  value: Record<string, string | null>;
  onChange: (next: Record<string, string | null>) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const label = useFieldLabel();
  return (
    <div className="table-wrap">
      <table className="table column-mapping" data-testid="column-mapping">
        <thead>
          <tr>
            <th scope="col">{t("import.header")}</th>
            <th scope="col">{t("import.goesTo")}</th>
          </tr>
        </thead>
        <tbody>
          {props.columns.map((c, i) => {
            const current = c.header in props.value ? props.value[c.header] : (c.field ?? null);
            const attribute = attributeOf(c.header);
            const options = new Set<string>(IMPORT_FIELDS);
            if (attribute) options.add(attribute);
            if (current) options.add(current);
            return (
              <tr key={c.header}>
                <td>
                  <label htmlFor={`${id}-${i}`}>{c.header}</label>
                </td>
                <td>
                  <select
                    id={`${id}-${i}`}
                    className="input select-compact"
                    value={current ?? ""}
                    onChange={(e) =>
                      props.onChange({ ...props.value, [c.header]: e.target.value || null })
                    }
                    data-testid="column-field"
                  >
                    <option value="">{t("import.ignored")}</option>
                    {[...options].map((f) => (
                      <option key={f} value={f}>
                        {label(f)}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

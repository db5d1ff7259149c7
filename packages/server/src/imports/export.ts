import type { Customers, CustomerView } from "../customers/customers.js";
import { CHANNEL_KINDS } from "../customers/profile.js";
import type { Queryable } from "../db/database.js";

/** Customers read per page of an export. */
const PAGE = 200;

/**
 * Every active customer of a merchant, oldest first, a page at a time (never all in memory),
 * each page's use recorded by `revealed` (access records, decision 11) before it is given out.
 */
export async function* exportPages(
  db: Queryable,
  customers: Customers,
  merchantId: string,
  revealed: (customerIds: string[]) => Promise<void>,
): AsyncGenerator<CustomerView[]> {
  let after = -1n;
  for (;;) {
    const { rows } = await db.query<{ id: string; created_idx: bigint | number | string }>(
      `SELECT id, created_idx FROM customers WHERE merchant_id = $1 AND status = 'active'
       AND created_idx > $2 ORDER BY created_idx LIMIT $3`,
      [merchantId, after.toString(), PAGE],
    );
    if (rows.length === 0) return;
    after = BigInt(rows[rows.length - 1]?.created_idx ?? after);
    const views: CustomerView[] = [];
    for (const r of rows) {
      const v = await customers.get(merchantId, r.id);
      // Erased between the page's query and its read: not exported.
      if (v?.status === "active") views.push(v);
    }
    await revealed(views.map((v) => v.id));
    yield views;
    if (rows.length < PAGE) return;
  }
}

/** The attribute keys the merchant's customers use (facts in clear): the CSV's last columns. */
export async function attributeKeys(db: Queryable, merchantId: string): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    `SELECT DISTINCT jsonb_object_keys(facts->'attributes') AS key FROM customers
     WHERE merchant_id = $1 AND status = 'active' AND jsonb_typeof(facts->'attributes') = 'object'
     ORDER BY key`,
    [merchantId],
  );
  return rows.map((r) => r.key);
}

/** The export's header: names that an import maps back to the same fields. */
export function csvHeader(attributes: string[]): string[] {
  return [
    "id",
    "name",
    "emails",
    "phones",
    "birthday",
    "language",
    "tags",
    "stage",
    "address line 1",
    "address line 2",
    "city",
    "region",
    "postcode",
    "country",
    ...CHANNEL_KINDS,
    ...attributes.map((k) => `attributes.${k}`),
  ];
}

export function csvRow(c: CustomerView, attributes: string[]): string[] {
  const a = c.address ?? {};
  return [
    c.id,
    c.name ?? "",
    c.emails.join(";"),
    c.phones.map((p) => p.number).join(";"),
    c.birthday ?? "",
    c.language ?? "",
    c.tags.join(";"),
    c.stage,
    a.line1 ?? "",
    a.line2 ?? "",
    a.city ?? "",
    a.region ?? "",
    a.postcode ?? "",
    a.country ?? "",
    ...CHANNEL_KINDS.map((k) =>
      c.identities
        .filter((i) => i.type === k)
        .map((i) => i.value)
        .join(";"),
    ),
    ...attributes.map((k) => {
      const v = c.attributes[k];
      return v === undefined ? "" : String(v);
    }),
  ];
}

/**
 * One CSV line (RFC 4180, CRLF). A cell a spreadsheet would run as a formula gets a leading
 * apostrophe (OWASP CSV injection); phone numbers such as +33… stay as they are, and an import
 * takes the apostrophe off again.
 */
export function csvLine(cells: string[]): string {
  return `${cells
    .map((cell) => {
      const guarded =
        /^[=@\t\r]/.test(cell) || (/^[+-]/.test(cell) && !/^[+-][\d\s().;+-]*$/.test(cell))
          ? `'${cell}`
          : cell;
      return /[",\r\n]|^\s|\s$/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
    })
    .join(",")}\r\n`;
}

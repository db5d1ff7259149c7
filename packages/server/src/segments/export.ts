import { Readable } from "node:stream";
import type { CustomerView } from "../customers/customers.js";

/** The columns of a CSV export, in order: one row per member, lists joined with `;`. */
export const CSV_COLUMNS = [
  "id",
  "name",
  "emails",
  "phones",
  "birthday",
  "language",
  "country",
  "stage",
  "tags",
  "birthMonth",
  "ageBand",
  "attributes",
  "createdAt",
] as const;

const cell = (c: CustomerView, column: (typeof CSV_COLUMNS)[number]): string => {
  switch (column) {
    case "emails":
      return c.emails.join(";");
    case "phones":
      return c.phones.map((p) => p.number).join(";");
    case "tags":
      return c.tags.join(";");
    case "attributes":
      return Object.keys(c.attributes).length === 0 ? "" : JSON.stringify(c.attributes);
    default: {
      const v = c[column];
      return v === null ? "" : String(v);
    }
  }
};

/**
 * One CSV field (RFC 4180). A text a spreadsheet would run as a formula (= + - @, tab, CR) is
 * prefixed with an apostrophe: a customer's name must not become a command in a staff
 * member's spreadsheet (OWASP CSV injection).
 */
export function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n;]/.test(safe) || safe !== safe.trim() ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const csvRow = (c: CustomerView) =>
  `${CSV_COLUMNS.map((k) => csvField(cell(c, k))).join(",")}\r\n`;

/**
 * The members as a stream, page after page (memory stays one page whatever the segment's
 * size): CSV with a header row, or one JSON array. A failure after the first bytes ends the
 * stream with an error, so the client sees a cut answer, never a complete-looking one.
 */
export function exportStream(
  pages: AsyncIterable<CustomerView[]>,
  format: "csv" | "json",
): Readable {
  async function* lines() {
    if (format === "csv") {
      yield `${CSV_COLUMNS.join(",")}\r\n`;
      for await (const page of pages) {
        if (page.length > 0) yield page.map(csvRow).join("");
      }
      return;
    }
    yield "[";
    let first = true;
    for await (const page of pages) {
      for (const c of page) {
        yield `${first ? "\n" : ",\n"}${JSON.stringify(c)}`;
        first = false;
      }
    }
    yield "\n]\n";
  }
  return Readable.from(lines());
}

import type { Statement } from "../db/database.js";
import type { CommittedEntry, Projector } from "./sequencer.js";

/**
 * The chains through the log as a table: one row per (party, entry) with the party's previous
 * entry, so a party's head and its entries are one indexed read. Derived from `subjects` alone.
 */
export const chainsProjector: Projector = {
  types: "*",
  tables: ["ledger_subjects"],
  statements(entries: CommittedEntry[]): Statement[] {
    const party: string[] = [];
    const idx: string[] = [];
    const prev: (string | null)[] = [];
    for (const e of entries) {
      for (const s of e.entry.subjects ?? []) {
        party.push("merchant" in s ? s.merchant : s.customer);
        idx.push(e.index.toString());
        prev.push(s.prev === null ? null : String(s.prev));
      }
    }
    if (party.length === 0) return [];
    return [
      {
        sql: `INSERT INTO ledger_subjects (party, idx, prev)
         SELECT p, i, v FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS x(p, i, v)`,
        params: [party, idx, prev],
      },
    ];
  },
};

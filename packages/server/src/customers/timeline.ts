import { decodeEntry, type JsonValue } from "@patron/ledger";
import type { Queryable } from "../db/database.js";
import { VaultError } from "../vault/keystore.js";
import type { Vault } from "../vault/vault.js";
import { INTERACTION_RECORDED, interactionField } from "./interactions.js";
import { NOTE_ADDED, noteField } from "./notes.js";

/** One entry about a customer, as the timeline shows it. */
export interface TimelineItem {
  index: number;
  type: string;
  time: string;
  actor: string;
  payload: JsonValue;
  /** An interaction's summary and content, from the vault (null once erased). */
  text?: { summary: string | null; content: string | null } | null;
  /** A note's text, from the vault (null once deleted or the customer erased). */
  note?: string | null;
}

/**
 * Everything recorded about a customer, newest first: the customer's chain (decision 7), read
 * from its projection, with interactions' and notes' text decrypted from the vault.
 */
export async function timeline(
  db: Queryable,
  vault: Vault,
  merchantId: string,
  customerId: string,
  /** `merged`: the records merged into this one, whose chains end in it (decision 7). */
  q: { before?: bigint; limit: number; merged?: string[] },
): Promise<{ items: TimelineItem[]; next: bigint | null }> {
  const params: unknown[] = [[customerId, ...(q.merged ?? [])], q.limit + 1, customerId];
  if (q.before !== undefined) params.push(q.before.toString());
  // A merge entry names both records: it is listed once, as the survivor's.
  const { rows } = await db.query<{ idx: bigint; party: string; data: Uint8Array }>(
    `SELECT DISTINCT ON (s.idx) s.idx, s.party, e.data
     FROM ledger_subjects s JOIN ledger_entries e ON e.idx = s.idx
     WHERE s.party = ANY($1::text[]) ${q.before === undefined ? "" : "AND s.idx < $4"}
     ORDER BY s.idx DESC, (s.party = $3) DESC LIMIT $2`,
    params,
  );
  const page = rows.slice(0, q.limit);
  const decoded = page.map((r) => ({ r, e: decodeEntry(new Uint8Array(r.data)) }));
  // The page's texts in one vault read per record (the customer, and any merged into it).
  const wanted = new Map<string, string[]>();
  for (const { r, e } of decoded) {
    const field = textField(e.type, e.payload);
    if (!field) continue;
    const list = wanted.get(r.party);
    if (list) list.push(field);
    else wanted.set(r.party, [field]);
  }
  const texts = new Map<string, Map<string, { value: JsonValue }>>();
  await Promise.all(
    [...wanted].map(async ([party, fields]) => {
      const found = await vault.getMany(merchantId, party, fields).catch((err) => {
        if (err instanceof VaultError && err.code === "erased") return new Map();
        throw err;
      });
      texts.set(party, found);
    }),
  );
  const items = decoded.map(({ r, e }): TimelineItem => {
    const item: TimelineItem = {
      index: Number(r.idx),
      type: e.type,
      time: e.time,
      actor: e.actor,
      payload: e.payload,
    };
    const field = textField(e.type, e.payload);
    const v = field === undefined ? undefined : texts.get(r.party)?.get(field);
    if (e.type === NOTE_ADDED) item.note = typeof v?.value === "string" ? v.value : null;
    if (e.type === INTERACTION_RECORDED && field !== undefined) {
      item.text = (v?.value as TimelineItem["text"]) ?? null;
    }
    return item;
  });
  const last = page[page.length - 1];
  return { items, next: rows.length > q.limit && last ? BigInt(last.idx) : null };
}

/** The vault field holding an entry's text: a note's, or an interaction's that has one. */
function textField(type: string, payload: JsonValue): string | undefined {
  if (type === NOTE_ADDED) return noteField((payload as { noteId: string }).noteId);
  if (type === INTERACTION_RECORDED) {
    const p = payload as { interactionId: string; content?: string };
    if (p.content !== undefined) return interactionField(p.interactionId);
  }
  return undefined;
}

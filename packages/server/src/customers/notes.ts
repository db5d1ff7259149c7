import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import { VaultError } from "../vault/keystore.js";
import { Vault } from "../vault/vault.js";
import type { Customers } from "./customers.js";

export const NOTE_ADDED = "note.added";
export const NOTE_DELETED = "note.deleted";

/** The vault field holding a note's text. */
export const noteField = (id: string) => `note/${id}`;

interface NotePayload {
  merchantId: string;
  customerId: string;
  noteId: string;
}

/**
 * The notes table: who wrote each note and when, and its deletion; never the text, which is in
 * the vault under the customer's key (decision 4). Rebuilt by `audit` from the entries.
 */
export const notesProjector: Projector = {
  types: [NOTE_ADDED, NOTE_DELETED],
  tables: ["notes"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e): Statement => {
      const p = e.entry.payload as unknown as NotePayload;
      const idx = e.index.toString();
      if (e.entry.type === NOTE_ADDED) {
        return {
          sql: `INSERT INTO notes (id, merchant_id, customer_id, author, created_at, entry_idx)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          params: [p.noteId, p.merchantId, p.customerId, e.entry.actor, e.entry.time, idx],
        };
      }
      return {
        sql: `UPDATE notes SET deleted_at = $4, deleted_by = $5, deleted_idx = $6
         WHERE id = $1 AND merchant_id = $2 AND customer_id = $3`,
        params: [p.noteId, p.merchantId, p.customerId, e.entry.time, e.entry.actor, idx],
      };
    });
  },
};

/** A note as the API shows it; `text` is null once the customer was erased. */
export interface NoteView {
  id: string;
  customerId: string;
  text: string | null;
  /** The staff key or account that wrote it (a ledger actor). */
  author: string;
  createdAt: string;
  entryIndex: number;
}

interface Row {
  id: string;
  customer_id: string;
  author: string;
  created_at: string | Date;
  entry_idx: bigint | number | string;
  deleted_at: string | Date | null;
}

/**
 * Staff notes about a customer. A note's text goes to the vault, sealed under the customer's
 * data key; its `note.added` entry, on the customer's and the merchant's chains, carries only
 * the text's commitment. Deleting a note is an entry too: the log keeps that it existed, the
 * vault loses its text in the same transaction. Erasing the customer shreds every note.
 */
export class Notes {
  /** Notes deleted, committed or staged: a second deletion is refused in the sequencer's order. */
  private readonly deleted: StagedMap<string, true>;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly customers: Customers,
  ) {
    this.deleted = sequencer.state.add(new StagedMap<string, true>());
    sequencer.onRecover(async () => this.deleted.clearCommitted());
  }

  async add(
    merchantId: string,
    customerId: string,
    actor: string,
    text: string,
    idempotencyKey?: string,
  ): Promise<{ note: NoteView; replayed: boolean }> {
    await this.active(merchantId, customerId);
    const key = await this.vault.customerKey(merchantId, customerId).catch((err) => {
      // Erased since it was read: the key is gone, and so is the customer.
      if (err instanceof VaultError) throw erased(customerId);
      throw err;
    });
    const id = newId("n");
    const field = noteField(id);
    const salt = Vault.salt();
    const [entry] = await this.sequencer.execute(
      {
        entries: [
          {
            type: NOTE_ADDED,
            actor,
            parties: [{ customer: customerId }, { merchant: merchantId }],
            sealed: true,
            payload: (ctx) => ({
              merchantId,
              customerId,
              noteId: id,
              text: Buffer.from(
                Vault.commit(customerId, field, Number(ctx.index), text, salt),
              ).toString("base64url"),
            }),
          },
        ],
        check: () => this.customers.checkActive(customerId),
        writes: (es) => [this.vault.sealField(key, field, Number(es[0]?.index), text, salt)],
      },
      await this.customers.idempotency(merchantId, `notes/${customerId}`, idempotencyKey, { text }),
    );
    if (!entry) throw new Error("a note committed no entry");
    const noteId = entry.replayed ? (entry.entry.payload as unknown as NotePayload).noteId : id;
    const note = (await this.get(merchantId, customerId, noteId)) as NoteView;
    return { note, replayed: entry.replayed === true };
  }

  async remove(merchantId: string, customerId: string, noteId: string, actor: string) {
    await this.active(merchantId, customerId);
    const row = await this.row(merchantId, customerId, noteId);
    if (!row) throw noteNotFound(noteId);
    if (row.deleted_at !== null) throw alreadyDeleted(noteId);
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: NOTE_DELETED,
          actor,
          parties: [{ customer: customerId }, { merchant: merchantId }],
          sealed: true,
          payload: { merchantId, customerId, noteId },
        },
      ],
      check: () => {
        this.customers.checkActive(customerId);
        if (this.deleted.get(noteId)) throw alreadyDeleted(noteId);
        this.deleted.set(noteId, true);
      },
      // The text goes with the entry that says so; its commitment stays, now unopenable.
      writes: () => [
        {
          sql: "DELETE FROM vault_fields WHERE customer_id = $1 AND field = $2",
          params: [customerId, noteField(noteId)],
        },
      ],
    });
    if (!entry) throw new Error("a note deletion committed no entry");
    return { id: noteId, index: entry.index, time: entry.entry.time };
  }

  /** The customer's notes that were not deleted, newest first, with their text. */
  async list(
    merchantId: string,
    customerId: string,
    q: { before?: bigint; limit: number },
  ): Promise<{ notes: NoteView[]; next: bigint | null }> {
    const status = await this.customers.status(merchantId, customerId);
    if (!status) throw customerNotFound(customerId);
    const params: unknown[] = [merchantId, customerId, q.limit + 1];
    if (q.before !== undefined) params.push(q.before.toString());
    const { rows } = await this.db.query<Row>(
      `SELECT id, customer_id, author, created_at, entry_idx, deleted_at FROM notes
       WHERE merchant_id = $1 AND customer_id = $2 AND deleted_at IS NULL
       ${q.before === undefined ? "" : "AND entry_idx < $4"}
       ORDER BY entry_idx DESC LIMIT $3`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const notes = await Promise.all(page.map((r) => this.view(merchantId, r)));
    const last = page[page.length - 1];
    return { notes, next: rows.length > q.limit && last ? BigInt(last.entry_idx) : null };
  }

  /** A note's text from the vault: null once deleted or its customer erased. */
  async text(merchantId: string, customerId: string, noteId: string): Promise<string | null> {
    const v = await this.vault.get(merchantId, customerId, noteField(noteId)).catch((err) => {
      if (err instanceof VaultError && err.code === "erased") return undefined;
      throw err;
    });
    return typeof v?.value === "string" ? v.value : null;
  }

  private async get(merchantId: string, customerId: string, noteId: string) {
    const row = await this.row(merchantId, customerId, noteId);
    return row && this.view(merchantId, row);
  }

  private async view(merchantId: string, r: Row): Promise<NoteView> {
    return {
      id: r.id,
      customerId: r.customer_id,
      text: await this.text(merchantId, r.customer_id, r.id),
      author: r.author,
      createdAt: new Date(r.created_at).toISOString(),
      entryIndex: Number(r.entry_idx),
    };
  }

  private async row(merchantId: string, customerId: string, noteId: string) {
    const { rows } = await this.db.query<Row>(
      `SELECT id, customer_id, author, created_at, entry_idx, deleted_at FROM notes
       WHERE id = $1 AND merchant_id = $2 AND customer_id = $3`,
      [noteId, merchantId, customerId],
    );
    return rows[0];
  }

  private async active(merchantId: string, customerId: string) {
    const status = await this.customers.status(merchantId, customerId);
    if (!status) throw customerNotFound(customerId);
    if (status === "erased") throw erased(customerId);
    // Absorbed by a merge: its notes are written on the record it was merged into.
    if (status !== "active") {
      throw new ApiError(
        409,
        "customer_merged",
        `customer ${customerId} was merged into another record; write the note there`,
      );
    }
  }
}

const customerNotFound = (id: string) => new ApiError(404, "not_found", `customer ${id} not found`);
const noteNotFound = (id: string) => new ApiError(404, "not_found", `note ${id} not found`);
const alreadyDeleted = (id: string) =>
  new ApiError(409, "already_deleted", `note ${id} was already deleted`);
const erased = (id: string) =>
  new ApiError(
    409,
    "customer_erased",
    `customer ${id} was erased; nothing more is recorded about them`,
  );

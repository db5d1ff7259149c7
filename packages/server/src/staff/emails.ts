import { hkdfSync } from "node:crypto";
import type { Database, Statement } from "../db/database.js";
import { openSealed, seal } from "../vault/cipher.js";
import { Vault } from "../vault/vault.js";

/** Email as staff sign in with it: trimmed and lower-cased, as the vault's indexes compare it. */
export const normaliseStaffEmail = (email: string) => email.trim().toLowerCase();

/**
 * The blind index kind of staff emails: not the customers' `email`, so a staff member who is
 * also a customer of the merchant is not linked to their customer record by an equal hash.
 */
const INDEX_KIND = "staff-email";

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Binds a sealed email to its row: the merchant and the staff user it belongs to. */
const associated = (merchantId: string, staffId: string) =>
  `patron-staff/v1/email/${merchantId}/${staffId}`;

/** A staff email as it rests: sealed, and its blind index, both as hex for `decode(…, 'hex')`. */
export interface SealedEmail {
  sealed: string;
  index: string;
}

/**
 * Staff emails at rest (decision 4). Each is sealed with AES-256-GCM under a per-merchant key
 * derived by HKDF-SHA256 from the merchant's vault index key (so it is wrapped by the master key
 * and survives its rotation, like the outbox's), with the merchant and the staff id as
 * associated data; it is found by its blind index, an HMAC-SHA256 under the merchant's index key
 * of the lower-cased email. No clear copy is kept: not in a column, not in a database index.
 */
export class StaffEmails {
  private readonly sealingKeys = new Map<string, Uint8Array>();

  constructor(private readonly vault: Vault) {}

  private async sealingKey(merchantId: string): Promise<Uint8Array> {
    const cached = this.sealingKeys.get(merchantId);
    if (cached) return cached;
    const base = await this.vault.merchantIndexKey(merchantId);
    const key = new Uint8Array(
      hkdfSync("sha256", base, Buffer.alloc(0), `patron-staff-email/v1/${merchantId}`, 32),
    );
    this.sealingKeys.set(merchantId, key);
    return key;
  }

  /** The blind index of a normalised email in a merchant, as hex. */
  async index(merchantId: string, email: string): Promise<string> {
    const key = await this.vault.merchantIndexKey(merchantId);
    return hex(Vault.identityHash(key, INDEX_KIND, email));
  }

  /** A normalised email sealed for its row, with its blind index. */
  async seal(merchantId: string, staffId: string, email: string): Promise<SealedEmail> {
    const sealed = seal(
      await this.sealingKey(merchantId),
      Buffer.from(email, "utf8"),
      associated(merchantId, staffId),
    );
    return { sealed: hex(sealed), index: await this.index(merchantId, email) };
  }

  /** The email of a row; throws when it does not open (another row's, or a wrong key). */
  async open(merchantId: string, staffId: string, sealed: Uint8Array): Promise<string> {
    const plain = openSealed(
      await this.sealingKey(merchantId),
      sealed,
      associated(merchantId, staffId),
    );
    if (!plain) throw new Error(`the email of staff user ${staffId} does not decrypt`);
    return Buffer.from(plain).toString("utf8");
  }

  /**
   * Seals the emails an earlier version kept in clear (migration 16 left them in `email`), in
   * one transaction, then rewrites the table so the clear values' old row versions leave its
   * pages. Runs on every start and finds nothing to do after the first. Returns how many rows
   * it sealed.
   */
  async sealClearEmails(db: Database): Promise<number> {
    const { rows } = await db.query<{ staff_id: string; merchant_id: string; email: string }>(
      `SELECT staff_id, merchant_id, email FROM staff_accounts
       WHERE email IS NOT NULL ORDER BY merchant_id, staff_id`,
    );
    if (rows.length === 0) return 0;
    const statements: Statement[] = [];
    for (const r of rows) {
      const s = await this.seal(r.merchant_id, r.staff_id, normaliseStaffEmail(r.email));
      // Only the row as it was read: a node upgrading at the same moment seals it once.
      statements.push({
        sql: `UPDATE staff_accounts
         SET email_sealed = decode($1, 'hex'), email_index = decode($2, 'hex'), email = NULL
         WHERE merchant_id = $3 AND staff_id = $4 AND email = $5`,
        params: [s.sealed, s.index, r.merchant_id, r.staff_id, r.email],
      });
    }
    await db.writeAll(statements);
    // An UPDATE leaves the old row version, clear email and all, in the table's pages until a
    // vacuum reclaims it (and the embedded database runs no autovacuum): VACUUM FULL writes
    // the table anew and drops its old files.
    await db.exec("VACUUM FULL staff_accounts");
    return rows.length;
  }
}

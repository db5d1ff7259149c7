import { randomInt } from "node:crypto";
import QRCode from "qrcode";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import { Vault } from "../vault/vault.js";

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed at a till is unambiguous. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Twelve characters: 60 bits, shown as three groups of four. */
const CODE_LENGTH = 12;
export const INVITE_CODE = /^[0-9A-HJKMNP-TV-Z]{4}-?[0-9A-HJKMNP-TV-Z]{4}-?[0-9A-HJKMNP-TV-Z]{4}$/i;

export const DEFAULT_INVITE_HOURS = 72;

export interface Invite {
  id: string;
  customerId: string;
  /** Shown once, when the invite is made; only its keyed hash is kept. */
  code: string;
  expiresAt: string;
}

export interface InviteRow {
  id: string;
  customer_id: string;
  expires_at: Date | string;
  claimed_idx: string | number | null;
}

/** The code as stored and compared: upper case, without dashes (O → 0, I and L → 1). */
export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/-/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

function newCode(): string {
  let s = "";
  for (let i = 0; i < CODE_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/**
 * Invitations to claim an existing profile with a key (`customer.claim`): a single-use code
 * that expires, made by staff at the till or in the console. The code never rests in clear:
 * only its HMAC under the merchant's index key is kept (decision 4).
 */
export class Invites {
  /** Invites claimed, committed or staged: a code binds one key only. */
  private readonly claimed: StagedMap<string, true>;

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
    private readonly vault: Vault,
    private readonly clock: Clock,
  ) {
    this.claimed = sequencer.state.add(new StagedMap<string, true>());
    sequencer.onRecover(async () => this.claimed.clearCommitted());
  }

  private async codeHash(merchantId: string, code: string): Promise<Uint8Array> {
    const indexKey = await this.vault.merchantIndexKey(merchantId);
    return Vault.identityHash(indexKey, "invite", normaliseCode(code));
  }

  async create(
    merchantId: string,
    customerId: string,
    createdBy: string,
    hours = DEFAULT_INVITE_HOURS,
  ): Promise<Invite> {
    const id = newId("inv");
    const code = newCode();
    const now = this.clock.now();
    const expiresAt = new Date(now + hours * 3_600_000).toISOString();
    await this.db.query(
      `INSERT INTO customer_invites (id, merchant_id, customer_id, code_hash, expires_at, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        merchantId,
        customerId,
        await this.codeHash(merchantId, code),
        expiresAt,
        createdBy,
        new Date(now).toISOString(),
      ],
    );
    return { id, customerId, code, expiresAt };
  }

  /** The invite a code opens, refused when unknown, claimed or expired. */
  async open(merchantId: string, code: string): Promise<InviteRow> {
    const { rows } = await this.db.query<InviteRow>(
      `SELECT id, customer_id, expires_at, claimed_idx FROM customer_invites
       WHERE merchant_id = $1 AND code_hash = $2`,
      [merchantId, await this.codeHash(merchantId, code)],
    );
    const row = rows[0];
    if (!row) throw new ApiError(404, "invite_not_found", "no invite has this code here");
    if (row.claimed_idx !== null || this.claimed.get(row.id)) throw inviteUsed();
    if (new Date(row.expires_at).getTime() <= this.clock.now()) {
      throw new ApiError(410, "invite_expired", "this invite has expired; ask for a new one");
    }
    return row;
  }

  /** Inside the claim's check: the code is used once, whatever else the batch holds. */
  stageClaim(id: string): void {
    if (this.claimed.get(id)) throw inviteUsed();
    this.claimed.set(id, true);
  }

  claimedStatement(merchantId: string, id: string, index: bigint): Statement {
    return {
      sql: "UPDATE customer_invites SET claimed_idx = $3 WHERE id = $1 AND merchant_id = $2",
      params: [id, merchantId, index.toString()],
    };
  }

  /** Invites of a customer, newest first (never their codes). */
  async list(merchantId: string, customerId: string) {
    const { rows } = await this.db.query<InviteRow & { created_at: Date | string }>(
      `SELECT id, customer_id, expires_at, claimed_idx, created_at FROM customer_invites
       WHERE merchant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT 50`,
      [merchantId, customerId],
    );
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at).toISOString(),
      expiresAt: new Date(r.expires_at).toISOString(),
      claimed: r.claimed_idx !== null,
    }));
  }
}

const inviteUsed = () =>
  new ApiError(409, "invite_used", "this invite was already used to claim the profile");

/** A QR code of a link, as an SVG document (the till prints or shows it). */
export function qrSvg(url: string): Promise<string> {
  return QRCode.toString(url, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}

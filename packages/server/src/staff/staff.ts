import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type Channels, type Delivery, failureOf } from "../channels/index.js";
import type { Database, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { actorOf, can, type Principal, type Role, withArticle } from "../tenancy/roles.js";
import { newId, type Tenancy } from "../tenancy/tenancy.js";
import { normaliseStaffEmail, type StaffEmails } from "./emails.js";
import { checkPassword, hashPassword } from "./passwords.js";
import { Throttle } from "./throttle.js";

export const STAFF_CREATED = "staff.created";
export const STAFF_ROLE_CHANGED = "staff.role_changed";
export const STAFF_DISABLED = "staff.disabled";

/** What the entries carry: ids and the role, never the email (it rests sealed in `staff_accounts`). */
interface StaffPayload {
  staffId: string;
  merchantId: string;
  role?: Role;
}

export const staffProjector: Projector = {
  types: [STAFF_CREATED, STAFF_ROLE_CHANGED, STAFF_DISABLED],
  tables: ["staff"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e): Statement => {
      const p = e.entry.payload as unknown as StaffPayload;
      if (e.entry.type === STAFF_CREATED) {
        return {
          sql: `INSERT INTO staff (id, merchant_id, role, created_at, entry_idx)
           VALUES ($1, $2, $3, $4, $5)`,
          params: [p.staffId, p.merchantId, p.role, e.entry.time, e.index.toString()],
        };
      }
      if (e.entry.type === STAFF_ROLE_CHANGED) {
        return {
          sql: "UPDATE staff SET role = $1 WHERE id = $2 AND merchant_id = $3",
          params: [p.role, p.staffId, p.merchantId],
        };
      }
      return {
        sql: `UPDATE staff SET disabled_at = $1 WHERE id = $2 AND merchant_id = $3
         AND disabled_at IS NULL`,
        params: [e.entry.time, p.staffId, p.merchantId],
      };
    });
  },
};

/** A staff user as the API shows them. */
export interface StaffView {
  id: string;
  email: string;
  role: Role;
  /** invited: the invitation is not accepted yet; disabled: can no longer sign in. */
  status: "invited" | "active" | "disabled";
  createdAt: string;
  disabledAt: string | null;
  entryIndex: number;
}

export interface SignedIn {
  token: string;
  csrfToken: string;
  expiresAt: string;
  staff: StaffView;
}

interface StaffState {
  merchantId: string;
  role: Role;
  disabled: boolean;
}

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const RESET_TTL_MS = 60 * 60 * 1000;

/**
 * Session, invitation and reset tokens: the merchant id, a dot, 32 random bytes. The merchant
 * part lets every lookup filter by merchant; the random part is the secret, kept only hashed.
 */
const TOKEN = /^(m_[A-Za-z0-9_-]{12})\.[A-Za-z0-9_-]{43}$/;
const newToken = (merchantId: string) => `${merchantId}.${randomBytes(32).toString("base64url")}`;
const hashToken = (token: string) => createHash("sha256").update(token).digest();
const merchantOfToken = (token: string) => TOKEN.exec(token)?.[1];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The CSRF token of a session: derived from its secret, so it is bound to it and never stored. */
export const csrfTokenOf = (session: string) =>
  createHmac("sha256", session).update("patron-csrf/v1").digest("base64url");

export function csrfMatches(session: string, header: string): boolean {
  const expected = Buffer.from(csrfTokenOf(session));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export { normaliseStaffEmail };

const invalidToken = () =>
  new ApiError(400, "invalid_token", "this link is unknown, already used or expired");

const tooMany = (ms: number) => {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new ApiError(
    429,
    "too_many_attempts",
    `too many attempts; try again in ${seconds} s`,
    undefined,
    { "retry-after": String(seconds) },
  );
};

export interface StaffOptions {
  /** The node's public address, for the links in invitations and resets ("" for relative). */
  publicUrl(): string;
  log(line: string): void;
}

/**
 * Staff accounts of every merchant (decision 10). Creating a staff user, changing a role and
 * disabling one are sealed entries on the merchant's chain, checked by the sequencer against
 * staged state; emails (sealed, found by blind index: see emails.ts), password hashes, sessions
 * and single-use tokens are kept beside the log, never in it, with only hashes of the tokens.
 */
export class Staff {
  private readonly state: StagedMap<string, StaffState>;
  /** `<merchant>\n<email's blind index>` → staff id: one account per email in a merchant. */
  private readonly emails: StagedMap<string, string>;
  /** Active staff owners per merchant: the last one stays. */
  private readonly owners: StagedMap<string, number>;
  /** The merchants that have staff users: where a sign-in without a merchant looks. */
  private readonly merchants = new Set<string>();
  /** Sign-in and reset attempts: a few per email, more per client address (NATs share one). */
  private readonly byEmail: Throttle;
  private readonly byAddress: Throttle;
  /**
   * The email buckets are keyed by an HMAC of the email under this process's random key, so
   * not even the node's memory keeps a list of the emails that tried to sign in.
   */
  private readonly throttleKey = randomBytes(32);

  constructor(
    private readonly db: Database,
    private readonly sequencer: Sequencer,
    private readonly tenancy: Tenancy,
    private readonly clock: Clock,
    private readonly channels: Channels,
    private readonly addresses: StaffEmails,
    private readonly opts: StaffOptions,
  ) {
    this.state = sequencer.state.add(new StagedMap<string, StaffState>());
    this.emails = sequencer.state.add(new StagedMap<string, string>());
    this.owners = sequencer.state.add(new StagedMap<string, number>());
    this.byEmail = new Throttle(clock, 5, 60_000);
    this.byAddress = new Throttle(clock, 30, 2_000);
    sequencer.onRecover(() => this.load());
  }

  /** Loads every staff user's role and state (a few per merchant), like the API keys. */
  async load(): Promise<void> {
    this.state.clearCommitted();
    this.emails.clearCommitted();
    this.owners.clearCommitted();
    const { rows } = await this.db.query<{
      id: string;
      merchant_id: string;
      role: Role;
      disabled_at: unknown;
      email_index: string | null;
    }>(
      `SELECT s.id, s.merchant_id, s.role, s.disabled_at, encode(a.email_index, 'hex') AS email_index
       FROM staff s
       LEFT JOIN staff_accounts a ON a.staff_id = s.id AND a.merchant_id = s.merchant_id`,
    );
    for (const r of rows) {
      const disabled = r.disabled_at !== null;
      this.state.load(r.id, { merchantId: r.merchant_id, role: r.role, disabled });
      this.merchants.add(r.merchant_id);
      if (r.email_index !== null) this.emails.load(`${r.merchant_id}\n${r.email_index}`, r.id);
      if (r.role === "owner" && !disabled) {
        this.owners.load(r.merchant_id, (this.owners.get(r.merchant_id) ?? 0) + 1);
      }
    }
  }

  private now() {
    return this.clock.now();
  }

  private iso(ms = this.now()) {
    return new Date(ms).toISOString();
  }

  /** The caller must still be an enabled staff user when a staff session acts. */
  private checkCaller(by: Principal | undefined) {
    if (!by?.staffId) return;
    const caller = this.state.get(by.staffId);
    if (!caller || caller.disabled || caller.merchantId !== by.merchantId) {
      throw new ApiError(401, "unauthorized", "the calling staff account was disabled meanwhile");
    }
  }

  /** The entry and statements creating a staff user; `check` keeps emails unique per merchant. */
  private async create(
    merchantId: string,
    email: string,
    role: Role,
    actor: string,
    by: Principal | undefined,
    account: { passwordHash?: string; invitation?: string },
  ) {
    const staffId = newId("s");
    const now = this.now();
    const address = await this.addresses.seal(merchantId, staffId, email);
    const emailKey = `${merchantId}\n${address.index}`;
    const [committed] = await this.sequencer.execute({
      entries: [
        {
          type: STAFF_CREATED,
          actor,
          payload: { staffId, merchantId, role },
          parties: [{ merchant: merchantId }],
          sealed: true,
        },
      ],
      check: () => {
        this.checkCaller(by);
        if (this.emails.get(emailKey) !== undefined) {
          throw new ApiError(409, "email_taken", "a staff user of this merchant has this email");
        }
        this.emails.set(emailKey, staffId);
        this.state.set(staffId, { merchantId, role, disabled: false });
        this.merchants.add(merchantId);
        if (role === "owner") this.owners.set(merchantId, (this.owners.get(merchantId) ?? 0) + 1);
      },
      writes: () => {
        const out: Statement[] = [
          {
            sql: `INSERT INTO staff_accounts
             (staff_id, merchant_id, email_sealed, email_index, password_hash, password_set_at)
             VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, $6)`,
            params: [
              staffId,
              merchantId,
              address.sealed,
              address.index,
              account.passwordHash ?? null,
              account.passwordHash ? this.iso(now) : null,
            ],
          },
        ];
        if (account.invitation) {
          out.push(
            this.tokenStatement(account.invitation, staffId, "invite", now + INVITATION_TTL_MS),
          );
        }
        return out;
      },
    });
    if (!committed) throw new Error("a staff creation committed no entry");
    return { staffId, index: committed.index, time: committed.entry.time };
  }

  private tokenStatement(token: string, staffId: string, purpose: string, expires: number) {
    return {
      sql: `INSERT INTO staff_tokens (token_hash, merchant_id, staff_id, purpose, expires_at)
       VALUES (decode($1, 'hex'), $2, $3, $4, $5)`,
      params: [
        hex(hashToken(token)),
        merchantOfToken(token) as string,
        staffId,
        purpose,
        this.iso(expires),
      ],
    };
  }

  /** Invites a staff user: an entry, and an email with a single-use link that sets a password. */
  async invite(by: Principal, rawEmail: string, role: Role) {
    if (!can.grant(by.role, role)) {
      throw new ApiError(
        403,
        "forbidden",
        `${withArticle(by.role)} cannot invite ${withArticle(role)}`,
      );
    }
    const email = normaliseStaffEmail(rawEmail);
    const token = newToken(by.merchantId);
    const created = await this.create(by.merchantId, email, role, actorOf(by), by, {
      invitation: token,
    });
    const merchant = await this.tenancy.merchant(by.merchantId);
    const expiresAt = this.iso(this.now() + INVITATION_TTL_MS);
    const delivery = await this.mail(by.merchantId, {
      to: email,
      subject: `You are invited to ${merchant?.name ?? "a merchant"} on Patron`,
      text: [
        `You have been invited to the Patron console of ${merchant?.name ?? by.merchantId} as ${role === "staff" ? "a staff member" : withArticle(role)}.`,
        "",
        "Choose your password here (the link works once):",
        `${this.opts.publicUrl()}/console/accept-invitation#token=${token}`,
        "",
        `The link expires at ${expiresAt}. If you did not expect this, ignore this email.`,
      ].join("\n"),
    });
    return { ...created, expiresAt, delivery };
  }

  /** Creates an owner with a password directly: the first start's demo account. */
  async createOwner(merchantId: string, email: string, password: string, actor: string) {
    return this.create(merchantId, normaliseStaffEmail(email), "owner", actor, undefined, {
      passwordHash: await hashPassword(password),
    });
  }

  private async mail(
    merchantId: string,
    mail: { to: string; subject: string; text: string },
  ): Promise<Delivery | "failed"> {
    try {
      return await this.channels.send(merchantId, { channel: "mail", ...mail });
    } catch (err) {
      // The reason, never the error's text: a mail server's names the recipient.
      this.opts.log(`mail to a staff user of ${merchantId} failed: ${failureOf(err)}`);
      return "failed";
    }
  }

  /** Spends a single-use token and sets the password it was issued for. */
  private async redeem(token: string, purpose: "invite" | "reset", password: string) {
    const merchantId = merchantOfToken(token);
    if (!merchantId) throw invalidToken();
    const hash = hashToken(token);
    const found = await this.db.query<{ staff_id: string }>(
      `SELECT t.staff_id FROM staff_tokens t
       JOIN staff s ON s.id = t.staff_id AND s.merchant_id = t.merchant_id
       WHERE t.merchant_id = $1 AND t.token_hash = $2 AND t.purpose = $3
         AND t.used_at IS NULL AND t.expires_at > $4 AND s.disabled_at IS NULL`,
      [merchantId, hash, purpose, this.iso()],
    );
    const staffId = found.rows[0]?.staff_id;
    if (!staffId) throw invalidToken();
    const passwordHash = await hashPassword(password);
    const now = this.iso();
    await this.db.transaction(async (tx) => {
      // Spent first, conditionally: of two concurrent uses, one finds it already used.
      const spent = await tx.query(
        `UPDATE staff_tokens SET used_at = $1
         WHERE merchant_id = $2 AND token_hash = $3 AND used_at IS NULL RETURNING staff_id`,
        [now, merchantId, hash],
      );
      if (spent.rows.length !== 1) throw invalidToken();
      await tx.query(
        `UPDATE staff_accounts SET password_hash = $1, password_set_at = $2
         WHERE merchant_id = $3 AND staff_id = $4`,
        [passwordHash, now, merchantId, staffId],
      );
      // The other links of this staff member go too: a new password makes them stale.
      await tx.query(
        `UPDATE staff_tokens SET used_at = $1
         WHERE merchant_id = $2 AND staff_id = $3 AND used_at IS NULL`,
        [now, merchantId, staffId],
      );
      // A new password ends every session the old one opened.
      await tx.query(
        `UPDATE staff_sessions SET revoked_at = $1
         WHERE merchant_id = $2 AND staff_id = $3 AND revoked_at IS NULL`,
        [now, merchantId, staffId],
      );
    });
    return { merchantId, staffId };
  }

  acceptInvitation(token: string, password: string) {
    return this.redeem(token, "invite", password);
  }

  confirmReset(token: string, password: string) {
    return this.redeem(token, "reset", password);
  }

  /**
   * Link tokens are 256-bit secrets, so guessing is hopeless; the bound is on the work a flood
   * of them costs.
   */
  throttleAddress(address: string) {
    const wait = this.byAddress.take(address);
    if (wait > 0) throw tooMany(wait);
  }

  private emailBucket(email: string) {
    return createHmac("sha256", this.throttleKey).update(email).digest("base64url");
  }

  private throttle(email: string, address: string) {
    const wait = Math.max(this.byAddress.take(address), this.byEmail.take(this.emailBucket(email)));
    if (wait > 0) throw tooMany(wait);
  }

  /**
   * The enabled accounts holding an email, in one merchant or in any (the email picks it). An
   * email's blind index differs per merchant, so without a merchant it is computed under the
   * key of each merchant that has staff: the same work whether or not the email is known.
   */
  private async accounts(email: string, merchantId: string | undefined) {
    // A merchant without staff holds no account; its index key is not made for a guess.
    const merchants =
      merchantId === undefined
        ? [...this.merchants]
        : this.merchants.has(merchantId)
          ? [merchantId]
          : [];
    const indexes = await Promise.all(merchants.map((m) => this.addresses.index(m, email)));
    // Without a merchant this looks across merchants: the one query that does, because the
    // email is what names the merchant at sign-in. Each pair still filters by its merchant.
    const { rows } = await this.db.query<{
      staff_id: string;
      merchant_id: string;
      password_hash: string | null;
    }>(
      `SELECT a.staff_id, a.merchant_id, a.password_hash
       FROM unnest($1::text[], $2::text[]) AS k(merchant_id, email_index)
       JOIN staff_accounts a
         ON a.merchant_id = k.merchant_id AND a.email_index = decode(k.email_index, 'hex')
       JOIN staff s ON s.id = a.staff_id AND s.merchant_id = a.merchant_id
       WHERE s.disabled_at IS NULL
       ORDER BY s.entry_idx LIMIT 5`,
      [merchants, indexes],
    );
    return rows;
  }

  /**
   * Signs a staff user in. An unknown email, a disabled account, an invitation not accepted
   * and a wrong password all answer the same 401 after the same work: one Argon2id
   * verification (against a dummy hash when there is no account).
   */
  async signIn(
    rawEmail: string,
    password: string,
    merchantId: string | undefined,
    address: string,
  ): Promise<SignedIn> {
    const email = normaliseStaffEmail(rawEmail);
    this.throttle(email, address);
    const candidates = (await this.accounts(email, merchantId)).filter(
      (r) => r.password_hash !== null,
    );
    const matched: typeof candidates = [];
    if (candidates.length === 0) await checkPassword(undefined, password);
    for (const c of candidates) {
      if (await checkPassword(c.password_hash ?? undefined, password)) matched.push(c);
    }
    const [account] = matched;
    if (!account) {
      throw new ApiError(401, "invalid_credentials", "wrong email or password");
    }
    if (matched.length > 1) {
      throw new ApiError(
        409,
        "merchant_required",
        "this email signs in to several merchants: name one in merchantId",
      );
    }
    // The password is known: the email's failed attempts no longer count against it.
    this.byEmail.forget(this.emailBucket(email));
    return this.openSession(account.merchant_id, account.staff_id);
  }

  /** A new session for a staff user who proved who they are (password or passkey). */
  async openSession(merchantId: string, staffId: string): Promise<SignedIn> {
    const token = newToken(merchantId);
    const now = this.now();
    const expires = now + SESSION_TTL_MS;
    await this.db.query(
      `INSERT INTO staff_sessions (token_hash, merchant_id, staff_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [hashToken(token), merchantId, staffId, this.iso(now), this.iso(expires)],
    );
    const staff = await this.get(merchantId, staffId);
    if (!staff) throw new ApiError(401, "invalid_credentials", "wrong email or password");
    return { token, csrfToken: csrfTokenOf(token), expiresAt: this.iso(expires), staff };
  }

  /** The staff user a session cookie belongs to, while it is unexpired, unrevoked and enabled. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const merchantId = merchantOfToken(token);
    if (!merchantId) return undefined;
    const { rows } = await this.db.query<{ staff_id: string; role: Role }>(
      `SELECT s.staff_id, st.role FROM staff_sessions s
       JOIN staff st ON st.id = s.staff_id AND st.merchant_id = s.merchant_id
       WHERE s.merchant_id = $1 AND s.token_hash = $2 AND s.revoked_at IS NULL
         AND s.expires_at > $3 AND st.disabled_at IS NULL`,
      [merchantId, hashToken(token), this.iso()],
    );
    const r = rows[0];
    // keyId carries the staff id for code that names the caller by key (GET /v1/me).
    return r ? { merchantId, keyId: r.staff_id, role: r.role, staffId: r.staff_id } : undefined;
  }

  async sessionExpiry(token: string): Promise<string | undefined> {
    const merchantId = merchantOfToken(token);
    if (!merchantId) return undefined;
    const { rows } = await this.db.query<{ expires_at: string | Date }>(
      `SELECT expires_at FROM staff_sessions WHERE merchant_id = $1 AND token_hash = $2`,
      [merchantId, hashToken(token)],
    );
    return rows[0] ? new Date(rows[0].expires_at).toISOString() : undefined;
  }

  async signOut(token: string): Promise<void> {
    const merchantId = merchantOfToken(token);
    if (!merchantId) return;
    await this.db.query(
      `UPDATE staff_sessions SET revoked_at = $1
       WHERE merchant_id = $2 AND token_hash = $3 AND revoked_at IS NULL`,
      [this.iso(), merchantId, hashToken(token)],
    );
  }

  /**
   * Sends a password reset link to the enabled accounts with this email. The answer is the same
   * whether there are any, and the mail goes out after it, so neither content nor timing says.
   */
  async requestReset(rawEmail: string, merchantId: string | undefined, address: string) {
    const email = normaliseStaffEmail(rawEmail);
    this.throttle(email, address);
    const accounts = (await this.accounts(email, merchantId)).filter(
      (r) => r.password_hash !== null,
    );
    const send = async () => {
      for (const a of accounts) {
        const token = newToken(a.merchant_id);
        const expires = this.now() + RESET_TTL_MS;
        const s = this.tokenStatement(token, a.staff_id, "reset", expires);
        await this.db.query(s.sql, s.params);
        const merchant = await this.tenancy.merchant(a.merchant_id);
        await this.mail(a.merchant_id, {
          to: email,
          subject: "Reset your Patron password",
          text: [
            `Someone asked to reset your password for ${merchant?.name ?? a.merchant_id} on Patron.`,
            "",
            "Choose a new password here (the link works once):",
            `${this.opts.publicUrl()}/console/reset-password#token=${token}`,
            "",
            `The link expires at ${this.iso(expires)}. If you did not ask, ignore this email: your password stays as it is.`,
          ].join("\n"),
        });
      }
    };
    void send().catch((err) => this.opts.log(`password reset failed: ${failureOf(err)}`));
  }

  async get(merchantId: string, staffId: string): Promise<StaffView | undefined> {
    return (await this.list(merchantId, staffId))[0];
  }

  async list(merchantId: string, staffId?: string): Promise<StaffView[]> {
    const { rows } = await this.db.query<{
      id: string;
      email_sealed: Uint8Array;
      role: Role;
      created_at: string | Date;
      disabled_at: string | Date | null;
      entry_idx: string | number;
      active: boolean;
    }>(
      `SELECT s.id, a.email_sealed, s.role, s.created_at, s.disabled_at, s.entry_idx,
              a.password_hash IS NOT NULL AS active
       FROM staff s JOIN staff_accounts a ON a.staff_id = s.id AND a.merchant_id = s.merchant_id
       WHERE s.merchant_id = $1 AND ($2::text IS NULL OR s.id = $2) ORDER BY s.entry_idx`,
      [merchantId, staffId ?? null],
    );
    const emails = await Promise.all(
      rows.map((r) => this.addresses.open(merchantId, r.id, r.email_sealed)),
    );
    return rows.map((r, i) => ({
      id: r.id,
      email: emails[i] as string,
      role: r.role,
      status: r.disabled_at !== null ? "disabled" : r.active ? "active" : "invited",
      createdAt: new Date(r.created_at).toISOString(),
      disabledAt: r.disabled_at === null ? null : new Date(r.disabled_at).toISOString(),
      entryIndex: Number(r.entry_idx),
    }));
  }

  /** The target of a change: of the caller's merchant, enabled, and within the caller's grant. */
  private target(by: Principal, staffId: string, what: string): StaffState {
    const target = this.state.get(staffId);
    if (!target || target.merchantId !== by.merchantId) {
      throw new ApiError(404, "not_found", `staff user ${staffId} not found`);
    }
    if (target.disabled) {
      throw new ApiError(409, "staff_disabled", `staff user ${staffId} is disabled`);
    }
    if (!can.grant(by.role, target.role)) {
      throw new ApiError(
        403,
        "forbidden",
        `${withArticle(by.role)} cannot ${what} ${withArticle(target.role)}`,
      );
    }
    return target;
  }

  private lastOwner(merchantId: string, target: StaffState) {
    if (target.role !== "owner") return;
    const owners = this.owners.get(merchantId) ?? 0;
    if (owners <= 1) {
      throw new ApiError(409, "last_owner", "the merchant's last staff owner stays an owner");
    }
    this.owners.set(merchantId, owners - 1);
  }

  async changeRole(by: Principal, staffId: string, role: Role) {
    const merchantId = by.merchantId;
    const [committed] = await this.sequencer.execute({
      entries: [
        {
          type: STAFF_ROLE_CHANGED,
          actor: actorOf(by),
          payload: { staffId, merchantId, role },
          parties: [{ merchant: merchantId }],
          sealed: true,
        },
      ],
      check: () => {
        this.checkCaller(by);
        const target = this.target(by, staffId, "change the role of");
        if (!can.grant(by.role, role)) {
          throw new ApiError(
            403,
            "forbidden",
            `${withArticle(by.role)} cannot make someone ${withArticle(role)}`,
          );
        }
        if (target.role === role) {
          throw new ApiError(409, "role_unchanged", `staff user ${staffId} is already ${role}`);
        }
        this.lastOwner(merchantId, target);
        if (role === "owner") this.owners.set(merchantId, (this.owners.get(merchantId) ?? 0) + 1);
        this.state.set(staffId, { ...target, role });
      },
    });
    return committed as CommittedEntry;
  }

  /** Disables a staff user: their sessions end and their pending links stop working. */
  async disable(by: Principal, staffId: string) {
    const merchantId = by.merchantId;
    const now = this.iso();
    const [committed] = await this.sequencer.execute({
      entries: [
        {
          type: STAFF_DISABLED,
          actor: actorOf(by),
          payload: { staffId, merchantId },
          parties: [{ merchant: merchantId }],
          sealed: true,
        },
      ],
      check: () => {
        this.checkCaller(by);
        const target = this.target(by, staffId, "disable");
        this.lastOwner(merchantId, target);
        this.state.set(staffId, { ...target, disabled: true });
      },
      writes: () => [
        {
          sql: `UPDATE staff_sessions SET revoked_at = $1
           WHERE merchant_id = $2 AND staff_id = $3 AND revoked_at IS NULL`,
          params: [now, merchantId, staffId],
        },
        {
          sql: `UPDATE staff_tokens SET used_at = $1
           WHERE merchant_id = $2 AND staff_id = $3 AND used_at IS NULL`,
          params: [now, merchantId, staffId],
        },
      ],
    });
    return committed as CommittedEntry;
  }

  /** Whether the node has any staff user yet (the first start creates the demo owner's). */
  get empty(): boolean {
    return this.state.committedSize === 0;
  }
}

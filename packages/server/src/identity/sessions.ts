import { createHash, randomBytes } from "node:crypto";
import type { Bindings } from "../commands/bindings.js";
import type { SignatureChecker } from "../commands/verify.js";
import type { Queryable } from "../db/database.js";
import { CUSTOMER_TOKEN_PREFIX, type CustomerPrincipal } from "../http/app.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import { newId } from "../tenancy/tenancy.js";

/** A sign-in challenge is valid for five minutes (decision 5). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Sessions are short: an hour, then the customer signs in again. */
export const SESSION_TTL_MS = 60 * 60_000;
/** Challenges held at once: beyond it the oldest go, so strangers cannot fill the memory. */
const MAX_CHALLENGES = 100_000;

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const tokenHash = (token: string) => createHash("sha256").update(token).digest();

export interface SessionInfo {
  id: string;
  createdAt: string;
  expiresAt: string;
  userAgent: string | null;
  current: boolean;
}

/**
 * Portal sign-in: the server issues a single-use challenge valid for five minutes; the customer
 * signs a `session.open` command carrying it with the key bound at the merchant; the answer is
 * a short bearer session. Sessions are listed and revocable. Only a hash of a token is stored.
 *
 * Challenges live in this node's memory: they are worth nothing once used or five minutes old,
 * and keeping them out of the database means a stranger asking for them writes nothing.
 */
export class Sessions {
  private readonly challenges = new Map<string, { merchantId: string; expires: number }>();

  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly bindings: Bindings,
    private readonly signatures: SignatureChecker,
    /** Whether the customer a key is bound to may sign in (not erased or merged). */
    private readonly isActive: (merchantId: string, customerId: string) => Promise<boolean>,
    /** The records merged into a customer's: their entries are the customer's too. */
    private readonly mergedInto: (merchantId: string, customerId: string) => Promise<string[]>,
  ) {}

  challenge(merchantId: string): { challenge: string; expiresAt: string } {
    const now = this.clock.now();
    if (this.challenges.size >= MAX_CHALLENGES) {
      for (const [c, v] of this.challenges) {
        if (v.expires <= now || this.challenges.size >= MAX_CHALLENGES) this.challenges.delete(c);
        if (this.challenges.size < MAX_CHALLENGES / 2) break;
      }
    }
    const challenge = b64(randomBytes(32));
    const expires = now + CHALLENGE_TTL_MS;
    this.challenges.set(challenge, { merchantId, expires });
    return { challenge, expiresAt: new Date(expires).toISOString() };
  }

  /** Opens a session from a signed `session.open` command; the challenge is spent either way. */
  async open(
    body: unknown,
    userAgent: string | undefined,
  ): Promise<{ token: string; session: SessionInfo; customer: CustomerPrincipal }> {
    const signed = this.signatures.check(body);
    const c = signed.command;
    if (c.type !== "session.open") {
      throw new ApiError(400, "invalid_command", "sign-in takes a session.open command");
    }
    const p = c.payload as { challenge?: unknown } | null;
    const challenge = typeof p?.challenge === "string" ? p.challenge : undefined;
    const held = challenge ? this.challenges.get(challenge) : undefined;
    if (challenge) this.challenges.delete(challenge);
    const now = this.clock.now();
    if (!held || held.expires <= now || held.merchantId !== c.merchant) {
      throw new ApiError(
        401,
        "invalid_challenge",
        "the challenge is unknown, used, expired or for another merchant: ask for a new one",
      );
    }
    const binding = await this.bindings.get(c.merchant, c.actor);
    if (binding?.kind !== "customer") {
      throw new ApiError(403, "unknown_actor", `${c.actor} is not bound to an account here`);
    }
    if (binding.status !== "active") {
      throw new ApiError(403, `key_${binding.status}`, `this key was ${binding.status}`);
    }
    if (!(await this.isActive(c.merchant, binding.party))) {
      throw new ApiError(403, "account_closed", "the account this key signs for is closed");
    }
    const token = `${CUSTOMER_TOKEN_PREFIX}${b64(randomBytes(32))}`;
    const id = newId("ses");
    const expiresAt = new Date(now + SESSION_TTL_MS).toISOString();
    const createdAt = new Date(now).toISOString();
    const agent = userAgent?.slice(0, 200) ?? null;
    await this.db.query(
      `INSERT INTO customer_sessions (id, merchant_id, customer_id, actor, token_hash, user_agent, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, c.merchant, binding.party, c.actor, tokenHash(token), agent, createdAt, expiresAt],
    );
    return {
      token,
      session: { id, createdAt, expiresAt, userAgent: agent, current: true },
      customer: {
        merchantId: c.merchant,
        customerId: binding.party,
        actor: c.actor,
        sessionId: id,
        records: [binding.party],
      },
    };
  }

  /** The session a token opens, while it is unexpired, unrevoked and its key still active. */
  async authenticate(token: string): Promise<CustomerPrincipal | undefined> {
    const { rows } = await this.db.query<{
      id: string;
      merchant_id: string;
      customer_id: string;
      actor: string;
    }>(
      `SELECT s.id, s.merchant_id, s.customer_id, s.actor FROM customer_sessions s
       JOIN actor_bindings b ON b.merchant_id = s.merchant_id AND b.actor = s.actor
       JOIN customers c ON c.id = s.customer_id AND c.merchant_id = s.merchant_id
       WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
         AND b.status = 'active' AND b.party = s.customer_id AND c.status = 'active'`,
      [tokenHash(token), new Date(this.clock.now()).toISOString()],
    );
    const r = rows[0];
    if (!r) return undefined;
    const merged = await this.mergedInto(r.merchant_id, r.customer_id);
    return {
      merchantId: r.merchant_id,
      customerId: r.customer_id,
      actor: r.actor,
      sessionId: r.id,
      records: [r.customer_id, ...merged],
    };
  }

  async list(who: CustomerPrincipal): Promise<SessionInfo[]> {
    const { rows } = await this.db.query<{
      id: string;
      created_at: Date | string;
      expires_at: Date | string;
      user_agent: string | null;
    }>(
      `SELECT id, created_at, expires_at, user_agent FROM customer_sessions
       WHERE merchant_id = $1 AND customer_id = $2 AND revoked_at IS NULL AND expires_at > $3
       ORDER BY created_at DESC, id DESC LIMIT 100`,
      [who.merchantId, who.customerId, new Date(this.clock.now()).toISOString()],
    );
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at).toISOString(),
      expiresAt: new Date(r.expires_at).toISOString(),
      userAgent: r.user_agent,
      current: r.id === who.sessionId,
    }));
  }

  /** Ends one of the customer's sessions (their own, or another device's). */
  async revoke(who: CustomerPrincipal, id: string): Promise<void> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE customer_sessions SET revoked_at = $4
       WHERE merchant_id = $1 AND customer_id = $2 AND id = $3 AND revoked_at IS NULL
       RETURNING id`,
      [who.merchantId, who.customerId, id, new Date(this.clock.now()).toISOString()],
    );
    if (rows.length === 0) throw new ApiError(404, "not_found", `no open session ${id}`);
  }

  /** Ends every session of a customer (erasure, recovery). */
  async revokeAll(merchantId: string, customerId: string): Promise<void> {
    await this.db.query(
      `UPDATE customer_sessions SET revoked_at = $3
       WHERE merchant_id = $1 AND customer_id = $2 AND revoked_at IS NULL`,
      [merchantId, customerId, new Date(this.clock.now()).toISOString()],
    );
  }
}

import { randomBytes } from "node:crypto";
import { verifyWebAuthn, type WebAuthnProof } from "@patron/ledger";
import type { Database } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import type { SignedIn, Staff } from "./staff.js";

/** How long a passkey challenge may be answered, and how many may wait at once. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const MAX_CHALLENGES = 10_000;

/** Where a ceremony must have run: the node's origin, and its host as the relying party id. */
export interface Ceremony {
  origin: string;
  rpId: string;
}

export interface PasskeyView {
  id: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");

const refused = () =>
  new ApiError(401, "invalid_credentials", "this passkey does not sign in here");

/**
 * Passkey sign-in for staff (decision 10): a signed-in staff user registers a passkey by
 * answering a challenge with it (proof that they hold it); later, an assertion over a fresh
 * challenge opens a session without a password. Challenges are single use, five minutes, kept
 * in memory on the node that issued them (the one that serves the console).
 */
export class Passkeys {
  private readonly challenges = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly staff: Staff,
  ) {}

  challenge(): { challenge: string; expiresAt: string } {
    const now = this.clock.now();
    if (this.challenges.size >= MAX_CHALLENGES) {
      for (const [c, until] of this.challenges) if (until <= now) this.challenges.delete(c);
      if (this.challenges.size >= MAX_CHALLENGES) {
        throw new ApiError(429, "too_many_attempts", "too many passkey challenges pending");
      }
    }
    const challenge = b64(randomBytes(32));
    this.challenges.set(challenge, now + CHALLENGE_TTL_MS);
    return { challenge, expiresAt: new Date(now + CHALLENGE_TTL_MS).toISOString() };
  }

  /** Spends a challenge: true when it was issued here, unexpired and unused. */
  private spend(challenge: string): boolean {
    const until = this.challenges.get(challenge);
    this.challenges.delete(challenge);
    return until !== undefined && until > this.clock.now();
  }

  /** Whether the assertion verifies for one of the places the ceremony may have run. */
  private verify(
    publicKey: Uint8Array,
    challenge: string,
    proof: WebAuthnProof,
    ceremonies: readonly Ceremony[],
  ): boolean {
    return ceremonies.some((ceremony) => {
      try {
        verifyWebAuthn(proof, {
          publicKey,
          challenge: new Uint8Array(Buffer.from(challenge, "base64url")),
          origins: [ceremony.origin],
          rpId: ceremony.rpId,
          // A passkey alone signs in: the authenticator must have verified the person.
          requireUserVerification: true,
        });
        return true;
      } catch {
        return false;
      }
    });
  }

  async register(
    merchantId: string,
    staffId: string,
    input: {
      credentialId: string;
      publicKey: string;
      label: string;
      challenge: string;
      assertion: WebAuthnProof;
    },
    ceremonies: readonly Ceremony[],
  ): Promise<PasskeyView> {
    const key = new Uint8Array(Buffer.from(input.publicKey, "base64url"));
    if (!this.spend(input.challenge)) {
      throw new ApiError(400, "invalid_challenge", "the challenge is unknown, used or expired");
    }
    if (!this.verify(key, input.challenge, input.assertion, ceremonies)) {
      throw new ApiError(
        400,
        "invalid_assertion",
        "the assertion does not verify with this public key for this node",
      );
    }
    const now = new Date(this.clock.now()).toISOString();
    const { rows } = await this.db.query(
      `INSERT INTO staff_passkeys (credential_id, merchant_id, staff_id, public_key, label, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING RETURNING credential_id`,
      [input.credentialId, merchantId, staffId, key, input.label, now],
    );
    if (rows.length === 0) {
      throw new ApiError(409, "passkey_exists", "this passkey is already registered");
    }
    return { id: input.credentialId, label: input.label, createdAt: now, lastUsedAt: null };
  }

  async list(merchantId: string, staffId: string): Promise<PasskeyView[]> {
    const { rows } = await this.db.query<{
      credential_id: string;
      label: string;
      created_at: string | Date;
      last_used_at: string | Date | null;
    }>(
      `SELECT credential_id, label, created_at, last_used_at FROM staff_passkeys
       WHERE merchant_id = $1 AND staff_id = $2 ORDER BY created_at, credential_id`,
      [merchantId, staffId],
    );
    return rows.map((r) => ({
      id: r.credential_id,
      label: r.label,
      createdAt: new Date(r.created_at).toISOString(),
      lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at).toISOString(),
    }));
  }

  async remove(merchantId: string, staffId: string, credentialId: string): Promise<void> {
    const { rows } = await this.db.query(
      `DELETE FROM staff_passkeys WHERE merchant_id = $1 AND staff_id = $2 AND credential_id = $3
       RETURNING credential_id`,
      [merchantId, staffId, credentialId],
    );
    if (rows.length === 0) throw new ApiError(404, "not_found", "no such passkey of yours");
  }

  /**
   * Signs in with a passkey: the credential names the staff user (and so the merchant: the one
   * lookup across merchants, as an email is at password sign-in). Every failure is the same 401.
   */
  async signIn(
    input: { credentialId: string; challenge: string; assertion: WebAuthnProof },
    ceremonies: readonly Ceremony[],
  ): Promise<SignedIn> {
    const fresh = this.spend(input.challenge);
    const { rows } = await this.db.query<{
      merchant_id: string;
      staff_id: string;
      public_key: Uint8Array;
    }>(
      `SELECT p.merchant_id, p.staff_id, p.public_key FROM staff_passkeys p
       JOIN staff s ON s.id = p.staff_id AND s.merchant_id = p.merchant_id
       WHERE p.credential_id = $1 AND s.disabled_at IS NULL`,
      [input.credentialId],
    );
    const found = rows[0];
    if (!fresh || !found) throw refused();
    const key = new Uint8Array(found.public_key);
    if (!this.verify(key, input.challenge, input.assertion, ceremonies)) throw refused();
    await this.db.query(
      `UPDATE staff_passkeys SET last_used_at = $1
       WHERE merchant_id = $2 AND credential_id = $3`,
      [new Date(this.clock.now()).toISOString(), found.merchant_id, input.credentialId],
    );
    return this.staff.openSession(found.merchant_id, found.staff_id);
  }
}

import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import type { ConsentPurpose } from "../privacy/purposes.js";
import type { ConsentCategory } from "./entries.js";

export type ConsentStatus = "active" | "revoked" | "lapsed";

/** What the sequencer checks a consent command against: committed plus staged (decision 1). */
export interface ConsentState {
  id: string;
  merchantId: string;
  customerId: string;
  grantee: string;
  purposes: ConsentPurpose[];
  categories: ConsentCategory[];
  /** ms since the epoch. */
  validFrom: number;
  validUntil: number;
  revokeOn: string[];
  status: ConsentStatus;
  grantedIdx: bigint;
}

/** Whether a consent holds at `now`: not ended, and inside its validity. */
export const holds = (s: Pick<ConsentState, "status" | "validFrom" | "validUntil">, now: number) =>
  s.status === "active" && s.validFrom <= now && now < s.validUntil;

export interface ConsentRow {
  id: string;
  merchant_id: string;
  customer_id: string;
  grantee: string;
  purposes: string | ConsentPurpose[];
  categories: string | ConsentCategory[];
  valid_from: string | Date;
  valid_until: string | Date;
  revoke_on: string | string[];
  method: string;
  evidence: string | Record<string, unknown> | null;
  actor: string;
  status: ConsentStatus;
  ended_reason: string | null;
  ended_at: string | Date | null;
  granted_idx: string | number | bigint;
  granted_at: string | Date;
  entry_idx: string | number | bigint;
}

export const ROW_COLUMNS = `id, merchant_id, customer_id, grantee, purposes, categories, valid_from,
  valid_until, revoke_on, method, evidence, actor, status, ended_reason, ended_at, granted_idx,
  granted_at, entry_idx`;

/** jsonb comes back parsed from PGlite and node-postgres alike, but be lenient with text. */
export const parsed = <T>(v: string | T): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

export const stateOf = (r: ConsentRow): ConsentState => ({
  id: r.id,
  merchantId: r.merchant_id,
  customerId: r.customer_id,
  grantee: r.grantee,
  purposes: parsed(r.purposes),
  categories: parsed(r.categories),
  validFrom: new Date(r.valid_from).getTime(),
  validUntil: new Date(r.valid_until).getTime(),
  revokeOn: parsed(r.revoke_on),
  status: r.status,
  grantedIdx: BigInt(r.granted_idx),
});

/**
 * Consents as the sequencer sees them. Committed ones are read from the `consents` projection
 * as they are first needed and kept (a bounded cache); a command stages its change, so a later
 * command of the same batch (a revoke right after a grant) already sees it.
 */
export class ConsentStates {
  private readonly map: StagedMap<string, ConsentState>;

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
  ) {
    this.map = sequencer.state.add(new StagedMap<string, ConsentState>());
    sequencer.onRecover(async () => this.map.clearCommitted());
  }

  /** The consent as staged (inside a check) or committed; undefined when there is none. */
  async get(id: string, staged: boolean): Promise<ConsentState | undefined> {
    const known = staged ? this.map.get(id) : this.map.getCommitted(id);
    if (known) return known;
    const { rows } = await this.db.query<ConsentRow>(
      `SELECT ${ROW_COLUMNS} FROM consents WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return undefined;
    if (this.map.committedSize > 100_000) this.map.clearCommitted();
    // A batch may have committed a newer state while we read: keep that one.
    if (!this.map.hasCommitted(id)) this.map.load(id, stateOf(r));
    return (staged ? this.map.get(id) : this.map.getCommitted(id)) ?? stateOf(r);
  }

  /**
   * Inside a check: the consent of this customer at this merchant, active and not past its end
   * at `time`, or a refusal. Another customer's or merchant's consent reads as none.
   */
  async active(
    id: string,
    merchantId: string,
    customerId: string | undefined,
    time: number,
  ): Promise<ConsentState> {
    const s = await this.get(id, true);
    if (!s || s.merchantId !== merchantId || (customerId && s.customerId !== customerId)) {
      throw new ApiError(404, "not_found", `consent ${id} not found`);
    }
    if (s.status !== "active" || s.validUntil <= time) {
      throw new ApiError(
        409,
        "consent_ended",
        `consent ${id} has ended (${s.status === "active" ? "lapsed" : s.status})`,
      );
    }
    return s;
  }

  stage(s: ConsentState): void {
    this.map.set(s.id, s);
  }
}

import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { type Principal, ROLES, type Role } from "../tenancy/roles.js";

export const PURPOSE_DECLARED = "purpose.declared";

/**
 * The lawful bases a merchant may declare a purpose on (GDPR Art. 6(1)). A use on `consent`
 * holds only for customers whose valid consent covers the purpose (the consent domain checks it
 * in `DataUse.record`); the access record then names the consent's id as its basis.
 */
export const BASES = ["contract", "legal_obligation", "legitimate_interest", "consent"] as const;
export type Basis = (typeof BASES)[number];

/**
 * The purposes a customer can consent to (issue 8). A merchant's purpose on the consent basis
 * must be one of these, so that a customer's consent can name it.
 */
export const CONSENT_PURPOSES = [
  "marketing_email",
  "marketing_sms",
  "marketing_push",
  "personalisation",
  "analytics",
  "sharing",
] as const;
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];

export const isConsentPurpose = (id: string): id is ConsentPurpose =>
  (CONSENT_PURPOSES as readonly string[]).includes(id);

export interface Purpose {
  id: string;
  name: string;
  basis: Basis;
  /** The balancing test of a legitimate interest; required for that basis. */
  note: string | null;
  /** The roles whose requests use this purpose when they name none (Patron-Purpose). */
  defaultFor: Role[];
  retired: boolean;
  /** The entry that declared this version; null for the built-in default. */
  entryIndex: number | null;
}

/**
 * Every merchant starts with this purpose, the default of every role (issue: "customer
 * service", contract basis, unless changed). Declaring `customer_service` replaces it.
 */
export const CUSTOMER_SERVICE: Purpose = {
  id: "customer_service",
  name: "Customer service",
  basis: "contract",
  note: null,
  defaultFor: [...ROLES],
  retired: false,
  entryIndex: null,
};

export interface PurposeDeclaration {
  name: string;
  basis: Basis;
  note?: string;
  defaultFor?: Role[];
  retired?: boolean;
}

interface PurposePayload {
  merchantId: string;
  purpose: {
    id: string;
    name: string;
    basis: Basis;
    note?: string;
    defaultFor: Role[];
    retired: boolean;
  };
}

/** The purposes table: the latest declaration of each purpose, rebuilt by `audit`. */
export const purposesProjector: Projector = {
  types: [PURPOSE_DECLARED],
  tables: ["purposes"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e) => {
      const p = e.entry.payload as unknown as PurposePayload;
      return {
        sql: `INSERT INTO purposes (merchant_id, id, name, basis, note, default_for, retired, entry_idx)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (merchant_id, id) DO UPDATE SET name = $3, basis = $4, note = $5,
           default_for = $6, retired = $7, entry_idx = $8`,
        params: [
          p.merchantId,
          p.purpose.id,
          p.purpose.name,
          p.purpose.basis,
          p.purpose.note ?? null,
          JSON.stringify(p.purpose.defaultFor),
          p.purpose.retired,
          e.index.toString(),
        ],
      };
    });
  },
};

interface Row {
  id: string;
  name: string;
  basis: Basis;
  note: string | null;
  default_for: string | Role[];
  retired: boolean;
  entry_idx: string | number | bigint;
}

/** What a request uses personal data for, and on which basis (decision 11). */
export interface Use {
  purpose: string;
  basis: Basis;
}

/**
 * The purposes each merchant declares, each with its lawful basis. Every use of personal data
 * names one: the request's `Patron-Purpose`, or its role's default.
 */
export class Purposes {
  /** Per merchant, its purposes as declared; read once, then kept current by `declare`. */
  private readonly cache = new Map<string, Promise<Purpose[]>>();
  /** Per merchant, the declaration being written: each one checks the state the last left. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
  ) {
    sequencer.onRecover(async () => this.cache.clear());
  }

  async list(merchantId: string): Promise<Purpose[]> {
    let found = this.cache.get(merchantId);
    if (!found) {
      found = this.load(merchantId);
      this.cache.set(merchantId, found);
      found.catch(() => this.cache.delete(merchantId));
    }
    return found;
  }

  /**
   * The purpose a request uses: the one it names, or its role's default. An unknown or retired
   * purpose is refused before any data is read.
   */
  async use(p: Principal, named: string | undefined): Promise<Use> {
    const all = await this.list(p.merchantId);
    if (named === undefined) {
      const d = defaultOf(all, p.role);
      if (!d) {
        throw new ApiError(
          400,
          "purpose_required",
          `no purpose is the default of the ${p.role} role: name one in the Patron-Purpose header`,
        );
      }
      return { purpose: d.id, basis: d.basis };
    }
    const found = all.find((x) => x.id === named);
    if (!found || found.retired) {
      throw new ApiError(
        400,
        "unknown_purpose",
        `Patron-Purpose names no purpose this merchant declared (GET /v1/purposes lists them)`,
      );
    }
    return { purpose: found.id, basis: found.basis };
  }

  /**
   * Declares a purpose. A merchant's declarations run one after the other (this node is the
   * ledger's single writer), so two at once cannot each take a role's default away believing
   * the other still holds it.
   */
  declare(merchantId: string, actor: string, id: string, d: PurposeDeclaration): Promise<Purpose> {
    const before = this.writing.get(merchantId) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(() => this.declareNow(merchantId, actor, id, d));
    this.writing.set(merchantId, mine);
    mine
      .finally(() => {
        if (this.writing.get(merchantId) === mine) this.writing.delete(merchantId);
      })
      .catch(() => {});
    return mine;
  }

  private async declareNow(
    merchantId: string,
    actor: string,
    id: string,
    d: PurposeDeclaration,
  ): Promise<Purpose> {
    if (d.basis === "consent" && !isConsentPurpose(id)) {
      throw new ApiError(
        400,
        "not_a_consent_purpose",
        `only a purpose customers can consent to may rest on consent: ${CONSENT_PURPOSES.join(", ")}`,
      );
    }
    if (d.basis === "legitimate_interest" && !d.note?.trim()) {
      throw new ApiError(
        400,
        "balancing_note_required",
        "a purpose on legitimate interest needs its balancing note (`note`)",
      );
    }
    const all = await this.list(merchantId);
    const others = all.filter((x) => x.id !== id && !x.retired);
    const defaultFor = [...new Set(d.defaultFor ?? all.find((x) => x.id === id)?.defaultFor ?? [])];
    if (d.retired && defaultFor.length > 0) {
      throw new ApiError(
        409,
        "purpose_is_default",
        `a retired purpose cannot be a role's default: give ${defaultFor.join(", ")} another first`,
      );
    }
    // Every role keeps a default: taking one away is refused unless another purpose has it.
    const before = all.find((x) => x.id === id)?.defaultFor ?? [];
    for (const r of before) {
      if (!defaultFor.includes(r) && !others.some((o) => o.defaultFor.includes(r))) {
        throw new ApiError(
          409,
          "role_without_purpose",
          `the ${r} role would have no default purpose: make another purpose its default first`,
        );
      }
    }
    const purpose = {
      id,
      name: d.name,
      basis: d.basis,
      ...(d.note?.trim() ? { note: d.note.trim() } : {}),
      defaultFor,
      retired: d.retired ?? false,
    };
    const [committed] = await this.sequencer.execute({
      entries: [
        {
          type: PURPOSE_DECLARED,
          actor,
          payload: { merchantId, purpose },
          parties: [{ merchant: merchantId }],
          sealed: true,
        },
      ],
    });
    this.cache.delete(merchantId);
    const after = (await this.list(merchantId)).find((x) => x.id === id);
    if (!after || !committed) throw new Error("a declared purpose is not in its table");
    return after;
  }

  private async load(merchantId: string): Promise<Purpose[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, name, basis, note, default_for, retired, entry_idx FROM purposes
       WHERE merchant_id = $1 ORDER BY entry_idx`,
      [merchantId],
    );
    const declared = rows.map(
      (r): Purpose => ({
        id: r.id,
        name: r.name,
        basis: r.basis,
        note: r.note,
        defaultFor: typeof r.default_for === "string" ? JSON.parse(r.default_for) : r.default_for,
        retired: r.retired,
        entryIndex: Number(r.entry_idx),
      }),
    );
    const out = declared.some((p) => p.id === CUSTOMER_SERVICE.id)
      ? []
      : [{ ...CUSTOMER_SERVICE, defaultFor: [...CUSTOMER_SERVICE.defaultFor] }];
    out.push(...declared);
    // A role is the default of its latest declaration only: earlier ones lose it.
    for (const role of ROLES) {
      const holder = defaultOf(out, role);
      for (const p of out) {
        if (p !== holder) p.defaultFor = p.defaultFor.filter((r) => r !== role);
      }
    }
    return out;
  }
}

/** The latest declared purpose that is `role`'s default (the built-in one counts as oldest). */
function defaultOf(all: Purpose[], role: Role): Purpose | undefined {
  let best: Purpose | undefined;
  for (const p of all) {
    if (p.retired || !p.defaultFor.includes(role)) continue;
    if (!best || (p.entryIndex ?? -1) > (best.entryIndex ?? -1)) best = p;
  }
  return best;
}

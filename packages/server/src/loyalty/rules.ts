import type { JsonValue } from "@patron/ledger";
import {
  canonicalRuleJson,
  type Problem,
  RULE_ID,
  RuleValidationError,
  ruleHash,
  ruleVersion,
  validateRule,
} from "@patron/rules";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { Clock } from "../ledger/clock.js";
import { random } from "../ledger/salt.js";
import type { Sequencer } from "../ledger/sequencer.js";
import {
  RULE_PUBLISHED,
  RULE_RETIRED,
  type RulePublishedPayload,
  type RuleRetiredPayload,
} from "./entries.js";
import type { LoyaltyState } from "./state.js";

/** Most rules a merchant may have (drafts and published). */
export const MAX_RULES = 500;

export type RuleStatus = "draft" | "scheduled" | "active" | "retired";

export interface RuleEventView {
  event: "published" | "retired";
  version: number;
  /** A publication's document hash; null for a retirement. */
  hash: string | null;
  effectiveFrom: string;
  /** When the next event took over; null while it holds (or is scheduled). */
  effectiveUntil: string | null;
  /** A later publication or retirement replaced it before it took effect. */
  replaced: boolean;
  entryIndex: number;
  recordedAt: string;
  /**
   * A publication's own terms, from its document: its name, and the validity it sets itself
   * (`validFrom`, `validUntil`; null: none), apart from when it is in force. Null for a
   * retirement.
   */
  name: string | null;
  validFrom: string | null;
  validUntil: string | null;
}

export interface RuleView {
  id: string;
  /**
   * As of now: `active` (a version is in force), `scheduled` (the first version takes effect
   * later), `retired` (it ended), or `draft` (never published).
   */
  status: RuleStatus;
  /** The working copy that `publish` would make the next version, if any. */
  draft: { document: JsonValue; hash: string; version: number; updatedAt: string } | null;
  /** The version in force now. */
  current: { version: number; hash: string; effectiveFrom: string; document: JsonValue } | null;
  /** Every publication and retirement, oldest first. */
  history: RuleEventView[];
}

/** A refusal of a rule document: 400 `invalid_rule`, every fault with its path. */
export function invalidRule(errors: Problem[], prefix = ""): ApiError {
  const at = (p: Problem) => (prefix ? (p.path ? `${prefix}.${p.path}` : prefix) : p.path);
  const listed = errors.map((p) => ({ ...p, path: at(p) }));
  const first = listed[0];
  return new ApiError(
    400,
    "invalid_rule",
    first
      ? `${first.path || "(the document)"}: ${first.message}${listed.length > 1 ? ` (and ${listed.length - 1} more)` : ""}`
      : "the rule is not valid",
    { errors: listed },
  );
}

/** The document validated, or 400 `invalid_rule` naming every fault. */
export function checkedDocument(document: unknown, prefix = ""): JsonValue {
  const v = validateRule(document);
  if (!v.ok) throw invalidRule(v.errors, prefix);
  return document as JsonValue;
}

interface DraftRow {
  rule_id: string;
  document: string;
  hash: string;
  updated_at: string | Date;
}

interface EventRow {
  rule_id: string;
  entry_idx: string | number;
  kind: "published" | "retired";
  version: number;
  hash: string | null;
  document: string | null;
  effective_from: string | Date;
  effective_until: string | Date | null;
  cancelled_idx: string | number | null;
  recorded_at: string | Date;
}

const iso = (v: string | Date) => new Date(v).toISOString();

/** A published document's name and own validity (none for a retirement, which has no document). */
function ownTerms(
  document: string | null,
): Pick<RuleEventView, "name" | "validFrom" | "validUntil"> {
  const doc = document === null ? {} : (JSON.parse(document) as Record<string, unknown>);
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return { name: text(doc.name), validFrom: text(doc.validFrom), validUntil: text(doc.validUntil) };
}

/**
 * Earning (and later redemption, tier and expiry) rules: drafts a merchant edits freely, and
 * versions published on the ledger as public `rule.published` entries carrying the whole
 * document and its hash. A publication takes effect at once or at a later time, never an
 * earlier one; a new version supersedes the one before from its time on; a retirement ends the
 * rule. Publications and retirements are checked against the staged rule book (decision 1).
 */
export class Rules {
  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly state: LoyaltyState,
  ) {}

  /**
   * Saves a draft: a new rule (`id` given or made up), or the next version of an existing one,
   * replacing its earlier draft. The document is validated first; nothing is saved otherwise.
   */
  async saveDraft(
    merchantId: string,
    actor: string,
    id: string | undefined,
    document: unknown,
  ): Promise<{ id: string; created: boolean }> {
    const doc = checkedDocument(document, "document");
    const ruleId = id ?? `r${random(6).toString("hex")}`;
    if (!RULE_ID.test(ruleId)) throw new ApiError(400, "invalid_request", "body/id: not a rule id");
    const known = await this.known(merchantId, ruleId);
    if (!known) {
      const { rows } = await this.db.query<{ n: string | number }>(
        `SELECT count(*) AS n FROM (SELECT rule_id FROM loyalty_rule_drafts WHERE merchant_id = $1
         UNION SELECT rule_id FROM loyalty_rule_events WHERE merchant_id = $1) r`,
        [merchantId],
      );
      if (Number(rows[0]?.n ?? 0) >= MAX_RULES) {
        throw new ApiError(409, "too_many_rules", `a merchant has at most ${MAX_RULES} rules`);
      }
    }
    const now = new Date(this.clock.now()).toISOString();
    await this.db.query(
      `INSERT INTO loyalty_rule_drafts (merchant_id, rule_id, document, hash, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (merchant_id, rule_id) DO UPDATE SET document = $3, hash = $4, created_by = $5,
         updated_at = $6`,
      [merchantId, ruleId, canonicalRuleJson(doc), ruleHash(doc), actor, now],
    );
    return { id: ruleId, created: !known };
  }

  /** Whether the merchant has a rule of this id: a draft, or a publication. */
  private async known(merchantId: string, ruleId: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `SELECT 1 FROM loyalty_rule_drafts WHERE merchant_id = $1 AND rule_id = $2
       UNION ALL SELECT 1 FROM loyalty_rule_events WHERE merchant_id = $1 AND rule_id = $2 LIMIT 1`,
      [merchantId, ruleId],
    );
    return rows.length > 0;
  }

  /** Drops a rule's draft; 404 when it has none. */
  async deleteDraft(merchantId: string, ruleId: string): Promise<void> {
    const { rows } = await this.db.query(
      "DELETE FROM loyalty_rule_drafts WHERE merchant_id = $1 AND rule_id = $2 RETURNING rule_id",
      [merchantId, ruleId],
    );
    if (rows.length === 0) throw new ApiError(404, "not_found", `rule ${ruleId} has no draft`);
  }

  /** The draft of a rule, if any. */
  async draft(
    merchantId: string,
    ruleId: string,
  ): Promise<{ document: JsonValue; hash: string } | undefined> {
    const { rows } = await this.db.query<DraftRow>(
      "SELECT rule_id, document, hash, updated_at FROM loyalty_rule_drafts WHERE merchant_id = $1 AND rule_id = $2",
      [merchantId, ruleId],
    );
    const r = rows[0];
    return r ? { document: JSON.parse(r.document) as JsonValue, hash: r.hash } : undefined;
  }

  /**
   * Publishes a rule's draft as its next version: a public `rule.published` entry with the
   * whole document, its hash and version, in force from `effectiveFrom` (ms; default: the
   * entry's own time). The draft is gone once it is published.
   */
  async publish(
    merchantId: string,
    actor: string,
    ruleId: string,
    effectiveFrom?: number,
  ): Promise<{ version: number; hash: string; effectiveFrom: string; entryIndex: number }> {
    const draft = await this.draft(merchantId, ruleId);
    if (!draft) {
      if (await this.known(merchantId, ruleId)) {
        throw new ApiError(409, "no_draft", `rule ${ruleId} has no draft to publish`);
      }
      throw new ApiError(404, "not_found", `rule ${ruleId} not found`);
    }
    refusePast(effectiveFrom, this.clock.now());
    let payload: RulePublishedPayload | undefined;
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: RULE_PUBLISHED,
          actor,
          parties: [{ merchant: merchantId }],
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const from = effectiveFrom ?? ctx.time;
        refusePast(from, ctx.time);
        const book = await this.state.book(merchantId);
        const t = book.get(ruleId);
        const last = t?.events.at(-1);
        // The same document already holding from `from` on, with nothing after it: no change.
        // (Bringing a version scheduled for later forward is one.)
        if (
          last?.kind === "published" &&
          last.from <= from &&
          t?.versions.get(last.version)?.hash === draft.hash
        ) {
          throw new ApiError(
            409,
            "unchanged",
            `the draft is version ${last.version} of rule ${ruleId}, already published`,
          );
        }
        const version = (t?.latest ?? 0) + 1;
        let rv: ReturnType<typeof ruleVersion>;
        try {
          rv = ruleVersion(ruleId, version, draft.document, draft.hash);
        } catch (err) {
          if (err instanceof RuleValidationError) throw invalidRule(err.errors, "document");
          throw err;
        }
        this.state.stageBook(
          merchantId,
          book.apply(ruleId, { kind: "published", version, from, index: ctx.index }, rv),
        );
        payload = {
          merchantId,
          ruleId,
          version,
          hash: rv.hash,
          document: draft.document as RulePublishedPayload["document"],
          effectiveFrom: new Date(from).toISOString(),
        };
      },
      // The draft is used up, unless it was changed meanwhile (then the new one stays).
      writes: () => [
        {
          sql: "DELETE FROM loyalty_rule_drafts WHERE merchant_id = $1 AND rule_id = $2 AND hash = $3",
          params: [merchantId, ruleId, draft.hash],
        },
      ],
    });
    if (!entry || !payload) throw new Error("a publication committed no entry");
    return {
      version: payload.version,
      hash: payload.hash,
      effectiveFrom: payload.effectiveFrom,
      entryIndex: Number(entry.index),
    };
  }

  /**
   * Retires a rule from `effectiveFrom` (ms; default: the entry's time): a public
   * `rule.retired` entry. A version or retirement scheduled at or after that time never takes
   * effect, so retiring sooner than a scheduled retirement replaces it; a retirement that would
   * change nothing (the rule is retired from that time on already) is `409 already_retired`.
   */
  async retire(
    merchantId: string,
    actor: string,
    ruleId: string,
    effectiveFrom?: number,
  ): Promise<{ version: number; effectiveFrom: string; entryIndex: number }> {
    refusePast(effectiveFrom, this.clock.now());
    let payload: RuleRetiredPayload | undefined;
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: RULE_RETIRED,
          actor,
          parties: [{ merchant: merchantId }],
          payload: () => payload as unknown as JsonValue,
        },
      ],
      check: async (ctx) => {
        const from = effectiveFrom ?? ctx.time;
        refusePast(from, ctx.time);
        const book = await this.state.book(merchantId);
        const t = book.get(ruleId);
        if (!t || t.events.length === 0) {
          if (await this.known(merchantId, ruleId)) {
            throw new ApiError(409, "not_published", `rule ${ruleId} was never published`);
          }
          throw new ApiError(404, "not_found", `rule ${ruleId} not found`);
        }
        const covering = book.retiredFrom(ruleId, from);
        if (covering) {
          const since = new Date(covering.from).toISOString();
          throw new ApiError(
            409,
            "already_retired",
            covering.from <= ctx.time
              ? `rule ${ruleId} is already retired (since ${since})`
              : `rule ${ruleId} is already retired from ${since}, at or before the time asked; to retire it sooner, give an earlier effectiveFrom`,
          );
        }
        this.state.stageBook(
          merchantId,
          book.apply(ruleId, { kind: "retired", version: t.latest, from, index: ctx.index }),
        );
        payload = {
          merchantId,
          ruleId,
          version: t.latest,
          effectiveFrom: new Date(from).toISOString(),
        };
      },
    });
    if (!entry || !payload) throw new Error("a retirement committed no entry");
    return {
      version: payload.version,
      effectiveFrom: payload.effectiveFrom,
      entryIndex: Number(entry.index),
    };
  }

  /** The merchant's rules (or one), as committed, with their status as of now. */
  async list(merchantId: string, ruleId?: string): Promise<RuleView[]> {
    const one = ruleId === undefined ? "" : "AND rule_id = $2";
    const params = ruleId === undefined ? [merchantId] : [merchantId, ruleId];
    const [drafts, events] = await Promise.all([
      this.db.query<DraftRow>(
        `SELECT rule_id, document, hash, updated_at FROM loyalty_rule_drafts
         WHERE merchant_id = $1 ${one}`,
        params,
      ),
      this.db.query<EventRow>(
        `SELECT rule_id, entry_idx, kind, version, hash, document, effective_from, effective_until,
           cancelled_idx, recorded_at
         FROM loyalty_rule_events WHERE merchant_id = $1 ${one} ORDER BY entry_idx`,
        params,
      ),
    ]);
    const now = this.clock.now();
    const ids = [
      ...new Set([...drafts.rows.map((r) => r.rule_id), ...events.rows.map((r) => r.rule_id)]),
    ].sort();
    return ids.map((id) => {
      const history = events.rows.filter((r) => r.rule_id === id);
      const d = drafts.rows.find((r) => r.rule_id === id);
      const live = history.filter((r) => r.cancelled_idx === null);
      const holding = live.filter((r) => new Date(r.effective_from).getTime() <= now).at(-1);
      const latest = history.reduce(
        (n, r) => (r.kind === "published" ? Math.max(n, Number(r.version)) : n),
        0,
      );
      let status: RuleStatus = "draft";
      if (holding) status = holding.kind === "published" ? "active" : "retired";
      else if (live.length > 0) status = "scheduled";
      return {
        id,
        status,
        draft: d
          ? {
              document: JSON.parse(d.document) as JsonValue,
              hash: d.hash,
              version: latest + 1,
              updatedAt: iso(d.updated_at),
            }
          : null,
        current:
          holding?.kind === "published"
            ? {
                version: Number(holding.version),
                hash: holding.hash as string,
                effectiveFrom: iso(holding.effective_from),
                document: JSON.parse(holding.document as string) as JsonValue,
              }
            : null,
        history: history.map((r) => ({
          ...ownTerms(r.document),
          event: r.kind,
          version: Number(r.version),
          hash: r.hash,
          effectiveFrom: iso(r.effective_from),
          effectiveUntil: r.effective_until === null ? null : iso(r.effective_until),
          replaced: r.cancelled_idx !== null,
          entryIndex: Number(r.entry_idx),
          recordedAt: iso(r.recorded_at),
        })),
      };
    });
  }

  async get(merchantId: string, ruleId: string): Promise<RuleView> {
    const [found] = await this.list(merchantId, ruleId);
    if (!found) throw new ApiError(404, "not_found", `rule ${ruleId} not found`);
    return found;
  }
}

/** A publication or retirement never takes effect before it is written. */
function refusePast(from: number | undefined, now: number): void {
  if (from !== undefined && from < now) {
    throw new ApiError(
      400,
      "effective_in_past",
      `effectiveFrom is in the past (now is ${new Date(now).toISOString()}): a rule takes effect now or later`,
    );
  }
}

import type { JsonValue } from "@patron/ledger";
import type { Queryable, Statement } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CommittedEntry, Projector, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import { type Condition, parseCondition } from "./condition.js";
import { conditionSql } from "./sql.js";

export const SEGMENT_DEFINED = "segment.defined";
export const SEGMENT_CHANGED = "segment.changed";
export const SEGMENT_DELETED = "segment.deleted";

interface SegmentPayload {
  merchantId: string;
  segmentId: string;
  name?: string;
  condition?: JsonValue;
}

/**
 * The segments table: each segment's latest name and condition, rebuilt by `audit` from the
 * entries. A change carries only what changed; a deleted segment keeps its row, marked.
 */
export const segmentsProjector: Projector = {
  types: [SEGMENT_DEFINED, SEGMENT_CHANGED, SEGMENT_DELETED],
  tables: ["segments"],
  statements(entries: CommittedEntry[]): Statement[] {
    return entries.map((e): Statement => {
      const p = e.entry.payload as unknown as SegmentPayload;
      const idx = e.index.toString();
      if (e.entry.type === SEGMENT_DEFINED) {
        return {
          sql: `INSERT INTO segments (id, merchant_id, name, condition, status, created_at, updated_at, created_idx, entry_idx)
           VALUES ($1, $2, $3, $4::jsonb, 'active', $5, $5, $6, $6)`,
          params: [
            p.segmentId,
            p.merchantId,
            p.name,
            JSON.stringify(p.condition),
            e.entry.time,
            idx,
          ],
        };
      }
      if (e.entry.type === SEGMENT_CHANGED) {
        return {
          sql: `UPDATE segments SET name = COALESCE($3, name), condition = COALESCE($4::jsonb, condition),
             updated_at = $5, entry_idx = $6 WHERE id = $1 AND merchant_id = $2`,
          params: [
            p.segmentId,
            p.merchantId,
            p.name ?? null,
            p.condition === undefined ? null : JSON.stringify(p.condition),
            e.entry.time,
            idx,
          ],
        };
      }
      return {
        sql: `UPDATE segments SET status = 'deleted', updated_at = $3, entry_idx = $4
         WHERE id = $1 AND merchant_id = $2`,
        params: [p.segmentId, p.merchantId, e.entry.time, idx],
      };
    });
  },
};

export interface SegmentView {
  id: string;
  name: string;
  condition: JsonValue;
  createdAt: string;
  updatedAt: string;
  /** The entry that last defined or changed it. */
  entryIndex: number;
}

interface Row {
  id: string;
  name: string;
  condition: JsonValue;
  created_at: string | Date;
  updated_at: string | Date;
  created_idx: bigint | number | string;
  entry_idx: bigint | number | string;
}

const view = (r: Row): SegmentView => ({
  id: r.id,
  name: r.name,
  condition: r.condition,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
  entryIndex: Number(r.entry_idx),
});

/** A WHERE clause over `customers` that pushes its values onto the query's parameters. */
export type CustomerFilter = (params: unknown[]) => string;

const notFound = (id: string) => new ApiError(404, "not_found", `segment ${id} not found`);

/**
 * A segment's name as two names are compared within a merchant: "VIP regulars" and
 * " vip  Regulars" are one name to a person picking from a list.
 */
export const nameKey = (merchantId: string, name: string) =>
  `${merchantId}\n${name.normalize("NFC").trim().replace(/\s+/gu, " ").toLowerCase()}`;

const nameTaken = (name: string) => {
  const message = `the merchant has a segment named "${name.trim()}" already (names are compared ignoring case and spaces around them): choose another name`;
  return new ApiError(409, "segment_name_taken", message, [{ path: "body/name", message }]);
};

/**
 * Segments of every merchant: a definition is a sealed entry on the merchant's chain only
 * (decision 6), and a condition is evaluated in SQL over the customers' facts.
 */
export class Segments {
  /** Segments deleted, committed or staged: no change or second deletion may follow. */
  private readonly deleted: StagedMap<string, true>;
  /**
   * How many live segments hold each name (`nameKey`), and the name each holds: checked and
   * staged in the sequencer's one order, so two requests for one name cannot both pass. Not a
   * unique index on the table: it is a projection of entries, rebuilt by audit, and ledgers
   * written before names were unique may hold two of one name (hence a count).
   */
  private readonly names: StagedMap<string, number>;
  private readonly nameOf: StagedMap<string, string>;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
  ) {
    this.deleted = sequencer.state.add(new StagedMap<string, true>());
    this.names = sequencer.state.add(new StagedMap<string, number>());
    this.nameOf = sequencer.state.add(new StagedMap<string, string>());
    // A deletion whose commit's answer was lost is read from the table again on demand.
    sequencer.onRecover(async () => {
      this.deleted.clearCommitted();
      await this.load();
    });
  }

  /** Loads the live segments' names (a few per merchant), before any request. */
  async load(): Promise<void> {
    this.names.clearCommitted();
    this.nameOf.clearCommitted();
    const { rows } = await this.db.query<{ id: string; merchant_id: string; name: string }>(
      "SELECT id, merchant_id, name FROM segments WHERE status = 'active'",
    );
    for (const r of rows) {
      const key = nameKey(r.merchant_id, r.name);
      this.nameOf.load(r.id, key);
      this.names.load(key, (this.names.getCommitted(key) ?? 0) + 1);
    }
  }

  /** Stages the segment's name as `name` (none: it is deleted); 409 when another holds it. */
  private claimName(merchantId: string, id: string, name: string | undefined) {
    const from = this.nameOf.get(id);
    const to = name === undefined ? undefined : nameKey(merchantId, name);
    if (from === to) return;
    if (to !== undefined && (this.names.get(to) ?? 0) > 0) throw nameTaken(name as string);
    if (from !== undefined) this.names.set(from, Math.max(0, (this.names.get(from) ?? 1) - 1));
    if (to === undefined) {
      this.nameOf.delete(id);
      return;
    }
    this.names.set(to, 1);
    this.nameOf.set(id, to);
  }

  async define(merchantId: string, actor: string, input: { name: string; condition: unknown }) {
    const condition = checked(input.condition);
    const id = newId("s");
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: SEGMENT_DEFINED,
          actor,
          parties: [{ merchant: merchantId }],
          sealed: true,
          payload: { merchantId, segmentId: id, name: input.name, condition },
        },
      ],
      check: () => this.claimName(merchantId, id, input.name),
    });
    if (!entry) throw new Error("a segment definition committed no entry");
    return { id, index: entry.index };
  }

  async change(
    merchantId: string,
    id: string,
    actor: string,
    patch: { name?: string; condition?: unknown },
  ) {
    const current = await this.get(merchantId, id);
    if (!current) throw notFound(id);
    const condition = patch.condition === undefined ? undefined : checked(patch.condition);
    const changed: Partial<SegmentPayload> = {};
    if (patch.name !== undefined && patch.name !== current.name) changed.name = patch.name;
    if (
      condition !== undefined &&
      JSON.stringify(condition) !== JSON.stringify(current.condition)
    ) {
      changed.condition = condition;
    }
    if (Object.keys(changed).length === 0) return { changed: false };
    await this.sequencer.execute({
      entries: [
        {
          type: SEGMENT_CHANGED,
          actor,
          parties: [{ merchant: merchantId }],
          sealed: true,
          payload: { merchantId, segmentId: id, ...changed } as unknown as JsonValue,
        },
      ],
      check: () => {
        this.checkLive(id);
        if (changed.name !== undefined) this.claimName(merchantId, id, changed.name);
      },
    });
    return { changed: true };
  }

  async remove(merchantId: string, id: string, actor: string) {
    if (!(await this.get(merchantId, id))) throw notFound(id);
    const [entry] = await this.sequencer.execute({
      entries: [
        {
          type: SEGMENT_DELETED,
          actor,
          parties: [{ merchant: merchantId }],
          sealed: true,
          payload: { merchantId, segmentId: id },
        },
      ],
      check: () => {
        this.checkLive(id);
        this.deleted.set(id, true);
        // Its name is free again for a new segment.
        this.claimName(merchantId, id, undefined);
      },
    });
    if (!entry) throw new Error("a segment deletion committed no entry");
    return { id, index: entry.index, time: entry.entry.time };
  }

  /** A live segment of this merchant, or undefined (another merchant's is not found either). */
  get(merchantId: string, id: string): Promise<SegmentView | undefined> {
    return liveSegment(this.db, merchantId, id);
  }

  /** The merchant's live segments, newest first. */
  async list(merchantId: string, q: { before?: bigint; limit: number }) {
    const params: unknown[] = [merchantId, q.limit + 1];
    if (q.before !== undefined) params.push(q.before.toString());
    const { rows } = await this.db.query<Row>(
      `SELECT id, name, condition, created_at, updated_at, created_idx, entry_idx FROM segments
       WHERE merchant_id = $1 AND status = 'active' ${q.before === undefined ? "" : "AND created_idx < $3"}
       ORDER BY created_idx DESC LIMIT $2`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      segments: page.map(view),
      next: rows.length > q.limit && last ? BigInt(last.created_idx) : null,
    };
  }

  /** The filter of a live segment, for customer lists; 404 for none. */
  filter(merchantId: string, id: string): Promise<CustomerFilter> {
    return segmentFilter(this.db, merchantId, id);
  }

  /** How many active customers of the merchant a condition selects: the builder's live count. */
  async count(merchantId: string, condition: Condition): Promise<number> {
    const params: unknown[] = [merchantId];
    const where = conditionSql(condition, params);
    const { rows } = await this.db.query<{ n: bigint | number | string }>(
      `SELECT count(*) AS n FROM customers
       WHERE merchant_id = $1 AND status = 'active' AND (${where})`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  private checkLive(id: string) {
    if (this.deleted.get(id)) throw notFound(id);
  }
}

/** A condition checked against the subset (400 `invalid_condition` otherwise), as stored. */
function checked(condition: unknown): JsonValue {
  parseCondition(condition);
  return condition as JsonValue;
}

async function liveSegment(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<SegmentView | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT id, name, condition, created_at, updated_at, created_idx, entry_idx FROM segments
     WHERE id = $1 AND merchant_id = $2 AND status = 'active'`,
    [id, merchantId],
  );
  return rows[0] && view(rows[0]);
}

/**
 * The customer filter of a merchant's live segment (`GET /v1/customers?segment=`); 404 for an
 * unknown, deleted or other merchant's segment.
 */
export async function segmentFilter(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<CustomerFilter> {
  const s = await liveSegment(db, merchantId, id);
  if (!s) throw notFound(id);
  return filterOf(parseCondition(s.condition));
}

export const filterOf =
  (c: Condition): CustomerFilter =>
  (params) =>
    conditionSql(c, params);

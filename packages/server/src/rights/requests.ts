import type { JsonValue } from "@patron/ledger";
import type { Customers } from "../customers/customers.js";
import type { CustomerPatch } from "../customers/profile.js";
import type { Queryable } from "../db/database.js";
import { ApiError } from "../http/errors.js";
import type { CustomerData } from "../identity/portal.js";
import type { Clock } from "../ledger/clock.js";
import type { CommandDraft, EntryDraft, Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import { newId } from "../tenancy/tenancy.js";
import {
  REQUEST_CLOSED,
  REQUEST_EXTENDED,
  REQUEST_RECEIVED,
  REQUEST_VERIFIED,
  type RequestKind,
  type RequestPayload,
} from "./entries.js";

export interface SubjectRequest {
  id: string;
  customerId: string;
  kind: RequestKind;
  channel: string;
  status: "received" | "verified" | "completed" | "rejected";
  checks: string[];
  receivedAt: string;
  dueAt: string;
  extended: boolean;
  overdue: boolean;
  closedAt: string | null;
  /** Why it was refused, for a rejected one. */
  reason: string | null;
  receivedIndex: number;
  entryIndex: number;
}

interface Row {
  id: string;
  customer_id: string;
  kind: RequestKind;
  channel: string;
  status: SubjectRequest["status"];
  checks: string[] | string;
  received_at: Date | string;
  due_at: Date | string;
  extended: boolean;
  closed_at: Date | string | null;
  outcome: string | null;
  received_idx: string | number;
  entry_idx: string | number;
}

const COLUMNS =
  "id, customer_id, kind, channel, status, checks, received_at, due_at, extended, closed_at, outcome, received_idx, entry_idx";

/** Art. 12(3): one month from receipt, extendable by two further months. */
export const addMonths = (ms: number, months: number) => {
  const d = new Date(ms);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  // 31 January + one month is the last day of February, not 3 March.
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
};

const isClosed = (status: SubjectRequest["status"] | undefined) =>
  status === "completed" || status === "rejected";

const openError = (r: SubjectRequest) =>
  new ApiError(
    409,
    "request_open",
    `customer ${r.customerId} has an open ${r.kind} request (${r.id}, due ${r.dueAt}): answer it, or reject it, first`,
    { requestId: r.id },
  );

/**
 * The data-subject request queue: access, export, rectification and erasure requests from the
 * portal (signed by the customer's key, which is its identity check), by email or from staff,
 * each with its identity checks, its legal deadline and its status, every step an entry on the
 * customer's chain. Executing a request calls what it asks for.
 */
export class SubjectRequests {
  /** Open requests' statuses, staged in command order (a request is closed once). */
  private readonly open: StagedMap<string, SubjectRequest["status"]>;
  /**
   * The open request of each customer and kind received since the start, by `customer kind`
   * (those before are found in the projection): one at a time, so that a second one received
   * while the first is being sequenced is refused too.
   */
  private readonly openOfKind: StagedMap<string, string>;

  constructor(
    private readonly db: Queryable,
    private readonly sequencer: Sequencer,
    private readonly clock: Clock,
    private readonly customers: () => Customers,
    private readonly data: () => CustomerData | undefined,
  ) {
    this.open = sequencer.state.add(new StagedMap<string, SubjectRequest["status"]>());
    this.openOfKind = sequencer.state.add(new StagedMap<string, string>());
    sequencer.onRecover(async () => {
      this.open.clearCommitted();
      this.openOfKind.clearCommitted();
    });
  }

  private view(r: Row): SubjectRequest {
    const due = new Date(r.due_at).toISOString();
    const closed = r.status === "completed" || r.status === "rejected";
    return {
      id: r.id,
      customerId: r.customer_id,
      kind: r.kind,
      channel: r.channel,
      status: r.status,
      checks: typeof r.checks === "string" ? JSON.parse(r.checks) : r.checks,
      receivedAt: new Date(r.received_at).toISOString(),
      dueAt: due,
      extended: r.extended,
      overdue: !closed && Date.parse(due) <= this.clock.now(),
      closedAt: r.closed_at === null ? null : new Date(r.closed_at).toISOString(),
      reason: r.outcome,
      receivedIndex: Number(r.received_idx),
      entryIndex: Number(r.entry_idx),
    };
  }

  async get(merchantId: string, id: string): Promise<SubjectRequest> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM subject_requests WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    if (!rows[0]) throw new ApiError(404, "not_found", `no data-subject request ${id}`);
    return this.view(rows[0]);
  }

  async list(
    merchantId: string,
    q: { status?: "open" | "closed"; customerIds?: readonly string[]; limit: number },
  ): Promise<SubjectRequest[]> {
    const where = ["merchant_id = $1"];
    const params: unknown[] = [merchantId];
    if (q.status === "open") where.push("status IN ('received', 'verified')");
    if (q.status === "closed") where.push("status IN ('completed', 'rejected')");
    if (q.customerIds) {
      params.push(q.customerIds);
      where.push(`customer_id = ANY($${params.length}::text[])`);
    }
    params.push(q.limit);
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM subject_requests WHERE ${where.join(" AND ")}
       ORDER BY due_at, id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => this.view(r));
  }

  /** The draft of a new request (a signed `request.submit` runs it through its own route). */
  async receiveDraft(
    merchantId: string,
    customerId: string,
    input: { kind: RequestKind; channel: string; checks: string[] },
    actor: string,
  ): Promise<{ id: string; draft: CommandDraft }> {
    const status = await this.customers().status(merchantId, customerId);
    if (status === undefined)
      throw new ApiError(404, "not_found", `customer ${customerId} not found`);
    if (status !== "active") {
      throw new ApiError(409, `customer_${status}`, `customer ${customerId} is ${status}`);
    }
    // A second request of a kind while one is open asks for nothing more: the open one is
    // answered (or rejected) first.
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM subject_requests
       WHERE merchant_id = $1 AND customer_id = $2 AND kind = $3 AND status IN ('received', 'verified')
       ORDER BY received_idx LIMIT 1`,
      [merchantId, customerId, input.kind],
    );
    const known = rows[0];
    if (known !== undefined && !isClosed(this.open.get(known.id))) {
      throw openError(this.view(known));
    }
    const key = `${customerId} ${input.kind}`;
    const id = newId("dsr");
    return {
      id,
      draft: {
        entries: [
          {
            type: REQUEST_RECEIVED,
            actor,
            parties: [{ customer: customerId }, { merchant: merchantId }],
            sealed: true,
            payload: (ctx) =>
              ({
                merchantId,
                customerId,
                requestId: id,
                kind: input.kind,
                channel: input.channel,
                checks: [...new Set(input.checks)].sort(),
                dueAt: addMonths(ctx.time, 1).toISOString(),
              }) satisfies RequestPayload as unknown as JsonValue,
          },
        ],
        check: () => {
          this.customers().checkActive(customerId);
          const other = this.openOfKind.get(key);
          if (other !== undefined && !isClosed(this.open.get(other))) {
            throw new ApiError(
              409,
              "request_open",
              `customer ${customerId} has an open ${input.kind} request (${other}): answer it, or reject it, first`,
              { requestId: other },
            );
          }
          this.open.set(id, input.checks.length > 0 ? "verified" : "received");
          this.openOfKind.set(key, id);
        },
      },
    };
  }

  async receive(
    merchantId: string,
    customerId: string,
    input: { kind: RequestKind; channel: string; checks: string[] },
    actor: string,
  ): Promise<SubjectRequest> {
    const { id, draft } = await this.receiveDraft(merchantId, customerId, input, actor);
    await this.sequencer.execute(draft);
    return this.get(merchantId, id);
  }

  /** A step's entry: on the customer's chain, sealed, naming the request. */
  private entry(
    merchantId: string,
    r: SubjectRequest,
    type: string,
    actor: string,
    payload: Partial<RequestPayload>,
  ): EntryDraft {
    return {
      type,
      actor,
      parties: [{ customer: r.customerId }, { merchant: merchantId }],
      sealed: true,
      payload: {
        merchantId,
        customerId: r.customerId,
        requestId: r.id,
        ...payload,
      } as unknown as JsonValue,
    };
  }

  /**
   * Stages a request's next status in the sequencer's order (refused once it is closed), and
   * frees its kind for the customer when it closes.
   */
  private stage(r: SubjectRequest, next: SubjectRequest["status"], closedError: string): void {
    const now = this.open.get(r.id) ?? r.status;
    if (isClosed(now)) throw new ApiError(409, "request_closed", closedError);
    this.open.set(r.id, next);
    const key = `${r.customerId} ${r.kind}`;
    if (isClosed(next) && this.openOfKind.get(key) === r.id) this.openOfKind.delete(key);
  }

  /** One step of an open request: an entry on the customer's chain, in order with the rest. */
  private async step(
    merchantId: string,
    r: SubjectRequest,
    type: string,
    actor: string,
    payload: Partial<RequestPayload>,
    next: SubjectRequest["status"],
  ): Promise<SubjectRequest> {
    await this.sequencer.execute({
      entries: [this.entry(merchantId, r, type, actor, payload)],
      check: () => {
        const now = this.open.get(r.id) ?? r.status;
        this.stage(r, next, `request ${r.id} is already ${now}`);
      },
    });
    return this.get(merchantId, r.id);
  }

  private async openOne(merchantId: string, id: string): Promise<SubjectRequest> {
    const r = await this.get(merchantId, id);
    if (r.status === "completed" || r.status === "rejected") {
      throw new ApiError(409, "request_closed", `request ${id} is already ${r.status}`);
    }
    return r;
  }

  async verify(merchantId: string, id: string, checks: string[], actor: string) {
    const r = await this.openOne(merchantId, id);
    const all = [...new Set([...r.checks, ...checks])].sort();
    return this.step(merchantId, r, REQUEST_VERIFIED, actor, { checks: all }, "verified");
  }

  async extend(merchantId: string, id: string, months: 1 | 2, reason: string, actor: string) {
    const r = await this.openOne(merchantId, id);
    if (r.extended) {
      throw new ApiError(
        409,
        "already_extended",
        "a request is extended once, by at most two months",
      );
    }
    const dueAt = addMonths(Date.parse(r.dueAt), months).toISOString();
    return this.step(merchantId, r, REQUEST_EXTENDED, actor, { dueAt, reason }, r.status);
  }

  async reject(merchantId: string, id: string, reason: string, actor: string) {
    const r = await this.openOne(merchantId, id);
    return this.step(
      merchantId,
      r,
      REQUEST_CLOSED,
      actor,
      { outcome: "rejected", reason },
      "rejected",
    );
  }

  /**
   * The customers' open requests, closed by their erasure (`Customers.closing`): an erasure
   * request as completed (the erasure is what it asked for), any other as rejected for
   * `no_such_data` (nothing is left to give or to correct). Their entries go in the erasure's
   * command, so that no request of an erased customer stays open and runs overdue. `except`,
   * the request carrying the erasure out, is closed by it after, naming the erasure's entry.
   */
  async closingOnErasure(
    merchantId: string,
    customerIds: readonly string[],
    except: string | undefined,
    actor: string,
  ): Promise<{ entries: EntryDraft[]; check(): void }> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM subject_requests
       WHERE merchant_id = $1 AND customer_id = ANY($2::text[]) AND status IN ('received', 'verified')
       ORDER BY received_idx`,
      [merchantId, customerIds],
    );
    const open = rows
      .map((r) => this.view(r))
      .filter((r) => r.id !== except && !isClosed(this.open.get(r.id)));
    const outcome = (r: SubjectRequest) =>
      r.kind === "erasure"
        ? ({ outcome: "completed" } as const)
        : ({ outcome: "rejected", reason: "no_such_data" } as const);
    return {
      entries: open.map((r) => this.entry(merchantId, r, REQUEST_CLOSED, actor, outcome(r))),
      check: () => {
        for (const r of open) {
          this.stage(
            r,
            outcome(r).outcome,
            `request ${r.id} was closed while the erasure was prepared: try again`,
          );
        }
      },
    };
  }

  /**
   * Carries a verified request out: an erasure erases (keeping what retention policies hold),
   * a rectification applies the patch, an access or export request returns the export bundle
   * to send the customer. Then the request is closed, naming the entry that did it.
   */
  async execute(
    merchantId: string,
    id: string,
    actor: string,
    patch?: CustomerPatch,
  ): Promise<{ request: SubjectRequest; export?: Record<string, JsonValue> }> {
    const r = await this.openOne(merchantId, id);
    if (r.status !== "verified") {
      throw new ApiError(
        409,
        "not_verified",
        "the requester's identity is not checked yet: record the checks first (verify)",
      );
    }
    let entryIndex: number | undefined;
    let bundle: Record<string, JsonValue> | undefined;
    if (r.kind === "erasure") {
      const erased = await this.customers().erase(
        merchantId,
        r.customerId,
        actor,
        "request",
        undefined,
        r.id,
      );
      entryIndex = Number(erased.index);
    } else if (r.kind === "rectification") {
      if (!patch) {
        throw new ApiError(
          400,
          "invalid_request",
          "a rectification needs the corrected fields (patch)",
        );
      }
      const done = await this.customers().update(merchantId, r.customerId, actor, patch);
      if (done.index !== undefined) entryIndex = Number(done.index);
    } else {
      const data = this.data();
      if (!data) throw new Error("the rights domain needs the identity domain's export");
      const merged = await this.customers().mergedInto(merchantId, r.customerId);
      bundle = await data.export({
        merchantId,
        customerId: r.customerId,
        actor: null,
        records: [r.customerId, ...merged],
      });
    }
    const request = await this.step(
      merchantId,
      r,
      REQUEST_CLOSED,
      actor,
      { outcome: "completed", ...(entryIndex !== undefined ? { entryIndex } : {}) },
      "completed",
    );
    return { request, ...(bundle ? { export: bundle } : {}) };
  }
}

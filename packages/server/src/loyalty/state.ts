import { type RuleVersion, ruleVersion } from "@patron/rules";
import type { Queryable } from "../db/database.js";
import type { Clock } from "../ledger/clock.js";
import type { Sequencer } from "../ledger/sequencer.js";
import { StagedMap } from "../ledger/staged.js";
import {
  addUsage,
  type OrderFacts,
  type RuleUsage,
  USAGE_MEMORY_MS,
  type UsageHistory,
} from "./evaluation.js";
import { addMonths } from "./expiry.js";
import type { Wallet } from "./lots.js";
import { DEFAULT_PROGRAMME, type Programme, ProgrammeSchema } from "./programme.js";
import { RuleBook, type RuleEvent, type RuleTimeline } from "./rulebook.js";
import { TIER_MEMORY_MONTHS, type TierAccount } from "./tiers.js";

/** A merchant's programme, with the entry that set it (null: the default). */
export interface ProgrammeState {
  programme: Programme;
  entryIndex: bigint | null;
  updatedAt: string | null;
}

/** What an order of a customer is checked and evaluated against. */
export interface Account {
  /** Orders recorded for the customer at the merchant. */
  orders: number;
  usage: UsageHistory;
}

/** What a refund of an order is checked and recomputed against. */
export interface OrderState {
  customerId: string;
  /** The index of its points.awarded entry. */
  awarded: bigint;
  /** When it was recorded (its rules are those in force then). */
  time: number;
  context: Record<string, unknown>;
  /** The order net of its refunds so far. */
  net: { amount: number; items: OrderFacts["items"] };
  /** Its points net of its refunds so far. */
  points: number;
}

/**
 * Writes the release of the holds that lapsed (of a merchant, or one customer), so their points
 * are in the lots again before a path spends or expires them, as every read already counts
 * them; resolves to how many it released. The redemptions' `sweep` (wired in index.ts).
 */
export type ReleaseLapsed = (merchantId?: string, customerId?: string) => Promise<number>;

const EMPTY_ACCOUNT: Account = { orders: 0, usage: new Map() };

/** Most accounts kept in memory; past it the committed ones are read again as needed. */
const MAX_ACCOUNTS = 100_000;

const accountKey = (merchantId: string, customerId: string) => `${merchantId}\u0000${customerId}`;

/** jsonb comes back parsed from PGlite and node-postgres alike, but be lenient with text. */
const parsed = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

/**
 * The loyalty domain's validation state (decision 1): each merchant's programme and rule book,
 * and each customer's order count and award usage, as committed plus staged layers. Committed
 * values are read from the projections the first time they are needed and kept; a command
 * stages its change, so a later command of the same batch (a second order of the customer, an
 * order after a publication) sees it. Values are never changed in place.
 */
export class LoyaltyState {
  private readonly programmes: StagedMap<string, ProgrammeState>;
  private readonly books: StagedMap<string, RuleBook>;
  private readonly accounts: StagedMap<string, Account>;
  private readonly wallets: StagedMap<string, Wallet>;
  private readonly orders: StagedMap<string, OrderState>;
  private readonly tiers: StagedMap<string, TierAccount>;

  constructor(
    private readonly db: Queryable,
    sequencer: Sequencer,
    private readonly clock: Clock,
  ) {
    this.programmes = sequencer.state.add(new StagedMap());
    this.books = sequencer.state.add(new StagedMap());
    this.accounts = sequencer.state.add(new StagedMap());
    this.wallets = sequencer.state.add(new StagedMap());
    this.orders = sequencer.state.add(new StagedMap());
    this.tiers = sequencer.state.add(new StagedMap());
    // After a commit whose outcome was unknown, what the log says is read again on demand.
    sequencer.onRecover(async () => {
      this.programmes.clearCommitted();
      this.books.clearCommitted();
      this.accounts.clearCommitted();
      this.wallets.clearCommitted();
      this.orders.clearCommitted();
      this.tiers.clearCommitted();
    });
  }

  /** The merchant's programme: staged (inside a check) or committed. */
  async programme(merchantId: string, staged = true): Promise<ProgrammeState> {
    const known = staged
      ? this.programmes.get(merchantId)
      : this.programmes.getCommitted(merchantId);
    if (known) return known;
    const { rows } = await this.db.query<{
      programme: unknown;
      entry_idx: string | number;
      updated_at: string | Date;
    }>("SELECT programme, entry_idx, updated_at FROM loyalty_programmes WHERE merchant_id = $1", [
      merchantId,
    ]);
    const r = rows[0];
    const state: ProgrammeState = r
      ? {
          programme: ProgrammeSchema.parse(parsed(r.programme)) as Programme,
          entryIndex: BigInt(r.entry_idx),
          updatedAt: new Date(r.updated_at).toISOString(),
        }
      : { programme: DEFAULT_PROGRAMME, entryIndex: null, updatedAt: null };
    // A batch may have committed a newer one while we read: keep that one.
    if (!this.programmes.hasCommitted(merchantId)) this.programmes.load(merchantId, state);
    return (
      (staged ? this.programmes.get(merchantId) : this.programmes.getCommitted(merchantId)) ?? state
    );
  }

  stageProgramme(merchantId: string, s: ProgrammeState): void {
    this.programmes.set(merchantId, s);
  }

  /** The merchant's rule book: staged (inside a check) or committed. */
  async book(merchantId: string, staged = true): Promise<RuleBook> {
    const known = staged ? this.books.get(merchantId) : this.books.getCommitted(merchantId);
    if (known) return known;
    const book = await loadBook(this.db, merchantId);
    if (!this.books.hasCommitted(merchantId)) this.books.load(merchantId, book);
    return (staged ? this.books.get(merchantId) : this.books.getCommitted(merchantId)) ?? book;
  }

  stageBook(merchantId: string, book: RuleBook): void {
    this.books.set(merchantId, book);
  }

  /** The customer's order count and usage: staged (inside a check) or committed. */
  async account(merchantId: string, customerId: string, staged = true): Promise<Account> {
    const key = accountKey(merchantId, customerId);
    const known = staged ? this.accounts.get(key) : this.accounts.getCommitted(key);
    if (known) return known;
    await this.preload(merchantId, [customerId]);
    return (
      (staged ? this.accounts.get(key) : this.accounts.getCommitted(key)) ??
      this.accounts.getCommitted(key) ??
      EMPTY_ACCOUNT
    );
  }

  /**
   * Reads the accounts of these customers that are not known yet, in three queries: a batch of
   * orders does it before it is sequenced, so the sequencer does not wait for the database.
   */
  async preload(merchantId: string, customerIds: readonly string[]): Promise<void> {
    const ids = [
      ...new Set(customerIds.filter((c) => !this.accounts.hasCommitted(accountKey(merchantId, c)))),
    ];
    if (ids.length === 0) return;
    const since = new Date(this.clock.now() - USAGE_MEMORY_MS).toISOString();
    const [orders, totals, recent] = await Promise.all([
      this.db.query<{ customer_id: string; n: string | number }>(
        `SELECT customer_id, count(*) AS n FROM loyalty_orders
         WHERE merchant_id = $1 AND customer_id = ANY($2::text[]) GROUP BY customer_id`,
        [merchantId, ids],
      ),
      this.db.query<{ customer_id: string; rule_id: string; total: string | number }>(
        `SELECT customer_id, rule_id, sum(points) AS total FROM loyalty_awards
         WHERE merchant_id = $1 AND customer_id = ANY($2::text[]) GROUP BY customer_id, rule_id`,
        [merchantId, ids],
      ),
      this.db.query<{
        customer_id: string;
        rule_id: string;
        points: string | number;
        recorded_at: string | Date;
      }>(
        `SELECT customer_id, rule_id, points, recorded_at FROM loyalty_awards
         WHERE merchant_id = $1 AND customer_id = ANY($2::text[]) AND recorded_at > $3
         ORDER BY entry_idx, ordinal`,
        [merchantId, ids, since],
      ),
    ]);
    const byCustomer = new Map<string, { orders: number; usage: Map<string, RuleUsage> }>();
    const of = (c: string) => {
      let a = byCustomer.get(c);
      if (!a) {
        a = { orders: 0, usage: new Map() };
        byCustomer.set(c, a);
      }
      return a;
    };
    for (const r of orders.rows) of(r.customer_id).orders = Number(r.n);
    for (const r of totals.rows) {
      of(r.customer_id).usage.set(r.rule_id, { total: Number(r.total), recent: [] });
    }
    for (const r of recent.rows) {
      const usage = of(r.customer_id).usage;
      const u = usage.get(r.rule_id) ?? { total: 0, recent: [] };
      usage.set(r.rule_id, {
        total: u.total,
        recent: [...u.recent, [new Date(r.recorded_at).getTime(), Number(r.points)]],
      });
    }
    if (this.accounts.committedSize > MAX_ACCOUNTS) this.accounts.clearCommitted();
    for (const c of ids) {
      const key = accountKey(merchantId, c);
      // A batch may have committed a newer account while we read: keep that one.
      if (!this.accounts.hasCommitted(key)) {
        this.accounts.load(key, byCustomer.get(c) ?? EMPTY_ACCOUNT);
      }
    }
  }

  /** The customer's lots with points left and their debt: staged (inside a check). */
  async wallet(merchantId: string, customerId: string): Promise<Wallet> {
    const key = accountKey(merchantId, customerId);
    const known = this.wallets.get(key);
    if (known) return known;
    const [lots, debts] = await Promise.all([
      this.db.query<{
        entry_idx: string | number;
        remaining: string | number;
        available_at: string | Date;
        expires_at: string | Date | null;
        fixed_expires_at: string | Date | null;
      }>(
        `SELECT entry_idx, remaining, available_at, expires_at, fixed_expires_at FROM loyalty_lots
         WHERE merchant_id = $1 AND customer_id = $2 AND remaining > 0 ORDER BY entry_idx`,
        [merchantId, customerId],
      ),
      this.db.query<{ debt: string | number }>(
        "SELECT debt FROM loyalty_debts WHERE merchant_id = $1 AND customer_id = $2",
        [merchantId, customerId],
      ),
    ]);
    const wallet: Wallet = {
      lots: lots.rows.map((r) => ({
        lot: BigInt(r.entry_idx),
        remaining: Number(r.remaining),
        availableAt: new Date(r.available_at).getTime(),
        expiresAt: r.expires_at === null ? null : new Date(r.expires_at).getTime(),
        fixedExpiresAt: r.fixed_expires_at === null ? null : new Date(r.fixed_expires_at).getTime(),
      })),
      debt: Number(debts.rows[0]?.debt ?? 0),
    };
    if (!this.wallets.hasCommitted(key)) this.wallets.load(key, wallet);
    return this.wallets.get(key) ?? wallet;
  }

  stageWallet(merchantId: string, customerId: string, wallet: Wallet): void {
    // Past the bound the committed ones go; they are read again from the projections as needed.
    if (this.wallets.committedSize > MAX_ACCOUNTS) this.wallets.clearCommitted();
    this.wallets.set(accountKey(merchantId, customerId), wallet);
  }

  /** An order as refunds see it, or undefined for none: staged (inside a check). */
  async order(merchantId: string, orderId: string): Promise<OrderState | undefined> {
    const key = accountKey(merchantId, orderId);
    const known = this.orders.get(key);
    if (known) return known;
    const { rows } = await this.db.query<{
      customer_id: string;
      awarded_idx: string | number | null;
      recorded_at: string | Date;
      context: unknown;
      points: string | number | null;
      net: unknown;
      net_points: string | number | null;
    }>(
      `SELECT customer_id, awarded_idx, recorded_at, context, points, net, net_points
       FROM loyalty_orders WHERE merchant_id = $1 AND order_id = $2`,
      [merchantId, orderId],
    );
    const r = rows[0];
    if (!r || r.awarded_idx === null) return undefined;
    const context = parsed<Record<string, unknown>>(r.context);
    const net = r.net === null ? netOf(context) : parsed<OrderState["net"]>(r.net);
    const state: OrderState = {
      customerId: r.customer_id,
      awarded: BigInt(r.awarded_idx),
      time: new Date(r.recorded_at).getTime(),
      context,
      net,
      points: Number(r.net_points ?? r.points ?? 0),
    };
    if (!this.orders.hasCommitted(key)) this.orders.load(key, state);
    return this.orders.get(key) ?? state;
  }

  stageOrderState(merchantId: string, orderId: string, state: OrderState): void {
    if (this.orders.committedSize > MAX_ACCOUNTS) this.orders.clearCommitted();
    this.orders.set(accountKey(merchantId, orderId), state);
  }

  /**
   * Whether the customer's tier account is known (committed or staged): an order or refund
   * updates a known one even when the programme has no tiers, so it never goes stale.
   */
  knowsTierAccount(merchantId: string, customerId: string): boolean {
    return this.tiers.has(accountKey(merchantId, customerId));
  }

  /** The customer's tier and the orders that may count for one: staged (inside a check) or committed. */
  async tierAccount(merchantId: string, customerId: string, staged = true): Promise<TierAccount> {
    const key = accountKey(merchantId, customerId);
    const known = staged ? this.tiers.get(key) : this.tiers.getCommitted(key);
    if (known) return known;
    const since = new Date(addMonths(this.clock.now(), -TIER_MEMORY_MONTHS)).toISOString();
    const [tier, orders] = await Promise.all([
      this.db.query<{ tier: string | null }>(
        "SELECT tier FROM loyalty_tiers WHERE merchant_id = $1 AND customer_id = $2",
        [merchantId, customerId],
      ),
      this.db.query<{
        order_id: string;
        recorded_at: string | Date;
        points: string | number | null;
        amount: string | number;
      }>(
        `SELECT order_id, recorded_at, coalesce(net_points, points, 0) AS points,
           coalesce((net->>'amount')::bigint, amount) AS amount
         FROM loyalty_orders WHERE merchant_id = $1 AND customer_id = $2 AND recorded_at > $3
         ORDER BY entry_idx`,
        [merchantId, customerId, since],
      ),
    ]);
    const account: TierAccount = {
      tier: tier.rows[0]?.tier ?? null,
      orders: orders.rows.map((r) => ({
        orderId: r.order_id,
        time: new Date(r.recorded_at).getTime(),
        points: Number(r.points ?? 0),
        amount: Number(r.amount),
      })),
    };
    if (this.tiers.committedSize > MAX_ACCOUNTS) this.tiers.clearCommitted();
    if (!this.tiers.hasCommitted(key)) this.tiers.load(key, account);
    return (staged ? this.tiers.get(key) : this.tiers.getCommitted(key)) ?? account;
  }

  stageTierAccount(merchantId: string, customerId: string, account: TierAccount): void {
    this.tiers.set(accountKey(merchantId, customerId), account);
  }

  /** Stages an order of the customer and its awards, given at `ms`. */
  stageOrder(
    merchantId: string,
    customerId: string,
    before: Account,
    awards: readonly { rule: string; points: number }[],
    ms: number,
  ): void {
    this.accounts.set(accountKey(merchantId, customerId), {
      orders: before.orders + 1,
      usage: addUsage(before.usage, awards, ms),
    });
  }
}

/** An order's amount and items as its context's `order` part gives them. */
export function netOf(context: Record<string, unknown>): OrderState["net"] {
  const o = context.order as {
    amount: number;
    items: { product: string; category: string; quantity: number; unitPrice: number }[];
  };
  return {
    amount: o.amount,
    items: o.items.map((i) => ({
      sku: i.product,
      category: i.category,
      quantity: i.quantity,
      unitPrice: i.unitPrice,
    })),
  };
}

interface EventRow {
  rule_id: string;
  entry_idx: string | number;
  kind: "published" | "retired";
  version: number;
  hash: string | null;
  document: string | null;
  effective_from: string | Date;
  cancelled_idx: string | number | null;
}

/** A merchant's rule book from the `loyalty_rule_events` projection. */
export async function loadBook(db: Queryable, merchantId: string): Promise<RuleBook> {
  const { rows } = await db.query<EventRow>(
    `SELECT rule_id, entry_idx, kind, version, hash, document, effective_from, cancelled_idx
     FROM loyalty_rule_events WHERE merchant_id = $1 ORDER BY entry_idx`,
    [merchantId],
  );
  const rules = new Map<
    string,
    { versions: Map<number, RuleVersion>; latest: number; events: RuleEvent[] }
  >();
  for (const r of rows) {
    let t = rules.get(r.rule_id);
    if (!t) {
      t = { versions: new Map(), latest: 0, events: [] };
      rules.set(r.rule_id, t);
    }
    const version = Number(r.version);
    if (r.kind === "published") t.latest = Math.max(t.latest, version);
    if (r.cancelled_idx !== null) continue;
    if (r.kind === "published") {
      const document = JSON.parse(r.document as string) as unknown;
      t.versions.set(version, ruleVersion(r.rule_id, version, document, r.hash ?? undefined));
    }
    t.events.push({
      kind: r.kind,
      version,
      from: new Date(r.effective_from).getTime(),
      index: BigInt(r.entry_idx),
    });
  }
  const timelines = new Map<string, RuleTimeline>();
  for (const [id, t] of rules) timelines.set(id, { id, ...t });
  return new RuleBook(timelines);
}

/**
 * The loyalty domain's tables (migration 20 in db/migrations.ts). All but the drafts are
 * projections of its entries (`audit` rebuilds them); the drafts are a merchant's working
 * copies, which are not facts until published.
 */
export const LOYALTY_MIGRATION = `
  -- Each merchant's programme as its latest programme.set entry says; no row: the default.
  CREATE TABLE loyalty_programmes (
    merchant_id text PRIMARY KEY,
    programme jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    entry_idx bigint NOT NULL
  );
  -- Every rule.published and rule.retired entry: from when it holds, until the next one's
  -- time, and whether a later one replaced it before it took effect (cancelled_idx). The
  -- document is kept as its RFC 8785 text, which is what its hash is taken over.
  CREATE TABLE loyalty_rule_events (
    entry_idx bigint PRIMARY KEY,
    merchant_id text NOT NULL,
    rule_id text NOT NULL,
    kind text NOT NULL,
    version integer NOT NULL,
    hash text,
    document text,
    effective_from timestamptz NOT NULL,
    effective_until timestamptz,
    cancelled_idx bigint,
    recorded_at timestamptz NOT NULL
  );
  CREATE INDEX loyalty_rule_events_rule_idx ON loyalty_rule_events (merchant_id, rule_id, entry_idx);
  -- Orders (order.recorded), with the points and context of their points.awarded entry.
  CREATE TABLE loyalty_orders (
    merchant_id text NOT NULL,
    order_id text NOT NULL,
    customer_id text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    channel text NOT NULL,
    store text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    entry_idx bigint NOT NULL,
    points bigint,
    awarded_idx bigint,
    context jsonb,
    PRIMARY KEY (merchant_id, order_id)
  );
  CREATE INDEX loyalty_orders_customer_idx ON loyalty_orders (merchant_id, customer_id, entry_idx);
  CREATE INDEX loyalty_orders_recorded_idx ON loyalty_orders (merchant_id, recorded_at, entry_idx);
  -- One row per award of a points.awarded entry: the caps' usage and simulations read them.
  CREATE TABLE loyalty_awards (
    entry_idx bigint NOT NULL,
    ordinal integer NOT NULL,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    order_id text NOT NULL,
    rule_id text NOT NULL,
    version integer NOT NULL,
    hash text NOT NULL,
    kind text NOT NULL,
    points bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (entry_idx, ordinal)
  );
  CREATE INDEX loyalty_awards_customer_idx ON loyalty_awards (merchant_id, customer_id, rule_id, recorded_at);
  -- Lots of points: pending until available_at, then available (computed from the time, not
  -- written: see docs/loyalty.md). remaining is what is left of the lot (all of it, until
  -- redemptions and reversals exist).
  CREATE TABLE loyalty_lots (
    entry_idx bigint PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    source text NOT NULL,
    source_id text NOT NULL,
    points bigint NOT NULL,
    remaining bigint NOT NULL,
    created_at timestamptz NOT NULL,
    available_at timestamptz NOT NULL,
    expires_at timestamptz
  );
  CREATE INDEX loyalty_lots_customer_idx ON loyalty_lots (merchant_id, customer_id, entry_idx);
  -- Draft rules: not on the ledger until published (the document as its RFC 8785 text).
  CREATE TABLE loyalty_rule_drafts (
    merchant_id text NOT NULL,
    rule_id text NOT NULL,
    document text NOT NULL,
    hash text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, rule_id)
  );
`;

/**
 * Refunds and debt (migration 21): each order's net of its refunds, the refunds, and each
 * customer's debt, all projections of order.refunded, points.reversed and points.awarded.
 */
export const LOYALTY_REFUNDS_MIGRATION = `
  -- The order net of its refunds (amount and items) and its points after them; null: none.
  ALTER TABLE loyalty_orders ADD COLUMN net jsonb;
  ALTER TABLE loyalty_orders ADD COLUMN net_points bigint;
  -- One row per refund (its order.refunded entry) and what its points.reversed entry did.
  CREATE TABLE loyalty_refunds (
    entry_idx bigint PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    order_id text NOT NULL,
    refund_id text,
    full_refund boolean NOT NULL,
    points bigint NOT NULL,
    debt bigint NOT NULL DEFAULT 0,
    written_off bigint NOT NULL DEFAULT 0,
    recorded_at timestamptz NOT NULL
  );
  CREATE INDEX loyalty_refunds_order_idx ON loyalty_refunds (merchant_id, order_id, entry_idx);
  -- Points a customer owes (reversals after the points were spent), until later earnings repay them.
  CREATE TABLE loyalty_debts (
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    debt bigint NOT NULL,
    PRIMARY KEY (merchant_id, customer_id)
  );
`;

/**
 * Expiry and tiers (migration 24): each lot's own expiry beside the one in force (which the
 * inactivity policy moves), the points.expired entries, and each customer's tier.
 */
export const LOYALTY_TIERS_MIGRATION = `
  -- A lot's own expiry (expiry rules or the fixed policy); expires_at is the one in force.
  ALTER TABLE loyalty_lots ADD COLUMN fixed_expires_at timestamptz;
  UPDATE loyalty_lots SET fixed_expires_at = expires_at;
  -- What the expiry sweep looks for: lots with points left whose expiry passed.
  CREATE INDEX loyalty_lots_expiry_idx ON loyalty_lots (expires_at) WHERE remaining > 0;
  -- One row per points.expired entry.
  CREATE TABLE loyalty_expiries (
    entry_idx bigint PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    points bigint NOT NULL,
    lots integer NOT NULL,
    recorded_at timestamptz NOT NULL
  );
  CREATE INDEX loyalty_expiries_customer_idx ON loyalty_expiries (merchant_id, customer_id, entry_idx);
  -- Each customer's tier, from their latest tier.changed entry (tier null: none any more).
  CREATE TABLE loyalty_tiers (
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    tier text,
    since timestamptz NOT NULL,
    entry_idx bigint NOT NULL,
    PRIMARY KEY (merchant_id, customer_id)
  );
`;

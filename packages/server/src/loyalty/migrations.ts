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
 * Redemptions and the catalogue (migration 22): projections of reward.set and the
 * redemption.held, .captured and .released entries.
 */
export const LOYALTY_REDEMPTIONS_MIGRATION = `
  -- Each reward at its latest reward.set; stock is what is left (holds take one, releases give
  -- it back), null: unlimited.
  CREATE TABLE loyalty_rewards (
    merchant_id text NOT NULL,
    reward_id text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    points bigint NOT NULL,
    stock bigint,
    per_customer_limit bigint,
    active boolean NOT NULL,
    created_idx bigint NOT NULL,
    entry_idx bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, reward_id)
  );
  -- One row per hold, its state as of its last entry: held, captured or released (a held row
  -- past expires_at reads as expired until the sweep writes its release).
  CREATE TABLE loyalty_redemptions (
    merchant_id text NOT NULL,
    redemption_id text NOT NULL,
    customer_id text NOT NULL,
    kind text NOT NULL,
    reward_id text,
    reward_version integer,
    points bigint NOT NULL,
    value bigint NOT NULL,
    currency text NOT NULL,
    code text NOT NULL,
    expires_at timestamptz NOT NULL,
    requested_by text NOT NULL,
    taken jsonb NOT NULL,
    status text NOT NULL,
    reason text,
    reference text,
    held_idx bigint NOT NULL,
    closed_idx bigint,
    created_at timestamptz NOT NULL,
    closed_at timestamptz,
    PRIMARY KEY (merchant_id, redemption_id)
  );
  CREATE INDEX loyalty_redemptions_code_idx ON loyalty_redemptions (merchant_id, code);
  CREATE INDEX loyalty_redemptions_customer_idx ON loyalty_redemptions (merchant_id, customer_id, held_idx);
  CREATE INDEX loyalty_redemptions_open_idx ON loyalty_redemptions (status, expires_at);
`;

/**
 * Transfers and adjustments (migration 23): both projections of their entries. A transfer's
 * row comes from its points.sent entry (the receiver from the signed command) and is completed
 * by its points.received entry; its received lot goes to loyalty_lots. An adjustment's row
 * follows its request, decision and application.
 */
export const LOYALTY_MOVES_MIGRATION = `
  CREATE TABLE loyalty_transfers (
    entry_idx bigint PRIMARY KEY,
    merchant_id text NOT NULL,
    transfer_id text NOT NULL,
    from_customer text NOT NULL,
    to_customer text NOT NULL,
    points bigint NOT NULL,
    has_message boolean NOT NULL,
    recorded_at timestamptz NOT NULL,
    received_idx bigint
  );
  CREATE INDEX loyalty_transfers_from_idx ON loyalty_transfers (merchant_id, from_customer, recorded_at);
  CREATE INDEX loyalty_transfers_to_idx ON loyalty_transfers (merchant_id, to_customer, entry_idx);
  CREATE TABLE loyalty_adjustments (
    merchant_id text NOT NULL,
    adjustment_id text NOT NULL,
    customer_id text NOT NULL,
    direction text NOT NULL,
    points bigint NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL,
    request_idx bigint NOT NULL,
    decided_by text,
    decided_at timestamptz,
    decided_idx bigint,
    applied_idx bigint,
    PRIMARY KEY (merchant_id, adjustment_id)
  );
  CREATE INDEX loyalty_adjustments_status_idx ON loyalty_adjustments (merchant_id, status, request_idx);
  CREATE INDEX loyalty_adjustments_customer_idx ON loyalty_adjustments (merchant_id, customer_id, request_idx)
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

/**
 * The view rows (migration 26) summed afresh from the lots, of every merchant or, with `where`
 * a condition on merchant_id, of some: the migration fills them so, and a repair after the lots
 * were edited by hand (tests) refreshes them so.
 */
export const loyaltyViewsFill = (where = "true") => `
  INSERT INTO loyalty_members (merchant_id, customer_id, last_idx, last_at, live_until)
  SELECT merchant_id, customer_id, max(entry_idx), max(created_at),
    max(coalesce(expires_at, 'infinity'::timestamptz)) FILTER (WHERE remaining > 0)
  FROM loyalty_lots WHERE ${where} GROUP BY merchant_id, customer_id;
  INSERT INTO loyalty_liability (merchant_id, expires_bin, available_day, points, lots)
  SELECT merchant_id, loyalty_expiry_bin(expires_at), loyalty_available_day(available_at),
    sum(remaining), count(*)
  FROM loyalty_lots WHERE remaining > 0 AND ${where} GROUP BY 1, 2, 3;
  INSERT INTO loyalty_liability_customers (merchant_id, expires_bin, customers)
  SELECT merchant_id, loyalty_expiry_bin(live_until), count(*)
  FROM loyalty_members WHERE live_until IS NOT NULL AND ${where} GROUP BY 1, 2;
`;

/**
 * The console's members and liability views kept up to date (migration 26), so neither reads
 * every lot of the merchant: projections of loyalty_lots, written with each change of a lot in
 * the same transaction (views-projections.ts), and filled here from the lots already projected.
 *
 * Lots are summed by a bin of their expiry: a UTC day, or a quarter of an hour on the first and
 * last UTC day of a month. No bin straddles a local month boundary in any time zone whose UTC
 * offset is a whole quarter hour (all of them since 1972), so the liability groups bins by month
 * in whatever time zone the programme has at the time of asking. Not-yet-available points are
 * told apart by a second bin, the UTC day the lot becomes available.
 */
export const LOYALTY_VIEWS_MIGRATION = `
  CREATE FUNCTION loyalty_expiry_bin(t timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN t IS NULL OR t = 'infinity'::timestamptz THEN 'infinity'::timestamptz
      WHEN extract(day FROM t AT TIME ZONE 'UTC') = 1
        OR extract(day FROM (t AT TIME ZONE 'UTC') + interval '1 day') = 1
      THEN date_bin('15 minutes', t, timestamptz '2000-01-01 00:00:00+00')
      ELSE date_bin('1 day', t, timestamptz '2000-01-01 00:00:00+00')
    END
  $$;
  CREATE FUNCTION loyalty_available_day(t timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_bin('1 day', t, timestamptz '2000-01-01 00:00:00+00')
  $$;
  -- Every customer ever given a lot: the latest lot (the members' order), and the latest expiry
  -- of their lots with points left ('infinity': one never expires; null: no points left).
  CREATE TABLE loyalty_members (
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    last_idx bigint NOT NULL,
    last_at timestamptz NOT NULL,
    live_until timestamptz,
    PRIMARY KEY (merchant_id, customer_id)
  );
  CREATE INDEX loyalty_members_last_idx ON loyalty_members (merchant_id, last_idx);
  -- The points left and the lots with points left, by expiry bin and availability day.
  CREATE TABLE loyalty_liability (
    merchant_id text NOT NULL,
    expires_bin timestamptz NOT NULL,
    available_day timestamptz NOT NULL,
    points bigint NOT NULL,
    lots bigint NOT NULL,
    PRIMARY KEY (merchant_id, expires_bin, available_day)
  );
  CREATE INDEX loyalty_liability_empty_idx ON loyalty_liability (merchant_id) WHERE lots = 0;
  -- The members with points left, by the expiry bin of their latest expiry (live_until).
  CREATE TABLE loyalty_liability_customers (
    merchant_id text NOT NULL,
    expires_bin timestamptz NOT NULL,
    customers bigint NOT NULL,
    PRIMARY KEY (merchant_id, expires_bin)
  );
  CREATE INDEX loyalty_liability_customers_empty_idx ON loyalty_liability_customers (merchant_id)
    WHERE customers = 0;
  -- What the liability reads exactly: the lots that become available today.
  CREATE INDEX loyalty_lots_available_idx ON loyalty_lots (merchant_id, available_at) WHERE remaining > 0;
  ${loyaltyViewsFill()}
`;

/**
 * An order's context kept as the text the node wrote (migration 28): json, not jsonb. Nothing
 * queries inside it; the node reads it whole (refunds, the audit, simulations). PostgreSQL
 * stores json as it is given, where jsonb is parsed into a tree on every write and printed back
 * on every read: for an order's context that is about three times the server's work to write
 * and four to read, in a row a third larger. Rows written before keep jsonb's own text of them
 * (keys reordered), which parses to the same values.
 */
export const LOYALTY_CONTEXT_TEXT_MIGRATION = `
  ALTER TABLE loyalty_orders ALTER COLUMN context TYPE json USING context::json;
`;

/**
 * The consent domain's tables (migration 18 in db/migrations.ts). `consents` is a projection
 * (`audit` rebuilds it); the issuer keys and the double opt-in requests are not: the keys are
 * secrets at rest, the requests are pending until confirmed, when the grant's entry is written.
 */
export const CONSENT_MIGRATION = `
  -- Each consent's latest state (ISO/IEC TS 27560 fields), rebuilt from the consent.* entries.
  CREATE TABLE consents (
    id text PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    grantee text NOT NULL,
    purposes jsonb NOT NULL,
    categories jsonb NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    revoke_on jsonb NOT NULL,
    method text NOT NULL,
    evidence jsonb,
    actor text NOT NULL,
    status text NOT NULL,
    ended_reason text,
    ended_at timestamptz,
    granted_idx bigint NOT NULL,
    granted_at timestamptz NOT NULL,
    entry_idx bigint NOT NULL
  );
  CREATE INDEX consents_customer_idx ON consents (merchant_id, customer_id, granted_idx);
  CREATE INDEX consents_merchant_idx ON consents (merchant_id, granted_idx);
  CREATE INDEX consents_grantee_idx ON consents (grantee, granted_idx);
  CREATE INDEX consents_active_idx ON consents (valid_until) WHERE status = 'active';
  -- One issuer key per merchant for consent receipts (decision 5): the private key sealed under
  -- a key derived from the merchant's vault index key, so the master key wraps it.
  CREATE TABLE consent_issuer_keys (
    merchant_id text PRIMARY KEY,
    kid text NOT NULL,
    public_jwk text NOT NULL,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL
  );
  -- Double opt-in: a consent staff recorded, waiting for the customer's emailed link. The text
  -- shown is sealed under the customer's key (erasure takes it); only a hash of the link's
  -- secret is kept.
  CREATE TABLE consent_requests (
    id text PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_id text NOT NULL,
    terms jsonb NOT NULL,
    sealed bytea NOT NULL,
    secret_hash bytea NOT NULL,
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    confirmed_at timestamptz,
    consent_id text
  );
  CREATE INDEX consent_requests_customer_idx ON consent_requests (merchant_id, customer_id);
`;

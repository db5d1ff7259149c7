import { CONSENT_MIGRATION } from "../consent/migrations.js";
import {
  LOYALTY_CONTEXT_TEXT_MIGRATION,
  LOYALTY_MIGRATION,
  LOYALTY_MOVES_MIGRATION,
  LOYALTY_REDEMPTIONS_MIGRATION,
  LOYALTY_REFUNDS_MIGRATION,
  LOYALTY_TIERS_MIGRATION,
  LOYALTY_VIEWS_MIGRATION,
} from "../loyalty/migrations.js";
import type { Database } from "./database.js";

/**
 * Schema changes, applied in order and recorded in `schema_migrations`. Never edit a migration
 * that has shipped: add a new one. PGlite and PostgreSQL run exactly the same SQL.
 */
export const migrations: { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: "ledger",
    sql: `
      CREATE TABLE ledger_meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );
      -- One row per log entry; data holds the exact canonical bytes that were hashed.
      CREATE TABLE ledger_entries (
        idx bigint PRIMARY KEY,
        type text NOT NULL,
        actor text NOT NULL,
        time timestamptz NOT NULL,
        data bytea NOT NULL,
        leaf_hash bytea NOT NULL
      );
      CREATE INDEX ledger_entries_type_idx ON ledger_entries (type, idx);
      -- Merkle tree hashes in tiles of 256 (C2SP tlog-tiles layout, height 8): tile (level L,
      -- idx N) holds the hashes of level-8L nodes 256N..256N+255. A partial tile is rewritten
      -- as it fills; a full one never changes.
      CREATE TABLE ledger_tiles (
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hashes bytea NOT NULL,
        PRIMARY KEY (level, idx)
      );
      CREATE TABLE ledger_checkpoints (
        size bigint PRIMARY KEY,
        root bytea NOT NULL,
        note text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        request_hash bytea NOT NULL,
        entry_idx bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      );
    `,
  },
  {
    id: 2,
    name: "tenancy",
    sql: `
      CREATE TABLE merchants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL,
        entry_idx bigint NOT NULL
      );
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants (id),
        role text NOT NULL,
        label text NOT NULL,
        key_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        entry_idx bigint NOT NULL
      );
    `,
  },
  {
    id: 3,
    name: "attestations",
    sql: `
      CREATE TABLE attestations (
        entry_idx bigint PRIMARY KEY,
        merchant_id text NOT NULL,
        digest bytea NOT NULL,
        subject text,
        note text,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX attestations_digest_idx ON attestations (digest);
      CREATE INDEX attestations_merchant_idx ON attestations (merchant_id, entry_idx);
    `,
  },
  {
    id: 4,
    name: "anchors",
    sql: `
      -- The anchoring outbox: a row is written before its transaction is sent, with the signed
      -- transaction itself, so a crash between signing and sending resends the same transaction.
      CREATE TABLE ledger_anchors (
        id bigserial PRIMARY KEY,
        size bigint NOT NULL,
        root bytea NOT NULL,
        chain_id bigint NOT NULL,
        contract text NOT NULL,
        status text NOT NULL,
        nonce bigint,
        tx_hash text,
        raw_tx text,
        block_number bigint,
        block_hash text,
        confirmations integer NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        confirmed_at timestamptz
      );
      CREATE INDEX ledger_anchors_size_idx ON ledger_anchors (size);
      CREATE INDEX ledger_anchors_status_idx ON ledger_anchors (status);
    `,
  },
  {
    id: 5,
    name: "commands and chains",
    sql: `
      -- A command may write several entries; an idempotent retry returns them all.
      ALTER TABLE idempotency_keys ADD COLUMN entry_count integer NOT NULL DEFAULT 1;
      -- The chains through the log (decision 7): one row per party an entry names, with the
      -- index of that party's previous entry. A projection: audit rebuilds it from the entries.
      CREATE TABLE ledger_subjects (
        party text NOT NULL,
        idx bigint NOT NULL,
        prev bigint,
        PRIMARY KEY (party, idx)
      );
      -- Nonces of signed commands, spent until their command expires; pruned after that.
      CREATE TABLE command_nonces (
        actor text NOT NULL,
        nonce text NOT NULL,
        expires_at timestamptz NOT NULL,
        entry_idx bigint NOT NULL,
        PRIMARY KEY (actor, nonce)
      );
      CREATE INDEX command_nonces_expires_idx ON command_nonces (expires_at);
      -- Which signing keys (did:key) act for whom at a merchant; written by the entries of the
      -- command types that create a binding (join, claim) and the ones that end it.
      CREATE TABLE actor_bindings (
        merchant_id text NOT NULL,
        actor text NOT NULL,
        party text NOT NULL,
        kind text NOT NULL,
        status text NOT NULL,
        entry_idx bigint NOT NULL,
        PRIMARY KEY (merchant_id, actor)
      );
      -- Private notarisation: a sealed attestation is found only by its own merchant.
      ALTER TABLE attestations ADD COLUMN sealed boolean NOT NULL DEFAULT false;
    `,
  },
  {
    id: 6,
    name: "no stored partial leaf tile",
    // The rightmost, partial tile of leaf hashes is no longer stored (rewriting it in every
    // batch was most of a small batch's cost): it is the leaf hashes of the last entries.
    sql: `
      DELETE FROM ledger_tiles WHERE level = 0 AND length(hashes) < 8192;
    `,
  },
  {
    id: 7,
    name: "vault",
    // Personal data at rest (decision 4): keys wrapped by the master key, values encrypted under
    // each customer's key, blind indexes. Not a projection: nothing here is in the ledger.
    sql: `
      CREATE TABLE vault_data_keys (
        customer_id text PRIMARY KEY,
        merchant_id text NOT NULL,
        master_key_id text NOT NULL,
        wrapped bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX vault_data_keys_master ON vault_data_keys (master_key_id);
      CREATE TABLE vault_index_keys (
        merchant_id text PRIMARY KEY,
        master_key_id text NOT NULL,
        wrapped bytea NOT NULL
      );
      CREATE TABLE vault_fields (
        customer_id text NOT NULL,
        field text NOT NULL,
        version integer NOT NULL,
        ciphertext bytea NOT NULL,
        PRIMARY KEY (customer_id, field, version)
      );
      CREATE TABLE vault_index (
        merchant_id text NOT NULL,
        kind text NOT NULL,
        hash bytea NOT NULL,
        customer_id text NOT NULL,
        PRIMARY KEY (merchant_id, kind, hash, customer_id)
      );
      CREATE INDEX vault_index_customer ON vault_index (customer_id);
      CREATE TABLE vault_erased (
        customer_id text PRIMARY KEY,
        merchant_id text NOT NULL,
        erased_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 8,
    name: "customers",
    sql: `
      -- A field's version is the index of the entry that set it (its commitment names it).
      ALTER TABLE vault_fields ALTER COLUMN version TYPE bigint;
      -- A projection of the customer entries: nothing personal, only the facts in clear that
      -- segments and filters use (decision 4). The personal fields are in the vault.
      CREATE TABLE customers (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        status text NOT NULL,
        facts jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        created_idx bigint NOT NULL,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX customers_merchant_idx ON customers (merchant_id, created_idx);
      CREATE INDEX customers_stage_idx ON customers (merchant_id, (facts->>'stage'), created_idx);
      -- Interactions on every channel, without their text (the vault holds it).
      CREATE TABLE interactions (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        channel text NOT NULL,
        direction text NOT NULL,
        kind text NOT NULL,
        occurred_at timestamptz NOT NULL,
        amount bigint,
        currency text,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX interactions_customer_idx ON interactions (customer_id, occurred_at);
    `,
  },
  {
    id: 9,
    name: "staff and outbox",
    sql: `
      -- A projection of the staff entries: ids and roles, nothing personal.
      CREATE TABLE staff (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        role text NOT NULL,
        created_at timestamptz NOT NULL,
        disabled_at timestamptz,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX staff_merchant_idx ON staff (merchant_id, entry_idx);
      -- Beside the log, never in it: the sign-in email and the Argon2id hash (null: invited).
      CREATE TABLE staff_accounts (
        staff_id text PRIMARY KEY,
        merchant_id text NOT NULL,
        email text NOT NULL,
        password_hash text,
        password_set_at timestamptz
      );
      CREATE UNIQUE INDEX staff_accounts_email_idx ON staff_accounts (merchant_id, email);
      CREATE INDEX staff_accounts_sign_in_idx ON staff_accounts (email);
      -- Single-use invitation and reset links, by the SHA-256 of their token.
      CREATE TABLE staff_tokens (
        token_hash bytea PRIMARY KEY,
        merchant_id text NOT NULL,
        staff_id text NOT NULL,
        purpose text NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX staff_tokens_staff_idx ON staff_tokens (merchant_id, staff_id);
      CREATE TABLE staff_sessions (
        token_hash bytea PRIMARY KEY,
        merchant_id text NOT NULL,
        staff_id text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX staff_sessions_staff_idx ON staff_sessions (merchant_id, staff_id);
      -- Passkeys staff sign in with: the ES256 public key (SEC1) by credential id.
      CREATE TABLE staff_passkeys (
        credential_id text PRIMARY KEY,
        merchant_id text NOT NULL,
        staff_id text NOT NULL,
        public_key bytea NOT NULL,
        label text NOT NULL,
        created_at timestamptz NOT NULL,
        last_used_at timestamptz
      );
      CREATE INDEX staff_passkeys_staff_idx ON staff_passkeys (merchant_id, staff_id);
      -- Mail and SMS held without a transport, sealed under the merchant's outbox key.
      CREATE TABLE outbox_messages (
        id text PRIMARY KEY,
        seq bigserial NOT NULL,
        merchant_id text NOT NULL,
        channel text NOT NULL,
        created_at timestamptz NOT NULL,
        sealed bytea NOT NULL
      );
      CREATE INDEX outbox_messages_merchant_idx ON outbox_messages (merchant_id, seq);
    `,
  },
  {
    id: 12,
    name: "purposes and access records",
    sql: `
      -- A projection of purpose.declared entries: the latest declaration of each purpose.
      CREATE TABLE purposes (
        merchant_id text NOT NULL,
        id text NOT NULL,
        name text NOT NULL,
        basis text NOT NULL,
        note text,
        default_for text NOT NULL,
        retired boolean NOT NULL,
        entry_idx bigint NOT NULL,
        PRIMARY KEY (merchant_id, id)
      );
      -- Every use of a customer's personal data (decision 11). Not a projection: the log holds
      -- each batch's Merkle root (access.recorded), and each record is proved against it.
      CREATE TABLE access_records (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        at timestamptz NOT NULL,
        role text NOT NULL,
        actor text NOT NULL,
        purpose text NOT NULL,
        basis text NOT NULL,
        categories text NOT NULL,
        action text NOT NULL,
        batch_idx bigint,
        leaf bigint
      );
      CREATE INDEX access_records_customer ON access_records (merchant_id, customer_id, seq);
      CREATE INDEX access_records_pending ON access_records (seq) WHERE batch_idx IS NULL;
      CREATE INDEX access_records_batch ON access_records (merchant_id, batch_idx, leaf);
    `,
  },
  {
    id: 10,
    name: "notes and segments",
    sql: `
      -- Staff notes: who wrote one and when; the text is in the vault, under the customer's key.
      CREATE TABLE notes (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        author text NOT NULL,
        created_at timestamptz NOT NULL,
        entry_idx bigint NOT NULL,
        deleted_at timestamptz,
        deleted_by text,
        deleted_idx bigint
      );
      CREATE INDEX notes_customer_idx ON notes (merchant_id, customer_id, entry_idx);
      -- Segment definitions: JsonLogic over the facts in clear, never a personal field.
      CREATE TABLE segments (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        name text NOT NULL,
        condition jsonb NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        created_idx bigint NOT NULL,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX segments_merchant_idx ON segments (merchant_id, created_idx);
      -- Tags and other exact facts, as segments ask for them (facts @> {"tags": ["vip"]}).
      CREATE INDEX customers_facts_idx ON customers USING gin (facts jsonb_path_ops);
    `,
  },
  {
    id: 11,
    name: "imports",
    sql: `
      -- CSV imports: their progress, never a personal value (reasons name columns, not values).
      CREATE TABLE imports (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        kind text NOT NULL,
        actor text NOT NULL,
        status text NOT NULL,
        dry_run boolean NOT NULL,
        columns jsonb NOT NULL,
        options jsonb NOT NULL,
        rows_read bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        error text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        finished_at timestamptz
      );
      CREATE INDEX imports_merchant_idx ON imports (merchant_id, created_at);
      CREATE INDEX imports_status_idx ON imports (status);
      -- Rows waiting to be written, sealed under the import's own data key (decision 4); gone,
      -- with the key, once the import is done.
      CREATE TABLE import_rows (
        import_id text NOT NULL,
        merchant_id text NOT NULL,
        row bigint NOT NULL,
        sealed bytea NOT NULL,
        PRIMARY KEY (import_id, row)
      );
      -- What became of each row: written in the transaction of the row's entry, so a resumed
      -- import skips exactly the rows that committed.
      CREATE TABLE import_outcomes (
        import_id text NOT NULL,
        merchant_id text NOT NULL,
        row bigint NOT NULL,
        outcome text NOT NULL,
        customer_id text,
        PRIMARY KEY (import_id, row)
      );
      CREATE TABLE import_issues (
        import_id text NOT NULL,
        merchant_id text NOT NULL,
        row bigint NOT NULL,
        level text NOT NULL,
        code text NOT NULL,
        reason text NOT NULL,
        PRIMARY KEY (import_id, row, code)
      );
      -- Hints that two records may be one person, for staff to merge or dismiss.
      CREATE TABLE merge_suggestions (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        other_id text NOT NULL,
        reason text NOT NULL,
        source text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX merge_suggestions_merchant_idx ON merge_suggestions (merchant_id, status, created_at);
    `,
  },
  {
    id: 13,
    name: "customer merges",
    sql: `
      -- The survivor a merged customer was absorbed by, while merged.
      ALTER TABLE customers ADD COLUMN merged_into text;
      CREATE INDEX customers_merged_into_idx ON customers (merged_into) WHERE merged_into IS NOT NULL;
    `,
  },
  {
    id: 14,
    name: "identity verifications",
    sql: `
      -- Codes and links that prove a customer controls an email or phone. The identifier is
      -- sealed under the customer's data key; only a hash of the secret is kept.
      CREATE TABLE identity_verifications (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        kind text NOT NULL,
        sealed bytea NOT NULL,
        secret_hash bytea NOT NULL,
        expires_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        confirmed_at timestamptz,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX identity_verifications_customer_idx
        ON identity_verifications (merchant_id, customer_id);
    `,
  },
  {
    id: 15,
    name: "outbox messages to customers",
    sql: `
      -- The customer a held message is to (a verification code or link), so an erasure takes it.
      ALTER TABLE outbox_messages ADD COLUMN customer_id text;
      CREATE INDEX outbox_messages_customer_idx ON outbox_messages (customer_id)
        WHERE customer_id IS NOT NULL;
    `,
  },
  {
    id: 16,
    name: "staff emails sealed",
    sql: `
      -- Staff emails rest sealed (under a key derived from the merchant's vault index key) and
      -- are found by their blind index. Rows written before keep their clear email until the
      -- staff domain seals them at start (staff/emails.ts): a row holds one form, never both.
      ALTER TABLE staff_accounts ADD COLUMN email_sealed bytea;
      ALTER TABLE staff_accounts ADD COLUMN email_index bytea;
      ALTER TABLE staff_accounts ALTER COLUMN email DROP NOT NULL;
      ALTER TABLE staff_accounts ADD CONSTRAINT staff_accounts_email_one_form
        CHECK ((email IS NULL) = (email_sealed IS NOT NULL AND email_index IS NOT NULL));
      DROP INDEX staff_accounts_email_idx;
      DROP INDEX staff_accounts_sign_in_idx;
      -- One account per email in a merchant; sign-in looks up (merchant, index) pairs.
      CREATE UNIQUE INDEX staff_accounts_email_index_idx
        ON staff_accounts (merchant_id, email_index);
    `,
  },
  {
    id: 17,
    name: "customer keys",
    sql: `
      -- The key a customer signs with at a merchant is found from the customer too.
      CREATE INDEX actor_bindings_party_idx ON actor_bindings (merchant_id, party);
      -- Invitations to claim an existing profile with a key. Only a keyed hash of the code is
      -- kept; a code is claimed once (claimed_idx: the entry that bound the key).
      CREATE TABLE customer_invites (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        code_hash bytea NOT NULL,
        expires_at timestamptz NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        claimed_idx bigint
      );
      CREATE UNIQUE INDEX customer_invites_code_idx ON customer_invites (merchant_id, code_hash);
      CREATE INDEX customer_invites_customer_idx ON customer_invites (merchant_id, customer_id);
      -- Portal sessions: a hash of the bearer token only.
      CREATE TABLE customer_sessions (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        actor text NOT NULL,
        token_hash bytea NOT NULL,
        user_agent text,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE UNIQUE INDEX customer_sessions_token_idx ON customer_sessions (token_hash);
      CREATE INDEX customer_sessions_customer_idx ON customer_sessions (merchant_id, customer_id);
      -- Key recoveries under their time-lock (a projection of the identity.recovery_* entries).
      CREATE TABLE key_recoveries (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        old_key text NOT NULL,
        new_key text NOT NULL,
        status text NOT NULL,
        completes_at timestamptz NOT NULL,
        started_idx bigint NOT NULL,
        ended_idx bigint
      );
      CREATE INDEX key_recoveries_customer_idx ON key_recoveries (merchant_id, customer_id);
      CREATE INDEX key_recoveries_due_idx ON key_recoveries (completes_at) WHERE status = 'pending';
    `,
  },
  {
    id: 18,
    name: "consents",
    sql: CONSENT_MIGRATION,
  },
  {
    id: 19,
    name: "data-subject rights",
    sql: `
      -- What the law makes a merchant keep after an erasure (a projection of retention.policy_*).
      CREATE TABLE retention_policies (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        name text NOT NULL,
        note text NOT NULL,
        years integer NOT NULL,
        fields jsonb NOT NULL,
        interaction_kinds jsonb NOT NULL,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX retention_policies_merchant_idx ON retention_policies (merchant_id);
      -- A hold: an erased customer's records kept under their own key until the hold ends.
      -- Shredding destroys the key (wrapped becomes null) and the values.
      CREATE TABLE retention_holds (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        policy_id text NOT NULL,
        until timestamptz NOT NULL,
        master_key_id text NOT NULL,
        wrapped bytea,
        erased_idx bigint NOT NULL,
        shredded_idx bigint
      );
      CREATE INDEX retention_holds_customer_idx ON retention_holds (merchant_id, customer_id);
      CREATE INDEX retention_holds_due_idx ON retention_holds (until) WHERE wrapped IS NOT NULL;
      CREATE TABLE retention_values (
        hold_id text NOT NULL,
        customer_id text NOT NULL,
        field text NOT NULL,
        version bigint NOT NULL,
        sealed bytea NOT NULL,
        PRIMARY KEY (hold_id, customer_id, field, version)
      );
      -- Data-subject requests and where each stands (a projection of request.* entries).
      CREATE TABLE subject_requests (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        customer_id text NOT NULL,
        kind text NOT NULL,
        channel text NOT NULL,
        status text NOT NULL,
        checks jsonb NOT NULL,
        received_at timestamptz NOT NULL,
        due_at timestamptz NOT NULL,
        extended boolean NOT NULL DEFAULT false,
        closed_at timestamptz,
        outcome text,
        received_idx bigint NOT NULL,
        entry_idx bigint NOT NULL
      );
      CREATE INDEX subject_requests_open_idx ON subject_requests (merchant_id, status, due_at);
      CREATE INDEX subject_requests_customer_idx ON subject_requests (merchant_id, customer_id);
    `,
  },
  {
    id: 20,
    name: "loyalty",
    sql: LOYALTY_MIGRATION,
  },
  {
    id: 21,
    name: "loyalty_refunds",
    sql: LOYALTY_REFUNDS_MIGRATION,
  },
  {
    id: 22,
    name: "loyalty_redemptions",
    sql: LOYALTY_REDEMPTIONS_MIGRATION,
  },
  {
    id: 23,
    name: "loyalty_transfers_adjustments",
    sql: LOYALTY_MOVES_MIGRATION,
  },
  {
    id: 24,
    name: "loyalty_expiry_tiers",
    sql: LOYALTY_TIERS_MIGRATION,
  },
  {
    id: 25,
    name: "merge suggestions: who dismissed them, and when",
    sql: `
      ALTER TABLE merge_suggestions ADD COLUMN dismissed_by text;
      ALTER TABLE merge_suggestions ADD COLUMN dismissed_at timestamptz;
    `,
  },
  {
    id: 26,
    name: "loyalty members and liability views",
    sql: LOYALTY_VIEWS_MIGRATION,
  },
  {
    id: 27,
    name: "merge suggestions: the identifier kinds the pair shares and disagrees on",
    sql: `
      -- Kinds only (["phone"]), never values; NULL on suggestions made before they were kept.
      ALTER TABLE merge_suggestions ADD COLUMN shared_kinds jsonb;
      ALTER TABLE merge_suggestions ADD COLUMN differing_kinds jsonb;
    `,
  },
  {
    id: 28,
    name: "loyalty orders: the context as the text the node wrote (json)",
    sql: LOYALTY_CONTEXT_TEXT_MIGRATION,
  },
  {
    id: 29,
    name: "imports: why one failed or stopped, as a code",
    sql: "ALTER TABLE imports ADD COLUMN error_code text;",
  },
];

/** Brings the schema up to date. Safe to run from several nodes at once on PostgreSQL. */
export async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    if (db.kind === "postgres") {
      // Serialises concurrent starts; released at commit.
      await tx.query("SELECT pg_advisory_xact_lock(7244901)");
    }
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await tx.query<{ id: number }>("SELECT id FROM schema_migrations");
    const applied = new Set(rows.map((r) => Number(r.id)));
    for (const m of migrations) {
      if (applied.has(m.id)) continue;
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query("INSERT INTO schema_migrations (id, name) VALUES ($1, $2)", [m.id, m.name]);
    }
  });
}

// Extended-protocol queries take one statement each; our migrations hold no semicolons in strings.
function splitStatements(sql: string): string[] {
  return sql
    .replace(/^\s*--.*$/gm, "")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

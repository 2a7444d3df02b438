/**
 * The ledger database's schema, as numbered migrations applied in order when a store opens.
 * The same SQL runs on PGlite and on PostgreSQL; a migration, once released, is never edited:
 * a change is a new migration with the next number.
 */
import { LedgerError } from './errors';
import { isUnavailableError, type SqlClient } from './sql-client';

/** One schema change. */
export interface Migration {
  /** 1, 2, 3, ...: applied in this order, each once. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger entries, charges, in-app notifications and their deliveries',
    sql: `
      -- Append-only history of an account's credit pool; one row per LedgerEntry, every field a column.
      CREATE TABLE ledger_entries (
        entry_id        text PRIMARY KEY,
        account_id      text NOT NULL,
        seq             bigint NOT NULL,
        at              timestamptz NOT NULL,
        kind            text NOT NULL,
        cycle_index     integer NOT NULL,
        credits         bigint NOT NULL,
        balance_after   bigint NOT NULL,
        rules_version   text NOT NULL,
        feature         text,
        quantity        double precision,
        unit            text,
        user_id         text,
        idempotency_key text,
        decision        text,
        reason          text,
        debits          jsonb,
        grant_id        text,
        source          text,
        amount_cents    bigint,
        call_id         text,
        agent_id        text,
        note            text,
        recorded_at     timestamptz NOT NULL DEFAULT now()
      );
      -- Export and paging walk an account in sequence order; date filters and cycle reports use the others.
      CREATE INDEX ledger_entries_account_seq ON ledger_entries (account_id, seq);
      CREATE INDEX ledger_entries_account_at ON ledger_entries (account_id, at);
      CREATE INDEX ledger_entries_account_cycle ON ledger_entries (account_id, cycle_index, kind);

      -- The billing record of tier charges: a charge id is billed at most once.
      CREATE TABLE charges (
        charge_id     text PRIMARY KEY,
        account_id    text NOT NULL,
        at            timestamptz NOT NULL,
        tier_id       text NOT NULL,
        amount_cents  bigint NOT NULL CHECK (amount_cents >= 0),
        currency      text NOT NULL,
        reason        text NOT NULL,
        cycle_index   integer NOT NULL,
        rules_version text NOT NULL,
        recorded_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX charges_account_at ON charges (account_id, at);

      -- In-app low-credit notifications, one per alert id.
      CREATE TABLE notifications (
        alert_id             text PRIMARY KEY,
        account_id           text NOT NULL,
        at                   timestamptz NOT NULL,
        state                text NOT NULL,
        cycle_index          integer NOT NULL,
        cycle_end            timestamptz NOT NULL,
        available            bigint NOT NULL,
        granted              bigint NOT NULL,
        used                 bigint NOT NULL,
        projected_run_out_at timestamptz,
        rules_version        text NOT NULL,
        admins               jsonb NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        read_at              timestamptz
      );
      CREATE INDEX notifications_account_at ON notifications (account_id, at);

      -- Delivery of a notification on an outside channel (e-mail): claimed before sending,
      -- marked sent once the server accepted, so a retried activity never sends twice.
      CREATE TABLE notification_deliveries (
        alert_id   text NOT NULL REFERENCES notifications (alert_id),
        channel    text NOT NULL,
        status     text NOT NULL,
        attempts   integer NOT NULL DEFAULT 0,
        claimed_at timestamptz,
        sent_at    timestamptz,
        message_id text,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (alert_id, channel)
      );
    `,
  },
  {
    version: 2,
    name: 'webhook delivery log',
    sql: `
      -- Every attempt to post a webhook event to an endpoint, kept for billing ops to read;
      -- an event counts as delivered to an endpoint once one of its attempts answered 2xx.
      CREATE TABLE webhook_deliveries (
        event_id    text NOT NULL,
        event_type  text NOT NULL,
        account_id  text NOT NULL,
        endpoint    text NOT NULL,
        attempt     integer NOT NULL CHECK (attempt >= 1),
        at          timestamptz NOT NULL,
        http_status integer,
        delivered   boolean NOT NULL,
        error       text,
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY
      );
      CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, endpoint);
      CREATE INDEX webhook_deliveries_account_at ON webhook_deliveries (account_id, at);
    `,
  },
  {
    version: 3,
    name: 'used portal links',
    sql: `
      -- A customer admin's portal link is traded for a session once: its id is kept here until
      -- the link has expired, so neither a restart nor a second admin server takes it again.
      CREATE TABLE used_portal_links (
        link_id    text PRIMARY KEY,
        account_id text NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX used_portal_links_expires ON used_portal_links (expires_at);
    `,
  },
  {
    version: 4,
    name: 'admin sessions',
    sql: `
      -- The admin page's browser sessions, so a restart signs nobody out and every admin
      -- server on this ledger knows every session. Keyed by a SHA-256 digest of the cookie's
      -- session id: whoever reads this table cannot sign in with what it holds.
      CREATE TABLE admin_sessions (
        id_digest  text PRIMARY KEY,
        caller     text NOT NULL,
        csrf       text NOT NULL,
        flash      text,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);
    `,
  },
  {
    version: 5,
    name: 'trial of an alert',
    sql: `
      -- {"endsAt": instant or null} when the alerted account was on trial: its message then
      -- speaks of trial credits, which no reset renews. Null for paid accounts and older alerts.
      ALTER TABLE notifications ADD COLUMN trial jsonb;
    `,
  },
  {
    version: 6,
    name: 'paid-through of a charge',
    sql: `
      -- The end of the period a tier charge pays for (the end of its cycle), so that a closed
      -- account started again on another calendar is not billed twice for the same days. Null
      -- for charges recorded before it.
      ALTER TABLE charges ADD COLUMN paid_through timestamptz;
    `,
  },
];

/** Arbitrary fixed key of the advisory lock that serialises migrations across workers. */
const MIGRATION_LOCK_KEY = 7_305_114_221;

/**
 * Brings the database's schema up to date, in one transaction under an advisory lock so two
 * workers starting together do not both migrate. Returns the versions it applied.
 *
 * @throws LedgerError `schema_too_new` when the database was migrated by a newer release,
 *   `migration_failed` when a migration's SQL fails (nothing of it is kept).
 */
export async function migrate(client: SqlClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((version) => !known.has(version));
    if (unknown.length > 0) {
      throw new LedgerError(
        'schema_too_new',
        `ledger database ${client.label} has schema migration(s) ${unknown.join(', ')} that this release does not know: it was opened by a newer release`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      try {
        await tx.exec(migration.sql);
      } catch (err) {
        if (isUnavailableError(err)) throw err;
        throw new LedgerError(
          'migration_failed',
          `ledger database ${client.label}: migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}

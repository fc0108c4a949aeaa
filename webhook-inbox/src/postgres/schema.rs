//! The PostgreSQL schema and its versioned migrations.
//!
//! Every table lives in the inbox's own schema (`webhook_inbox` by default), so the
//! inbox can share the application's database without touching its tables. The
//! version is a row of `§.schema_version`. Opening applies every migration above it in
//! **one transaction under a transaction-scoped advisory lock** keyed by the schema's
//! name: replicas starting at once queue on the lock, the first migrates, the others
//! then find the schema current and change nothing. A database whose version is newer
//! than [`VERSION`] is refused ([`InboxError::SchemaTooNew`]).
//!
//! Times are milliseconds since the Unix epoch (`BIGINT`), taken from the inbox's
//! [`Clock`](crate::Clock) like the SQLite backend's, so tests run leases and retries
//! in virtual time; integers are `BIGINT` throughout.
//!
//! - v1: deliveries, events (a partial index on `(run_at, id)` over the live states is
//!   what a claim scans, in due order), deduplication keys (primary key on the key,
//!   which starts with the route), the attempt log, and the indexes for listing and
//!   purging.
//! - v2: how each delivery was verified (which signing secret matched: its position and
//!   label; whether credentials or a URL token were checked), for the inspector: four
//!   nullable columns of `deliveries` (a large body is TOASTed out of line, so columns
//!   after it cost a listing nothing). `credentials` is `NULL` on a delivery stored
//!   before v2: its verification was not recorded.

use sqlx::{Postgres, Transaction};

use super::Names;
use crate::error::InboxError;

/// The newest schema version this crate knows.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Migration `n` (1-based) takes a schema from version `n - 1` to `n`; `§.` names the
/// inbox's schema.
const MIGRATIONS: [&str; 2] = [
    "CREATE TABLE §.deliveries (
        id BIGSERIAL PRIMARY KEY,
        route TEXT NOT NULL,
        scheme TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        state BIGINT NOT NULL,
        media_type TEXT NOT NULL,
        message_id TEXT,
        signed_at BIGINT,
        stalwart_key BIGINT NOT NULL,
        headers BYTEA NOT NULL,
        parse_error TEXT,
        queued BIGINT NOT NULL,
        duplicates BIGINT NOT NULL,
        body_len BIGINT NOT NULL,
        body BYTEA NOT NULL
    );
    CREATE INDEX deliveries_received ON §.deliveries (received_at);
    CREATE TABLE §.events (
        id BIGSERIAL PRIMARY KEY,
        delivery_id BIGINT NOT NULL,
        route TEXT NOT NULL,
        scheme TEXT NOT NULL,
        event_type TEXT,
        dedup_key BYTEA NOT NULL,
        media_type TEXT NOT NULL,
        body_start BIGINT NOT NULL,
        body_end BIGINT NOT NULL,
        state BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        base_attempts BIGINT NOT NULL DEFAULT 0,
        run_since BIGINT NOT NULL,
        run_at BIGINT NOT NULL,
        lease BIGINT,
        claimed_at BIGINT,
        worker TEXT,
        received_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT,
        last_error TEXT,
        bytes BYTEA
    );
    CREATE INDEX events_due ON §.events (run_at, id) WHERE state < 2;
    CREATE INDEX events_delivery ON §.events (delivery_id);
    CREATE INDEX events_finished ON §.events (state, finished_at);
    CREATE INDEX events_type ON §.events (event_type);
    CREATE TABLE §.event_keys (
        key BYTEA PRIMARY KEY,
        event_id BIGINT NOT NULL,
        first_seen BIGINT NOT NULL
    );
    CREATE INDEX event_keys_first_seen ON §.event_keys (first_seen);
    CREATE TABLE §.attempts (
        id BIGSERIAL PRIMARY KEY,
        event_id BIGINT NOT NULL,
        attempt BIGINT NOT NULL,
        started_at BIGINT NOT NULL,
        duration_ms BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        worker TEXT
    );
    CREATE INDEX attempts_event ON §.attempts (event_id);",
    "ALTER TABLE §.deliveries
        ADD COLUMN key_index BIGINT,
        ADD COLUMN key_label TEXT,
        ADD COLUMN credentials BOOLEAN,
        ADD COLUMN url_token BOOLEAN;",
];

/// Brings the schema up to `target` (at most [`VERSION`]) in `tx`, under the advisory
/// lock; refuses a schema newer than this crate's.
pub(crate) async fn migrate(
    tx: &mut Transaction<'static, Postgres>,
    names: &Names,
    target: i64,
) -> Result<(), MigrateError> {
    // Held until the transaction ends: a replica starting at the same time waits here
    // and then finds the migrations applied.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("webhook-inbox migrations {}", names.schema))
        .execute(&mut **tx)
        .await?;
    sqlx::query(names.sql("CREATE SCHEMA IF NOT EXISTS §"))
        .execute(&mut **tx)
        .await?;
    sqlx::query(names.sql(
        "CREATE TABLE IF NOT EXISTS §.schema_version (
            one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
            version BIGINT NOT NULL
        )",
    ))
    .execute(&mut **tx)
    .await?;
    let version: Option<i64> =
        sqlx::query_scalar(names.sql("SELECT version FROM §.schema_version"))
            .fetch_optional(&mut **tx)
            .await?;
    let version = version.unwrap_or(0);
    if version > VERSION {
        return Err(MigrateError::Inbox(InboxError::SchemaTooNew {
            found: version,
            supported: VERSION,
        }));
    }
    for migration in MIGRATIONS
        .iter()
        .take(target.min(VERSION) as usize)
        .skip(version as usize)
    {
        sqlx::raw_sql(names.sql(migration))
            .execute(&mut **tx)
            .await?;
    }
    if target > version {
        sqlx::query(names.sql(
            "INSERT INTO §.schema_version (version) VALUES ($1)
             ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
        ))
        .bind(target.min(VERSION))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A migration's failure: the database's, or a schema this version cannot use.
pub(crate) enum MigrateError {
    Sql(sqlx::Error),
    Inbox(InboxError),
}

impl From<sqlx::Error> for MigrateError {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

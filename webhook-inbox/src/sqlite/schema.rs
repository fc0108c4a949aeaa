//! The SQLite schema and its versioned migrations.
//!
//! The version is SQLite's `user_version`. Opening a file applies every migration
//! above its version, each in its own transaction under the write lock, so that
//! several processes opening one file at once migrate it once. A file whose version is
//! newer than [`VERSION`] is refused ([`InboxError::SchemaTooNew`]): this version would
//! not know what the newer columns mean.
//!
//! - v1: deliveries (body last, so reading a delivery's other columns never loads its
//!   body), events (a partial index on `run_at` over the live states is what a claim
//!   scans, in due order), deduplication keys (unique on the key, which starts with
//!   the route).
//! - v2: the attempt log (every attempt's time, duration, outcome and error, for the
//!   inspector), and the indexes for listing by type and purging keys by age.
//! - v3: how each delivery was verified (which signing secret matched: its position and
//!   label; whether credentials or a URL token were checked), for the inspector. In a
//!   table of its own, one row per delivery, rather than as columns of `deliveries`:
//!   SQLite appends added columns after `body`, and reading a column that follows an
//!   overflowing blob walks the blob's overflow pages, which would make every listing
//!   read every body. A delivery stored before v3 has no row (its verification was not
//!   recorded); a trigger deletes the row with its delivery.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::InboxError;

/// The newest schema version this crate knows.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Migration `n` (1-based) takes a file from version `n - 1` to `n`.
const MIGRATIONS: [&str; 3] = [
    "CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        route TEXT NOT NULL,
        scheme TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        state INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        message_id TEXT,
        signed_at INTEGER,
        stalwart_key INTEGER NOT NULL,
        headers BLOB NOT NULL,
        parse_error TEXT,
        queued INTEGER NOT NULL,
        duplicates INTEGER NOT NULL,
        body_len INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX deliveries_received ON deliveries(received_at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id INTEGER NOT NULL,
        route TEXT NOT NULL,
        scheme TEXT NOT NULL,
        event_type TEXT,
        dedup_key BLOB NOT NULL,
        media_type TEXT NOT NULL,
        body_start INTEGER NOT NULL,
        body_end INTEGER NOT NULL,
        state INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        base_attempts INTEGER NOT NULL DEFAULT 0,
        run_since INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        lease INTEGER,
        claimed_at INTEGER,
        worker TEXT,
        received_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        last_error TEXT,
        bytes BLOB
    );
    CREATE INDEX events_due ON events(run_at) WHERE state < 2;
    CREATE INDEX events_delivery ON events(delivery_id);
    CREATE INDEX events_finished ON events(state, finished_at);
    CREATE TABLE event_keys (
        key BLOB PRIMARY KEY,
        event_id INTEGER NOT NULL,
        first_seen INTEGER NOT NULL
    ) WITHOUT ROWID;",
    "CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error TEXT,
        worker TEXT
    );
    CREATE INDEX attempts_event ON attempts(event_id);
    CREATE INDEX events_type ON events(event_type);
    CREATE INDEX event_keys_first_seen ON event_keys(first_seen);",
    "CREATE TABLE delivery_verifications (
        delivery_id INTEGER PRIMARY KEY,
        key_index INTEGER,
        key_label TEXT,
        credentials INTEGER NOT NULL,
        url_token INTEGER NOT NULL
    );
    CREATE TRIGGER deliveries_verification_gone AFTER DELETE ON deliveries BEGIN
        DELETE FROM delivery_verifications WHERE delivery_id = old.id;
    END;",
];

/// Brings the file up to `target` (at most [`VERSION`]).
pub(crate) fn migrate(conn: &mut Connection, target: i64) -> Result<(), rusqlite::Error> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version >= target {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

/// The file's schema version, refused when newer than this crate's.
pub(crate) fn check(conn: &Connection) -> Result<(), InboxError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|err| InboxError::Corrupt(format!("cannot read the schema version: {err}")))?;
    if version > VERSION {
        return Err(InboxError::SchemaTooNew {
            found: version,
            supported: VERSION,
        });
    }
    Ok(())
}

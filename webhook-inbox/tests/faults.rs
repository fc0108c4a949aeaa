//! The inbox when it cannot write: a full disk (SQLite's page cap, which fails writes
//! exactly as a full disk does, and works as root, unlike a read-only file), a database
//! locked by another connection past the timeout, and schema versions.
//!
//! In every case the accept is a typed unavailable error answered 503 with
//! `Retry-After`, and nothing is acknowledged that is not stored.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::Connection;
use webhook_core::Scheme;
use webhook_inbox::{
    Backend, ClaimRequest, DeliveryId, EventFilter, EventId, Finish, Inbox, InboxError, Page,
    Route, SqliteBackend, Unavailable, Verdict,
    contract::{check_verifications_after_upgrade, stalwart_batch, verified_stalwart},
};

async fn accept(
    inbox: &Inbox<SqliteBackend>,
    n: u32,
) -> Result<webhook_inbox::Accepted, InboxError> {
    let (headers, verified) = verified_stalwart(stalwart_batch(&[n]));
    inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_unavailable_and_nothing_unstored_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let inbox = Inbox::new(
        SqliteBackend::builder(&path)
            .max_size_bytes(256 * 1024)
            .retry_after(Duration::from_secs(7))
            .open()
            .unwrap(),
    );
    // Concurrent accepts until the file is full: acknowledged ones and refused ones.
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    for round in 0..200u32 {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let inbox = inbox.clone();
                let n = round * 8 + i;
                tokio::spawn(async move { (n, accept(&inbox, n).await) })
            })
            .collect();
        for task in tasks {
            match task.await.unwrap() {
                (n, Ok(_)) => acknowledged.push(n),
                (n, Err(err)) => {
                    assert_eq!(err.status(), 503);
                    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
                    assert!(
                        matches!(
                            err,
                            InboxError::Unavailable {
                                kind: Unavailable::Full,
                                ..
                            }
                        ),
                        "{err}"
                    );
                    assert_eq!(err.code(), "inbox_full");
                    refused.push(n);
                }
            }
        }
        if refused.len() > 16 {
            break;
        }
    }
    assert!(
        !acknowledged.is_empty() && refused.len() > 16,
        "{acknowledged:?} / {refused:?}"
    );

    // What was acknowledged is on disk; what was refused is not: read the file afresh.
    drop(inbox);
    let reopened = Inbox::open(&path).unwrap();
    let mut stored = Vec::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let events = reopened
            .list_events(&EventFilter::default(), page)
            .await
            .unwrap();
        let Some(last) = events.last() else { break };
        page = page.after(last.id.0);
        for summary in &events {
            let event = reopened.event(summary.id).await.unwrap().unwrap();
            let text = String::from_utf8(event.bytes).unwrap();
            let n: u32 = text
                .split("\"accountId\":")
                .nth(1)
                .and_then(|rest| rest.split('}').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            stored.push(n);
        }
    }
    stored.sort_unstable();
    acknowledged.sort_unstable();
    assert_eq!(stored, acknowledged);
    assert!(refused.iter().all(|n| !stored.contains(n)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_timeout_is_unavailable_then_clears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let inbox = Inbox::new(
        SqliteBackend::builder(&path)
            .lock_timeout(Duration::from_millis(200))
            .open()
            .unwrap(),
    );
    accept(&inbox, 1).await.unwrap();
    // Another process's connection takes the write lock and sits on it.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let err = accept(&inbox, 2).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        matches!(
            err,
            InboxError::Unavailable {
                kind: Unavailable::Locked,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.status(), 503);
    // Reads still work beside the lock (WAL).
    assert_eq!(inbox.stats().await.unwrap().pending, 1);
    other.execute_batch("COMMIT").unwrap();
    accept(&inbox, 2).await.unwrap();
    assert_eq!(inbox.stats().await.unwrap().pending, 2);
}

/// The file's schema version.
fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// A file at schema `version` (in the returned directory) holding a delivery (id 1) of
/// `stalwart_batch(&[1])` and its event (id 1), as versions 1 and 2 wrote them.
fn old_file(version: i64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    SqliteBackend::create_at_version(&path, version).unwrap();
    assert_eq!(user_version(&path), version);
    let conn = Connection::open(&path).unwrap();
    let body = stalwart_batch(&[1]);
    conn.execute(
        "INSERT INTO deliveries (route, scheme, received_at, state, media_type, stalwart_key,
            headers, queued, duplicates, body_len, body)
         VALUES ('stalwart', 'stalwart', 1000, 0, 'application/json', 0, x'', 1, 0, ?1, ?2)",
        rusqlite::params![body.len() as i64, body],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events (delivery_id, route, scheme, event_type, dedup_key, media_type,
            body_start, body_end, state, run_since, run_at, received_at, updated_at)
         VALUES (1, 'stalwart', 'stalwart', 'auth.success', x'6b', 'application/json',
            0, ?1, 0, 1000, 1000, 1000, 1000)",
        [body.len() as i64],
    )
    .unwrap();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_file_is_upgraded_with_its_data() {
    // A delivery and its event as version 1 wrote them.
    let (_dir, path) = old_file(1);
    let no_attempts: bool = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) = 0 FROM sqlite_master WHERE name = 'attempts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(no_attempts);
    let inbox = Inbox::open(&path).unwrap();
    let version = user_version(&path);
    assert_eq!(version, SqliteBackend::schema_version());
    assert_eq!(version, 3);
    // The old event is there, and runs with the new attempt log.
    let claimed = inbox
        .backend()
        .claim(ClaimRequest::new(
            1,
            inbox.now(),
            Duration::from_secs(30),
            "w",
        ))
        .await
        .unwrap();
    assert_eq!(claimed[0].bytes, stalwart_batch(&[1]));
    let now = inbox.now();
    inbox
        .backend()
        .finish(Finish::new(
            claimed[0].lease,
            1,
            now,
            now,
            "w",
            Verdict::Done,
        ))
        .await
        .unwrap();
    let event = inbox.event(claimed[0].lease.event).await.unwrap().unwrap();
    assert_eq!(event.attempts.len(), 1);
    // New deliveries go in beside it.
    accept(&inbox, 2).await.unwrap();
    assert_eq!(inbox.stats().await.unwrap().deliveries, 2);
}

/// A file at version 2 (before the inbox recorded which key verified a delivery) is
/// upgraded: its deliveries read back with their verification unrecorded, new ones
/// record it, and deleting a delivery removes its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_file_is_upgraded_and_records_the_matched_key_from_then_on() {
    let (_dir, path) = old_file(2);
    let inbox = Inbox::open(&path).unwrap();
    assert_eq!(user_version(&path), 3);

    assert_eq!(
        inbox.delivery(DeliveryId(1)).await.unwrap().unwrap().body,
        stalwart_batch(&[1])
    );
    check_verifications_after_upgrade(&inbox, DeliveryId(1), EventId(1)).await;

    // Deleting a delivery (as purging does) takes its record with it.
    let conn = Connection::open(&path).unwrap();
    let records = || {
        conn.query_row("SELECT COUNT(*) FROM delivery_verifications", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(records(), 1);
    conn.execute("DELETE FROM deliveries WHERE id = 2", [])
        .unwrap();
    assert_eq!(records(), 0);
}

#[test]
fn a_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    drop(SqliteBackend::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteBackend::open(&path).unwrap_err();
    assert_eq!(
        err,
        InboxError::SchemaTooNew {
            found: 99,
            supported: 3
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_location_is_unavailable() {
    // A path under a regular file cannot be created, whoever runs the test.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let err = SqliteBackend::open(file.join("inbox.db")).unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
}

//! Several `webhook listen` replicas sharing what they know, as real processes over
//! loopback HTTP: a PostgreSQL inbox (`--inbox postgres://…`) on a real PostgreSQL
//! server, and Redis deduplication (`--redis URL`) on a real redis-server. A delivery
//! retried to the other replica is a duplicate there. The servers are started by the
//! tests; one that cannot start fails the test (`scripts/ensure-tools.sh` installs them).

mod support;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::Value;
use support::*;
use webhook_inbox::testing::PostgresServer;
use webhook_redis::testing::RedisServer;

/// Waits until `listener` has printed something `found` accepts, for at most 20 s.
async fn wait_for_output(listener: &Listener, found: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let printed = listener.printed();
        if found(&printed) {
            return printed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never printed what was expected; printed:\n{printed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The JSON lines `listen --json` printed with `"status": status`.
fn lines_with_status(printed: &str, status: &str) -> Vec<Value> {
    printed
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["status"] == status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listen_replicas_share_a_postgres_inbox_and_a_retry_to_the_other_is_a_duplicate() {
    let server = PostgresServer::start();
    let url = server.create_database("replicas");
    let inbox = Path::new(&url);
    let first = Listener::start(inbox, 0, &["--json"]);
    let second = Listener::start(inbox, 0, &["--json"]);

    let events = [
        stalwart_event("alice", "auth.success", 0),
        stalwart_event("bob", "auth.failed", 0),
    ];
    let body = batch(&events);
    let (status, _) = post(&first.url, body.clone()).await;
    assert_eq!(status, 200);
    // The sender retries the same batch, and the load balancer picks the other replica.
    let (status, _) = post(&second.url, body.clone()).await;
    assert_eq!(status, 200);

    let stored = wait_for_output(&second, |printed| {
        !lines_with_status(printed, "stored").is_empty()
    })
    .await;
    let stored = &lines_with_status(&stored, "stored")[0];
    assert_eq!(stored["queued"], 0, "{stored}");
    assert_eq!(stored["duplicates"], 2, "{stored}");

    // `webhook inbox … --inbox URL` sees both deliveries and the two events, run once
    // by the workers of either replica.
    let stats = wait_for_stats(inbox, Duration::from_secs(20), |stats| stats["done"] == 2).await;
    assert_eq!(stats["deliveries"], 2, "{stats}");
    assert_eq!(stats["pending"], 0, "{stats}");
    assert_eq!(stats["dead"], 0, "{stats}");
    let list = inbox_json(inbox, &["list"]);
    let listed = list["events"].as_array().expect("events");
    assert_eq!(listed.len(), 2, "{list}");
    let mut types: Vec<&str> = listed.iter().filter_map(|e| e["type"].as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["auth.failed", "auth.success"], "{list}");
    let id = listed[0]["id"].to_string();
    let shown = inbox_json(inbox, &["show", &id]);
    assert_eq!(shown["event"]["state"], "done", "{shown}");

    // Each event was handled once, across both replicas.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let handled = lines_with_status(&first.printed(), "accepted").len()
        + lines_with_status(&second.printed(), "accepted").len();
    assert_eq!(
        handled,
        2,
        "first:\n{}\nsecond:\n{}",
        first.printed(),
        second.printed()
    );
}

/// `webhook listen --redis URL` on a free port, text output.
fn listen_with_redis(redis: Option<&str>) -> Listener {
    let mut command = webhook();
    command
        .args(["listen", "--scheme", "stalwart", "--secret", SECRET])
        .args(["--port", "0"]);
    if let Some(url) = redis {
        command.args(["--redis", url]);
    }
    Listener::spawn(command)
}

const SKIPPED: &str = "duplicate, skipped:";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listen_replicas_on_one_redis_skip_a_delivery_retried_to_the_other() {
    let redis = RedisServer::start();
    let first = listen_with_redis(Some(&redis.url()));
    let second = listen_with_redis(Some(&redis.url()));
    // A replica remembering in memory only, for contrast.
    let alone = listen_with_redis(None);

    let events = [
        stalwart_event("carol", "auth.success", 0),
        stalwart_event("dave", "auth.success", 0),
    ];
    let body = batch(&events);
    let (status, _) = post(&first.url, body.clone()).await;
    assert_eq!(status, 200);
    let printed = wait_for_output(&first, |p| p.matches('✔').count() == 2).await;
    assert!(!printed.contains(SKIPPED), "{printed}");

    // The sender's retry lands on the second replica: both events skipped.
    let (status, _) = post(&second.url, body.clone()).await;
    assert_eq!(status, 200);
    let printed = wait_for_output(&second, |p| p.matches(SKIPPED).count() == 2).await;
    assert!(!printed.contains('✔'), "handled again: {printed}");

    // Without the shared store the same retry would run the handler again.
    let (status, _) = post(&alone.url, body).await;
    assert_eq!(status, 200);
    let printed = wait_for_output(&alone, |p| p.matches('✔').count() == 2).await;
    assert!(!printed.contains(SKIPPED), "{printed}");
}

#[test]
fn redis_is_refused_beside_an_inbox_or_no_dedup_and_an_unreachable_store_is_an_error() {
    for conflicting in [&["--inbox", "inbox.db"][..], &["--no-dedup"][..]] {
        let output = webhook()
            .args(["listen", "--scheme", "stalwart", "--secret", SECRET])
            .args(["--port", "0", "--redis", "redis://127.0.0.1:1/"])
            .args(conflicting)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{conflicting:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--redis") && stderr.contains(conflicting[0]),
            "{conflicting:?}: {stderr}"
        );
    }

    // Nothing listens on port 1: listen stops at start-up, saying so.
    let output = webhook()
        .args(["listen", "--scheme", "stalwart", "--secret", SECRET])
        .args(["--port", "0", "--redis", "redis://:hunter2@127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--redis"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");

    // The same for a PostgreSQL inbox: an error naming the inbox, without its password.
    let output = webhook()
        .args([
            "inbox",
            "stats",
            "--inbox",
            "postgres://app:hunter2@127.0.0.1:1/hooks",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("postgres://app:***@127.0.0.1:1/hooks"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

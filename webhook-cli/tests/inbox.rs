//! `webhook listen --inbox` and `webhook inbox …` as real processes, over loopback HTTP,
//! on a real SQLite file: the forwarded events (exact bytes, Standard Webhooks headers
//! that verify with the core's verifier), retries into the dead state, every
//! subcommand's JSON, and the 503 with `Retry-After` when the inbox cannot write.

mod support;

use std::time::Duration;

use http::StatusCode;
use serde_json::Value;
use support::*;

fn json_of(text: &[u8]) -> Value {
    serde_json::from_slice(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_events_verify_fail_into_dead_and_every_subcommand_acts_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox.db");
    // The application: fails every `auth.failed` event, takes the rest.
    let target = Target::start(|body| {
        let failing = String::from_utf8_lossy(body).contains(r#""type":"auth.failed""#);
        let status = if failing {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (status, Duration::ZERO)
    })
    .await;
    let listener = Listener::start(
        &inbox,
        0,
        &[
            "--forward-to",
            &target.url,
            "--forward-secret",
            FORWARD_SECRET,
            "--max-attempts",
            "2",
            "--retry-min",
            "0.05",
            "--retry-max",
            "0.1",
            "--secret-label",
            "2026-q4",
            "--json",
        ],
    );
    let events = [
        stalwart_event("alice", "auth.success", 0),
        stalwart_event("bob", "auth.success", 0),
        stalwart_event("carol", "auth.failed", 0),
    ];
    let body = batch(&events);
    let (status, _) = post(&listener.url, body.clone()).await;
    assert_eq!(status, 200);
    // The same batch again (a sender's retry): answered 200, nothing queued again.
    let (status, _) = post(&listener.url, body.clone()).await;
    assert_eq!(status, 200);

    let stats = wait_for_stats(&inbox, Duration::from_secs(15), |s| {
        s["done"] == 2 && s["dead"] == 1
    })
    .await;
    assert_eq!(stats["deliveries"], 2, "{stats}");
    assert_eq!(stats["keys"], 3, "{stats}");
    assert_eq!(stats["pending"], 0, "{stats}");

    // What the application received: each event's exact bytes, signed, its key as id.
    let seen = target.seen();
    assert!(seen.iter().all(|f| f.verified), "every forward verifies");
    for forwarded in &seen {
        assert_eq!(forwarded.headers["content-type"], "application/json");
        assert!(forwarded.headers.contains_key("webhook-timestamp"));
        assert!(forwarded.id.starts_with("stalwart:"), "{}", forwarded.id);
    }
    for (event, times) in events.iter().zip([1, 1, 2]) {
        let got: Vec<_> = seen.iter().filter(|f| f.body == event.as_bytes()).collect();
        assert_eq!(got.len(), times, "{event} forwarded {} times", got.len());
        assert!(
            got.iter().all(|f| f.id == got[0].id),
            "one key on every attempt"
        );
    }
    let listed = inbox_json(&inbox, &["list"]);
    let keys: Vec<&str> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3);
    for forwarded in &seen {
        assert!(
            keys.contains(&forwarded.id.as_str()),
            "webhook-id is the dedup key"
        );
    }

    // list, with filters.
    let dead = inbox_json(&inbox, &["list", "--state", "dead"]);
    let dead = dead["events"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["type"], "auth.failed");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], 2);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("500"));
    let dead_id = dead[0]["id"].as_i64().unwrap();
    let typed = inbox_json(
        &inbox,
        &["list", "--type", "auth.success", "--route", "stalwart"],
    );
    assert_eq!(typed["events"].as_array().unwrap().len(), 2);
    assert!(
        typed["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "done")
    );
    let page = inbox_json(&inbox, &["list", "--limit", "2"]);
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let before = page["next_before"].as_i64().expect("a next page");
    let rest = inbox_json(
        &inbox,
        &["list", "--limit", "2", "--before", &before.to_string()],
    );
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(
        inbox_json(&inbox, &["list", "--route", "elsewhere"])["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // show: the exact bytes, the kept headers, every attempt.
    let shown = inbox_json(&inbox, &["show", &dead_id.to_string()]);
    let event = &shown["event"];
    assert_eq!(event["bytes"].as_str().unwrap(), events[2]);
    assert_eq!(event["media_type"], "json");
    let range = event["range"].as_array().unwrap();
    let (start, end) = (
        range[0].as_u64().unwrap() as usize,
        range[1].as_u64().unwrap() as usize,
    );
    assert_eq!(&body[start..end], events[2].as_bytes());
    assert!(
        event["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"] == "x-signature")
    );
    let outcomes: Vec<&str> = event["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "dead"]);
    assert_eq!(event["delivery"]["duplicates"], 0);
    // How it was verified: the label of the listener's one secret, never the secret.
    assert_eq!(
        event["delivery"]["verification"],
        serde_json::json!({
            "key": {"index": 0, "label": "2026-q4"},
            "credentials": false,
            "url_token": false,
            "text": r#"key "2026-q4" (#0)"#,
        })
    );
    let plain = webhook()
        .args(["inbox", "show", &dead_id.to_string(), "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(plain.status.success());
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(
        plain.contains(r#"  verified  by the stalwart scheme with key "2026-q4" (#0)"#),
        "{plain}"
    );
    assert!(!plain.contains(SECRET) && !shown.to_string().contains(SECRET));

    // redrive: the application is fixed; the dead event runs again and succeeds.
    target.answer_with(|_| (StatusCode::OK, Duration::ZERO));
    let redriven = inbox_json(&inbox, &["redrive", &dead_id.to_string()]);
    assert_eq!(redriven, serde_json::json!({"redriven": 1}));
    wait_for_stats(&inbox, Duration::from_secs(15), |s| s["done"] == 3).await;
    assert_eq!(
        target
            .seen()
            .iter()
            .filter(|f| f.body == events[2].as_bytes())
            .count(),
        3
    );

    // replay: every done event runs again from its stored bytes.
    let before_replay = target.seen().len();
    let replayed = inbox_json(&inbox, &["replay", "--all"]);
    assert_eq!(replayed, serde_json::json!({"replayed": 3}));
    wait_for_stats(&inbox, Duration::from_secs(15), |s| {
        s["done"] == 3 && s["pending"] == 0
    })
    .await;
    let seen = target.seen();
    let replays = &seen[before_replay..];
    assert_eq!(replays.len(), 3);
    for event in &events {
        assert_eq!(
            replays
                .iter()
                .filter(|f| f.body == event.as_bytes())
                .count(),
            1
        );
    }

    // purge: done events and their deliveries go; the keys stay (dedup window).
    let purged = inbox_json(&inbox, &["purge", "--done-after", "0"]);
    assert_eq!(purged["purged"]["events"], 3, "{purged}");
    assert_eq!(purged["purged"]["deliveries"], 2, "{purged}");
    assert_eq!(purged["purged"]["keys"], 0, "{purged}");
    let stats = inbox_json(&inbox, &["stats"]);
    assert_eq!(
        (stats["done"].as_u64(), stats["keys"].as_u64()),
        (Some(0), Some(3))
    );
    // A late redelivery of a purged event is still recognised: nothing runs again.
    let (status, _) = post(&listener.url, body.clone()).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(target.seen().len(), seen.len());
    let printed = listener.printed();
    assert!(
        printed
            .lines()
            .any(|l| json_of(l.as_bytes())["status"] == "forwarded")
    );
    assert!(
        printed
            .lines()
            .any(|l| json_of(l.as_bytes())["status"] == "forward_failed")
    );
}

#[test]
fn inbox_subcommands_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let out = webhook()
        .args(["inbox", "stats", "--inbox"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no inbox at"));
    assert!(
        !missing.exists(),
        "a mistyped path does not create an inbox"
    );

    // An empty inbox, made by `listen`.
    let inbox = dir.path().join("inbox.db");
    drop(Listener::start(&inbox, 0, &[]));
    let out = webhook()
        .args(["inbox", "redrive", "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "no selection: nothing is redriven by accident"
    );
    let out = webhook()
        .args(["inbox", "show", "42", "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no event with id 42"));
    let out = webhook()
        .args(["inbox", "purge", "--done-after", "7w", "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = webhook()
        .args(["inbox", "list", "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no events match\n");
    let out = webhook()
        .args(["inbox", "stats", "--inbox"])
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending"));
    // `--no-dedup` makes no sense with the inbox, which deduplicates.
    let out = webhook()
        .args([
            "listen",
            "--scheme",
            "stalwart",
            "--secret",
            "s",
            "--no-dedup",
            "--inbox",
        ])
        .arg(&inbox)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The inbox capped at 256 KiB fills up, as a full disk does: the delivery that does
/// not fit is answered 503 with `Retry-After` and a short body, and exactly the
/// deliveries answered 200 are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbox_answers_503_with_retry_after_and_acknowledges_only_what_it_stored() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox.db");
    let listener = Listener::start(&inbox, 0, &["--inbox-max-bytes", "262144", "--json"]);
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 0..200 {
        let name = format!("user{n}");
        let (status, headers) = post(
            &listener.url,
            batch(&[stalwart_event(&name, "auth.success", 16 * 1024)]),
        )
        .await;
        match status {
            StatusCode::OK => acknowledged.push(name),
            StatusCode::SERVICE_UNAVAILABLE => {
                refused = Some((name, headers));
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let (refused, headers) = refused.expect("the capped inbox fills up");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert!(!acknowledged.is_empty());
    // listen prints before it answers, but this process reads its output on another
    // thread: wait for the line rather than race it.
    let started = std::time::Instant::now();
    let line = loop {
        let printed = listener.printed();
        let found = printed
            .lines()
            .map(|l| json_of(l.as_bytes()))
            .find(|l| l["status"] == "unavailable");
        if let Some(line) = found {
            break line;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "listen says why: {printed}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(line["code"], "inbox_full");
    assert_eq!(line["http_status"], 503);
    drop(listener);

    // Exactly what was acknowledged is stored, and nothing of the refused delivery.
    let listed = inbox_json(&inbox, &["list", "--limit", "1000"]);
    let mut stored: Vec<String> = Vec::new();
    for event in listed["events"].as_array().unwrap() {
        let id = event["id"].to_string();
        let shown = inbox_json(&inbox, &["show", &id]);
        let bytes = shown["event"]["bytes"].as_str().unwrap().to_owned();
        let name = bytes
            .split("accountName\":\"")
            .nth(1)
            .unwrap()
            .split('@')
            .next()
            .unwrap();
        stored.push(name.to_owned());
    }
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged);
    assert!(!stored.contains(&refused));
}

/// SIGTERM (a service manager's stop): `listen --inbox` stops accepting, lets the
/// running forward finish, and exits 0 with the event done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_forward_finish_and_exits_cleanly() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox.db");
    let target = Target::start(|_| (StatusCode::OK, Duration::from_millis(700))).await;
    let mut listener = Listener::start(&inbox, 0, &["--forward-to", &target.url]);
    let (status, _) = post(
        &listener.url,
        batch(&[stalwart_event("dave", "auth.success", 0)]),
    )
    .await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    while target.in_flight.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the forward started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = rustix::process::Pid::from_child(&listener.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let exited = tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = listener.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let exited = exited.expect("listen exits after SIGTERM");
    assert!(exited.success(), "{exited:?}");
    let stats = inbox_json(&inbox, &["stats"]);
    assert_eq!(
        (stats["done"].as_u64(), stats["pending"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );
    assert_eq!(target.seen().len(), 1);
}

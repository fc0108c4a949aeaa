//! The crash test of `webhook listen --inbox`: the receiver is a child process killed
//! with SIGKILL again and again — while the reference sender's deliveries are being
//! appended, right after a commit (racing the answer), and in the middle of a handler
//! (a slow `--forward-to` target) — while the sender delivers 60 events with Stalwart's
//! retry behaviour (the whole batch again, new event ids, no backoff). After a final
//! restart, every acknowledged event reaches the target at least once; each arrival is
//! counted, and an event arrives twice only if one of its forwards was in flight at a
//! crash: the inbox's attempt log holds, for every extra arrival, an attempt of a killed
//! receiver whose answer never reached the disk (`lease_expired`), or a lease the
//! receiver lost and logged (`lease_lost`).

mod support;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use http::StatusCode;
use support::*;
use webhook_core::{
    Scheme, Secret,
    senders::stalwart::{DataMap, Key, Value},
};
use webhook_sender::{DeliveryOutcome, Endpoint, Sender, StalwartEvent};

const EVENTS: usize = 60;
/// How long the target takes to answer: long enough to kill the receiver mid-handler.
const HANDLER: Duration = Duration::from_millis(300);
const WORKERS: &str = "4";

fn start(inbox: &std::path::Path, port: u16, target: &Target) -> Listener {
    Listener::start(
        inbox,
        port,
        &[
            "--forward-to",
            &target.url,
            "--forward-secret",
            FORWARD_SECRET,
            "--workers",
            WORKERS,
            "--lease",
            "1",
            "--retry-min",
            "0.1",
            "--retry-max",
            "0.5",
            "--json",
        ],
    )
}

/// The account name that identifies an event in the bytes the target receives.
fn name_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split("accountName\":\"")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .unwrap_or_default()
        .to_owned()
}

/// SIGKILLs the receiver as soon as its output shows a committed delivery: the kill
/// lands right after the commit, racing the answer.
fn kill_after_next_commit(listener: Listener) -> Listener {
    let seen = listener.printed().matches("\"stored\"").count();
    let started = Instant::now();
    while listener.printed().matches("\"stored\"").count() == seen
        && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    listener
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_event_is_forwarded_through_repeated_sigkills() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox.db");
    let target = Target::start(|_| (StatusCode::OK, HANDLER)).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");

    let mut listener = Some(start(&inbox, port, &target));
    let endpoint = Endpoint::new(Scheme::Stalwart, &url)
        .unwrap()
        .secret(Secret::new(SECRET))
        .unwrap();
    let sender = Sender::stalwart(endpoint).build().unwrap();
    let mut outcomes = sender.subscribe();
    let items: Vec<StalwartEvent> = (0..EVENTS)
        .map(|n| {
            let mut data = DataMap::new();
            data.push(
                Key::AccountName,
                Value::from(format!("crash{n}@example.org")),
            );
            StalwartEvent::from_map("auth.success", &data)
        })
        .collect();
    let sending = Arc::new(AtomicBool::new(true));
    let pacing = {
        let sending = Arc::clone(&sending);
        let handle = sender.handle();
        tokio::spawn(async move {
            // About 12 events a second, so that the first kills land mid-stream.
            for item in items {
                handle.send(item).unwrap();
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
            sending.store(false, Ordering::SeqCst);
        })
    };

    // When each receiver was killed, why, and its pid (its workers are `worker-<pid>-<n>`).
    let mut kills: Vec<(Instant, &str, u32)> = Vec::new();
    let mut kill = |listener: Listener, why: &'static str| {
        let pid = listener.child.id();
        listener.kill();
        kills.push((Instant::now(), why, pid));
    };
    // 1. While deliveries are being appended.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    kill(listener.take().unwrap(), "while appending");
    listener = Some(start(&inbox, port, &target));
    // 2. Right after a commit, before or while the answer goes out.
    let after_commit =
        tokio::task::block_in_place(|| kill_after_next_commit(listener.take().unwrap()));
    kill(after_commit, "after a commit");
    listener = Some(start(&inbox, port, &target));
    // 3. In the middle of handlers: forwards are in flight at the target.
    let started = Instant::now();
    while target.in_flight.load(Ordering::SeqCst) == 0
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        target.in_flight.load(Ordering::SeqCst) > 0,
        "a forward was in flight"
    );
    kill(listener.take().unwrap(), "mid-handler");
    listener = Some(start(&inbox, port, &target));
    // 4. Again after a commit, and 5. mid-handler, while the sender may still be going.
    let after_commit =
        tokio::task::block_in_place(|| kill_after_next_commit(listener.take().unwrap()));
    kill(after_commit, "after a commit");
    listener = Some(start(&inbox, port, &target));
    let started = Instant::now();
    while target.in_flight.load(Ordering::SeqCst) == 0
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill(listener.take().unwrap(), "mid-handler");
    let kills = kills;

    // The final restart: it runs to the end.
    let last = start(&inbox, port, &target);
    pacing.await.unwrap();
    let stats = sender.close_within(Duration::from_secs(60)).await;
    let mut acknowledged = 0;
    while let Some(outcome) = outcomes.try_recv() {
        acknowledged += usize::from(matches!(outcome, DeliveryOutcome::Delivered { .. }));
    }
    assert_eq!(
        stats.delivered as usize, EVENTS,
        "the sender got every event through: {stats:?}"
    );
    assert_eq!(acknowledged, EVENTS);
    wait_for_stats(&inbox, Duration::from_secs(30), |s| {
        s["done"] == EVENTS && s["pending"] == 0 && s["running"] == 0 && s["retrying"] == 0
    })
    .await;
    drop(last);

    // Every acknowledged event reached the target; count the effects.
    let seen = target.seen();
    assert!(seen.iter().all(|f| f.verified));
    let mut arrivals: HashMap<String, Vec<&Forwarded>> = HashMap::new();
    for forwarded in &seen {
        arrivals
            .entry(name_of(&forwarded.body))
            .or_default()
            .push(forwarded);
    }
    for n in 0..EVENTS {
        assert!(
            arrivals.contains_key(&format!("crash{n}")),
            "crash{n} was never forwarded"
        );
    }
    assert_eq!(arrivals.len(), EVENTS, "nothing else arrived");
    // Duplicates only for events in flight at a crash, as the inbox recorded them.
    let ids = event_ids(&inbox);
    let mut duplicated = 0;
    let mut lost_leases = 0;
    for (name, forwards) in &arrivals {
        if forwards.len() == 1 {
            continue;
        }
        duplicated += 1;
        let key = &forwards[0].id;
        assert!(forwards.iter().all(|f| f.id == *key), "{name}: one key");
        let attempts = &inbox_json(&inbox, &["show", &ids[key].to_string()])["event"]["attempts"];
        lost_leases += explain_duplicates(name, forwards, attempts, &kills, t0);
    }
    let workers: usize = WORKERS.parse().unwrap();
    assert!(
        duplicated <= kills.len() * workers,
        "{duplicated} events duplicated, more than {} kills × {workers} workers in flight",
        kills.len()
    );
    eprintln!(
        "crash test: {} SIGKILLs ({}), {EVENTS} events acknowledged after {} requests, {} \
         arrivals at the target, {duplicated} event(s) forwarded again (in flight at a crash), \
         {lost_leases} lost lease(s)",
        kills.len(),
        kills
            .iter()
            .map(|(_, why, _)| *why)
            .collect::<Vec<_>>()
            .join(", "),
        format_args!("{} ({} failed)", stats.requests, stats.failed_requests),
        seen.len(),
    );
}

/// The inbox's event ids by key.
fn event_ids(inbox: &std::path::Path) -> HashMap<String, i64> {
    let listed = inbox_json(inbox, &["list", "--limit", "1000"]);
    let events = listed["events"].as_array().expect("a list of events");
    assert!(listed["next_before"].is_null(), "one page holds them all");
    events
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                e["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Checks that every arrival of `name` but the last is one of the attempts the inbox
/// recorded as never answered: an attempt of a receiver that was killed after the
/// forward arrived (`lease_expired`, recorded when the next worker claimed the event),
/// or an attempt whose lease was lost while the receiver ran (`lease_lost`, logged).
/// Each arrival takes a distinct attempt. Returns how many lost leases were needed.
///
/// The answer's recording is a commit (an fsync): under load it may lag the target's
/// answer by hundreds of milliseconds, so no fixed window after the handler decides
/// whether a kill came "before the answer"; the attempt log does.
fn explain_duplicates(
    name: &str,
    forwards: &[&Forwarded],
    attempts: &serde_json::Value,
    kills: &[(Instant, &str, u32)],
    t0: Instant,
) -> usize {
    let attempts = attempts.as_array().expect("the attempt log");
    let outcome = |a: &serde_json::Value, o: &str| a["outcome"] == o;
    // An attempt whose answer came back refused was not cut short by a kill.
    let refused: Vec<&serde_json::Value> = attempts
        .iter()
        .filter(|a| outcome(a, "lease_lost"))
        .map(|a| &a["attempt"])
        .collect();
    // The kill of the receiver that made each unanswered attempt, earliest first.
    let mut unanswered_at_kill: Vec<Instant> = attempts
        .iter()
        .filter(|a| outcome(a, "lease_expired") && !refused.contains(&&a["attempt"]))
        .filter_map(|a| {
            let worker = a["worker"].as_str().unwrap_or_default();
            kills
                .iter()
                .find(|(_, _, pid)| worker.starts_with(&format!("worker-{pid}-")))
                .map(|(at, _, _)| *at)
        })
        .collect();
    unanswered_at_kill.sort();
    let mut lost = refused.len();
    let mut lost_used = 0;
    let mut earlier: Vec<Instant> = forwards.iter().map(|f| f.started).collect();
    earlier.sort();
    earlier.pop();
    for arrival in earlier {
        // The first kill after the arrival whose receiver left that attempt unanswered.
        if let Some(at) = unanswered_at_kill.iter().position(|kill| arrival < *kill) {
            unanswered_at_kill.remove(at);
        } else if lost > 0 {
            lost -= 1;
            lost_used += 1;
        } else {
            let ms = |t: Instant| t.duration_since(t0).as_millis();
            panic!(
                "{name} arrived {} times, once (at {} ms) with no attempt left unanswered by \
                 a later crash nor a lost lease: arrivals at {:?} ms, kills at {:?}, attempts \
                 {attempts:?}",
                forwards.len(),
                ms(arrival),
                forwards.iter().map(|f| ms(f.started)).collect::<Vec<_>>(),
                kills
                    .iter()
                    .map(|(at, why, pid)| format!("{} ms ({why}, pid {pid})", ms(*at)))
                    .collect::<Vec<_>>(),
            );
        }
    }
    lost_used
}

//! Real processes on one SQLite file: this test binary re-run as a child that accepts
//! in a loop (`child_accept`) or runs workers (`child_work`).
//!
//! - Two worker processes drain one inbox: each event is handled once.
//! - Crash: accepting and working children are killed with SIGKILL at many points;
//!   afterwards every acknowledged event is in the file, and after a restart every one
//!   is handled, each (event, attempt) at most once: events run twice only when a
//!   worker died holding them.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use webhook_core::Scheme;
use webhook_inbox::{
    Inbox, Job, Outcome, Route, SqliteBackend,
    contract::{stalwart_batch, verified_stalwart},
};

const CHILD: &str = "WEBHOOK_INBOX_CHILD";
const PATH: &str = "WEBHOOK_INBOX_PATH";
const EFFECTS: &str = "WEBHOOK_INBOX_EFFECTS";
const START: &str = "WEBHOOK_INBOX_START";

/// The event number a stored Stalwart test event carries (its `accountId`).
fn number(bytes: &[u8]) -> u32 {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    text.split("\"accountId\":")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .and_then(|n| n.parse().ok())
        .expect("a test event")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Appends `<event number> <attempt>` for every attempt, before answering done: the
/// handler's effect, counted.
fn effect_handler(
    effects: PathBuf,
    pause: Duration,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync {
    let effects = Arc::new(effects);
    move |job: Job| {
        let effects = Arc::clone(&effects);
        Box::pin(async move {
            tokio::time::sleep(pause).await;
            let line = format!("{} {}\n", number(job.bytes()), job.total_attempts());
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&*effects)
                .expect("effects file");
            // One write per line, so lines never interleave between processes.
            file.write_all(line.as_bytes()).expect("write effect");
            Outcome::Done
        })
    }
}

#[test]
#[ignore = "run as a child process by the tests below"]
fn child_accept() {
    let Ok(path) = std::env::var(PATH) else {
        return;
    };
    assert_eq!(std::env::var(CHILD).as_deref(), Ok("accept"));
    let start: u32 = std::env::var(START).unwrap().parse().unwrap();
    runtime().block_on(async move {
        let inbox = Inbox::open(path).unwrap();
        let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<u32>();
        for lane in 0..8u32 {
            let (inbox, acks) = (inbox.clone(), acks.clone());
            tokio::spawn(async move {
                let mut n = start + lane;
                loop {
                    let (headers, verified) = verified_stalwart(stalwart_batch(&[n]));
                    if inbox
                        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
                        .await
                        .is_ok()
                    {
                        acks.send(n).unwrap();
                    }
                    n += 8;
                }
            });
        }
        let mut out = std::io::stdout().lock();
        while let Some(n) = acked.recv().await {
            // The sender's 2xx: printed only after the commit returned.
            writeln!(out, "ack {n}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
#[ignore = "run as a child process by the tests below"]
fn child_work() {
    let Ok(path) = std::env::var(PATH) else {
        return;
    };
    assert_eq!(std::env::var(CHILD).as_deref(), Ok("work"));
    let effects = PathBuf::from(std::env::var(EFFECTS).unwrap());
    runtime().block_on(async move {
        let inbox = Inbox::open(path).unwrap();
        let pool = inbox
            .workers()
            .concurrency(4)
            .lease(Duration::from_secs(1))
            .poll_interval(Duration::from_millis(20))
            .name(format!("child-{}", std::process::id()))
            .spawn(effect_handler(effects, Duration::from_millis(2)));
        // Until the parent closes stdin (or kills us).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .unwrap();
        pool.shutdown(Duration::from_secs(5)).await;
    });
}

fn spawn_child(kind: &str, path: &Path, effects: &Path, start: u32) -> Child {
    let test = format!("child_{kind}");
    Command::new(std::env::current_exe().unwrap())
        .args([
            test.as_str(),
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env(CHILD, kind)
        .env(PATH, path)
        .env(EFFECTS, effects)
        .env(START, start.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reads the accepting child's `ack` lines until `before` of them, kills it (SIGKILL)
/// and returns every ack it printed, the ones after the count included.
fn acks_then_kill(mut child: Child, before: usize, working: &mut Child) -> Vec<u32> {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let mut acked = Vec::new();
    for line in lines.by_ref() {
        if let Some(n) = line.strip_prefix("ack ").and_then(|n| n.parse().ok()) {
            acked.push(n);
        }
        if acked.len() >= before {
            break;
        }
    }
    working.kill().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    working.wait().unwrap();
    acked.extend(lines.filter_map(|line| line.strip_prefix("ack ")?.parse::<u32>().ok()));
    acked
}

/// Every `(event number, attempt)` line of the effects file, with how often each came.
fn effects(path: &Path) -> BTreeMap<(u32, u32), usize> {
    let mut seen = BTreeMap::new();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.split(' ').map(|p| p.parse::<u32>().unwrap());
        let key = (parts.next().unwrap(), parts.next().unwrap());
        *seen.entry(key).or_default() += 1;
    }
    seen
}

/// Every event number stored in the file.
async fn stored(inbox: &Inbox<SqliteBackend>) -> BTreeSet<u32> {
    use webhook_inbox::{EventFilter, Page};
    let mut numbers = BTreeSet::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let events = inbox
            .list_events(&EventFilter::default(), page)
            .await
            .unwrap();
        let Some(last) = events.last() else { break };
        page = page.after(last.id.0);
        for summary in &events {
            let detail = inbox.event(summary.id).await.unwrap().unwrap();
            numbers.insert(number(&detail.bytes));
        }
    }
    numbers
}

async fn wait_until_done(inbox: &Inbox<SqliteBackend>, count: u64, within: Duration) {
    let started = Instant::now();
    loop {
        let stats = inbox.stats().await.unwrap();
        if stats.done == count {
            return;
        }
        assert!(
            started.elapsed() < within,
            "not all done in {within:?}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_on_one_file_handle_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let effects_path = dir.path().join("effects");
    let inbox = Inbox::open(&path).unwrap();
    let workers = [
        spawn_child("work", &path, &effects_path, 0),
        spawn_child("work", &path, &effects_path, 0),
    ];
    for batch in 0..60u32 {
        let events: Vec<u32> = (batch * 5..batch * 5 + 5).collect();
        let (headers, verified) = verified_stalwart(stalwart_batch(&events));
        inbox
            .accept(&Route::of(Scheme::Stalwart), &headers, verified)
            .await
            .unwrap();
    }
    wait_until_done(&inbox, 300, Duration::from_secs(60)).await;
    for mut child in workers {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
    let seen = effects(&effects_path);
    assert_eq!(seen.len(), 300);
    assert!(
        seen.iter()
            .all(|(&(_, attempt), &n)| attempt == 1 && n == 1),
        "each event once, on its first attempt"
    );
    // Both processes took part.
    let workers: BTreeSet<String> = {
        use webhook_inbox::{EventFilter, Page};
        let mut names = BTreeSet::new();
        for summary in inbox
            .list_events(&EventFilter::default(), Page::first(300))
            .await
            .unwrap()
        {
            let detail = inbox.event(summary.id).await.unwrap().unwrap();
            names.extend(detail.attempts.into_iter().filter_map(|a| a.worker));
        }
        names
    };
    assert_eq!(workers.len(), 2, "{workers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_accepting_and_working_processes_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let effects_path = dir.path().join("effects");
    drop(SqliteBackend::open(&path).unwrap());
    let mut acknowledged = BTreeSet::new();
    let mut rng = fastrand::Rng::with_seed(18);
    for round in 0..12u32 {
        let accepting = spawn_child("accept", &path, &effects_path, round * 1_000_000);
        let mut working = spawn_child("work", &path, &effects_path, 0);
        // Kill both after a random number of acknowledgements: mid-commit, between a
        // commit and its ack, mid-handler.
        let acked = acks_then_kill(accepting, 1 + rng.usize(0..300), &mut working);
        assert!(!acked.is_empty(), "round {round} acknowledged nothing");
        acknowledged.extend(acked);

        // After each crash, every acknowledged event is in the file.
        let inbox = Inbox::open(&path).unwrap();
        let stored = stored(&inbox).await;
        let missing: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but lost: {missing:?}"
        );
    }

    // Restart: a worker pool here drains what is left, including events the killed
    // workers held (their one-second leases run out).
    let inbox = Inbox::open(&path).unwrap();
    let total = inbox.stats().await.unwrap();
    let all = total.pending + total.retrying + total.running + total.done;
    let pool = inbox
        .workers()
        .concurrency(8)
        .poll_interval(Duration::from_millis(50))
        .spawn(effect_handler(effects_path.clone(), Duration::ZERO));
    wait_until_done(&inbox, all, Duration::from_secs(120)).await;
    pool.shutdown(Duration::from_secs(5)).await;

    let seen = effects(&effects_path);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "an (event, attempt) ran twice: {twice:?}");
    let handled: BTreeSet<u32> = seen.keys().map(|&(n, _)| n).collect();
    let unhandled: Vec<_> = acknowledged.difference(&handled).collect();
    assert!(
        unhandled.is_empty(),
        "acknowledged but never handled: {unhandled:?}"
    );
    let reruns = seen.keys().filter(|&&(_, attempt)| attempt > 1).count();
    eprintln!(
        "{} acknowledged, {} stored, {} handled, {} attempts beyond the first (events in flight at a kill)",
        acknowledged.len(),
        all,
        handled.len(),
        reruns
    );
}

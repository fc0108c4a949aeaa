//! What the `webhook` tool tells its user (issue 21, points 6 and 7): refusals in the
//! tool's own terms, what the receiver said, which retry rule applied, fresh event ids,
//! saved requests that `verify` reads back, several secrets, and flag names that agree.
//! Real processes over loopback.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    process::{Child, Command as StdCommand, Stdio},
    time::Duration,
};

use assert_cmd::Command;
use predicates::prelude::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../webhook-core/tests/fixtures/stalwart"
);

fn webhook() -> Command {
    Command::cargo_bin("webhook").unwrap()
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// A `webhook listen` process on a free port, killed on drop.
struct Listener {
    child: Child,
    address: String,
}

impl Listener {
    fn start(args: &[&str]) -> Self {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("webhook"))
            .arg("listen")
            .args(args)
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let address = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("listen prints its address")
            .to_owned();
        Self { child, address }
    }

    fn output(mut self) -> String {
        self.child.kill().unwrap();
        let output = std::mem::replace(&mut self.child, StdCommand::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One HTTP/1.1 POST; the whole response text.
fn raw_post(address: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let host = address.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut request = "POST /hook?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_owned();
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

/// 6: a 413 from `listen` names its flag, `--max-body`, not the library's setting.
#[test]
fn a_413_from_listen_names_max_body() {
    let listener = Listener::start(&["--scheme", "stalwart", "--secret", "k", "--max-body", "100"]);
    let response = raw_post(
        &listener.address,
        &[("Content-Type", "application/json")],
        &[b'x'; 500],
    );
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("--max-body") && !response.contains("max_body_bytes"),
        "{response}"
    );
    let printed = listener.output();
    assert!(
        printed.contains("✘ 413 body_too_large") && printed.contains("--max-body"),
        "{printed}"
    );
    assert!(!printed.contains("max_body_bytes"), "{printed}");
}

/// 6: a 415 names the `Content-Type` received, what the sender should send, and the
/// flag that pins the format.
#[test]
fn a_415_from_listen_names_the_value_received_and_media_type() {
    let listener = Listener::start(&[
        "--scheme",
        "mailtrap",
        "--secret",
        "m",
        "--media-type",
        "jsonl",
    ]);
    let response = raw_post(
        &listener.address,
        &[("Content-Type", "application/json; charset=utf-8")],
        br#"{"events":[]}"#,
    );
    assert!(response.starts_with("HTTP/1.1 415"), "{response}");
    for expected in [
        "`Content-Type: application/json; charset=utf-8`",
        "started with `--media-type jsonl`",
        "expected to send `Content-Type: application/jsonl`",
        "restart `webhook listen` with `--media-type json`",
    ] {
        assert!(response.contains(expected), "{expected}: {response}");
    }
    let printed = listener.output();
    assert!(
        printed.contains("✘ 415 unsupported_media_type"),
        "{printed}"
    );
    assert!(printed.contains("`--media-type json`"), "{printed}");
}

/// 7: `send` prints the receiver's problem code and message, the retry rule that
/// applied, and counts what was abandoned when --wait ran out.
#[test]
fn send_shows_what_the_receiver_said_and_which_rule_applied() {
    let listener = Listener::start(&["--scheme", "email-api", "--secret", "right"]);
    let assert = webhook()
        .args(["send", "--url", &listener.address, "--scheme", "email-api"])
        .args(["--secret", "wrong", "--wait", "1.5"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1);
    let out = stdout(&assert);
    assert!(out.contains("#1 401 signature_mismatch"), "{out}");
    assert!(
        out.contains("receiver said: 401 signature_mismatch: "),
        "{out}"
    );
    // The email-API sender retries every failure after 1 min: the run ends first.
    assert!(
        out.contains("retry rule (email-API's own): every failed attempt (any non-2xx answer"),
        "{out}"
    );
    assert!(out.contains("--give-up-on-4xx stops at the first"), "{out}");
    assert!(out.contains("0 delivered, 0 gave up, 1 abandoned"), "{out}");

    // Asked to, the tool gives a permanent 4xx up at once.
    let assert = webhook()
        .args(["send", "--url", &listener.address, "--scheme", "email-api"])
        .args(["--secret", "wrong", "--wait", "30", "--give-up-on-4xx"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1);
    let out = stdout(&assert);
    assert!(out.contains("0 delivered, 1 gave up, 0 abandoned"), "{out}");
    assert!(out.contains("retry rule (--give-up-on-4xx)"), "{out}");
    assert!(out.contains("1 requests (1 failed)"), "{out}");
}

/// 7: a receiver that refuses a large body with 413 shows up as 413, not as a broken
/// pipe while the sender was still writing.
#[test]
fn a_refused_large_body_is_reported_as_413_not_a_broken_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("big.json");
    let mut big =
        br#"{"id":"evt_1","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"pad":""#
            .to_vec();
    big.extend(std::iter::repeat_n(b'x', 8 << 20));
    big.extend_from_slice(br#""}}"#);
    std::fs::write(&body, &big).unwrap();
    let listener = Listener::start(&[
        "--scheme",
        "email-api",
        "--secret",
        "s",
        "--max-body",
        "1024",
    ]);
    let assert = webhook()
        .args([
            "send",
            "--url",
            &listener.address,
            "--scheme",
            "email-api",
            "--secret",
            "s",
        ])
        .arg("--file")
        .arg(&body)
        .args(["--wait", "1"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1);
    let out = stdout(&assert);
    assert!(out.contains("#1 413 body_too_large"), "{out}");
    assert!(out.contains("--max-body"), "{out}");
    assert!(!out.to_lowercase().contains("broken pipe"), "{out}");
}

/// 7: `listen` reads (and drops) a refused body, within a bound, before closing: a
/// sender still writing it finishes and reads the 413 instead of failing with a broken
/// pipe.
#[test]
fn listen_drains_a_refused_body_so_the_sender_reads_the_answer() {
    let listener = Listener::start(&[
        "--scheme",
        "email-api",
        "--secret",
        "s",
        "--max-body",
        "1024",
    ]);
    let host = listener
        .address
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let size = 4 << 20;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The receiver has refused the body by now; keep sending it, as a sender does.
    std::thread::sleep(Duration::from_millis(300));
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..size / chunk.len() {
        stream
            .write_all(&chunk)
            .expect("the receiver keeps reading a refused body within its bound");
    }
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}

/// 7: every `send` run carries fresh event ids, so a deduplicating receiver takes the
/// second run's events as new; `--id` sets one (and a repeat is then a duplicate).
#[test]
fn each_send_has_fresh_ids_and_id_sets_one() {
    let listener = Listener::start(&["--scheme", "mailtrap", "--secret", "m"]);
    let send = |extra: &[&str]| {
        webhook()
            .args([
                "send",
                "--url",
                &listener.address,
                "--scheme",
                "mailtrap",
                "--secret",
                "m",
            ])
            .args(extra)
            .timeout(Duration::from_secs(30))
            .assert()
            .success();
    };
    send(&[]);
    send(&[]);
    let printed = listener.output();
    assert_eq!(printed.matches('✔').count(), 2, "{printed}");
    assert_eq!(printed.matches("duplicate").count(), 0, "{printed}");

    let listener = Listener::start(&["--scheme", "mailtrap", "--secret", "m"]);
    let send = |extra: &[&str]| {
        webhook()
            .args([
                "send",
                "--url",
                &listener.address,
                "--scheme",
                "mailtrap",
                "--secret",
                "m",
            ])
            .args(extra)
            .timeout(Duration::from_secs(30))
            .assert()
            .success();
    };
    send(&["--id", "bede7236-2284-43d6-a953-1fdcafd0fdbc"]);
    send(&["--id", "bede7236-2284-43d6-a953-1fdcafd0fdbc"]);
    let printed = listener.output();
    assert_eq!(printed.matches('✔').count(), 1, "{printed}");
    assert_eq!(printed.matches("duplicate").count(), 1, "{printed}");

    // With --body the id is the file's (but for Standard Webhooks, whose id is a header).
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--scheme",
            "email-api",
            "--secret",
            "k",
        ])
        .args(["--body", &fixture("example-1.json"), "--id", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the event id is the one in your file",
        ));
    // Stalwart events have no id to set: said plainly.
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--scheme",
            "stalwart",
            "--secret",
            "k",
        ])
        .args(["--id", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--id cannot apply to Stalwart"));
}

/// 7: `listen` holds several secrets, as a receiver rotating keys does; `send`, which
/// signs, takes one.
#[test]
fn listen_takes_rotated_secrets_send_signs_with_one() {
    let listener = Listener::start(&["--scheme", "stalwart", "--secret", "old", "--secret", "new"]);
    for secret in ["old", "new"] {
        webhook()
            .args([
                "send",
                "--url",
                &listener.address,
                "--scheme",
                "stalwart",
                "--secret",
                secret,
            ])
            .timeout(Duration::from_secs(30))
            .assert()
            .success();
    }
    assert_eq!(listener.output().matches('✔').count(), 2);
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--scheme",
            "stalwart",
        ])
        .args(["--secret", "old", "--secret", "new"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give one secret to sign with"));
}

/// 7: `listen --save DIR` keeps each request as a file `verify --request` reads.
#[test]
fn listen_saves_requests_that_verify_reads() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("saved");
    let listener = Listener::start(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--save",
        save.to_str().unwrap(),
    ]);
    let body = std::fs::read(fixture("example-2.json")).unwrap();
    let signature = std::fs::read_to_string(fixture("example-2.sig")).unwrap();
    let response = raw_post(
        &listener.address,
        &[
            ("Content-Type", "application/json"),
            ("X-Signature", signature.trim()),
        ],
        &body,
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let printed = listener.output();
    let files: Vec<_> = std::fs::read_dir(&save)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(printed.contains("saved "), "{printed}");
    let saved = std::fs::read(&files[0]).unwrap();
    assert!(saved.starts_with(b"POST /hook?x=1 HTTP/1.1\r\n"));
    assert!(saved.ends_with(&body), "the body is saved byte for byte");
    webhook()
        .args([
            "verify",
            "--scheme",
            "stalwart",
            "--secret",
            "my-secret-key",
            "--request",
        ])
        .arg(&files[0])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("valid"));
}

/// 7: `verify` takes several secrets, warns about bytes past Content-Length, and says
/// "no signature header" when there is none.
#[test]
fn verify_with_several_secrets_extra_bytes_and_no_signature() {
    let dir = tempfile::tempdir().unwrap();
    let body = std::fs::read(fixture("example-2.json")).unwrap();
    let signature = std::fs::read_to_string(fixture("example-2.sig")).unwrap();
    let secret_file = dir.path().join("new.key");
    std::fs::write(&secret_file, "my-secret-key\n").unwrap();
    let mut capture = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nX-Signature: {}\r\nContent-Length: {}\r\n\r\n",
        signature.trim(),
        body.len()
    )
    .into_bytes();
    capture.extend_from_slice(&body);
    let path = dir.path().join("request.http");
    std::fs::write(&path, &capture).unwrap();
    // The old key and the new one, as a receiver rotating keys holds them.
    webhook()
        .args([
            "verify",
            "--scheme",
            "stalwart",
            "--secret",
            "old-key",
            "--secret-file",
        ])
        .arg(&secret_file)
        .arg("--request")
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("(secret 2 of 2)"));
    webhook()
        .args([
            "verify", "--scheme", "stalwart", "--secret", "old-key", "--secret", "older",
        ])
        .arg("--request")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("none of the secrets is the one"));

    // Bytes past Content-Length: verified without them, and said so.
    capture.extend_from_slice(b"\r\n\r\n");
    std::fs::write(&path, &capture).unwrap();
    webhook()
        .args([
            "verify",
            "--scheme",
            "stalwart",
            "--secret",
            "my-secret-key",
            "--request",
        ])
        .arg(&path)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "holds 4 more bytes after the body",
        ));

    // No signature header at all.
    let bare = dir.path().join("body.json");
    std::fs::write(&bare, &body).unwrap();
    let assert = webhook()
        .args([
            "verify",
            "--scheme",
            "stalwart",
            "--secret",
            "my-secret-key",
            "--body",
        ])
        .arg(&bare)
        .assert()
        .code(1);
    let out = stdout(&assert);
    assert!(out.contains("no signature header"), "{out}");
    assert!(!out.contains("secret is most likely not"), "{out}");

    // A body whose keys a JSON library sorted.
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    std::fs::write(&bare, serde_json::to_vec(&value).unwrap()).unwrap();
    webhook()
        .args([
            "verify",
            "--scheme",
            "stalwart",
            "--secret",
            "my-secret-key",
            "--body",
        ])
        .arg(&bare)
        .args(["-H", &format!("X-Signature: {}", signature.trim())])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "likely: the event's keys are in the order",
        ));
}

/// 7: `--body` names the body file on sign, send and verify (`--file` still works on
/// the two that had it, out of the help).
#[test]
fn body_is_the_flag_everywhere() {
    let body = fixture("example-1.json");
    let signature = std::fs::read_to_string(fixture("example-1.sig")).unwrap();
    for flag in ["--body", "--file"] {
        webhook()
            .args([
                "sign",
                "--scheme",
                "stalwart",
                "--secret",
                "my-secret-key",
                flag,
                &body,
            ])
            .assert()
            .success()
            .stdout(format!("X-Signature: {signature}\n"));
    }
    for command in ["sign", "send", "verify"] {
        let assert = webhook().args([command, "--help"]).assert().success();
        let help = stdout(&assert);
        assert!(help.contains("--body <PATH>"), "{command}: {help}");
        assert!(!help.contains("--file <PATH>"), "{command}: {help}");
    }
}

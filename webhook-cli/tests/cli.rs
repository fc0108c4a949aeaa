//! The `webhook` binary: each subcommand's happy path and exit codes, each diagnosis,
//! `send` into `listen` over loopback, and the demo's summary.

use std::{
    io::{BufRead as _, BufReader},
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

fn example_signature() -> String {
    std::fs::read_to_string(fixture("example-1.sig")).unwrap()
}

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let assert = webhook().arg("--help").assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for word in [
        "demo",
        "listen",
        "send",
        "sign",
        "verify",
        "Exit status",
        "2  usage",
    ] {
        assert!(out.contains(word), "{word} missing from --help");
    }
    for sub in ["demo", "listen", "send", "sign", "verify"] {
        webhook()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Exit status"));
    }
    webhook().arg("frobnicate").assert().code(2);
    webhook()
        .args(["verify", "--scheme", "smtp"])
        .assert()
        .code(2);
}

#[test]
fn sign_reproduces_the_published_vectors() {
    webhook()
        .args([
            "sign",
            "--scheme",
            "stalwart",
            "--secret",
            "my-secret-key",
            "--file",
        ])
        .arg(fixture("example-1.json"))
        .assert()
        .success()
        .stdout(format!("X-Signature: {}\n", example_signature()));
    webhook()
        .args(["sign", "--scheme", "email-api", "--secret", "It's a Secret to Everybody"])
        .write_stdin("Hello, World!")
        .assert()
        .success()
        .stdout("X-Webhook-Signature: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n");
    webhook()
        .args([
            "sign",
            "--scheme",
            "svix",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "--timestamp",
            "1614265330",
        ])
        .write_stdin(r#"{"test": 2432232314}"#)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ));
    webhook()
        .args(["sign", "--scheme", "mailtrap", "--secret", "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"])
        .write_stdin(r#"{"event":"delivery","sending_stream":"transactional","category":"welcome","message_id":"a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f","email":"recipient@example.com","event_id":"f1e2d3c4-b5a6-7890-1234-567890abcdef","timestamp":1716070000}"#)
        .assert()
        .success()
        .stdout("Mailtrap-Signature: 6d262e2611cd09be1f948382b5c611d63b0e585c4c9c5e40139d6ac3876d5433\n");
    webhook()
        .args(["sign", "--scheme", "wildduck", "--secret", "x"])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not sign"));
    webhook()
        .args(["sign", "--scheme", "stalwart"])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--secret"));
}

fn verify(args: &[&str]) -> assert_cmd::assert::Assert {
    webhook().arg("verify").args(args).assert()
}

#[test]
fn verify_valid_is_0_invalid_is_1_usage_is_2() {
    let signature = format!("X-Signature: {}", example_signature());
    let body = fixture("example-1.json");
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--body",
        &body,
        "-H",
        &signature,
    ])
    .code(0)
    .stdout(predicate::str::contains("valid"));
    verify(&[
        "--scheme", "stalwart", "--secret", "not-it", "--body", &body, "-H", &signature,
    ])
    .code(1)
    .stdout(predicate::str::contains("signature_mismatch"))
    .stdout(predicate::str::contains("No common mistake"));
    verify(&["--scheme", "stalwart", "--body", &body]).code(2);
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "k",
        "--body",
        "/nonexistent/body",
    ])
    .code(2);
    verify(&[
        "--scheme", "stalwart", "--secret", "k", "--body", &body, "-H", "no colon",
    ])
    .code(2);
}

#[test]
fn verify_reads_a_raw_http_capture() {
    let dir = tempfile::tempdir().unwrap();
    let body = std::fs::read(fixture("example-2.json")).unwrap();
    let signature = std::fs::read_to_string(fixture("example-2.sig")).unwrap();
    let mut capture = format!(
        "POST /hooks/stalwart HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    capture.extend_from_slice(&body);
    let path = dir.path().join("request.http");
    std::fs::write(&path, &capture).unwrap();
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--request",
        path.to_str().unwrap(),
    ])
    .code(0);

    std::fs::write(&path, &capture[..capture.len() - 10]).unwrap();
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--request",
        path.to_str().unwrap(),
    ])
    .code(2)
    .stderr(predicate::str::contains("truncated"));
    std::fs::write(
        &path,
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .unwrap();
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "k",
        "--request",
        path.to_str().unwrap(),
    ])
    .code(2)
    .stderr(predicate::str::contains("chunked"));
}

/// Every diagnosis, through the binary: the likely mistake is named, the secret and the
/// expected MAC are not printed.
#[test]
fn verify_names_each_likely_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let compact = std::fs::read(fixture("example-1.json")).unwrap();
    let signature = example_signature();
    let header = format!("X-Signature: {signature}");

    // Body re-serialized with spaces (key order kept).
    let spaced = String::from_utf8(compact.clone())
        .unwrap()
        .replace("\",\"", "\", \"");
    let spaced = write("spaced.json", spaced.as_bytes());
    let out = verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--body",
        &spaced,
        "-H",
        &header,
    ])
    .code(1);
    out.stdout(predicate::str::contains("re-serialized"));

    // Secret with a trailing newline kept (read here from a file with two).
    let body = write("body.json", &compact);
    let secret_file = write("secret", b"my-secret-key\n\n");
    verify(&[
        "--scheme",
        "stalwart",
        "--secret-file",
        &secret_file,
        "--body",
        &body,
        "-H",
        &header,
    ])
    .code(1)
    .stdout(predicate::str::contains("trailing newline"));
    // Surrounding spaces.
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        " my-secret-key ",
        "--body",
        &body,
        "-H",
        &header,
    ])
    .code(1)
    .stdout(predicate::str::contains("surrounding whitespace"));

    // Hex where Stalwart uses base64.
    let hex_header = webhook()
        .args([
            "sign",
            "--scheme",
            "mailtrap",
            "--secret",
            "my-secret-key",
            "--file",
            &body,
        ])
        .output()
        .unwrap();
    let hex = String::from_utf8(hex_header.stdout)
        .unwrap()
        .trim()
        .replace("Mailtrap-Signature: ", "");
    verify(&[
        "--scheme",
        "stalwart",
        "--secret",
        "my-secret-key",
        "--body",
        &body,
        "-H",
        &format!("X-Signature: {hex}"),
    ])
    .code(1)
    .stdout(predicate::str::contains(
        "is hex where this scheme uses base64",
    ));
    // The `sha256=` prefix missing for the email-API scheme.
    verify(&[
        "--scheme",
        "email-api",
        "--secret",
        "my-secret-key",
        "--body",
        &body,
        "-H",
        &format!("X-Webhook-Signature: {hex}"),
    ])
    .code(1)
    .stdout(predicate::str::contains("without the `sha256=` prefix"));

    // Another sender's header present.
    verify(&[
        "--scheme",
        "mailtrap",
        "--secret",
        "my-secret-key",
        "--body",
        &body,
        "-H",
        &header,
    ])
    .code(1)
    .stdout(predicate::str::contains("verifies as Stalwart"));

    // `whsec_` used as text by the signer.
    let ts = "1700000000";
    let raw_signed = webhook()
        .args([
            "sign",
            "--scheme",
            "stalwart",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ])
        .write_stdin(format!("msg_1.{ts}.{{}}"))
        .output()
        .unwrap();
    let b64 = String::from_utf8(raw_signed.stdout)
        .unwrap()
        .trim()
        .replace("X-Signature: ", "");
    let empty = write("empty.json", b"{}");
    verify(&[
        "--scheme",
        "standard-webhooks",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--body",
        &empty,
        "--now",
        ts,
        "-H",
        "webhook-id: msg_1",
        "-H",
        &format!("webhook-timestamp: {ts}"),
        "-H",
        &format!("webhook-signature: v1,{b64}"),
    ])
    .code(1)
    .stdout(predicate::str::contains("used as text"));

    // A timestamp outside the tolerance, by how much.
    let signed = webhook()
        .args([
            "sign",
            "--scheme",
            "standard-webhooks",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--id",
            "msg_1",
            "--timestamp",
            ts,
            "--file",
            &empty,
        ])
        .output()
        .unwrap();
    let mut args = vec![
        "--scheme",
        "standard-webhooks",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--body",
        &empty,
        "--now",
        "1700000900",
    ];
    let signed = String::from_utf8(signed.stdout).unwrap();
    let headers: Vec<String> = signed.lines().map(str::to_owned).collect();
    for header in &headers {
        args.extend(["-H", header]);
    }
    let assert = verify(&args).code(1);
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(
        out.contains("900 s old") && out.contains("600 s beyond"),
        "{out}"
    );
    assert!(!out.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{out}");
    assert!(!out.contains(&signature), "{out}");
}

/// A listener process, killed on drop; its address read from its first line.
struct Listener {
    child: Child,
    address: String,
}

impl Listener {
    fn start(args: &[&str]) -> Self {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("webhook"));
        command.arg("listen");
        Self::spawn(command, args)
    }

    /// Starts `command` (a `webhook listen` with its arguments) with `args` added.
    fn spawn(mut command: StdCommand, args: &[&str]) -> Self {
        let mut child = command
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

#[test]
fn send_into_listen_for_every_sender() {
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "stalwart",
            &["--secret", "s3cret"],
            &["--secret", "s3cret", "--count", "3"],
        ),
        (
            "email-api",
            &["--secret", "e"],
            &["--secret", "e", "--event", "bounced"],
        ),
        (
            "mailtrap",
            &["--secret", "m"],
            &["--secret", "m", "--event", "click"],
        ),
        (
            "standard-webhooks",
            &["--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            &["--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ),
        ("wildduck", &["--basic", "wd:pw"], &[]),
    ];
    for (scheme, listen_args, send_args) in cases {
        let listener = Listener::start(&[&["--scheme", scheme][..], listen_args].concat());
        let url = if scheme == "wildduck" {
            listener.address.replace("http://", "http://wd:pw@")
        } else {
            listener.address.clone()
        };
        webhook()
            .args(["send", "--url", &url, "--scheme", scheme])
            .args(send_args)
            .timeout(Duration::from_secs(30))
            .assert()
            .success()
            .stdout(predicate::str::contains("delivered"));
        let printed = listener.output();
        let expected = if scheme == "stalwart" { 3 } else { 1 };
        assert_eq!(
            printed.matches('✔').count(),
            expected,
            "{scheme}: {printed}"
        );
    }
}

#[test]
fn send_reports_failure_with_exit_1_and_listen_explains() {
    let listener = Listener::start(&["--scheme", "stalwart", "--secret", "right"]);
    webhook()
        .args([
            "send",
            "--url",
            &listener.address,
            "--scheme",
            "stalwart",
            "--secret",
            "wrong",
            "--wait",
            "1.5",
        ])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("0 delivered"));
    let printed = listener.output();
    assert!(printed.contains("✘ 401 signature_mismatch"), "{printed}");
}

#[test]
fn listen_skips_duplicates_unless_asked_not_to() {
    let body = fixture("example-2.json");
    let signature = std::fs::read_to_string(fixture("example-2.sig")).unwrap();
    for (flags, expected_dupes) in [(&[][..], 2), (&["--no-dedup"][..], 0)] {
        let listener = Listener::start(
            &[
                &["--scheme", "stalwart", "--secret", "my-secret-key"][..],
                flags,
            ]
            .concat(),
        );
        let curl = |_| {
            let agent = std::net::TcpStream::connect(
                listener
                    .address
                    .trim_start_matches("http://")
                    .trim_end_matches('/'),
            )
            .unwrap();
            let bytes = std::fs::read(&body).unwrap();
            let mut request = format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            )
            .into_bytes();
            request.extend_from_slice(&bytes);
            use std::io::{Read as _, Write as _};
            let mut agent = agent;
            agent.write_all(&request).unwrap();
            let mut response = String::new();
            agent.read_to_string(&mut response).unwrap();
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        };
        (0..2).for_each(curl);
        let printed = listener.output();
        assert_eq!(
            printed.matches("duplicate").count(),
            expected_dupes,
            "{printed}"
        );
    }
}

#[test]
fn demo_finishes_with_the_expected_summary() {
    let assert = webhook()
        .args(["demo", "--json"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let summary = &summary["summary"];
    assert_eq!(summary["accepted_events"], 12, "{out}");
    assert_eq!(summary["duplicates_skipped"], 2);
    assert_eq!(summary["rejected_requests"], 2);
    assert_eq!(summary["sender"]["delivered"], 11);
    assert!(out.contains(r#""status":"duplicate""#));
    assert!(out.contains("re-serialized"), "the demo shows a diagnosis");
    // Text mode prints the same story.
    webhook()
        .arg("demo")
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains("duplicate, skipped"))
        .stdout(predicate::str::contains("likely:"))
        .stdout(predicate::str::contains("accepted     12 events"));
}

/// Sends one HTTP/1.1 request to `address` (`http://host:port/`) and returns the
/// response's status line and whole text.
fn raw_post(address: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let host = address.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    (text.lines().next().unwrap_or_default().to_owned(), text)
}

/// A process's peak resident memory in MiB, from the kernel.
fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap()
        / 1024
}

/// A JSON array of `0`s nested `depth` deep, `size` bytes long.
fn nested_zeros(depth: usize, size: usize) -> Vec<u8> {
    let mut filler = size - 2 * depth;
    let mut body = "[".repeat(depth).into_bytes();
    if filler.is_multiple_of(2) {
        body.push(b' ');
        filler -= 1;
    }
    body.extend("0,".repeat(filler / 2).bytes());
    body.push(b'0');
    body.extend("]".repeat(depth).bytes());
    body
}

/// Point 1 of issue 17: one 1 MiB body nested 127 deep with a well-formed wrong
/// signature cost `webhook listen` 7 s of CPU and 342 MiB; eight took 739 MiB. Now the
/// diagnosis of a rejection is bounded: `listen`'s peak memory stays near its size
/// with several such requests (largest and smallest diagnosed size), and it still
/// names a real mistake.
#[cfg(target_os = "linux")]
#[test]
fn listen_diagnoses_rejections_within_bounds() {
    let listener = Listener::start(&["--scheme", "stalwart", "--secret", "my-secret-key"]);
    let pid = listener.child.id();
    let before = peak_rss_mib(pid);
    let wrong = "AbCdAbCdAbCdAbCdAbCdAbCdAbCdAbCdAbCdAbCdAbA=";
    for size in [1 << 20, 32 * 1024, 1 << 20, 32 * 1024] {
        let (status, _) = raw_post(
            &listener.address,
            "/",
            &[("Content-Type", "application/json"), ("X-Signature", wrong)],
            &nested_zeros(127, size),
        );
        assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    }
    let grown = peak_rss_mib(pid).saturating_sub(before);
    // A body with a trailing newline added by a tool: still explained.
    let body = std::fs::read(fixture("example-1.json")).unwrap();
    let (status, _) = raw_post(
        &listener.address,
        "/",
        &[("X-Signature", example_signature().trim())],
        &[&body[..], b"\n"].concat(),
    );
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    let printed = listener.output();
    assert!(grown < 48, "listen's peak memory grew by {grown} MiB");
    assert_eq!(printed.matches("not diagnosed").count(), 2, "{printed}");
    assert!(printed.contains("webhook verify"), "{printed}");
    assert!(
        printed.contains("likely: the signature matches the body without its trailing newline"),
        "{printed}"
    );
}

/// Points 3, 4 and 7 of issue 17: empty credentials and Basic together with Bearer are
/// refused at start-up; every credential has environment and file forms, and the plain
/// forms warn about the process list.
#[test]
fn listen_credentials_are_checked_and_can_stay_off_the_command_line() {
    let listen = |args: &[&str]| {
        webhook()
            .args(["listen", "--scheme", "wildduck", "--port", "0"])
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
    };
    listen(&["--basic", "admin:"])
        .code(2)
        .stderr(predicate::str::contains("Basic credentials are empty"));
    listen(&["--bearer", ""]).code(2);
    listen(&["--url-token", "token="])
        .code(2)
        .stderr(predicate::str::contains("URL token for `token` is empty"));
    listen(&["--url-token", "=abc"]).code(2);
    for (basic, bearer) in [
        (["--basic", "a:b"], ["--bearer", "t"]),
        (["--basic-env", "X"], ["--bearer", "t"]),
        (["--basic", "a:b"], ["--bearer-file", "/dev/null"]),
        (["--basic-file", "/dev/null"], ["--bearer-env", "X"]),
    ] {
        listen(&[&basic[..], &bearer[..]].concat())
            .code(2)
            .stderr(predicate::str::contains("cannot be used with"));
    }
    listen(&["--basic", "a:b", "--basic-env", "X"]).code(2);
    listen(&["--basic-env", "HOOKWISE_TEST_SURELY_UNSET"])
        .code(2)
        .stderr(predicate::str::contains("HOOKWISE_TEST_SURELY_UNSET"));

    let help = webhook().args(["listen", "--help"]).assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    for flag in [
        "--basic-env",
        "--basic-file",
        "--bearer-env",
        "--bearer-file",
        "--url-token-env",
        "--url-token-file",
    ] {
        assert!(help.contains(flag), "{flag} missing from listen --help");
    }
    // --secret, --basic, --bearer, --url-token, and the inspector's --token.
    assert_eq!(help.matches("process list").count(), 5, "{help}");

    // The environment and file forms work, and their values never reach the output.
    let dir = tempfile::tempdir().unwrap();
    let bearer_file = dir.path().join("bearer");
    std::fs::write(&bearer_file, "file-bearer-token\n").unwrap();
    let token_file = dir.path().join("url-token");
    std::fs::write(&token_file, "key=file-url-token\n").unwrap();
    for (args, env, path, headers, accepted) in [
        (
            vec!["--basic-env", "HOOK_BASIC"],
            Some(("HOOK_BASIC", "wd:env-password")),
            "/",
            vec![("Authorization", "Basic d2Q6ZW52LXBhc3N3b3Jk")],
            true,
        ),
        (
            vec!["--basic-env", "HOOK_BASIC"],
            Some(("HOOK_BASIC", "wd:env-password")),
            "/",
            vec![("Authorization", "Basic d2Q6d3Jvbmc=")],
            false,
        ),
        (
            vec!["--bearer-file", bearer_file.to_str().unwrap()],
            None,
            "/",
            vec![("Authorization", "Bearer file-bearer-token")],
            true,
        ),
        (
            vec!["--bearer-file", bearer_file.to_str().unwrap()],
            None,
            "/",
            vec![("Authorization", "Bearer file-bearer-token\n")],
            false,
        ),
        (
            vec!["--url-token-file", token_file.to_str().unwrap()],
            None,
            "/?key=file-url-token",
            vec![],
            true,
        ),
        (
            vec!["--url-token-env", "HOOK_TOKEN"],
            Some(("HOOK_TOKEN", "key=env-url-token")),
            "/?key=env-url-token",
            vec![],
            true,
        ),
        (
            vec!["--url-token-env", "HOOK_TOKEN"],
            Some(("HOOK_TOKEN", "key=env-url-token")),
            "/?key=",
            vec![],
            false,
        ),
    ] {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("webhook"));
        command.args(["listen", "--scheme", "wildduck"]).args(&args);
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let listener = Listener::spawn(command, &[]);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(_, value)| !value.contains('\n'))
            .copied()
            .chain([("Content-Type", "application/json")])
            .collect();
        let (status, _) = raw_post(&listener.address, path, &headers, WILDDUCK_EVENT.as_bytes());
        let expected = if accepted {
            "HTTP/1.1 200"
        } else {
            "HTTP/1.1 401"
        };
        assert!(status.starts_with(expected), "{args:?} {path}: {status}");
        let printed = listener.output();
        for secret in [
            "env-password",
            "file-bearer-token",
            "file-url-token",
            "env-url-token",
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}

const WILDDUCK_EVENT: &str = r#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"user.created","user":"6561f0c2a1b2c3d4e5f60719"}"#;

/// `--media-type` pins a Mailtrap receiver to its webhook's format.
/// `--secret-label` names the secrets in order; a label with no secret to name, or an
/// empty one, is a usage error (exit 2) before anything listens.
#[test]
fn listen_refuses_secret_labels_it_cannot_place() {
    let listen = |args: &[&str]| {
        webhook()
            .args(["listen", "--scheme", "stalwart", "--port", "0"])
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
    };
    listen(&[
        "--secret",
        "s",
        "--secret-label",
        "a",
        "--secret-label",
        "b",
    ])
    .code(2)
    .stderr(predicate::str::contains(
        "2 --secret-label given for 1 secret(s)",
    ));
    listen(&["--secret", "s", "--secret-label", " "])
        .code(2)
        .stderr(predicate::str::contains("--secret-label must not be empty"));
}

#[test]
fn listen_pins_the_media_type() {
    let listener = Listener::start(&[
        "--scheme",
        "mailtrap",
        "--secret",
        "m",
        "--media-type",
        "json",
    ]);
    let form = b"event=delivery&email=a%40x&message_id=m&timestamp=1&event_id=e1";
    let signature = std::process::Command::new(assert_cmd::cargo::cargo_bin("webhook"))
        .args([
            "sign",
            "--scheme",
            "mailtrap",
            "--secret",
            "m",
            "--file",
            "/dev/stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(form)?;
            child.wait_with_output()
        })
        .unwrap();
    let line = String::from_utf8(signature.stdout).unwrap();
    let value = line.trim().split_once(": ").unwrap().1.to_owned();
    let (status, text) = raw_post(
        &listener.address,
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Mailtrap-Signature", &value),
        ],
        form,
    );
    assert!(status.starts_with("HTTP/1.1 415"), "{text}");
    let (status, text) = raw_post(
        &listener.address,
        "/",
        &[("Mailtrap-Signature", &value)],
        form,
    );
    assert!(status.starts_with("HTTP/1.1 400"), "{text}");
    webhook()
        .args([
            "listen",
            "--scheme",
            "stalwart",
            "--secret",
            "s",
            "--media-type",
            "form",
        ])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Stalwart never sends form data"));
}

//! The bad-input matrix: hostile or broken requests, one table, run against both
//! adapters over real loopback HTTP. Each gets its expected status and error code, and
//! no handler ever runs. A last case streams a never-ending chunked upload and checks the
//! server cuts it off and the process's memory stays bounded.

mod support;

use std::{
    io::{Read as _, Write as _},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use support::{MAX_BODY, Route, Server, post};
use webhook_core::{
    Secret,
    senders::{email_api, mailtrap, stalwart},
};
use webhook_sender::{Body, Endpoint};

const STALWART: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;
const EMAIL: &str = r#"{"id":"evt_1","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"a@example.com","to":"b@example.com"}}"#;
const MAILTRAP: &str = r#"{"events":[{"event":"delivery","timestamp":1728669700,"message_id":"m","email":"a@example.com","event_id":"e1"}]}"#;
const STANDARD: &str = r#"{"type":"email.sent","data":{}}"#;
const WILDDUCK: &str = r#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"user.created","user":"6561f0c2a1b2c3d4e5f60719"}"#;
/// A genuine Mailtrap click whose `user_agent` holds form data: read as form data, a
/// forged bounce for someone else (issue 17, point 2).
const MAILTRAP_CLICK_WITH_FORM: &str = r#"{"events":[{"event":"click","timestamp":1728669700,"message_id":"m1","email":"user@example.com","event_id":"e-genuine-1","user_agent":"Mozilla/5.0&event=bounce&email=ceo%40victim.example&event_id=forged-1&message_id=m2&timestamp=1728669701&x=","url":"https://example.com"}]}"#;
/// A one-line batch wrapper that also has event keys: read as a JSON Lines line, a
/// bounce of its own.
const MAILTRAP_BATCH_WITH_EVENT_KEYS: &str = r#"{"events":[{"event":"click","timestamp":1728669700,"message_id":"m1","email":"user@example.com","event_id":"e-genuine-1"}],"event":"bounce","timestamp":1728669701,"message_id":"m2","email":"ceo@victim.example","event_id":"forged-2"}"#;
const MAILTRAP_LINES: &str = "{\"event\":\"delivery\",\"timestamp\":1,\"message_id\":\"m\",\"email\":\"a\",\"event_id\":\"e1\"}\n{\"event\":\"open\",\"timestamp\":2,\"message_id\":\"m\",\"email\":\"a\",\"event_id\":\"e2\"}\n";
const MAILTRAP_FORM: &str = "event=delivery&email=a%40x&message_id=m&timestamp=1&event_id=e1";
const FORM: &str = "application/x-www-form-urlencoded";
const JSONL: &str = "application/jsonl";

/// A request as the reference sender makes it, then broken by the case.
struct Hostile {
    route: Route,
    headers: HeaderMap,
    body: Bytes,
}

impl Hostile {
    /// Posts the request to `server` and returns the status and response body.
    async fn send(self, server: &Server) -> (u16, Vec<u8>) {
        let mut request = Request::post(server.url(self.route));
        *request.headers_mut().unwrap() = self.headers;
        let request = request.body(support::RequestBody::full(self.body)).unwrap();
        post(request).await
    }

    /// The exact request the reference sender sends for `body` on `route`.
    fn signed(server: &Server, route: Route, body: impl Into<Bytes>) -> Self {
        Self::signed_at(server, route, body, SystemTime::now())
    }

    fn signed_at(server: &Server, route: Route, body: impl Into<Bytes>, at: SystemTime) -> Self {
        let body: Bytes = body.into();
        let endpoint = Endpoint::new(route.scheme(), &server.url(route)).unwrap();
        let endpoint = match route {
            Route::WildDuck => endpoint.credentials(support::wildduck_credentials()),
            Route::Standard => endpoint
                .secret(Secret::standard_webhooks(route.secret()).unwrap())
                .unwrap(),
            _ => endpoint.secret(Secret::new(route.secret())).unwrap(),
        };
        let request = endpoint
            .request(&Body::json(body.clone()), Some("msg_hostile"), at)
            .unwrap();
        let mut headers = request.headers().clone();
        headers.remove("content-length");
        Self {
            route,
            headers,
            body,
        }
    }

    fn set(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value.as_ref()).unwrap(),
        );
        self
    }

    fn add(mut self, name: &'static str, value: &str) -> Self {
        self.headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    fn remove(mut self, name: &'static str) -> Self {
        self.headers.remove(name);
        self
    }

    fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// Signs `body` with the route's real secret (a validly signed, broken body).
fn sign_as(route: Route, body: &[u8]) -> (&'static str, String) {
    match route {
        Route::Stalwart => (
            "x-signature",
            stalwart::sign(&Secret::new(route.secret()), body),
        ),
        Route::EmailApi => (
            "x-webhook-signature",
            email_api::sign(&Secret::new(route.secret()), body),
        ),
        Route::Mailtrap => (
            "mailtrap-signature",
            mailtrap::sign(&Secret::new(route.secret()), body),
        ),
        _ => unreachable!("signed per message for Standard Webhooks, unsigned for WildDuck"),
    }
}

fn validly_signed(server: &Server, route: Route, body: impl Into<Bytes>) -> Hostile {
    let body: Bytes = body.into();
    let (name, value) = sign_as(route, &body);
    Hostile::signed(server, route, body.clone()).set(name, value)
}

/// An email-API event whose `data` nests `depth` arrays deep, closed or not.
fn deep_json(depth: usize, closed: bool) -> String {
    let close = if closed {
        "]".repeat(depth)
    } else {
        String::new()
    };
    EMAIL.replace(
        r#""data":{"#,
        &format!(r#""data":{{"deep":{}{close}, "#, "[".repeat(depth)),
    )
}

/// `text` in ISO 8859-1 (each char below U+0100 as its one byte).
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

fn many_events(n: usize) -> String {
    let event = r#"{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org","remoteIp":"203.0.113.7","spanId":312845863712866304,"listenerId":"imaps","localPort":993}}"#;
    format!(r#"{{"events":[{}]}}"#, vec![event; n].join(","))
}

/// The matrix: (name, the request, expected status, expected code).
fn matrix(server: &Server) -> Vec<(&'static str, Hostile, u16, &'static str)> {
    use Route::*;
    let s = |route, body: &str| Hostile::signed(server, route, body.to_owned());
    let past = SystemTime::now() - Duration::from_secs(365 * 86_400);
    let future = SystemTime::now() + Duration::from_secs(3600);
    let good_stalwart_sig = stalwart::sign(&Secret::new(Stalwart.secret()), STALWART.as_bytes());
    vec![
        // Signature headers: missing, duplicated, empty, huge, badly encoded.
        ("stalwart: no signature", s(Stalwart, STALWART).remove("x-signature"), 401, "missing_signature"),
        ("stalwart: signature twice", s(Stalwart, STALWART).add("x-signature", &good_stalwart_sig), 400, "duplicate_header"),
        ("stalwart: empty signature", s(Stalwart, STALWART).set("x-signature", ""), 400, "malformed_signature"),
        ("stalwart: 8 KiB signature", s(Stalwart, STALWART).set("x-signature", "A".repeat(8192)), 400, "malformed_signature"),
        ("stalwart: not base64", s(Stalwart, STALWART).set("x-signature", "!".repeat(44)), 400, "malformed_signature"),
        ("stalwart: URL-safe base64", s(Stalwart, STALWART).set("x-signature", good_stalwart_sig.replace('+', "-").replace('/', "_")), 400, "malformed_signature"),
        ("stalwart: unpadded base64", s(Stalwart, STALWART).set("x-signature", good_stalwart_sig.trim_end_matches('=')), 400, "malformed_signature"),
        ("stalwart: non-ASCII signature bytes", s(Stalwart, STALWART).set("x-signature", b"\xe9t\xe9"), 400, "malformed_signature"),
        ("email-api: hex without sha256=", s(EmailApi, EMAIL).set("x-webhook-signature", "ab".repeat(32)), 400, "malformed_signature"),
        ("email-api: sha1=", s(EmailApi, EMAIL).set("x-webhook-signature", format!("sha1={}", "ab".repeat(20))), 400, "malformed_signature"),
        ("email-api: two different header names", s(EmailApi, EMAIL).set("x-hub-signature-256", format!("sha256={}", "00".repeat(32))), 400, "conflicting_headers"),
        ("mailtrap: sha256= prefix", s(Mailtrap, MAILTRAP).set("mailtrap-signature", format!("sha256={}", "ab".repeat(32))), 400, "malformed_signature"),
        ("mailtrap: not hex", s(Mailtrap, MAILTRAP).set("mailtrap-signature", "zz".repeat(32)), 400, "malformed_signature"),
        // Standard Webhooks headers and timestamps.
        ("standard: no webhook-id", s(Standard, STANDARD).remove("webhook-id"), 400, "missing_header"),
        ("standard: no timestamp", s(Standard, STANDARD).remove("webhook-timestamp"), 400, "missing_timestamp"),
        ("standard: fractional timestamp", s(Standard, STANDARD).set("webhook-timestamp", "1700000000.5"), 400, "invalid_timestamp"),
        ("standard: a year old", Hostile::signed_at(server, Standard, STANDARD, past), 401, "timestamp_out_of_window"),
        ("standard: an hour ahead", Hostile::signed_at(server, Standard, STANDARD, future), 401, "timestamp_out_of_window"),
        ("standard: only v1a signatures", s(Standard, STANDARD).set("webhook-signature", "v1a,c2lnbmF0dXJl"), 400, "malformed_signature"),
        ("standard: svix and webhook ids disagree", s(Standard, STANDARD).set("svix-id", "msg_other"), 400, "conflicting_headers"),
        // Credentials (WildDuck signs nothing).
        ("wildduck: no credentials", s(WildDuck, WILDDUCK).remove("authorization"), 401, "missing_auth"),
        ("wildduck: wrong password", s(WildDuck, WILDDUCK).set("authorization", "Basic d2lsZGR1Y2s6d3Jvbmc="), 401, "auth_mismatch"),
        ("wildduck: Bearer instead of Basic", s(WildDuck, WILDDUCK).set("authorization", "Bearer token"), 401, "malformed_auth"),
        ("wildduck: credentials not base64", s(WildDuck, WILDDUCK).set("authorization", "Basic ***"), 401, "malformed_auth"),
        ("wildduck: Authorization twice", s(WildDuck, WILDDUCK).add("authorization", "Basic d2lsZGR1Y2s6d3Jvbmc="), 400, "duplicate_header"),
        // Bodies: tampered, truncated, oversized, wrong type, broken JSON (validly signed).
        ("tampered body", s(Stalwart, STALWART).body(STALWART.replace("jdoe", "eve")), 401, "signature_mismatch"),
        ("truncated body", s(Stalwart, STALWART).body(&STALWART.as_bytes()[..STALWART.len() - 5]), 401, "signature_mismatch"),
        ("oversized body", validly_signed(server, Stalwart, vec![b' '; MAX_BODY + 1]), 413, "body_too_large"),
        ("10 000 events in one batch", validly_signed(server, Stalwart, many_events(10_000)), 413, "body_too_large"),
        ("text/plain", s(Stalwart, STALWART).set("content-type", "text/plain"), 415, "unsupported_media_type"),
        ("form data to a JSON sender", s(EmailApi, EMAIL).set("content-type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type"),
        ("invalid UTF-8, signed", validly_signed(server, Stalwart, &b"{\"events\":[{\"id\":\"\xff\xfe\"}]}"[..]), 400, "not_utf8"),
        ("not JSON, signed", validly_signed(server, Stalwart, "hello"), 400, "invalid_json"),
        ("JSON nested 10 000 deep, never closed, signed", validly_signed(server, EmailApi, deep_json(10_000, false)), 400, "invalid_json"),
        ("trailing garbage, signed", validly_signed(server, Stalwart, format!("{STALWART}{{}}")), 400, "trailing_data"),
        ("empty events array, signed", validly_signed(server, Stalwart, r#"{"events":[]}"#), 400, "empty_batch"),
        ("event id out of u64 range, signed", validly_signed(server, Stalwart, STALWART.replace(r#""1755784900237""#, "1e400")), 400, "invalid_json"),
        ("createdAt not a date, signed", validly_signed(server, Stalwart, STALWART.replace("2025-08-21T14:01:40Z", "9999-99-99T99:99:99Z")), 400, "unexpected_shape"),
        ("id given twice, signed", validly_signed(server, Stalwart, STALWART.replace(r#""id":"1755784900237","#, r#""id":"1","id":"2","#)), 400, "unexpected_shape"),
        ("mailtrap form without event_id, signed", validly_signed(server, Mailtrap, "event=delivery&email=a%40x&message_id=m&timestamp=1").set("content-type", "application/x-www-form-urlencoded"), 400, "invalid_form"),
        ("mailtrap JSON Lines with a bad line, signed", validly_signed(server, Mailtrap, "{\"event\":\"delivery\",\"timestamp\":1,\"message_id\":\"m\",\"email\":\"a\",\"event_id\":\"e\"}\n{oops").set("content-type", "application/jsonl"), 400, "invalid_json"),
        // The unsigned Content-Type never picks another reading of signed bytes (issue 17,
        // point 2): a disagreement is refused, for every sender.
        ("mailtrap: signed JSON replayed as form data", validly_signed(server, Mailtrap, MAILTRAP_CLICK_WITH_FORM).set("content-type", FORM), 415, "media_type_mismatch"),
        ("mailtrap: signed JSON replayed as form data; charset", validly_signed(server, Mailtrap, MAILTRAP_CLICK_WITH_FORM).set("content-type", "Application/X-WWW-Form-Urlencoded; charset=utf-8"), 415, "media_type_mismatch"),
        ("mailtrap: signed JSON Lines replayed as form data", validly_signed(server, Mailtrap, MAILTRAP_LINES).set("content-type", FORM), 415, "media_type_mismatch"),
        ("mailtrap: signed one-line batch replayed as JSON Lines", validly_signed(server, Mailtrap, MAILTRAP_BATCH_WITH_EVENT_KEYS).set("content-type", JSONL), 415, "media_type_mismatch"),
        ("mailtrap: signed JSON Lines replayed as JSON", validly_signed(server, Mailtrap, MAILTRAP_LINES).set("content-type", "application/json"), 400, "trailing_data"),
        ("mailtrap: signed form data replayed as JSON", validly_signed(server, Mailtrap, MAILTRAP_FORM).set("content-type", "application/json"), 400, "invalid_json"),
        ("mailtrap: signed form data replayed as JSON Lines", validly_signed(server, Mailtrap, MAILTRAP_FORM).set("content-type", "application/x-ndjson"), 400, "invalid_json"),
        ("mailtrap: text/plain", s(Mailtrap, MAILTRAP).set("content-type", "text/plain"), 415, "unsupported_media_type"),
        ("mailtrap: two Content-Type headers", validly_signed(server, Mailtrap, MAILTRAP_FORM).set("content-type", FORM).add("content-type", FORM), 415, "unsupported_media_type"),
        ("stalwart: JSON Lines declared", s(Stalwart, STALWART).set("content-type", JSONL), 415, "unsupported_media_type"),
        ("stalwart: two Content-Type headers", s(Stalwart, STALWART).add("content-type", "application/json"), 415, "unsupported_media_type"),
        ("email-api: JSON Lines declared", s(EmailApi, EMAIL).set("content-type", "application/x-ndjson"), 415, "unsupported_media_type"),
        ("standard: form data declared", s(Standard, STANDARD).set("content-type", FORM), 415, "unsupported_media_type"),
        ("standard: JSON Lines declared", s(Standard, STANDARD).set("content-type", JSONL), 415, "unsupported_media_type"),
        ("wildduck: form data declared", s(WildDuck, WILDDUCK).set("content-type", FORM), 415, "unsupported_media_type"),
        ("wildduck: JSON Lines declared", s(WildDuck, WILDDUCK).set("content-type", JSONL), 415, "unsupported_media_type"),
        // A charset never changes how bytes are read: they are UTF-8 or refused.
        ("stalwart: Latin-1 bytes declared charset=iso-8859-1, signed", validly_signed(server, Stalwart, latin1(&STALWART.replace("jdoe", "jd\u{e9}"))).set("content-type", "application/json; charset=iso-8859-1"), 400, "not_utf8"),
        ("email-api: UTF-16 bytes declared charset=utf-16, signed", validly_signed(server, EmailApi, EMAIL.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()).set("content-type", "application/json; charset=utf-16"), 400, "invalid_json"),
        ("mailtrap: Latin-1 escape in form data declared charset=iso-8859-1, signed", validly_signed(server, Mailtrap, "event=delivery&email=caf%E9%40x&message_id=m&timestamp=1&event_id=e1").set("content-type", "application/x-www-form-urlencoded; charset=iso-8859-1"), 400, "invalid_form"),
    ]
}

async fn run_matrix(server: &Server) {
    let cases = matrix(server);
    assert!(cases.len() >= 30, "the matrix has {} cases", cases.len());
    for (name, case, status, code) in cases {
        let before: Vec<usize> = Route::ALL.iter().map(|r| server.counts.get(*r)).collect();
        let (got, body) = case.send(server).await;
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
            panic!(
                "{name}: not a JSON problem: {}",
                String::from_utf8_lossy(&body)
            )
        });
        assert_eq!(
            (got, problem["code"].as_str().unwrap_or_default()),
            (status, code),
            "{name}: {problem}"
        );
        let after: Vec<usize> = Route::ALL.iter().map(|r| server.counts.get(*r)).collect();
        assert_eq!(before, after, "{name}: a handler ran");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_refuses_the_matrix() {
    run_matrix(&support::axum_server().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_refuses_the_matrix() {
    run_matrix(&support::actix_server()).await;
}

/// A `charset` parameter, on any sender, leaves what a body means to its bytes: the
/// same signed request is accepted and handled as with no parameter (its bytes are
/// UTF-8 JSON or form data either way; bytes that are not UTF-8 are refused, above).
async fn charsets_are_ignored(server: &Server) {
    for route in Route::ALL {
        let (body, content_type) = match route {
            Route::Stalwart => (STALWART, "application/json"),
            Route::EmailApi => (EMAIL, "application/json"),
            Route::Mailtrap => (MAILTRAP_FORM, FORM),
            Route::Standard => (STANDARD, "application/json"),
            Route::WildDuck => (WILDDUCK, "application/json"),
        };
        for charset in ["iso-8859-1", "utf-16", "\"us-ascii\""] {
            let case = match route {
                Route::Mailtrap => validly_signed(server, route, body),
                _ => Hostile::signed(server, route, body.to_owned()),
            }
            .set("content-type", format!("{content_type}; charset={charset}"));
            let before = server.counts.get(route);
            let (status, answer) = case.send(server).await;
            assert_eq!(
                status,
                200,
                "{route:?} {charset}: {}",
                String::from_utf8_lossy(&answer)
            );
            assert_eq!(server.counts.get(route), before + 1, "{route:?} {charset}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charset_parameter_changes_nothing() {
    charsets_are_ignored(&support::axum_server().await).await;
    charsets_are_ignored(&support::actix_server()).await;
}

/// Authentic, well-formed JSON nested 10 000 deep inside `data` is not an attack on
/// hookwise: unknown values are kept as raw JSON, skipped without recursion, so there is
/// no stack to exhaust, and refusing the request would lose a real event. The handler
/// gets it (it is the handler's own typed access that serde_json depth-limits to 128).
async fn deep_data_is_kept_raw(server: &Server) {
    let case = validly_signed(server, Route::EmailApi, deep_json(10_000, true));
    let before = server.counts.get(Route::EmailApi);
    let (status, _) = case.send(server).await;
    assert_eq!(status, 200);
    assert_eq!(server.counts.get(Route::EmailApi), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_but_well_formed_data_reaches_the_handler() {
    deep_data_is_kept_raw(&support::axum_server().await).await;
    deep_data_is_kept_raw(&support::actix_server()).await;
}

/// Peak resident memory of this process, from the kernel.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A chunked upload far past the limit (100 MB and more, never ending) is refused
/// without being buffered: the server answers 413 and closes the connection, so the
/// client's writes start failing, and the test process's peak memory (servers included)
/// grows by far less than what was sent.
///
/// axum stops reading at the limit. actix-web, after its answer, lingers for its
/// client-disconnect timeout (1 s by default) reading and discarding so the client can
/// read the 413, then closes; the adapter makes sure it closes rather than draining the
/// body to its end (which actix does for a dropped chunked body), so the bound is that
/// timeout, not the body's size.
fn endless_chunked_upload(server: &Server) {
    let before = peak_rss_kib();
    let address = server.address;
    let url = server.url(Route::Stalwart);
    let path = url.split_once(&address.to_string()).unwrap().1.to_owned();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nX-Signature: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        "A".repeat(43) + "="
    )
    .unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
    let started = std::time::Instant::now();
    let mut sent = 0usize;
    let cut_off = loop {
        if stream.write_all(&framed).is_err() {
            break true;
        }
        sent += chunk.len();
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
    };
    let mut answer = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.read_to_string(&mut answer);
    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    assert!(
        cut_off,
        "the server still read after 20 s and {} MiB",
        sent >> 20
    );
    eprintln!("cut off after {} MiB, {:?}", sent >> 20, started.elapsed());
    assert!(
        grown_mib < 16,
        "peak memory grew by {grown_mib} MiB after {} MiB sent",
        sent >> 20
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 413"),
        "{answer}"
    );
    assert!(Route::ALL.iter().all(|r| server.counts.get(*r) == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_bounds_an_endless_chunked_upload() {
    let server = support::axum_server().await;
    tokio::task::spawn_blocking(move || endless_chunked_upload(&server))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_bounds_an_endless_chunked_upload() {
    let server = support::actix_server();
    tokio::task::spawn_blocking(move || endless_chunked_upload(&server))
        .await
        .unwrap();
}

//! Round trips through both web framework adapters over real loopback HTTP, with every
//! request made by the reference sender.
//!
//! One case table, written once, runs against an axum server and an actix-web server
//! that expose the same routes (one per sender). Accepted cases go through the real
//! `webhook_sender::Sender` (batching, retries and all); rejected cases take the exact
//! request the sender would send (`Endpoint::request`) and break one thing about it.
//! Each case checks the status, the problem code, and whether the handler ran.

mod support;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method};
use support::{Counts, Route, Server, post};
use webhook_core::{Secret, senders::stalwart};
use webhook_sender::{Body, Endpoint, Message, Sender};

/// What a case does to the sender's request before it goes out.
#[derive(Clone, Copy, Debug)]
enum Break {
    Nothing,
    TamperBody,
    WrongSecret,
    DropSignature,
    DuplicateSignature,
    ContentType(&'static str),
    Oversize,
    OversizeChunked,
    StaleTimestamp,
    InvalidJsonSigned,
}

struct Case {
    name: &'static str,
    route: Route,
    body: &'static str,
    breaks: Break,
    status: u16,
    code: Option<&'static str>,
}

const STALWART_BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org","remoteIp":"203.0.113.7"}}]}"#;
const EMAIL_BODY: &str = r#"{"id":"evt_xyz789","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_abc123","from":"sender@yourdomain.com","to":"recipient@example.com","subject":"Hello","delivered_at":"2024-01-15T10:30:05Z"}}"#;
const MAILTRAP_BODY: &str = r#"{"events":[{"event":"delivery","timestamp":1728669700,"message_id":"abc-123","email":"recipient@example.com","event_id":"unique-event-id"}]}"#;
const STANDARD_BODY: &str = r#"{"type":"email.delivered","created_at":"2024-11-22T23:41:12.126Z","data":{"email_id":"56761188-7520-42d8-8898-ff6fc54ce618"}}"#;
const WILDDUCK_BODY: &str = r#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"mailbox.created","user":"6561f0c2a1b2c3d4e5f60719","mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive/2024"}"#;

fn cases() -> Vec<Case> {
    use Break::*;
    let case = |name, route, body, breaks, status, code| Case {
        name,
        route,
        body,
        breaks,
        status,
        code,
    };
    vec![
        case(
            "stalwart accepted",
            Route::Stalwart,
            STALWART_BODY,
            Nothing,
            200,
            None,
        ),
        case(
            "email-api accepted",
            Route::EmailApi,
            EMAIL_BODY,
            Nothing,
            200,
            None,
        ),
        case(
            "mailtrap accepted",
            Route::Mailtrap,
            MAILTRAP_BODY,
            Nothing,
            200,
            None,
        ),
        case(
            "standard webhooks accepted",
            Route::Standard,
            STANDARD_BODY,
            Nothing,
            200,
            None,
        ),
        case(
            "wildduck accepted",
            Route::WildDuck,
            WILDDUCK_BODY,
            Nothing,
            200,
            None,
        ),
        case(
            "tampered body",
            Route::Stalwart,
            STALWART_BODY,
            TamperBody,
            401,
            Some("signature_mismatch"),
        ),
        case(
            "wrong secret",
            Route::EmailApi,
            EMAIL_BODY,
            WrongSecret,
            401,
            Some("signature_mismatch"),
        ),
        case(
            "missing signature",
            Route::Mailtrap,
            MAILTRAP_BODY,
            DropSignature,
            401,
            Some("missing_signature"),
        ),
        case(
            "wildduck without credentials",
            Route::WildDuck,
            WILDDUCK_BODY,
            DropSignature,
            401,
            Some("missing_auth"),
        ),
        case(
            "duplicate signature header",
            Route::Stalwart,
            STALWART_BODY,
            DuplicateSignature,
            400,
            Some("duplicate_header"),
        ),
        case(
            "oversize body, declared",
            Route::Stalwart,
            STALWART_BODY,
            Oversize,
            413,
            Some("body_too_large"),
        ),
        case(
            "oversize body, chunked",
            Route::Stalwart,
            STALWART_BODY,
            OversizeChunked,
            413,
            Some("body_too_large"),
        ),
        case(
            "wrong content type",
            Route::Stalwart,
            STALWART_BODY,
            ContentType("text/plain"),
            415,
            Some("unsupported_media_type"),
        ),
        case(
            "form data to a JSON sender",
            Route::EmailApi,
            EMAIL_BODY,
            ContentType("application/x-www-form-urlencoded"),
            415,
            Some("unsupported_media_type"),
        ),
        case(
            "bad JSON, validly signed",
            Route::Stalwart,
            STALWART_BODY,
            InvalidJsonSigned,
            400,
            Some("invalid_json"),
        ),
        case(
            "stale standard webhooks timestamp",
            Route::Standard,
            STANDARD_BODY,
            StaleTimestamp,
            401,
            Some("timestamp_out_of_window"),
        ),
    ]
}

async fn run_table(server: &Server) {
    for case in cases() {
        let before = server.counts.get(case.route);
        let (status, problem) = if let Break::Nothing = case.breaks {
            (deliver(server, &case).await, None)
        } else {
            let response = post(broken_request(server, &case)).await;
            (response.0, Some(response.1))
        };
        assert_eq!(status, case.status, "{}: {problem:?}", case.name);
        let calls = server.counts.get(case.route) - before;
        match case.code {
            None => assert_eq!(calls, 1, "{}: handler runs once", case.name),
            Some(code) => {
                assert_eq!(calls, 0, "{}: handler must not run", case.name);
                let problem: serde_json::Value =
                    serde_json::from_slice(problem.as_deref().unwrap_or_default()).unwrap();
                assert_eq!(problem["code"], code, "{}", case.name);
                assert!(
                    problem["error"].as_str().is_some_and(|e| e.len() > 20),
                    "{}: {problem}",
                    case.name
                );
                for secret in support::SECRETS {
                    assert!(
                        !problem.to_string().contains(secret),
                        "{}: leaks",
                        case.name
                    );
                }
            }
        }
    }
}

fn endpoint(server: &Server, route: Route) -> Endpoint {
    let url = server.url(route);
    let endpoint = Endpoint::new(route.scheme(), &url).unwrap();
    match route {
        Route::WildDuck => endpoint.credentials(support::wildduck_credentials()),
        Route::Standard => endpoint
            .secret(Secret::standard_webhooks(route.secret()).unwrap())
            .unwrap(),
        _ => endpoint.secret(Secret::new(route.secret())).unwrap(),
    }
}

/// The accepted path: the real sender delivers, retries included.
async fn deliver(server: &Server, case: &Case) -> u16 {
    let endpoint = endpoint(server, case.route);
    let stats = if case.route == Route::Stalwart {
        let batch: webhook_core::senders::stalwart::WebhookEvents<'_> =
            serde_json::from_str(case.body).unwrap();
        let sender = Sender::stalwart(endpoint).build().unwrap();
        for event in &batch {
            sender
                .send(webhook_sender::StalwartEvent::from_map(
                    event.event_type().as_str(),
                    &event.fields().unwrap(),
                ))
                .unwrap();
        }
        sender.close_within(Duration::from_secs(10)).await
    } else {
        let sender = Sender::messages(endpoint).build().unwrap();
        sender
            .send(Message::json(case.body.as_bytes().to_vec()))
            .unwrap();
        sender.close_within(Duration::from_secs(10)).await
    };
    assert_eq!(stats.delivered, 1, "{}: {stats:?}", case.name);
    200
}

/// The rejected path: the sender's exact request, with one thing broken.
fn broken_request(server: &Server, case: &Case) -> http::Request<support::RequestBody> {
    let route = case.route;
    let body = match case.breaks {
        Break::InvalidJsonSigned => Bytes::from_static(br#"{"events":[{"id":"1","#),
        _ => Bytes::from_static(case.body.as_bytes()),
    };
    let now = match case.breaks {
        Break::StaleTimestamp => SystemTime::now() - Duration::from_secs(3600),
        _ => SystemTime::now(),
    };
    let endpoint = match case.breaks {
        Break::WrongSecret => Endpoint::new(route.scheme(), &server.url(route))
            .unwrap()
            .secret(Secret::new("not-the-secret"))
            .unwrap(),
        _ => endpoint(server, route),
    };
    let request = endpoint
        .request(&Body::json(body.to_vec()), Some("msg_case"), now)
        .unwrap();
    let (mut parts, body) = request.into_parts();
    assert_eq!(parts.method, Method::POST);
    let signature = route.scheme().signature_header();
    let body = match case.breaks {
        Break::TamperBody => Bytes::from(
            String::from_utf8(body.to_vec())
                .unwrap()
                .replace("jdoe", "mallory"),
        ),
        Break::Oversize => Bytes::from(vec![b' '; support::MAX_BODY + 1]),
        _ => body,
    };
    match case.breaks {
        Break::DropSignature => {
            parts.headers.remove(signature.unwrap_or("authorization"));
            parts.headers.remove("authorization");
        }
        Break::DuplicateSignature => {
            let other = stalwart::sign(&Secret::new("x"), &body);
            parts
                .headers
                .append(signature.unwrap(), HeaderValue::from_str(&other).unwrap());
        }
        Break::ContentType(media) => {
            parts
                .headers
                .insert("content-type", HeaderValue::from_static(media));
        }
        _ => {}
    }
    parts.headers.remove("content-length");
    let body = match case.breaks {
        // Just over the limit: the server refuses as soon as the total passes it. (A much
        // longer upload makes the server close while the client still writes, which the
        // client reports as a broken pipe instead of the 413; that the server stops
        // reading at the limit is shown in-process by the adapters' own tests.)
        Break::OversizeChunked => support::RequestBody::chunked(support::MAX_BODY + 1024),
        _ => support::RequestBody::full(body),
    };
    http::Request::from_parts(parts, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_case_table() {
    let server = support::axum_server().await;
    run_table(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_case_table() {
    let server = support::actix_server();
    run_table(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_answer_byte_for_byte_alike() {
    let (axum, actix) = (support::axum_server().await, support::actix_server());
    for case in cases().into_iter().filter(|c| c.code.is_some()) {
        let a = post(broken_request(&axum, &case)).await;
        let b = post(broken_request(&actix, &case)).await;
        assert_eq!(
            (a.0, clock_masked(&a.1)),
            (b.0, clock_masked(&b.1)),
            "{}",
            case.name
        );
    }
    let _ = Counts::default();
}

/// The body with the clock's reading masked: a stale timestamp is reported as `3600 s
/// behind` to one adapter and `3601 s behind` to the other when a second boundary falls
/// between the two requests.
fn clock_masked(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for (at, ch) in text.char_indices() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        if !digits.is_empty() {
            let seconds = text[at..].starts_with(" s behind") || text[at..].starts_with(" s ahead");
            out.push_str(if seconds { "N" } else { &digits });
            digits.clear();
        }
        out.push(ch);
    }
    out + &digits
}

//! The whole receiving path: build a `Verifier`, verify a request whose headers come
//! from the input, then parse the verified body into the sender's payload type.
//!
//! Input: byte 0 = flags, bytes 1-2 = a bit position (little endian), then
//! `header value\nbody`.
//! Flags: bits 0-2 pick the scheme (mod 5: Stalwart, email-API, Mailtrap, Standard
//! Webhooks, WildDuck); bit 3 turns on the replay window (Stalwart and email-API);
//! bits 4-5 pick the `Content-Type` (JSON, JSON Lines, form data, none); bit 7 picks
//! the mode:
//! - **raw** (0): the header value is presented as the scheme's signature (WildDuck:
//!   as `Authorization`); if it verifies, it must equal what `sign` gives;
//! - **signed** (1): the body is signed correctly (the header value is ignored) and
//!   must verify, unless the replay window refuses the body's timestamp; the same body
//!   with the bit at the given position flipped must then fail with
//!   `signature_mismatch`.
//!
//! In both modes a verified body parses exactly as `parse_unverified` parses it with
//! the verification's context, and every error has a consistent status and problem.
#![no_main]
use hookwise_fuzz::{RawRequest, check_parse_error, check_verify_error, split_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};
use webhook_core::senders::standard_webhooks::StandardWebhook;
use webhook_core::senders::{email_api, mailtrap, stalwart, standard_webhooks};
use webhook_core::{
    Credentials, EmailApiEvent, MailtrapEvents, ParseError, Payload, Scheme, Secret,
    StalwartEvents, Verified, Verifier, VerifyError, WildDuckEvent, parse_unverified,
};

/// 2025-08-21T14:01:40Z, the `createdAt` of the first Stalwart example.
const NOW: i64 = 1_755_784_900;
const STANDARD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";

fn secret(scheme: Scheme) -> Secret {
    match scheme {
        Scheme::Stalwart => Secret::new("my-secret-key"),
        Scheme::EmailApi => Secret::new("It's a Secret to Everybody"),
        Scheme::Mailtrap => Secret::new("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"),
        _ => Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    }
}

fn credentials() -> Credentials {
    Credentials::basic("account", Secret::new("s3cr3t"))
}

fn build(scheme: Scheme, replay: bool) -> Verifier {
    let builder = Verifier::builder(scheme);
    let builder = match scheme {
        Scheme::WildDuck => builder.credentials(credentials()),
        _ => builder.secret(secret(scheme)),
    };
    let builder = match (replay, scheme) {
        (true, Scheme::Stalwart) => builder.replay_window(stalwart::MIN_REPLAY_WINDOW),
        (true, Scheme::EmailApi) => builder.replay_window(email_api::MIN_REPLAY_WINDOW),
        _ => builder,
    };
    builder.build().unwrap()
}

/// `[scheme][replay]`.
static VERIFIERS: LazyLock<Vec<[Verifier; 2]>> = LazyLock::new(|| {
    Scheme::ALL
        .iter()
        .map(|&s| [build(s, false), build(s, true)])
        .collect()
});

/// The signature header name(s) and value for a correctly signed `body`.
fn sign(scheme: Scheme, body: &[u8]) -> (&'static str, String) {
    let key = secret(scheme);
    match scheme {
        Scheme::Stalwart => (stalwart::SIGNATURE_HEADER, stalwart::sign(&key, body)),
        Scheme::EmailApi => (email_api::SIGNATURE_HEADER, email_api::sign(&key, body)),
        Scheme::Mailtrap => (mailtrap::SIGNATURE_HEADER, mailtrap::sign(&key, body)),
        Scheme::StandardWebhooks => (
            standard_webhooks::SIGNATURE_HEADER,
            standard_webhooks::sign(&key, STANDARD_ID, NOW, body),
        ),
        _ => (
            "authorization",
            credentials().header_value().to_str().unwrap().to_owned(),
        ),
    }
}

fn request(
    scheme: Scheme,
    content_type: Option<&'static str>,
    name: &'static str,
    value: &[u8],
) -> RawRequest {
    let mut req = RawRequest::new().with(name, value);
    if scheme == Scheme::StandardWebhooks {
        req.push(standard_webhooks::ID_HEADER, STANDARD_ID);
        req.push(standard_webhooks::TIMESTAMP_HEADER, NOW.to_string());
    }
    if let Some(ct) = content_type {
        req.push("content-type", ct);
    }
    req
}

/// The verified body parses exactly as the unverified one does with the same context.
/// Only the verified path knows the `Content-Type` text a 415 names (`declared`), so
/// that one descriptive field is left out of the comparison.
fn same_parse<T: Payload + PartialEq + std::fmt::Debug>(verified: &Verified<&[u8]>) {
    let ctx = verified.verification().parse_context();
    let via_verified: Result<T, ParseError> = verified.parse().map_err(|err| match err {
        ParseError::UnsupportedMediaType {
            found, expected, ..
        } => ParseError::UnsupportedMediaType {
            found,
            declared: None,
            expected,
        },
        other => other,
    });
    let direct: Result<T, ParseError> = parse_unverified(verified.body(), ctx);
    assert_eq!(via_verified, direct);
    if let Err(err) = &direct {
        check_parse_error(err);
    }
}

fn parse(scheme: Scheme, verified: &Verified<&[u8]>) {
    match scheme {
        Scheme::Stalwart => same_parse::<StalwartEvents>(verified),
        Scheme::EmailApi => same_parse::<EmailApiEvent>(verified),
        Scheme::Mailtrap => same_parse::<MailtrapEvents>(verified),
        Scheme::StandardWebhooks => same_parse::<StandardWebhook>(verified),
        _ => same_parse::<WildDuckEvent>(verified),
    }
}

/// Errors the replay window may legitimately raise for an authentic body.
fn replay_error(err: &VerifyError) -> bool {
    matches!(
        err,
        VerifyError::TimestampOutOfWindow { .. }
            | VerifyError::UnreadableBody { .. }
            | VerifyError::MissingTimestamp { .. }
            | VerifyError::InvalidTimestamp { .. }
    )
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let flags = data[0];
    let position = usize::from(u16::from_le_bytes([data[1], data[2]]));
    let scheme = Scheme::ALL[usize::from(flags & 7) % 5];
    let replay = flags & 8 != 0 && matches!(scheme, Scheme::Stalwart | Scheme::EmailApi);
    let content_type = [
        Some("application/json"),
        Some("application/jsonl"),
        Some("application/x-www-form-urlencoded"),
        None,
    ][usize::from((flags >> 4) & 3)];
    let signed_mode = flags & 0x80 != 0;
    let mut parts = split_lines(&data[3..], 2).into_iter();
    let value = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let verifier = &VERIFIERS[usize::from(flags & 7) % 5][usize::from(replay)];
    let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
    let (name, expected) = sign(scheme, body);

    if signed_mode {
        let req = request(scheme, content_type, name, expected.as_bytes());
        match verifier.verify_at(&req, body, now) {
            Ok(verified) => {
                let v = verified.verification();
                assert_eq!(v.scheme(), scheme);
                if scheme.signs() {
                    assert_eq!(v.matched_key().map(|k| k.index()), Some(0));
                }
                parse(scheme, &verified);
            }
            Err(err) => {
                check_verify_error(&err);
                assert!(
                    replay && replay_error(&err),
                    "a correctly signed body was refused: {err:?}"
                );
            }
        }
        if scheme.signs() && !body.is_empty() {
            let bit = position % (body.len() * 8);
            let mut flipped = body.to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            match verifier.verify_at(&req, &flipped[..], now) {
                Ok(_) => panic!("a body with bit {bit} flipped verified"),
                Err(err) => assert!(
                    matches!(err, VerifyError::SignatureMismatch { keys_tried: 1 }),
                    "flipped body: {err:?}"
                ),
            }
        }
    } else {
        let req = request(scheme, content_type, name, value);
        match verifier.verify_at(&req, body, now) {
            Ok(verified) => {
                let ok = match scheme {
                    Scheme::Stalwart => value == expected.as_bytes(),
                    Scheme::EmailApi | Scheme::Mailtrap => {
                        value.eq_ignore_ascii_case(expected.as_bytes())
                    }
                    Scheme::StandardWebhooks => value
                        .split(|&b| b == b' ')
                        .any(|e| e == expected.as_bytes()),
                    _ => true, // Basic credentials: checked by sig_authorization.
                };
                assert!(
                    ok,
                    "{scheme:?}: {value:?} verified but is not the signature"
                );
                parse(scheme, &verified);
            }
            Err(err) => check_verify_error(&err),
        }
    }
});

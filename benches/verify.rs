//! Verification cost for every signing scheme at 256 B, 1 KiB, 4 KiB, 64 KiB and 1 MiB,
//! beside two baselines measured in the same run:
//!
//! - `raw_hmac`: HMAC-SHA256 of the body with the key state prepared once (a clone of the
//!   keyed state, update, finalize) — the floor any verifier of these schemes stands on.
//!   Targets: every scheme within 1.15× of it.
//! - `svix`: the `svix` crate's `Webhook::verify` on the same Standard Webhooks request
//!   as hookwise's `standard_webhooks` case. Target: hookwise ≥ 5× faster.
//!
//! `cargo bench --bench verify`; `RATIOS=1 cargo bench --bench verify` measures the same
//! cases interleaved, for ratios that hold on a machine whose speed drifts.
//!
//! Verifiers are built once, as a receiver does; each iteration verifies one complete
//! request (header lookup, decoding, MAC, constant-time comparison). Standard Webhooks
//! requests carry a fresh timestamp so both hookwise and svix judge it inside their
//! tolerance for the whole run.

use std::{
    hint::black_box,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use hmac::{KeyInit as _, Mac as _};
use http::{HeaderMap, HeaderValue};
use webhook_core::{
    Scheme, Secret, Verifier,
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

const SIZES: [(usize, &str); 5] = [
    (256, "256B"),
    (1024, "1KiB"),
    (4 * 1024, "4KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

const SECRET: &str = "bench-secret-for-verification";
/// A Standard Webhooks secret (`whsec_` + base64 of 24 bytes), as Svix issues them.
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MESSAGE_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

#[path = "support/interleave.rs"]
mod interleave;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A JSON-looking body of exactly `len` bytes (content does not matter to a MAC, but
/// realistic bytes keep UTF-8 checks honest for svix).
fn body(len: usize) -> Vec<u8> {
    let head = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"pad":""#;
    let tail = br#""}}]}"#;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(head);
    while out.len() + tail.len() < len {
        out.push(b'a' + (out.len() % 26) as u8);
    }
    out.extend_from_slice(tail);
    out.truncate(len);
    out
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// One scheme's prepared request: verifier plus the headers the sender would send.
struct Case {
    name: &'static str,
    verifier: Verifier,
    headers: HeaderMap,
}

fn cases(body: &[u8]) -> Vec<Case> {
    let secret = || Secret::new(SECRET);
    let verifier = |scheme, secret| {
        Verifier::builder(scheme)
            .secret(secret)
            // Every scheme at every size, above the one-event senders' own limits.
            .max_body_bytes(1 << 20)
            .build()
            .expect("verifier")
    };
    let whsec = || Secret::standard_webhooks(WHSEC).expect("whsec secret");
    let timestamp = now_seconds();
    vec![
        Case {
            name: "stalwart",
            verifier: verifier(Scheme::Stalwart, secret()),
            headers: headers(&[("x-signature", stalwart::sign(&secret(), body))]),
        },
        Case {
            name: "email_api",
            verifier: verifier(Scheme::EmailApi, secret()),
            headers: headers(&[("x-webhook-signature", email_api::sign(&secret(), body))]),
        },
        Case {
            name: "mailtrap",
            verifier: verifier(Scheme::Mailtrap, secret()),
            headers: headers(&[("mailtrap-signature", mailtrap::sign(&secret(), body))]),
        },
        Case {
            name: "standard_webhooks",
            verifier: verifier(Scheme::StandardWebhooks, whsec()),
            headers: headers(&[
                ("webhook-id", MESSAGE_ID.to_owned()),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    standard_webhooks::sign(&whsec(), MESSAGE_ID, timestamp, body),
                ),
            ]),
        },
    ]
}

fn verify(c: &mut Criterion) {
    let key = HmacSha256::new_from_slice(SECRET.as_bytes()).expect("any key length");
    let svix = svix::webhooks::Webhook::new(WHSEC).expect("svix secret");

    for (len, label) in SIZES {
        let body = body(len);
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 64 * 1024 {
            group.sample_size(30);
        }

        group.bench_function("raw_hmac", |b| {
            b.iter(|| {
                let mut mac = key.clone();
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            })
        });

        let cases = cases(&body);
        for case in &cases {
            // A bench that measured a rejection would flatter every number after it.
            case.verifier
                .verify(&case.headers, body.as_slice())
                .unwrap_or_else(|e| panic!("{} must verify: {e}", case.name));
            group.bench_function(BenchmarkId::from_parameter(case.name), |b| {
                b.iter(|| {
                    black_box(
                        case.verifier
                            .verify(black_box(&case.headers), black_box(body.as_slice())),
                    )
                })
            });
        }

        let standard = cases
            .iter()
            .find(|case| case.name == "standard_webhooks")
            .expect("standard case");
        svix.verify(&body, &standard.headers)
            .expect("svix must accept the request hookwise signed");
        group.bench_function("svix", |b| {
            b.iter(|| black_box(svix.verify(black_box(&body), black_box(&standard.headers))))
        });
        group.finish();
    }
}

/// The same cases, interleaved (see `support/interleave.rs`): `RATIOS=1 cargo bench
/// --bench verify`.
fn ratios() {
    let key = HmacSha256::new_from_slice(SECRET.as_bytes()).expect("any key length");
    let svix = svix::webhooks::Webhook::new(WHSEC).expect("svix secret");
    for (len, label) in SIZES {
        let body = body(len);
        let cases = cases(&body);
        let standard = &cases
            .iter()
            .find(|case| case.name == "standard_webhooks")
            .expect("standard case")
            .headers;
        let mut interleaved = vec![interleave::Case::new("raw_hmac", || {
            let mut mac = key.clone();
            mac.update(black_box(&body));
            black_box(mac.finalize().into_bytes());
        })];
        for case in &cases {
            interleaved.push(interleave::Case::new(case.name, || {
                black_box(
                    case.verifier
                        .verify(black_box(&case.headers), black_box(body.as_slice()))
                        .is_ok(),
                );
            }));
        }
        interleaved.push(interleave::Case::new("svix", || {
            black_box(svix.verify(black_box(&body), black_box(standard)).is_ok());
        }));
        let slot = Duration::from_millis(if len >= 64 * 1024 { 60 } else { 5 });
        interleave::run(&format!("verify/{label}"), slot, &mut interleaved);
    }
}

criterion_group!(benches, verify);

fn main() {
    interleave::main(benches, ratios);
}

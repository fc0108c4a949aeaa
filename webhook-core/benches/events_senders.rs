//! Parsing cost of the sender event models, against baselines measured in the same
//! run: `serde_json::Value` (untyped), a `#[derive(Deserialize)]` struct that drops
//! unknown fields (the floor for a typed parse), and the same struct keeping unknown
//! fields with `#[serde(flatten)]` (what the hand-written visitor replaces). Also
//! the event filter's per-event cost.
//!
//! Run: `cargo bench -p webhook-core --bench events_senders`; with `RATIOS=1` the
//! Mailtrap cases run interleaved (`benches/support/interleave.rs`), as ratios to the
//! derive that drops unknown keys, together with the simplest derive that keeps them
//! while borrowing: `#[serde(borrow)] Cow<str>` fields, `&RawValue` for open values and
//! `#[serde(flatten)]` for the rest.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use std::borrow::Cow;

use criterion::{Criterion, Throughput, criterion_group};
use serde::Deserialize;
use serde_json::value::RawValue;
use webhook_core::MediaType;
use webhook_core::events::{BorrowedPayload, ParseContext, Payload};
use webhook_core::filter::{EventFilter, FilterPolicy, MatchMode, Pattern};
use webhook_core::senders::mailtrap::MailtrapBatch;
use webhook_core::senders::wildduck::WildDuckPayload;

/// Mailtrap's worst case: 500 events with custom variables.
fn mailtrap_batch() -> String {
    let kinds = ["delivery", "open", "click", "bounce", "soft bounce", "spam"];
    let events: Vec<String> = (0..500)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            let extra = match kind {
                "open" | "click" => r#","ip":"198.51.100.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#,
                "bounce" | "soft bounce" => r#","response":"550 5.1.1 User unknown","response_code":550,"bounce_category":"badrecipient""#,
                _ => "",
            };
            format!(
                r#"{{"event":"{kind}","timestamp":{ts},"sending_stream":"bulk","category":"newsletter","custom_variables":{{"user_id":{i},"campaign":"spring-{i}","vip":true}},"message_id":"00000000-0000-4000-8000-{i:012}","email":"user{i}@example.com","event_id":"11111111-0000-4000-8000-{i:012}"{extra},"sending_domain_name":"news.example.com"}}"#,
                ts = 1_728_669_700 + i,
            )
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DerivedBatch<'a> {
    #[serde(borrow)]
    events: Vec<DerivedEvent<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DerivedEvent<'a> {
    event: &'a str,
    timestamp: i64,
    event_id: &'a str,
    message_id: &'a str,
    email: &'a str,
    sending_stream: Option<&'a str>,
    sending_domain_name: Option<&'a str>,
    category: Option<&'a str>,
    #[serde(borrow)]
    custom_variables: Option<&'a RawValue>,
    response: Option<&'a str>,
    response_code: Option<u16>,
    bounce_category: Option<&'a str>,
    reason: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    url: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FlattenBatch<'a> {
    #[serde(borrow)]
    events: Vec<FlattenEvent<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FlattenEvent<'a> {
    event: &'a str,
    timestamp: i64,
    event_id: &'a str,
    message_id: &'a str,
    email: &'a str,
    sending_stream: Option<&'a str>,
    sending_domain_name: Option<&'a str>,
    category: Option<&'a str>,
    custom_variables: Option<serde_json::Value>,
    response: Option<&'a str>,
    response_code: Option<u16>,
    bounce_category: Option<&'a str>,
    reason: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    url: Option<&'a str>,
    #[serde(flatten)]
    unknown: HashMap<String, serde_json::Value>,
}

#[path = "../../benches/support/interleave.rs"]
mod interleave;

/// What a plain derive keeping unknown keys would look like at its most borrowing:
/// `Cow` fields borrow, open values stay raw, and `#[serde(flatten)]` keeps the rest
/// (buffered through serde's `Content`; `&RawValue` cannot be flattened, so unknown
/// values become `serde_json::Value`, and their order is lost).
#[derive(Deserialize)]
#[allow(dead_code)]
struct FlattenCowBatch<'a> {
    #[serde(borrow)]
    events: Vec<FlattenCowEvent<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FlattenCowEvent<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    timestamp: i64,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow)]
    email: Cow<'a, str>,
    #[serde(borrow)]
    sending_stream: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sending_domain_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    custom_variables: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<Cow<'a, str>>,
    response_code: Option<u16>,
    #[serde(borrow)]
    bounce_category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(flatten, borrow)]
    unknown: HashMap<Cow<'a, str>, serde_json::Value>,
}

/// The Mailtrap cases, interleaved:
/// `RATIOS=1 cargo bench -p webhook-core --bench events_senders`.
fn ratios() {
    let body = mailtrap_batch();
    let body = body.as_bytes();
    let json = ParseContext::new(MediaType::Json);
    let mut cases = [
        interleave::Case::new("baseline_derive_drops_unknown", || {
            black_box(serde_json::from_slice::<DerivedBatch<'_>>(black_box(body)).unwrap());
        }),
        interleave::Case::new("derive_cow_flatten_keeps_unknown", || {
            black_box(serde_json::from_slice::<FlattenCowBatch<'_>>(black_box(body)).unwrap());
        }),
        interleave::Case::new("derive_owned_flatten_keeps_unknown", || {
            black_box(serde_json::from_slice::<FlattenBatch<'_>>(black_box(body)).unwrap());
        }),
        interleave::Case::new("hookwise_borrowed", || {
            black_box(MailtrapBatch::parse_borrowed(black_box(body), json).unwrap());
        }),
    ];
    interleave::run(
        &format!("mailtrap_500_events ({} bytes)", body.len()),
        Duration::from_millis(5),
        &mut cases,
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn mailtrap(c: &mut Criterion) {
    let body = mailtrap_batch();
    let body = body.as_bytes();
    let json = ParseContext::new(MediaType::Json);
    let mut group = c.benchmark_group("mailtrap_500_events");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).unwrap())
    });
    group.bench_function("baseline_derive_drops_unknown", |b| {
        b.iter(|| serde_json::from_slice::<DerivedBatch<'_>>(black_box(body)).unwrap())
    });
    group.bench_function("baseline_derive_flatten_keeps_unknown", |b| {
        b.iter(|| serde_json::from_slice::<FlattenBatch<'_>>(black_box(body)).unwrap())
    });
    group.bench_function("hookwise_borrowed", |b| {
        b.iter(|| MailtrapBatch::parse_borrowed(black_box(body), json).unwrap())
    });
    group.bench_function("hookwise_owned", |b| {
        b.iter(|| <MailtrapBatch<'static> as Payload>::parse(black_box(body), json).unwrap())
    });
    let parsed = MailtrapBatch::parse_borrowed(body, json).unwrap();
    group.bench_function("hookwise_serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&parsed)).unwrap())
    });
    group.finish();
}

fn wildduck(c: &mut Criterion) {
    let body = br#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"marked.spam","user":"6561f0c2a1b2c3d4e5f60719","mailbox":"6561f0c2a1b2c3d4e5f6071b","message":1234,"from":{"name":"Spammer","address":"spam@example.net"},"to":[{"name":"","address":"jdoe@example.com"}],"messageId":"<abc@example.net>","subject":"Win","date":"2024-01-15T10:30:05.000Z"}"#;
    let json = ParseContext::new(MediaType::Json);
    let mut group = c.benchmark_group("wildduck_one_event");
    group.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).unwrap())
    });
    group.bench_function("hookwise_borrowed", |b| {
        b.iter(|| WildDuckPayload::parse_borrowed(black_box(body), json).unwrap())
    });
    group.finish();
}

fn filter(c: &mut Criterion) {
    let names: Vec<String> = (0..640)
        .map(|i| format!("family{}.event-{i}", i % 40))
        .collect();
    let exact = EventFilter::parse(FilterPolicy::Include, names.iter().step_by(2)).unwrap();
    let wildcards = EventFilter::parse(
        FilterPolicy::Exclude,
        [
            "telemetry.*",
            "*-error",
            "store.*",
            "family3.*",
            "family39.*",
        ],
    )
    .unwrap();
    let compat = EventFilter::include([Pattern::wildduck("address.user.*").unwrap()]);
    let mut group = c.benchmark_group("filter_per_event");
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("baseline_string_eq_scan_320_names", |b| {
        let listed: Vec<&String> = names.iter().step_by(2).collect();
        b.iter(|| {
            names
                .iter()
                .filter(|name| listed.iter().any(|l| l == name))
                .count()
        })
    });
    group.bench_function("include_320_exact_names", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|name| exact.matches(black_box(name)))
                .count()
        })
    });
    group.bench_function("exclude_5_wildcards", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|name| wildcards.matches(black_box(name)))
                .count()
        })
    });
    group.bench_function("wildduck_compat_prefix", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|name| compat.matches_with(black_box(name), MatchMode::WildDuckCompat))
                .count()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = mailtrap, wildduck, filter
}
fn main() {
    interleave::main(benches, ratios);
}

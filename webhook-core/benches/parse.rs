//! Stalwart batch parsing: hookwise's typed borrowed parse beside the baseline of a
//! plain borrowed serde_json struct (`&str` id/createdAt/type, `&RawValue` data) on the
//! same bytes, in the same run, read two ways: `from_slice` on the body (how a serde
//! user parses a request body) and `from_str` after one UTF-8 check of the whole body
//! (how hookwise reads it). The target is ≤ 300 ns per event and ≤ 1.1× the baseline.
//!
//! `cargo bench -p webhook-core --bench parse`; with `RATIOS=1` the same cases run
//! interleaved, for ratios that hold on a machine whose speed drifts.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use serde::Deserialize;
use serde_json::value::RawValue;
use webhook_core::{
    MediaType, ParseContext, events::parse_unverified_borrowed, senders::stalwart::WebhookEvents,
};

#[path = "../../benches/support/interleave.rs"]
mod interleave;

#[derive(Deserialize)]
struct BaselineBatch<'a> {
    #[serde(borrow)]
    events: Vec<BaselineEvent<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BaselineEvent<'a> {
    id: &'a str,
    #[serde(rename = "createdAt")]
    created_at: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// The six events of the spec's three examples (≈ 200–430 bytes each), cycled.
fn spec_events() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stalwart");
    let mut events = Vec::new();
    for n in 1..=3 {
        let body = std::fs::read_to_string(format!("{dir}/example-{n}.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        // Re-read each event's exact bytes from the batch through RawValue.
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            events: Vec<&'a RawValue>,
        }
        let raw: Raw<'_> = serde_json::from_str(&body).unwrap();
        assert_eq!(raw.events.len(), value["events"].as_array().unwrap().len());
        events.extend(raw.events.iter().map(|e| e.get().to_owned()));
    }
    events
}

fn batch(events: &[String], n: usize) -> Vec<u8> {
    let picked: Vec<&str> = events.iter().cycle().take(n).map(String::as_str).collect();
    format!(r#"{{"events":[{}]}}"#, picked.join(",")).into_bytes()
}

fn parse(c: &mut Criterion) {
    let events = spec_events();
    let mut group = c.benchmark_group("stalwart_parse");
    for n in [1usize, 10, 1000] {
        let body = batch(&events, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("baseline_serde_struct", n),
            &body,
            |b, body| {
                b.iter(|| {
                    let batch: BaselineBatch<'_> = serde_json::from_slice(black_box(body)).unwrap();
                    black_box(batch.events.len())
                })
            },
        );
        // The same struct parsed the way hookwise reads JSON: one UTF-8 check of the
        // whole body, then `from_str`, which skips serde_json's per-string checks. The
        // stricter of the two baselines: it isolates what the typed model itself costs.
        group.bench_with_input(
            BenchmarkId::new("baseline_serde_struct_from_str", n),
            &body,
            |b, body| {
                b.iter(|| {
                    let text = std::str::from_utf8(black_box(body)).unwrap();
                    let batch: BaselineBatch<'_> = serde_json::from_str(text).unwrap();
                    black_box(batch.events.len())
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("hookwise_borrowed", n),
            &body,
            |b, body| {
                b.iter(|| {
                    let batch: WebhookEvents<'_> = parse_unverified_borrowed(
                        black_box(body),
                        ParseContext::new(MediaType::Json),
                    )
                    .unwrap();
                    black_box(batch.len())
                })
            },
        );
    }
    group.finish();
}

/// The same cases, interleaved (see `benches/support/interleave.rs` at the workspace
/// root): `RATIOS=1 cargo bench -p webhook-core --bench parse`.
fn ratios() {
    let events = spec_events();
    for n in [1usize, 10, 1000] {
        let body = batch(&events, n);
        let mut cases = [
            interleave::Case::new("baseline_serde_struct", || {
                let batch: BaselineBatch<'_> = serde_json::from_slice(black_box(&body)).unwrap();
                black_box(batch.events.len());
            }),
            interleave::Case::new("baseline_serde_struct_from_str", || {
                let text = std::str::from_utf8(black_box(&body)).unwrap();
                let batch: BaselineBatch<'_> = serde_json::from_str(text).unwrap();
                black_box(batch.events.len());
            }),
            interleave::Case::new("hookwise_borrowed", || {
                let batch: WebhookEvents<'_> =
                    parse_unverified_borrowed(black_box(&body), ParseContext::new(MediaType::Json))
                        .unwrap();
                black_box(batch.len());
            }),
        ];
        interleave::run(
            &format!("stalwart_parse/{n} events ({} bytes)", body.len()),
            std::time::Duration::from_millis(5),
            &mut cases,
        );
    }
}

criterion_group!(benches, parse);

fn main() {
    interleave::main(benches, ratios);
}

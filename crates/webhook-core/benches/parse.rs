//! Stalwart batch parsing: hookwise's typed borrowed parse beside the baseline of a
//! plain borrowed serde_json struct (`&str` id/createdAt/type, `&RawValue` data) on the
//! same bytes, in the same run. The target is ≤ 300 ns per event and ≤ 1.1× the
//! baseline.
//!
//! `cargo bench -p webhook-core --bench parse`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::value::RawValue;
use webhook_core::{
    MediaType, ParseContext,
    events::{parse_unverified_borrowed, stalwart::WebhookEvents},
};

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

criterion_group!(benches, parse);
criterion_main!(benches);

//! Ratios measured by interleaving, for machines whose speed drifts.
//!
//! Criterion measures one benchmark after another, so on a shared or virtual machine a
//! ratio between two of them also measures how the machine's speed moved in between
//! (runs of the same code here differ by up to ±40 %). This harness instead runs every
//! case in turn for a few milliseconds, round after round, so the baseline and the cases
//! compared with it share each round's conditions. Per case it reports the fastest
//! round's time per iteration, the median over rounds of the per-round ratio to the
//! first case (the baseline), and the ratio of the fastest rounds.
//!
//! Each bench that uses it runs it instead of criterion when `RATIOS=1` is set, e.g.
//! `RATIOS=1 cargo bench --bench verify`.

use std::time::{Duration, Instant};

/// A named case: runs its operation `n` times.
pub(crate) struct Case<'a> {
    pub(crate) name: String,
    pub(crate) run: Box<dyn FnMut(u64) + 'a>,
}

impl<'a> Case<'a> {
    pub(crate) fn new(name: impl Into<String>, mut op: impl FnMut() + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(move |n| {
                for _ in 0..n {
                    op();
                }
            }),
        }
    }
}

/// A bench's `main`: the interleaved `ratios` when `RATIOS=1` is set, otherwise the
/// criterion group `benches` as `criterion_main!` would run it.
pub(crate) fn main(benches: fn(), ratios: fn()) {
    if std::env::var_os("RATIOS").is_some_and(|v| v != "0") {
        ratios();
    } else {
        benches();
        criterion::Criterion::default()
            .configure_from_args()
            .final_summary();
    }
}

/// The rounds to run: `RATIOS_ROUNDS`, 30 by default.
fn rounds() -> usize {
    std::env::var("RATIOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// Runs `cases` (the first is the baseline) interleaved and prints one table.
pub(crate) fn run(title: &str, slot: Duration, cases: &mut [Case<'_>]) {
    // Iterations per slot, from the slowest case, so that no slot runs much past
    // `slot` and every case gets the same count.
    let mut iters = u64::MAX;
    for case in cases.iter_mut() {
        (case.run)(1);
        let mut n = 1;
        loop {
            let started = Instant::now();
            (case.run)(n);
            if started.elapsed() >= slot / 4 || n >= 1 << 30 {
                let per = started.elapsed().as_secs_f64() / n as f64;
                iters = iters.min(((slot.as_secs_f64() / per) as u64).max(1));
                break;
            }
            n *= 2;
        }
    }
    let rounds = rounds();
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (case, out) in cases.iter_mut().zip(&mut times) {
            let started = Instant::now();
            (case.run)(iters);
            out.push(started.elapsed().as_secs_f64() * 1e9 / iters as f64);
        }
    }
    println!("\n{title} ({rounds} rounds of {iters} iterations per case)");
    println!(
        "{:<34} {:>12} {:>14} {:>14}",
        "case", "fastest", "median ratio", "fastest ratio"
    );
    let base = &times[0];
    let base_min = min(base);
    for (case, t) in cases.iter().zip(&times) {
        let mut ratios: Vec<f64> = t.iter().zip(base).map(|(a, b)| a / b).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{:<34} {:>12} {:>13.3}× {:>13.3}×",
            case.name,
            format_ns(min(t)),
            ratios[ratios.len() / 2],
            min(t) / base_min
        );
    }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn format_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

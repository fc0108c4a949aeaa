//! `webhook send`: signed sample events (or a body file) through the reference sender,
//! with a progress bar for long runs and the delivery log at the end.

use std::{io::IsTerminal as _, process::ExitCode, sync::Arc, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;
use webhook_core::Scheme;
use webhook_sender::{
    DeliveryPolicy, Endpoint, Format, Message, Record, Sender, SenderBuilder, Stats, Status,
};

use crate::{
    cli::SendArgs,
    error::{CliError, read_file},
    senders,
};

/// How many log records are printed one per line; longer runs get a summary.
const LOG_LINES: usize = 20;

pub(crate) fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let scheme = args.scheme;
    let sender = senders::of(scheme);
    let run = SendRun {
        endpoint: endpoint(scheme, &args)?,
        policy: DeliveryPolicy::for_scheme(scheme)
            .with_timeout(Some(Duration::from_secs_f64(args.timeout.max(0.001)))),
        event: args
            .event
            .clone()
            .unwrap_or_else(|| sender.default_event().to_owned()),
        count: args.count,
        rate: args.rate,
        wait: Duration::from_secs_f64(args.wait.max(0.0)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stats = match &args.file {
        Some(path) => {
            let body = read_file(path)?;
            messages(&runtime, run, move |_, _| Message::json(body.clone()))
        }
        None => sender.send(&runtime, run),
    }?;
    Ok(if stats.delivered == stats.submitted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What `send` sends, and how.
pub(crate) struct SendRun {
    pub(crate) endpoint: Endpoint,
    pub(crate) policy: DeliveryPolicy,
    /// The event type of the samples.
    pub(crate) event: String,
    pub(crate) count: u64,
    /// Events per second (`None`: as fast as the sender's batching allows).
    pub(crate) rate: Option<f64>,
    /// How long to keep retrying before reporting what was not delivered.
    pub(crate) wait: Duration,
}

fn endpoint(scheme: Scheme, args: &SendArgs) -> Result<Endpoint, CliError> {
    let endpoint = Endpoint::new(scheme, &args.url)?;
    if !scheme.signs() {
        // WildDuck signs nothing: credentials travel in the URL (`user:pass@`).
        return Ok(endpoint);
    }
    let text = args.secret.source().load_text()?.ok_or_else(|| {
        CliError::Usage("give the secret with --secret, --secret-env or --secret-file".into())
    })?;
    Ok(endpoint.secret(scheme.secret_from(text.as_bytes())?)?)
}

/// Sends `run.count` JSON bodies made by `body(event, n)`, one per request, each
/// labelled with its event type and number in the log.
pub(crate) fn one_per_request(
    runtime: &Runtime,
    run: SendRun,
    body: impl Fn(&str, u64) -> Vec<u8> + Send + 'static,
) -> Result<Stats, CliError> {
    messages(runtime, run, move |event, n| {
        Message::json(body(event, n)).with_label(format!("{event} #{n}"))
    })
}

/// Sends `run.count` messages made by `message(event, n)`, one per request.
fn messages(
    runtime: &Runtime,
    run: SendRun,
    message: impl Fn(&str, u64) -> Message + Send + 'static,
) -> Result<Stats, CliError> {
    run.deliver(runtime, Sender::messages, message)
}

impl SendRun {
    /// Sends `count` items made by `item(event, n)` through the sender `start` makes
    /// for the endpoint, under the run's policy.
    pub(crate) fn deliver<F: Format>(
        self,
        runtime: &Runtime,
        start: impl FnOnce(Endpoint) -> SenderBuilder<F>,
        item: impl Fn(&str, u64) -> F::Item + Send + 'static,
    ) -> Result<Stats, CliError> {
        let Self {
            endpoint,
            policy,
            event,
            count,
            rate,
            wait,
        } = self;
        let items = (0..count).map(move |n| item(&event, n));
        runtime.block_on(drive(
            start(endpoint).policy(policy),
            items,
            count,
            rate,
            wait,
        ))
    }
}

/// The compact JSON of a sample (webhook-core's models serialize infallibly: strings,
/// numbers and raw JSON only).
pub(crate) fn json<T: serde::Serialize + ?Sized>(sample: &T) -> Vec<u8> {
    serde_json::to_vec(sample).unwrap_or_default()
}

async fn drive<F: Format>(
    builder: SenderBuilder<F>,
    items: impl Iterator<Item = F::Item>,
    count: u64,
    rate: Option<f64>,
    wait: Duration,
) -> Result<Stats, CliError> {
    let progress = (count > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(count);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} delivered {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Arc::new(bar)
    });
    let callback = progress.clone();
    let sender = builder
        .on_outcome(move |_, stats| {
            if let Some(bar) = &callback {
                bar.set_position(stats.delivered);
                let failed = stats.gave_up + stats.discarded + stats.abandoned;
                if failed > 0 {
                    bar.set_message(format!("({failed} failed)"));
                }
            }
        })
        .build()?;
    match rate {
        Some(rate) => {
            sender
                .send_paced(items, rate)
                .await
                .map_err(|err| CliError::Usage(err.to_string()))?;
        }
        None => {
            for item in items {
                sender
                    .send(item)
                    .map_err(|err| CliError::Usage(err.to_string()))?;
            }
        }
    }
    let log = sender.log().clone();
    // Items still pending at the deadline are abandoned and reported as such.
    let stats = sender.close_within(wait).await;
    let records = log.records();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    print_log(&records, &stats);
    Ok(stats)
}

fn print_log(records: &[Record], stats: &Stats) {
    let shown = if records.len() <= LOG_LINES {
        records.len()
    } else {
        LOG_LINES / 2
    };
    for record in records.iter().take(shown) {
        let attempts: Vec<String> = record
            .attempts
            .iter()
            .map(|a| {
                let result = match (a.status, &a.error) {
                    (Some(status), _) => status.as_u16().to_string(),
                    (None, Some(error)) => error.clone(),
                    (None, None) => "-".into(),
                };
                format!("#{} {result} {} ms", a.number, a.latency.as_millis())
            })
            .collect();
        // A long retry run shows its first and last attempts.
        let attempts = if attempts.len() > 6 {
            let skipped = attempts.len() - 4;
            [
                &attempts[..2],
                &[format!("… {skipped} more …")],
                &attempts[attempts.len() - 2..],
            ]
            .concat()
        } else {
            attempts
        };
        println!(
            "{:<9} {:<28} {}",
            status_word(record.status),
            record.label,
            attempts.join(", ")
        );
    }
    if records.len() > shown {
        println!("… {} more records", records.len() - shown);
    }
    println!(
        "{} submitted, {} delivered, {} gave up, {} discarded, {} dropped; {} requests ({} failed)",
        stats.submitted,
        stats.delivered,
        stats.gave_up,
        stats.discarded,
        stats.dropped,
        stats.requests,
        stats.failed_requests
    );
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Delivered => "delivered",
        Status::GaveUp => "gave up",
        Status::Discarded => "discarded",
        Status::Abandoned => "abandoned",
        _ => "other",
    }
}

//! `webhook send`: signed sample events (or a body file) through the reference sender,
//! with a progress bar for long runs and the delivery log at the end.

use std::{io::IsTerminal as _, process::ExitCode, sync::Arc, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use webhook_core::Scheme;
use webhook_sender::{
    DeliveryPolicy, Endpoint, Format, Message, Record, Sender, SenderBuilder, Stats, Status,
};

use crate::{
    cli::SendArgs,
    error::{CliError, read_file},
    samples,
};

/// How many log records are printed one per line; longer runs get a summary.
const LOG_LINES: usize = 20;

pub(crate) fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let scheme = Scheme::from(args.scheme);
    let endpoint = endpoint(scheme, &args)?;
    let policy = DeliveryPolicy::for_scheme(scheme)
        .with_timeout(Some(Duration::from_secs_f64(args.timeout.max(0.001))));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let count = args.count;
    let wait = Duration::from_secs_f64(args.wait.max(0.0));
    let event = args
        .event
        .clone()
        .unwrap_or_else(|| samples::default_event(scheme).to_owned());
    let stats = runtime.block_on(async {
        if let Some(path) = &args.file {
            let body = read_file(path)?;
            let sender = Sender::messages(endpoint).policy(policy);
            let items = (0..count).map(move |_| Message::json(body.clone()));
            drive(sender, items, count, args.rate, wait).await
        } else if scheme == Scheme::Stalwart {
            let sender = Sender::stalwart(endpoint).policy(policy);
            let items = (0..count).map(move |n| samples::stalwart(&event, n));
            drive(sender, items, count, args.rate, wait).await
        } else {
            let sender = Sender::messages(endpoint).policy(policy);
            let items = (0..count).map(move |n| sample_message(scheme, &event, n));
            drive(sender, items, count, args.rate, wait).await
        }
    })?;
    Ok(if stats.delivered == stats.submitted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn endpoint(scheme: Scheme, args: &SendArgs) -> Result<Endpoint, CliError> {
    let endpoint = Endpoint::new(scheme, &args.url)?;
    let source = args.secret.source();
    let missing =
        || CliError::Usage("give the secret with --secret, --secret-env or --secret-file".into());
    Ok(match scheme {
        // WildDuck signs nothing: credentials travel in the URL (`user:pass@`).
        Scheme::WildDuck => endpoint,
        Scheme::StandardWebhooks => {
            endpoint.secret(source.load_standard_webhooks()?.ok_or_else(missing)?)?
        }
        _ => endpoint.secret(source.load()?.ok_or_else(missing)?)?,
    })
}

/// A sample body for the senders that send one event per request.
fn sample_message(scheme: Scheme, event: &str, n: u64) -> Message {
    let body = match scheme {
        Scheme::EmailApi => serde_json::to_vec(&samples::email_api(event, n)),
        Scheme::Mailtrap => {
            serde_json::to_vec(&samples::mailtrap_batch(vec![samples::mailtrap_event(
                event, n,
            )]))
        }
        Scheme::WildDuck => serde_json::to_vec(&samples::wildduck(event, n)),
        _ => serde_json::to_vec(&samples::standard(event, n)),
    };
    // The models serialize infallibly (strings, numbers and raw JSON only).
    Message::json(body.unwrap_or_default()).with_label(format!("{event} #{n}"))
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

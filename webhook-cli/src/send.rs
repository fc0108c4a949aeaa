//! `webhook send`: signed sample events (or a body file) through the reference sender,
//! with a progress bar for long runs and the delivery log at the end.

use std::{io::IsTerminal as _, process::ExitCode, sync::Arc, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;
use webhook_core::Scheme;
use webhook_sender::{
    Attempt, DeliveryPolicy, Endpoint, Format, Message, ReceiverProblem, Record, RetryOn, Sender,
    SenderBuilder, Stats, Status,
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
    let policy = DeliveryPolicy::for_scheme(scheme)
        .with_timeout(Some(Duration::from_secs_f64(args.timeout.max(0.001))));
    let policy = if args.give_up_on_4xx {
        policy.with_retry_on(RetryOn::Transient)
    } else {
        policy
    };
    let rule = Rule {
        sender: scheme,
        text: policy.retry_rule(),
        own: !args.give_up_on_4xx,
    };
    let run = SendRun {
        endpoint: endpoint(scheme, &args)?,
        policy,
        rule,
        id: args.id.clone(),
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
    let stats = match &args.body {
        Some(path) => {
            let body = read_file(path)?;
            let id = match (&args.id, scheme.stamps_message_id()) {
                (Some(_), false) => {
                    return Err(senders::no_id(
                        scheme,
                        "with --body the event id is the one in your file",
                    ));
                }
                (id, _) => id.clone(),
            };
            messages(&runtime, run, move |_, _| {
                let message = Message::json(body.clone());
                match &id {
                    Some(id) => message.with_id(id.clone()),
                    None => message,
                }
            })
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
    /// The retry rule the policy follows, for the report.
    pub(crate) rule: Rule,
    /// The event id every sample carries (`--id`); `None`: fresh ids.
    pub(crate) id: Option<String>,
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
    let text = args.secret.source()?.load_text()?.ok_or_else(|| {
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

/// Which retry rule a run follows, said in the report.
pub(crate) struct Rule {
    sender: Scheme,
    text: String,
    /// The sender's own rule (not `--give-up-on-4xx`).
    own: bool,
}

/// Sends `run.count` messages made by `message(event, n)`, one per request.
pub(crate) fn messages(
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
            rule,
            id: _,
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
            rule,
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
    rule: Rule,
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
    print_log(&records, &stats, &rule);
    Ok(stats)
}

fn print_log(records: &[Record], stats: &Stats, rule: &Rule) {
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
                    (Some(status), _) => match answer_code(a) {
                        Some(code) => format!("{} {code}", status.as_u16()),
                        None => status.as_u16().to_string(),
                    },
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
        // What the receiver said about its last refusal.
        if let Some(said) = record.attempts.iter().rev().find_map(receiver_said) {
            println!("          receiver said: {said}");
        }
    }
    if records.len() > shown {
        println!("… {} more records", records.len() - shown);
    }
    let refused = records
        .iter()
        .flat_map(|r| &r.attempts)
        .filter(|a| a.error.is_some());
    let permanent = refused
        .clone()
        .filter_map(|a| a.status)
        .find(|s| s.is_client_error() && ![408, 425, 429].contains(&s.as_u16()));
    if refused.count() > 0 {
        if rule.own {
            println!("retry rule ({}'s own): {}", rule.sender, rule.text);
            if let Some(status) = permanent {
                println!(
                    "  the receiver answered {}: resending the same request gets the same \
                     answer until it changes; --give-up-on-4xx stops at the first",
                    status.as_u16()
                );
            }
        } else {
            println!("retry rule (--give-up-on-4xx): {}", rule.text);
        }
    }
    println!(
        "{} submitted, {} delivered, {} gave up, {} abandoned, {} discarded, {} dropped; \
         {} requests ({} failed)",
        stats.submitted,
        stats.delivered,
        stats.gave_up,
        stats.abandoned,
        stats.discarded,
        stats.dropped,
        stats.requests,
        stats.failed_requests
    );
    if stats.abandoned > 0 {
        println!(
            "  abandoned: still being retried when --wait ran out (the sender itself would \
             keep trying)"
        );
    }
}

/// The receiver's problem code in a failed attempt's answer.
fn answer_code(attempt: &Attempt) -> Option<String> {
    ReceiverProblem::parse(attempt.answer.as_deref()?)?.code
}

/// "401 signature_mismatch: …" for an attempt the receiver refused with a body.
fn receiver_said(attempt: &Attempt) -> Option<String> {
    let status = attempt.status?;
    let answer = attempt.answer.as_deref()?;
    let said = match ReceiverProblem::parse(answer) {
        Some(problem) => problem.to_string(),
        None => {
            let text = String::from_utf8_lossy(answer);
            let line: String = text.trim().chars().take(200).collect();
            line.replace(['\r', '\n'], " ")
        }
    };
    (!said.is_empty()).then(|| format!("{} {said}", status.as_u16()))
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

//! The workers `listen --inbox` runs beside its server: they claim the stored events
//! and print or forward each, retrying by the flags' policy, and stop gracefully.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use webhook_inbox::{Job, Outcome, RetryPolicy, WorkerPool};

use crate::{
    error::CliError,
    inbox::{args::ListenInboxArgs, forward::Forwarder, intake::Intake, print::printer},
    receiver::Receiver,
};

/// The longest a shutdown waits for running handlers before giving their events back
/// (they run again on the next start).
const MAX_GRACE: Duration = Duration::from_secs(10);

/// A running worker pool.
pub(crate) struct Workers {
    pool: WorkerPool,
    grace: Duration,
    json: bool,
}

/// The retry policy the flags give: `--retry-min` doubling to `--retry-max`,
/// `--max-attempts`, the library's jitter and maximum age.
pub(crate) fn retry_policy(args: &ListenInboxArgs) -> RetryPolicy {
    RetryPolicy {
        base: args.retry_min,
        max_delay: args.retry_max.max(args.retry_min),
        max_attempts: args.max_attempts,
        ..RetryPolicy::default()
    }
}

type Handled = Pin<Box<dyn Future<Output = Outcome> + Send>>;

impl Workers {
    /// Starts the pool on the current runtime: it forwards each event to
    /// `--forward-to`, or prints it.
    pub(crate) fn start(
        intake: &Intake,
        args: &ListenInboxArgs,
        receiver: Arc<Receiver>,
    ) -> Result<Self, CliError> {
        let json = receiver.json;
        let setup = args.worker_setup(&intake.route);
        let (pool, grace) = match &args.forward_to {
            Some(url) => {
                let forwarder = Arc::new(Forwarder::new(url, args, json)?);
                let pool = intake
                    .inbox
                    .spawn_workers(&setup, move |job: Job| -> Handled {
                        Box::pin(Arc::clone(&forwarder).forward(job))
                    });
                (pool, args.forward_timeout.min(MAX_GRACE))
            }
            None => (
                intake.inbox.spawn_workers(&setup, printer(receiver)),
                Duration::from_secs(1),
            ),
        };
        if !json {
            let target = match &args.forward_to {
                Some(url) => format!("forward each event to {url}"),
                None => "print each event".to_owned(),
            };
            println!(
                "durable inbox: deliveries stored in {} (route `{}`) before the answer; {} workers {target}, retrying up to {} attempts",
                args.inbox
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), ToString::to_string),
                intake.route.name(),
                args.workers,
                args.max_attempts,
            );
        }
        Ok(Self { pool, grace, json })
    }

    /// Stops claiming, lets running handlers finish within the grace period, gives the
    /// rest back; says what happened on stderr (stdout carries the events).
    pub(crate) async fn stop(self) {
        let report = self.pool.shutdown(self.grace).await;
        if !self.json || report.released > 0 {
            eprintln!(
                "inbox workers stopped: {} running handler(s) finished, {} event(s) given back \
                 for the next start",
                report.finished, report.released
            );
        }
    }
}

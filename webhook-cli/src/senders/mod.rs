//! Each sender as the `webhook` tool knows it, one file each, named as in
//! webhook-core's [`senders`](webhook_core::senders): the realistic sample events
//! `send` and `demo` make, and how `listen` and `demo` summarize its verified events.
//!
//! Every sample body is built from webhook-core's own models and serialized by them, so
//! it is byte-for-byte what the real sender writes (compact JSON, the sender's key
//! order); only the values are invented. `n` varies ids, addresses and times so that a
//! run of many events is many distinct events.
//!
//! [`of`] is the one place in the tool that branches on the sender; a new sender adds
//! its file here and its arm there.

pub(crate) mod email_api;
pub(crate) mod mailtrap;
pub(crate) mod stalwart;
pub(crate) mod standard_webhooks;
pub(crate) mod wildduck;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use tokio::runtime::Runtime;
use webhook_core::{ParseError, Scheme, Verified, stored::StoredEvent};
use webhook_sender::Stats;

use crate::{error::CliError, render::Summary, send::SendRun};

/// What the tool does differently for one sender.
pub(crate) trait CliSender: Sync {
    /// The event type `send` uses when none is given.
    fn default_event(&self) -> &'static str;

    /// Sends `run`'s sample events through the reference sender, with this sender's
    /// format and batching.
    fn send(&self, runtime: &Runtime, run: SendRun) -> Result<Stats, CliError>;

    /// The events of a verified body, parsed with the sender's typed model.
    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError>;

    /// One event read back from the inbox, parsed with the sender's per-event model.
    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError>;
}

/// The tool's knowledge of `scheme`'s sender.
pub(crate) fn of(scheme: Scheme) -> &'static dyn CliSender {
    match scheme {
        Scheme::Stalwart => &stalwart::Stalwart,
        Scheme::EmailApi => &email_api::EmailApi,
        Scheme::Mailtrap => &mailtrap::Mailtrap,
        Scheme::StandardWebhooks => &standard_webhooks::StandardWebhooks,
        Scheme::WildDuck => &wildduck::WildDuck,
        _ => &Unlisted,
    }
}

/// This run's random number: every id a sample carries mixes it in, so two runs of
/// `webhook send` never send the same event ids (a deduplicating receiver would skip
/// the second run's events as already processed), while one run's ids stay consistent.
pub(crate) fn run_nonce() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        // The standard library seeds each `RandomState` from the OS's randomness.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(u64::from(std::process::id()));
        hasher.finish()
    })
}

/// A version-4-shaped UUID for sample `n` of this run.
pub(crate) fn run_uuid(salt: u16, n: u64) -> String {
    let nonce = run_nonce();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{n:012x}",
        nonce >> 32,
        (nonce >> 16) as u16,
        (nonce & 0xfff) as u16,
        0x8000 | (salt & 0x3fff),
    )
}

/// The error `send --id` gets from a sender whose events carry no id of their own.
pub(crate) fn no_id(scheme: Scheme, why: &str) -> CliError {
    CliError::Usage(format!("--id cannot apply to {scheme}: {why}"))
}

/// A sample event's time: `n` seconds (modulo an hour) before now.
pub(crate) fn at(n: u64) -> DateTime<Utc> {
    Utc::now() - Duration::seconds(i64::try_from(n % 3600).unwrap_or(0))
}

/// [`at`] in whole seconds, for the senders that write no fraction.
pub(crate) fn at_whole_seconds(n: u64) -> DateTime<Utc> {
    let at = at(n);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// A sender webhook-core knows and this tool does not yet (`Scheme` grows without
/// breaking): its events are shown as plain JSON, and `send` has no samples for it.
struct Unlisted;

impl CliSender for Unlisted {
    fn default_event(&self) -> &'static str {
        "event"
    }

    fn send(&self, _runtime: &Runtime, run: SendRun) -> Result<Stats, CliError> {
        Err(CliError::Usage(format!(
            "`webhook send` has no sample events for {} yet: send a body with --body",
            run.endpoint.scheme()
        )))
    }

    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
        let json =
            serde_json::from_slice(verified.body()).map_err(|err| ParseError::InvalidJson {
                line: err.line(),
                column: err.column(),
                detail: err.to_string(),
            })?;
        Ok(vec![Summary {
            time: None,
            kind: "event".into(),
            id: verified.verification().message_id().map(str::to_owned),
            json,
        }])
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        let json =
            serde_json::from_slice(event.bytes()).map_err(|err| ParseError::InvalidJson {
                line: err.line(),
                column: err.column(),
                detail: err.to_string(),
            })?;
        Ok(Summary {
            time: None,
            kind: "event".into(),
            id: event.context().message_id.map(str::to_owned),
            json,
        })
    }
}

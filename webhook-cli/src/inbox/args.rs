//! The inbox's command-line arguments: the flags `listen --inbox` adds, and the
//! `webhook inbox` subcommands.

use std::{fmt, path::PathBuf, time::Duration};

use clap::{Args, Subcommand};
use webhook_core::{Scheme, SecretSource};
use webhook_inbox::EventState;

use crate::{cli::SchemeParser, inbox::age::parse_age};

/// What `webhook listen` does with `--inbox`: accept into the file, then run each event
/// (print it, or forward it).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Durable inbox")]
pub(crate) struct ListenInboxArgs {
    /// Store each verified delivery in this inbox and answer the sender once it is
    /// committed: a SQLite file (created if missing), or a PostgreSQL database
    /// (`postgres://USER@HOST/DB`, shared by several `listen` replicas). Workers in this
    /// process then print or forward each event, retrying until it succeeds.
    /// Duplicates are recognised by the inbox.
    #[arg(long, value_name = "PATH|URL", value_parser = Location::parse, conflicts_with = "no_dedup")]
    pub(crate) inbox: Option<Location>,
    /// The route deliveries are stored under (the deduplication namespace; default: the
    /// scheme's id).
    #[arg(long, value_name = "NAME", requires = "inbox")]
    pub(crate) route: Option<String>,
    /// POST each event to this URL (its exact bytes, `content-type: application/json`,
    /// Standard Webhooks headers with `webhook-id` = the event's dedup key); a 2xx marks
    /// it done, anything else or a timeout retries it. Default: print each event.
    #[arg(long, value_name = "URL", requires = "inbox")]
    pub(crate) forward_to: Option<String>,
    /// Sign forwarded events with this Standard Webhooks secret (`whsec_…`): adds
    /// `webhook-signature`. Other local users can read it in `ps` output: prefer `--forward-secret-env`
    /// or `--forward-secret-file`.
    #[arg(long, value_name = "SECRET", requires = "forward_to", conflicts_with_all = ["forward_secret_env", "forward_secret_file"])]
    pub(crate) forward_secret: Option<String>,
    /// Read the forwarding secret from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        requires = "forward_to",
        conflicts_with = "forward_secret_file"
    )]
    pub(crate) forward_secret_env: Option<String>,
    /// Read the forwarding secret from this file (one trailing newline removed).
    #[arg(long, value_name = "PATH", requires = "forward_to")]
    pub(crate) forward_secret_file: Option<PathBuf>,
    /// How long a forwarded event may take to be answered before it is retried.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub(crate) forward_timeout: Duration,
    /// Attempts before an event is dead (kept, for `webhook inbox redrive`).
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_attempts: u32,
    /// The first retry's delay; each next one doubles, up to `--retry-max` (plus up to
    /// 20 % jitter).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub(crate) retry_min: Duration,
    /// The longest delay between two attempts.
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = parse_seconds)]
    pub(crate) retry_max: Duration,
    /// Events handled at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) workers: u16,
    /// How long a claim on an event lasts without a heartbeat; after a crash, its
    /// events run again once their lease has run out.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub(crate) lease: Duration,
    /// Cap the inbox file's size (SQLite only): past it, deliveries are answered 503
    /// with `Retry-After`, as on a full disk (default: no cap).
    #[arg(long, value_name = "BYTES", requires = "inbox")]
    pub(crate) inbox_max_bytes: Option<u64>,
}

impl ListenInboxArgs {
    pub(crate) fn forward_secret(&self) -> SecretSource {
        match (
            &self.forward_secret,
            &self.forward_secret_env,
            &self.forward_secret_file,
        ) {
            (Some(text), _, _) => SecretSource::value(text.clone()),
            (_, Some(var), _) => SecretSource::env(var.clone()),
            (_, _, Some(path)) => SecretSource::file(path.clone()),
            _ => SecretSource::None,
        }
    }
}

/// Where an inbox lives: a SQLite file, or a PostgreSQL database.
#[derive(Clone)]
pub(crate) enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (it may hold a password: see `Display`).
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL is a database; anything else a file path.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("expected a file path or a postgres:// URL".into());
        }
        let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        Ok(match scheme.as_deref() {
            Some("postgres" | "postgresql") => Self::Postgres(text.to_owned()),
            _ => Self::Sqlite(PathBuf::from(text)),
        })
    }
}

/// The path, or the URL without its password (it ends up in messages and errors).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `url` with the password of its user-info part replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// Parses a positive number of seconds (`0.5`, `30`).
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 1e9 {
        return Err(format!("`{text}`: expected a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `webhook inbox`: look into an inbox (a SQLite file or a PostgreSQL database) and act on its
/// events.
#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    #[command(subcommand)]
    pub(crate) command: InboxCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InboxCommand {
    /// Count events by state, and deliveries.
    Stats(Common),
    /// List events, newest first.
    List(ListArgs),
    /// Show one event: its exact bytes, its delivery's headers, every attempt.
    Show(ShowArgs),
    /// Make dead events pending again, with a fresh attempt budget.
    Redrive(ActionArgs),
    /// Run done events again from their stored bytes (after fixing a handler).
    Replay(ActionArgs),
    /// Remove done events, old keys and (if asked) dead events past their age.
    Purge(PurgeArgs),
    /// Serve the inspector: a web page listing the inbox's deliveries and events live,
    /// with each event's bytes, headers (secrets masked) and attempts, and buttons to
    /// redrive or replay.
    Serve(crate::inspector::ServeArgs),
}

/// What every `webhook inbox` subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// The inbox (as given to `webhook listen --inbox`): a SQLite file or a
    /// `postgres://` URL.
    #[arg(long, value_name = "PATH|URL", value_parser = Location::parse)]
    pub(crate) inbox: Location,
    /// Print JSON (one object) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Which events: every flag narrows.
#[derive(Debug, Args)]
pub(crate) struct Filter {
    /// Only events in this state (pending, running, retrying, done, dead); repeat for
    /// several.
    #[arg(long, value_name = "STATE")]
    pub(crate) state: Vec<EventState>,
    /// Only events of this route.
    #[arg(long, value_name = "NAME")]
    pub(crate) route: Option<String>,
    /// Only events of this type (exact, as the sender names it).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) event_type: Option<String>,
    /// Only events from this sender.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Option<Scheme>,
    /// Only the events of this delivery.
    #[arg(long, value_name = "ID")]
    pub(crate) delivery: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    #[command(flatten)]
    pub(crate) filter: Filter,
    /// At most this many events (up to 1000).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Only events with ids below this one (the next page: the last id of this one).
    #[arg(long, value_name = "ID")]
    pub(crate) before: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// The event's id.
    pub(crate) id: i64,
}

#[derive(Debug, Args)]
pub(crate) struct ActionArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// One event, by id.
    #[arg(conflicts_with_all = ["all", "route", "event_type", "scheme", "delivery"])]
    pub(crate) id: Option<i64>,
    /// Every event it applies to (dead ones for a redrive, done ones for a replay),
    /// narrowed by the filters below.
    #[arg(long)]
    pub(crate) all: bool,
    /// Only events of this route.
    #[arg(long, value_name = "NAME")]
    pub(crate) route: Option<String>,
    /// Only events of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) event_type: Option<String>,
    /// Only events from this sender.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Option<Scheme>,
    /// Only the events of this delivery.
    #[arg(long, value_name = "ID")]
    pub(crate) delivery: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Remove done events (and deliveries left without events) older than this
    /// (`30s`, `15m`, `12h`, `7d`; `0` for all).
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_age)]
    pub(crate) done_after: Duration,
    /// Forget deduplication keys older than this (keep them longer than any sender
    /// retries).
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_age)]
    pub(crate) keys_after: Duration,
    /// Also remove dead events dead for longer than this (default: keep them).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) dead_after: Option<Duration>,
    /// Also remove quarantined deliveries older than this (default: keep them).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) quarantined_after: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_a_database_and_its_password_is_never_shown() {
        let location =
            Location::parse("postgres://app:s3cret@db:5432/hooks?sslmode=require").expect("parses");
        assert!(matches!(location, Location::Postgres(_)));
        let shown = location.to_string();
        assert_eq!(shown, "postgres://app:***@db:5432/hooks?sslmode=require");
        assert!(!format!("{location:?}").contains("s3cret"));
        assert!(matches!(
            Location::parse("postgresql://db/hooks"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("./postgres.db"),
            Ok(Location::Sqlite(_))
        ));
        assert_eq!(
            Location::parse("postgres://app@db/hooks")
                .unwrap()
                .to_string(),
            "postgres://app@db/hooks"
        );
    }
}

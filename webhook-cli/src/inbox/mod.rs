//! The durable inbox from the command line: webhook-inbox on a SQLite file, or on a
//! PostgreSQL database shared by several `listen` replicas ([`store`]).
//!
//! - `webhook listen … --inbox PATH|URL`: each verified delivery is stored, and the sender
//!   answered 200 only once it is committed and synced ([`intake`]); 503 with
//!   `Retry-After` when the inbox cannot write. Workers in the same process then run
//!   each event ([`workers`]): print it ([`print`](mod@print)) or POST it to `--forward-to`
//!   ([`forward`]), retrying with backoff until it succeeds or runs out of attempts
//!   (then it is dead, kept for `redrive`). Ctrl-C or SIGTERM stops the server, lets
//!   running handlers finish, and gives the rest back for the next start; after a
//!   crash, claimed events run again once their lease expires.
//! - `webhook inbox stats|list|show|redrive|replay|purge --inbox PATH|URL`: look into
//!   the inbox and act on it ([`query`], [`actions`]), as text ([`text`]) or, with `--json`,
//!   as one JSON object whose shape is documented in [`json`].

pub(crate) mod actions;
pub(crate) mod age;
pub(crate) mod args;
pub(crate) mod demo;
pub(crate) mod forward;
pub(crate) mod intake;
pub(crate) mod json;
pub(crate) mod print;
pub(crate) mod query;
pub(crate) mod store;
pub(crate) mod text;
pub(crate) mod workers;

use std::process::ExitCode;

use webhook_core::Scheme;
use webhook_inbox::Route;

pub(crate) use args::{InboxArgs, ListenInboxArgs, Location};
pub(crate) use intake::Intake;
pub(crate) use store::CliInbox;
pub(crate) use workers::Workers;

use crate::error::CliError;
use args::InboxCommand;

/// The intake `listen` stores into, when `--inbox` is given: the inbox opened (created
/// and migrated if needed) with the flags' size cap, and the route.
pub(crate) async fn open_intake(
    args: &ListenInboxArgs,
    scheme: Scheme,
) -> Result<Option<Intake>, CliError> {
    let Some(path) = &args.inbox else {
        return Ok(None);
    };
    let route = match &args.route {
        Some(name) => Route::new(name.clone())
            .map_err(|err| CliError::Usage(format!("--route `{name}`: {err}")))?,
        None => Route::of(scheme),
    };
    let inbox = CliInbox::open(path, args.inbox_max_bytes).await?;
    Ok(Some(Intake { inbox, route }))
}

/// Opens an existing inbox to look into it (a mistyped path is an error, not a new
/// empty inbox; a database is reached at its URL).
pub(crate) async fn open_existing(location: &Location) -> Result<CliInbox, CliError> {
    if let Location::Sqlite(path) = location
        && !path.is_file()
    {
        return Err(CliError::Usage(format!(
            "no inbox at `{location}` (the file `webhook listen --inbox` writes)"
        )));
    }
    CliInbox::open(location, None).await
}

/// Resolves on Ctrl-C or SIGTERM (a service manager's stop).
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `webhook inbox …`.
pub(crate) fn run(args: InboxArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match args.command {
            InboxCommand::Stats(common) => query::stats(common).await,
            InboxCommand::List(list) => query::list(list).await,
            InboxCommand::Show(show) => query::show(show).await,
            InboxCommand::Redrive(action) => actions::redrive(action).await,
            InboxCommand::Replay(action) => actions::replay(action).await,
            InboxCommand::Purge(purge) => actions::purge(purge).await,
            InboxCommand::Serve(serve) => crate::inspector::run_serve(serve).await,
        }
    })
}

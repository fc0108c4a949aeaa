//! The inbox inspector: a web page served beside (or apart from) the receiver that
//! shows what arrived, why it failed, and sends it again.
//!
//! - **List** of events and deliveries, newest first, keyset-paged through the inbox's
//!   query API (never a whole-table load), filtered by state, sender, route, event type
//!   and time, updated live over server-sent events ([`live`]).
//! - **Detail** of an event: exact stored bytes and a pretty view, the delivery's kept
//!   headers with signatures and credentials masked ([`views`]), the sender's scheme,
//!   the dedup key and every attempt.
//! - **Actions** (POST): redrive a dead event, replay a done one, redrive every dead
//!   event matching the filter, behind a CSRF token plus `Origin` and
//!   `Sec-Fetch-Site` checks ([`access`]).
//! - **Chart**: events per minute by state over the last hour ([`chart`]).
//! - **Access**: loopback by default (and then only loopback `Host` names, against DNS
//!   rebinding); any other address requires an access token, exchanged for an HttpOnly
//!   session cookie. The page never receives a secret.
//!
//! Every asset is compiled into the binary (`assets/`): nothing is fetched from
//! elsewhere. It works through the generic [`Inbox`] API, so on any [`Backend`]: `inbox
//! serve` opens a SQLite file or a PostgreSQL database (`postgres://` URL).

mod access;
mod args;
mod chart;
mod filter;
mod live;
mod routes;
mod views;

use std::{future::Future, net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

pub(crate) use access::{Access, AccessToken};
pub(crate) use args::{AccessArgs, ListenUiArgs, ServeArgs};
use webhook_inbox::{Backend, Inbox};

use crate::inbox::CliInbox;

use crate::error::CliError;

/// How long a stop waits for open pages' live streams (which never end by themselves)
/// before the server exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(2);

impl AccessArgs {
    /// The access policy for a server bound to `ip` (loading the token, if any).
    pub(crate) fn access(&self, ip: std::net::IpAddr) -> Result<Access, CliError> {
        let token = self
            .token_source()?
            .load_text()?
            .map(AccessToken::new)
            .transpose()
            .map_err(CliError::Usage)?;
        Access::new(ip, token).map_err(CliError::Usage)
    }
}

/// Serves the inspector for `inbox` on `listener` until `shutdown` resolves (then
/// [`STOP_GRACE`] at most for open pages).
pub(crate) async fn serve<B: Backend>(
    inbox: Inbox<B>,
    listener: tokio::net::TcpListener,
    access: Access,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopped_tx, stopped_rx) = tokio::sync::watch::channel(false);
    let router = routes::router(inbox, Arc::new(access));
    let server = webhook_axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopped_tx.send(true);
    });
    let mut stopped = stopped_rx;
    tokio::select! {
        served = server.into_future() => served,
        _ = async {
            let _ = stopped.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(STOP_GRACE).await;
        } => Ok(()),
    }
}

/// The line a started inspector prints (tests and scripts read the address from it).
pub(crate) fn announce(address: SocketAddr, access: &Access) {
    let how = if access.requires_token() {
        " (open /?token=TOKEN once)"
    } else {
        ""
    };
    println!("inspector on http://{address}/{how} (Ctrl-C to stop)");
}

/// `webhook inbox serve`, on the caller's runtime: the inbox is a SQLite file, or a
/// PostgreSQL database given by its `postgres://` URL.
pub(crate) async fn run_serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    let access = args.access.access(args.host)?;
    let inbox = crate::inbox::open_existing(&args.inbox).await?;
    let listener = tokio::net::TcpListener::bind((args.host, args.port)).await?;
    let stop = crate::inbox::shutdown_signal();
    announce(listener.local_addr()?, &access);
    match inbox {
        CliInbox::Sqlite(inbox) => serve(inbox, listener, access, stop).await?,
        CliInbox::Postgres(inbox) => serve(inbox, listener, access, stop).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `webhook listen --inbox … --ui`: binds the inspector and serves it on a task of the
/// current runtime until `shutdown` resolves. Binding errors are returned at once.
/// With `json`, the address is printed as a JSON line, as `listen --json` prints its own.
pub(crate) async fn beside<B: Backend>(
    inbox: Inbox<B>,
    args: &ListenUiArgs,
    json: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, CliError> {
    let access = args.access.access(args.ui_host)?;
    let listener = tokio::net::TcpListener::bind((args.ui_host, args.ui_port)).await?;
    let address = listener.local_addr()?;
    if json {
        println!(
            "{}",
            serde_json::json!({"status": "inspector", "url": format!("http://{address}/")})
        );
    } else {
        announce(address, &access);
    }
    Ok(tokio::spawn(serve(inbox, listener, access, shutdown)))
}

//! `webhook`: the tool a developer keeps open while wiring up webhooks from mail systems.
//!
//! - `webhook demo`: the end-to-end demo on embedded defaults;
//! - `webhook listen`: a local receiver that verifies, prints typed events and explains
//!   rejections;
//! - `webhook send`: signed sample events through the reference sender;
//! - `webhook sign` / `webhook verify`: sign a body, or verify a captured request and say
//!   which likely mistake explains a failure;
//! - `webhook listen --inbox PATH|URL` and `webhook inbox`: the durable inbox, in a
//!   SQLite file or a PostgreSQL database shared by replicas (store, then print or
//!   forward each event with retries; inspect, redrive, replay, purge; `serve` the
//!   inspector, a web page over it);
//!   `webhook listen --redis URL` shares deduplication between replicas without an inbox.
//!
//! Exit status: 0 success, 1 verification failed (or undelivered events), 2 usage or I/O
//! error.

use std::process::ExitCode;

use clap::Parser as _;

mod capture;
mod cli;
mod dedup;
mod demo;
mod error;
mod inbox;
mod inspector;
mod listen;
mod receiver;
mod refusal;
mod render;
mod save;
mod send;
mod senders;
mod sign;
mod verify;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
        cli::Command::Sign(args) => sign::run(args),
        cli::Command::Verify(args) => verify::run(args),
        cli::Command::Listen(args) => listen::run(args),
        cli::Command::Send(args) => send::run(args),
        cli::Command::Demo(args) => demo::run(args),
        cli::Command::Inbox(args) => inbox::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            anstream::eprintln!(
                "{}error:{} {err}",
                render::ERROR.render(),
                render::ERROR.render_reset()
            );
            ExitCode::from(2)
        }
    }
}

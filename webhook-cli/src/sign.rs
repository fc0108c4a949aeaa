//! `webhook sign`: the headers a sender adds to a body.

use std::{
    io::Read as _,
    process::ExitCode,
    time::{SystemTime, UNIX_EPOCH},
};

use webhook_core::senders::Stamp;

use crate::{
    cli::SignArgs,
    error::{CliError, read_file},
};

pub(crate) fn run(args: SignArgs) -> Result<ExitCode, CliError> {
    let body = match &args.body {
        Some(path) => read_file(path)?,
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(CliError::Stdin)?;
            body
        }
    };
    let scheme = args.scheme;
    if !scheme.signs() {
        return Err(CliError::Usage(format!(
            "{scheme} does not sign its requests: its receivers check Basic credentials or \
             a URL token instead"
        )));
    }
    let text = args.secret.source()?.load_text()?.ok_or_else(|| {
        CliError::Usage("give the secret with --secret, --secret-env or --secret-file".into())
    })?;
    let secret = scheme.secret_from(text.as_bytes())?;
    let id = scheme
        .stamps_message_id()
        .then(|| args.id.clone().unwrap_or_else(fresh_message_id));
    let stamp = id.as_deref().map(|message_id| Stamp {
        message_id,
        timestamp: args.timestamp.unwrap_or_else(unix_now),
    });
    let headers = scheme
        .sign(Some(&secret), &body, stamp)
        .map_err(|err| CliError::Usage(err.to_string()))?;
    for signed in headers {
        if let Some(value) = signed.value {
            println!("{}: {value}", signed.header.display_name());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A message id unique enough for a developer tool: time in nanoseconds, in hex.
fn fresh_message_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("msg_{nanos:x}")
}

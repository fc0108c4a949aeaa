//! `webhook sign`: the headers a sender adds to a body.

use std::{
    io::Read as _,
    process::ExitCode,
    time::{SystemTime, UNIX_EPOCH},
};

use webhook_core::{
    Scheme,
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

use crate::{
    cli::SignArgs,
    error::{CliError, read_file},
};

pub(crate) fn run(args: SignArgs) -> Result<ExitCode, CliError> {
    let body = match &args.file {
        Some(path) => read_file(path)?,
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(CliError::Stdin)?;
            body
        }
    };
    let source = args.secret.source();
    let missing =
        || CliError::Usage("give the secret with --secret, --secret-env or --secret-file".into());
    let scheme = Scheme::from(args.scheme);
    let headers: Vec<(&str, String)> = match scheme {
        Scheme::StandardWebhooks => {
            let secret = source.load_standard_webhooks()?.ok_or_else(missing)?;
            let id = args.id.clone().unwrap_or_else(fresh_message_id);
            let timestamp = args.timestamp.unwrap_or_else(unix_now);
            vec![
                ("webhook-id", id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    standard_webhooks::sign(&secret, &id, timestamp, &body),
                ),
            ]
        }
        Scheme::WildDuck => {
            return Err(CliError::Usage(
                "WildDuck does not sign its requests: its receivers check Basic credentials or \
                 a URL token instead"
                    .into(),
            ));
        }
        _ => {
            let secret = source.load()?.ok_or_else(missing)?;
            match scheme {
                Scheme::EmailApi => vec![("X-Webhook-Signature", email_api::sign(&secret, &body))],
                Scheme::Mailtrap => vec![("Mailtrap-Signature", mailtrap::sign(&secret, &body))],
                _ => vec![("X-Signature", stalwart::sign(&secret, &body))],
            }
        }
    };
    for (name, value) in headers {
        println!("{name}: {value}");
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

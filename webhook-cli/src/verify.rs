//! `webhook verify`: is this captured request valid, and if not, why not.

use std::{
    process::ExitCode,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use webhook_core::diagnose::diagnose;

use crate::{
    capture,
    cli::VerifyArgs,
    error::{CliError, read_file},
    render::ERROR,
};

pub(crate) fn run(args: VerifyArgs) -> Result<ExitCode, CliError> {
    let scheme = args.scheme;
    if !scheme.signs() {
        return Err(CliError::Usage(format!(
            "{scheme} does not sign its requests: there is no signature to verify"
        )));
    }
    let (mut headers, body) = match (&args.request, &args.body) {
        (Some(path), _) => capture::parse_request(path)?,
        (None, Some(path)) => (http::HeaderMap::new(), read_file(path)?),
        (None, None) => {
            return Err(CliError::Usage(
                "give the request with --request FILE, or --body FILE and -H headers".into(),
            ));
        }
    };
    for (name, value) in capture::headers_from_args(&args.headers)? {
        if let Some(name) = name {
            headers.append(name, value);
        }
    }
    let secret = args.secret.source().load_text()?.ok_or_else(|| {
        CliError::Usage("give the secret with --secret, --secret-env or --secret-file".into())
    })?;
    let now = match args.now {
        Some(seconds) if seconds >= 0 => UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs()),
        Some(_) => return Err(CliError::Usage("--now must not be negative".into())),
        None => SystemTime::now(),
    };

    let diagnosis = diagnose(scheme, secret.as_bytes(), &headers, &body, now);
    match &diagnosis.result {
        Ok(()) => {
            anstream::println!(
                "{OK}✔ valid{OK:#}: the {scheme} signature matches the body",
                OK = anstyle::AnsiColor::Green.on_default().bold()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            anstream::println!("{ERROR}✘ invalid{ERROR:#} ({}): {err}", err.code());
            if diagnosis.findings.is_empty() {
                println!(
                    "  No common mistake explains it: the secret is most likely not the one the \
                     sender uses, or the body changed in transit."
                );
            }
            for finding in &diagnosis.findings {
                println!("  → likely: {finding}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

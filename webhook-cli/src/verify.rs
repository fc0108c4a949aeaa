//! `webhook verify`: is this captured request valid, and if not, why not.

use std::{
    process::ExitCode,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use webhook_core::{VerifyError, diagnose::diagnose};

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
        (Some(path), _) => {
            let capture = capture::parse_request(path)?;
            if capture.extra > 0 {
                anstream::eprintln!(
                    "{WARN}warning:{WARN:#} `{}` holds {} more bytes after the body than its \
                     Content-Length ({}) says; verifying the first {} only (a second request \
                     in the capture, or bytes a tool added?)",
                    path.display(),
                    capture.extra,
                    capture.body.len(),
                    capture.body.len(),
                    WARN = anstyle::AnsiColor::Yellow.on_default().bold()
                );
            }
            (capture.headers, capture.body)
        }
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
    let secrets = args.secret.load_all()?;
    if secrets.is_empty() {
        return Err(CliError::Usage(
            "give the secret with --secret, --secret-env or --secret-file (repeat for several)"
                .into(),
        ));
    }
    let now = match args.now {
        Some(seconds) if seconds >= 0 => UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs()),
        Some(_) => return Err(CliError::Usage("--now must not be negative".into())),
        None => SystemTime::now(),
    };

    // Each secret in turn, as a receiver holding several (rotating keys) tries them.
    let diagnoses: Vec<_> = secrets
        .iter()
        .map(|secret| diagnose(scheme, secret.as_bytes(), &headers, &body, now))
        .collect();
    let several = secrets.len() > 1;
    if let Some(k) = diagnoses.iter().position(|d| d.result.is_ok()) {
        let which = if several {
            format!(" (secret {} of {})", k + 1, secrets.len())
        } else {
            String::new()
        };
        anstream::println!(
            "{OK}✔ valid{OK:#}: the {scheme} signature matches the body{which}",
            OK = anstyle::AnsiColor::Green.on_default().bold()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(Err(err)) = diagnoses.first().map(|d| &d.result) else {
        return Ok(ExitCode::from(1));
    };
    if let VerifyError::MissingSignature { header } = err {
        anstream::println!(
            "{ERROR}✘ invalid{ERROR:#} ({}): no signature header: the request has no `{header}` \
             header, so there is nothing to check the secret against",
            err.code()
        );
        println!(
            "  Was the header captured? Pass the raw request with --request FILE (`webhook \
             listen --save DIR` writes one), or the header with -H '{header}: …'; if the \
             sender has no signing secret set, it sends none."
        );
    } else {
        anstream::println!("{ERROR}✘ invalid{ERROR:#} ({}): {err}", err.code());
    }
    let mut explained = false;
    for (k, diagnosis) in diagnoses.iter().enumerate() {
        let label = if several {
            format!("with secret {} of {}: ", k + 1, secrets.len())
        } else {
            String::new()
        };
        for finding in &diagnosis.findings {
            explained = true;
            println!("  → likely: {label}{finding}");
        }
    }
    if !explained && !matches!(err, VerifyError::MissingSignature { .. }) {
        let secret = if several {
            "none of the secrets is"
        } else {
            "the secret is most likely not"
        };
        println!(
            "  No common mistake explains it: {secret} the one the sender uses, or the body \
             changed in transit."
        );
    }
    Ok(ExitCode::from(1))
}

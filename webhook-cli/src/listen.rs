//! `webhook listen`: a local receiver that verifies each request, prints its typed
//! events, and explains rejections (with the likely mistake when the secret is known).
//! The request handling itself is [`crate::receiver`], shared with `webhook demo`.

use std::{process::ExitCode, sync::Arc};

use webhook_core::{Credentials, Scheme, Secret, UrlToken, Verifier, idempotency::MemoryStore};

use crate::{
    cli::ListenArgs,
    dedup::DedupStore,
    error::CliError,
    inbox::CliInbox,
    receiver::{Endpoint, Receiver, Tally},
    save::Saver,
};

pub(crate) fn run(args: ListenArgs) -> Result<ExitCode, CliError> {
    let scheme = args.scheme;
    let secrets = args.secret.load_all()?;
    let secrets: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
    let verifier = build_verifier(scheme, &secrets, &args)?;
    let save = args.save.as_deref().map(Saver::new).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // A PostgreSQL inbox connects (and listens for work) on this runtime.
    let intake = runtime.block_on(crate::inbox::open_intake(&args.inbox, scheme))?;
    // Without an inbox (which deduplicates on its own): in memory, or in Redis.
    let dedup = match (&args.redis, args.no_dedup || intake.is_some()) {
        (_, true) => None,
        (Some(url), false) => Some(runtime.block_on(DedupStore::redis(url))?),
        (None, false) => Some(DedupStore::Memory(MemoryStore::new())),
    };
    let receiver = Arc::new(Receiver {
        endpoints: vec![Endpoint {
            path: None,
            scheme,
            verifier,
            dedup: dedup.map(|store| crate::receiver::deduplicator(store, scheme)),
            inbox: intake.clone(),
        }],
        json: args.json,
        tally: Tally::default(),
        save,
    });
    runtime.block_on(async move {
        let socket = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
        let address = socket.local_addr()?;
        if !args.json {
            println!(
                "listening on http://{address}/ for {} webhooks (Ctrl-C to stop)",
                scheme
            );
        } else if intake.is_some() {
            // Scripts driving `listen --inbox --json` (`--port 0`) need the address.
            println!(
                "{}",
                serde_json::json!({"status": "listening", "url": format!("http://{address}/")})
            );
        }
        let Some(intake) = intake else {
            let app = receiver.router();
            webhook_axum::serve(socket, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            return Ok::<_, CliError>(());
        };
        // With the inbox: workers beside the server, stopped after it on Ctrl-C/SIGTERM.
        let workers = crate::inbox::Workers::start(&intake, &args.inbox, Arc::clone(&receiver))?;
        let inspector = if args.ui.ui {
            let stop = crate::inbox::shutdown_signal();
            Some(match intake.inbox.clone() {
                CliInbox::Sqlite(inbox) => {
                    crate::inspector::beside(inbox, &args.ui, args.json, stop).await?
                }
                CliInbox::Postgres(inbox) => {
                    crate::inspector::beside(inbox, &args.ui, args.json, stop).await?
                }
            })
        } else {
            None
        };
        webhook_axum::serve(socket, receiver.router())
            .with_graceful_shutdown(crate::inbox::shutdown_signal())
            .await?;
        workers.stop().await;
        if let Some(inspector) = inspector {
            // It heard the same signal; its open pages' streams get a short grace.
            let _ = inspector.await;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn build_verifier(
    scheme: Scheme,
    secrets: &[&str],
    args: &ListenArgs,
) -> Result<Verifier, CliError> {
    let mut builder = Verifier::builder(scheme).max_body_bytes(args.max_body);
    if args.secret_label.len() > secrets.len() {
        return Err(CliError::Usage(format!(
            "{} --secret-label given for {} secret(s): each label names one secret, in the \
             order --secret, --secret-env, --secret-file",
            args.secret_label.len(),
            secrets.len()
        )));
    }
    for (n, text) in secrets.iter().enumerate() {
        let secret = scheme.secret_from(*text)?;
        builder = match args.secret_label.get(n) {
            Some(label) if label.trim().is_empty() => {
                return Err(CliError::Usage("--secret-label must not be empty".into()));
            }
            Some(label) => builder.labeled_secret(label.as_str(), secret),
            None => builder.secret(secret),
        };
    }
    if let Some(media_type) = args.media_type {
        builder = builder.media_type(media_type);
    }
    let auth = &args.auth;
    if let Some(basic) = auth.basic().load_text()? {
        let (user, password) = basic.split_once(':').ok_or_else(|| {
            CliError::Usage("--basic, --basic-env and --basic-file take USER:PASSWORD".into())
        })?;
        builder = builder.credentials(Credentials::basic(user, Secret::new(password)));
    }
    if let Some(token) = auth.bearer().load_text()? {
        builder = builder.credentials(Credentials::bearer(Secret::new(token.as_bytes())));
    }
    if let Some(spec) = auth.url_token().load_text()? {
        let (param, token) = spec.split_once('=').ok_or_else(|| {
            CliError::Usage(
                "--url-token, --url-token-env and --url-token-file take PARAM=TOKEN".into(),
            )
        })?;
        builder = builder.url_token(UrlToken::new(param, Secret::new(token)));
    }
    Ok(builder.build()?)
}

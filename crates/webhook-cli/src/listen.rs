//! `webhook listen`: a local receiver that verifies each request, prints its typed
//! events, and explains rejections (with the likely mistake when the secret is known).

use std::{process::ExitCode, sync::Arc, time::SystemTime};

use axum::{
    Router,
    extract::{Request, State},
    response::{IntoResponse, Response},
};
use webhook_axum::WebhookRejection;
use webhook_core::{
    Credentials, Rejection, Scheme, Secret, UrlToken, Verifier, diagnose::diagnose,
};

use crate::{
    cli::ListenArgs,
    error::CliError,
    render::{self, Outcome},
};

struct Listener {
    verifier: Verifier,
    scheme: Scheme,
    /// The secret's text, kept only to diagnose rejections; never printed.
    secret: Option<zeroize::Zeroizing<String>>,
    json: bool,
}

pub(crate) fn run(args: ListenArgs) -> Result<ExitCode, CliError> {
    let scheme = Scheme::from(args.scheme);
    let secret = args.secret.source().load_text()?;
    let verifier = build_verifier(scheme, secret.as_deref().map(String::as_str), &args)?;
    let listener = Arc::new(Listener {
        verifier,
        scheme,
        secret,
        json: args.json,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let socket = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
        let address = socket.local_addr()?;
        if !args.json {
            println!(
                "listening on http://{address}/ for {} webhooks (Ctrl-C to stop)",
                scheme
            );
        }
        let app = Router::new().fallback(receive).with_state(listener);
        axum::serve(socket, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok::<_, CliError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn build_verifier(
    scheme: Scheme,
    secret: Option<&str>,
    args: &ListenArgs,
) -> Result<Verifier, CliError> {
    let mut builder = Verifier::builder(scheme).max_body_bytes(args.max_body);
    if let Some(text) = secret {
        builder = builder.secret(match scheme {
            Scheme::StandardWebhooks => Secret::standard_webhooks(text)?,
            _ => Secret::new(text),
        });
    }
    if let Some(basic) = &args.basic {
        let (user, password) = basic
            .split_once(':')
            .ok_or_else(|| CliError::Usage("--basic takes USER:PASSWORD".into()))?;
        builder = builder.credentials(Credentials::basic(user, Secret::new(password)));
    }
    if let Some(token) = &args.bearer {
        builder = builder.credentials(Credentials::bearer(Secret::new(token)));
    }
    if let Some(spec) = &args.url_token {
        let (param, token) = spec
            .split_once('=')
            .ok_or_else(|| CliError::Usage("--url-token takes PARAM=TOKEN".into()))?;
        builder = builder.url_token(UrlToken::new(param, Secret::new(token)));
    }
    Ok(builder.build()?)
}

async fn receive(State(listener): State<Arc<Listener>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match webhook_axum::read_body(&listener.verifier, &parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(rejection) => return reject(&listener, rejection.0, &[]),
    };
    match listener.verifier.verify(&parts, bytes.clone()) {
        Ok(verified) => match render::summarize(&verified) {
            Ok(events) => {
                render::print(listener.scheme, &Outcome::Accepted(&events), listener.json);
                "ok".into_response()
            }
            Err(err) => reject(&listener, err.into(), &[]),
        },
        Err(err) => {
            let findings = match &listener.secret {
                Some(secret) if listener.scheme.signs() => {
                    diagnose(
                        listener.scheme,
                        secret.as_bytes(),
                        &parts.headers,
                        &bytes,
                        SystemTime::now(),
                    )
                    .findings
                }
                _ => Vec::new(),
            };
            reject(&listener, err.into(), &findings)
        }
    }
}

fn reject(
    listener: &Listener,
    rejection: Rejection,
    findings: &[webhook_core::diagnose::Finding],
) -> Response {
    render::print(
        listener.scheme,
        &Outcome::Rejected {
            rejection: &rejection,
            findings,
        },
        listener.json,
    );
    WebhookRejection(rejection).into_response()
}

//! The command line: subcommands, their arguments and their help.

use std::path::PathBuf;

use clap::{
    Args, Parser, Subcommand,
    builder::{PossibleValue, TypedValueParser},
    error::{ContextKind, ContextValue, ErrorKind},
};
use webhook_core::{MediaType, Scheme, SecretSource};

pub(crate) const EXIT_CODES: &str = "\
Exit status:
  0  success (for `verify`: the request is valid)
  1  verification failed (`verify`), or some events were not delivered (`send`)
  2  usage or I/O error";

/// Receive, send, sign and verify webhooks from mail systems, and explain why a
/// signature failed.
#[derive(Debug, Parser)]
#[command(name = "webhook", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the end-to-end demo: a receiver on a free loopback port, signed events from
    /// each sender through the reference sender, and a summary. Needs no set-up.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
    /// Receive webhooks locally: verify each request, print its typed events, explain
    /// rejections.
    #[command(after_help = EXIT_CODES)]
    Listen(ListenArgs),
    /// Send signed sample events to a URL through the reference sender.
    #[command(after_help = EXIT_CODES)]
    Send(SendArgs),
    /// Sign a body: print the headers a sender would add.
    #[command(after_help = EXIT_CODES)]
    Sign(SignArgs),
    /// Verify a captured request; on failure, say which likely mistake explains it.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Look into a durable inbox (`listen --inbox`) and act on its events: stats, list,
    /// show, redrive, replay, purge.
    #[command(after_help = EXIT_CODES)]
    Inbox(crate::inbox::InboxArgs),
}

/// Parses `--scheme`: a [`Scheme`] id or alias, as webhook-core reads it; `--help` lists
/// each scheme's id with its one-line summary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SchemeParser;

impl TypedValueParser for SchemeParser {
    type Value = Scheme;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Scheme, clap::Error> {
        let text = value.to_str().unwrap_or_default();
        text.parse().map_err(|_| {
            let mut err = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            if let Some(arg) = arg {
                err.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(arg.to_string()),
                );
            }
            err.insert(
                ContextKind::InvalidValue,
                ContextValue::String(text.to_owned()),
            );
            err.insert(
                ContextKind::ValidValue,
                ContextValue::Strings(Scheme::ALL.iter().map(|s| s.id().to_owned()).collect()),
            );
            err
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Scheme::ALL.into_iter().map(|scheme| {
            PossibleValue::new(scheme.id()).help(scheme.summary())
        })))
    }
}

/// Where the signing secret comes from. `verify` and `listen` take several (a receiver
/// rotating keys holds the old and the new one), in any mix of the three forms; `send`
/// and `sign` sign with one.
#[derive(Debug, Clone, Args)]
pub(crate) struct SecretArgs {
    /// The secret itself (visible to other local users in the process list: prefer
    /// `--secret-env` or `--secret-file` outside experiments). `verify` and `listen`:
    /// repeat for several.
    #[arg(long, value_name = "TEXT")]
    pub(crate) secret: Vec<String>,
    /// Read the secret from this environment variable (`verify`, `listen`: repeatable).
    #[arg(long, value_name = "VAR")]
    pub(crate) secret_env: Vec<String>,
    /// Read the secret from this file, one trailing newline removed (`verify`,
    /// `listen`: repeatable).
    #[arg(long, value_name = "PATH")]
    pub(crate) secret_file: Vec<PathBuf>,
}

impl SecretArgs {
    /// Every secret given, values first, then variables, then files.
    pub(crate) fn sources(&self) -> Vec<SecretSource> {
        let values = self.secret.iter().map(|t| SecretSource::value(t.clone()));
        let vars = self.secret_env.iter().map(|v| SecretSource::env(v.clone()));
        let files = self
            .secret_file
            .iter()
            .map(|p| SecretSource::file(p.clone()));
        values.chain(vars).chain(files).collect()
    }

    /// The one secret of a command that signs (`SecretSource::None` if none is given).
    pub(crate) fn source(&self) -> Result<SecretSource, crate::error::CliError> {
        let mut sources = self.sources();
        match sources.len() {
            0 => Ok(SecretSource::None),
            1 => Ok(sources.remove(0)),
            _ => Err(crate::error::CliError::Usage(
                "give one secret to sign with (--secret, --secret-env or --secret-file, once)"
                    .into(),
            )),
        }
    }

    /// Every secret's text (`verify`, `listen`).
    pub(crate) fn load_all(
        &self,
    ) -> Result<Vec<zeroize::Zeroizing<String>>, crate::error::CliError> {
        let mut texts = Vec::new();
        for source in self.sources() {
            if let Some(text) = source.load_text()? {
                texts.push(text);
            }
        }
        Ok(texts)
    }
}

/// Credentials a receiver requires besides any signature: Basic or Bearer (a request
/// carries one `Authorization` header, so not both), and a URL token. Each comes as a
/// value, from an environment variable or from a file (one trailing newline removed),
/// like `--secret`.
#[derive(Debug, Clone, Args)]
pub(crate) struct AuthArgs {
    /// Also require HTTP Basic credentials `USER:PASSWORD` (Stalwart `httpAuth`,
    /// WildDuck URL credentials). Visible to other local users in the process list:
    /// prefer `--basic-env` or `--basic-file` outside experiments.
    #[arg(long, value_name = "USER:PASSWORD", conflicts_with_all = ["basic_env", "basic_file", "bearer", "bearer_env", "bearer_file"])]
    pub(crate) basic: Option<String>,
    /// Read the Basic `USER:PASSWORD` from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["basic_file", "bearer", "bearer_env", "bearer_file"])]
    pub(crate) basic_env: Option<String>,
    /// Read the Basic `USER:PASSWORD` from this file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["bearer", "bearer_env", "bearer_file"])]
    pub(crate) basic_file: Option<PathBuf>,
    /// Also require this Bearer token (instead of Basic credentials). Visible to other
    /// local users in the process list: prefer `--bearer-env` or `--bearer-file`
    /// outside experiments.
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["bearer_env", "bearer_file"])]
    pub(crate) bearer: Option<String>,
    /// Read the Bearer token from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "bearer_file")]
    pub(crate) bearer_env: Option<String>,
    /// Read the Bearer token from this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) bearer_file: Option<PathBuf>,
    /// Also require the URL query parameter `PARAM` to carry `TOKEN`. Visible to other
    /// local users in the process list: prefer `--url-token-env` or `--url-token-file`
    /// outside experiments.
    #[arg(long, value_name = "PARAM=TOKEN", conflicts_with_all = ["url_token_env", "url_token_file"])]
    pub(crate) url_token: Option<String>,
    /// Read the URL token `PARAM=TOKEN` from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "url_token_file")]
    pub(crate) url_token_env: Option<String>,
    /// Read the URL token `PARAM=TOKEN` from this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) url_token_file: Option<PathBuf>,
}

impl AuthArgs {
    pub(crate) fn basic(&self) -> SecretSource {
        source(&self.basic, &self.basic_env, &self.basic_file)
    }

    pub(crate) fn bearer(&self) -> SecretSource {
        source(&self.bearer, &self.bearer_env, &self.bearer_file)
    }

    pub(crate) fn url_token(&self) -> SecretSource {
        source(&self.url_token, &self.url_token_env, &self.url_token_file)
    }
}

fn source(value: &Option<String>, env: &Option<String>, file: &Option<PathBuf>) -> SecretSource {
    match (value, env, file) {
        (Some(text), _, _) => SecretSource::value(text.clone()),
        (_, Some(var), _) => SecretSource::env(var.clone()),
        (_, _, Some(path)) => SecretSource::file(path.clone()),
        _ => SecretSource::None,
    }
}

/// Parses `--media-type`: `json`, `jsonl` or `form`.
fn parse_media_type(text: &str) -> Result<MediaType, String> {
    match text {
        "json" => Ok(MediaType::Json),
        "jsonl" => Ok(MediaType::JsonLines),
        "form" => Ok(MediaType::FormUrlEncoded),
        _ => Err("expected `json`, `jsonl` or `form`".into()),
    }
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Print events as JSON lines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The sender's scheme.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Scheme,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// Label the secrets, in the order they are taken: `--secret` values first, then
    /// `--secret-env`, then `--secret-file` (repeat: the first label names the first
    /// secret, and so on; secrets past the last label stay unlabeled). The label of the
    /// secret that verified a delivery is what the inbox records and the inspector
    /// shows (`key "2026-q4" (#1)`): during a rotation, it tells when the old secret
    /// is no longer used. A separate flag rather than `--secret LABEL=VALUE`, since
    /// secrets may contain `=` (base64 padding).
    #[arg(long, value_name = "LABEL")]
    pub(crate) secret_label: Vec<String>,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    /// Accept only bodies of this format (Mailtrap: the one its webhook is set to;
    /// other senders send JSON only). Requests declaring another are refused with 415.
    #[arg(long, value_name = "FORMAT", value_parser = parse_media_type)]
    pub(crate) media_type: Option<MediaType>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Largest body accepted, in bytes.
    #[arg(long, default_value_t = webhook_core::DEFAULT_MAX_BODY_BYTES)]
    pub(crate) max_body: usize,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Handle every delivery, even of events already seen (by default a redelivered
    /// event is answered 200 and shown as a skipped duplicate).
    #[arg(long)]
    pub(crate) no_dedup: bool,
    /// Remember processed events in this Redis (`redis://[user:password@]host[:port][/db]`)
    /// instead of in memory, so that several `listen` replicas recognise a delivery
    /// retried to another one. Without `--inbox`, which deduplicates on its own.
    #[arg(long, value_name = "URL", conflicts_with_all = ["no_dedup", "inbox"])]
    pub(crate) redis: Option<String>,
    /// Save each request whose body was read (accepted or rejected) in this directory,
    /// one file each: request line, headers, blank line, body as received, which
    /// `webhook verify --request FILE` reads.
    #[arg(long, value_name = "DIR")]
    pub(crate) save: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) inbox: Box<crate::inbox::ListenInboxArgs>,
    #[command(flatten)]
    pub(crate) ui: Box<crate::inspector::ListenUiArgs>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The receiver's URL.
    #[arg(long)]
    pub(crate) url: String,
    /// The sender's scheme.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Scheme,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The event type to send (a Stalwart name such as `auth.success`, or the sender's
    /// own event name); default: a typical one for the scheme.
    #[arg(long, conflicts_with = "body")]
    pub(crate) event: Option<String>,
    /// Send this body as is instead of a generated event.
    #[arg(long, value_name = "PATH", alias = "file")]
    pub(crate) body: Option<PathBuf>,
    /// The event id of the samples (Mailtrap `event_id`, email-API and WildDuck `id`;
    /// Standard Webhooks `webhook-id`, with --body too); default: fresh ids on every
    /// run. Every event of the run gets it: a way to send a redelivery. Stalwart events
    /// have no stable id to set.
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Give an event up at the first permanent 4xx answer (any 4xx but 408, 425, 429)
    /// instead of following the sender's own rule, which retries every failure.
    #[arg(long)]
    pub(crate) give_up_on_4xx: bool,
    /// How many events to send.
    #[arg(long, default_value_t = 1)]
    pub(crate) count: u64,
    /// Events per second (default: as fast as the sender's batching allows).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) timeout: f64,
    /// Stop retrying after this many seconds and report what was not delivered (the
    /// sender's own schedule may retry for minutes or hours).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub(crate) wait: f64,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The sender's scheme.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Scheme,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The body to sign (default: standard input).
    #[arg(long, value_name = "PATH", alias = "file")]
    pub(crate) body: Option<PathBuf>,
    /// Standard Webhooks message id (default: a fresh one).
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Standard Webhooks timestamp, Unix seconds (default: now).
    #[arg(long)]
    pub(crate) timestamp: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The sender's scheme.
    #[arg(long, value_parser = SchemeParser)]
    pub(crate) scheme: Scheme,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The body, exactly as received.
    #[arg(long, value_name = "PATH", required_unless_present = "request")]
    pub(crate) body: Option<PathBuf>,
    /// A request header, `Name: value` (repeat for several).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// A raw HTTP/1.1 request as captured (request line, headers, blank line, body).
    #[arg(long, value_name = "PATH", conflicts_with = "body")]
    pub(crate) request: Option<PathBuf>,
    /// Judge timestamps as of this Unix time (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) now: Option<i64>,
}

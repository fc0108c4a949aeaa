//! The inspector's arguments: `webhook inbox serve`'s, and `webhook listen --ui`'s.

use std::path::PathBuf;

use clap::Args;
use webhook_core::SecretSource;

/// Who may use the inspector: the access token a non-loopback address requires.
#[derive(Debug, Clone, Args)]
pub(crate) struct AccessArgs {
    /// The access token, at least 16 characters: opening `/?token=TOKEN` once sets a
    /// session cookie; API clients may send `Authorization: Bearer TOKEN` (visible to
    /// other local users in the process list: prefer --token-env or --token-file).
    #[arg(long, value_name = "TEXT")]
    pub(crate) token: Option<String>,
    /// Read the access token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) token_env: Option<String>,
    /// Read the access token from this file (one trailing newline removed).
    #[arg(long, value_name = "PATH")]
    pub(crate) token_file: Option<PathBuf>,
}

impl AccessArgs {
    /// The token's source (`SecretSource::None` without one).
    pub(crate) fn token_source(&self) -> Result<SecretSource, crate::error::CliError> {
        let given = [
            self.token.clone().map(SecretSource::value),
            self.token_env.clone().map(SecretSource::env),
            self.token_file.clone().map(SecretSource::file),
        ];
        let mut given: Vec<SecretSource> = given.into_iter().flatten().collect();
        match given.len() {
            0 => Ok(SecretSource::None),
            1 => Ok(given.remove(0)),
            _ => Err(crate::error::CliError::Usage(
                "give one access token (--token, --token-env or --token-file)".into(),
            )),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The inbox: a SQLite file (`webhook listen --inbox` writes it), or a PostgreSQL
    /// database's `postgres://` URL (a password in it shows in the process list).
    #[arg(long, value_name = "PATH|URL", value_parser = crate::inbox::Location::parse)]
    pub(crate) inbox: crate::inbox::Location,
    /// Address to serve the inspector on. Anything but loopback requires an access
    /// token (--token-file, --token-env or --token).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// Port to serve the inspector on (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    pub(crate) port: u16,
    #[command(flatten)]
    pub(crate) access: AccessArgs,
}

/// `webhook listen --inbox PATH --ui`: the inspector beside the receiver.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Inspector")]
pub(crate) struct ListenUiArgs {
    /// Serve the inspector (a web page over the inbox) beside the receiver.
    #[arg(long, requires = "inbox")]
    pub(crate) ui: bool,
    /// Address to serve the inspector on. Anything but loopback requires an access
    /// token (--token-file, --token-env or --token).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1",
        requires = "ui"
    )]
    pub(crate) ui_host: std::net::IpAddr,
    /// Port to serve the inspector on (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 8081, requires = "ui")]
    pub(crate) ui_port: u16,
    #[command(flatten)]
    pub(crate) access: AccessArgs,
}

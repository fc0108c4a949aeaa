//! Errors that stop a command before it can do its job (exit status 2).

use std::path::PathBuf;

/// A usage, configuration or I/O problem.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error(transparent)]
    Secret(#[from] webhook_core::SecretError),
    #[error(transparent)]
    Build(#[from] webhook_core::BuildError),
    #[error(transparent)]
    Sender(#[from] webhook_sender::ConfigError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Inbox(#[from] webhook_inbox::InboxError),
}

pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })
}

//! `listen --save DIR`: each request whose body was read kept as a file, in the form
//! `webhook verify --request FILE` reads (request line, headers, blank line, body).
//!
//! The body is saved byte for byte as received. The head is rebuilt from what the HTTP
//! server parsed: header names come lowercased and in the order received, grouped by
//! name. A chunked body is saved decoded, with a `content-length` header in place of
//! `transfer-encoding` (`verify` reads no chunked captures). The files hold the request's
//! signature and any credentials, so they are created readable by their owner only.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use http::{header, request::Parts};

use crate::error::CliError;

/// Where requests are saved, and how many so far.
#[derive(Debug)]
pub(crate) struct Saver {
    dir: PathBuf,
    count: AtomicU64,
}

impl Saver {
    /// Saves into `dir`, created if missing.
    pub(crate) fn new(dir: &Path) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir).map_err(|err| {
            CliError::Usage(format!(
                "cannot create `{}` for --save: {err}",
                dir.display()
            ))
        })?;
        Ok(Self {
            dir: dir.to_owned(),
            count: AtomicU64::new(0),
        })
    }

    /// Writes one request to a new file and returns its path. Never overwrites: a name
    /// already taken (a previous run in the same directory) moves on to the next.
    pub(crate) fn save(&self, parts: &Parts, body: &[u8]) -> std::io::Result<PathBuf> {
        let bytes = raw_request(parts, body);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
        loop {
            let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
            let path = self.dir.join(format!("{stamp}-{n:04}.http"));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    file.write_all(&bytes)?;
                    return Ok(path);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
    }
}

/// The request as HTTP/1.1 bytes.
pub(crate) fn raw_request(parts: &Parts, body: &[u8]) -> Vec<u8> {
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = format!("{} {target} HTTP/1.1\r\n", parts.method).into_bytes();
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    for (name, value) in &parts.headers {
        if chunked && name == header::TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

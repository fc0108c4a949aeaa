//! Reading a captured request: headers given on the command line, or a raw HTTP/1.1
//! request saved from the wire (`nc -l`, a proxy's dump, `tcpdump -A`).

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{CliError, read_file};

/// Headers from `-H 'Name: value'` arguments, in order (repeats are kept, so the
/// verifier sees a duplicate as the sender sent it).
pub(crate) fn headers_from_args(args: &[String]) -> Result<HeaderMap, CliError> {
    let mut headers = HeaderMap::new();
    for arg in args {
        let (name, value) = arg.split_once(':').ok_or_else(|| {
            CliError::Usage(format!("header `{arg}` is not of the form `Name: value`"))
        })?;
        insert(&mut headers, name.trim(), value.trim().as_bytes())?;
    }
    Ok(headers)
}

/// A request read from a capture file.
pub(crate) struct Capture {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// Bytes the file holds past the body's `Content-Length` (not verified).
    pub(crate) extra: usize,
}

/// A raw request file: request line, headers, blank line, body.
pub(crate) fn parse_request(path: &std::path::Path) -> Result<Capture, CliError> {
    let bytes = read_file(path)?;
    let mut slots = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut slots);
    let head_len = match request.parse(&bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return Err(CliError::Usage(format!(
                "`{}` ends inside the request head: is the blank line after the headers missing?",
                path.display()
            )));
        }
        Err(err) => {
            return Err(CliError::Usage(format!(
                "`{}` is not an HTTP/1.1 request: {err}",
                path.display()
            )));
        }
    };
    let mut headers = HeaderMap::new();
    for header in request.headers.iter() {
        insert(&mut headers, header.name, header.value)?;
    }
    let mut body = bytes[head_len..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"))
    {
        return Err(CliError::Usage(
            "the capture uses chunked transfer encoding: save the decoded body to a file and \
             pass it with --body and -H"
                .into(),
        ));
    }
    if let Some(length) = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok())
    {
        if body.len() < length {
            return Err(CliError::Usage(format!(
                "the capture is truncated: Content-Length says {length} bytes, the file holds {}",
                body.len()
            )));
        }
        let extra = body.len() - length;
        body.truncate(length);
        return Ok(Capture {
            headers,
            body,
            extra,
        });
    }
    Ok(Capture {
        headers,
        body,
        extra: 0,
    })
}

fn insert(headers: &mut HeaderMap, name: &str, value: &[u8]) -> Result<(), CliError> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| CliError::Usage(format!("`{name}` is not a valid header name")))?;
    let value = HeaderValue::from_bytes(value).map_err(|_| {
        CliError::Usage(format!("the value of `{name}` is not a valid header value"))
    })?;
    headers.append(name, value);
    Ok(())
}

//! Mailtrap's JSON Lines format (`application/jsonl`): one compact JSON event per
//! line, no wrapping array. Blank lines, a trailing newline and `\r\n` line ends are
//! tolerated. An error names the line it is on, in the body's own line numbers, and
//! the event's index (`[2].timestamp`).

use super::event::MailtrapEvent;
use crate::events::ParseError;
use crate::events::fields::parse_borrowed;

/// At most this many events are reserved up front, however many lines a body has:
/// the vector still grows past it, but a body of empty lines cannot make it reserve
/// much.
const RESERVE_AT_MOST: usize = 1024;

/// Parses every non-blank line of `body` as one event.
pub(super) fn parse(body: &[u8]) -> Result<Vec<MailtrapEvent<'_>>, ParseError> {
    let lines = body.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let mut events = Vec::with_capacity(lines.min(RESERVE_AT_MOST));
    let mut offset = 0;
    for (index, line) in body.split(|&byte| byte == b'\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_borrowed::<MailtrapEvent<'_>>(line) {
            Ok(event) => events.push(event),
            Err(err) => return Err(relocate(err, index + 1, start, events.len())),
        }
    }
    if events.is_empty() {
        return Err(ParseError::EmptyBatch);
    }
    Ok(events)
}

/// Moves an error found in one line to the body's coordinates.
fn relocate(err: ParseError, line: usize, start: usize, index: usize) -> ParseError {
    match err {
        ParseError::NotUtf8 { valid_up_to } => ParseError::NotUtf8 {
            valid_up_to: start + valid_up_to,
        },
        ParseError::InvalidJson { column, detail, .. } => ParseError::InvalidJson {
            line,
            column,
            detail,
        },
        ParseError::UnexpectedShape {
            path,
            column,
            detail,
            ..
        } => ParseError::UnexpectedShape {
            path: if path == "." {
                format!("[{index}]")
            } else {
                format!("[{index}].{path}")
            },
            line,
            column,
            detail,
        },
        ParseError::TrailingData { column, .. } => ParseError::TrailingData { line, column },
        other => other,
    }
}

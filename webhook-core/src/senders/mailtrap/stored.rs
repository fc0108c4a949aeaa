//! A Mailtrap body split into its events for storage, and one stored event read back.
//!
//! An event's bytes are its element of `{"events":[…]}`, its line of a JSON Lines
//! body (without the line end), or the whole body for a bare JSON event or form data.
//! Its key is the one [`dedup`](super::dedup) gives.

use std::ops::Range;

use super::{BodyFormat, MailtrapBatch, MailtrapEvent, dedup};
use crate::{
    MediaType, Scheme,
    events::{BorrowedPayload, ParseContext, ParseError, Payload, json},
    idempotency::Namespace,
    senders::stalwart::StalwartKey,
    stored::{SplitEvent, StoredPayload, events_array, paired},
};

pub(crate) fn split(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    _stalwart: StalwartKey,
) -> Result<Vec<SplitEvent>, ParseError> {
    let batch = MailtrapBatch::parse_borrowed(body, context)?;
    let whole = || std::iter::once(0..body.len()).collect::<Vec<_>>();
    let (ranges, media_type) = match batch.format {
        BodyFormat::Batch => (events_array(body)?, MediaType::Json),
        BodyFormat::JsonLines => (lines(body), MediaType::Json),
        BodyFormat::Single => (whole(), MediaType::Json),
        BodyFormat::Form => (whole(), MediaType::FormUrlEncoded),
    };
    paired(batch.iter(), ranges)?
        .map(|(i, event, range)| {
            let key = dedup::event_key(i, event, namespace)?;
            Ok(SplitEvent::new(range, media_type, Some(event.name()), key))
        })
        .collect()
}

/// The non-blank lines of a JSON Lines body, each without its `\n` or `\r\n`: the
/// lines the JSON Lines parser reads as events.
fn lines(body: &[u8]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for line in body.split(|&byte| byte == b'\n') {
        let end = start + line.strip_suffix(b"\r").unwrap_or(line).len();
        if !body[start..end].iter().all(u8::is_ascii_whitespace) {
            ranges.push(start..end);
        }
        start += line.len() + 1;
    }
    ranges
}

/// One event: a JSON object (an element of a batch, a line, a bare event) or a
/// form-data body.
impl StoredPayload for MailtrapEvent<'static> {
    const SCHEME: Scheme = Scheme::Mailtrap;

    fn from_stored(bytes: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        match context.media_type {
            MediaType::FormUrlEncoded => {
                let batch = MailtrapBatch::parse(bytes, context)?;
                batch
                    .events
                    .into_iter()
                    .next()
                    .ok_or(ParseError::EmptyBatch)
            }
            _ => json::parse::<MailtrapEvent<'_>>(bytes).map(MailtrapEvent::into_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blank_ones_and_line_ends() {
        let body = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        let got: Vec<&[u8]> = lines(body).into_iter().map(|r| &body[r]).collect();
        assert_eq!(got, [&b"{\"a\":1}"[..], b"{\"b\":2}"]);
    }
}

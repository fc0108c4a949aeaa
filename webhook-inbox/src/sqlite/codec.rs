//! How values are written in the SQLite file and read back.

use webhook_core::{MediaType, Scheme, senders::stalwart::StalwartKey};

use crate::{
    error::InboxError,
    model::{AttemptOutcome, DeliveryState, StoredHeader, StoredKey, StoredVerification},
};

/// `events.state`.
pub(crate) const PENDING: i64 = 0;
pub(crate) const RUNNING: i64 = 1;
pub(crate) const DONE: i64 = 2;
pub(crate) const DEAD: i64 = 3;

/// `deliveries.state`.
pub(crate) fn delivery_state(state: DeliveryState) -> i64 {
    match state {
        DeliveryState::Accepted => 0,
        DeliveryState::Quarantined => 1,
    }
}

pub(crate) fn delivery_state_from(value: i64) -> Result<DeliveryState, InboxError> {
    match value {
        0 => Ok(DeliveryState::Accepted),
        1 => Ok(DeliveryState::Quarantined),
        other => Err(InboxError::Corrupt(format!(
            "unknown delivery state {other}"
        ))),
    }
}

pub(crate) fn scheme_from(id: &str) -> Result<Scheme, InboxError> {
    id.parse()
        .map_err(|_| InboxError::Corrupt(format!("unknown sender `{id}`")))
}

/// A media type as text: its canonical name, `other` or the empty string (missing).
pub(crate) fn media_type(media_type: MediaType) -> &'static str {
    match media_type.as_str() {
        Some(name) => name,
        None if media_type == MediaType::Missing => "",
        None => "other",
    }
}

pub(crate) fn media_type_from(text: &str) -> MediaType {
    MediaType::from_header(text.as_bytes())
}

/// A delivery's verification as its columns: `key_index`, `key_label`, `credentials`,
/// `url_token`.
pub(crate) fn verification(
    verification: &StoredVerification,
) -> (Option<i64>, Option<&str>, bool, bool) {
    let key = verification.key.as_ref();
    (
        key.map(|key| i64::try_from(key.index).unwrap_or(i64::MAX)),
        key.and_then(|key| key.label.as_deref()),
        verification.credentials,
        verification.url_token,
    )
}

/// A delivery's verification from its columns; `None` when it was not recorded
/// (`credentials` is `NULL`: a delivery stored before the schema recorded it).
pub(crate) fn verification_from(
    key_index: Option<i64>,
    key_label: Option<String>,
    credentials: Option<bool>,
    url_token: Option<bool>,
) -> Result<Option<StoredVerification>, InboxError> {
    let Some(credentials) = credentials else {
        return Ok(None);
    };
    let key = match (key_index, key_label) {
        (Some(index), label) => Some(StoredKey {
            index: usize::try_from(index)
                .map_err(|_| InboxError::Corrupt(format!("negative key index {index}")))?,
            label,
        }),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(InboxError::Corrupt(
                "a key label is stored without its index".into(),
            ));
        }
    };
    Ok(Some(StoredVerification {
        key,
        credentials,
        url_token: url_token.unwrap_or(false),
    }))
}

pub(crate) fn stalwart_key(key: StalwartKey) -> i64 {
    match key {
        StalwartKey::Id => 1,
        _ => 0,
    }
}

pub(crate) fn stalwart_key_from(value: i64) -> StalwartKey {
    if value == 1 {
        StalwartKey::Id
    } else {
        StalwartKey::Fingerprint
    }
}

pub(crate) fn outcome_from(text: &str) -> Result<AttemptOutcome, InboxError> {
    [
        AttemptOutcome::Done,
        AttemptOutcome::Retry,
        AttemptOutcome::Dead,
        AttemptOutcome::LeaseLost,
        AttemptOutcome::LeaseExpired,
        AttemptOutcome::Released,
    ]
    .into_iter()
    .find(|outcome| outcome.as_str() == text)
    .ok_or_else(|| InboxError::Corrupt(format!("unknown attempt outcome `{text}`")))
}

/// Headers as `name: value\r\n` lines: header values never hold CR or LF, names never
/// hold `:`, so the encoding is exact.
pub(crate) fn headers(headers: &[StoredHeader]) -> Vec<u8> {
    let mut out = Vec::new();
    for header in headers {
        out.extend_from_slice(header.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&header.value);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub(crate) fn headers_from(bytes: &[u8]) -> Vec<StoredHeader> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r")?;
            let colon = line.iter().position(|&b| b == b':')?;
            let value = &line[colon + 1..];
            Some(StoredHeader {
                name: String::from_utf8_lossy(&line[..colon]).into_owned(),
                value: value.strip_prefix(b" ").unwrap_or(value).to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let list = vec![
            StoredHeader {
                name: "x-signature".into(),
                value: b"a: b=".to_vec(),
            },
            StoredHeader {
                name: "content-type".into(),
                value: b"application/json".to_vec(),
            },
        ];
        assert_eq!(headers_from(&headers(&list)), list);
        for media in [
            MediaType::Json,
            MediaType::JsonLines,
            MediaType::FormUrlEncoded,
            MediaType::Other,
            MediaType::Missing,
        ] {
            assert_eq!(media_type_from(media_type(media)), media);
        }
    }
}

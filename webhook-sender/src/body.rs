//! [`Body`]: the bytes of one request and their media type.
//!
//! Every body format ends here: a Stalwart batch rendered with fresh ids, a raw message
//! given by the caller, an email-API or WildDuck event, a Mailtrap batch in JSON, JSON
//! Lines or form data.
//! The bytes are signed and sent exactly as they are; [`Bytes`] makes the copy per retry
//! free.

use bytes::Bytes;
use http::HeaderValue;

/// `application/json`, the type every JSON sender declares (no charset).
pub const APPLICATION_JSON: &str = "application/json";

/// One request body: bytes and `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    bytes: Bytes,
    content_type: HeaderValue,
}

impl Body {
    /// A JSON body (`Content-Type: application/json`).
    ///
    /// ```
    /// use webhook_sender::Body;
    ///
    /// let body = Body::json(r#"{"type":"delivered"}"#);
    /// assert_eq!(body.content_type(), "application/json");
    /// ```
    pub fn json(bytes: impl Into<Bytes>) -> Self {
        Self::new(bytes, HeaderValue::from_static(APPLICATION_JSON))
    }

    /// The compact JSON serialization of `value` (serde_json's: no whitespace, non-ASCII
    /// written raw, as every JSON sender here writes it).
    pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_vec(value).map(Self::json)
    }

    /// Bytes of any media type, e.g. `application/jsonl` or
    /// `application/x-www-form-urlencoded` for Mailtrap.
    pub fn new(bytes: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        Self {
            bytes: bytes.into(),
            content_type,
        }
    }

    /// The bytes, exactly as they will be signed and sent.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The `Content-Type` value.
    pub fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

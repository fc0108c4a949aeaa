//! Explaining a failed verification: which likely mistake fits.
//!
//! When a signature does not verify, the cause is almost never a forger; it is one of a
//! handful of integration mistakes. [`diagnose`] re-runs the real verifier on variants
//! of the request, one mistake at a time, and reports each variant that verifies:
//!
//! - the body was **re-serialized** (parsed and written back with other whitespace,
//!   key order or a trailing newline) before it reached the verifier;
//! - the **secret** has a trailing newline or surrounding spaces the sender does not
//!   have (or lacks one the sender has), or was hex/base64-decoded where the sender uses
//!   the text itself;
//! - the **encoding** is mixed up: base64 where hex is expected or the reverse, a
//!   `sha256=` prefix missing or extra;
//! - a **Standard Webhooks** `whsec_` secret was used as text instead of being
//!   base64-decoded;
//! - the request carries **another sender's** signature header (the verifier is set to
//!   the wrong scheme);
//! - the **timestamp** is outside the tolerance although the signature is otherwise
//!   valid (and by how much).
//!
//! Findings never contain the secret, the presented signature or the expected MAC:
//! only which transformation made the request verify. What a mis-encoded signature or
//! secret looks like is each sender's to say (its folder under
//! [`senders`](crate::senders)); the variants are tried here.

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::{
    Scheme, Secret, Verifier, VerifyError,
    request::{HeaderLookup, RequestView},
};

/// The outcome of [`diagnose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// What the verifier says about the request as given.
    pub result: Result<(), VerifyError>,
    /// The likely mistakes that explain a failure (empty when it verifies, or when no
    /// known mistake fits: then the secret is most likely simply not the sender's).
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// Whether the request verifies as given.
    pub fn is_valid(&self) -> bool {
        self.result.is_ok()
    }
}

/// A mistake that, once undone, makes the request verify.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The signature matches another serialization of the same JSON body.
    BodyReserialized {
        /// Which serialization the sender signed.
        signed: BodyForm,
    },
    /// The signature matches the secret with different whitespace.
    SecretWhitespace {
        /// What differs.
        change: SecretChange,
    },
    /// The sender uses the secret's text as the key; it was decoded here (or the
    /// reverse).
    SecretEncoding {
        /// What differs.
        change: SecretChange,
    },
    /// The signature is in another encoding than the scheme's.
    SignatureEncoding {
        /// What was presented.
        found: &'static str,
        /// What the scheme uses.
        expected: &'static str,
    },
    /// The request carries another scheme's signature header.
    OtherScheme {
        /// The header found.
        header: &'static str,
        /// The scheme it belongs to.
        scheme: Scheme,
        /// Whether the request verifies under that scheme with the same secret.
        verifies: bool,
    },
    /// The signed timestamp is outside the tolerance.
    TimestampOutsideTolerance {
        /// Receiver time minus the timestamp, in seconds (negative: in the future).
        age_secs: i64,
        /// The tolerance in seconds.
        tolerance_secs: u64,
        /// Whether the signature is otherwise valid.
        otherwise_valid: bool,
    },
}

/// A form of the body the sender may have signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyForm {
    /// Compact JSON, keys in the received order (what every seed sender sends).
    Compact,
    /// Compact JSON, keys sorted (what many JSON libraries write back).
    CompactSortedKeys,
    /// Pretty-printed JSON (2-space indentation), keys in the received order.
    Pretty,
    /// The received bytes without their trailing newline.
    WithoutTrailingNewline,
    /// The received bytes with a trailing newline.
    WithTrailingNewline,
    /// The received bytes with CRLF line ends turned into LF.
    LfLineEnds,
}

/// A change to the secret that makes the request verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretChange {
    /// Without its trailing newline.
    TrailingNewlineRemoved,
    /// With a trailing newline.
    TrailingNewlineAdded,
    /// Without trailing whitespace (Stalwart trims key files this way).
    TrailingWhitespaceRemoved,
    /// Without surrounding whitespace.
    SurroundingWhitespaceRemoved,
    /// Hex-decoded (the sender decodes; the text was used as the key).
    HexDecoded,
    /// Used as text (the sender uses the text; it was hex-decoded).
    HexText,
    /// Standard Webhooks `whsec_…` used as text instead of base64-decoded.
    WhsecUsedAsText,
    /// Standard Webhooks secret without the `whsec_` prefix, used as text.
    WhsecBodyUsedAsText,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::BodyReserialized { signed } => write!(
                f,
                "the signature matches {signed} of the same JSON: the body was re-serialized \
                 between the wire and the verifier; verify the raw bytes as received"
            ),
            Finding::SecretWhitespace { change } | Finding::SecretEncoding { change } => {
                write!(f, "the signature matches the secret {change}")
            }
            Finding::SignatureEncoding { found, expected } => write!(
                f,
                "the signature is {found} where this scheme uses {expected}: the sender or \
                 the verifier is set to the wrong format"
            ),
            Finding::OtherScheme {
                header,
                scheme,
                verifies,
            } => {
                write!(
                    f,
                    "the request carries `{header}`, the {scheme} signature header"
                )?;
                if *verifies {
                    write!(
                        f,
                        ", and it verifies as {scheme} with this secret: set the verifier's scheme to {scheme}"
                    )
                } else {
                    write!(f, ": is the verifier set to the right sender?")
                }
            }
            Finding::TimestampOutsideTolerance {
                age_secs,
                tolerance_secs,
                otherwise_valid,
            } => {
                let (n, dir) = (
                    age_secs.unsigned_abs(),
                    if *age_secs >= 0 {
                        "old"
                    } else {
                        "in the future"
                    },
                );
                write!(
                    f,
                    "the timestamp is {n} s {dir}, {} s beyond the {tolerance_secs} s tolerance",
                    n.saturating_sub(*tolerance_secs)
                )?;
                if *otherwise_valid {
                    write!(
                        f,
                        "; the signature is otherwise valid: check the clocks (NTP) or whether this is a replayed request"
                    )
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl fmt::Display for BodyForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyForm::Compact => "the compact encoding (no whitespace)",
            BodyForm::CompactSortedKeys => "a compact encoding with sorted keys",
            BodyForm::Pretty => "a pretty-printed encoding",
            BodyForm::WithoutTrailingNewline => "the body without its trailing newline",
            BodyForm::WithTrailingNewline => "the body with a trailing newline",
            BodyForm::LfLineEnds => "the body with LF line ends (CRLF was received)",
        })
    }
}

impl fmt::Display for SecretChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretChange::TrailingNewlineRemoved => {
                "without its trailing newline (a file or `echo` added one)"
            }
            SecretChange::TrailingNewlineAdded => {
                "with a trailing newline (the sender's copy has one)"
            }
            SecretChange::TrailingWhitespaceRemoved => {
                "without its trailing whitespace (Stalwart trims key files so)"
            }
            SecretChange::SurroundingWhitespaceRemoved => "without its surrounding whitespace",
            SecretChange::HexDecoded => "hex-decoded (the sender decodes it; it was used as text)",
            SecretChange::HexText => {
                "used as text (the sender uses the hex text itself, not its decoded bytes)"
            }
            SecretChange::WhsecUsedAsText => {
                "`whsec_…` used as text: Standard Webhooks keys are the base64-decoded part \
                 after `whsec_`"
            }
            SecretChange::WhsecBodyUsedAsText => {
                "without `whsec_` but used as text: the part after `whsec_` must be \
                 base64-decoded"
            }
        })
    }
}

/// Verifies a request and, if it fails, finds which likely mistake explains it.
///
/// `secret` is the secret's text as the receiver has it (a `whsec_…` string for
/// Standard Webhooks). `now` is the clock to judge timestamps by.
///
/// ```
/// use webhook_core::{Scheme, Secret, diagnose::{diagnose, Finding, SecretChange}, senders::stalwart};
///
/// let body = br#"{"events":[]}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-signature", stalwart::sign(&Secret::new("s3cret"), body).parse()?);
///
/// // The receiver read its secret from a file with a trailing newline and kept it.
/// let diagnosis = diagnose(Scheme::Stalwart, b"s3cret\n", &headers, body, std::time::SystemTime::now());
/// assert!(!diagnosis.is_valid());
/// assert_eq!(
///     diagnosis.findings,
///     [Finding::SecretWhitespace { change: SecretChange::TrailingNewlineRemoved }]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diagnose<R: RequestView + ?Sized>(
    scheme: Scheme,
    secret: &[u8],
    request: &R,
    body: &[u8],
    now: SystemTime,
) -> Diagnosis {
    let headers = snapshot(request);
    let Some(primary) = key_for(scheme, secret) else {
        return Diagnosis {
            result: Err(VerifyError::SignatureMismatch { keys_tried: 0 }),
            findings: secret_findings(scheme, secret, &headers, body, now),
        };
    };
    // The verdict comes from the request itself; the variants from a rewritable copy.
    let result = verifier(scheme, &primary, body)
        .and_then(|verifier| verifier.verify_at(request, body, now).map(drop));
    let mut findings = Vec::new();
    match &result {
        Ok(()) => {}
        Err(VerifyError::TimestampOutOfWindow {
            age_secs,
            tolerance_secs,
            ..
        }) => {
            let offset = Duration::from_secs(age_secs.unsigned_abs());
            let signed_at = if *age_secs >= 0 {
                now - offset
            } else {
                now + offset
            };
            findings.push(Finding::TimestampOutsideTolerance {
                age_secs: *age_secs,
                tolerance_secs: *tolerance_secs,
                otherwise_valid: check(scheme, &primary, &headers, body, signed_at).is_ok(),
            });
        }
        Err(_) => {
            for (form, candidate) in body_forms(body) {
                if check(scheme, &primary, &headers, &candidate, now).is_ok() {
                    findings.push(Finding::BodyReserialized { signed: form });
                }
            }
            findings.extend(secret_findings(scheme, secret, &headers, body, now));
            findings.extend(encoding_findings(scheme, &primary, &headers, body, now));
            findings.extend(other_scheme_findings(scheme, secret, &headers, body, now));
        }
    }
    Diagnosis { result, findings }
}

/// The key a scheme derives from a secret's text; `None` if it cannot (empty, or a bad
/// `whsec_`).
fn key_for(scheme: Scheme, text: &[u8]) -> Option<Secret> {
    scheme.secret_from(text).ok().filter(|key| !key.is_empty())
}

fn verifier(scheme: Scheme, key: &Secret, body: &[u8]) -> Result<Verifier, VerifyError> {
    Verifier::builder(scheme)
        .secret(key.clone())
        .max_body_bytes(body.len().max(1))
        .build()
        .map_err(|_| VerifyError::SignatureMismatch { keys_tried: 0 })
}

fn check(
    scheme: Scheme,
    key: &Secret,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), VerifyError> {
    verifier(scheme, key, body)?
        .verify_at(headers, body, now)
        .map(drop)
}

/// Whitespace and encoding variants of the secret's text that make the request verify.
fn secret_findings(
    scheme: Scheme,
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Vec<Finding> {
    let one_newline_less = secret
        .strip_suffix(b"\r\n")
        .or_else(|| secret.strip_suffix(b"\n"));
    let mut candidates: Vec<(SecretChange, Vec<u8>)> = match one_newline_less {
        Some(stripped) => vec![(SecretChange::TrailingNewlineRemoved, stripped.to_vec())],
        None => vec![(SecretChange::TrailingNewlineAdded, [secret, b"\n"].concat())],
    };
    candidates.push((
        SecretChange::TrailingWhitespaceRemoved,
        secret.trim_ascii_end().to_vec(),
    ));
    candidates.push((
        SecretChange::SurroundingWhitespaceRemoved,
        secret.trim_ascii().to_vec(),
    ));
    // Each distinct text once, under the first (most specific) change that produces it.
    let mut seen: Vec<Vec<u8>> = vec![secret.to_vec()];
    candidates.retain(|(_, text)| {
        let fresh = !seen.contains(text);
        seen.push(text.clone());
        fresh
    });
    let mut findings: Vec<Finding> = candidates
        .into_iter()
        .filter(|(_, text)| {
            key_for(scheme, text).is_some_and(|key| check(scheme, &key, headers, body, now).is_ok())
        })
        .map(|(change, _)| Finding::SecretWhitespace { change })
        .collect();

    if let Some(signature) = scheme.rules().signature {
        let verifies = |key: &Secret| check(scheme, key, headers, body, now).is_ok();
        findings.extend(
            signature
                .secret_encoding_hints(secret.trim_ascii(), headers, body, &verifies)
                .into_iter()
                .map(|change| Finding::SecretEncoding { change }),
        );
    }
    findings
}

fn encoding_findings(
    scheme: Scheme,
    key: &Secret,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Vec<Finding> {
    let Some(signature) = scheme.rules().signature else {
        return Vec::new();
    };
    let header = signature.signature_header();
    let Some(value) = header_text(headers, header.name()) else {
        return Vec::new();
    };
    let Some(reencoded) = signature.reencoded(value.trim()) else {
        return Vec::new();
    };
    let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(header.name().as_bytes()),
        HeaderValue::from_str(&reencoded.value),
    ) else {
        return Vec::new();
    };
    let mut candidate = headers.clone();
    if let Some(alias) = header.alternate() {
        candidate.remove(alias);
    }
    candidate.insert(name, value);
    if check(scheme, key, &candidate, body, now).is_ok() {
        vec![Finding::SignatureEncoding {
            found: reencoded.found,
            expected: reencoded.expected,
        }]
    } else {
        Vec::new()
    }
}

fn other_scheme_findings(
    scheme: Scheme,
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Vec<Finding> {
    let signature_headers = Scheme::ALL.into_iter().flat_map(|other| {
        other
            .rules()
            .signature
            .map(|s| s.signature_header())
            .into_iter()
            .flat_map(move |header| header.names().map(move |name| (other, name)))
    });
    signature_headers
        .filter(|(other, header)| *other != scheme && headers.contains_key(*header))
        .map(|(other, header)| Finding::OtherScheme {
            header,
            scheme: other,
            verifies: key_for(other, secret.trim_ascii())
                .is_some_and(|key| check(other, &key, headers, body, now).is_ok()),
        })
        .collect()
}

/// The body forms a sender may have signed, each different from what was received,
/// most specific first: when two explanations give the same bytes, the byte-level one
/// (a newline, line ends) is the one reported.
fn body_forms(body: &[u8]) -> Vec<(BodyForm, Vec<u8>)> {
    let mut forms = Vec::new();
    match body.strip_suffix(b"\n") {
        Some(stripped) => forms.push((BodyForm::WithoutTrailingNewline, stripped.to_vec())),
        None => forms.push((BodyForm::WithTrailingNewline, [body, b"\n"].concat())),
    }
    if body.windows(2).any(|w| w == b"\r\n") {
        let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
        forms.push((BodyForm::LfLineEnds, text.into_bytes()));
    }
    if let Ok(value) = serde_json::from_slice::<Ordered>(body) {
        forms.push((BodyForm::Compact, value.render(None, 0).into_bytes()));
        forms.push((BodyForm::Pretty, value.render(Some(2), 0).into_bytes()));
    }
    if let Ok(sorted) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(text) = serde_json::to_vec(&sorted)
    {
        forms.push((BodyForm::CompactSortedKeys, text));
    }
    let mut seen: Vec<&[u8]> = vec![body];
    let mut distinct = Vec::new();
    for (form, bytes) in &forms {
        if !seen.contains(&bytes.as_slice()) {
            seen.push(bytes);
            distinct.push((*form, bytes.clone()));
        }
    }
    distinct
}

/// A JSON value that keeps object keys in their order (serde_json's map sorts them).
enum Ordered {
    Scalar(Box<serde_json::value::RawValue>),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    fn render(&self, indent: Option<usize>, depth: usize) -> String {
        let mut out = String::new();
        self.write(&mut out, indent, depth);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            if let Some(width) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(width * depth));
            }
        };
        match self {
            Ordered::Scalar(raw) => out.push_str(raw.get()),
            Ordered::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, indent, depth + 1);
                }
                if !items.is_empty() {
                    newline(out, depth);
                }
                out.push(']');
            }
            Ordered::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, indent, depth + 1);
                }
                if !entries.is_empty() {
                    newline(out, depth);
                }
                out.push('}');
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Ordered, E> {
                scalar(&v)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ordered, E> {
                scalar(&v)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ordered, E> {
                scalar(&v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Ordered, E> {
                scalar(&v)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ordered, E> {
                scalar(&v)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Ordered, E> {
                scalar(&())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
                    entries.push((key, value));
                }
                Ok(Ordered::Object(entries))
            }
        }
        fn scalar<T: serde::Serialize + ?Sized, E: serde::de::Error>(
            value: &T,
        ) -> Result<Ordered, E> {
            serde_json::value::to_raw_value(value)
                .map(Ordered::Scalar)
                .map_err(E::custom)
        }
        deserializer.deserialize_any(V)
    }
}

/// The headers any scheme reads, copied into a map diagnosis can rewrite.
fn snapshot<R: RequestView + ?Sized>(request: &R) -> HeaderMap {
    let sender_headers = Scheme::ALL
        .into_iter()
        .flat_map(|scheme| scheme.headers().iter().flat_map(|header| header.names()));
    let mut map = HeaderMap::new();
    for name in sender_headers.chain(["content-type", "authorization"]) {
        let header = HeaderName::from_static(name);
        if let HeaderLookup::One(value) = request.header(&header)
            && let Ok(value) = HeaderValue::from_bytes(value)
        {
            map.insert(header, value);
        }
    }
    map
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

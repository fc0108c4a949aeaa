//! Explaining a failed verification: which likely mistake fits.
//!
//! When a signature does not verify, the cause is almost never a forger; it is one of a
//! handful of integration mistakes. The diagnosis re-runs the sender's signature check
//! on variants of the request, one mistake at a time, and reports each variant that
//! verifies:
//!
//! - the body was **re-serialized** (parsed and written back with other whitespace,
//!   key order or a trailing newline) before it reached the verifier, or its event's
//!   keys are in another order than the sender writes them;
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
//!
//! # Two entry points, and what each may cost
//!
//! [`diagnose`] explains a request you hold (a capture, a test, `webhook verify`): it
//! verifies it and, if it fails, tries every variant that fits the failure.
//!
//! [`diagnose_rejection`] explains a request a live receiver has just refused. Anyone
//! can send such requests, so it is bounded so that a client without the secret cannot
//! make the receiver do more than about one HMAC over a body at the default limit:
//!
//! - it runs only where a variant can help: a signature that does not match or is
//!   malformed, or a stale timestamp, or another sender's signature header where this
//!   one's is missing; never for a request that failed its credentials or URL token
//!   (checked before the signature), is too large, or carries no signature at all;
//! - it explains bodies up to [`RECEIVER_MAX_BODY_BYTES`] (32 KiB) only, and says so
//!   ([`Skipped`]) for larger ones;
//! - a re-serialized form is written in one streaming pass and abandoned once it would
//!   outgrow the body (4× for the pretty-printed form): no tree, no indentation or
//!   copying that grows with the nesting depth; at most 7 × the body (+ 1 KiB) is
//!   written for the three forms together;
//! - at most 14 signature checks run, over at most 17 × the body (+ 1 KiB) in all:
//!   under 560 KiB for a 32 KiB body, about half of one HMAC over a 1 MiB body. Their
//!   number depends on the request only, never on the secret: a candidate key the
//!   secret's text does not yield (it is not hex, has no whitespace to trim, …) is
//!   replaced by the secret itself and its outcome ignored, so timing the rejections
//!   tells nothing about the secret's shape.
//!
//! - a body whose signature matches none of those forms has the keys of its first
//!   event read in one streaming pass (values skipped, no tree, no HMAC) and compared
//!   with the order its sender writes them in ([`Finding::KeysReordered`]).
//!
//! [`Diagnosis::work`] reports the work done. Run the diagnosis off the async
//! executor's threads (`spawn_blocking`), as `webhook listen` does.

mod key_order;
mod reserialize;

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use zeroize::Zeroizing;

use crate::{
    Scheme, Secret, Verifier, VerifyError,
    request::{HeaderLookup, RequestView},
    secret::{KeyEncoding, STANDARD_WEBHOOKS_SECRET_PREFIX},
    verifier::{Keys, unix_seconds},
};
use reserialize::Style;

/// The largest body [`diagnose_rejection`] explains (32 KiB): single events and small
/// batches, where integration mistakes show on the first delivery. A larger rejected
/// body is not diagnosed ([`Skipped::BodyTooLarge`]); capture it and run [`diagnose`]
/// (`webhook verify`) on it.
pub const RECEIVER_MAX_BODY_BYTES: usize = 32 * 1024;

/// How much a re-serialized form may outgrow the body besides its factor (the
/// whitespace a tiny body gains when pretty-printed).
const GROWTH_SLACK: usize = 256;

/// How much larger than the body its pretty-printed form may be. Webhook payloads are
/// shallow objects of strings and numbers: indented, they grow by well under 2×.
const PRETTY_GROWTH: usize = 4;

/// The outcome of [`diagnose`] or [`diagnose_rejection`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnosis {
    /// What the verifier says about the request as given.
    pub result: Result<(), VerifyError>,
    /// The likely mistakes that explain a failure (empty when it verifies, or when no
    /// known mistake fits: then the secret is most likely simply not the sender's).
    pub findings: Vec<Finding>,
    /// Why the variants were not tried, if they were not.
    pub skipped: Option<Skipped>,
    /// The work the diagnosis did.
    pub work: Work,
}

impl Diagnosis {
    /// Whether the request verifies as given.
    pub fn is_valid(&self) -> bool {
        self.result.is_ok()
    }
}

/// Why a diagnosis tried no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skipped {
    /// The body is larger than a receiver diagnoses ([`RECEIVER_MAX_BODY_BYTES`]).
    BodyTooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skipped::BodyTooLarge { size, limit } => write!(
                f,
                "not diagnosed: the body ({size} bytes) is larger than the {limit} bytes a \
                 receiver diagnoses; capture the request and run `webhook verify` on it"
            ),
        }
    }
}

/// What a diagnosis cost: its signature checks and the bytes they and the
/// re-serializations handled. Depends on the request, never on the secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Work {
    /// Signature checks run, each one HMAC-SHA256 under one key.
    pub checks: usize,
    /// Body bytes handed to those checks (what they hash, but for a Standard Webhooks
    /// id and timestamp).
    pub bytes_checked: usize,
    /// Bytes written re-serializing the body (the sorted-keys form's final join
    /// included).
    pub bytes_rendered: usize,
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
    /// The body's events have their keys in another order than the sender writes
    /// them: a JSON library wrote the body back with its own order (sorted, or a hash
    /// map's) before the verifier saw it. Read from the body, not proven by a signature
    /// (the sender's original order cannot be rebuilt for every object).
    KeysReordered {
        /// The sender.
        scheme: Scheme,
        /// The sender's keys as the body has them.
        found: Vec<&'static str>,
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
            Finding::BodyReserialized { signed } => match signed {
                BodyForm::WithoutTrailingNewline => f.write_str(
                    "the signature matches the body without its trailing newline: a newline \
                     was added after signing (an editor or `echo` saving the capture, a \
                     framework reading the body as text); verify the bytes exactly as sent",
                ),
                BodyForm::WithTrailingNewline => f.write_str(
                    "the signature matches the body with a trailing newline: the sender's \
                     final newline was lost (`curl -d @file` strips newlines, `--data-binary` \
                     keeps them; so do some capture tools); verify the bytes exactly as sent",
                ),
                BodyForm::LfLineEnds => f.write_str(
                    "the signature matches the body with LF line ends: CRLF line ends were \
                     introduced after signing (a text-mode transfer or editor); verify the \
                     bytes exactly as sent",
                ),
                _ => write!(
                    f,
                    "the signature matches {signed} of the same JSON: the body was \
                     re-serialized between the wire and the verifier; verify the raw bytes as \
                     received"
                ),
            },
            Finding::KeysReordered { scheme, found } => {
                let expected: Vec<&str> = scheme
                    .rules()
                    .key_order
                    .map(|order| {
                        order
                            .keys
                            .iter()
                            .copied()
                            .filter(|k| found.contains(k))
                            .collect()
                    })
                    .unwrap_or_default();
                write!(
                    f,
                    "the event's keys are in the order {}, where {scheme} writes {}: a JSON \
                     library parsed the body and wrote it back with its own key order before \
                     the verifier; verify the raw bytes as received",
                    quoted(found),
                    quoted(&expected)
                )
            }
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

/// `` `a`, `b`, `c` ``.
fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// Verifies a request you hold and, if it fails, finds which likely mistake explains it.
///
/// `secret` is the secret's text as the receiver has it (a `whsec_…` string for
/// Standard Webhooks). `now` is the clock to judge timestamps by. The work grows with
/// the body (about 17 times its size in hashing), so this is for requests you chose to
/// examine; a receiver explaining the requests it refuses uses [`diagnose_rejection`].
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
    let subject = Subject {
        scheme,
        text: Zeroizing::new(secret.to_vec()),
        primary: key_for(scheme, secret),
        window: None,
    };
    let mut work = Work::default();
    // The verdict comes from the request itself; the variants from a rewritable copy.
    let result = match &subject.primary {
        Some(key) => {
            work.count(body);
            verdict(scheme, key, request, body, now)
        }
        None => Err(VerifyError::SignatureMismatch { keys_tried: 0 }),
    };
    let findings = subject.explain(&result, &headers, body, now, &mut work);
    Diagnosis {
        result,
        findings,
        skipped: None,
        work,
    }
}

/// Explains why `verifier` refused a request with `error`, within a receiver's bounds
/// (see [the module docs](self#two-entry-points-and-what-each-may-cost)); `None` where
/// no variant can help, so nothing was tried.
///
/// The diagnosis keys with the verifier's first secret and judges timestamps with its
/// replay window. It tries nothing for a verifier without secrets, for a rejection
/// other than a signature or signed-timestamp one (credentials and URL tokens are
/// checked before the signature, so a request that failed them is never diagnosed),
/// and for a missing signature unless another sender's signature header is there.
///
/// ```
/// use webhook_core::{Scheme, Secret, Verifier, diagnose::{diagnose_rejection, BodyForm, Finding}, senders::stalwart};
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("s3cret")).build()?;
/// let signed = br#"{"events":[]}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-signature", stalwart::sign(&Secret::new("s3cret"), signed).parse()?);
///
/// // A framework pretty-printed the body before it reached the verifier.
/// let received = b"{\n  \"events\": []\n}";
/// let now = std::time::SystemTime::now();
/// let error = verifier.verify_at(&headers, &received[..], now).unwrap_err();
/// let diagnosis = diagnose_rejection(&verifier, &error, &headers, received, now).unwrap();
/// assert_eq!(diagnosis.findings, [Finding::BodyReserialized { signed: BodyForm::Compact }]);
///
/// // No signature at all: nothing can help, nothing is tried.
/// let error = verifier.verify_at(&http::HeaderMap::new(), &received[..], now).unwrap_err();
/// assert!(diagnose_rejection(&verifier, &error, &http::HeaderMap::new(), received, now).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diagnose_rejection<R: RequestView + ?Sized>(
    verifier: &Verifier,
    error: &VerifyError,
    request: &R,
    body: &[u8],
    now: SystemTime,
) -> Option<Diagnosis> {
    let scheme = verifier.scheme();
    let key = verifier.first_secret()?;
    let headers = snapshot(request);
    let helps = match error {
        VerifyError::SignatureMismatch { .. }
        | VerifyError::MalformedSignature { .. }
        | VerifyError::TimestampOutOfWindow { .. } => true,
        VerifyError::MissingSignature { .. }
        | VerifyError::MissingHeader { .. }
        | VerifyError::MissingTimestamp { .. } => {
            other_signatures(scheme, &headers).next().is_some()
        }
        _ => false,
    };
    if !helps {
        return None;
    }
    let result = Err(error.clone());
    if body.len() > RECEIVER_MAX_BODY_BYTES {
        return Some(Diagnosis {
            result,
            findings: Vec::new(),
            skipped: Some(Skipped::BodyTooLarge {
                size: body.len(),
                limit: RECEIVER_MAX_BODY_BYTES,
            }),
            work: Work::default(),
        });
    }
    let text = match key.encoding() {
        KeyEncoding::Raw => Zeroizing::new(key.expose().to_vec()),
        KeyEncoding::StandardWebhooks => {
            let mut text = Zeroizing::new(STANDARD_WEBHOOKS_SECRET_PREFIX.as_bytes().to_vec());
            let encoded =
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.expose()));
            text.extend_from_slice(encoded.as_bytes());
            text
        }
    };
    let subject = Subject {
        scheme,
        text,
        primary: Some(key.clone()),
        window: verifier.replay_window(),
    };
    let mut work = Work::default();
    let findings = subject.explain(&result, &headers, body, now, &mut work);
    Some(Diagnosis {
        result,
        findings,
        skipped: None,
        work,
    })
}

impl Work {
    fn count(&mut self, body: &[u8]) {
        self.checks += 1;
        self.bytes_checked += body.len();
    }
}

/// What is diagnosed with: the secret's text, the key it gives (`None` if it gives none:
/// empty, or a bad `whsec_`), and the replay window to judge timestamps by.
struct Subject {
    scheme: Scheme,
    text: Zeroizing<Vec<u8>>,
    primary: Option<Secret>,
    window: Option<Duration>,
}

impl Subject {
    /// The variants that fit the failure, and what they show.
    fn explain(
        &self,
        result: &Result<(), VerifyError>,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        work: &mut Work,
    ) -> Vec<Finding> {
        let Err(error) = result else {
            return Vec::new();
        };
        let mut findings = Vec::new();
        match error {
            VerifyError::TimestampOutOfWindow {
                age_secs,
                tolerance_secs,
                ..
            } => {
                let offset = Duration::from_secs(age_secs.unsigned_abs());
                let signed_at = if *age_secs >= 0 {
                    now.checked_sub(offset)
                } else {
                    now.checked_add(offset)
                };
                let otherwise_valid = signed_at.is_some_and(|at| {
                    self.attempt(work, self.scheme, self.primary.as_ref(), headers, body, at)
                });
                findings.push(Finding::TimestampOutsideTolerance {
                    age_secs: *age_secs,
                    tolerance_secs: *tolerance_secs,
                    otherwise_valid,
                });
            }
            VerifyError::SignatureMismatch { .. } => {
                if self.primary.is_some() {
                    findings.extend(self.body_findings(headers, body, now, work));
                }
                // No signature check: one streaming read of the first event's keys.
                if findings.is_empty()
                    && let Some(order) = &self.scheme.rules().key_order
                    && let Some(found) = key_order::reordered(order, body)
                {
                    findings.push(Finding::KeysReordered {
                        scheme: self.scheme,
                        found,
                    });
                }
                findings.extend(self.secret_findings(headers, body, now, work));
                findings.extend(self.encoding_findings(headers, body, now, work));
                findings.extend(self.other_scheme_findings(headers, body, now, work));
            }
            VerifyError::MalformedSignature { .. } => {
                findings.extend(self.encoding_findings(headers, body, now, work));
                findings.extend(self.other_scheme_findings(headers, body, now, work));
            }
            VerifyError::MissingSignature { .. }
            | VerifyError::MissingHeader { .. }
            | VerifyError::MissingTimestamp { .. } => {
                findings.extend(self.other_scheme_findings(headers, body, now, work));
            }
            _ => {}
        }
        findings
    }

    /// Checks `scheme`'s signature on `headers` and `body` under `key`. Without such a
    /// key the same check runs under the primary key and its outcome is ignored, so the
    /// work stays the same whatever the secret's text looks like.
    fn attempt(
        &self,
        work: &mut Work,
        scheme: Scheme,
        key: Option<&Secret>,
        headers: &HeaderMap,
        body: &[u8],
        at: SystemTime,
    ) -> bool {
        let Some(signature) = scheme.rules().signature else {
            return false;
        };
        let (key, counts) = match (key, &self.primary) {
            (Some(key), _) => (key, true),
            (None, Some(primary)) => (primary, false),
            (None, None) => return false,
        };
        work.count(body);
        let keys = Keys::one(key.clone());
        let window = if scheme == self.scheme {
            self.window
        } else {
            None
        };
        let verified = signature
            .verify(headers, body, &keys, window, &|| unix_seconds(at))
            .is_ok();
        verified && counts
    }

    /// The body forms the sender may have signed that make the request verify.
    fn body_findings(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        work: &mut Work,
    ) -> Vec<Finding> {
        body_forms(body, work)
            .into_iter()
            .filter(|(_, candidate)| {
                self.attempt(
                    work,
                    self.scheme,
                    self.primary.as_ref(),
                    headers,
                    candidate,
                    now,
                )
            })
            .map(|(signed, _)| Finding::BodyReserialized { signed })
            .collect()
    }

    /// Whitespace and encoding variants of the secret's text that make the request
    /// verify: always the same number of checks (three for whitespace, the sender's
    /// fixed list for encodings).
    fn secret_findings(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        work: &mut Work,
    ) -> Vec<Finding> {
        let text: &[u8] = &self.text;
        let with_newline = Zeroizing::new([text, b"\n"].concat());
        let newline = match text
            .strip_suffix(b"\r\n")
            .or_else(|| text.strip_suffix(b"\n"))
        {
            Some(stripped) => (SecretChange::TrailingNewlineRemoved, stripped),
            None => (SecretChange::TrailingNewlineAdded, &with_newline[..]),
        };
        let candidates = [
            newline,
            (
                SecretChange::TrailingWhitespaceRemoved,
                text.trim_ascii_end(),
            ),
            (
                SecretChange::SurroundingWhitespaceRemoved,
                text.trim_ascii(),
            ),
        ];
        let mut findings = Vec::new();
        // Each distinct text under the first (most specific) change that produces it;
        // a repeated one is still checked (under the primary key), for constant work.
        let mut seen: Vec<&[u8]> = vec![text];
        for (change, candidate) in candidates {
            let fresh = !seen.contains(&candidate);
            seen.push(candidate);
            let key = if fresh {
                key_for(self.scheme, candidate)
            } else {
                None
            };
            if self.attempt(work, self.scheme, key.as_ref(), headers, body, now) {
                findings.push(Finding::SecretWhitespace { change });
            }
        }
        if let Some(signature) = self.scheme.rules().signature {
            for (change, key) in signature.secret_encoding_candidates(text.trim_ascii()) {
                if self.attempt(work, self.scheme, key.as_ref(), headers, body, now) {
                    findings.push(Finding::SecretEncoding { change });
                }
            }
        }
        findings
    }

    /// The presented signature in another encoding, re-encoded the sender's way.
    fn encoding_findings(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        work: &mut Work,
    ) -> Option<Finding> {
        let signature = self.scheme.rules().signature?;
        let header = signature.signature_header();
        let value = headers.get(header.name())?.to_str().ok()?;
        let reencoded = signature.reencoded(value.trim())?;
        let name = HeaderName::from_bytes(header.name().as_bytes()).ok()?;
        let value = HeaderValue::from_str(&reencoded.value).ok()?;
        let mut candidate = headers.clone();
        if let Some(alias) = header.alternate() {
            candidate.remove(alias);
        }
        candidate.insert(name, value);
        self.attempt(
            work,
            self.scheme,
            self.primary.as_ref(),
            &candidate,
            body,
            now,
        )
        .then_some(Finding::SignatureEncoding {
            found: reencoded.found,
            expected: reencoded.expected,
        })
    }

    /// Other senders' signature headers on the request, each with whether the request
    /// verifies under that sender with the same secret (one check per sender).
    fn other_scheme_findings(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        work: &mut Work,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for other in Scheme::ALL {
            let present: Vec<&'static str> = other_signatures(self.scheme, headers)
                .filter(|(scheme, _)| *scheme == other)
                .map(|(_, header)| header)
                .collect();
            if present.is_empty() {
                continue;
            }
            let key = key_for(other, self.text.trim_ascii());
            let verifies = self.attempt(work, other, key.as_ref(), headers, body, now);
            findings.extend(present.into_iter().map(|header| Finding::OtherScheme {
                header,
                scheme: other,
                verifies,
            }));
        }
        findings
    }
}

/// The key a scheme derives from a secret's text; `None` if it cannot (empty, or a bad
/// `whsec_`).
fn key_for(scheme: Scheme, text: &[u8]) -> Option<Secret> {
    scheme.secret_from(text).ok().filter(|key| !key.is_empty())
}

/// The verdict on the request as given, by a verifier holding `key`.
fn verdict<R: RequestView + ?Sized>(
    scheme: Scheme,
    key: &Secret,
    request: &R,
    body: &[u8],
    now: SystemTime,
) -> Result<(), VerifyError> {
    Verifier::builder(scheme)
        .secret(key.clone())
        .max_body_bytes(body.len().max(1))
        .build()
        .map_err(|_| VerifyError::SignatureMismatch { keys_tried: 0 })?
        .verify_at(request, body, now)
        .map(drop)
}

/// The signature headers of senders other than `scheme` that `headers` carries.
fn other_signatures(
    scheme: Scheme,
    headers: &HeaderMap,
) -> impl Iterator<Item = (Scheme, &'static str)> + '_ {
    Scheme::ALL
        .into_iter()
        .filter(move |other| *other != scheme)
        .flat_map(|other| {
            other
                .rules()
                .signature
                .map(|s| s.signature_header())
                .into_iter()
                .flat_map(move |header| header.names().map(move |name| (other, name)))
        })
        .filter(|(_, name)| headers.contains_key(*name))
}

/// The body forms a sender may have signed, each different from what was received,
/// most specific first: when two explanations give the same bytes, the byte-level one
/// (a newline, line ends) is the one reported. Re-serialized forms are capped near the
/// body's size (see [`reserialize`]).
fn body_forms(body: &[u8], work: &mut Work) -> Vec<(BodyForm, Vec<u8>)> {
    let mut forms = Vec::new();
    match body.strip_suffix(b"\n") {
        Some(stripped) => forms.push((BodyForm::WithoutTrailingNewline, stripped.to_vec())),
        None => forms.push((BodyForm::WithTrailingNewline, [body, b"\n"].concat())),
    }
    if body.windows(2).any(|w| w == b"\r\n") {
        forms.push((BodyForm::LfLineEnds, lf_line_ends(body)));
    }
    let near = body.len().saturating_add(GROWTH_SLACK);
    let pretty = body
        .len()
        .saturating_mul(PRETTY_GROWTH)
        .saturating_add(GROWTH_SLACK);
    for (form, style, cap) in [
        (BodyForm::Compact, Style::Compact, near),
        (BodyForm::Pretty, Style::Pretty, pretty),
        (BodyForm::CompactSortedKeys, Style::CompactSortedKeys, near),
    ] {
        let rendered = reserialize::render(body, style, cap);
        work.bytes_rendered += rendered.cost;
        match rendered.bytes {
            Some(bytes) => forms.push((form, bytes)),
            // Not JSON: no other style will make it JSON.
            None if !rendered.capped => break,
            None => {}
        }
    }
    let mut distinct: Vec<(BodyForm, Vec<u8>)> = Vec::new();
    for (form, bytes) in forms {
        if bytes != body && distinct.iter().all(|(_, seen)| *seen != bytes) {
            distinct.push((form, bytes));
        }
    }
    distinct
}

/// The body with each CRLF turned into LF, byte for byte otherwise.
fn lf_line_ends(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for (i, &byte) in body.iter().enumerate() {
        if !(byte == b'\r' && body.get(i + 1) == Some(&b'\n')) {
            out.push(byte);
        }
    }
    out
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

//! What the rest of the crate asks a sender: its [`SenderRules`], one static value per
//! sender, and for a sender that signs, its [`SignatureRules`].
//!
//! Each sender's folder writes its rules once; [`Scheme::rules`](crate::Scheme) is the
//! one place that turns a [`Scheme`](crate::Scheme) into them. The verifier, the replay
//! check, idempotency and diagnosis read these rules instead of matching on the
//! scheme, so what a sender does is read in its folder and nowhere else.
//!
//! Both are crate-private, and so sealed: the public face of a sender is its
//! [`Scheme`](crate::Scheme) variant and its folder's public items.

use std::time::Duration;

use crate::{
    MediaType, Secret,
    diagnose::SecretChange,
    error::VerifyError,
    events::{ParseContext, ParseError},
    idempotency::{DedupKey, Namespace},
    request::RequestView,
    secret::KeyEncoding,
    senders::{SenderHeader, SignError, SignedHeader, Stamp, stalwart::StalwartKey},
    stored::SplitEvents,
    verified::MatchedKey,
    verifier::Keys,
};

/// Everything hookwise knows about one sender: its names, its signature, where its
/// signed timestamp is, the limits and policies applied to it by default, and how its
/// bodies split into events. Each sender's `mod.rs` has one, with the reasons beside
/// the values.
pub(crate) struct SenderRules {
    /// The identifier on command lines and in configuration (`stalwart`, `email-api`).
    pub(crate) id: &'static str,
    /// Other identifiers accepted when parsing a [`Scheme`](crate::Scheme), lowercase.
    pub(crate) aliases: &'static [&'static str],
    /// The sender's name in prose (`Stalwart`, `Standard Webhooks`).
    pub(crate) name: &'static str,
    /// One line on how the sender authenticates, for listings and `--help`.
    pub(crate) summary: &'static str,
    /// How the sender signs, or `None` when it does not (WildDuck).
    pub(crate) signature: Option<&'static dyn SignatureRules>,
    /// Where the sender's signed timestamp is, which decides what a replay window does.
    pub(crate) replay: Replay,
    /// The body limit a verifier uses unless told otherwise.
    pub(crate) max_body_bytes: usize,
    /// The body formats the sender sends, which a verifier may be pinned to.
    pub(crate) media_types: &'static [MediaType],
    /// How long an idempotency claim protects an event while its handler runs.
    pub(crate) lease: Duration,
    /// How long a processed event is remembered: longer than `retry_horizon`.
    pub(crate) ttl: Duration,
    /// How long after an event's first delivery the sender may still redeliver it.
    pub(crate) retry_horizon: Duration,
    /// One deduplication key per event of a verified body, in order.
    pub(crate) event_keys: EventKeys,
    /// The body reduced to the events flagged `true` (one flag per event, in the order
    /// of `event_keys`), each written back as it arrived; `None` for a sender whose
    /// bodies carry one event (a body with nothing to keep is never handed on).
    pub(crate) retain_events: Option<RetainEvents>,
    /// The body's events for storage, each with its byte range, type and the key
    /// `event_keys` gives it (`stored.rs` in the sender's folder).
    pub(crate) split: SplitEvents,
    /// The order the sender writes an event's keys in, for the diagnosis of a body a
    /// JSON library wrote back with its own order; `None` where the sender's events
    /// have no fixed order (Standard Webhooks payloads are the application's).
    pub(crate) key_order: Option<KeyOrder>,
}

/// Where a sender's event objects are in its JSON body, and the order it writes their
/// keys in (keys not listed may come anywhere).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyOrder {
    /// The top-level key holding the array of events (`events`), or `None` when the
    /// body is one event.
    pub(crate) batch: Option<&'static str>,
    /// The keys, in the sender's order.
    pub(crate) keys: &'static [&'static str],
}

/// Reads the deduplication keys of a verified body's events (see
/// [`SenderRules::event_keys`]); only Stalwart's reads the [`StalwartKey`] choice.
pub(crate) type EventKeys =
    fn(&[u8], ParseContext<'_>, &Namespace, StalwartKey) -> Result<Vec<DedupKey>, ParseError>;

/// Writes a batch back with only the flagged events (see
/// [`SenderRules::retain_events`]).
pub(crate) type RetainEvents = fn(&[u8], ParseContext<'_>, &[bool]) -> Result<Vec<u8>, ParseError>;

/// Where a sender's signed timestamp is, if it has one.
pub(crate) enum Replay {
    /// Nowhere the verifier can rely on: a replay window is refused at build.
    Unsupported,
    /// In a signed header, judged with the signature on every request; a replay window
    /// sets its tolerance (Standard Webhooks).
    Header,
    /// In the signed body: with a replay window configured, this reads it after the MAC
    /// check and judges it (`body`, now in Unix seconds, the window), returning the
    /// timestamp judged.
    Body(fn(&[u8], i64, Duration) -> Result<i64, VerifyError>),
}

/// How a sender signs its requests.
pub(crate) trait SignatureRules: Sync {
    /// Every header the signature involves, the signature itself included.
    fn headers(&self) -> &[SenderHeader];

    /// The header carrying the signature.
    fn signature_header(&self) -> SenderHeader;

    /// How the sender turns a secret's text into its key.
    fn key_encoding(&self) -> KeyEncoding;

    /// Whether every request carries a message id, signed with the body and the same on
    /// every retry (Standard Webhooks' `webhook-id`).
    fn stamps_message_id(&self) -> bool {
        false
    }

    /// Checks the presented signature against `body` under each key: the headers'
    /// presence and format first (malformed is refused before any hashing), a signed
    /// timestamp against `window` (when the signature covers one), then the MACs in
    /// constant time.
    fn verify(
        &self,
        request: &dyn RequestView,
        body: &[u8],
        keys: &Keys,
        window: Option<Duration>,
        now: &dyn Fn() -> i64,
    ) -> Result<Signed, VerifyError>;

    /// The headers a sender adds to a request carrying `body` (see
    /// [`Scheme::sign`](crate::Scheme::sign)).
    fn sign(
        &self,
        secret: Option<&Secret>,
        body: &[u8],
        stamp: Option<Stamp<'_>>,
    ) -> Result<Vec<SignedHeader>, SignError>;

    /// Diagnosis: the presented signature value re-encoded the way this sender encodes
    /// it, when it looks like another encoding of a MAC (hex where base64 is expected, a
    /// missing or extra `sha256=`).
    fn reencoded(&self, value: &str) -> Option<Reencoded>;

    /// Diagnosis: the keys the secret's text gives when decoded on one side and not the
    /// other. The list is the same length for every text (`None` where this text gives
    /// no such key), so that what the diagnosis does never depends on the secret's
    /// shape.
    fn secret_encoding_candidates(&self, text: &[u8]) -> Vec<(SecretChange, Option<Secret>)> {
        // The sender uses the text itself; a receiver may have hex-decoded it.
        let decoded = hex::decode(text).ok().filter(|key| !key.is_empty());
        vec![(SecretChange::HexDecoded, decoded.map(Secret::new))]
    }
}

/// What a matching signature established.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) key: MatchedKey,
    /// The signed message id (Standard Webhooks).
    pub(crate) message_id: Option<Box<str>>,
    /// The signed timestamp judged with the signature (Standard Webhooks).
    pub(crate) signed_at: Option<i64>,
}

impl Signed {
    /// A signature over the body alone.
    pub(crate) fn body_only(key: MatchedKey) -> Self {
        Self {
            key,
            message_id: None,
            signed_at: None,
        }
    }
}

/// A presented signature in the encoding its sender uses, for diagnosis.
#[derive(Debug)]
pub(crate) struct Reencoded {
    /// What was presented (`hex`, `base64`, `hex with a sha256= prefix`).
    pub(crate) found: &'static str,
    /// What the sender uses.
    pub(crate) expected: &'static str,
    /// The presented MAC in the sender's encoding.
    pub(crate) value: String,
}

//! The [`Verifier`]: configured once, checks each request's raw body and headers.
//!
//! Checks run cheapest first, so hostile traffic costs as little as possible and
//! nothing unauthenticated is ever parsed:
//!
//! 1. body size against the limit (before any hashing);
//! 2. `Authorization` credentials and URL token, if configured;
//! 3. the declared `Content-Type` against the one the verifier is pinned to, if it is
//!    ([`VerifierBuilder::media_type`]);
//! 4. the signature headers' presence and format (malformed → 400 before hashing);
//! 5. a signed timestamp header (Standard Webhooks) against its tolerance;
//! 6. HMAC-SHA256 over the raw bytes under each secret, compared in constant time;
//! 7. the body's signed timestamp against the replay window, if one is configured.
//!
//! Steps 4 to 7 are the sender's: the verifier asks the sender's rules (see
//! [`senders`](crate::senders)) and knows no sender itself.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    Credentials, MediaType, Scheme, Secret, UrlToken,
    error::{BuildError, VerifyError},
    request::RequestView,
    secret::KeyEncoding,
    senders::rules::{Replay, SenderRules, Signed},
    tag::Tag,
    verified::{MatchedKey, Verification, Verified},
};

/// A general-purpose body limit, 1 MiB: what tools use when no sender is known.
///
/// A [`Verifier`] starts from its sender's own limit instead
/// ([`Scheme::default_max_body_bytes`]), sized to that sender's largest body: from
/// 64 KiB for one-event senders to 48 MiB for Stalwart's batch after an outage.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Verifies webhook requests for one sender. Cheap to clone (`Arc` inside), `Send + Sync`.
///
/// ```
/// use webhook_core::{Scheme, Secret, Verifier};
///
/// let verifier = Verifier::builder(Scheme::Stalwart)
///     .secret(Secret::new("my-secret-key"))
///     .build()?;
///
/// let body = br#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org","accountId":2,"spanId":312845863712866304,"listenerId":"imaps","localPort":993,"remoteIp":"203.0.113.7","remotePort":60211}},{"id":"1755784901333","createdAt":"2025-08-21T14:01:41Z","type":"security.authentication-ban","data":{"remoteIp":"192.0.2.99","accountName":"admin","id":"a1","spanId":312845867907170305,"listenerId":"imaps","localPort":993,"remotePort":49152}}]}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-signature", "Dp/FZwQ9uL1KtepDaPspuPG7952gZQJvmayk0Kuh/Os=".parse()?);
///
/// let verified = verifier.verify(&headers, &body[..])?;
/// assert_eq!(verified.verification().matched_key().unwrap().index(), 0);
///
/// let tampered = body.to_vec().into_iter().map(|b| if b == b'2' { b'3' } else { b }).collect::<Vec<_>>();
/// let err = verifier.verify(&headers, tampered).unwrap_err();
/// assert_eq!(err.status(), 401);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    scheme: Scheme,
    rules: &'static SenderRules,
    keys: Keys,
    credentials: Option<Credentials>,
    url_token: Option<UrlToken>,
    max_body_bytes: usize,
    replay_window: Option<Duration>,
    media_type: Option<MediaType>,
}

/// The secrets a verifier tries, in the order they were added.
pub(crate) struct Keys(Vec<Key>);

struct Key {
    secret: Secret,
    label: Option<Arc<str>>,
}

impl Keys {
    /// One unlabeled key (diagnosis checks candidate keys one at a time).
    pub(crate) fn one(secret: Secret) -> Self {
        Self(vec![Key {
            secret,
            label: None,
        }])
    }

    /// The first key under which `matches` holds, or the mismatch error.
    pub(crate) fn first_match(
        &self,
        matches: impl Fn(&Secret) -> bool,
    ) -> Result<MatchedKey, VerifyError> {
        let keys = &self.0;
        keys.iter()
            .position(|key| matches(&key.secret))
            .map(|index| MatchedKey {
                index,
                label: keys[index].label.clone(),
            })
            .ok_or(VerifyError::SignatureMismatch {
                keys_tried: keys.len(),
            })
    }

    /// The first key whose MAC of `body` is the presented tag.
    pub(crate) fn match_body(
        &self,
        presented: &Tag,
        body: &[u8],
    ) -> Result<MatchedKey, VerifyError> {
        self.first_match(|secret| presented.matches(&secret.tag(&[body])))
    }
}

impl Verifier {
    /// Starts configuring a verifier for `scheme`, with the sender's default body limit.
    pub fn builder(scheme: Scheme) -> VerifierBuilder {
        VerifierBuilder {
            scheme,
            keys: Vec::new(),
            credentials: Vec::new(),
            url_tokens: Vec::new(),
            max_body_bytes: scheme.rules().max_body_bytes,
            replay_window: None,
            media_type: None,
            accept_unauthenticated: false,
        }
    }

    /// Verifies a request against the current time.
    ///
    /// `body` must be the bytes exactly as received. On success it comes back inside
    /// [`Verified`], untouched.
    pub fn verify<R, B>(&self, request: &R, body: B) -> Result<Verified<B>, VerifyError>
    where
        R: RequestView + ?Sized,
        B: AsRef<[u8]>,
    {
        self.verify_with_clock(request, body, unix_now)
    }

    /// Verifies a request as of `now`, for tests and for replaying captured requests.
    pub fn verify_at<R, B>(
        &self,
        request: &R,
        body: B,
        now: SystemTime,
    ) -> Result<Verified<B>, VerifyError>
    where
        R: RequestView + ?Sized,
        B: AsRef<[u8]>,
    {
        self.verify_with_clock(request, body, || unix_seconds(now))
    }

    /// The body limit in bytes. Adapters stop reading a body past this.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme
    }

    /// The first secret added, which diagnosis keys with.
    pub(crate) fn first_secret(&self) -> Option<&Secret> {
        self.inner.keys.0.first().map(|key| &key.secret)
    }

    /// The configured replay window, if any.
    pub(crate) fn replay_window(&self) -> Option<Duration> {
        self.inner.replay_window
    }

    /// Refuses a request whose declared `Content-Length` exceeds the limit, so an
    /// adapter can answer 413 before reading any of the body.
    pub fn check_declared_length(&self, declared: Option<u64>) -> Result<(), VerifyError> {
        let limit = self.inner.max_body_bytes;
        match declared {
            Some(length) if length > limit as u64 => Err(VerifyError::BodyTooLarge {
                limit,
                declared: Some(length),
            }),
            _ => Ok(()),
        }
    }

    /// `now` is only called when a timestamp has to be judged, so schemes without one
    /// pay nothing for the clock.
    fn verify_with_clock<R, B>(
        &self,
        request: &R,
        body: B,
        now: impl Fn() -> i64,
    ) -> Result<Verified<B>, VerifyError>
    where
        R: RequestView + ?Sized,
        B: AsRef<[u8]>,
    {
        let inner = &*self.inner;
        let bytes = body.as_ref();
        if bytes.len() > inner.max_body_bytes {
            return Err(VerifyError::BodyTooLarge {
                limit: inner.max_body_bytes,
                declared: None,
            });
        }
        if let Some(credentials) = &inner.credentials {
            credentials.check(request)?;
        }
        if let Some(token) = &inner.url_token {
            token.check(request)?;
        }
        let media_type = match (inner.media_type, MediaType::of(request)) {
            (None, declared) => declared,
            (Some(pinned), declared) if declared == pinned || declared == MediaType::Missing => {
                pinned
            }
            (Some(expected), found) => {
                return Err(VerifyError::UnsupportedMediaType {
                    found,
                    declared: MediaType::declared(request),
                    expected,
                });
            }
        };

        let now: &dyn Fn() -> i64 = &now;
        let view: &dyn RequestView = &request;
        let signed = match inner.rules.signature {
            // Credentials-only configuration (WildDuck, or Stalwart without a key): a
            // signature header, if any, cannot be checked and is ignored.
            Some(signature) if !inner.keys.0.is_empty() => {
                Some(signature.verify(view, bytes, &inner.keys, inner.replay_window, now)?)
            }
            _ => None,
        };
        let (key, message_id, mut signed_at) = match signed {
            Some(Signed {
                key,
                message_id,
                signed_at,
            }) => (Some(key), message_id, signed_at),
            None => (None, None, None),
        };
        if let (Some(window), Replay::Body(check)) = (inner.replay_window, &inner.rules.replay) {
            signed_at = Some(check(bytes, now(), window)?);
        }

        Ok(Verified::new(
            body,
            Verification {
                scheme: inner.scheme,
                key,
                credentials: inner.credentials.is_some(),
                url_token: inner.url_token.is_some(),
                message_id,
                signed_at,
                media_type,
                // Kept only for a body a parser may refuse with 415, to name the value;
                // JSON (every sender's usual format) costs nothing.
                declared_type: match media_type {
                    MediaType::Json | MediaType::Missing => None,
                    _ => MediaType::declared(request),
                },
            },
        ))
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Verifier")
            .field("scheme", &inner.scheme)
            .field(
                "keys",
                &inner
                    .keys
                    .0
                    .iter()
                    .map(|k| k.label.as_deref().unwrap_or("<unlabeled>"))
                    .collect::<Vec<_>>(),
            )
            .field("credentials", &inner.credentials)
            .field("url_token", &inner.url_token)
            .field("max_body_bytes", &inner.max_body_bytes)
            .field("replay_window", &inner.replay_window)
            .field("media_type", &inner.media_type)
            .finish()
    }
}

/// Configures a [`Verifier`]. Start with [`Verifier::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct VerifierBuilder {
    scheme: Scheme,
    keys: Vec<Key>,
    credentials: Vec<Credentials>,
    url_tokens: Vec<UrlToken>,
    max_body_bytes: usize,
    replay_window: Option<Duration>,
    media_type: Option<MediaType>,
    accept_unauthenticated: bool,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("label", &self.label)
            .field("secret", &self.secret)
            .finish()
    }
}

impl VerifierBuilder {
    /// Adds a signing secret. Several secrets may be added for key rotation: a request
    /// signed with any one of them passes, and [`MatchedKey`] says which.
    pub fn secret(mut self, secret: Secret) -> Self {
        self.keys.push(Key {
            secret,
            label: None,
        });
        self
    }

    /// Adds a signing secret with a label reported back in [`MatchedKey::label`].
    pub fn labeled_secret(mut self, label: impl Into<Arc<str>>, secret: Secret) -> Self {
        self.keys.push(Key {
            secret,
            label: Some(label.into()),
        });
        self
    }

    /// Adds several signing secrets, in order.
    pub fn secrets(mut self, secrets: impl IntoIterator<Item = Secret>) -> Self {
        for secret in secrets {
            self = self.secret(secret);
        }
        self
    }

    /// Requires `Authorization` credentials (Basic or Bearer) in addition to any
    /// signature.
    ///
    /// A request carries one `Authorization` header, so one set of credentials can be
    /// required: calling this twice (Basic and Bearer, say) makes [`build`](Self::build)
    /// fail with [`BuildError::SeveralCredentials`] rather than keep one silently. Empty
    /// passwords and tokens, and a Basic username with a `:`, are refused there too.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials.push(credentials);
        self
    }

    /// Requires a token in the URL's query string. Needs a [`RequestView`] that knows
    /// the query (`http::Request`, `http::request::Parts`, the adapters' views); a bare
    /// header map fails with `missing_token`.
    ///
    /// One token can be required: a second call makes [`build`](Self::build) fail with
    /// [`BuildError::SeveralUrlTokens`]. An empty token or parameter name is refused
    /// there too.
    pub fn url_token(mut self, token: UrlToken) -> Self {
        self.url_tokens.push(token);
        self
    }

    /// Pins the body format: requests declaring another `Content-Type` are refused with
    /// 415 before any hashing, a request declaring none is read as this type, and the
    /// payload parsers hold the body to it.
    ///
    /// For a sender with several formats (Mailtrap: JSON, JSON Lines, form data), set
    /// the one its webhook is configured with. What a body means never depends on the
    /// unsigned header anyway (see [`mailtrap`](crate::senders::mailtrap)); pinning
    /// also refuses, early, every request in the other formats. [`build`](Self::build)
    /// refuses a type the sender never sends.
    ///
    /// ```
    /// use webhook_core::{MediaType, Scheme, Secret, Verifier, senders::mailtrap};
    ///
    /// let verifier = Verifier::builder(Scheme::Mailtrap)
    ///     .secret(Secret::new("s3cret"))
    ///     .media_type(MediaType::Json)
    ///     .build()?;
    /// let body = b"event=delivery&email=a%40example.com";
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("mailtrap-signature", mailtrap::sign(&Secret::new("s3cret"), body).parse()?);
    /// headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// let err = verifier.verify(&headers, &body[..]).unwrap_err();
    /// assert_eq!((err.status().as_u16(), err.code()), (415, "unsupported_media_type"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = Some(media_type);
        self
    }

    /// The largest body accepted, in bytes (default: the sender's,
    /// [`Scheme::default_max_body_bytes`]).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The replay window for signed timestamps, either side of the receiver's clock.
    ///
    /// - Standard Webhooks: the `webhook-timestamp` tolerance (always checked;
    ///   [`DEFAULT_TOLERANCE`](crate::senders::standard_webhooks::DEFAULT_TOLERANCE),
    ///   5 min, when not set). The sender re-signs every attempt with a fresh
    ///   timestamp, so 5 minutes is right.
    /// - Stalwart and email-API: turns on the check of the body's `createdAt` /
    ///   `created_at` (off when not set), read after the MAC check so only authentic
    ///   bytes are parsed.
    /// - Mailtrap and WildDuck: refused at [`build`](Self::build), as their bodies carry
    ///   no timestamp the verifier can rely on.
    ///
    /// A window must be longer than the sender's own redelivery horizon, or legitimate
    /// retries are refused and then retried until the sender gives up: at least
    /// [`stalwart::MIN_REPLAY_WINDOW`](crate::senders::stalwart::MIN_REPLAY_WINDOW)
    /// (331 s) for Stalwart, whose batch is judged by its newest event, and
    /// [`email_api::MIN_REPLAY_WINDOW`](crate::senders::email_api::MIN_REPLAY_WINDOW)
    /// (40 min) for the email-API senders. The window applies in both directions (clock
    /// skew can put a timestamp ahead of the receiver). Within the window a captured
    /// request can still be replayed; [`idempotency`](crate::idempotency) is what makes
    /// a replay harmless.
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = Some(window);
        self
    }

    /// Accepts requests with no signature, credentials or token at all. For local
    /// experiments only: such a verifier authenticates nothing.
    pub fn insecure_accept_unauthenticated(mut self) -> Self {
        self.accept_unauthenticated = true;
        self
    }

    /// Checks the configuration and builds the verifier.
    pub fn build(self) -> Result<Verifier, BuildError> {
        let scheme = self.scheme;
        let rules = scheme.rules();
        if self.max_body_bytes == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        let encoding = match rules.signature {
            Some(signature) => signature.key_encoding(),
            None if self.keys.is_empty() => KeyEncoding::Raw,
            None => return Err(BuildError::SchemeDoesNotSign { scheme }),
        };
        for (index, key) in self.keys.iter().enumerate() {
            let secret = &key.secret;
            if secret.is_empty() {
                return Err(BuildError::EmptySecret { index });
            }
            match (encoding, secret.encoding()) {
                (KeyEncoding::StandardWebhooks, KeyEncoding::Raw) => {
                    return Err(BuildError::UndecodedStandardSecret { index });
                }
                (KeyEncoding::Raw, KeyEncoding::StandardWebhooks) => {
                    return Err(BuildError::DecodedSecretForRawScheme { index, scheme });
                }
                _ => {}
            }
        }
        if self.replay_window.is_some() && matches!(rules.replay, Replay::Unsupported) {
            return Err(BuildError::ReplayWindowUnsupported { scheme });
        }
        if let Some(media_type) = self.media_type
            && !rules.media_types.contains(&media_type)
        {
            return Err(BuildError::MediaTypeUnsupported { scheme, media_type });
        }
        let credentials = match <[Credentials; 1]>::try_from(self.credentials) {
            Ok([credentials]) => {
                credentials.refuse_unusable()?;
                Some(credentials)
            }
            Err(several) if several.is_empty() => None,
            Err(several) => {
                return Err(BuildError::SeveralCredentials {
                    first: several[0].scheme_name(),
                    second: several[1].scheme_name(),
                });
            }
        };
        let url_token = match <[UrlToken; 1]>::try_from(self.url_tokens) {
            Ok([token]) => {
                token.refuse_unusable()?;
                Some(token)
            }
            Err(several) if several.is_empty() => None,
            Err(_) => return Err(BuildError::SeveralUrlTokens),
        };
        let authenticates = !self.keys.is_empty() || credentials.is_some() || url_token.is_some();
        if !authenticates && !self.accept_unauthenticated {
            return Err(BuildError::NothingToVerify { scheme });
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                scheme,
                rules,
                keys: Keys(self.keys),
                credentials,
                url_token,
                max_body_bytes: self.max_body_bytes,
                replay_window: self.replay_window,
                media_type: self.media_type,
            }),
        })
    }
}

fn unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

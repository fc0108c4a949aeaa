//! [`Scheme`]: which sender a verifier, a deduplicator or a reference sender works for,
//! and the one place that turns it into that sender's rules.
//!
//! Every public question about a sender (its id, its headers, how it signs, the key it
//! derives from a secret's text) is a method here that asks the sender's folder
//! through [`Scheme::rules`]; nothing else in the crate matches on the variants.

use std::{fmt, str::FromStr, time::Duration};

use crate::{
    Secret, SecretError,
    secret::KeyEncoding,
    senders::{
        SenderHeader, SignError, SignedHeader, Stamp, email_api, mailtrap, rules::SenderRules,
        stalwart, standard_webhooks, wildduck,
    },
};

/// A sender: how it authenticates its webhook requests, and everything else hookwise
/// knows about it (see [`senders`](crate::senders)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Stalwart mail server: `X-Signature`, base64 HMAC-SHA256 of the body.
    Stalwart,
    /// Email-API style senders: `X-Webhook-Signature: sha256=<hex>` (GitHub's form).
    EmailApi,
    /// Mailtrap: `Mailtrap-Signature`, hex HMAC-SHA256 of the body.
    Mailtrap,
    /// Standard Webhooks (Svix, Resend): `webhook-id`/`-timestamp`/`-signature`.
    StandardWebhooks,
    /// WildDuck: no signature; authenticate with Basic credentials or a URL token.
    WildDuck,
}

impl Scheme {
    /// Every scheme, for listings and exhaustive tests.
    pub const ALL: [Scheme; 5] = [
        Scheme::Stalwart,
        Scheme::EmailApi,
        Scheme::Mailtrap,
        Scheme::StandardWebhooks,
        Scheme::WildDuck,
    ];

    /// The sender's rules: the dispatch from a variant to its folder.
    pub(crate) fn rules(self) -> &'static SenderRules {
        match self {
            Scheme::Stalwart => &stalwart::STALWART,
            Scheme::EmailApi => &email_api::EMAIL_API,
            Scheme::Mailtrap => &mailtrap::MAILTRAP,
            Scheme::StandardWebhooks => &standard_webhooks::STANDARD_WEBHOOKS,
            Scheme::WildDuck => &wildduck::WILDDUCK,
        }
    }

    /// The identifier used on command lines and in configuration (`stalwart`,
    /// `email-api`, `mailtrap`, `standard-webhooks`, `wildduck`).
    pub fn id(self) -> &'static str {
        self.rules().id
    }

    /// One line on how the sender authenticates, for listings and `--help`.
    pub fn summary(self) -> &'static str {
        self.rules().summary
    }

    /// Whether the sender signs its requests with a shared secret.
    pub fn signs(self) -> bool {
        self.rules().signature.is_some()
    }

    /// The header carrying the signature, if the scheme has one.
    pub fn signature_header(self) -> Option<&'static str> {
        Some(self.rules().signature?.signature_header().name())
    }

    /// Every header the sender's signature involves (empty when it does not sign).
    pub fn headers(self) -> &'static [SenderHeader] {
        self.rules().signature.map_or(&[], |s| s.headers())
    }

    /// How long after an event's first delivery the sender may still redeliver it: what
    /// an idempotency ttl must cover ([`DedupPolicy::for_scheme`]'s does), and what a
    /// sender's operator who lengthens its retries must lengthen the ttl by.
    ///
    /// [`DedupPolicy::for_scheme`]: crate::idempotency::DedupPolicy::for_scheme
    pub fn retry_horizon(self) -> Duration {
        self.rules().retry_horizon
    }

    /// The body limit a [`Verifier`](crate::Verifier) of this sender uses unless told
    /// otherwise, sized to the sender's largest documented body (each sender's
    /// `MAX_BODY_BYTES` gives the arithmetic): 48 MiB for Stalwart's batch after an
    /// outage, 2 MiB for Mailtrap's 500 events, 64 KiB for the one-event email-API and
    /// WildDuck bodies, 1 MiB for Standard Webhooks.
    ///
    /// ```
    /// use webhook_core::{Scheme, senders::stalwart};
    ///
    /// assert_eq!(Scheme::Stalwart.default_max_body_bytes(), stalwart::MAX_BODY_BYTES);
    /// assert!(Scheme::Stalwart.default_max_body_bytes() > Scheme::Mailtrap.default_max_body_bytes());
    /// ```
    pub fn default_max_body_bytes(self) -> usize {
        self.rules().max_body_bytes
    }

    /// Whether every request carries a message id, signed with the body and the same on
    /// every retry (Standard Webhooks' `webhook-id`): a sender must give one to
    /// [`sign`](Self::sign).
    pub fn stamps_message_id(self) -> bool {
        self.rules()
            .signature
            .is_some_and(|s| s.stamps_message_id())
    }

    /// The signing key this sender derives from a secret's text: the text itself, or
    /// for Standard Webhooks the base64 after `whsec_`, decoded.
    ///
    /// ```
    /// use webhook_core::Scheme;
    ///
    /// assert_eq!(Scheme::Mailtrap.secret_from("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e")?.len(), 32);
    /// assert_eq!(Scheme::StandardWebhooks.secret_from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.len(), 24);
    /// assert!(Scheme::StandardWebhooks.secret_from("not base64!").is_err());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn secret_from(self, text: impl AsRef<[u8]>) -> Result<Secret, SecretError> {
        let text = text.as_ref();
        match self.rules().signature.map(|s| s.key_encoding()) {
            Some(KeyEncoding::StandardWebhooks) => Secret::standard_webhooks(
                std::str::from_utf8(text).map_err(|_| SecretError::NotStandardWebhooks)?,
            ),
            Some(KeyEncoding::Raw) | None => Ok(Secret::new(text)),
        }
    }

    /// The headers a sender of this scheme adds to a request carrying `body`, signed
    /// with `secret` (`None`: unsigned, as a Stalwart server without a key sends).
    /// `stamp` is required where [`stamps_message_id`](Self::stamps_message_id) holds.
    ///
    /// ```
    /// use webhook_core::{Scheme, Secret, senders::Stamp};
    ///
    /// let secret = Scheme::StandardWebhooks.secret_from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let stamp = Stamp { message_id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330 };
    /// let headers = Scheme::StandardWebhooks.sign(Some(&secret), br#"{"test": 2432232314}"#, Some(stamp))?;
    /// let lines: Vec<String> = headers
    ///     .iter()
    ///     .map(|h| format!("{}: {}", h.header.name(), h.value.as_deref().unwrap_or("")))
    ///     .collect();
    /// assert_eq!(lines, [
    ///     "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek",
    ///     "webhook-timestamp: 1614265330",
    ///     "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    /// ]);
    ///
    /// let stalwart = Scheme::Stalwart.sign(Some(&Secret::new("my-secret-key")), b"{}", None)?;
    /// assert_eq!(stalwart[0].header.display_name(), "X-Signature");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign(
        self,
        secret: Option<&Secret>,
        body: &[u8],
        stamp: Option<Stamp<'_>>,
    ) -> Result<Vec<SignedHeader>, SignError> {
        match self.rules().signature {
            Some(signature) => signature.sign(secret, body, stamp),
            None if secret.is_some() => Err(SignError::DoesNotSign { scheme: self }),
            None => Ok(Vec::new()),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rules().name)
    }
}

/// The text is not a known scheme identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheme `{0}`: expected one of {known}", known = known_names())]
pub struct UnknownScheme(pub String);

/// Every scheme's id, each with its aliases in brackets: `stalwart, email-api (or
/// emailapi, email_api, github), …`.
fn known_names() -> String {
    let names: Vec<String> = Scheme::ALL
        .into_iter()
        .map(|scheme| match scheme.rules().aliases {
            [] => scheme.id().to_owned(),
            aliases => format!("{} (or {})", scheme.id(), aliases.join(", ")),
        })
        .collect();
    names.join(", ")
}

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// A scheme's [`id`](Scheme::id) or one of its aliases (`github`, `svix`, `resend`,
    /// …), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.to_ascii_lowercase();
        Scheme::ALL
            .into_iter()
            .find(|scheme| {
                let facts = scheme.rules();
                facts.id == wanted || facts.aliases.contains(&wanted.as_str())
            })
            .ok_or_else(|| UnknownScheme(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_ids_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.id().parse::<Scheme>().unwrap(), scheme);
        }
        assert_eq!("Svix".parse::<Scheme>().unwrap(), Scheme::StandardWebhooks);
        let err = "smtp".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown scheme `smtp`: expected one of stalwart, email-api (or emailapi, email_api, \
             github), mailtrap, standard-webhooks (or standard, standardwebhooks, svix, resend), \
             wildduck"
        );
    }

    #[test]
    fn every_alias_names_one_scheme() {
        let mut seen: Vec<&str> = Vec::new();
        for scheme in Scheme::ALL {
            for name in std::iter::once(scheme.id()).chain(scheme.rules().aliases.iter().copied()) {
                assert_eq!(name, name.to_ascii_lowercase());
                assert!(!seen.contains(&name), "{name} twice");
                seen.push(name);
                assert_eq!(name.parse::<Scheme>().unwrap(), scheme);
            }
        }
    }
}

//! Each sender as the reference sender reproduces it, one file each, named as in
//! webhook-core's [`senders`](webhook_core::senders): its delivery preset (how it
//! batches, paces, retries and judges answers) and, where its bodies are built from
//! webhook-core's models, its typed [`Format`](crate::Format).
//!
//! | file | preset | typed format |
//! |---|---|---|
//! | `stalwart.rs` | [`DeliveryPolicy::stalwart`] | [`StalwartFormat`](crate::StalwartFormat) |
//! | `email_api.rs` | [`DeliveryPolicy::email_api`] | [`EmailApiFormat`](crate::EmailApiFormat) |
//! | `mailtrap.rs` | [`DeliveryPolicy::mailtrap`], [`DeliveryPolicy::mailtrap_current`] | [`MailtrapFormat`](crate::MailtrapFormat) |
//! | `standard_webhooks.rs` | [`DeliveryPolicy::standard_webhooks`] | none: [`MessageFormat`](crate::MessageFormat) with Svix-shaped ids |
//! | `wildduck.rs` | [`DeliveryPolicy::wildduck`] | [`WildDuckFormat`](crate::WildDuckFormat) |
//!
//! How a request is signed is not here: the [`Endpoint`](crate::Endpoint) asks
//! webhook-core ([`Scheme::sign`]), so the sender and the verifier cannot drift apart.
//! [`DeliveryPolicy::for_scheme`] below is the one place in this crate that branches
//! on the sender; a new sender adds its file here and its arm there.

pub(crate) mod email_api;
pub(crate) mod mailtrap;
pub(crate) mod stalwart;
pub(crate) mod standard_webhooks;
pub(crate) mod wildduck;

use webhook_core::Scheme;

use crate::DeliveryPolicy;

impl DeliveryPolicy {
    /// The preset of the sender that uses `scheme` (for Mailtrap, the older documented
    /// schedule, [`DeliveryPolicy::mailtrap`]).
    ///
    /// ```
    /// use webhook_core::Scheme;
    /// use webhook_sender::DeliveryPolicy;
    ///
    /// assert_eq!(DeliveryPolicy::for_scheme(Scheme::WildDuck), DeliveryPolicy::wildduck());
    /// ```
    pub fn for_scheme(scheme: Scheme) -> Self {
        match scheme {
            Scheme::Stalwart => Self::stalwart(),
            Scheme::EmailApi => Self::email_api(),
            Scheme::Mailtrap => Self::mailtrap(),
            Scheme::StandardWebhooks => Self::standard_webhooks(),
            Scheme::WildDuck => Self::wildduck(),
            // `Scheme` is non-exhaustive; a sender webhook-core knows and this crate
            // does not yet is delivered one request at a time, 30 s timeout, no retry.
            _ => Self::custom(crate::Retry::Schedule(crate::Schedule::once())),
        }
    }
}

//! Handling each event on its own: split a verified body into its [`Event`]s, route
//! them by type to handlers with an [`EventRouter`], and (with
//! [`Deduplicator::run_events`](crate::idempotency::Deduplicator::run_events)) settle
//! each event's idempotency claim by itself, so a retried batch re-runs only the
//! events that failed.
//!
//! Every sender's event type implements [`Event`]:
//!
//! | sender | event | type routed on |
//! |---|---|---|
//! | Stalwart | [`WebhookEvent<'static>`](crate::senders::stalwart::WebhookEvent) (many per body) | `type`: `delivery.delivered`, `auth.failure`, … |
//! | email-API | [`EmailApiEvent`](crate::EmailApiEvent) | `type`: `delivered`, `bounced`, … |
//! | Mailtrap | [`MailtrapEvent<'static>`](crate::senders::mailtrap::MailtrapEvent) (many per body) | `event`: `delivery`, `soft bounce`, `activity_log.user.updated`, … |
//! | WildDuck | [`WildDuckEvent`](crate::WildDuckEvent) | `ev`: `user.created`, `mfa.totp.enabled`, `forward added`, … |
//! | Standard Webhooks | [`StandardWebhook<StandardEvent<'static>>`](crate::senders::standard_webhooks::StandardWebhook) or `StandardWebhook<serde_json::Value>` | the body's `type`: `email.delivered`, … |
//!
//! The core stays sans-IO: handlers are plain closures or `async fn`s returning a
//! future, and nothing here spawns or waits on a runtime.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use webhook_core::{Scheme, Secret, Verifier, dispatch::EventRouter, senders::stalwart};
//! use webhook_core::idempotency::{Deduplicator, MemoryStore};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = |tag: &'static str| {
//!     let seen = seen.clone();
//!     move |event: stalwart::WebhookEvent<'static>| {
//!         let seen = seen.clone();
//!         async move {
//!             seen.lock().unwrap().push(format!("{tag} {}", event.event_type()));
//!             Ok::<_, std::io::Error>(())
//!         }
//!     }
//! };
//! let router = EventRouter::new()
//!     .on("delivery.delivered", log("delivered"))
//!     .on_prefix("auth.", log("auth"))
//!     .otherwise(log("other"));
//!
//! let body = br#"{"events":[
//!     {"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.failure","data":{}},
//!     {"id":"2","createdAt":"2025-08-21T14:01:41Z","type":"delivery.delivered","data":{}},
//!     {"id":"3","createdAt":"2025-08-21T14:01:42Z","type":"queue.queue-message","data":{}}]}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-signature", stalwart::sign(&Secret::new("k"), body).parse()?);
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//! let verified = verifier.verify(&headers, &body[..])?;
//!
//! let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
//! // Any executor works: the memory store never blocks and nothing here spawns.
//! let report = futures::executor::block_on(dedup.run_events(&verified, |event| router.dispatch(event)))?;
//! assert_eq!(report.answer().status(), 200);
//! assert_eq!(*seen.lock().unwrap(), ["auth auth.failure", "delivered delivery.delivered", "other queue.queue-message"]);
//!
//! // The sender retries: every event is answered as a duplicate, no handler runs.
//! let again = futures::executor::block_on(dedup.run_events(&verified, |event| router.dispatch(event)))?;
//! assert_eq!(again.duplicates(), 3);
//! assert_eq!(seen.lock().unwrap().len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod event;
mod router;

pub use event::Event;
pub use router::{EventRouter, Handled, Route};

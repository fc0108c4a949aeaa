//! [`Format`]: how submitted items become request bodies.
//!
//! The delivery engine is the same for every sender; what differs is what one item is
//! and how a request's items become bytes. A format says:
//!
//! - how many items one request may carry (a Stalwart batch: all of them; a raw message,
//!   an email-API or a WildDuck event: one; a Mailtrap batch: up to 500);
//! - how an item is stamped when submitted (Stalwart's `createdAt`, a Standard Webhooks
//!   message id, an email-API `id`, a Mailtrap `event_id`, a WildDuck `<ObjectId>:<n>`);
//! - whether the endpoint wants the item at all ([`Format::accepts`]: Stalwart's event
//!   filter, a WildDuck subscription); an item refused is never sent and is counted as
//!   filtered;
//! - how a request's items render for **one attempt**: [`Format::render`] is called again
//!   for every retry, which is what lets Stalwart give a retried event a new id while
//!   every other format goes out byte-identical.
//!
//! The formats of this crate:
//!
//! | format | item | per request | ids across retries | filter |
//! |---|---|---|---|---|
//! | [`StalwartFormat`](crate::StalwartFormat) | [`StalwartEvent`](crate::StalwartEvent) | all pending | new (counter style) or stable (legacy) | `events` + `eventsPolicy` ([`EventFilter`](webhook_core::filter::EventFilter)) |
//! | [`EmailApiFormat`](crate::EmailApiFormat) | [`EmailApiItem`](crate::EmailApiItem) | 1 | stable `evt_…` | — |
//! | [`MailtrapFormat`](crate::MailtrapFormat) | [`MailtrapItem`](crate::MailtrapItem) | up to 500 (JSON, JSON Lines), 1 (form data) | stable UUID `event_id` | — |
//! | [`WildDuckFormat`](crate::WildDuckFormat) | [`WildDuckItem`](crate::WildDuckItem) | 1 | stable `<ObjectId>:<n>` | the subscription ([`Subscription`](webhook_core::filter::Subscription)) |
//! | [`MessageFormat`](crate::MessageFormat) | [`Message`](crate::Message) (raw bytes, any scheme) | 1 | the bytes given; Standard Webhooks `webhook-id` stable | — |
//!
//! The typed formats serialize webhook-core's own event models and filter with
//! webhook-core's matcher, so the sender and the receiving side cannot drift apart.

use std::time::SystemTime;

use webhook_core::Scheme;

use crate::{Body, RenderError};

/// A body format: what an item is and how items render into a request body.
pub trait Format: Send + Sync + 'static {
    /// What callers submit.
    type Item: Send + 'static;

    /// Most items one request may carry (at least 1).
    fn max_batch(&self) -> usize;

    /// Called once when an item is submitted, with the sender's current time and scheme.
    fn prepare(&self, item: &mut Self::Item, now: SystemTime, scheme: Scheme) {
        let _ = (item, now, scheme);
    }

    /// Whether the endpoint wants this item (its event filter or subscription), asked
    /// once at submit, after [`prepare`](Format::prepare). An item refused here is never
    /// sent: it ends at once in [`DeliveryOutcome::Filtered`](crate::DeliveryOutcome::Filtered), counted
    /// in [`Stats::filtered`](crate::Stats::filtered). The default accepts everything.
    fn accepts(&self, item: &Self::Item) -> bool {
        let _ = item;
        true
    }

    /// When the item was created, for discard-after. `None`: never stale.
    fn created_at(&self, item: &Self::Item) -> Option<SystemTime>;

    /// A short description for the delivery log (an event type, a message id).
    fn label(&self, item: &Self::Item) -> String;

    /// The body of one attempt of a request carrying `items` (never empty, in order).
    fn render(&self, items: &[&Self::Item]) -> Result<Rendered, RenderError>;
}

/// One attempt's body, with the ids it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The body.
    pub body: Body,
    /// The Standard Webhooks `webhook-id`, stable across a message's retries. When `None`
    /// on a Standard Webhooks endpoint, the sender makes one per request.
    pub message_id: Option<String>,
    /// The id each item carries on the wire in this attempt (in item order; empty when
    /// the format has none), for the delivery log.
    pub wire_ids: Vec<String>,
}

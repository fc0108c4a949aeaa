//! What a receiver holds at once, and for how long: the bytes of request bodies in
//! flight ([`BodyBudget`]), the deadlines for each part of a request and the connection
//! cap ([`ServeLimits`]).
//!
//! Sans-IO like the rest of the core: the budget is an atomic counter, the limits are
//! plain values. The adapters do the waiting and the refusing: `webhook_axum::serve`
//! serves a router under these limits, `webhook_actix::apply_limits` sets the matching
//! `HttpServer` options, and both adapters' body readers read through a [`BodyBuffer`]:
//! 413 over the limit, 503 `receiver_busy` (with `Retry-After`) when a body does not fit
//! in the budget; a body later than its deadline is answered 408 `body_timeout`.
//!
//! # What the budget counts
//!
//! Each body's bytes (its allocation once read), from before it is read until both:
//!
//! - every handle on the body's bytes is dropped, and
//! - the request is answered (its handler has returned), because what an extractor
//!   parses from a body (typed events, which own copies of its strings) takes the
//!   body's place in memory while the handler runs: the body's bytes stay counted for
//!   it, so the next body is admitted only once the handler is done with the events.
//!   The body readers keep a [`ReservationHold`] in the request's [`RequestHolds`]:
//!   `webhook_axum::serve` gives every request one and drops it once the router has
//!   answered (`VerifyWebhookLayer` does the same for its route under plain
//!   `axum::serve`), and actix keeps it in the request's extensions until it drops the
//!   request after the handler. A handler that moves the payload into a task of its own
//!   takes it out of the budget's sight when it returns.
//!
//! A parsed payload is thus counted at its body's size. That holds for payloads whose
//! size follows the body's text (Stalwart's own copies of the strings); a batch of many
//! tiny events parses into more than its bytes, and the excess is not counted. The
//! durable inbox's accept route keeps the body counted until the delivery is committed;
//! the events it splits from the body meanwhile (ranges, types, keys) are not counted
//! here but bounded by the inbox itself, to the bodies it splits and commits at once
//! (`webhook_inbox::Inbox::accept`), so they add a fixed amount, not one per request.

mod budget;
mod buffer;
mod limits;

pub use budget::{
    BodyBudget, BodyReservation, DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BUDGET_RETRY_AFTER, OverBudget,
    RequestHolds, ReservationHold,
};
pub use buffer::{BodyBuffer, ReservedBody};
pub use limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MIN_BODY_RATE,
    MAX_CONNECTIONS_CEILING, RESERVED_DESCRIPTORS, ServeLimits, SlowBody, descriptor_limit,
    max_connections_for,
};

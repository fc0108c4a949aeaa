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

mod budget;
mod buffer;
mod limits;

pub use budget::{
    BodyBudget, BodyReservation, DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BUDGET_RETRY_AFTER, OverBudget,
};
pub use buffer::{BodyBuffer, ReservedBody};
pub use limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MIN_BODY_RATE,
    MAX_CONNECTIONS_CEILING, RESERVED_DESCRIPTORS, ServeLimits, SlowBody, descriptor_limit,
    max_connections_for,
};

//! Standard Webhooks (Svix, Resend) as the reference sender sends it: Svix's retry
//! schedule and Svix-shaped message ids.
//!
//! The body is the caller's ([`Message`](crate::Message) through
//! [`MessageFormat`](crate::MessageFormat): one message per request, the same bytes and
//! the same `webhook-id` on every attempt); the headers are webhook-core's
//! ([`Scheme::sign`](webhook_core::Scheme::sign)): a fresh `webhook-timestamp` and
//! signature on each attempt.

use std::time::Duration;

use crate::{DeliveryPolicy, Retry, Schedule, Success};

/// A Svix-shaped message id: `msg_` and 27 random ASCII letters and digits.
pub fn new_message_id() -> String {
    let mut id = String::with_capacity(31);
    id.push_str("msg_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(27));
    id
}

/// The delivery preset of this sender.
impl DeliveryPolicy {
    /// Standard Webhooks as Svix documents its retries (not part of the specification):
    /// immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; success on any
    /// 2xx; 15 s timeout. The `webhook-id` stays the same on every attempt while the
    /// timestamp and signature are fresh.
    pub fn standard_webhooks() -> Self {
        Self {
            throttle: Duration::ZERO,
            max_in_flight: 8,
            max_batch: Some(1),
            retry: Retry::Schedule(Schedule::fixed(
                [5, 300, 1800, 7200, 18_000, 36_000, 36_000].map(Duration::from_secs),
            )),
            lossy: None,
            success: Success::Any2xx,
            timeout: Some(Duration::from_secs(15)),
            jitter: None,
            retry_on: crate::RetryOn::AnyFailure,
        }
    }
}

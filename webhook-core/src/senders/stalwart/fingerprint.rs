//! The content fingerprint of a Stalwart event: what to deduplicate on instead of its id.
//!
//! # Why not the id
//!
//! Stalwart delivers at least once: a batch whose POST failed or timed out is sent again,
//! whole. Since v0.16.11 each event is serialized afresh for every attempt with a
//! process-wide counter in its id (`{timestamp}{counter}{type_id}`), so **a retried event
//! has a new id** while its `type`, `createdAt` and `data` are byte-identical (the same
//! in-memory event is serialized again). Before v0.16.11 the id was `{timestamp}{type_id}`:
//! stable across retries, but shared by every event of the same type in the same second.
//! Either way the id cannot tell a retry from a new event.
//!
//! The fingerprint is SHA-256 over the type, the `createdAt` text and the `data` bytes,
//! exactly as sent, each length-prefixed behind a domain tag. A retry has the same
//! fingerprint; any difference in content gives a different one.
//!
//! # The limit
//!
//! Two genuinely distinct events with identical type, second and data (say, two
//! identical `auth.failed` on one connection within a second) share a fingerprint and
//! are treated as one. Stalwart's wire format has nothing that tells them apart; a
//! receiver that must count such events should not deduplicate them.

use std::fmt;

use sha2::{Digest as _, Sha256};

const DOMAIN: &[u8] = b"hookwise/stalwart-event/v1\0";

/// SHA-256 content fingerprint of a Stalwart event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub(crate) fn of(event_type: &str, created_at: &str, data: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(DOMAIN);
        for part in [event_type, created_at, data] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        Self(hash.finalize().into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    /// Lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cannot_slide_into_each_other() {
        let a = Fingerprint::of("auth.success", "2025-08-21T14:01:40Z", "{}");
        let b = Fingerprint::of("auth.success2", "025-08-21T14:01:40Z", "{}");
        assert_ne!(a, b);
        assert_eq!(
            a,
            Fingerprint::of("auth.success", "2025-08-21T14:01:40Z", "{}")
        );
        assert_eq!(a.to_string().len(), 64);
    }
}

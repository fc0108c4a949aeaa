//! The 32-byte HMAC-SHA256 tag, comparable only in constant time.
//!
//! `Tag` deliberately has no `PartialEq`: the only way to compare two tags is
//! [`subtle::ConstantTimeEq`], so an early-exit `==` on a MAC cannot be written by
//! accident anywhere in the crate. Its `Debug` prints nothing of the bytes, because a
//! computed tag is the expected MAC an attacker is looking for.

use std::fmt;

use subtle::{Choice, ConstantTimeEq};

pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
pub(crate) const TAG_LEN: usize = 32;

#[derive(Clone, Copy)]
pub(crate) struct Tag([u8; TAG_LEN]);

impl Tag {
    pub(crate) fn from_array(bytes: [u8; TAG_LEN]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }

    /// Constant-time equality, as a `bool` for the caller's control flow. The
    /// comparison itself never branches on the data.
    pub(crate) fn matches(&self, other: &Tag) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl ConstantTimeEq for Tag {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(<redacted>)")
    }
}

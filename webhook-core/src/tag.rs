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
    /// Compared as four `u64` lanes: `subtle` guards each lane comparison and the
    /// combination, and four word compares cost far less than 32 byte compares, each
    /// behind its own optimization barrier.
    fn ct_eq(&self, other: &Self) -> Choice {
        let lanes = |bytes: &[u8; TAG_LEN]| {
            let mut out = [0u64; TAG_LEN / 8];
            for (lane, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                *lane = u64::from_ne_bytes(word);
            }
            out
        };
        let (a, b) = (lanes(&self.0), lanes(&other.0));
        a[0].ct_eq(&b[0]) & a[1].ct_eq(&b[1]) & a[2].ct_eq(&b[2]) & a[3].ct_eq(&b[3])
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_position_counts() {
        let base = Tag::from_array([7u8; TAG_LEN]);
        assert!(base.matches(&base));
        for position in 0..TAG_LEN {
            for bit in 0..8 {
                let mut other = [7u8; TAG_LEN];
                other[position] ^= 1 << bit;
                assert!(!base.matches(&Tag::from_array(other)), "{position}/{bit}");
            }
        }
    }
}

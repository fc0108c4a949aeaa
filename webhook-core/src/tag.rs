//! The 32-byte HMAC-SHA256 tag, comparable only in constant time, and its text forms
//! (base64 and hex) as the senders put them in their signature headers.
//!
//! `Tag` deliberately has no `PartialEq`: the only way to compare two tags is
//! [`subtle::ConstantTimeEq`], so an early-exit `==` on a MAC cannot be written by
//! accident anywhere in the crate. Its `Debug` prints nothing of the bytes, because a
//! computed tag is the expected MAC an attacker is looking for.

use std::fmt;

use base64::Engine as _;
use subtle::{Choice, ConstantTimeEq};

use crate::error::MalformedReason;

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

/// Base64 (standard alphabet, `=` padding) of a 32-byte tag: always 44 characters.
pub(crate) const BASE64_TAG_LEN: usize = 44;
/// Hex of a 32-byte tag.
pub(crate) const HEX_TAG_LEN: usize = 64;

pub(crate) fn decode_base64_tag(value: &[u8]) -> Result<Tag, MalformedReason> {
    // 44 characters of padded base64 decode to at most 33 bytes; a 32-byte tag has
    // exactly one `=`, which the strict engine checks along with the trailing bits.
    let mut buf = [0u8; TAG_LEN + 1];
    if value.len() == BASE64_TAG_LEN
        && let Ok(TAG_LEN) = base64::engine::general_purpose::STANDARD.decode_slice(value, &mut buf)
    {
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&buf[..TAG_LEN]);
        return Ok(Tag::from_array(tag));
    }
    // Only a refused value is looked at again, to say precisely what is wrong with it.
    Err(if value.is_empty() {
        MalformedReason::Empty
    } else if value.iter().any(|b| matches!(b, b'-' | b'_')) {
        MalformedReason::UrlSafeBase64
    } else if value.len() != BASE64_TAG_LEN {
        MalformedReason::WrongLength {
            expected: BASE64_TAG_LEN,
            found: value.len(),
        }
    } else {
        MalformedReason::InvalidBase64
    })
}

pub(crate) fn encode_base64_tag(tag: &Tag) -> String {
    base64::engine::general_purpose::STANDARD.encode(tag.as_bytes())
}

pub(crate) fn decode_hex_tag(value: &[u8]) -> Result<Tag, MalformedReason> {
    if value.is_empty() {
        return Err(MalformedReason::Empty);
    }
    if value.len() != HEX_TAG_LEN {
        return Err(MalformedReason::WrongLength {
            expected: HEX_TAG_LEN,
            found: value.len(),
        });
    }
    // Branch-free decoding: the `hex` crate's per-digit branches make decoding time
    // depend on the presented digits, which the timing bench (`benches/constant_time.rs`)
    // picked up as a large difference between classes. The digits are the sender's, not
    // a secret, but a constant-time path end to end keeps the guarantee simple to state.
    let mut tag = [0u8; TAG_LEN];
    base16ct::mixed::decode(value, &mut tag).map_err(|_| MalformedReason::InvalidHex)?;
    Ok(Tag::from_array(tag))
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

    #[test]
    fn base64_tags_are_strict() {
        let good = "JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY=";
        assert!(decode_base64_tag(good.as_bytes()).is_ok());
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY").unwrap_err(),
            MalformedReason::WrongLength {
                expected: 44,
                found: 43
            }
        );
        assert_eq!(
            decode_base64_tag(b"JCxN_atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY=").unwrap_err(),
            MalformedReason::UrlSafeBase64
        );
        // Non-canonical trailing bits (`Z` instead of `Y` before the padding).
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkZ=").unwrap_err(),
            MalformedReason::InvalidBase64
        );
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957v===").unwrap_err(),
            MalformedReason::InvalidBase64
        );
        assert_eq!(decode_base64_tag(b"").unwrap_err(), MalformedReason::Empty);
    }

    #[test]
    fn hex_tags_accept_either_case() {
        let lower = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let upper = lower.to_ascii_uppercase();
        assert_eq!(
            decode_hex_tag(lower.as_bytes()).unwrap().as_bytes(),
            decode_hex_tag(upper.as_bytes()).unwrap().as_bytes()
        );
        assert_eq!(
            decode_hex_tag(&[b'g'; 64]).unwrap_err(),
            MalformedReason::InvalidHex
        );
    }
}

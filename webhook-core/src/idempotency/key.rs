//! Deduplication keys: which deliveries count as "the same event".
//!
//! A [`DedupKey`] is opaque bytes that a store compares for equality and nothing else.
//! It is always built inside a [`Namespace`] (a sender, or a sender instance) so that
//! equal ids from different senders never collide: Mailtrap's `event_id` `"1"` and an
//! email-API `id` `"1"` are different events. The encoding is
//! `<namespace>:id:<sender's event id>` or `<namespace>:fp:<64 hex digits>`; the
//! namespace cannot contain `:` and the two kinds have different tags, so the encoding
//! is injective and a Redis user can read the keys.
//!
//! The per-sender choice of key is on [`DedupKey`].

use std::{
    borrow::Cow,
    fmt,
    hash::{BuildHasher, Hash, Hasher, RandomState},
    sync::{Arc, OnceLock},
};

use crate::Scheme;

/// The longest sender event id accepted, in bytes. Real ids are 20–60 bytes (UUIDs,
/// `evt_…`, `msg_…`, `<ObjectId>:<n>`); the bound keeps one store entry small.
pub const MAX_EVENT_ID_LEN: usize = 256;

/// The longest namespace name accepted, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 64;

/// The longest encoded key: namespace, two separators, a two-letter tag, the longest id.
const MAX_KEY_LEN: usize = MAX_NAMESPACE_LEN + 4 + MAX_EVENT_ID_LEN;

/// A key could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The event id is empty: every such event would collide with every other one.
    #[error(
        "the event id is empty: an empty id cannot tell events apart; check that the id is \
         read from the right field (or header) of the sender's payload"
    )]
    EmptyId,
    /// The event id is longer than [`MAX_EVENT_ID_LEN`].
    #[error(
        "the event id is {len} bytes long, more than the {max}-byte limit: check that the id, \
         not the whole payload, is used as the key, or use a fingerprint key"
    )]
    IdTooLong {
        /// The id's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The namespace name is empty, too long, or has a character outside
    /// `A–Z a–z 0–9 - _ .`.
    #[error(
        "invalid namespace `{0}`: use 1 to 64 characters among A-Z, a-z, 0-9, `-`, `_` and `.`"
    )]
    InvalidNamespace(String),
}

/// The space a key lives in: a sender (see [`Namespace::of`]) or a named sender
/// instance (`"stalwart-eu"`), so that equal ids from different sources never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    name: Cow<'static, str>,
}

impl Namespace {
    /// A named namespace, e.g. one per sender instance or tenant when several sources
    /// of the same kind post to one receiver.
    ///
    /// ```
    /// use webhook_core::idempotency::Namespace;
    ///
    /// let eu = Namespace::new("stalwart-eu")?;
    /// let us = Namespace::new("stalwart-us")?;
    /// assert_ne!(eu.fingerprint(&[7; 32]), us.fingerprint(&[7; 32]));
    /// assert!(Namespace::new("a:b").is_err());
    /// # Ok::<(), webhook_core::idempotency::KeyError>(())
    /// ```
    pub fn new(name: impl Into<String>) -> Result<Self, KeyError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= MAX_NAMESPACE_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(KeyError::InvalidNamespace(name));
        }
        Ok(Self {
            name: Cow::Owned(name),
        })
    }

    /// The namespace of one sender: its [`Scheme::id`] (`stalwart`, `mailtrap`, …).
    pub fn of(scheme: Scheme) -> Self {
        Self {
            name: Cow::Borrowed(scheme.id()),
        }
    }

    /// The namespace's name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// A key from a sender's event id (which must be stable across the sender's
    /// retries: not Stalwart's `id`).
    pub fn event_id(&self, id: impl AsRef<[u8]>) -> Result<DedupKey, KeyError> {
        let id = id.as_ref();
        if id.is_empty() {
            return Err(KeyError::EmptyId);
        }
        if id.len() > MAX_EVENT_ID_LEN {
            return Err(KeyError::IdTooLong {
                len: id.len(),
                max: MAX_EVENT_ID_LEN,
            });
        }
        Ok(self.encode(b"id", id))
    }

    /// A key from a 32-byte content fingerprint (how Stalwart events are deduplicated).
    pub fn fingerprint(&self, fingerprint: &[u8; 32]) -> DedupKey {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(fingerprint) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        self.encode(b"fp", &hex)
    }

    /// `<namespace>:<tag>:<payload>`, assembled on the stack so that the key costs one
    /// allocation (the shared bytes).
    fn encode(&self, tag: &[u8; 2], payload: &[u8]) -> DedupKey {
        let mut buffer = [0u8; MAX_KEY_LEN];
        let parts: [&[u8]; 5] = [self.name.as_bytes(), b":", tag, b":", payload];
        let mut len = 0;
        for part in parts {
            buffer[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        let bytes = &buffer[..len];
        let [hash, check] = [0u8, 1].map(|domain| {
            // One keyed SipHash, two domains: the halves are independent outputs of
            // one PRF on distinct inputs.
            let mut hasher = key_hasher().build_hasher();
            hasher.write_u8(domain);
            hasher.write(bytes);
            hasher.finish()
        });
        DedupKey {
            hash,
            check,
            bytes: Arc::from(bytes),
        }
    }
}

impl From<Scheme> for Namespace {
    fn from(scheme: Scheme) -> Self {
        Self::of(scheme)
    }
}

/// Identifies one event for deduplication: equal keys mean "the same event".
///
/// Cheap to clone (shared bytes). Built from a sender's event id or from a content
/// fingerprint, always inside a [`Namespace`], and encoded as
/// `<namespace>:id:<event id>` or `<namespace>:fp:<64 hex digits>`: equal ids from
/// different senders, or an id that looks like a fingerprint, never collide, and the
/// keys read well in Redis. Which key a sender needs:
///
/// | sender | key |
/// |---|---|
/// | Standard Webhooks | the `webhook-id` header ([`Verification::message_id`](crate::Verification::message_id)), stable across retries |
/// | email-API | the body's `id` |
/// | Mailtrap | each event's `event_id` |
/// | WildDuck | the body's `id` (`<ObjectId>:<n>`) |
/// | Stalwart | a content fingerprint of each event: a retried event gets a **new** `id` |
///
/// ```
/// use webhook_core::{Scheme, idempotency::DedupKey};
///
/// let a = DedupKey::event_id(Scheme::Mailtrap, "bede7236-2284-43d6-a953-1fdcafd0fdbc")?;
/// let b = DedupKey::event_id(Scheme::EmailApi, "bede7236-2284-43d6-a953-1fdcafd0fdbc")?;
/// assert_ne!(a, b); // same id, different senders
/// assert_eq!(a.as_bytes(), b"mailtrap:id:bede7236-2284-43d6-a953-1fdcafd0fdbc");
///
/// let stalwart = DedupKey::fingerprint(Scheme::Stalwart, &[0xab; 32]);
/// assert!(stalwart.to_string().starts_with("stalwart:fp:abab"));
/// # Ok::<(), webhook_core::idempotency::KeyError>(())
/// ```
///
/// The key is hashed once, when it is built, with a per-process random key (SipHash,
/// like `std`'s `HashMap`, so crafted ids cannot force collisions); stores and maps
/// reuse that hash instead of rehashing the bytes on every operation.
#[derive(Clone)]
pub struct DedupKey {
    bytes: Arc<[u8]>,
    hash: u64,
    check: u64,
}

impl DedupKey {
    /// A key from a sender's event id, in the sender's own namespace.
    pub fn event_id(scheme: Scheme, id: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Namespace::of(scheme).event_id(id)
    }

    /// A key from a content fingerprint, in the sender's own namespace.
    pub fn fingerprint(scheme: Scheme, fingerprint: &[u8; 32]) -> Self {
        Namespace::of(scheme).fingerprint(fingerprint)
    }

    /// The encoded key: what stores compare and what the Redis store appends to its
    /// key prefix.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The namespace part of the key.
    pub fn namespace(&self) -> &str {
        let end = self
            .bytes
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(self.bytes.len());
        // The namespace part is validated ASCII when the key is built.
        std::str::from_utf8(&self.bytes[..end]).unwrap_or("")
    }

    /// The hash computed when the key was built.
    pub(crate) fn precomputed_hash(&self) -> u64 {
        self.hash
    }

    /// A 128-bit digest of the key: two domain-separated outputs of SipHash under a
    /// per-process random key, the first being
    /// [`precomputed_hash`](Self::precomputed_hash). The memory store keeps this
    /// instead of the bytes: 16 bytes an entry and no allocation to free on eviction.
    /// Two distinct keys share a digest with probability 2⁻¹²⁸, and without the
    /// process's random key an attacker choosing event ids cannot aim for a collision.
    pub(crate) fn digest(&self) -> [u64; 2] {
        [self.hash, self.check]
    }
}

/// The per-process hasher keys are hashed with once.
fn key_hasher() -> &'static RandomState {
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

impl PartialEq for DedupKey {
    fn eq(&self, other: &Self) -> bool {
        // Stores keep clones of the caller's key: the pointer check usually settles it.
        Arc::ptr_eq(&self.bytes, &other.bytes)
            || (self.hash == other.hash && self.check == other.check && self.bytes == other.bytes)
    }
}

impl Eq for DedupKey {}

impl Hash for DedupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal keys have equal bytes, hence equal precomputed hashes.
        state.write_u64(self.hash);
    }
}

/// Keys longer than this are shortened when printed; ids are not secrets, but a log
/// line should stay a line.
const DISPLAY_LIMIT: usize = 120;

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.bytes[..self.bytes.len().min(DISPLAY_LIMIT)];
        write!(f, "{}", shown.escape_ascii())?;
        if self.bytes.len() > DISPLAY_LIMIT {
            write!(f, "… ({} bytes)", self.bytes.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DedupKey(\"{self}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_separate_equal_ids() {
        let ids: Vec<_> = Scheme::ALL
            .iter()
            .map(|&s| DedupKey::event_id(s, "42").unwrap())
            .collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn id_and_fingerprint_kinds_never_collide() {
        let fp = [0x11; 32];
        let as_fp = DedupKey::fingerprint(Scheme::Stalwart, &fp);
        let as_id = DedupKey::event_id(Scheme::Stalwart, hex::encode(fp)).unwrap();
        assert_ne!(as_fp, as_id);
    }

    #[test]
    fn bad_ids_and_namespaces_are_typed_errors() {
        assert_eq!(
            DedupKey::event_id(Scheme::Mailtrap, ""),
            Err(KeyError::EmptyId)
        );
        assert_eq!(
            DedupKey::event_id(Scheme::Mailtrap, vec![b'x'; MAX_EVENT_ID_LEN + 1]),
            Err(KeyError::IdTooLong {
                len: MAX_EVENT_ID_LEN + 1,
                max: MAX_EVENT_ID_LEN
            })
        );
        assert!(DedupKey::event_id(Scheme::Mailtrap, vec![b'x'; MAX_EVENT_ID_LEN]).is_ok());
        for bad in ["", "a:b", "sp ace", &"n".repeat(MAX_NAMESPACE_LEN + 1)] {
            assert!(
                matches!(Namespace::new(bad), Err(KeyError::InvalidNamespace(_))),
                "{bad:?}"
            );
        }
        assert!(Namespace::new("tenant-42.eu_1").is_ok());
    }

    #[test]
    fn namespace_is_recoverable_and_display_is_bounded() {
        let key = Namespace::new("wd-1")
            .unwrap()
            .event_id("6561f0c2a1b2c3d4e5f60718:1")
            .unwrap();
        assert_eq!(key.namespace(), "wd-1");
        assert_eq!(key.to_string(), "wd-1:id:6561f0c2a1b2c3d4e5f60718:1");

        let long = DedupKey::event_id(Scheme::EmailApi, "\u{1}".repeat(200)).unwrap();
        let shown = format!("{long:?}");
        assert!(shown.contains("\\x01"));
        assert!(shown.ends_with("… (213 bytes)\")"), "{shown}");
    }
}

//! How an entry of the memory store remembers its key: a 128-bit keyed digest of the
//! key ([`DigestKey`]) instead of the key's bytes.
//!
//! [`DedupKey::digest`] is two domain-separated outputs of SipHash under a per-process
//! random key, computed once when the key is built. Two distinct keys share a digest
//! with probability 2⁻¹²⁸, and without the process's random key an attacker choosing
//! event ids cannot aim for a collision. An entry then holds 16 bytes for its key,
//! allocates nothing and frees nothing when it is evicted, whatever the key's length.
//!
//! # Why this trick stays (issue 16, point 6)
//!
//! A trick stays only where a same-run benchmark shows it pays. The plain version is
//! the other [`EntryKey`] below: the entry keeps a clone of the [`DedupKey`] (48-byte
//! entries, and the key's allocation stays alive as long as the entry). With the
//! `test-support` feature,
//! [`MemoryStoreBuilder::build_with_plain_keys`](super::MemoryStoreBuilder::build_with_plain_keys)
//! builds a store on it, so the bench can keep comparing the two:
//!
//! ```text
//! RATIOS=1 RATIOS_ROUNDS=100 taskset -c 1 cargo bench -p webhook-core --bench idempotency
//! ```
//!
//! Measured 2026-12-06 on the 2-vCPU VM of `BENCHMARKS.md` while other builds ran (load
//! average about 9), six runs. The time of plain ÷ digest is the median of the
//! per-round ratios, interleaved, with the store kept at its cap and every event new:
//!
//! | | cap 10 000 | cap 100 000 (default) |
//! |---|---|---|
//! | a Mailtrap request: HMAC verify of a 357-byte body, the key, claim + complete through a `Deduplicator` (0.6–0.76 µs) | 1.10–1.21 | 1.16–1.30 (one run 1.72) |
//! | the store's part alone: the key, claim + complete | 1.21–1.41 | 1.29–1.38 |
//!
//! Resident memory per entry at the default cap after 200 000 events, each store alone
//! in a child process: 123–126 bytes with digests; with the keys themselves, 242–246
//! bytes for Mailtrap keys (48 bytes) and 275–278 bytes for Stalwart fingerprint keys
//! (76 bytes). The default store takes about 12.5 MB instead of 24–28 MB. The store's
//! own estimate ([`MemoryStats::approx_bytes`](super::MemoryStats::approx_bytes)) after
//! the bound test's million events (a scratch unit test, not kept) is 110–111 bytes an
//! entry with digests and 178, 213 and 241 bytes with 13-, 48- and 76-byte keys: the
//! plain version would fail the memory tests' bound of 150 bytes an entry.
//!
//! So the digest pays 10 % or more on a realistic request at both caps and halves the
//! memory: it stays, here, and the rest of the store reads as if entries held keys.

use crate::idempotency::DedupKey;

/// What an entry keeps of its key: enough to tell whether a key is its own, and the
/// key's precomputed hash (the table needs it again when it grows).
pub(super) trait EntryKey: Send + 'static {
    /// What an entry keeps of `key`.
    fn of(key: &DedupKey) -> Self;
    /// Whether `key` is the key this was made of.
    fn is(&self, key: &DedupKey) -> bool;
    /// The key's [`DedupKey::precomputed_hash`].
    fn hash(&self) -> u64;
    /// Heap bytes this keeps alive beside the entry itself.
    fn heap_bytes(&self) -> usize;
}

/// The key's 128-bit digest ([`DedupKey::digest`]), not the key.
pub(super) struct DigestKey([u64; 2]);

impl EntryKey for DigestKey {
    fn of(key: &DedupKey) -> Self {
        Self(key.digest())
    }

    fn is(&self, key: &DedupKey) -> bool {
        self.0 == key.digest()
    }

    fn hash(&self) -> u64 {
        // The digest's first half is the precomputed hash.
        self.0[0]
    }

    fn heap_bytes(&self) -> usize {
        0
    }
}

/// The plain version, for the measurement: the entry shares the caller's key (a
/// reference count, no copy) and keeps its allocation alive.
#[cfg(feature = "test-support")]
impl EntryKey for DedupKey {
    fn of(key: &DedupKey) -> Self {
        key.clone()
    }

    fn is(&self, key: &DedupKey) -> bool {
        self == key
    }

    fn hash(&self) -> u64 {
        self.precomputed_hash()
    }

    fn heap_bytes(&self) -> usize {
        // The shared allocation: two reference counts, then the bytes.
        2 * size_of::<usize>() + self.as_bytes().len()
    }
}

//! The embedded store: sharded, expiring, bounded, in process memory.
//!
//! [`MemoryStore`] is what a single-process receiver uses: no server, nanoseconds per
//! operation. It does **not** deduplicate across replicas or restarts; a receiver
//! that runs several instances behind a load balancer needs a shared store (the
//! `webhook-redis` crate).

mod digest_key;
mod shard;

use std::{
    fmt,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use self::{
    digest_key::{DigestKey, EntryKey},
    shard::{Nanos, Peeked, Shard, ShardClaim},
};
use super::{
    Claim, ClaimToken, DedupKey, IdempotencyStore, MonotonicClock, StoreClock, StoreError,
};

/// The default entry cap.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Shards per CPU core by default: enough that threads rarely meet on one lock,
/// few enough that a single thread's working set stays in cache.
const SHARDS_PER_CORE: usize = 4;
/// The fewest entries a shard is given when the shard count is reduced for a small cap.
const MIN_PER_SHARD: usize = 64;
/// The most shards a store has.
const MAX_SHARDS: usize = 1024;

/// Tells stores apart, so a token from one store is refused by another.
static NEXT_INSTANCE: AtomicU32 = AtomicU32::new(1);

/// The memory store's configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryConfigError {
    /// A capacity of zero entries would refuse every claim.
    #[error("the memory store's capacity must be at least 1 entry; size it as event rate × ttl")]
    ZeroCapacity,
}

/// The embedded, in-process idempotency store. Clones share the same entries.
///
/// # Layout
///
/// The keys are spread over shards (four per CPU core by default, fewer for small
/// caps so that each shard holds at least 64 entries), each a `Mutex` around a hash
/// table: concurrent requests only contend when their keys land in the same shard, and
/// every lock is held for one O(1) operation. Keys are hashed once, when built; the
/// shard and the table position come from different bits of that hash. Expiry and
/// eviction keep per-duration FIFO queues instead of a priority queue, so nothing on
/// the request path is O(log n) or O(n).
///
/// # Expiry and the memory bound
///
/// An in-progress entry expires with its lease, a completed one with its ttl; every
/// operation first drops what has expired in its shard. The store never holds more
/// than its capacity ([`MemoryStoreBuilder::capacity`], 100 000 by default; the cap is
/// split evenly over the shards). A claim that finds its shard full makes room in this
/// order:
///
/// 1. expired entries (already gone: they are dropped before every operation);
/// 2. the **oldest completed** entries, in completion order (per shard): the events
///    least likely to be retried still. Evicting one shortens its protection against duplicates
///    below the ttl; size the cap as event rate × ttl to avoid that;
/// 3. never a claim in progress: evicting one would let a duplicate run while the
///    first delivery is still processing. A shard full of claims in progress refuses
///    new claims with [`StoreError::Full`], which [`run_once`](super::run_once) turns
///    into 503 (fail closed) so the sender retries. In-progress claims are bounded by
///    the requests in flight, so this means the cap is far too small or leases far too
///    long.
///
/// The order is exact for up to 8 distinct leases and 8 distinct ttls (a receiver uses
/// one or two of each); beyond that, entries share the queue of the nearest duration
/// and an expired entry may hold its room until the entries queued before it expire.
/// It is never answered as present.
///
/// A full shard evicts its oldest completed entries a few at a time (one in 256 of
/// its entries, at most 16), so at the cap the store holds between 99.87 % and 100 %
/// of its capacity; evicting in a batch lets the memory waits of scattered entries
/// overlap. Caps under 512 entries a shard evict one at a time.
///
/// Entries keep a 128-bit keyed digest of the key (SipHash under a per-process random
/// key), not the key itself: two distinct keys are confused with probability 2⁻¹²⁸,
/// and event ids chosen by an attacker cannot aim at a collision without that key. An
/// entry costs about 95–110 bytes whatever the key's length, all included (measured by
/// the memory tests, reported by [`MemoryStore::stats`]): the default 100 000 entries
/// take about 11 MB, half of what entries holding the key would take (the measurement is
/// in the store's source, `memory/digest_key.rs`).
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Scheme, idempotency::{Claim, DedupKey, IdempotencyStore, MemoryStore}};
///
/// let store = MemoryStore::builder().capacity(10_000).build()?;
/// let key = DedupKey::event_id(Scheme::EmailApi, "evt_1")?;
/// futures::executor::block_on(async {
///     let Claim::Fresh(token) = store.claim(&key, Duration::from_secs(30)).await? else {
///         unreachable!("a new key is fresh");
///     };
///     // ... the handler runs ...
///     store.complete(&key, &token, Duration::from_secs(3600)).await?;
///     assert_eq!(store.claim(&key, Duration::from_secs(30)).await?, Claim::Done);
///     Ok::<_, webhook_core::idempotency::StoreError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryStore<C: StoreClock = MonotonicClock> {
    inner: Arc<Inner<C, DigestKey>>,
}

/// The store itself, whatever its entries keep of their keys ([`EntryKey`]).
struct Inner<C, K> {
    shards: Box<[Padded<Mutex<Shard<K>>>]>,
    clock: C,
    epoch: Instant,
    capacity: usize,
    instance: u32,
}

/// Keeps each shard's lock on its own cache lines, so threads working on neighbouring
/// shards do not slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

impl MemoryStore {
    /// A store with the default capacity and shard count, on the system clock.
    pub fn new() -> Self {
        Self::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// Configures a store.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            capacity: DEFAULT_CAPACITY,
            shards: std::thread::available_parallelism()
                .map_or(4, |cores| cores.get() * SHARDS_PER_CORE),
            clock: MonotonicClock,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: StoreClock> Clone for MemoryStore<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: StoreClock> fmt::Debug for MemoryStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.inner.capacity)
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`MemoryStore`].
#[derive(Debug, Clone)]
pub struct MemoryStoreBuilder<C = MonotonicClock> {
    capacity: usize,
    shards: usize,
    clock: C,
}

impl<C: StoreClock> MemoryStoreBuilder<C> {
    /// The most entries the store holds (default [`DEFAULT_CAPACITY`]). Size it as
    /// event rate × ttl; see the module docs for what happens at the cap.
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }

    /// The number of shards (default: four per CPU core): rounded up to a power of two,
    /// at most 1024, and reduced so that each shard holds at least 64 entries.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// The time source, e.g. a [`ManualClock`](super::ManualClock) in tests.
    pub fn clock<D: StoreClock>(self, clock: D) -> MemoryStoreBuilder<D> {
        MemoryStoreBuilder {
            capacity: self.capacity,
            shards: self.shards,
            clock,
        }
    }

    /// Builds the store.
    pub fn build(self) -> Result<MemoryStore<C>, MemoryConfigError> {
        Ok(MemoryStore {
            inner: Arc::new(self.inner()?),
        })
    }

    /// Builds a store whose entries keep the key itself instead of its digest: the
    /// plain version that the `idempotency` bench measures the digest against (see
    /// the `digest_key` module). Not for use.
    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn build_with_plain_keys(
        self,
    ) -> Result<Arc<impl IdempotencyStore + 'static>, MemoryConfigError> {
        Ok(Arc::new(self.inner::<DedupKey>()?))
    }

    fn inner<K: EntryKey>(self) -> Result<Inner<C, K>, MemoryConfigError> {
        if self.capacity == 0 {
            return Err(MemoryConfigError::ZeroCapacity);
        }
        let mut count = self.shards.clamp(1, MAX_SHARDS).next_power_of_two();
        while count > 1 && self.capacity / count < MIN_PER_SHARD {
            count /= 2;
        }
        let (base, extra) = (self.capacity / count, self.capacity % count);
        let shards = (0..count)
            .map(|i| {
                let cap = base + usize::from(i < extra);
                Padded(Mutex::new(Shard::new(cap, self.capacity)))
            })
            .collect();
        let epoch = self.clock.now();
        Ok(Inner {
            shards,
            clock: self.clock,
            epoch,
            capacity: self.capacity,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// A key's state in a [`MemoryStore`], as seen by [`MemoryStore::peek`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Claimed; the lease has this long to run.
    InProgress {
        /// The rest of the lease.
        remaining: Duration,
    },
    /// Completed; remembered this much longer.
    Done {
        /// The rest of the ttl.
        remaining: Duration,
    },
}

/// What a [`MemoryStore`] holds, from [`MemoryStore::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Entries held (what the capacity bounds). May include expired entries that no
    /// operation has dropped yet.
    pub entries: usize,
    /// Unexpired claims in progress.
    pub in_progress: usize,
    /// Unexpired completed entries.
    pub done: usize,
    /// The configured cap.
    pub capacity: usize,
    /// The shard count.
    pub shards: usize,
    /// An estimate of the heap memory used (maps, keys, expiry and completion orders).
    pub approx_bytes: usize,
}

impl<C: StoreClock> MemoryStore<C> {
    /// The state of `key`, without changing anything.
    pub fn peek(&self, key: &DedupKey) -> Option<EntryState> {
        self.inner.peek(key)
    }

    /// Counts the entries and estimates their memory. Walks every entry: O(n), for
    /// monitoring and tests, not for the request path.
    pub fn stats(&self) -> MemoryStats {
        self.inner.stats()
    }

    /// Entries held: [`MemoryStats::entries`] without the walk.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C: StoreClock> IdempotencyStore for MemoryStore<C> {
    fn claim(
        &self,
        key: &DedupKey,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        self.inner.claim(key, lease)
    }

    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.complete(key, token, ttl)
    }

    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.release(key, token)
    }

    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.renew(key, token, lease)
    }

    /// Releases at once: the memory store never blocks on I/O.
    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        self.inner.release_on_drop(key, token);
    }
}

impl<C: StoreClock, K: EntryKey> Inner<C, K> {
    fn peek(&self, key: &DedupKey) -> Option<EntryState> {
        let now = self.now();
        let peeked = self.shard(key).peek(key, now)?;
        Some(match peeked {
            Peeked::InProgress(left) => EntryState::InProgress {
                remaining: Duration::from_nanos(left),
            },
            Peeked::Done(left) => EntryState::Done {
                remaining: Duration::from_nanos(left),
            },
        })
    }

    fn stats(&self) -> MemoryStats {
        let now = self.now();
        let mut stats = MemoryStats {
            entries: 0,
            in_progress: 0,
            done: 0,
            capacity: self.capacity,
            shards: self.shards.len(),
            approx_bytes: size_of::<Self>()
                + self.shards.len() * size_of::<Padded<Mutex<Shard<K>>>>(),
        };
        for shard in &self.shards {
            let shard = lock(&shard.0);
            let counted = shard.stats(now);
            stats.entries += shard.len();
            stats.in_progress += counted.in_progress;
            stats.done += counted.done;
            stats.approx_bytes += counted.approx_bytes;
        }
        stats
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).len()).sum()
    }

    fn now(&self) -> Nanos {
        let elapsed = self.clock.now().saturating_duration_since(self.epoch);
        nanos(elapsed)
    }

    fn shard_index(&self, key: &DedupKey) -> usize {
        // Bits 32 and up: the maps use the low bits (bucket) and the top 7 bits
        // (control byte) of the same hash, which must stay spread within a shard.
        // The shard count is a power of two, at most 1024.
        ((key.precomputed_hash() >> 32) as usize) & (self.shards.len() - 1)
    }

    fn shard(&self, key: &DedupKey) -> MutexGuard<'_, Shard<K>> {
        lock(&self.shards[self.shard_index(key)].0)
    }

    /// A token names the store, the shard and the claim's sequence number in that
    /// shard, so it is only ever accepted for the claim it was issued for.
    fn token(&self, shard: usize, seq: u64) -> ClaimToken {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&seq.to_le_bytes());
        bytes[8..12].copy_from_slice(&(shard as u32).to_le_bytes());
        bytes[12..].copy_from_slice(&self.instance.to_le_bytes());
        ClaimToken::from_bytes(bytes)
    }

    /// The sequence number inside a token this store issued for a key in `shard`.
    fn seq(&self, token: &ClaimToken, shard: usize) -> Option<u64> {
        let bytes = token.to_bytes();
        let (mut seq, mut shard_of, mut instance) = ([0; 8], [0; 4], [0; 4]);
        seq.copy_from_slice(&bytes[..8]);
        shard_of.copy_from_slice(&bytes[8..12]);
        instance.copy_from_slice(&bytes[12..]);
        let ours = u32::from_le_bytes(instance) == self.instance
            && u32::from_le_bytes(shard_of) as usize == shard;
        ours.then(|| u64::from_le_bytes(seq))
    }

    fn claim_now(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let now = self.now();
        let shard = self.shard_index(key);
        let claimed = lock(&self.shards[shard].0).claim(key, nanos(lease), now)?;
        match claimed {
            ShardClaim::Fresh(seq) => Ok(Claim::Fresh(self.token(shard, seq))),
            ShardClaim::Held(claim) => Ok(claim),
        }
    }

    fn complete_now(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let shard = self.shard_index(key);
        let seq = self.seq(token, shard).ok_or(StoreError::LeaseLost)?;
        let now = self.now();
        lock(&self.shards[shard].0).complete(key, seq, nanos(ttl), now)
    }

    fn release_now(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        let shard = self.shard_index(key);
        let seq = self.seq(token, shard).ok_or(StoreError::LeaseLost)?;
        let now = self.now();
        lock(&self.shards[shard].0).release(key, seq, now)
    }

    fn renew_now(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let shard = self.shard_index(key);
        let seq = self.seq(token, shard).ok_or(StoreError::LeaseLost)?;
        let now = self.now();
        lock(&self.shards[shard].0).renew(key, seq, nanos(lease), now)
    }
}

/// The store's operations, whatever its entries keep of their keys: [`MemoryStore`]
/// forwards to this one.
impl<C: StoreClock, K: EntryKey> IdempotencyStore for Inner<C, K> {
    fn claim(
        &self,
        key: &DedupKey,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        std::future::ready(self.claim_now(key, lease))
    }

    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.complete_now(key, token, ttl))
    }

    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.release_now(key, token))
    }

    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.renew_now(key, token, lease))
    }

    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        let _ = self.release_now(key, token);
    }
}

/// Locks a shard. A poisoned lock means a panic inside a shard operation (an
/// allocation failure); the shard's invariants hold between statements that can
/// panic, so its data stays usable.
fn lock<K>(shard: &Mutex<Shard<K>>) -> MutexGuard<'_, Shard<K>> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

fn nanos(duration: Duration) -> Nanos {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

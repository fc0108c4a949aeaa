//! One shard of the memory store: a map of entries plus the orders that expiry and
//! eviction need, all O(1) per operation.
//!
//! Entries that share a duration expire in the order they were written, so instead of
//! a priority queue each shard keeps a few FIFO *lanes*: one per lease value for claims
//! in progress, one per ttl value for completed entries (a receiver uses one or two of
//! each). The front of every lane is the next entry of that lane to expire, so:
//!
//! - every operation first pops the expired fronts (an expired entry never occupies
//!   room and is never answered);
//! - at the cap, the completed entry to evict is the oldest front among the ttl lanes:
//!   the oldest completed entry;
//! - claims in progress are never evicted: a shard full of them refuses new claims.
//!
//! Entries live in a `hashbrown` table addressed by the key's precomputed hash; they
//! hold what an [`EntryKey`] keeps of the key (its 128-bit digest, see
//! [`digest_key`](super::digest_key)), so an entry is 32 bytes. A lane
//! item holds only that hash and the entry's sequence number (unique in the shard), so
//! expiry and eviction find their entry without touching the key. A lane item whose
//! entry changed since (completed, released) is *stale*: its sequence number no longer
//! matches, and it is dropped when it reaches the front. Claims
//! usually complete in the order they were made, so lease lanes stay about as long
//! as the number of claims in flight; they are compacted when stale items outnumber
//! live ones, which keeps the amortised cost O(1) and the memory proportional to the
//! entry count.
//!
//! A shard keeps at most [`MAX_LANES`] lanes of each kind; further durations share the
//! lane of the nearest duration, whose order is then approximate: an expired entry
//! behind a live front waits for the front (it is still never answered as present).

use std::{collections::VecDeque, mem::size_of, time::Duration};

use hashbrown::HashTable;

use super::digest_key::EntryKey;
use crate::idempotency::{Claim, DedupKey, StoreError};

/// Nanoseconds since the store's epoch.
pub(super) type Nanos = u64;

/// Distinct lease (and ttl) values a shard orders exactly.
pub(super) const MAX_LANES: usize = 8;

/// Stale lane items tolerated beyond twice the live entries before a compaction;
/// keeps small shards from compacting on every operation.
const COMPACT_SLACK: usize = 64;

/// One remembered key, in 32 bytes with a [`DigestKey`](super::digest_key::DigestKey)
/// (two to a cache line): at the default cap the table outgrows the CPU caches, and an
/// operation costs mostly the lines it touches.
struct Stored<K> {
    /// What the entry keeps of its key.
    key: K,
    /// The sequence number shifted left once, with the low bit set when done. The
    /// sequence number changes on every state change; a claim's token carries it.
    state: u64,
    expires_at: Nanos,
}

impl<K: EntryKey> Stored<K> {
    fn new(key: &DedupKey, seq: u64, expires_at: Nanos, done: bool) -> Self {
        let mut stored = Self {
            key: K::of(key),
            state: 0,
            expires_at,
        };
        stored.set(seq, done);
        stored
    }

    fn seq(&self) -> u64 {
        self.state >> 1
    }

    fn done(&self) -> bool {
        self.state & 1 == 1
    }

    fn set(&mut self, seq: u64, done: bool) {
        // One shard would need 2⁶³ operations to overflow the shifted counter.
        self.state = (seq << 1) | u64::from(done);
    }

    fn is(&self, key: &DedupKey) -> bool {
        self.key.is(key)
    }
}

/// A lane item: the entry with this hash and sequence number, if it still exists,
/// expires at `expires_at`. It was written at `expires_at` minus its lane's duration
/// (exactly so unless the lane is shared); not storing that keeps a marker at 24 bytes,
/// and the ttl lanes hold one per completed entry.
struct Marker {
    hash: u64,
    seq: u64,
    expires_at: Nanos,
}

struct Lane {
    duration: Nanos,
    queue: VecDeque<Marker>,
}

/// The lanes of one kind (leases or ttls).
#[derive(Default)]
struct Lanes {
    lanes: Vec<Lane>,
    /// Items in all lanes, live or stale.
    len: usize,
}

impl Lanes {
    // Inlined so the marker is written straight into the lane: passed by reference it
    // was stored field by field and reloaded in 16-byte halves, a store-forwarding
    // stall that cost more than the rest of a claim.
    #[inline(always)]
    fn push(&mut self, duration: Nanos, marker: Marker) {
        let index = match self.lanes.iter().position(|l| l.duration == duration) {
            Some(index) => index,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push(Lane {
                    duration,
                    queue: VecDeque::new(),
                });
                self.lanes.len() - 1
            }
            None => {
                let nearest = self
                    .lanes
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, l)| l.duration.abs_diff(duration));
                nearest.map_or(0, |(index, _)| index)
            }
        };
        self.lanes[index].queue.push_back(marker);
        self.len += 1;
    }

    /// Keeps the items `live` approves, in order, and drops emptied lanes.
    fn retain(&mut self, mut live: impl FnMut(&Marker) -> bool) {
        for lane in &mut self.lanes {
            lane.queue.retain(&mut live);
        }
        self.lanes.retain(|lane| !lane.queue.is_empty());
        self.len = self.lanes.iter().map(|l| l.queue.len()).sum();
    }

    fn bytes(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| size_of::<Lane>() + l.queue.capacity() * size_of::<Marker>())
            .sum()
    }
}

/// Whether `marker` is the current state of its entry: in progress (`done == false`)
/// or completed (`done == true`).
/// How many completed entries a full shard of `capacity` evicts at once: one in 256
/// of its entries, at least 1 and at most 16, so a small shard keeps its exact
/// one-at-a-time order and a large one gives up at most 0.13 % of its room.
fn eviction_batch(capacity: usize) -> usize {
    (capacity / 256).clamp(1, 16)
}

fn is_current<K: EntryKey>(table: &HashTable<Stored<K>>, marker: &Marker, done: bool) -> bool {
    table
        .find(marker.hash, |e| e.seq() == marker.seq)
        .is_some_and(|e| marker.matches(e, done))
}

impl Marker {
    /// Whether this marker stands for `entry`'s current expiry in state `done`. A
    /// renewed claim keeps its sequence number (its token) but moves its expiry, so
    /// the marker of the lease it had before is stale.
    fn matches<K: EntryKey>(&self, entry: &Stored<K>, done: bool) -> bool {
        entry.done() == done && entry.expires_at == self.expires_at
    }
}

/// What [`Shard::claim`] did.
pub(super) enum ShardClaim {
    /// Claimed: the token's sequence number.
    Fresh(u64),
    /// Not claimed: someone holds the key, or it is done.
    Held(Claim),
}

/// What [`Shard::peek`] found.
pub(super) enum Peeked {
    InProgress(Nanos),
    Done(Nanos),
}

/// The live entries, by state, and the shard's estimated memory.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ShardStats {
    pub(super) in_progress: usize,
    pub(super) done: usize,
    pub(super) approx_bytes: usize,
}

pub(super) struct Shard<K> {
    table: HashTable<Stored<K>>,
    /// Claims in progress, by lease.
    leases: Lanes,
    /// Completed entries, by ttl.
    ttls: Lanes,
    /// Entries in `table` that are claims in progress (expired or not).
    in_progress: usize,
    capacity: usize,
    /// The store's total cap, for error messages.
    store_capacity: usize,
    next_seq: u64,
    /// No lane front expires before this, so a purge before it has nothing to do.
    /// Lowered on every push; taking fronts off only makes it early, never late.
    next_expiry: Nanos,
}

impl<K: EntryKey> Shard<K> {
    pub(super) fn new(capacity: usize, store_capacity: usize) -> Self {
        Self {
            table: HashTable::new(),
            leases: Lanes::default(),
            ttls: Lanes::default(),
            in_progress: 0,
            capacity,
            store_capacity,
            next_seq: 1,
            next_expiry: Nanos::MAX,
        }
    }

    pub(super) fn claim(
        &mut self,
        key: &DedupKey,
        lease: Nanos,
        now: Nanos,
    ) -> Result<ShardClaim, StoreError> {
        self.purge(now);
        let hash = key.precomputed_hash();
        let seq = self.bump();
        let expires_at = now.saturating_add(lease);
        match self.table.find_mut(hash, |e| e.is(key)) {
            Some(e) if e.expires_at > now => {
                return Ok(ShardClaim::Held(if e.done() {
                    Claim::Done
                } else {
                    Claim::InProgress {
                        remaining: Some(Duration::from_nanos(e.expires_at - now)),
                    }
                }));
            }
            // Expired, behind a live front of a shared lane: take it over in place.
            Some(e) => {
                if e.done() {
                    self.in_progress += 1;
                }
                e.set(seq, false);
                e.expires_at = expires_at;
            }
            None => {
                // Inserted before room is made: the new slot's cache miss is then in
                // flight while eviction waits on its own, instead of after it.
                self.table
                    .insert_unique(hash, Stored::new(key, seq, expires_at, false), |e| {
                        e.key.hash()
                    });
                self.in_progress += 1;
                if let Err(full) = self.make_room() {
                    self.remove_current(hash, seq, false);
                    return Err(full);
                }
            }
        }
        self.next_expiry = self.next_expiry.min(expires_at);
        self.leases.push(
            lease,
            Marker {
                hash,
                seq,
                expires_at,
            },
        );
        self.compact();
        Ok(ShardClaim::Fresh(seq))
    }

    pub(super) fn complete(
        &mut self,
        key: &DedupKey,
        token: u64,
        ttl: Nanos,
        now: Nanos,
    ) -> Result<(), StoreError> {
        self.purge(now);
        let hash = key.precomputed_hash();
        let seq = self.bump();
        let expires_at = now.saturating_add(ttl);
        match self.table.find_mut(hash, |e| e.is(key)) {
            Some(e) if !e.done() && e.seq() == token => {
                e.set(seq, true);
                e.expires_at = expires_at;
                self.in_progress -= 1;
                self.trim_leases(token);
            }
            // Held or done by another delivery.
            Some(e) if e.expires_at > now => return Err(StoreError::LeaseLost),
            // The lease ran out and nobody holds the key: the handler did succeed, so
            // remembering the event is still right.
            Some(e) => {
                if !e.done() {
                    self.in_progress -= 1;
                }
                e.set(seq, true);
                e.expires_at = expires_at;
            }
            None => {
                // Inserted before room is made: the new slot's cache miss is then in
                // flight while eviction waits on its own, instead of after it.
                self.table
                    .insert_unique(hash, Stored::new(key, seq, expires_at, true), |e| {
                        e.key.hash()
                    });
                if let Err(full) = self.make_room() {
                    self.remove_current(hash, seq, true);
                    return Err(full);
                }
            }
        }
        self.next_expiry = self.next_expiry.min(expires_at);
        self.ttls.push(
            ttl,
            Marker {
                hash,
                seq,
                expires_at,
            },
        );
        self.compact();
        Ok(())
    }

    pub(super) fn release(
        &mut self,
        key: &DedupKey,
        token: u64,
        now: Nanos,
    ) -> Result<(), StoreError> {
        self.purge(now);
        let entry = self.table.find_entry(key.precomputed_hash(), |e| e.is(key));
        match entry {
            Ok(e) if !e.get().done() && e.get().seq() == token => {
                e.remove();
                self.in_progress -= 1;
                self.trim_leases(token);
                Ok(())
            }
            Ok(e) if e.get().expires_at > now => Err(StoreError::LeaseLost),
            // Expired (nobody holds it) or absent: nothing to give back.
            _ => Ok(()),
        }
    }

    /// Extends the claim `token` holds on `key` to `now + lease` (never shortens it).
    /// The claim keeps its sequence number; a new lease marker records the new expiry
    /// and the old one turns stale ([`Marker::matches`]).
    pub(super) fn renew(
        &mut self,
        key: &DedupKey,
        token: u64,
        lease: Nanos,
        now: Nanos,
    ) -> Result<(), StoreError> {
        self.purge(now);
        let hash = key.precomputed_hash();
        let expires_at = now.saturating_add(lease);
        match self.table.find_mut(hash, |e| e.is(key)) {
            Some(e) if !e.done() && e.seq() == token && e.expires_at > now => {
                if expires_at <= e.expires_at {
                    return Ok(());
                }
                e.expires_at = expires_at;
            }
            // Taken over, completed, released or expired: the lease is lost.
            _ => return Err(StoreError::LeaseLost),
        }
        self.next_expiry = self.next_expiry.min(expires_at);
        self.leases.push(
            lease,
            Marker {
                hash,
                seq: token,
                expires_at,
            },
        );
        self.compact();
        Ok(())
    }

    pub(super) fn peek(&self, key: &DedupKey, now: Nanos) -> Option<Peeked> {
        let e = self
            .table
            .find(key.precomputed_hash(), |e| e.is(key))
            .filter(|e| e.expires_at > now)?;
        let remaining = e.expires_at - now;
        Some(if e.done() {
            Peeked::Done(remaining)
        } else {
            Peeked::InProgress(remaining)
        })
    }

    /// Counts live (unexpired at `now`) entries and estimates the shard's heap memory.
    pub(super) fn stats(&self, now: Nanos) -> ShardStats {
        let mut stats = ShardStats::default();
        let mut key_bytes = 0;
        for e in &self.table {
            key_bytes += e.key.heap_bytes();
            if e.expires_at <= now {
                continue;
            }
            if e.done() {
                stats.done += 1;
            } else {
                stats.in_progress += 1;
            }
        }
        // hashbrown keeps buckets at 7/8 load, one control byte each. Entries hold a
        // digest, not the key, so `key_bytes` is zero and the table is all there is.
        let buckets = self.table.capacity() * 8 / 7;
        stats.approx_bytes = buckets * (size_of::<Stored<K>>() + 1)
            + key_bytes
            + self.leases.bytes()
            + self.ttls.bytes();
        stats
    }

    /// Entries held, expired or not (what the cap bounds).
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    fn bump(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Removes the entry with this hash and sequence number if it is still current
    /// with state `done`.
    fn remove_current(&mut self, hash: u64, seq: u64, done: bool) {
        if let Ok(e) = self.table.find_entry(hash, |e| e.seq() == seq)
            && e.get().done() == done
        {
            e.remove();
            if !done {
                self.in_progress -= 1;
            }
        }
    }

    /// Drops every entry whose lease or ttl ran out by `now`: the expired fronts of
    /// every lane.
    fn purge(&mut self, now: Nanos) {
        if now < self.next_expiry {
            return;
        }
        for done in [false, true] {
            let lanes = if done {
                &mut self.ttls
            } else {
                &mut self.leases
            };
            for lane in &mut lanes.lanes {
                while lane.queue.front().is_some_and(|m| m.expires_at <= now) {
                    let Some(marker) = lane.queue.pop_front() else {
                        break;
                    };
                    lanes.len -= 1;
                    if let Ok(e) = self
                        .table
                        .find_entry(marker.hash, |e| e.seq() == marker.seq)
                        && marker.matches(e.get(), done)
                    {
                        e.remove();
                        if !done {
                            self.in_progress -= 1;
                        }
                    }
                }
            }
        }
        self.next_expiry = self
            .leases
            .lanes
            .iter()
            .chain(&self.ttls.lanes)
            .filter_map(|lane| lane.queue.front().map(|m| m.expires_at))
            .min()
            .unwrap_or(Nanos::MAX);
    }

    /// After the claim `token` completed or was released, drops it (and any stale
    /// items before the next live claim) from the front of the lease lanes, so that
    /// lanes of claims finishing in order stay short without compaction.
    fn trim_leases(&mut self, token: u64) {
        for lane in &mut self.leases.lanes {
            while let Some(front) = lane.queue.front() {
                if front.seq != token && is_current(&self.table, front, false) {
                    break;
                }
                lane.queue.pop_front();
                self.leases.len -= 1;
            }
        }
    }

    /// Brings a shard one entry over its cap (the entry just inserted) back within it:
    /// evicts the oldest completed entry, or refuses if every other entry is a claim
    /// in progress. Expired entries are already gone (every operation purges first), so
    /// this is the documented order: expired, then oldest completed, never in progress.
    ///
    /// A full shard evicts [`eviction_batch`] entries at once rather than one per
    /// claim. The entries are scattered over a table larger than the CPU caches, so
    /// each eviction waits on memory; lookups in one loop with no lock in between
    /// overlap those waits, where one eviction per claim pays each in full.
    fn make_room(&mut self) -> Result<(), StoreError> {
        if self.table.len() <= self.capacity {
            return Ok(());
        }
        // One over the cap: `eviction_batch` evictions leave it that many minus one under.
        let target = self.capacity + 1 - eviction_batch(self.capacity);
        while self.table.len() > target {
            let oldest = self
                .ttls
                .lanes
                .iter_mut()
                .filter(|lane| !lane.queue.is_empty())
                .min_by_key(|lane| {
                    lane.queue
                        .front()
                        .map_or(Nanos::MAX, |m| m.expires_at.saturating_sub(lane.duration))
                });
            let Some(marker) = oldest.and_then(|lane| lane.queue.pop_front()) else {
                if self.table.len() <= self.capacity {
                    break;
                }
                return Err(StoreError::Full {
                    capacity: self.store_capacity,
                });
            };
            self.ttls.len -= 1;
            self.remove_current(marker.hash, marker.seq, true);
        }
        Ok(())
    }

    /// Drops stale lane items once they outnumber the live entries.
    fn compact(&mut self) {
        let table = &self.table;
        if self.leases.len > 2 * self.in_progress + COMPACT_SLACK {
            self.leases.retain(|m| is_current(table, m, false));
        }
        let done = table.len() - self.in_progress;
        if self.ttls.len > 2 * done + COMPACT_SLACK {
            self.ttls.retain(|m| is_current(table, m, true));
        }
    }
}

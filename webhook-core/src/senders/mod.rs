//! The senders hookwise speaks, one module (and one folder) each, holding everything
//! hookwise knows about that sender.
//!
//! | sender | [`Scheme`] | signature | signed timestamp | payload (owned) | dedup key |
//! |---|---|---|---|---|---|
//! | [`stalwart`] | `Stalwart` | `X-Signature`: base64 HMAC-SHA256 of the body | each event's `createdAt` (newest judged) | [`StalwartEvents`](crate::StalwartEvents) | content fingerprint |
//! | [`email_api`] | `EmailApi` | `X-Webhook-Signature` (or `X-Hub-Signature-256`): `sha256=<hex>` | `created_at` | [`EmailApiEvent`](crate::EmailApiEvent) | `id` |
//! | [`mailtrap`] | `Mailtrap` | `Mailtrap-Signature` (or `X-Mailtrap-Signature`): hex | none | [`MailtrapEvents`](crate::MailtrapEvents) | `event_id` |
//! | [`standard_webhooks`] | `StandardWebhooks` | `webhook-signature` (or `svix-*`): `v1,<base64>` over `id.timestamp.body` | `webhook-timestamp` header | [`StandardWebhook<T>`](standard_webhooks::StandardWebhook) | `webhook-id` |
//! | [`wildduck`] | `WildDuck` | none: Basic credentials or a URL token | none | [`WildDuckEvent`](crate::WildDuckEvent) | `id` |
//!
//! # What a sender's folder holds
//!
//! - its **header names** and how its **signature** is presented, verified and
//!   signed (`signature.rs`: the public `sign` function and header constants);
//! - its **signed timestamp** and the replay window its retries need (`replay.rs`, for
//!   senders that sign one);
//! - its **payload types** (`event.rs`, `batch.rs`, …), parsed from verified bodies;
//! - how a body **splits into events** and each event's **deduplication key**
//!   (`dedup.rs`, or `mod.rs` for a one-event body);
//! - its **default limits and policies**: the body limit, the idempotency lease and ttl,
//!   and the retry horizon the ttl must cover (`mod.rs`);
//! - its **diagnosis hints**: what a mis-encoded signature or secret of this sender
//!   looks like (`signature.rs`).
//!
//! Each folder's `mod.rs` ends in one crate-private `SenderRules` value: the sender's
//! names, its signature (a signing sender's `signature.rs` provides its
//! `SignatureRules`), where its signed timestamp is, its default limits and policies,
//! and its event-key and batch-splitting functions, each with the reason beside it.
//! The verifier, the replay check, [`idempotency`](crate::idempotency) and
//! [`diagnose`](crate::diagnose) read the sender's rules through its [`Scheme`]
//! instead of matching on it. The public face of a sender is its [`Scheme`] variant
//! (whose methods, such as [`Scheme::sign`] and [`Scheme::headers`], answer for it) and
//! its module's public items.
//!
//! # Adding a sender
//!
//! 1. **One folder**, `webhook-core/src/senders/<name>/`, on the model of the closest
//!    existing sender:
//!    - `mod.rs`: the module doc (the sender's facts, with a table like the one above),
//!      the payload types' `pub use`, and its `static` `SenderRules` value: id,
//!      aliases, name, summary, signature, where the signed timestamp is (a reader for
//!      it if it is in the body, `replay.rs`), body limit, the media types it sends
//!      (what a verifier may be pinned to), lease and ttl with the retry
//!      horizon they cover, the event-key function and, for a batch, the splitting one
//!      (`dedup.rs`);
//!    - `signature.rs`, if the sender signs: its header names, its `sign` function and
//!      its `SignatureRules` (headers, key encoding, verify, the signing headers, the
//!      diagnosis hints): a `BodyMac` when one header carries an HMAC of the body
//!      alone (Stalwart, email-API, Mailtrap), its own implementation otherwise
//!      (Standard Webhooks);
//!    - the payload types (`event.rs`, …), written with the machinery of
//!      [`events`](crate::events).
//!
//!    Declare the module in this file (`pub mod <name>;`), and, if the payload
//!    borrows, add its owned alias beside `StalwartEvents` in the crate root.
//! 2. **One enum variant** in [`Scheme`] (`senders/scheme.rs`), listed in
//!    [`Scheme::ALL`] (whose length grows by one), and its arm in `Scheme::rules`
//!    (returning `&<name>::<NAME>`), the one `match` on the variants in this crate (the
//!    compiler points at it). The
//!    crate's tests run over [`Scheme::ALL`]: ids and aliases parse back and are
//!    unique, and every ttl outlasts the retry horizon the sender documents (the
//!    horizons are a table in `idempotency/policy.rs`'s test, which fails until the
//!    new sender's row is there).
//! 3. **Its format in `webhook-sender`**: `webhook-sender/src/senders/<name>.rs` with
//!    `impl DeliveryPolicy { pub fn <name>() }`, the sender's delivery preset (and a
//!    typed `Format` if its bodies are built from this crate's models, re-exported in
//!    that crate's `lib.rs`); its module and its arm in `DeliveryPolicy::for_scheme`,
//!    in `webhook-sender/src/senders/mod.rs`. The `webhook` CLI follows the same name:
//!    `webhook-cli/src/senders/<name>.rs` (sample events, how `send` delivers them, how
//!    its events are summarized) and its arm in `webhook-cli/src/senders/mod.rs`.
//!
//! Its tests go beside the others': `webhook-core/tests/events_<name>.rs` for the
//! payload types, its known-answer vectors in `tests/known_answers.rs`, its rows in the
//! root `tests/hostile.rs` matrix, and fuzz targets for its parsers in `fuzz/`.
//!
//! Nothing else changes: the verifier, replay, idempotency, diagnosis, the adapters,
//! the reference sender's endpoint and engine, and the CLI's commands (`--scheme`
//! lists [`Scheme::ALL`]) are written against the rules, not against the variants.
//! Documentation that lists every sender (this module's table, the crate and README
//! tables) gains a row.
//!
//! [`Scheme`]: crate::Scheme
//! [`Scheme::ALL`]: crate::Scheme::ALL
//! [`Scheme::sign`]: crate::Scheme::sign
//! [`Scheme::headers`]: crate::Scheme::headers

mod body_mac;
pub mod email_api;
mod headers;
pub mod mailtrap;
pub(crate) mod rules;
pub(crate) mod scheme;
mod signing;
pub mod stalwart;
pub mod standard_webhooks;
pub mod wildduck;

pub use headers::SenderHeader;
pub(crate) use headers::{either, single};
pub use signing::{SignError, SignedHeader, Stamp};

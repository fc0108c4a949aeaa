//! Not a library: this package carries the hookwise workspace's round-trip tests,
//! examples and benchmarks. Receivers depend on `webhook-axum` or `webhook-actix` (each
//! re-exports the core), or on `webhook-core` without a framework.

/// Every Rust snippet of the README, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#![doc = include_str!("../README.md")]
//!
//! This crate is the facade: it re-exports [`webhook_core`], the sans-IO core.

pub use webhook_core::*;

//! Stalwart's webhook events: `{"events":[{"id","createdAt","type","data"}]}` batches.

mod event_type;

pub use event_type::*;

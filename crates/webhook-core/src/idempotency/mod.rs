//! Placeholder: idempotency primitives.

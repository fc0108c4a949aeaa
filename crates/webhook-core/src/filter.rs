//! Placeholder: event-name patterns and subscription filters.

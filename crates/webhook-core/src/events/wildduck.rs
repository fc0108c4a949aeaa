//! Placeholder: filled in by the events work for this sender.

//! Stalwart event type names (placeholder until the generated enum lands).

/// A Stalwart event type name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(Box<str>);

impl EventType {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for EventType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.into()))
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

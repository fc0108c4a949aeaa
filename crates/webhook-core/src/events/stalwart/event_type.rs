//! Stalwart event type names (placeholder until the generated enum lands).

/// A Stalwart event type name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(Box<str>);

impl EventType {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric type id Stalwart puts at the end of event ids (placeholder: the
    /// generated table lands with the full enum).
    pub fn type_id(&self) -> Option<u16> {
        None
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

impl From<&str> for EventType {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from(&*text))
    }
}

//! Stalwart event type names: the `type` field of every webhook event.
//!
//! Stalwart names its webhook events after its internal telemetry events
//! (`family.variant`, both kebab-case) and renames them between minor versions: v0.9.0
//! replaced all fourteen v0.8 webhook names, and v0.16.0 removed 51 of the 591 v0.15.5
//! names (`queue.queue-message` became `queue.message-queued`, `task-queue.*` became
//! `task-manager.*`) while later v0.16 releases kept adding names. A receiver must
//! therefore never reject a name it does not know, and should still understand the old
//! ones. [`EventType`] is an open enum built for that:
//!
//! - the 637 current names (Stalwart v0.16.18) are typed, one enum per [`Family`]:
//!   `EventType::Auth(AuthEvent::Failed)`, so handlers `match` instead of comparing
//!   strings;
//! - [`EventType::Legacy`] holds names earlier versions sent, each with its
//!   [current equivalents](EventType::current_equivalents);
//! - [`EventType::Unknown`] keeps anything else verbatim (a newer Stalwart's names, most
//!   likely).
//!
//! Parsing never fails, and every value serializes back to exactly the text it was
//! parsed from. The enums are `#[non_exhaustive]` because the list grows with Stalwart.
//!
//! ```
//! use webhook_core::senders::stalwart::{AuthEvent, EventType, Family};
//!
//! for name in ["auth.failed", "auth.failure", "auth.brand-new"] {
//!     let event = EventType::from(name);
//!     assert_eq!(event.as_str(), name); // always the wire spelling
//!     assert_eq!(event.family(), Some(Family::Auth));
//! }
//!
//! // Handle old and new spellings alike through the current names.
//! let is_failed_login = |event: &EventType| {
//!     event.current_equivalents().iter().any(|current| {
//!         matches!(current, EventType::Auth(AuthEvent::Failed | AuthEvent::TooManyAttempts))
//!     })
//! };
//! assert!(is_failed_login(&"auth.failed".parse().unwrap()));
//! assert!(is_failed_login(&"auth.failure".parse().unwrap())); // v0.8
//! assert!(!is_failed_login(&"auth.success".parse().unwrap()));
//! assert_eq!(EventType::from("auth.failed").type_id(), Some(35));
//! ```
//!
//! # Where the names come from
//!
//! The per-family enums, [`Family`], the parse tables and the type ids are generated
//! (`event_type/generated.rs`) from Stalwart's lists vendored in the crate's `data/`
//! directory; `tests/event_types.rs` holds the generator and fails when the generated code
//! and the data disagree. The [`LegacyEventType`] table is written by hand from the spec's
//! rename tables; the same test checks it against the data.
//!
//! # Parsing cost
//!
//! [`EventType::from`] splits at the first `.` with a byte scan (prefixes are at most 17
//! bytes, too short for `memchr` to pay off), matches the prefix against the 43 family
//! names, then the rest against that family's names. rustc and LLVM compile each string
//! `match` into a jump table on the length followed by a few inlined word comparisons
//! (checked in the generated assembly), so a lookup is two short switches with no hashing
//! and no allocation. In a scratch benchmark over all 637 names this was as fast as one
//! 637-arm `match` on the whole name for known names and faster for unknown ones, about
//! twice as fast as a byte-slice `match` (which rustc lowers to a byte-by-byte trie), and
//! faster than a `HashMap` lookup. A name that misses is tried against the legacy names and
//! only then copied into [`EventType::Unknown`].

mod generated;
mod legacy;
mod serde_impl;

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

pub use generated::*;
pub use legacy::LegacyEventType;

impl EventType {
    /// The wire spelling: the current name, the legacy spelling, or the unknown text
    /// exactly as received.
    pub fn as_str(&self) -> &str {
        self.spelling()
    }

    /// The family this name belongs to.
    ///
    /// - A current name: its family.
    /// - A legacy name: the family of its [current equivalents](Self::current_equivalents)
    ///   when they all share one (`auth.failure` → [`Family::Auth`], `acme.dns-record-created`
    ///   → [`Family::Dns`], `store.ingest` → [`Family::MessageIngest`]), else `None`
    ///   (`message.rejected`, `dsn`, and the names dropped without a successor).
    /// - An unknown name: the family named by the text before its first `.`, if that is a
    ///   current family (`auth.brand-new` → [`Family::Auth`]); `None` without a `.` or for
    ///   an unknown prefix. Matching is exact: `AUTH.x` has no family.
    pub fn family(&self) -> Option<Family> {
        match self {
            Self::Legacy(legacy) => legacy.family(),
            Self::Unknown(name) => {
                split_family(name).and_then(|(prefix, _)| Family::from_prefix(prefix))
            }
            current => current.current_parts().map(|(family, _)| family),
        }
    }

    /// Stalwart's numeric id of a current name (`to_id` in Stalwart's `trc` crate, stable
    /// since v0.16.0, the suffix of each event's `id`); `None` for legacy and unknown names.
    pub fn type_id(&self) -> Option<u16> {
        self.current_parts().map(|(_, id)| id)
    }

    /// Whether this is one of the current (v0.16.18) names. Legacy and unknown names are
    /// not.
    pub fn is_known(&self) -> bool {
        self.current_parts().is_some()
    }

    /// Whether this is a name an earlier Stalwart version sent ([`EventType::Legacy`]).
    pub fn is_legacy(&self) -> bool {
        matches!(self, Self::Legacy(_))
    }

    /// The current names this one stands for: itself for a current name, the documented
    /// replacements for a legacy one (possibly several, possibly none; see
    /// [`LegacyEventType::current_equivalents`]), nothing for an unknown one.
    pub fn current_equivalents(&self) -> &[EventType] {
        match self {
            Self::Legacy(legacy) => legacy.current_equivalents(),
            Self::Unknown(_) => &[],
            current => std::slice::from_ref(current),
        }
    }

    /// Every current name, in the order of Stalwart's list (637 as of v0.16.18).
    pub fn all_current() -> &'static [EventType] {
        &generated::ALL_CURRENT
    }

    /// The current or legacy name spelled `name`, without allocating.
    fn parse_known(name: &str) -> Option<Self> {
        let current = split_family(name)
            .and_then(|(prefix, variant)| Family::from_prefix(prefix)?.parse_variant(variant));
        current.or_else(|| LegacyEventType::from_name(name).map(Self::Legacy))
    }
}

/// `family.variant` split at the first `.`.
fn split_family(name: &str) -> Option<(&str, &str)> {
    // A plain loop: prefixes are short, and in a benchmark `split_once` (memchr) cost
    // more than the whole scan.
    let dot = name.bytes().position(|byte| byte == b'.')?;
    Some((&name[..dot], &name[dot + 1..]))
}

impl FromStr for EventType {
    type Err = Infallible;

    /// Never fails: names that are neither current nor legacy become
    /// [`EventType::Unknown`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(name))
    }
}

impl From<&str> for EventType {
    fn from(name: &str) -> Self {
        Self::parse_known(name).unwrap_or_else(|| Self::Unknown(name.into()))
    }
}

impl From<String> for EventType {
    /// Like `From<&str>`, reusing the string's buffer for an unknown name.
    fn from(name: String) -> Self {
        Self::parse_known(&name).unwrap_or_else(|| Self::Unknown(name.into_boxed_str()))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Lets maps keyed by [`EventType`] be queried with the wire name (`map.get("auth.failed")`):
/// equality, ordering and hashing all follow [`EventType::as_str`].
impl Borrow<str> for EventType {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

// Equality follows the spelling rather than the variant so that a hand-built
// `Unknown("auth.failed")` equals the parsed `Auth(Failed)`, and so `Borrow<str>` holds.
impl PartialEq for EventType {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for EventType {}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<EventType> for str {
    fn eq(&self, other: &EventType) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<EventType> for &str {
    fn eq(&self, other: &EventType) -> bool {
        *self == other.as_str()
    }
}

impl Hash for EventType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for EventType {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EventType {
    /// By wire spelling, like `str`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// The text is not the prefix of any current Stalwart event family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a Stalwart event family: expected a current prefix such as `auth` or \
     `message-ingest` (lowercase, without the `.`; see `Family::ALL`)"
)]
#[non_exhaustive]
pub struct ParseFamilyError;

impl FromStr for Family {
    type Err = ParseFamilyError;

    /// The family whose wire prefix is exactly `prefix` (`"message-ingest"`).
    fn from_str(prefix: &str) -> Result<Self, Self::Err> {
        Self::from_prefix(prefix).ok_or(ParseFamilyError)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_paths() {
        assert_eq!(
            EventType::parse_known("auth.failed"),
            Some(EventType::Auth(AuthEvent::Failed))
        );
        assert_eq!(
            EventType::parse_known("dsn"),
            Some(EventType::Legacy(LegacyEventType::Dsn))
        );
        assert_eq!(EventType::parse_known("auth.nope"), None);
        assert_eq!(EventType::parse_known("nope"), None);
        assert_eq!(split_family("a.b.c"), Some(("a", "b.c")));
        assert_eq!(split_family(".x"), Some(("", "x")));
        assert_eq!(split_family("x"), None);
    }

    #[test]
    fn from_string_keeps_unknown_text() {
        let name = String::from("queue.brand-new");
        let event = EventType::from(name);
        assert_eq!(event, EventType::Unknown("queue.brand-new".into()));
        assert_eq!(event.family(), Some(Family::Queue));
        assert_eq!(
            EventType::from(String::from("queue.message-queued")),
            EventType::Queue(QueueEvent::MessageQueued)
        );
    }

    #[test]
    fn ordering_and_display_follow_the_spelling() {
        let mut events = [
            EventType::from("smtp.ehlo"),
            EventType::from("zzz"),
            EventType::from("auth.failure"),
            EventType::from("auth.failed"),
        ];
        events.sort();
        let names: Vec<&str> = events.iter().map(EventType::as_str).collect();
        assert_eq!(names, ["auth.failed", "auth.failure", "smtp.ehlo", "zzz"]);
        assert_eq!(
            format!("[{:>12}]", EventType::from("auth.error")),
            "[  auth.error]"
        );
        assert_eq!(format!("{:<6}|", Family::Auth), "auth  |");
        assert_eq!(
            "Auth".parse::<Family>().unwrap_err().to_string(),
            ParseFamilyError.to_string()
        );
    }

    #[test]
    fn sizes_stay_small() {
        assert_eq!(std::mem::size_of::<AuthEvent>(), 1);
        assert_eq!(std::mem::size_of::<Family>(), 1);
        assert!(std::mem::size_of::<EventType>() <= 24);
    }
}

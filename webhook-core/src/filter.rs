//! Event-name patterns and subscription filters: which events a webhook receives.
//!
//! The same rules serve both sides: a sender (or a simulation of one) deciding what to
//! deliver, and a receiver deciding what to handle.
//!
//! - [`Pattern`]: one pattern. [`Pattern::parse`] reads the syntax Stalwart's
//!   TOML-era configuration used (an exact name, `*`, `prefix*`, `*suffix`), which also
//!   covers WildDuck's `user.*`; [`Pattern::wildduck`] applies WildDuck's own rules
//!   (trimmed, lowercased, at most 128 characters, and only `*` and `….*` are
//!   wildcards).
//! - [`EventFilter`]: Stalwart's `events` + `eventsPolicy`: include only the matching
//!   events, or exclude them. The default, like Stalwart's, excludes nothing.
//! - [`Subscription`]: a WildDuck subscription: patterns plus an optional user.
//! - [`MatchMode`]: the documented meaning of a prefix pattern (every dot-level
//!   prefix), or WildDuck's actual matcher, which never fires `a.b.*` (see
//!   [`MatchMode::WildDuckCompat`]).
//!
//! Matching never allocates: it runs per event on the hot path.
//!
//! ```
//! use webhook_core::filter::{EventFilter, MatchMode, Pattern, FilterPolicy, Subscription};
//!
//! // Stalwart: deliver authentication events, except failures.
//! let auth = EventFilter::parse(FilterPolicy::Include, ["auth.*"])?;
//! assert!(auth.matches("auth.success"));
//! assert!(!auth.matches("delivery.completed"));
//! let quiet = EventFilter::parse(FilterPolicy::Exclude, ["*-error", "auth.failed"])?;
//! assert!(!quiet.matches("telemetry.webhook-error"));
//! assert!(quiet.matches("auth.success"));
//! assert!(EventFilter::default().matches("anything"));
//!
//! // WildDuck: a subscription of one user to address events.
//! let sub = Subscription::wildduck(["address.user.*"], Some("6561f0c2a1b2c3d4e5f60719"))?;
//! assert!(sub.matches("address.user.created", Some("6561f0c2a1b2c3d4e5f60719")));
//! assert!(!sub.matches("address.user.created", Some("0000000000000000000000aa")));
//! // WildDuck itself never fires a three-level prefix pattern:
//! assert!(!sub.matches_with("address.user.created", None, MatchMode::WildDuckCompat));
//! # Ok::<(), webhook_core::filter::PatternError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// WildDuck's limit on a subscription pattern's length (JavaScript string length:
/// UTF-16 code units).
pub const WILDDUCK_MAX_PATTERN_LEN: usize = 128;

/// An event-name pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pattern {
    /// `*`: every event.
    All,
    /// An exact event name.
    Exact(Box<str>),
    /// `prefix*`: names starting with the prefix (kept without the `*`, e.g.
    /// `user.` for `user.*`).
    Prefix(Box<str>),
    /// `*suffix`: names ending with the suffix (kept without the `*`).
    Suffix(Box<str>),
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern is empty.
    #[error("an event pattern cannot be empty: use `*` for every event")]
    Empty,
    /// A `*` somewhere other than alone, at the start or at the end.
    #[error(
        "event pattern {pattern:?} has a `*` in an unsupported place: use `*`, `prefix*` or \
         `*suffix`, with one `*`"
    )]
    MisplacedWildcard {
        /// The pattern as given.
        pattern: String,
    },
    /// Longer than WildDuck accepts.
    #[error("event pattern is {len} characters long; WildDuck accepts at most {max}")]
    TooLong {
        /// Its length (UTF-16 code units, as JavaScript counts).
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// How prefix patterns match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MatchMode {
    /// The documented meaning: `prefix*` matches every name starting with `prefix`,
    /// so `address.user.*` matches `address.user.created`.
    #[default]
    Documented,
    /// What WildDuck's sender (1.45.x) actually does, for simulating it. For an event
    /// `a.b.c` it looks up the patterns `*`, `a.*`, `a,b.*` and `a.b.c` exactly: the
    /// deeper prefixes are built with JavaScript's array-to-string join, which puts a
    /// comma between the parts. So `address.*` fires for `address.user.created` but
    /// `address.user.*` never does (and the literal pattern `address,user.*` does).
    WildDuckCompat,
}

impl Pattern {
    /// Parses a pattern: an exact name, `*`, `prefix*` or `*suffix` (Stalwart's
    /// TOML-era syntax, which includes WildDuck's `user.*`). Matching is
    /// case-sensitive; the text is kept as given.
    ///
    /// ```
    /// use webhook_core::filter::Pattern;
    ///
    /// assert!(Pattern::parse("user.*")?.matches("user.created"));
    /// assert!(Pattern::parse("*-error")?.matches("telemetry.webhook-error"));
    /// assert!(Pattern::parse("a*b").is_err());
    /// # Ok::<(), webhook_core::filter::PatternError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text == "*" {
            return Ok(Self::All);
        }
        let stars = text.bytes().filter(|&byte| byte == b'*').count();
        match (stars, text.strip_suffix('*'), text.strip_prefix('*')) {
            (0, _, _) => Ok(Self::Exact(text.into())),
            (1, Some(prefix), _) => Ok(Self::Prefix(prefix.into())),
            (1, _, Some(suffix)) => Ok(Self::Suffix(suffix.into())),
            _ => Err(PatternError::MisplacedWildcard {
                pattern: text.to_owned(),
            }),
        }
    }

    /// Parses a WildDuck subscription type the way WildDuck stores it: trimmed,
    /// lowercased, at most [`WILDDUCK_MAX_PATTERN_LEN`] characters. Only `*` and a
    /// prefix ending in `.*` are wildcards; any other text, `*` included, is an exact
    /// name.
    ///
    /// ```
    /// use webhook_core::filter::{Pattern, PatternError};
    ///
    /// assert_eq!(Pattern::wildduck(" User.* ")?, Pattern::Prefix("user.".into()));
    /// assert_eq!(Pattern::wildduck("user*")?, Pattern::Exact("user*".into()));
    /// assert!(matches!(Pattern::wildduck(&"a".repeat(129)), Err(PatternError::TooLong { .. })));
    /// # Ok::<(), PatternError>(())
    /// ```
    pub fn wildduck(text: &str) -> Result<Self, PatternError> {
        let text = text.trim().to_lowercase();
        let len = text.encode_utf16().count();
        if len > WILDDUCK_MAX_PATTERN_LEN {
            return Err(PatternError::TooLong {
                len,
                max: WILDDUCK_MAX_PATTERN_LEN,
            });
        }
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        Ok(if text == "*" {
            Self::All
        } else if let Some(prefix) = text
            .strip_suffix('*')
            .filter(|prefix| prefix.ends_with('.'))
        {
            Self::Prefix(prefix.into())
        } else {
            Self::Exact(text.into())
        })
    }

    /// Whether `name` matches, with the documented meaning.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Exact(exact) => name == &**exact,
            Self::Prefix(prefix) => name.starts_with(&**prefix),
            Self::Suffix(suffix) => name.ends_with(&**suffix),
        }
    }

    /// Whether `name` matches in `mode`.
    pub fn matches_with(&self, name: &str, mode: MatchMode) -> bool {
        match mode {
            MatchMode::Documented => self.matches(name),
            MatchMode::WildDuckCompat => self.matches_wildduck_compat(name),
        }
    }

    /// The pattern's text as two pieces (`user.` + `*`), to compare without
    /// building a string.
    fn text_parts(&self) -> (&str, &str) {
        match self {
            Self::All => ("*", ""),
            Self::Exact(exact) => (exact, ""),
            Self::Prefix(prefix) => (prefix, "*"),
            Self::Suffix(suffix) => ("*", suffix),
        }
    }

    /// Whether the pattern's text is one of the names WildDuck looks up for `name`:
    /// `*`, the name itself, and for each dot of the name, the parts before it joined
    /// with commas, then `.*`.
    fn matches_wildduck_compat(&self, name: &str) -> bool {
        let (head, tail) = self.text_parts();
        let text = || head.bytes().chain(tail.bytes());
        let len = head.len() + tail.len();
        if (head, tail) == ("*", "") || (len == name.len() && text().eq(name.bytes())) {
            return true;
        }
        // A prefix candidate is `q.*`, where `q` is the part of the name before one of
        // its dots, with its own dots turned into commas.
        let ends_with_dot_star = len >= 2 && text().skip(len - 2).eq(*b".*");
        if !ends_with_dot_star {
            return false;
        }
        let q_len = len - 2;
        let name = name.as_bytes();
        name.len() > q_len
            && name[q_len] == b'.'
            && text()
                .take(q_len)
                .zip(name)
                .all(|(q, &n)| q == if n == b'.' { b',' } else { n })
    }
}

impl fmt::Display for Pattern {
    /// The pattern's text: `*`, the name, `prefix*` or `*suffix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.text_parts();
        write!(f, "{head}{tail}")
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    /// [`Pattern::parse`].
    fn from_str(text: &str) -> Result<Self, PatternError> {
        Self::parse(text)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads the [`Pattern::parse`] syntax.
impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether an [`EventFilter`]'s patterns say what to deliver or what to skip
/// (Stalwart's `eventsPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterPolicy {
    /// Only events matching a pattern.
    Include,
    /// Every event except those matching a pattern (the default).
    #[default]
    Exclude,
}

/// A set of patterns with a [`FilterPolicy`]: Stalwart's `events` + `eventsPolicy`.
///
/// The default is [`FilterPolicy::Exclude`] with no patterns, which lets every event
/// through (Stalwart's default). Exact names are looked up by binary search, so a
/// long list of names (Stalwart v0.16 lists names, not wildcards) stays fast.
///
/// The filter is only the configured rule: Stalwart additionally never delivers
/// `telemetry.webhook-error` to a webhook, whatever its filter says; a sender
/// simulating Stalwart applies that on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    policy: FilterPolicy,
    patterns: Vec<Pattern>,
    all: bool,
    /// The `Exact` patterns' names, sorted.
    exact: Box<[Box<str>]>,
    /// The `Prefix` and `Suffix` patterns.
    wildcards: Box<[Pattern]>,
}

impl EventFilter {
    /// A filter of `patterns` with `policy`.
    pub fn new(policy: FilterPolicy, patterns: impl IntoIterator<Item = Pattern>) -> Self {
        let patterns: Vec<Pattern> = patterns.into_iter().collect();
        let mut exact: Vec<Box<str>> = Vec::new();
        let mut wildcards = Vec::new();
        let mut all = false;
        for pattern in &patterns {
            match pattern {
                Pattern::All => all = true,
                Pattern::Exact(name) => exact.push(name.clone()),
                other => wildcards.push(other.clone()),
            }
        }
        exact.sort_unstable();
        exact.dedup();
        Self {
            policy,
            patterns,
            all,
            exact: exact.into(),
            wildcards: wildcards.into(),
        }
    }

    /// Only events matching one of `patterns`.
    pub fn include(patterns: impl IntoIterator<Item = Pattern>) -> Self {
        Self::new(FilterPolicy::Include, patterns)
    }

    /// Every event except those matching one of `patterns`.
    pub fn exclude(patterns: impl IntoIterator<Item = Pattern>) -> Self {
        Self::new(FilterPolicy::Exclude, patterns)
    }

    /// Every event (the default).
    pub fn all() -> Self {
        Self::default()
    }

    /// Parses each text with [`Pattern::parse`].
    pub fn parse<S: AsRef<str>>(
        policy: FilterPolicy,
        patterns: impl IntoIterator<Item = S>,
    ) -> Result<Self, PatternError> {
        let patterns = patterns
            .into_iter()
            .map(|text| Pattern::parse(text.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(policy, patterns))
    }

    /// The policy.
    pub fn policy(&self) -> FilterPolicy {
        self.policy
    }

    /// The patterns, as given.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether an event named `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        self.matches_with(name, MatchMode::Documented)
    }

    /// Whether an event named `name` passes the filter, matching in `mode`.
    pub fn matches_with(&self, name: &str, mode: MatchMode) -> bool {
        let listed = self.all
            || self
                .exact
                .binary_search_by(|exact| (**exact).cmp(name))
                .is_ok()
            || self
                .wildcards
                .iter()
                .any(|pattern| pattern.matches_with(name, mode));
        match self.policy {
            FilterPolicy::Include => listed,
            FilterPolicy::Exclude => !listed,
        }
    }
}

/// A WildDuck webhook subscription: the event types it wants and, optionally, the
/// one user it is for.
///
/// A subscription with a `user` receives only that user's events; one without
/// receives every user's. An event without a user (a server-wide event) is delivered
/// to every subscription whose patterns match, user-scoped ones included, as WildDuck
/// does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// The event types (WildDuck's `type`).
    pub patterns: Vec<Pattern>,
    /// The user id (WildDuck's `user`), if the subscription is for one user.
    pub user: Option<String>,
}

impl Subscription {
    /// A subscription to `patterns`, for `user` or for everyone.
    pub fn new(patterns: impl IntoIterator<Item = Pattern>, user: Option<String>) -> Self {
        Self {
            patterns: patterns.into_iter().collect(),
            user,
        }
    }

    /// Builds one from WildDuck's `type` list and `user`, each type read with
    /// [`Pattern::wildduck`].
    pub fn wildduck<S: AsRef<str>>(
        types: impl IntoIterator<Item = S>,
        user: Option<&str>,
    ) -> Result<Self, PatternError> {
        let patterns = types
            .into_iter()
            .map(|text| Pattern::wildduck(text.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(patterns, user.map(str::to_owned)))
    }

    /// Whether an event named `event_name`, of `event_user` (`None` for server-wide
    /// events), is delivered to this subscription, with the documented meaning of the
    /// patterns.
    pub fn matches(&self, event_name: &str, event_user: Option<&str>) -> bool {
        self.matches_with(event_name, event_user, MatchMode::Documented)
    }

    /// [`matches`](Self::matches), matching the patterns in `mode`.
    pub fn matches_with(
        &self,
        event_name: &str,
        event_user: Option<&str>,
        mode: MatchMode,
    ) -> bool {
        let for_user = match (self.user.as_deref(), event_user) {
            (Some(subscribed), Some(user)) => subscribed == user,
            _ => true,
        };
        for_user
            && self
                .patterns
                .iter()
                .any(|pattern| pattern.matches_with(event_name, mode))
    }
}

//! [`Route`]: the name a delivery arrived under, which is also the namespace its
//! events' deduplication keys live in.

use webhook_core::{
    Scheme,
    idempotency::{KeyError, Namespace},
    senders::stalwart::StalwartKey,
};

/// Where deliveries arrive: a name (one per sender, or per sender instance when several
/// of one kind post to one receiver) and how Stalwart events are keyed.
///
/// The name is the deduplication [`Namespace`]: an event is "already known" when an
/// event with the same key arrived on the same route. Two routes never deduplicate
/// against each other.
///
/// ```
/// use webhook_core::Scheme;
/// use webhook_inbox::Route;
///
/// assert_eq!(Route::of(Scheme::Stalwart).name(), "stalwart");
/// assert_eq!(Route::new("stalwart-eu")?.name(), "stalwart-eu");
/// assert!(Route::new("no spaces").is_err());
/// # Ok::<(), webhook_core::idempotency::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    namespace: Namespace,
    stalwart: StalwartKey,
}

impl Route {
    /// A named route: 1 to 64 characters among `A-Z a-z 0-9 - _ .`.
    pub fn new(name: impl Into<String>) -> Result<Self, KeyError> {
        Ok(Self {
            namespace: Namespace::new(name)?,
            stalwart: StalwartKey::default(),
        })
    }

    /// The route named after a sender (`stalwart`, `mailtrap`, …).
    pub fn of(scheme: Scheme) -> Self {
        Self {
            namespace: Namespace::of(scheme),
            stalwart: StalwartKey::default(),
        }
    }

    /// Keys Stalwart events by `stalwart` instead of the content fingerprint (see
    /// [`StalwartKey`]).
    pub fn with_stalwart_key(mut self, stalwart: StalwartKey) -> Self {
        self.stalwart = stalwart;
        self
    }

    /// The route's name.
    pub fn name(&self) -> &str {
        self.namespace.as_str()
    }

    /// The deduplication namespace (the name).
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// How Stalwart events are keyed.
    pub fn stalwart_key(&self) -> StalwartKey {
        self.stalwart
    }
}

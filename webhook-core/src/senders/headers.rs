//! The headers a sender authenticates with: their names ([`SenderHeader`]) and how a
//! receiver reads them, once and without guessing.
//!
//! A header that must appear once and appears twice is refused, never resolved by
//! picking one. Several senders renamed their headers over time (GitHub's
//! `X-Hub-Signature-256`, Mailtrap's `X-Mailtrap-Signature`, Svix's `svix-*`): both
//! names are accepted, and both present is fine only when they agree.

use http::HeaderName;

use crate::{
    error::VerifyError,
    request::{HeaderLookup, RequestView},
};

/// A header a sender puts on its requests: the name it sends today and, where it has
/// one, the older name receivers accept as well.
///
/// ```
/// use webhook_core::Scheme;
///
/// let names: Vec<_> = Scheme::EmailApi.headers().iter().map(|h| (h.name(), h.alternate())).collect();
/// assert_eq!(names, [("x-webhook-signature", Some("x-hub-signature-256"))]);
/// assert_eq!(Scheme::EmailApi.headers()[0].display_name(), "X-Webhook-Signature");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderHeader {
    name: &'static str,
    alternate: Option<&'static str>,
    display_name: &'static str,
}

impl SenderHeader {
    /// A header: its lowercase wire name, the alternate name receivers accept (if
    /// any), and the spelling the sender's documentation uses.
    pub(crate) const fn new(
        name: &'static str,
        alternate: Option<&'static str>,
        display_name: &'static str,
    ) -> Self {
        Self {
            name,
            alternate,
            display_name,
        }
    }

    /// The name sent today, lowercase (as on the wire in HTTP/2).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The other name a receiver accepts for the same header, if the sender has one.
    pub const fn alternate(&self) -> Option<&'static str> {
        self.alternate
    }

    /// The name as the sender's documentation writes it (`X-Signature`,
    /// `Mailtrap-Signature`, `webhook-id`), for people reading tool output.
    pub const fn display_name(&self) -> &'static str {
        self.display_name
    }

    /// Both names, the current one first.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.alternate)
    }
}

/// The value of a header that must appear at most once.
pub(crate) fn single<'r, R: RequestView + ?Sized>(
    request: &'r R,
    name: &HeaderName,
    label: &'static str,
) -> Result<Option<&'r [u8]>, VerifyError> {
    match request.header(name) {
        HeaderLookup::Absent => Ok(None),
        HeaderLookup::One(value) => Ok(Some(value)),
        HeaderLookup::Repeated => Err(VerifyError::DuplicateHeader { header: label }),
    }
}

/// The value of a header that has two accepted names (a current and a legacy one).
/// Both present is fine only when they agree.
pub(crate) fn either<'r, R: RequestView + ?Sized>(
    request: &'r R,
    (primary, primary_label): (&HeaderName, &'static str),
    (alias, alias_label): (&HeaderName, &'static str),
) -> Result<Option<&'r [u8]>, VerifyError> {
    let first = single(request, primary, primary_label)?;
    let second = single(request, alias, alias_label)?;
    match (first, second) {
        (Some(a), Some(b)) if a != b => Err(VerifyError::ConflictingHeaders {
            first: primary_label,
            second: alias_label,
        }),
        (Some(value), _) | (None, Some(value)) => Ok(Some(value)),
        (None, None) => Ok(None),
    }
}

//! What the verifier reads from a request besides its body: headers and the query.
//!
//! The verifier takes any [`RequestView`] rather than a concrete header map so that
//! each web framework passes its own request without a copy: axum and hyper use
//! `http` 1.x (implemented here), actix-web 4 still uses `http` 0.2 (its adapter
//! implements the trait over its own map). A header that appears more than once is
//! reported as such, never resolved by picking one: two signatures on one request is
//! a sign of tampering or a broken proxy, and guessing would hide both.

use http::HeaderName;

/// The values of one header in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLookup<'a> {
    /// The header is not present.
    Absent,
    /// The header is present exactly once, with these bytes.
    One(&'a [u8]),
    /// The header is present more than once.
    Repeated,
}

impl<'a> HeaderLookup<'a> {
    /// Builds a lookup from an iterator over a header's values.
    pub fn from_values<I: IntoIterator<Item = &'a [u8]>>(values: I) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(value), None) => Self::One(value),
            (Some(_), Some(_)) => Self::Repeated,
        }
    }
}

/// A read-only view of a request's headers and query string.
///
/// Header names are passed in lowercase; implementations match them
/// case-insensitively, as HTTP requires.
///
/// ```
/// use webhook_core::{HeaderLookup, RequestView};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("X-Signature", "abc=".parse().unwrap());
/// let name = http::HeaderName::from_static("x-signature");
/// assert_eq!(headers.header(&name), HeaderLookup::One(b"abc="));
/// ```
pub trait RequestView {
    /// The values of the header `name`.
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_>;

    /// The raw query string (after `?`, without it), if the request has one and the
    /// view knows it. Needed only for URL-token authentication.
    fn query(&self) -> Option<&str> {
        None
    }
}

impl RequestView for http::HeaderMap {
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_> {
        HeaderLookup::from_values(self.get_all(name).iter().map(|v| v.as_bytes()))
    }
}

impl RequestView for http::request::Parts {
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_> {
        self.headers.header(name)
    }

    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
}

impl<B> RequestView for http::Request<B> {
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_> {
        self.headers().header(name)
    }

    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
}

impl<T: RequestView + ?Sized> RequestView for &T {
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_> {
        (**self).header(name)
    }

    fn query(&self) -> Option<&str> {
        (**self).query()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_reports_repeats() {
        let mut headers = http::HeaderMap::new();
        headers.append("X-Signature", "a".parse().unwrap());
        let name = HeaderName::from_static("x-signature");
        assert_eq!(headers.header(&name), HeaderLookup::One(b"a"));
        headers.append("x-signature", "b".parse().unwrap());
        assert_eq!(headers.header(&name), HeaderLookup::Repeated);
        let other = HeaderName::from_static("x-other");
        assert_eq!(headers.header(&other), HeaderLookup::Absent);
    }

    #[test]
    fn requests_expose_their_query() {
        let request = http::Request::post("/hook?token=abc&x=1").body(()).unwrap();
        assert_eq!(request.query(), Some("token=abc&x=1"));
        let (parts, ()) = request.into_parts();
        assert_eq!(parts.query(), Some("token=abc&x=1"));
        assert_eq!(parts.headers.query(), None);
    }
}

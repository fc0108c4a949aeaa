//! The bridge from actix-web's request to the core's [`RequestView`].
//!
//! actix-web 4 uses `http` 0.2 while the core speaks `http` 1.x. Header names are
//! plain lowercase strings in both, so a lookup goes through the name's text: no
//! conversion of the map, no copy, and no version clash in the core's API.

use actix_web::HttpRequest;
use webhook_core::{HeaderLookup, RequestView};

/// An actix-web request seen by the verifier.
pub(crate) struct ActixRequest<'a>(pub(crate) &'a HttpRequest);

impl RequestView for ActixRequest<'_> {
    fn header(&self, name: &http::HeaderName) -> HeaderLookup<'_> {
        HeaderLookup::from_values(
            self.0
                .headers()
                .get_all(name.as_str())
                .map(|value| value.as_bytes()),
        )
    }

    fn query(&self) -> Option<&str> {
        Some(self.0.query_string()).filter(|query| !query.is_empty())
    }
}

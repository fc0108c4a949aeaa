//! The list filters the page sends as query parameters, read into the inbox's
//! [`EventFilter`] / [`DeliveryFilter`] and [`Page`]. Empty parameters mean "any".

use serde::Deserialize;
use webhook_core::Scheme;
use webhook_inbox::{
    DeliveryFilter, DeliveryId, DeliveryState, EventFilter, EventState, Page, Timestamp,
};

/// The page's default page size, and the largest it may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// `?state=&scheme=&route=&type=&since=&until=&delivery=&before=&limit=` (times in
/// Unix milliseconds, `before` an id: keyset paging, newest first).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    state: Option<String>,
    scheme: Option<String>,
    route: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    before: Option<String>,
    delivery: Option<String>,
    limit: Option<String>,
}

/// A parameter that was present but not understood (answered 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadFilter(String);

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number(name: &str, value: &Option<String>) -> Result<Option<i64>, BadFilter> {
    given(value)
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| BadFilter(format!("`{name}` must be an integer, not `{text}`")))
        })
        .transpose()
}

impl ListQuery {
    fn scheme(&self) -> Result<Option<Scheme>, BadFilter> {
        given(&self.scheme)
            .map(|text| {
                text.parse::<Scheme>()
                    .map_err(|_| BadFilter(format!("unknown sender `{text}`")))
            })
            .transpose()
    }

    fn times(&self) -> Result<(Option<Timestamp>, Option<Timestamp>), BadFilter> {
        let since = number("since", &self.since)?.map(Timestamp::from_millis);
        let until = number("until", &self.until)?.map(Timestamp::from_millis);
        Ok((since, until))
    }

    /// The page asked for.
    pub(crate) fn page(&self) -> Result<Page, BadFilter> {
        let limit = number("limit", &self.limit)?
            .map_or(DEFAULT_LIMIT, |n| n.clamp(1, i64::from(MAX_LIMIT)) as u32);
        let page = Page::first(limit);
        Ok(match number("before", &self.before)? {
            Some(before) => page.after(before),
            None => page,
        })
    }

    /// The event filter (`state` is one of the event states; `in_progress` is
    /// `running`).
    pub(crate) fn events(&self) -> Result<EventFilter, BadFilter> {
        let mut filter = EventFilter::default();
        if let Some(state) = given(&self.state) {
            let state = match state {
                "in_progress" | "in progress" => EventState::Running,
                other => other.parse::<EventState>().map_err(BadFilter)?,
            };
            filter = filter.state(state);
        }
        if let Some(scheme) = self.scheme()? {
            filter = filter.scheme(scheme);
        }
        if let Some(route) = given(&self.route) {
            filter = filter.route(route);
        }
        if let Some(event_type) = given(&self.event_type) {
            filter = filter.event_type(event_type);
        }
        if let Some(delivery) = number("delivery", &self.delivery)? {
            filter = filter.delivery(DeliveryId(delivery));
        }
        let (since, until) = self.times()?;
        Ok(filter.received(since, until))
    }

    /// The delivery filter (`state` is `accepted` or `quarantined`).
    pub(crate) fn deliveries(&self) -> Result<DeliveryFilter, BadFilter> {
        let mut filter = DeliveryFilter::default();
        match given(&self.state) {
            None => {}
            Some("accepted") => filter = filter.state(DeliveryState::Accepted),
            Some("quarantined") => filter = filter.state(DeliveryState::Quarantined),
            Some(other) => {
                return Err(BadFilter(format!(
                    "unknown delivery state `{other}`: expected accepted or quarantined"
                )));
            }
        }
        if let Some(scheme) = self.scheme()? {
            filter = filter.scheme(scheme);
        }
        if let Some(route) = given(&self.route) {
            filter = filter.route(route);
        }
        let (since, until) = self.times()?;
        filter.since = since;
        filter.until = until;
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        serde_json::from_value(serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect(),
        ))
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
    }

    #[test]
    fn filters_read_every_parameter_and_ignore_empty_ones() {
        let q = query(&[
            ("state", "dead"),
            ("scheme", "stalwart"),
            ("route", ""),
            ("type", "auth.failed"),
            ("since", "1000"),
            ("before", "42"),
            ("limit", "100000"),
        ]);
        let filter = q.events().unwrap();
        assert_eq!(filter.states, [EventState::Dead]);
        assert_eq!(filter.scheme, Some(Scheme::Stalwart));
        assert_eq!(filter.route, None);
        assert_eq!(filter.event_type.as_deref(), Some("auth.failed"));
        assert_eq!(filter.since, Some(Timestamp::from_millis(1000)));
        let page = q.page().unwrap();
        assert_eq!((page.limit, page.before), (MAX_LIMIT, Some(42)));
        assert_eq!(
            query(&[("state", "in_progress")]).events().unwrap().states,
            [EventState::Running]
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(query(&[("state", "lost")]).events().is_err());
        assert!(query(&[("scheme", "nope")]).events().is_err());
        assert!(query(&[("since", "yesterday")]).events().is_err());
        assert!(query(&[("state", "dead")]).deliveries().is_err());
        assert!(query(&[("state", "quarantined")]).deliveries().is_ok());
    }
}

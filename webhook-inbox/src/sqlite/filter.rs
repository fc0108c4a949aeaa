//! Event and delivery filters as SQL `WHERE` clauses with their parameters.

use rusqlite::types::Value;

use super::codec::{DEAD, DONE, PENDING, RUNNING, delivery_state};
use crate::{
    model::EventState,
    query::{DeliveryFilter, EventFilter},
};

/// A `WHERE` clause (never empty: `1` when nothing narrows) and its parameters.
pub(crate) struct Clause {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

impl Clause {
    fn new() -> Self {
        Self {
            sql: String::from("1"),
            params: Vec::new(),
        }
    }

    pub(crate) fn and(&mut self, condition: &str, params: impl IntoIterator<Item = Value>) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
        self.params.extend(params);
    }
}

/// The SQL condition for one state of table alias `e`.
fn state_condition(state: EventState) -> String {
    match state {
        EventState::Pending => format!("(e.state = {PENDING} AND e.attempts = e.base_attempts)"),
        EventState::Retrying => format!("(e.state = {PENDING} AND e.attempts > e.base_attempts)"),
        EventState::Running => format!("e.state = {RUNNING}"),
        EventState::Done => format!("e.state = {DONE}"),
        EventState::Dead => format!("e.state = {DEAD}"),
    }
}

/// Events of table alias `e`.
pub(crate) fn events(filter: &EventFilter) -> Clause {
    let mut clause = Clause::new();
    if !filter.states.is_empty() {
        let any: Vec<String> = filter.states.iter().map(|&s| state_condition(s)).collect();
        clause.and(&format!("({})", any.join(" OR ")), []);
    }
    if let Some(route) = &filter.route {
        clause.and("e.route = ?", [Value::Text(route.clone())]);
    }
    if let Some(scheme) = filter.scheme {
        clause.and("e.scheme = ?", [Value::Text(scheme.id().to_owned())]);
    }
    if let Some(event_type) = &filter.event_type {
        clause.and("e.event_type = ?", [Value::Text(event_type.clone())]);
    }
    if let Some(since) = filter.since {
        clause.and("e.received_at >= ?", [Value::Integer(since.as_millis())]);
    }
    if let Some(until) = filter.until {
        clause.and("e.received_at < ?", [Value::Integer(until.as_millis())]);
    }
    if let Some(delivery) = filter.delivery {
        clause.and("e.delivery_id = ?", [Value::Integer(delivery.0)]);
    }
    clause
}

/// Deliveries of table alias `d`.
pub(crate) fn deliveries(filter: &DeliveryFilter) -> Clause {
    let mut clause = Clause::new();
    if let Some(state) = filter.state {
        clause.and("d.state = ?", [Value::Integer(delivery_state(state))]);
    }
    if let Some(route) = &filter.route {
        clause.and("d.route = ?", [Value::Text(route.clone())]);
    }
    if let Some(scheme) = filter.scheme {
        clause.and("d.scheme = ?", [Value::Text(scheme.id().to_owned())]);
    }
    if let Some(since) = filter.since {
        clause.and("d.received_at >= ?", [Value::Integer(since.as_millis())]);
    }
    if let Some(until) = filter.until {
        clause.and("d.received_at < ?", [Value::Integer(until.as_millis())]);
    }
    clause
}

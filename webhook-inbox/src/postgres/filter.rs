//! Event and delivery filters as SQL `WHERE` clauses with numbered parameters.

use sqlx::{Postgres, postgres::PgArguments, query::Query};

use crate::{
    model::EventState,
    query::{DeliveryFilter, EventFilter},
    sqlite::codec::{DEAD, DONE, PENDING, RUNNING, delivery_state},
};

/// One bound value.
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause (never empty: `TRUE` when nothing narrows) and its parameters,
/// numbered after `first - 1` parameters the statement binds before them.
pub(crate) struct Clause {
    pub(crate) sql: String,
    params: Vec<Param>,
    first: usize,
}

impl Clause {
    fn new(first: usize) -> Self {
        Self {
            sql: String::from("TRUE"),
            params: Vec::new(),
            first,
        }
    }

    /// Adds `condition`, whose `$?` (if any) becomes the next parameter's number.
    pub(crate) fn and(&mut self, condition: &str, param: Option<Param>) {
        self.sql.push_str(" AND ");
        match param {
            Some(param) => {
                let number = format!("${}", self.first + self.params.len());
                self.sql.push_str(&condition.replace("$?", &number));
                self.params.push(param);
            }
            None => self.sql.push_str(condition),
        }
    }

    /// Binds the clause's parameters, in order, after the statement's own.
    pub(crate) fn bind<'q>(
        &'q self,
        mut query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        for param in &self.params {
            query = match param {
                Param::Int(value) => query.bind(*value),
                Param::Text(value) => query.bind(value.as_str()),
            };
        }
        query
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

/// Events of table alias `e`, parameters numbered from `first`.
pub(crate) fn events(filter: &EventFilter, first: usize) -> Clause {
    let mut clause = Clause::new(first);
    if !filter.states.is_empty() {
        let any: Vec<String> = filter.states.iter().map(|&s| state_condition(s)).collect();
        clause.and(&format!("({})", any.join(" OR ")), None);
    }
    if let Some(route) = &filter.route {
        clause.and("e.route = $?", Some(Param::Text(route.clone())));
    }
    if let Some(scheme) = filter.scheme {
        clause.and("e.scheme = $?", Some(Param::Text(scheme.id().to_owned())));
    }
    if let Some(event_type) = &filter.event_type {
        clause.and("e.event_type = $?", Some(Param::Text(event_type.clone())));
    }
    if let Some(since) = filter.since {
        clause.and("e.received_at >= $?", Some(Param::Int(since.as_millis())));
    }
    if let Some(until) = filter.until {
        clause.and("e.received_at < $?", Some(Param::Int(until.as_millis())));
    }
    if let Some(delivery) = filter.delivery {
        clause.and("e.delivery_id = $?", Some(Param::Int(delivery.0)));
    }
    clause
}

/// Deliveries of table alias `d`, parameters numbered from `first`.
pub(crate) fn deliveries(filter: &DeliveryFilter, first: usize) -> Clause {
    let mut clause = Clause::new(first);
    if let Some(state) = filter.state {
        clause.and("d.state = $?", Some(Param::Int(delivery_state(state))));
    }
    if let Some(route) = &filter.route {
        clause.and("d.route = $?", Some(Param::Text(route.clone())));
    }
    if let Some(scheme) = filter.scheme {
        clause.and("d.scheme = $?", Some(Param::Text(scheme.id().to_owned())));
    }
    if let Some(since) = filter.since {
        clause.and("d.received_at >= $?", Some(Param::Int(since.as_millis())));
    }
    if let Some(until) = filter.until {
        clause.and("d.received_at < $?", Some(Param::Int(until.as_millis())));
    }
    clause
}

//! The queries: counts, listings and details, on the reader connection.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params_from_iter, types::Value};

use super::{
    codec::{self, DEAD, DONE, PENDING, RUNNING},
    filter,
};
use crate::{
    backend::QuarantinedBody,
    error::InboxError,
    model::{
        AttemptRecord, DeliveryDetail, DeliveryId, DeliverySummary, EventDetail, EventId, EventKey,
        EventState, EventSummary, Stats,
    },
    query::{DeliveryFilter, EventFilter, Page},
    time::Timestamp,
};

/// A query's failure: SQLite's, or a value this version cannot read.
pub(crate) enum ReadError {
    Sql(rusqlite::Error),
    Inbox(InboxError),
}

impl From<rusqlite::Error> for ReadError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<InboxError> for ReadError {
    fn from(err: InboxError) -> Self {
        Self::Inbox(err)
    }
}

pub(crate) fn stats(conn: &Connection) -> Result<Stats, ReadError> {
    let mut stats = Stats::default();
    let mut counts = conn.prepare_cached(
        "SELECT state, attempts > base_attempts, COUNT(*) FROM events GROUP BY 1, 2",
    )?;
    let rows = counts.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, bool>(1)?,
            row.get::<_, i64>(2)? as u64,
        ))
    })?;
    for row in rows {
        match row? {
            (PENDING, false, n) => stats.pending += n,
            (PENDING, true, n) => stats.retrying += n,
            (RUNNING, _, n) => stats.running += n,
            (DONE, _, n) => stats.done += n,
            (DEAD, _, n) => stats.dead += n,
            (other, _, _) => {
                return Err(InboxError::Corrupt(format!("unknown event state {other}")).into());
            }
        }
    }
    let (deliveries, quarantined): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(state = 1), 0) FROM deliveries",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    stats.deliveries = deliveries as u64;
    stats.quarantined = quarantined as u64;
    stats.keys = conn.query_row("SELECT COUNT(*) FROM event_keys", [], |row| {
        row.get::<_, i64>(0)
    })? as u64;
    Ok(stats)
}

const EVENT_COLUMNS: &str = "e.id, e.delivery_id, e.route, e.scheme, e.event_type, e.dedup_key,
    e.state, e.attempts, e.base_attempts, e.received_at, e.run_at, e.updated_at, e.last_error";

/// The raw columns of [`EVENT_COLUMNS`].
struct EventRow {
    id: i64,
    delivery: i64,
    route: String,
    scheme: String,
    event_type: Option<String>,
    key: Vec<u8>,
    state: i64,
    attempts: u32,
    base_attempts: u32,
    received_at: i64,
    run_at: i64,
    updated_at: i64,
    last_error: Option<String>,
}

impl EventRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            delivery: row.get(1)?,
            route: row.get(2)?,
            scheme: row.get(3)?,
            event_type: row.get(4)?,
            key: row.get(5)?,
            state: row.get(6)?,
            attempts: row.get(7)?,
            base_attempts: row.get(8)?,
            received_at: row.get(9)?,
            run_at: row.get(10)?,
            updated_at: row.get(11)?,
            last_error: row.get(12)?,
        })
    }

    fn summary(self) -> Result<EventSummary, InboxError> {
        let state = match self.state {
            PENDING if self.attempts > self.base_attempts => EventState::Retrying,
            PENDING => EventState::Pending,
            RUNNING => EventState::Running,
            DONE => EventState::Done,
            DEAD => EventState::Dead,
            other => return Err(InboxError::Corrupt(format!("unknown event state {other}"))),
        };
        let due = matches!(
            state,
            EventState::Pending | EventState::Retrying | EventState::Running
        );
        Ok(EventSummary {
            id: EventId(self.id),
            delivery: DeliveryId(self.delivery),
            route: self.route,
            scheme: codec::scheme_from(&self.scheme)?,
            event_type: self.event_type,
            key: EventKey::from_bytes(self.key),
            state,
            attempts: self.attempts,
            received_at: Timestamp::from_millis(self.received_at),
            due_at: due.then_some(Timestamp::from_millis(self.run_at)),
            updated_at: Timestamp::from_millis(self.updated_at),
            last_error: self.last_error,
        })
    }
}

pub(crate) fn list_events(
    conn: &Connection,
    filter: &EventFilter,
    page: &Page,
) -> Result<Vec<EventSummary>, ReadError> {
    let mut clause = filter::events(filter);
    if let Some(before) = page.before {
        clause.and("e.id < ?", [Value::Integer(before)]);
    }
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events e WHERE {} ORDER BY e.id DESC LIMIT {}",
        clause.sql,
        page.capped_limit()
    );
    let rows: Vec<EventRow> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(clause.params), EventRow::read)?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .map(EventRow::summary)
        .collect::<Result<_, _>>()?)
}

const DELIVERY_COLUMNS: &str = "d.id, d.route, d.scheme, d.received_at, d.state, d.media_type,
    d.body_len, d.queued, d.duplicates, d.parse_error, v.key_index, v.key_label, v.credentials,
    v.url_token";

/// How many columns [`DELIVERY_COLUMNS`] has.
const DELIVERY_WIDTH: usize = 14;

/// The deliveries, as `d`, with their verification (`v`, absent before schema v3).
const DELIVERIES: &str = "deliveries d LEFT JOIN delivery_verifications v ON v.delivery_id = d.id";

fn delivery_summary(row: &Row<'_>) -> rusqlite::Result<Result<DeliverySummary, InboxError>> {
    delivery_at(row, 0)
}

pub(crate) fn list_deliveries(
    conn: &Connection,
    filter: &DeliveryFilter,
    page: &Page,
) -> Result<Vec<DeliverySummary>, ReadError> {
    let mut clause = filter::deliveries(filter);
    if let Some(before) = page.before {
        clause.and("d.id < ?", [Value::Integer(before)]);
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM {DELIVERIES} WHERE {} ORDER BY d.id DESC LIMIT {}",
        clause.sql,
        page.capped_limit()
    );
    let rows: Vec<Result<DeliverySummary, InboxError>> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(clause.params), delivery_summary)?
        .collect::<Result<_, _>>()?;
    Ok(rows.into_iter().collect::<Result<_, _>>()?)
}

pub(crate) fn delivery(
    conn: &Connection,
    id: DeliveryId,
) -> Result<Option<DeliveryDetail>, ReadError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS}, d.headers, d.message_id, d.signed_at, d.body
             FROM {DELIVERIES} WHERE d.id = ?1"
        ))?
        .query_row([id.0], |row| {
            Ok((
                delivery_summary(row)?,
                row.get::<_, Vec<u8>>(DELIVERY_WIDTH)?,
                row.get::<_, Option<String>>(DELIVERY_WIDTH + 1)?,
                row.get::<_, Option<i64>>(DELIVERY_WIDTH + 2)?,
                row.get::<_, Vec<u8>>(DELIVERY_WIDTH + 3)?,
            ))
        })
        .optional()?;
    let Some((summary, headers, message_id, signed_at, body)) = row else {
        return Ok(None);
    };
    Ok(Some(DeliveryDetail {
        summary: summary?,
        headers: codec::headers_from(&headers),
        message_id,
        signed_at,
        body,
    }))
}

pub(crate) fn quarantined(
    conn: &Connection,
    id: DeliveryId,
) -> Result<Option<QuarantinedBody>, ReadError> {
    let Some(detail) = delivery(conn, id)? else {
        return Ok(None);
    };
    if detail.summary.state != crate::model::DeliveryState::Quarantined {
        return Ok(None);
    }
    let key: i64 = conn.query_row(
        "SELECT stalwart_key FROM deliveries WHERE id = ?1",
        [id.0],
        |row| row.get(0),
    )?;
    Ok(Some(QuarantinedBody::new(
        detail,
        codec::stalwart_key_from(key),
    )))
}

pub(crate) fn event(conn: &Connection, id: EventId) -> Result<Option<EventDetail>, ReadError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS}, e.body_start, e.body_end, e.media_type,
                COALESCE(e.bytes, d.body), {DELIVERY_COLUMNS}, d.headers
             FROM events e JOIN deliveries d ON d.id = e.delivery_id
                LEFT JOIN delivery_verifications v ON v.delivery_id = d.id
             WHERE e.id = ?1"
        ))?
        .query_row([id.0], |row| {
            let event = EventRow::read(row)?;
            let range = row.get::<_, i64>(13)? as usize..row.get::<_, i64>(14)? as usize;
            let media: String = row.get(15)?;
            let bytes: Vec<u8> = row.get(16)?;
            // The delivery's columns follow the event's 17.
            let delivery = delivery_at(row, 17)?;
            let headers: Vec<u8> = row.get(17 + DELIVERY_WIDTH)?;
            Ok((event, range, media, bytes, delivery, headers))
        })
        .optional()?;
    let Some((event, range, media, bytes, delivery, headers)) = row else {
        return Ok(None);
    };
    let attempts = conn
        .prepare_cached(
            "SELECT attempt, started_at, duration_ms, outcome, error, worker FROM attempts
             WHERE event_id = ?1 ORDER BY id",
        )?
        .query_map([id.0], |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|(attempt, started, duration, outcome, error, worker)| {
            Ok(AttemptRecord {
                attempt,
                started_at: Timestamp::from_millis(started),
                duration: Duration::from_millis(duration.max(0) as u64),
                outcome: codec::outcome_from(&outcome)?,
                error,
                worker,
            })
        })
        .collect::<Result<Vec<_>, InboxError>>()?;
    Ok(Some(EventDetail {
        summary: event.summary()?,
        bytes,
        range,
        media_type: codec::media_type_from(&media),
        delivery: delivery?,
        headers: codec::headers_from(&headers),
        attempts,
    }))
}

/// [`delivery_summary`] for columns starting at `offset`.
fn delivery_at(
    row: &Row<'_>,
    offset: usize,
) -> rusqlite::Result<Result<DeliverySummary, InboxError>> {
    let scheme: String = row.get(offset + 2)?;
    let state: i64 = row.get(offset + 4)?;
    let media: String = row.get(offset + 5)?;
    let id: i64 = row.get(offset)?;
    let route: String = row.get(offset + 1)?;
    let received_at: i64 = row.get(offset + 3)?;
    let body_len = row.get::<_, i64>(offset + 6)? as u64;
    let queued: u32 = row.get(offset + 7)?;
    let duplicates: u32 = row.get(offset + 8)?;
    let parse_error: Option<String> = row.get(offset + 9)?;
    let key_index: Option<i64> = row.get(offset + 10)?;
    let key_label: Option<String> = row.get(offset + 11)?;
    let credentials: Option<bool> = row.get(offset + 12)?;
    let url_token: Option<bool> = row.get(offset + 13)?;
    Ok((|| {
        Ok(DeliverySummary {
            id: DeliveryId(id),
            route,
            scheme: codec::scheme_from(&scheme)?,
            received_at: Timestamp::from_millis(received_at),
            state: codec::delivery_state_from(state)?,
            media_type: codec::media_type_from(&media),
            body_len,
            queued,
            duplicates,
            parse_error,
            verification: codec::verification_from(key_index, key_label, credentials, url_token)?,
        })
    })())
}

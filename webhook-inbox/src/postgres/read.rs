//! The queries: counts, listings and details.

use std::time::Duration;

use sqlx::{Row, postgres::PgRow};

use super::{PostgresBackend, filter};
use crate::{
    backend::QuarantinedBody,
    error::InboxError,
    model::{
        AttemptRecord, DeliveryDetail, DeliveryId, DeliveryState, DeliverySummary, EventDetail,
        EventId, EventKey, EventState, EventSummary, Stats,
    },
    query::{DeliveryFilter, EventFilter, Page},
    sqlite::codec::{self, DEAD, DONE, PENDING, RUNNING},
    time::Timestamp,
};

type Result<T> = std::result::Result<T, InboxError>;

pub(crate) async fn stats(backend: &PostgresBackend) -> Result<Stats> {
    let err = |e| backend.error(e);
    let names = backend.names();
    let mut stats = Stats::default();
    let rows = sqlx::query(
        names.sql("SELECT state, attempts > base_attempts, count(*) FROM §.events GROUP BY 1, 2"),
    )
    .fetch_all(backend.pool())
    .await
    .map_err(err)?;
    for row in rows {
        let state: i64 = row.try_get(0).map_err(err)?;
        let retried: bool = row.try_get(1).map_err(err)?;
        let n = row.try_get::<i64, _>(2).map_err(err)? as u64;
        match (state, retried) {
            (PENDING, false) => stats.pending += n,
            (PENDING, true) => stats.retrying += n,
            (RUNNING, _) => stats.running += n,
            (DONE, _) => stats.done += n,
            (DEAD, _) => stats.dead += n,
            (other, _) => {
                return Err(InboxError::Corrupt(format!("unknown event state {other}")));
            }
        }
    }
    let row = sqlx::query(names.sql(
        "SELECT (SELECT count(*) FROM §.deliveries),
            (SELECT count(*) FROM §.deliveries WHERE state = 1),
            (SELECT count(*) FROM §.event_keys)",
    ))
    .fetch_one(backend.pool())
    .await
    .map_err(err)?;
    stats.deliveries = row.try_get::<i64, _>(0).map_err(err)? as u64;
    stats.quarantined = row.try_get::<i64, _>(1).map_err(err)? as u64;
    stats.keys = row.try_get::<i64, _>(2).map_err(err)? as u64;
    Ok(stats)
}

const EVENT_COLUMNS: &str = "e.id, e.delivery_id, e.route, e.scheme, e.event_type, e.dedup_key,
    e.state, e.attempts, e.base_attempts, e.received_at, e.run_at, e.updated_at, e.last_error";

fn event_summary(row: &PgRow) -> std::result::Result<EventSummary, ReadError> {
    let attempts: i64 = row.try_get(7)?;
    let base: i64 = row.try_get(8)?;
    let state = match row.try_get::<i64, _>(6)? {
        PENDING if attempts > base => EventState::Retrying,
        PENDING => EventState::Pending,
        RUNNING => EventState::Running,
        DONE => EventState::Done,
        DEAD => EventState::Dead,
        other => return Err(InboxError::Corrupt(format!("unknown event state {other}")).into()),
    };
    let due = matches!(
        state,
        EventState::Pending | EventState::Retrying | EventState::Running
    );
    let scheme: String = row.try_get(3)?;
    let key: Vec<u8> = row.try_get(5)?;
    Ok(EventSummary {
        id: EventId(row.try_get(0)?),
        delivery: DeliveryId(row.try_get(1)?),
        route: row.try_get(2)?,
        scheme: codec::scheme_from(&scheme)?,
        event_type: row.try_get(4)?,
        key: EventKey::from_bytes(key),
        state,
        attempts: attempts as u32,
        received_at: Timestamp::from_millis(row.try_get(9)?),
        due_at: due.then_some(Timestamp::from_millis(row.try_get(10)?)),
        updated_at: Timestamp::from_millis(row.try_get(11)?),
        last_error: row.try_get(12)?,
    })
}

pub(crate) async fn list_events(
    backend: &PostgresBackend,
    filter: &EventFilter,
    page: &Page,
) -> Result<Vec<EventSummary>> {
    let clause = filter::events(filter, 1);
    let from = format!("SELECT {EVENT_COLUMNS} FROM §.events e");
    page_of(backend, clause, &from, "e", page, event_summary).await
}

/// One page of a listing, newest first: `select_from` (a `SELECT … FROM §.table alias`)
/// under `clause`, keyset-paged on `alias.id` below `page.before`, each row read by
/// `read`.
async fn page_of<T>(
    backend: &PostgresBackend,
    mut clause: filter::Clause,
    select_from: &str,
    alias: &str,
    page: &Page,
    read: fn(&PgRow) -> std::result::Result<T, ReadError>,
) -> Result<Vec<T>> {
    if let Some(before) = page.before {
        clause.and(
            &format!("{alias}.id < $?"),
            Some(filter::Param::Int(before)),
        );
    }
    let sql = backend.names().sql(&format!(
        "{select_from} WHERE {} ORDER BY {alias}.id DESC LIMIT {}",
        clause.sql,
        page.capped_limit()
    ));
    let rows = clause
        .bind(sqlx::query(sql))
        .fetch_all(backend.pool())
        .await
        .map_err(|e| backend.error(e))?;
    rows.iter()
        .map(|row| read(row).map_err(|e| e.into_inbox(backend)))
        .collect()
}

const DELIVERY_COLUMNS: &str = "d.id, d.route, d.scheme, d.received_at, d.state, d.media_type,
    d.body_len, d.queued, d.duplicates, d.parse_error, d.key_index, d.key_label, d.credentials,
    d.url_token";

/// How many columns [`DELIVERY_COLUMNS`] has.
const DELIVERY_WIDTH: usize = 14;

/// The delivery columns of [`DELIVERY_COLUMNS`], starting at `offset`.
fn delivery_at(row: &PgRow, offset: usize) -> std::result::Result<DeliverySummary, ReadError> {
    let scheme: String = row.try_get(offset + 2)?;
    let media: String = row.try_get(offset + 5)?;
    Ok(DeliverySummary {
        id: DeliveryId(row.try_get(offset)?),
        route: row.try_get(offset + 1)?,
        scheme: codec::scheme_from(&scheme)?,
        received_at: Timestamp::from_millis(row.try_get(offset + 3)?),
        state: codec::delivery_state_from(row.try_get(offset + 4)?)?,
        media_type: codec::media_type_from(&media),
        body_len: row.try_get::<i64, _>(offset + 6)? as u64,
        queued: row.try_get::<i64, _>(offset + 7)? as u32,
        duplicates: row.try_get::<i64, _>(offset + 8)? as u32,
        parse_error: row.try_get(offset + 9)?,
        verification: codec::verification_from(
            row.try_get(offset + 10)?,
            row.try_get(offset + 11)?,
            row.try_get(offset + 12)?,
            row.try_get(offset + 13)?,
        )?,
    })
}

pub(crate) async fn list_deliveries(
    backend: &PostgresBackend,
    filter: &DeliveryFilter,
    page: &Page,
) -> Result<Vec<DeliverySummary>> {
    let clause = filter::deliveries(filter, 1);
    let from = format!("SELECT {DELIVERY_COLUMNS} FROM §.deliveries d");
    page_of(backend, clause, &from, "d", page, |row| delivery_at(row, 0)).await
}

pub(crate) async fn delivery(
    backend: &PostgresBackend,
    id: DeliveryId,
) -> Result<Option<DeliveryDetail>> {
    Ok(delivery_with_key(backend, id)
        .await?
        .map(|(detail, _)| detail))
}

async fn delivery_with_key(
    backend: &PostgresBackend,
    id: DeliveryId,
) -> Result<Option<(DeliveryDetail, i64)>> {
    let row = sqlx::query(backend.names().sql(&format!(
        "SELECT {DELIVERY_COLUMNS}, d.headers, d.message_id, d.signed_at, d.body, d.stalwart_key
         FROM §.deliveries d WHERE d.id = $1"
    )))
    .bind(id.0)
    .fetch_optional(backend.pool())
    .await
    .map_err(|e| backend.error(e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let read = || -> std::result::Result<(DeliveryDetail, i64), ReadError> {
        let headers: Vec<u8> = row.try_get(DELIVERY_WIDTH)?;
        Ok((
            DeliveryDetail {
                summary: delivery_at(&row, 0)?,
                headers: codec::headers_from(&headers),
                message_id: row.try_get(DELIVERY_WIDTH + 1)?,
                signed_at: row.try_get(DELIVERY_WIDTH + 2)?,
                body: row.try_get(DELIVERY_WIDTH + 3)?,
            },
            row.try_get(DELIVERY_WIDTH + 4)?,
        ))
    };
    read().map(Some).map_err(|e| e.into_inbox(backend))
}

pub(crate) async fn quarantined(
    backend: &PostgresBackend,
    id: DeliveryId,
) -> Result<Option<QuarantinedBody>> {
    let Some((detail, key)) = delivery_with_key(backend, id).await? else {
        return Ok(None);
    };
    if detail.summary.state != DeliveryState::Quarantined {
        return Ok(None);
    }
    Ok(Some(QuarantinedBody::new(
        detail,
        codec::stalwart_key_from(key),
    )))
}

pub(crate) async fn event(backend: &PostgresBackend, id: EventId) -> Result<Option<EventDetail>> {
    let err = |e| backend.error(e);
    let names = backend.names();
    let row = sqlx::query(names.sql(&format!(
        "SELECT {EVENT_COLUMNS}, e.body_start, e.body_end, e.media_type,
            COALESCE(e.bytes, d.body), {DELIVERY_COLUMNS}, d.headers
         FROM §.events e JOIN §.deliveries d ON d.id = e.delivery_id WHERE e.id = $1"
    )))
    .bind(id.0)
    .fetch_optional(backend.pool())
    .await
    .map_err(err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let attempts = sqlx::query(names.sql(
        "SELECT attempt, started_at, duration_ms, outcome, error, worker FROM §.attempts
         WHERE event_id = $1 ORDER BY id",
    ))
    .bind(id.0)
    .fetch_all(backend.pool())
    .await
    .map_err(err)?;
    let read = || -> std::result::Result<EventDetail, ReadError> {
        let range = row.try_get::<i64, _>(13)? as usize..row.try_get::<i64, _>(14)? as usize;
        let media: String = row.try_get(15)?;
        let headers: Vec<u8> = row.try_get(17 + DELIVERY_WIDTH)?;
        let attempts = attempts
            .iter()
            .map(|a| {
                let outcome: String = a.try_get(3)?;
                Ok(AttemptRecord {
                    attempt: a.try_get::<i64, _>(0)? as u32,
                    started_at: Timestamp::from_millis(a.try_get(1)?),
                    duration: Duration::from_millis(a.try_get::<i64, _>(2)?.max(0) as u64),
                    outcome: codec::outcome_from(&outcome)?,
                    error: a.try_get(4)?,
                    worker: a.try_get(5)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, ReadError>>()?;
        Ok(EventDetail {
            summary: event_summary(&row)?,
            bytes: row.try_get(16)?,
            range,
            media_type: codec::media_type_from(&media),
            // The delivery's columns follow the event's 17.
            delivery: delivery_at(&row, 17)?,
            headers: codec::headers_from(&headers),
            attempts,
        })
    };
    read().map(Some).map_err(|e| e.into_inbox(backend))
}

/// A row's failure: sqlx's (decoding), or a value this version cannot read.
enum ReadError {
    Sql(sqlx::Error),
    Inbox(InboxError),
}

impl ReadError {
    fn into_inbox(self, backend: &PostgresBackend) -> InboxError {
        match self {
            Self::Sql(err) => backend.error(err),
            Self::Inbox(err) => err,
        }
    }
}

impl From<sqlx::Error> for ReadError {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<InboxError> for ReadError {
    fn from(err: InboxError) -> Self {
        Self::Inbox(err)
    }
}

//! The writes, each run by the writer inside a group's transaction.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use webhook_core::Scheme;

use super::{
    codec::{self, DEAD, DONE, PENDING, RUNNING},
    filter,
    writer::OpError,
};
use crate::{
    accept::{Accepted, AcceptedEvent, Content, EventAcceptance, NewDelivery, NewEvent},
    backend::{ClaimRequest, ClaimedEvent, Finish, Finished, Lease, Verdict},
    error::InboxError,
    model::{AttemptOutcome, DeliveryId, DeliveryState, EventId, EventKey},
    query::{Purged, Retention, Selection},
    time::Timestamp,
};

/// Stores a delivery, and queues each event whose key is new on its route.
pub(crate) fn accept(conn: &Connection, delivery: &NewDelivery) -> Result<Accepted, OpError> {
    let (state, parse_error, events) = match &delivery.content {
        Content::Events(events) => (DeliveryState::Accepted, None, &events[..]),
        Content::Quarantined { error } => (DeliveryState::Quarantined, Some(error), &[][..]),
    };
    let body = delivery.body();
    conn.prepare_cached(
        "INSERT INTO deliveries (route, scheme, received_at, state, media_type, message_id,
            signed_at, stalwart_key, headers, parse_error, queued, duplicates, body_len, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 0, ?11, ?12)",
    )?
    .execute(params![
        delivery.route,
        delivery.scheme.id(),
        delivery.received_at.as_millis(),
        codec::delivery_state(state),
        codec::media_type(delivery.media_type),
        delivery.message_id,
        delivery.signed_at,
        codec::stalwart_key(delivery.stalwart_key),
        codec::headers(&delivery.headers),
        parse_error,
        body.len() as i64,
        body,
    ])?;
    let id = DeliveryId(conn.last_insert_rowid());
    let (key_index, key_label, credentials, url_token) =
        codec::verification(&delivery.verification);
    conn.prepare_cached(
        "INSERT INTO delivery_verifications (delivery_id, key_index, key_label, credentials,
            url_token)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id.0, key_index, key_label, credentials, url_token])?;
    let events = queue_events(
        conn,
        id,
        &delivery.route,
        delivery.scheme,
        delivery.received_at,
        body,
        events,
    )?;
    record_counts(conn, id, &events)?;
    Ok(Accepted {
        delivery: id,
        events,
        quarantined: parse_error.cloned(),
    })
}

/// Inserts each event whose key is new, in order; reports each.
fn queue_events(
    conn: &Connection,
    delivery: DeliveryId,
    route: &str,
    scheme: Scheme,
    now: Timestamp,
    body: &[u8],
    events: &[NewEvent],
) -> Result<Vec<AcceptedEvent>, OpError> {
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (delivery_id, route, scheme, event_type, dedup_key, media_type,
            body_start, body_end, state, run_since, run_at, received_at, updated_at, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9, ?9, ?9, ?10)",
    )?;
    let mut insert_key = conn.prepare_cached(
        "INSERT INTO event_keys (key, event_id, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO NOTHING",
    )?;
    let mut delete_event = conn.prepare_cached("DELETE FROM events WHERE id = ?1")?;
    let mut known = conn.prepare_cached("SELECT event_id FROM event_keys WHERE key = ?1")?;
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let bytes = body.get(event.range.clone()).ok_or_else(|| {
            InboxError::Corrupt(format!(
                "event range {:?} is outside the {}-byte body",
                event.range,
                body.len()
            ))
        })?;
        // The whole body is not stored twice: such an event reads its delivery's.
        let own_bytes = (bytes.len() != body.len()).then_some(bytes);
        insert_event.execute(params![
            delivery.0,
            route,
            scheme.id(),
            event.event_type,
            event.key.as_bytes(),
            codec::media_type(event.media_type),
            event.range.start as i64,
            event.range.end as i64,
            now.as_millis(),
            own_bytes,
        ])?;
        let id = conn.last_insert_rowid();
        // The key's uniqueness decides, not a read before the write: concurrent
        // deliveries of one event in one group, or from another process, queue it once.
        let outcome =
            if insert_key.execute(params![event.key.as_bytes(), id, now.as_millis()])? == 1 {
                EventAcceptance::Queued(EventId(id))
            } else {
                delete_event.execute([id])?;
                let first: i64 = known.query_row([event.key.as_bytes()], |row| row.get(0))?;
                EventAcceptance::Duplicate(EventId(first))
            };
        out.push(AcceptedEvent::new(event.key.clone(), outcome));
    }
    Ok(out)
}

fn record_counts(
    conn: &Connection,
    delivery: DeliveryId,
    events: &[AcceptedEvent],
) -> Result<(), OpError> {
    let queued = events
        .iter()
        .filter(|e| matches!(e.outcome, EventAcceptance::Queued(_)))
        .count();
    conn.prepare_cached("UPDATE deliveries SET queued = ?2, duplicates = ?3 WHERE id = ?1")?
        .execute(params![
            delivery.0,
            queued as i64,
            (events.len() - queued) as i64
        ])?;
    Ok(())
}

/// Queues a quarantined delivery's events and marks it accepted.
pub(crate) fn requeue(
    conn: &Connection,
    delivery: DeliveryId,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<Accepted, OpError> {
    let row = conn
        .prepare_cached("SELECT route, scheme, state, body FROM deliveries WHERE id = ?1")?
        .query_row([delivery.0], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })
        .optional()?;
    let Some((route, scheme, state, body)) = row else {
        return Err(InboxError::NotFound {
            what: "delivery",
            id: delivery.0,
        }
        .into());
    };
    if codec::delivery_state_from(state)? != DeliveryState::Quarantined {
        return Err(InboxError::Invalid(format!("delivery {delivery} is not quarantined")).into());
    }
    let scheme = codec::scheme_from(&scheme)?;
    let accepted = queue_events(conn, delivery, &route, scheme, now, &body, events)?;
    conn.prepare_cached("UPDATE deliveries SET state = ?2, parse_error = NULL WHERE id = ?1")?
        .execute(params![
            delivery.0,
            codec::delivery_state(DeliveryState::Accepted)
        ])?;
    record_counts(conn, delivery, &accepted)?;
    Ok(Accepted {
        delivery,
        events: accepted,
        quarantined: None,
    })
}

/// A due event: id, state, attempts, when and by whom it was last claimed.
type DueRow = (i64, i64, u32, Option<i64>, Option<String>);

/// Claims due events under a new lease.
pub(crate) fn claim(
    conn: &Connection,
    request: &ClaimRequest,
) -> Result<Vec<ClaimedEvent>, OpError> {
    let now = request.now.as_millis();
    let until = request.now.after(request.lease);
    let token = fastrand::i64(..);
    let mut sql = format!(
        "SELECT id, state, attempts, claimed_at, worker FROM events
         WHERE state < {DONE} AND run_at <= ?1"
    );
    let mut values = vec![Value::Integer(now)];
    if !request.routes.is_empty() {
        let marks = vec!["?"; request.routes.len()].join(", ");
        sql.push_str(&format!(" AND route IN ({marks})"));
        values.extend(request.routes.iter().cloned().map(Value::Text));
    }
    sql.push_str(&format!(" ORDER BY run_at, id LIMIT {}", request.max));
    let due: Vec<DueRow> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;

    let mut expired = conn.prepare_cached(
        "INSERT INTO attempts (event_id, attempt, started_at, duration_ms, outcome, error, worker)
         VALUES (?1, ?2, ?3, ?4, ?5, 'the lease ran out with no answer: the worker crashed or stalled', ?6)",
    )?;
    let mut take = conn.prepare_cached(&format!(
        "UPDATE events SET state = {RUNNING}, attempts = attempts + 1, lease = ?2, claimed_at = ?3,
            run_at = ?4, worker = ?5, updated_at = ?3
         WHERE id = ?1"
    ))?;
    let mut read = conn.prepare_cached(
        "SELECT e.attempts, e.base_attempts, e.run_since, e.delivery_id, e.route, e.scheme,
            e.event_type, e.dedup_key, e.media_type, e.received_at, d.message_id, d.signed_at,
            COALESCE(e.bytes, d.body)
         FROM events e JOIN deliveries d ON d.id = e.delivery_id WHERE e.id = ?1",
    )?;
    let mut claimed = Vec::with_capacity(due.len());
    for (id, state, attempts, claimed_at, worker) in due {
        if state == RUNNING {
            let started = claimed_at.unwrap_or(now);
            expired.execute(params![
                id,
                attempts,
                started,
                now.saturating_sub(started),
                AttemptOutcome::LeaseExpired.as_str(),
                worker,
            ])?;
        }
        take.execute(params![id, token, now, until.as_millis(), request.worker])?;
        let event = read.query_row([id], |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, Vec<u8>>(7)?,
                row.get::<_, String>(8)?,
                row.get::<_, i64>(9)?,
                row.get::<_, Option<String>>(10)?,
                row.get::<_, Option<i64>>(11)?,
                row.get::<_, Vec<u8>>(12)?,
            ))
        })?;
        let (
            attempts,
            base,
            since,
            delivery,
            route,
            scheme,
            event_type,
            key,
            media,
            received,
            message_id,
            signed_at,
            bytes,
        ) = event;
        claimed.push(ClaimedEvent::new(
            Lease {
                event: EventId(id),
                token,
            },
            until,
            (attempts, attempts.saturating_sub(base)),
            Timestamp::from_millis(since),
            DeliveryId(delivery),
            route,
            codec::scheme_from(&scheme)?,
            event_type,
            EventKey::from_bytes(key),
            bytes,
            codec::media_type_from(&media),
            message_id,
            signed_at,
            Timestamp::from_millis(received),
        ));
    }
    Ok(claimed)
}

/// Extends live leases; returns the lost ones.
pub(crate) fn heartbeat(
    conn: &Connection,
    leases: &[Lease],
    until: Timestamp,
) -> Result<Vec<Lease>, OpError> {
    let mut extend = conn.prepare_cached(&format!(
        "UPDATE events SET run_at = ?3 WHERE id = ?1 AND lease = ?2 AND state = {RUNNING}"
    ))?;
    let mut lost = Vec::new();
    for lease in leases {
        if extend.execute(params![lease.event.0, lease.token, until.as_millis()])? == 0 {
            lost.push(*lease);
        }
    }
    Ok(lost)
}

/// One row of the attempt log.
struct AttemptRow<'a> {
    event: EventId,
    attempt: u32,
    started_at: Timestamp,
    now: Timestamp,
    outcome: AttemptOutcome,
    error: Option<&'a str>,
    worker: &'a str,
}

fn record_attempt(conn: &Connection, row: AttemptRow<'_>) -> Result<(), OpError> {
    conn.prepare_cached(
        "INSERT INTO attempts (event_id, attempt, started_at, duration_ms, outcome, error, worker)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.event.0,
        row.attempt,
        row.started_at.as_millis(),
        row.now.since(row.started_at).as_millis() as i64,
        row.outcome.as_str(),
        row.error,
        row.worker,
    ])?;
    Ok(())
}

/// Ends an attempt, if the lease still holds.
pub(crate) fn finish(conn: &Connection, finish: &Finish) -> Result<Finished, OpError> {
    let now = finish.now.as_millis();
    let (state, run_at, finished_at) = match &finish.verdict {
        Verdict::Done => (DONE, now, Some(now)),
        Verdict::Retry { at, .. } => (PENDING, at.as_millis(), None),
        Verdict::Dead { .. } => (DEAD, now, Some(now)),
    };
    let changed = conn
        .prepare_cached(&format!(
            "UPDATE events SET state = ?3, run_at = ?4, lease = NULL, updated_at = ?5,
                finished_at = ?6, last_error = ?7
             WHERE id = ?1 AND lease = ?2 AND state = {RUNNING}"
        ))?
        .execute(params![
            finish.lease.event.0,
            finish.lease.token,
            state,
            run_at,
            now,
            finished_at,
            finish.verdict.error(),
        ])?;
    let (outcome, result) = if changed == 1 {
        (finish.verdict.outcome(), Finished::Applied)
    } else {
        (AttemptOutcome::LeaseLost, Finished::LeaseLost)
    };
    record_attempt(
        conn,
        AttemptRow {
            event: finish.lease.event,
            attempt: finish.attempt,
            started_at: finish.started_at,
            now: finish.now,
            outcome,
            error: finish.verdict.error(),
            worker: &finish.worker,
        },
    )?;
    Ok(result)
}

/// Gives claimed events back, due now.
pub(crate) fn release(
    conn: &Connection,
    leases: &[Lease],
    worker: &str,
    now: Timestamp,
) -> Result<u64, OpError> {
    let mut give_back = conn.prepare_cached(&format!(
        "UPDATE events SET state = {PENDING}, run_at = ?3, lease = NULL, updated_at = ?3
         WHERE id = ?1 AND lease = ?2 AND state = {RUNNING}
         RETURNING attempts, claimed_at"
    ))?;
    let mut released = 0;
    for lease in leases {
        let row: Option<(u32, Option<i64>)> = give_back
            .query_row(
                params![lease.event.0, lease.token, now.as_millis()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((attempt, claimed_at)) = row {
            released += 1;
            record_attempt(
                conn,
                AttemptRow {
                    event: lease.event,
                    attempt,
                    started_at: claimed_at.map_or(now, Timestamp::from_millis),
                    now,
                    outcome: AttemptOutcome::Released,
                    error: Some("the worker shut down before the handler finished"),
                    worker,
                },
            )?;
        }
    }
    Ok(released)
}

/// Makes events in `from` state pending again with a fresh attempt budget.
pub(crate) fn rerun(
    conn: &Connection,
    selection: &Selection,
    from: i64,
    now: Timestamp,
) -> Result<u64, OpError> {
    let mut clause = match selection {
        Selection::Event(id) => {
            let mut clause = filter::events(&Default::default());
            clause.and("e.id = ?", [Value::Integer(id.0)]);
            clause
        }
        Selection::Matching(filter) => filter::events(filter),
    };
    clause.and(&format!("e.state = {from}"), []);
    let mut values = vec![Value::Integer(now.as_millis())];
    values.extend(clause.params);
    let changed = conn.execute(
        &format!(
            "UPDATE events AS e SET state = {PENDING}, run_at = ?1, run_since = ?1, updated_at = ?1,
                base_attempts = attempts, finished_at = NULL
             WHERE {}",
            clause.sql
        ),
        params_from_iter(values),
    )?;
    Ok(changed as u64)
}

/// Removes what the retention lets go.
pub(crate) fn purge(
    conn: &Connection,
    retention: &Retention,
    now: Timestamp,
) -> Result<Purged, OpError> {
    let mut purged = Purged::default();
    let drop_events = |state: i64, cut: Timestamp| -> Result<u64, OpError> {
        conn.execute(
            "DELETE FROM attempts WHERE event_id IN
                (SELECT id FROM events WHERE state = ?1 AND finished_at < ?2)",
            params![state, cut.as_millis()],
        )?;
        Ok(conn.execute(
            "DELETE FROM events WHERE state = ?1 AND finished_at < ?2",
            params![state, cut.as_millis()],
        )? as u64)
    };
    purged.events += drop_events(DONE, now.before(retention.done_after))?;
    if let Some(after) = retention.dead_after {
        purged.events += drop_events(DEAD, now.before(after))?;
    }
    purged.deliveries += conn.execute(
        "DELETE FROM deliveries AS d WHERE d.state = ?1 AND d.received_at < ?2
            AND NOT EXISTS (SELECT 1 FROM events e WHERE e.delivery_id = d.id)",
        params![
            codec::delivery_state(DeliveryState::Accepted),
            now.before(retention.done_after).as_millis()
        ],
    )? as u64;
    if let Some(after) = retention.quarantined_after {
        purged.deliveries += conn.execute(
            "DELETE FROM deliveries WHERE state = ?1 AND received_at < ?2",
            params![
                codec::delivery_state(DeliveryState::Quarantined),
                now.before(after).as_millis()
            ],
        )? as u64;
    }
    purged.keys += conn.execute(
        &format!(
            "DELETE FROM event_keys AS k WHERE k.first_seen < ?1
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.event_id
                    AND e.state IN ({PENDING}, {RUNNING}, {DEAD}))"
        ),
        params![now.before(retention.keys_after).as_millis()],
    )? as u64;
    Ok(purged)
}

//! The writes. Each is one transaction, or one statement (itself atomic); the backend
//! wakes the workers after those that make work due have committed.

use std::collections::HashMap;

use sqlx::{Postgres, Row, Transaction, postgres::PgRow};
use webhook_core::Scheme;

use super::{PostgresBackend, filter};
use crate::{
    accept::{Accepted, AcceptedEvent, Content, EventAcceptance, NewDelivery, NewEvent},
    backend::{ClaimRequest, ClaimedEvent, Finish, Finished, Lease, Verdict},
    error::InboxError,
    model::{AttemptOutcome, DeliveryId, DeliveryState, EventId, EventKey},
    query::{Purged, Retention, Selection},
    sqlite::codec::{self, DEAD, DONE, PENDING, RUNNING},
    time::Timestamp,
};

/// Stores a delivery and queues each event whose key is new on its route: one
/// transaction of two statements (three when some events are duplicates).
pub(crate) async fn accept(
    backend: &PostgresBackend,
    delivery: &NewDelivery,
) -> Result<Accepted, InboxError> {
    let err = |e| backend.error(e);
    let (state, parse_error, events) = match &delivery.content {
        Content::Events(events) => (DeliveryState::Accepted, None, &events[..]),
        Content::Quarantined { error } => (DeliveryState::Quarantined, Some(error), &[][..]),
    };
    let body = delivery.body();
    let keys: Vec<&[u8]> = events.iter().map(|e| e.key.as_bytes()).collect();
    let (key_index, key_label, credentials, url_token) =
        codec::verification(&delivery.verification);
    let mut tx = backend.pool().begin().await.map_err(err)?;
    // The delivery, and the keys (see `KEYS`), in one statement.
    let rows = sqlx::query(backend.names().sql(&format!(
        "WITH d AS (
            INSERT INTO §.deliveries (route, scheme, received_at, state, media_type,
                message_id, signed_at, stalwart_key, headers, parse_error, queued, duplicates,
                body_len, body, key_index, key_label, credentials, url_token)
            VALUES ($13, $3, $2, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11, $12, $14, $15, $16,
                $17)
            RETURNING id
        ), {KEYS}
        SELECT d.id, k.key, k.event_id FROM d LEFT JOIN k ON TRUE"
    )))
    .bind(&keys)
    .bind(delivery.received_at.as_millis())
    .bind(delivery.scheme.id())
    .bind(codec::delivery_state(state))
    .bind(codec::media_type(delivery.media_type))
    .bind(&delivery.message_id)
    .bind(delivery.signed_at)
    .bind(codec::stalwart_key(delivery.stalwart_key))
    .bind(codec::headers(&delivery.headers))
    .bind(parse_error)
    .bind(body.len() as i64)
    .bind(body)
    .bind(&delivery.route)
    .bind(key_index)
    .bind(key_label)
    .bind(credentials)
    .bind(url_token)
    .fetch_all(&mut *tx)
    .await
    .map_err(err)?;
    let id: i64 = rows
        .first()
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(err)?
        .ok_or_else(|| InboxError::Corrupt("the delivery insert returned no id".into()))?;
    let id = DeliveryId(id);
    let new = new_keys(backend, &rows, 1)?;
    let accepted = queue_events(
        backend,
        &mut tx,
        id,
        (&delivery.route, delivery.scheme, delivery.received_at),
        body,
        events,
        new,
    )
    .await?;
    tx.commit().await.map_err(err)?;
    Ok(Accepted {
        delivery: id,
        events: accepted,
        quarantined: parse_error.cloned(),
    })
}

/// The keys' insert, as a `k` CTE over the keys in `$1` at time `$2`: the keys'
/// uniqueness decides, never a read before the write (an event another replica is
/// queueing right now makes this insert wait for its commit and then do nothing), and
/// each new key takes the next event id, in the body's order.
const KEYS: &str = "k AS (
    INSERT INTO §.event_keys (key, event_id, first_seen)
    SELECT u.key, nextval('§.events_id_seq'), $2
    FROM (SELECT key, n FROM UNNEST($1::bytea[]) WITH ORDINALITY AS u(key, n) ORDER BY n) AS u
    ON CONFLICT (key) DO NOTHING
    RETURNING key, event_id
)";

/// The new keys and their event ids, from rows whose columns `at` and `at + 1` are the
/// `k` CTE's (`NULL` when no key was new).
fn new_keys(
    backend: &PostgresBackend,
    rows: &[PgRow],
    at: usize,
) -> Result<HashMap<Vec<u8>, i64>, InboxError> {
    let err = |e| backend.error(e);
    let mut new = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Option<Vec<u8>> = row.try_get(at).map_err(err)?;
        let event: Option<i64> = row.try_get(at + 1).map_err(err)?;
        if let (Some(key), Some(event)) = (key, event) {
            new.insert(key, event);
        }
    }
    Ok(new)
}

/// Given the keys that were new, inserts their events (in order) and records the
/// delivery's counts, in one statement; reports each event.
async fn queue_events(
    backend: &PostgresBackend,
    tx: &mut Transaction<'static, Postgres>,
    delivery: DeliveryId,
    (route, scheme, now): (&str, Scheme, Timestamp),
    body: &[u8],
    events: &[NewEvent],
    mut new: HashMap<Vec<u8>, i64>,
) -> Result<Vec<AcceptedEvent>, InboxError> {
    let err = |e| backend.error(e);
    let names = backend.names();
    let known: Vec<&[u8]> = events
        .iter()
        .map(|e| e.key.as_bytes())
        .filter(|key| !new.contains_key(*key))
        .collect();
    let mut old: HashMap<Vec<u8>, i64> = HashMap::new();
    if !known.is_empty() {
        let rows = sqlx::query(
            names.sql("SELECT key, event_id FROM §.event_keys WHERE key = ANY($1::bytea[])"),
        )
        .bind(&known)
        .fetch_all(&mut **tx)
        .await
        .map_err(err)?;
        for row in rows {
            old.insert(row.try_get(0).map_err(err)?, row.try_get(1).map_err(err)?);
        }
    }

    let mut out = Vec::with_capacity(events.len());
    let mut ids = Vec::new();
    let mut types = Vec::new();
    let mut new_keys = Vec::new();
    let mut media = Vec::new();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut bytes: Vec<Option<&[u8]>> = Vec::new();
    for event in events {
        let key = event.key.as_bytes();
        let outcome = match new.remove(key) {
            Some(id) => {
                let slice = body.get(event.range.clone()).ok_or_else(|| {
                    InboxError::Corrupt(format!(
                        "event range {:?} is outside the {}-byte body",
                        event.range,
                        body.len()
                    ))
                })?;
                ids.push(id);
                types.push(event.event_type.as_deref());
                new_keys.push(key);
                media.push(codec::media_type(event.media_type));
                starts.push(event.range.start as i64);
                ends.push(event.range.end as i64);
                // The whole body is not stored twice: such an event reads its delivery's.
                bytes.push((slice.len() != body.len()).then_some(slice));
                // A second copy of the key in this body is a duplicate of this one.
                old.insert(key.to_vec(), id);
                EventAcceptance::Queued(EventId(id))
            }
            // A key purged between the conflict and the read names no event any more:
            // 0 stands for "handled, and since forgotten".
            None => EventAcceptance::Duplicate(EventId(old.get(key).copied().unwrap_or(0))),
        };
        out.push(AcceptedEvent::new(event.key.clone(), outcome));
    }
    let queued = ids.len();
    sqlx::query(names.sql(
        "WITH counts AS (
            UPDATE §.deliveries SET queued = $12, duplicates = $13 WHERE id = $2
        )
        INSERT INTO §.events (id, delivery_id, route, scheme, event_type, dedup_key,
            media_type, body_start, body_end, state, run_since, run_at, received_at,
            updated_at, bytes)
        SELECT u.id, $2, $3, $4, u.event_type, u.key, u.media_type, u.body_start,
            u.body_end, 0, $5, $5, $5, $5, u.bytes
        FROM UNNEST($1::bigint[], $6::text[], $7::bytea[], $8::text[], $9::bigint[],
            $10::bigint[], $11::bytea[])
            AS u(id, event_type, key, media_type, body_start, body_end, bytes)",
    ))
    .bind(&ids)
    .bind(delivery.0)
    .bind(route)
    .bind(scheme.id())
    .bind(now.as_millis())
    .bind(&types)
    .bind(&new_keys)
    .bind(&media)
    .bind(&starts)
    .bind(&ends)
    .bind(&bytes)
    .bind(queued as i64)
    .bind((out.len() - queued) as i64)
    .execute(&mut **tx)
    .await
    .map_err(err)?;
    Ok(out)
}

/// Queues a quarantined delivery's events and marks it accepted.
pub(crate) async fn requeue(
    backend: &PostgresBackend,
    delivery: DeliveryId,
    events: &[NewEvent],
    now: Timestamp,
) -> Result<Accepted, InboxError> {
    let err = |e| backend.error(e);
    let names = backend.names();
    let mut tx = backend.pool().begin().await.map_err(err)?;
    let row = sqlx::query(
        names.sql("SELECT route, scheme, state, body FROM §.deliveries WHERE id = $1 FOR UPDATE"),
    )
    .bind(delivery.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(err)?;
    let Some(row) = row else {
        return Err(InboxError::NotFound {
            what: "delivery",
            id: delivery.0,
        });
    };
    let route: String = row.try_get(0).map_err(err)?;
    let scheme: String = row.try_get(1).map_err(err)?;
    let state: i64 = row.try_get(2).map_err(err)?;
    let body: Vec<u8> = row.try_get(3).map_err(err)?;
    if codec::delivery_state_from(state)? != DeliveryState::Quarantined {
        return Err(InboxError::Invalid(format!(
            "delivery {delivery} is not quarantined"
        )));
    }
    let scheme = codec::scheme_from(&scheme)?;
    let keys: Vec<&[u8]> = events.iter().map(|e| e.key.as_bytes()).collect();
    let rows = sqlx::query(names.sql(&format!(
        "WITH {KEYS} SELECT 0::bigint, k.key, k.event_id FROM k"
    )))
    .bind(&keys)
    .bind(now.as_millis())
    .fetch_all(&mut *tx)
    .await
    .map_err(err)?;
    let new = new_keys(backend, &rows, 1)?;
    let accepted = queue_events(
        backend,
        &mut tx,
        delivery,
        (&route, scheme, now),
        &body,
        events,
        new,
    )
    .await?;
    sqlx::query(names.sql("UPDATE §.deliveries SET state = $2, parse_error = NULL WHERE id = $1"))
        .bind(delivery.0)
        .bind(codec::delivery_state(DeliveryState::Accepted))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(Accepted {
        delivery,
        events: accepted,
        quarantined: None,
    })
}

/// Claims due events under a new lease, in one statement: the due rows are locked
/// with `FOR UPDATE SKIP LOCKED` (a replica claiming at the same moment skips them),
/// expired leases taken over are logged, and the events come back with their bytes.
pub(crate) async fn claim(
    backend: &PostgresBackend,
    request: &ClaimRequest,
) -> Result<Vec<ClaimedEvent>, InboxError> {
    let err = |e| backend.error(e);
    let now = request.now.as_millis();
    let until = request.now.after(request.lease);
    let token = fastrand::i64(..);
    let rows = sqlx::query(backend.names().sql(&format!(
        "WITH due AS (
            SELECT id FROM §.events
            WHERE state < {DONE} AND run_at <= $1
                AND (cardinality($5::text[]) = 0 OR route = ANY($5::text[]))
            ORDER BY run_at, id
            LIMIT $6
            FOR UPDATE SKIP LOCKED
        ), expired AS (
            INSERT INTO §.attempts (event_id, attempt, started_at, duration_ms, outcome, error,
                worker)
            SELECT e.id, e.attempts, COALESCE(e.claimed_at, $1),
                GREATEST($1 - COALESCE(e.claimed_at, $1), 0), '{expired}',
                'the lease ran out with no answer: the worker crashed or stalled', e.worker
            FROM §.events e JOIN due ON due.id = e.id
            WHERE e.state = {RUNNING}
        )
        UPDATE §.events e SET state = {RUNNING}, attempts = e.attempts + 1, lease = $2,
            claimed_at = $1, run_at = $3, worker = $4, updated_at = $1
        FROM due, §.deliveries d
        WHERE e.id = due.id AND d.id = e.delivery_id
        RETURNING e.id, e.attempts, e.base_attempts, e.run_since, e.delivery_id, e.route,
            e.scheme, e.event_type, e.dedup_key, e.media_type, e.received_at, d.message_id,
            d.signed_at, COALESCE(e.bytes, d.body)",
        expired = AttemptOutcome::LeaseExpired.as_str(),
    )))
    .bind(now)
    .bind(token)
    .bind(until.as_millis())
    .bind(&request.worker)
    .bind(&request.routes)
    .bind(request.max as i64)
    .fetch_all(backend.pool())
    .await
    .map_err(err)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get(0).map_err(err)?;
        let attempts: i64 = row.try_get(1).map_err(err)?;
        let base: i64 = row.try_get(2).map_err(err)?;
        let scheme: String = row.try_get(6).map_err(err)?;
        let media: String = row.try_get(9).map_err(err)?;
        let key: Vec<u8> = row.try_get(8).map_err(err)?;
        claimed.push(ClaimedEvent::new(
            Lease {
                event: EventId(id),
                token,
            },
            until,
            (attempts as u32, attempts.saturating_sub(base) as u32),
            Timestamp::from_millis(row.try_get(3).map_err(err)?),
            DeliveryId(row.try_get(4).map_err(err)?),
            row.try_get(5).map_err(err)?,
            codec::scheme_from(&scheme)?,
            row.try_get(7).map_err(err)?,
            EventKey::from_bytes(key),
            row.try_get(13).map_err(err)?,
            codec::media_type_from(&media),
            row.try_get(11).map_err(err)?,
            row.try_get(12).map_err(err)?,
            Timestamp::from_millis(row.try_get(10).map_err(err)?),
        ));
    }
    claimed.sort_by_key(|event| event.lease.event);
    Ok(claimed)
}

/// Extends live leases; returns the lost ones.
pub(crate) async fn heartbeat(
    backend: &PostgresBackend,
    leases: &[Lease],
    until: Timestamp,
) -> Result<Vec<Lease>, InboxError> {
    let err = |e| backend.error(e);
    let ids: Vec<i64> = leases.iter().map(|l| l.event.0).collect();
    let tokens: Vec<i64> = leases.iter().map(|l| l.token).collect();
    let kept: Vec<i64> = sqlx::query_scalar(backend.names().sql(&format!(
        "WITH locked AS (
            -- In id order, as every statement that updates several events locks them:
            -- two such statements never wait on each other in a cycle.
            SELECT e.id FROM §.events e
            JOIN UNNEST($1::bigint[], $2::bigint[]) AS l(id, token) ON e.id = l.id
            WHERE e.lease = l.token AND e.state = {RUNNING}
            ORDER BY e.id
            FOR UPDATE OF e
        )
        UPDATE §.events e SET run_at = $3
        FROM locked
        WHERE e.id = locked.id AND e.state = {RUNNING}
        RETURNING e.id"
    )))
    .bind(&ids)
    .bind(&tokens)
    .bind(until.as_millis())
    .fetch_all(backend.pool())
    .await
    .map_err(err)?;
    Ok(leases
        .iter()
        .filter(|lease| !kept.contains(&lease.event.0))
        .copied()
        .collect())
}

/// Ends an attempt if the lease still holds, and logs it either way, in one statement
/// on `conn` (the pool, or a transactional handler's transaction).
pub(crate) async fn finish<'c, E>(
    backend: &PostgresBackend,
    conn: E,
    finish: &Finish,
) -> Result<Finished, InboxError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let now = finish.now.as_millis();
    let (state, run_at, finished_at) = match &finish.verdict {
        Verdict::Done => (DONE, now, Some(now)),
        Verdict::Retry { at, .. } => (PENDING, at.as_millis(), None),
        Verdict::Dead { .. } => (DEAD, now, Some(now)),
    };
    let outcome: String = sqlx::query_scalar(backend.names().sql(&format!(
        "WITH changed AS (
            UPDATE §.events SET state = $3, run_at = $4, lease = NULL, updated_at = $5,
                finished_at = $6, last_error = $7
            WHERE id = $1 AND lease = $2 AND state = {RUNNING}
            RETURNING id
        )
        INSERT INTO §.attempts (event_id, attempt, started_at, duration_ms, outcome, error,
            worker)
        SELECT $1, $8, $9, $10,
            CASE WHEN EXISTS (SELECT 1 FROM changed) THEN $11 ELSE '{lost}' END, $7, $12
        RETURNING outcome",
        lost = AttemptOutcome::LeaseLost.as_str(),
    )))
    .bind(finish.lease.event.0)
    .bind(finish.lease.token)
    .bind(state)
    .bind(run_at)
    .bind(now)
    .bind(finished_at)
    .bind(finish.verdict.error())
    .bind(i64::from(finish.attempt))
    .bind(finish.started_at.as_millis())
    .bind(finish.now.since(finish.started_at).as_millis() as i64)
    .bind(finish.verdict.outcome().as_str())
    .bind(&finish.worker)
    .fetch_one(conn)
    .await
    .map_err(|e| backend.error(e))?;
    Ok(if outcome == AttemptOutcome::LeaseLost.as_str() {
        Finished::LeaseLost
    } else {
        Finished::Applied
    })
}

/// Gives claimed events back, due now; logs each.
pub(crate) async fn release(
    backend: &PostgresBackend,
    leases: &[Lease],
    worker: &str,
    now: Timestamp,
) -> Result<u64, InboxError> {
    let err = |e| backend.error(e);
    let ids: Vec<i64> = leases.iter().map(|l| l.event.0).collect();
    let tokens: Vec<i64> = leases.iter().map(|l| l.token).collect();
    let mut tx = backend.pool().begin().await.map_err(err)?;
    let released: i64 = sqlx::query_scalar(backend.names().sql(&format!(
        "WITH given AS (
            UPDATE §.events e SET state = {PENDING}, run_at = $3, lease = NULL, updated_at = $3
            FROM UNNEST($1::bigint[], $2::bigint[]) AS l(id, token)
            WHERE e.id = l.id AND e.lease = l.token AND e.state = {RUNNING}
            RETURNING e.id, e.attempts, e.claimed_at
        ), logged AS (
            INSERT INTO §.attempts (event_id, attempt, started_at, duration_ms, outcome, error,
                worker)
            SELECT id, attempts, COALESCE(claimed_at, $3),
                GREATEST($3 - COALESCE(claimed_at, $3), 0), '{released}',
                'the worker shut down before the handler finished', $4
            FROM given
        )
        SELECT count(*) FROM given",
        released = AttemptOutcome::Released.as_str(),
    )))
    .bind(&ids)
    .bind(&tokens)
    .bind(now.as_millis())
    .bind(worker)
    .fetch_one(&mut *tx)
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(released as u64)
}

/// Makes events in `from` state pending again with a fresh attempt budget.
pub(crate) async fn rerun(
    backend: &PostgresBackend,
    selection: &Selection,
    from: i64,
    now: Timestamp,
) -> Result<u64, InboxError> {
    let err = |e| backend.error(e);
    let mut clause = match selection {
        Selection::Event(id) => {
            let mut clause = filter::events(&Default::default(), 2);
            clause.and("e.id = $?", Some(filter::Param::Int(id.0)));
            clause
        }
        Selection::Matching(filter) => filter::events(filter, 2),
    };
    clause.and(&format!("e.state = {from}"), None);
    let sql = backend.names().sql(&format!(
        "UPDATE §.events AS e SET state = {PENDING}, run_at = $1, run_since = $1,
            updated_at = $1, base_attempts = e.attempts, finished_at = NULL
         WHERE {}",
        clause.sql
    ));
    let mut tx = backend.pool().begin().await.map_err(err)?;
    let changed = clause
        .bind(sqlx::query(sql).bind(now.as_millis()))
        .execute(&mut *tx)
        .await
        .map_err(err)?
        .rows_affected();
    tx.commit().await.map_err(err)?;
    Ok(changed)
}

/// Removes what the retention lets go, in one transaction.
pub(crate) async fn purge(
    backend: &PostgresBackend,
    retention: &Retention,
    now: Timestamp,
) -> Result<Purged, InboxError> {
    let err = |e| backend.error(e);
    let names = backend.names();
    let mut tx = backend.pool().begin().await.map_err(err)?;
    let mut purged = Purged::default();
    let mut cuts = vec![(DONE, now.before(retention.done_after))];
    if let Some(after) = retention.dead_after {
        cuts.push((DEAD, now.before(after)));
    }
    for (state, cut) in cuts {
        let events: i64 = sqlx::query_scalar(names.sql(
            "WITH gone AS (
                DELETE FROM §.events WHERE state = $1 AND finished_at < $2 RETURNING id
            ), logs AS (
                DELETE FROM §.attempts WHERE event_id IN (SELECT id FROM gone)
            )
            SELECT count(*) FROM gone",
        ))
        .bind(state)
        .bind(cut.as_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        purged.events += events as u64;
    }
    purged.deliveries += sqlx::query(names.sql(
        "DELETE FROM §.deliveries AS d WHERE d.state = $1 AND d.received_at < $2
            AND NOT EXISTS (SELECT 1 FROM §.events e WHERE e.delivery_id = d.id)",
    ))
    .bind(codec::delivery_state(DeliveryState::Accepted))
    .bind(now.before(retention.done_after).as_millis())
    .execute(&mut *tx)
    .await
    .map_err(err)?
    .rows_affected();
    if let Some(after) = retention.quarantined_after {
        purged.deliveries += sqlx::query(
            names.sql("DELETE FROM §.deliveries WHERE state = $1 AND received_at < $2"),
        )
        .bind(codec::delivery_state(DeliveryState::Quarantined))
        .bind(now.before(after).as_millis())
        .execute(&mut *tx)
        .await
        .map_err(err)?
        .rows_affected();
    }
    purged.keys += sqlx::query(names.sql(&format!(
        "DELETE FROM §.event_keys AS k WHERE k.first_seen < $1
            AND NOT EXISTS (SELECT 1 FROM §.events e WHERE e.id = k.event_id
                AND e.state IN ({PENDING}, {RUNNING}, {DEAD}))"
    )))
    .bind(now.before(retention.keys_after).as_millis())
    .execute(&mut *tx)
    .await
    .map_err(err)?
    .rows_affected();
    tx.commit().await.map_err(err)?;
    Ok(purged)
}

//! The inspector's routes: the page and its assets, the JSON query API, the live
//! stream, and the actions (POSTs, behind the cross-site checks of [`super::access`]).

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    middleware,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use webhook_core::Scheme;
use webhook_inbox::{Backend, DeliveryId, EventId, Inbox, InboxError, Selection, Stats};

use super::{
    access::{self, Access},
    chart,
    filter::{BadFilter, ListQuery},
    live, views,
};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

struct App<B: Backend> {
    inbox: Inbox<B>,
    access: Arc<Access>,
}

impl<B: Backend> Clone for App<B> {
    fn clone(&self) -> Self {
        Self {
            inbox: self.inbox.clone(),
            access: Arc::clone(&self.access),
        }
    }
}

/// What a failed API call answers: 400 for a filter not understood, 404 for an
/// unknown id, 503 when the inbox cannot be read.
enum ApiError {
    Bad(BadFilter),
    NotFound(&'static str),
    Inbox(InboxError),
}

impl From<BadFilter> for ApiError {
    fn from(err: BadFilter) -> Self {
        Self::Bad(err)
    }
}

impl From<InboxError> for ApiError {
    fn from(err: InboxError) -> Self {
        Self::Inbox(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Bad(err) => (StatusCode::BAD_REQUEST, err.to_string()),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, format!("no such {what}")),
            Self::Inbox(InboxError::NotFound { what, id }) => {
                (StatusCode::NOT_FOUND, format!("no {what} {id}"))
            }
            Self::Inbox(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// The router: every route behind [`access::guard`].
pub(crate) fn router<B: Backend>(inbox: Inbox<B>, access: Arc<Access>) -> Router {
    let app = App {
        inbox,
        access: Arc::clone(&access),
    };
    Router::new()
        .route("/", get(page::<B>))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/api/meta", get(meta::<B>))
        .route("/api/stats", get(stats::<B>))
        .route("/api/events", get(events::<B>))
        .route("/api/events/{id}", get(event::<B>))
        .route("/api/events/{id}/redrive", post(redrive_one::<B>))
        .route("/api/events/{id}/replay", post(replay_one::<B>))
        .route("/api/redrive", post(redrive_matching::<B>))
        .route("/api/deliveries", get(deliveries::<B>))
        .route("/api/deliveries/{id}", get(delivery::<B>))
        .route("/api/chart", get(chart_data::<B>))
        .route("/api/live", get(live_stream::<B>))
        .with_state(app)
        .layer(middleware::from_fn_with_state(access, access::guard))
}

async fn page<B: Backend>(State(app): State<App<B>>) -> Html<String> {
    Html(PAGE.replace("{{csrf}}", app.access.csrf()))
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// What the page needs to build its filters (the senders).
async fn meta<B: Backend>(State(app): State<App<B>>) -> Json<Value> {
    let schemes: Vec<Value> = Scheme::ALL
        .iter()
        .map(|s| json!({ "id": s.id(), "summary": s.summary() }))
        .collect();
    Json(json!({ "schemes": schemes, "now": app.inbox.now().as_millis() }))
}

pub(crate) fn stats_json(stats: &Stats) -> Value {
    json!({
        "pending": stats.pending,
        "running": stats.running,
        "retrying": stats.retrying,
        "done": stats.done,
        "dead": stats.dead,
        "deliveries": stats.deliveries,
        "quarantined": stats.quarantined,
    })
}

async fn stats<B: Backend>(State(app): State<App<B>>) -> ApiResult {
    Ok(Json(stats_json(&app.inbox.stats().await?)))
}

async fn events<B: Backend>(
    State(app): State<App<B>>,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    let filter = query.events()?;
    let page = query.page()?;
    let events = app.inbox.list_events(&filter, page).await?;
    let more = events.len() == page.limit as usize;
    Ok(Json(json!({
        "items": events.iter().map(views::event_summary).collect::<Vec<_>>(),
        "next_before": if more { events.last().map(|e| e.id.0) } else { None },
    })))
}

async fn event<B: Backend>(State(app): State<App<B>>, Path(id): Path<i64>) -> ApiResult {
    let detail = app
        .inbox
        .event(EventId(id))
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    Ok(Json(views::event_detail(&detail)))
}

async fn deliveries<B: Backend>(
    State(app): State<App<B>>,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    let filter = query.deliveries()?;
    let page = query.page()?;
    let deliveries = app.inbox.list_deliveries(&filter, page).await?;
    let more = deliveries.len() == page.limit as usize;
    Ok(Json(json!({
        "items": deliveries.iter().map(views::delivery_summary).collect::<Vec<_>>(),
        "next_before": if more { deliveries.last().map(|d| d.id.0) } else { None },
    })))
}

async fn delivery<B: Backend>(State(app): State<App<B>>, Path(id): Path<i64>) -> ApiResult {
    let detail = app
        .inbox
        .delivery(DeliveryId(id))
        .await?
        .ok_or(ApiError::NotFound("delivery"))?;
    Ok(Json(views::delivery_detail(&detail)))
}

async fn redrive_one<B: Backend>(State(app): State<App<B>>, Path(id): Path<i64>) -> ApiResult {
    let count = app.inbox.redrive(Selection::Event(EventId(id))).await?;
    Ok(Json(json!({ "redriven": count })))
}

async fn replay_one<B: Backend>(State(app): State<App<B>>, Path(id): Path<i64>) -> ApiResult {
    let count = app.inbox.replay(Selection::Event(EventId(id))).await?;
    Ok(Json(json!({ "replayed": count })))
}

/// Redrives every dead event the list's filter matches (its state is ignored: a
/// redrive applies to dead events only).
async fn redrive_matching<B: Backend>(
    State(app): State<App<B>>,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    let mut filter = query.events()?;
    filter.states.clear();
    let count = app.inbox.redrive(Selection::Matching(filter)).await?;
    Ok(Json(json!({ "redriven": count })))
}

async fn chart_data<B: Backend>(State(app): State<App<B>>) -> ApiResult {
    Ok(Json(chart::per_minute(&app.inbox).await?))
}

async fn live_stream<B: Backend>(State(app): State<App<B>>) -> impl IntoResponse {
    live::stream(app.inbox.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_local() {
        for (name, text) in [("index.html", PAGE), ("app.js", SCRIPT), ("app.css", STYLE)] {
            for scheme in ["http://", "https://", "//cdn", "@import"] {
                let outside = text
                    .match_indices(scheme)
                    .map(|(at, _)| &text[at..text.len().min(at + 40)])
                    // The SVG namespace is a name, never fetched.
                    .find(|found| !found.starts_with("http://www.w3.org/2000/svg"));
                assert_eq!(outside, None, "{name} refers outside: {outside:?}");
            }
        }
        assert!(PAGE.contains("{{csrf}}"));
    }
}

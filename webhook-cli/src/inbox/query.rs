//! `webhook inbox stats|list|show`: read what the inbox holds.

use std::process::ExitCode;

use webhook_inbox::{DeliveryId, EventFilter, EventId, Page};

use crate::{
    error::CliError,
    inbox::{
        args::{Common, Filter, ListArgs, ShowArgs},
        json, open_existing, text,
    },
};

/// Prints `value` as JSON or `text` as is.
pub(crate) fn emit(common: &Common, value: serde_json::Value, text: impl FnOnce() -> String) {
    if common.json {
        println!("{value}");
    } else {
        print!("{}", text());
    }
}

pub(crate) fn event_filter(filter: &Filter) -> EventFilter {
    let mut events = EventFilter::default();
    for state in &filter.state {
        events = events.state(*state);
    }
    if let Some(route) = &filter.route {
        events = events.route(route.clone());
    }
    if let Some(event_type) = &filter.event_type {
        events = events.event_type(event_type.clone());
    }
    if let Some(scheme) = filter.scheme {
        events = events.scheme(scheme);
    }
    if let Some(delivery) = filter.delivery {
        events = events.delivery(DeliveryId(delivery));
    }
    events
}

pub(crate) async fn stats(common: Common) -> Result<ExitCode, CliError> {
    let stats = open_existing(&common.inbox).await?.stats().await?;
    emit(&common, json::stats(&stats), || text::stats(&stats));
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn list(args: ListArgs) -> Result<ExitCode, CliError> {
    if args.limit == 0 || args.limit > Page::MAX_LIMIT {
        return Err(CliError::Usage(format!(
            "--limit must be between 1 and {}",
            Page::MAX_LIMIT
        )));
    }
    let inbox = open_existing(&args.common.inbox).await?;
    let mut page = Page::first(args.limit);
    if let Some(before) = args.before {
        page = page.after(before);
    }
    let events = inbox.list_events(&event_filter(&args.filter), page).await?;
    // A full page may have a next one.
    let next_before = (events.len() == args.limit as usize)
        .then(|| events.last().map(|e| e.id.0))
        .flatten();
    emit(&args.common, json::list(&events, next_before), || {
        text::list(&events, next_before)
    });
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn show(args: ShowArgs) -> Result<ExitCode, CliError> {
    let inbox = open_existing(&args.common.inbox).await?;
    let detail =
        inbox
            .event(EventId(args.id))
            .await?
            .ok_or(webhook_inbox::InboxError::NotFound {
                what: "event",
                id: args.id,
            })?;
    emit(&args.common, json::detail(&detail), || {
        text::detail(&detail)
    });
    Ok(ExitCode::SUCCESS)
}

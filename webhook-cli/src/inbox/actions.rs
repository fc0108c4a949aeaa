//! `webhook inbox redrive|replay|purge`: act on the stored events.

use std::process::ExitCode;

use serde_json::json;
use webhook_inbox::{EventId, Retention, Selection};

use crate::{
    error::CliError,
    inbox::{
        args::{ActionArgs, Filter, PurgeArgs},
        json, open_existing,
        query::{emit, event_filter},
    },
};

/// The events an action names: one by id, or every one the filters match when `--all`
/// or a filter is given (never all of them by accident).
fn selection(args: &ActionArgs, verb: &str) -> Result<Selection, CliError> {
    if let Some(id) = args.id {
        return Ok(Selection::Event(EventId(id)));
    }
    let filter = Filter {
        state: Vec::new(),
        route: args.route.clone(),
        event_type: args.event_type.clone(),
        scheme: args.scheme,
        delivery: args.delivery,
    };
    let narrowed = filter.route.is_some()
        || filter.event_type.is_some()
        || filter.scheme.is_some()
        || filter.delivery.is_some();
    if !args.all && !narrowed {
        return Err(CliError::Usage(format!(
            "say which events to {verb}: an event id, --all, or a filter (--route, --type, \
             --scheme, --delivery)"
        )));
    }
    Ok(Selection::Matching(event_filter(&filter)))
}

pub(crate) async fn redrive(args: ActionArgs) -> Result<ExitCode, CliError> {
    let selection = selection(&args, "redrive")?;
    let count = open_existing(&args.common.inbox)
        .await?
        .redrive(selection)
        .await?;
    emit(&args.common, json!({ "redriven": count }), || {
        format!("{count} dead event(s) made pending again\n")
    });
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn replay(args: ActionArgs) -> Result<ExitCode, CliError> {
    let selection = selection(&args, "replay")?;
    let count = open_existing(&args.common.inbox)
        .await?
        .replay(selection)
        .await?;
    emit(&args.common, json!({ "replayed": count }), || {
        format!("{count} done event(s) queued to run again from their stored bytes\n")
    });
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn purge(args: PurgeArgs) -> Result<ExitCode, CliError> {
    let retention = Retention::default()
        .done_after(args.done_after)
        .keys_after(args.keys_after)
        .dead_after(args.dead_after)
        .quarantined_after(args.quarantined_after);
    let purged = open_existing(&args.common.inbox)
        .await?
        .purge(retention)
        .await?;
    emit(&args.common, json::purged(&purged), || {
        format!(
            "purged {} event(s), {} deliver(ies), {} key(s)\n",
            purged.events, purged.deliveries, purged.keys
        )
    });
    Ok(ExitCode::SUCCESS)
}

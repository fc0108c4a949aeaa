//! What the CLI prints: verified events, rejections and their likely causes.
//!
//! Text goes through `anstream`, which drops the colours when the output is not a
//! terminal; `--json` prints one JSON object per line instead, for piping into `jq`.

use anstyle::{AnsiColor, Style};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use webhook_core::{ParseError, Rejection, Scheme, Verified, diagnose::Diagnosis};

use crate::senders;

pub(crate) const ERROR: Style = AnsiColor::Red.on_default().bold();
const OK: Style = AnsiColor::Green.on_default().bold();
const DUPLICATE: Style = AnsiColor::Yellow.on_default().bold();
const DIM: Style = Style::new().dimmed();
const KIND: Style = AnsiColor::Cyan.on_default();

/// One event, reduced to what a person scanning a terminal wants to see.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub(crate) time: Option<DateTime<Utc>>,
    pub(crate) kind: String,
    pub(crate) id: Option<String>,
    /// The event as its model serializes it.
    pub(crate) json: Value,
}

/// Parses a verified body into summaries, with the sender's typed model.
pub(crate) fn summarize(verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
    senders::of(verified.verification().scheme()).summarize(verified)
}

/// An event as its model serializes it, for [`Summary::json`].
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(event: &T) -> Value {
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// How a request ended, for printing.
pub(crate) enum Outcome<'a> {
    Accepted(&'a [Summary]),
    Duplicate(&'a [Summary]),
    Rejected {
        rejection: &'a Rejection,
        /// What went wrong, in the tool's terms ([`crate::refusal::message`]).
        message: &'a str,
        /// The likely mistakes, when the rejection was diagnosed.
        diagnosis: Option<&'a Diagnosis>,
    },
}

pub(crate) fn print(scheme: Scheme, outcome: &Outcome<'_>, json: bool) {
    if json {
        for line in json_lines(scheme, outcome) {
            println!("{line}");
        }
        return;
    }
    match outcome {
        Outcome::Accepted(events) | Outcome::Duplicate(events) => {
            let (mark, style) = match outcome {
                Outcome::Accepted(_) => ("✔", OK),
                _ => ("↺ duplicate, skipped:", DUPLICATE),
            };
            for event in *events {
                anstream::println!(
                    "{style}{mark}{style:#} {:<10} {DIM}{}{DIM:#} {KIND}{}{KIND:#} {DIM}{}{DIM:#}",
                    scheme.id(),
                    event
                        .time
                        .map_or("-".into(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                    event.kind,
                    details(&event.json),
                );
            }
        }
        Outcome::Rejected {
            rejection,
            message,
            diagnosis,
        } => {
            anstream::println!(
                "{ERROR}✘ {} {}{ERROR:#} {:<10} {message}",
                rejection.status().as_u16(),
                rejection.code(),
                scheme.id(),
            );
            let Some(diagnosis) = diagnosis else { return };
            for finding in &diagnosis.findings {
                anstream::println!("    {DUPLICATE}→ likely:{DUPLICATE:#} {finding}");
            }
            if let Some(skipped) = &diagnosis.skipped {
                anstream::println!("    {DIM}{skipped}{DIM:#}");
            }
        }
    }
}

/// Where `listen --save` put a request (or why it could not).
pub(crate) fn saved(result: std::io::Result<std::path::PathBuf>, json: bool) {
    match (result, json) {
        (Ok(path), true) => println!("{}", json!({"status": "saved", "path": path})),
        (Ok(path), false) => anstream::println!("{DIM}saved {}{DIM:#}", path.display()),
        (Err(err), _) => {
            anstream::eprintln!("{ERROR}warning:{ERROR:#} cannot save the request: {err}")
        }
    }
}

fn json_lines(scheme: Scheme, outcome: &Outcome<'_>) -> Vec<Value> {
    match outcome {
        Outcome::Accepted(events) | Outcome::Duplicate(events) => {
            let status = if matches!(outcome, Outcome::Accepted(_)) {
                "accepted"
            } else {
                "duplicate"
            };
            events
                .iter()
                .map(|event| {
                    json!({
                        "status": status,
                        "scheme": scheme.id(),
                        "type": event.kind,
                        "id": event.id,
                        "time": event.time.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                        "event": event.json,
                    })
                })
                .collect()
        }
        Outcome::Rejected {
            rejection,
            message,
            diagnosis,
        } => {
            let mut line = json!({
                "status": "rejected",
                "scheme": scheme.id(),
                "http_status": rejection.status().as_u16(),
                "code": rejection.code(),
                "error": message,
                "findings": diagnosis
                    .map(|d| d.findings.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .unwrap_or_default(),
            });
            if let Some(skipped) = diagnosis.and_then(|d| d.skipped) {
                line["not_diagnosed"] = json!(skipped.to_string());
            }
            vec![line]
        }
    }
}

/// `key=value` pairs of an event's fields, envelope keys left out, long values cut.
fn details(event: &Value) -> String {
    const ENVELOPE: [&str; 8] = [
        "id",
        "createdAt",
        "created_at",
        "type",
        "time",
        "ev",
        "event",
        "timestamp",
    ];
    let fields = match event.get("data").and_then(Value::as_object) {
        Some(data) => data,
        None => match event.as_object() {
            Some(object) => object,
            None => return String::new(),
        },
    };
    fields
        .iter()
        .filter(|(key, _)| !ENVELOPE.contains(&key.as_str()))
        .take(8)
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let short: String = text.chars().take(48).collect();
            let cut = if short.len() < text.len() { "…" } else { "" };
            format!("{key}={short}{cut}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

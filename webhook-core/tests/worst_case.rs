//! Issue 17.5: the worst case of every parser, in bounded time.
//!
//! Each sender's parser gets the bodies that make a parser do the most work per byte:
//! an event with very many distinct unknown keys, the same unknown key repeated, a
//! value nested as deep as JSON allows, the most events that fit, and strings made of
//! escapes. Each body is 1 MiB (the receivers' smallest default limit above the
//! one-event senders' 64 KiB; the Stalwart limit is larger, and the work per byte is
//! what matters). Every body must be answered, `Ok` or a typed error, within
//! [`DEADLINE`]: linear parsers take tens of milliseconds for each here, even in a
//! debug build, while the quadratic Mailtrap form parser this replaced needed
//! minutes for the 120 000 keys of one such body. The deadline is a bound that only
//! super-linear work can cross, not a performance target (those are benchmarks).

use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use webhook_core::{
    MediaType, ParseContext, ParseError, parse_unverified,
    senders::{
        email_api::EmailApiPayload,
        mailtrap::MailtrapBatch,
        stalwart::WebhookEvents,
        standard_webhooks::{StandardEvent, StandardWebhook},
        wildduck::WildDuckPayload,
    },
};

const BODY: usize = 1 << 20;
const DEADLINE: Duration = Duration::from_secs(30);

/// One parser: how to frame a body of it from the fields of one event.
struct Parser {
    name: &'static str,
    media_type: MediaType,
    /// Required fields of one event, as `key=value` pairs written by `frame`.
    fields: &'static [(&'static str, &'static str)],
    /// Wraps event bodies (objects, or form pairs) into one request body.
    batch: fn(&[String]) -> String,
    /// Whether the format holds more than one event per request.
    batched: bool,
    parse: fn(&[u8], MediaType) -> Result<usize, ParseError>,
}

fn json_events(events: &[String]) -> String {
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

fn json_lines(events: &[String]) -> String {
    events.join("\n")
}

fn single(events: &[String]) -> String {
    events.join("")
}

fn context(media_type: MediaType) -> ParseContext<'static> {
    ParseContext {
        media_type,
        message_id: Some("msg_1"),
        signed_at: Some(1_700_000_000),
    }
}

const STALWART: &[(&str, &str)] = &[
    ("id", r#""1""#),
    ("createdAt", r#""2025-08-21T14:01:40Z""#),
    ("type", r#""auth.success""#),
    ("data", "{}"),
];
const EMAIL_API: &[(&str, &str)] = &[
    ("id", r#""evt_1""#),
    ("type", r#""delivered""#),
    ("created_at", r#""2024-01-15T10:30:05Z""#),
    ("data", "{}"),
];
const MAILTRAP: &[(&str, &str)] = &[
    ("event", r#""delivery""#),
    ("timestamp", "1728669700"),
    ("message_id", r#""m1""#),
    ("email", r#""user@example.com""#),
    ("event_id", r#""e1""#),
];
const WILDDUCK: &[(&str, &str)] = &[
    ("id", r#""6561f0c2a1b2c3d4e5f60718:1""#),
    ("time", "1700000000000"),
    ("ev", r#""mailbox.created""#),
    ("user", r#""6561f0c2a1b2c3d4e5f60719""#),
];
const STANDARD: &[(&str, &str)] = &[
    ("type", r#""email.bounced""#),
    ("timestamp", r#""2022-11-03T20:26:10Z""#),
    ("data", "{}"),
];

fn parsers() -> Vec<Parser> {
    vec![
        Parser {
            name: "stalwart",
            media_type: MediaType::Json,
            fields: STALWART,
            batch: json_events,
            batched: true,
            parse: |body, media| {
                parse_unverified::<WebhookEvents>(body, context(media)).map(|b| b.len())
            },
        },
        Parser {
            name: "email-api",
            media_type: MediaType::Json,
            fields: EMAIL_API,
            batch: single,
            batched: false,
            parse: |body, media| {
                parse_unverified::<EmailApiPayload>(body, context(media)).map(|_| 1)
            },
        },
        Parser {
            name: "mailtrap json",
            media_type: MediaType::Json,
            fields: MAILTRAP,
            batch: json_events,
            batched: true,
            parse: |body, media| {
                parse_unverified::<MailtrapBatch>(body, context(media)).map(|b| b.len())
            },
        },
        Parser {
            name: "mailtrap json lines",
            media_type: MediaType::JsonLines,
            fields: MAILTRAP,
            batch: json_lines,
            batched: true,
            parse: |body, media| {
                parse_unverified::<MailtrapBatch>(body, context(media)).map(|b| b.len())
            },
        },
        Parser {
            name: "wildduck",
            media_type: MediaType::Json,
            fields: WILDDUCK,
            batch: single,
            batched: false,
            parse: |body, media| {
                parse_unverified::<WildDuckPayload>(body, context(media)).map(|_| 1)
            },
        },
        Parser {
            name: "standard webhooks",
            media_type: MediaType::Json,
            fields: STANDARD,
            batch: single,
            batched: false,
            parse: |body, media| {
                parse_unverified::<StandardWebhook<StandardEvent<'static>>>(body, context(media))
                    .map(|_| 1)
            },
        },
    ]
}

/// One JSON event object: the required fields, then `extra` (already JSON members).
fn object(fields: &[(&str, &str)], extra: &str) -> String {
    let mut out = String::from("{");
    for (key, value) in fields {
        write!(out, r#""{key}":{value},"#).unwrap();
    }
    out.push_str(extra);
    out.trim_end_matches(',').to_owned() + "}"
}

/// Members `"k0":0,"k1":0,…` filling about `bytes`.
fn distinct_members(bytes: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    while out.len() < bytes {
        write!(out, r#""k{n}":0,"#).unwrap();
        n += 1;
    }
    out
}

fn repeated_members(bytes: usize) -> String {
    r#""k":0,"#.repeat(bytes / 6)
}

/// `"data":[[[…0…]]]` as deep as serde_json reads (127 levels: deeper is its typed
/// recursion error), repeated in sibling keys to fill `bytes`.
fn deep_members(bytes: usize) -> String {
    let one = format!("{}0{}", "[".repeat(126), "]".repeat(126));
    let mut out = String::new();
    let mut n = 0;
    while out.len() < bytes {
        write!(out, r#""d{n}":{one},"#).unwrap();
        n += 1;
    }
    out
}

fn escaped_members(bytes: usize) -> String {
    format!(r#""s":"{}","#, r"\u00e9\n".repeat(bytes / 8))
}

/// Every hostile shape of `parser`, each about [`BODY`] bytes.
fn bodies(parser: &Parser) -> Vec<(&'static str, String)> {
    let room = BODY - 512;
    let one = |extra: String| (parser.batch)(&[object(parser.fields, &extra)]);
    let mut out = vec![
        ("distinct unknown keys", one(distinct_members(room))),
        ("repeated unknown key", one(repeated_members(room))),
        ("nesting at the depth limit", one(deep_members(room))),
        ("escaped string", one(escaped_members(room))),
    ];
    if parser.batched {
        let event = object(parser.fields, "");
        let events = vec![event.clone(); room / (event.len() + 1)];
        out.push(("most events that fit", (parser.batch)(&events)));
    }
    out
}

/// Parses on another thread, so that a parser that never finishes fails the test at
/// the deadline instead of hanging it.
fn within_deadline(
    name: String,
    body: Vec<u8>,
    run: impl FnOnce(&[u8]) -> Result<usize, ParseError> + Send + 'static,
) -> Result<usize, ParseError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(run(&body)).ok());
    match rx.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: not parsed within {DEADLINE:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: the parser panicked"),
    }
}

#[test]
fn every_json_parser_answers_its_worst_bodies_in_bounded_time() {
    for parser in parsers() {
        for (shape, body) in bodies(&parser) {
            assert!(
                body.len() <= BODY,
                "{}: {shape}: {} bytes",
                parser.name,
                body.len()
            );
            let (parse, media_type) = (parser.parse, parser.media_type);
            let name = format!("{} / {shape}", parser.name);
            let result = within_deadline(name.clone(), body.into_bytes(), move |body| {
                parse(body, media_type)
            });
            // Which shapes a sender refuses is each parser's own business (its tests
            // say why); here a refusal must be a typed error, and a batch of minimal
            // events must be read whole.
            if shape == "most events that fit" {
                assert!(
                    result.as_ref().is_ok_and(|n| *n > 1000),
                    "{name}: {result:?}"
                );
            }
        }
    }
}

#[test]
fn the_mailtrap_form_parser_answers_its_worst_bodies_in_bounded_time() {
    let required =
        "event=delivery&timestamp=1728669700&message_id=m1&email=u%40example.com&event_id=e1";
    let mut distinct = String::from(required);
    let mut n = 0;
    while distinct.len() < BODY - 16 {
        write!(distinct, "&k{n}=0").unwrap();
        n += 1;
    }
    let repeated = format!("{required}{}", "&k=0".repeat((BODY - required.len()) / 4));
    let escaped = format!(
        "{required}&s={}",
        "%C3%A9".repeat((BODY - required.len()) / 6 - 1)
    );
    for (shape, body, keys) in [
        ("distinct unknown keys", distinct, Some(n)),
        ("repeated unknown key", repeated, None),
        ("escaped value", escaped, Some(1)),
    ] {
        assert!(body.len() <= BODY, "{shape}: {} bytes", body.len());
        let name = format!("mailtrap form / {shape}");
        let result = within_deadline(name.clone(), body.into_bytes(), |body| {
            let batch = parse_unverified::<MailtrapBatch>(
                body,
                ParseContext::new(MediaType::FormUrlEncoded),
            )?;
            Ok(batch
                .iter()
                .next()
                .and_then(|event| event.as_sending())
                .map_or(0, |event| event.unknown.len()))
        });
        match keys {
            Some(keys) => assert_eq!(result.ok(), Some(keys), "{name}"),
            // A form carries each field once.
            None => assert!(
                matches!(result, Err(ParseError::InvalidForm { .. })),
                "{name}: {result:?}"
            ),
        }
    }
}

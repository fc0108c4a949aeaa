//! The typed formats over real loopback HTTP: email-API, Mailtrap (JSON, JSON Lines,
//! form data) and WildDuck requests are accepted by webhook-core's verifier with the
//! sender's own authentication scheme, and their bodies parse with webhook-core's
//! models into the events sent; ids stay the same across retries; events an endpoint's
//! filter or subscription does not want are never sent and are counted.

mod common;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, SystemTime},
};

use chrono::DateTime;
use common::{Fault, Receiver};
use webhook_core::{
    Credentials, MediaType, ParseContext, Scheme, Secret, UrlToken, Verifier,
    events::parse_unverified,
    filter::{EventFilter, FilterPolicy},
    senders::{
        email_api,
        email_api::{BounceCode, BounceType, EmailApiEventType, EmailApiPayload, EmailData},
        mailtrap,
        mailtrap::{EventKind, MailtrapBatch, MailtrapEvent, SendingStream},
        stalwart::{DataMap, Key, Value, WebhookEvents},
        wildduck::{WildDuckEventType, WildDuckPayload},
    },
};
use webhook_sender::{
    DeliveryOutcome, DeliveryPolicy, EmailApiItem, Endpoint, HeaderNames, IdGenerator, IdStyle,
    MailtrapEncoding, MailtrapItem, Retry, Schedule, Sender, StalwartEvent, StalwartFormat, Stats,
    Status, TokioClock, WildDuckFormat, WildDuckItem,
};

const EMAIL_SECRET: &str = "your-webhook-secret";
const MAILTRAP_SECRET: &str = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
const USER: &str = "6561f0c2a1b2c3d4e5f60719";

/// `policy` with test-sized times and, instead of minutes-long waits, retries after
/// 10 ms.
fn fast(policy: DeliveryPolicy) -> DeliveryPolicy {
    let mut policy = policy
        .with_throttle(Duration::ZERO)
        .with_timeout(Some(Duration::from_secs(10)));
    policy.retry = Retry::Schedule(Schedule::fixed([Duration::from_millis(10); 3]));
    policy
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------
// Email API
// ---------------------------------------------------------------------------------

fn email_items() -> Vec<EmailApiItem> {
    let mut delivered = EmailData::new(
        "msg_abc123".into(),
        "sender@yourdomain.com".into(),
        "recipient@example.com".into(),
    );
    delivered.subject = Some("Héllo \"there\" ✓\n<b>/</b>".into());
    delivered.delivered_at = Some(DateTime::from_timestamp(1_705_314_605, 0).unwrap());
    let mut bounced = EmailData::new(
        "msg_abc124".into(),
        "sender@yourdomain.com".into(),
        "invalid@example.com".into(),
    );
    bounced.bounce_type = Some(BounceType::Hard);
    bounced.bounce_code = Some(BounceCode::Text("550".into()));
    bounced.bounce_message = Some("User unknown".into());
    let custom = EmailData::new(
        "msg_abc125".into(),
        "sender@yourdomain.com".into(),
        "x@example.com".into(),
    );
    vec![
        // Explicit id and time.
        EmailApiItem::new(EmailApiEventType::Delivered, delivered)
            .id("evt_xyz789")
            .created_at(DateTime::from_timestamp(1_705_314_605, 0).unwrap()),
        // Stamped at submit.
        EmailApiItem::new(EmailApiEventType::Bounced, bounced),
        EmailApiItem::new(EmailApiEventType::from_name("custom.scored"), custom),
    ]
}

#[tokio::test]
async fn email_api_round_trip_signed_sha256_hex_and_parsed_back() {
    for names in [HeaderNames::Current, HeaderNames::Alternate] {
        let verifier = Verifier::builder(Scheme::EmailApi)
            .secret(Secret::new(EMAIL_SECRET))
            .build()
            .unwrap();
        let receiver = Receiver::start(verifier).await;
        let endpoint = Endpoint::new(Scheme::EmailApi, &receiver.url("/webhooks/email"))
            .unwrap()
            .no_proxy()
            .secret(Secret::new(EMAIL_SECRET))
            .unwrap()
            .header_names(names);
        let sender = Sender::email_api(endpoint)
            .policy(fast(DeliveryPolicy::email_api()).with_max_in_flight(1))
            .build()
            .unwrap();
        let items = email_items();
        let tickets: Vec<_> = items
            .iter()
            .map(|item| sender.send(item.clone()).unwrap())
            .collect();
        let log = sender.log().clone();
        let stats = sender.close().await;
        assert_eq!((stats.delivered, stats.requests), (3, 3), "{stats:?}");

        let received = receiver.received();
        assert_eq!(received.len(), 3);
        let header = match names {
            HeaderNames::Current => email_api::SIGNATURE_HEADER,
            _ => email_api::GITHUB_SIGNATURE_HEADER,
        };
        for ((request, item), ticket) in received.iter().zip(&items).zip(&tickets) {
            assert_eq!(request.verified, Ok(()));
            assert_eq!(request.headers["content-type"], "application/json");
            let signature = request.headers[header].to_str().unwrap();
            let hex = signature.strip_prefix("sha256=").unwrap();
            assert!(is_lower_hex(hex, 64), "{signature}");
            assert_eq!(
                signature,
                email_api::sign(&Secret::new(EMAIL_SECRET), &request.body)
            );

            let event: EmailApiPayload<'static> =
                parse_unverified(&request.body, ParseContext::new(MediaType::Json)).unwrap();
            // Keys in the documented order, compact.
            let text = std::str::from_utf8(&request.body).unwrap();
            assert!(text.starts_with(r#"{"id":""#), "{text}");
            let type_at = text.find(r#","type":"#).unwrap();
            let created_at = text.find(r#","created_at":"#).unwrap();
            let data_at = text.find(r#","data":{"email_id":"#).unwrap();
            assert!(type_at < created_at && created_at < data_at, "{text}");
            assert!(!text.contains(": ") && !text.contains('\n'), "{text}");

            // The same event, stamped fields aside.
            let record = log.get(*ticket).unwrap();
            assert_eq!(record.attempts[0].wire_id.as_deref(), Some(&*event.id));
            let mut expected = item.event().clone();
            if item.is_stamped() {
                assert_eq!(event, expected);
            } else {
                assert!(event.id.starts_with("evt_") && event.id.len() == 28);
                assert_eq!(event.created_at.timestamp_subsec_nanos(), 0);
                let age = SystemTime::now()
                    .duration_since(SystemTime::from(event.created_at))
                    .unwrap();
                assert!(age < Duration::from_secs(60), "{age:?}");
                expected.id = event.id.clone();
                expected.created_at = event.created_at;
                assert_eq!(event, expected);
            }
        }
        assert!(
            std::str::from_utf8(&received[0].body)
                .unwrap()
                .contains(r#""subject":"Héllo \"there\" ✓\n<b>/</b>""#)
        );
    }
}

#[tokio::test]
async fn email_api_retry_resends_the_same_id_and_bytes() {
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new(EMAIL_SECRET))
        .build()
        .unwrap();
    let receiver = Receiver::start(verifier).await;
    receiver.faults([Fault::Status(500), Fault::Status(503)]);
    let endpoint = Endpoint::new(Scheme::EmailApi, &receiver.url("/h"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new(EMAIL_SECRET))
        .unwrap();
    let sender = Sender::email_api(endpoint)
        .policy(fast(DeliveryPolicy::email_api()))
        .build()
        .unwrap();
    let ticket = sender.send(email_items().remove(1)).unwrap();
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert_eq!((stats.delivered, stats.requests), (1, 3), "{stats:?}");
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 503, 200]
    );
    assert!(received.iter().all(|r| r.body == received[0].body));
    assert!(received.iter().all(|r| r.verified.is_ok()));
    let wire_ids: HashSet<_> = log
        .get(ticket)
        .unwrap()
        .attempts
        .iter()
        .map(|a| a.wire_id.clone().unwrap())
        .collect();
    assert_eq!(wire_ids.len(), 1);
}

// ---------------------------------------------------------------------------------
// Mailtrap
// ---------------------------------------------------------------------------------

fn mailtrap_item(n: usize) -> MailtrapItem {
    let kinds = [
        EventKind::Delivery,
        EventKind::Open,
        EventKind::Click,
        EventKind::SoftBounce,
        EventKind::from_name("future kind"),
    ];
    let mut item = MailtrapItem::new(
        kinds[n % kinds.len()].clone(),
        format!("00000000-0000-4000-8000-{n:012}"),
        format!("rcpt{n}@example.com"),
    )
    .timestamp(DateTime::from_timestamp(1_716_070_000 + n as i64, 0).unwrap());
    let event = item.sending_mut().unwrap();
    event.sending_stream = Some(SendingStream::Transactional);
    event.sending_domain_name = Some("example.com".into());
    event.category = Some(format!("cat ✓ & {n}").into());
    if n % 5 == 2 {
        event.url = Some("https://example.com/a?b=c&d=e".into());
    }
    if n % 5 == 3 {
        event.response_code = Some(421);
        event.response = Some("try later".into());
    }
    item
}

fn mailtrap_verifier() -> Verifier {
    Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new(MAILTRAP_SECRET))
        .build()
        .unwrap()
}

/// Sends `items` with `encoding` through a fresh receiver; returns what it received.
async fn mailtrap_send(encoding: MailtrapEncoding, items: &[MailtrapItem]) -> (Receiver, Stats) {
    let receiver = Receiver::start(mailtrap_verifier()).await;
    let endpoint = Endpoint::new(Scheme::Mailtrap, &receiver.url("/webhooks/mailtrap"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new(MAILTRAP_SECRET))
        .unwrap();
    let sender = Sender::mailtrap(endpoint, encoding)
        .policy(fast(DeliveryPolicy::mailtrap()))
        .build()
        .unwrap();
    // Submitted before the engine runs: batched as one backlog.
    for item in items {
        sender.send(item.clone()).unwrap();
    }
    let stats = sender.close().await;
    (receiver, stats)
}

fn media_type(encoding: MailtrapEncoding) -> MediaType {
    match encoding {
        MailtrapEncoding::Json => MediaType::Json,
        MailtrapEncoding::JsonLines => MediaType::JsonLines,
        _ => MediaType::FormUrlEncoded,
    }
}

/// Checks every request is signed and parses back, and that the events received are
/// the events sent (with their stamped `event_id`s unique UUIDs); returns the batch
/// sizes.
fn check_mailtrap(
    receiver: &Receiver,
    encoding: MailtrapEncoding,
    items: &[MailtrapItem],
) -> Vec<usize> {
    let mut expected: HashMap<String, MailtrapEvent<'static>> = items
        .iter()
        .map(|item| {
            let event = item.event().clone();
            let MailtrapEvent::Sending(sending) = &event else {
                unreachable!()
            };
            (sending.message_id.to_string(), event)
        })
        .collect();
    let mut event_ids = HashSet::new();
    let mut sizes = Vec::new();
    for request in receiver.received() {
        assert_eq!(request.verified, Ok(()));
        assert_eq!(request.headers["content-type"], encoding.content_type());
        let signature = request.headers[mailtrap::SIGNATURE_HEADER]
            .to_str()
            .unwrap();
        assert!(is_lower_hex(signature, 64), "{signature}");
        assert_eq!(
            signature,
            mailtrap::sign(&Secret::new(MAILTRAP_SECRET), &request.body)
        );
        let batch: MailtrapBatch<'static> =
            parse_unverified(&request.body, ParseContext::new(media_type(encoding))).unwrap();
        sizes.push(batch.len());
        for event in batch {
            let MailtrapEvent::Sending(mut got) = event else {
                panic!("not a sending event")
            };
            let id = std::mem::take(&mut got.event_id).into_owned();
            assert!(
                id.len() == 36 && &id[14..15] == "4" && event_ids.insert(id.clone()),
                "{id}"
            );
            let want = expected
                .remove(&*got.message_id)
                .expect("an event sent once");
            assert_eq!(MailtrapEvent::Sending(got), want);
        }
    }
    assert!(expected.is_empty(), "{} events missing", expected.len());
    sizes.sort_unstable();
    sizes
}

#[tokio::test]
async fn mailtrap_1200_events_go_in_500_500_200_in_json_and_json_lines() {
    let items: Vec<_> = (0..1200).map(mailtrap_item).collect();
    for encoding in [MailtrapEncoding::Json, MailtrapEncoding::JsonLines] {
        let (receiver, stats) = mailtrap_send(encoding, &items).await;
        assert_eq!((stats.delivered, stats.requests), (1200, 3), "{stats:?}");
        assert_eq!(check_mailtrap(&receiver, encoding, &items), [200, 500, 500]);
        let body = &receiver.received()[0].body;
        match encoding {
            MailtrapEncoding::Json => assert!(body.starts_with(br#"{"events":[{"event":""#)),
            _ => {
                assert!(body.starts_with(br#"{"event":""#) && body.ends_with(b"}\n"));
                assert!(!body.starts_with(b"["));
            }
        }
    }
}

#[tokio::test]
async fn mailtrap_form_data_one_event_per_request() {
    let items: Vec<_> = (0..5).map(mailtrap_item).collect();
    let (receiver, stats) = mailtrap_send(MailtrapEncoding::Form, &items).await;
    assert_eq!((stats.delivered, stats.requests), (5, 5), "{stats:?}");
    assert_eq!(
        check_mailtrap(&receiver, MailtrapEncoding::Form, &items),
        [1; 5]
    );
    let body = std::str::from_utf8(&receiver.received()[0].body)
        .unwrap()
        .to_owned();
    assert!(body.starts_with("event="), "{body}");
    assert!(body.contains("&category=cat+%E2%9C%93+%26+"), "{body}");
}

#[tokio::test]
async fn mailtrap_retry_keeps_event_ids_and_legacy_header_verifies() {
    let receiver = Receiver::start(mailtrap_verifier()).await;
    // Mailtrap's rule: anything but 200 is a failure, 204 included.
    receiver.faults([Fault::Status(204)]);
    let endpoint = Endpoint::new(Scheme::Mailtrap, &receiver.url("/m"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new(MAILTRAP_SECRET))
        .unwrap()
        .header_names(HeaderNames::Alternate);
    let sender = Sender::mailtrap(endpoint, MailtrapEncoding::Json)
        .policy(fast(DeliveryPolicy::mailtrap()))
        .build()
        .unwrap();
    for n in 0..3 {
        sender.send(mailtrap_item(n)).unwrap();
    }
    let stats = sender.close().await;
    assert_eq!((stats.delivered, stats.requests), (3, 2), "{stats:?}");
    let received = receiver.received();
    assert_eq!(received[0].answered, 204);
    assert_eq!(received[0].body, received[1].body);
    assert!(received.iter().all(|r| r.verified.is_ok()
        && r.headers.contains_key(mailtrap::LEGACY_SIGNATURE_HEADER)
        && !r.headers.contains_key(mailtrap::SIGNATURE_HEADER)));
}

// ---------------------------------------------------------------------------------
// WildDuck
// ---------------------------------------------------------------------------------

fn wildduck_items() -> Vec<(WildDuckItem, bool)> {
    let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
    let mut created = WildDuckItem::new(WildDuckEventType::MailboxCreated, Some(USER))
        .id("6561f0c2a1b2c3d4e5f60718:1")
        .time(at);
    created.event_mut().mailbox = Some("6561f0c2a1b2c3d4e5f6071a".into());
    created.event_mut().path = Some("Archive/2024 ✓".into());
    let mut renamed = WildDuckItem::new(WildDuckEventType::MailboxRenamed, Some(USER)).time(at);
    renamed.event_mut().mailbox = Some("6561f0c2a1b2c3d4e5f6071a".into());
    renamed.event_mut().previous = Some("Archive/2024 ✓".into());
    renamed.event_mut().current = Some("Archive/old".into());
    let mut dkim = WildDuckItem::new(WildDuckEventType::DkimCreated, None).time(at);
    dkim.event_mut().domain = Some("example.com".into());
    dkim.event_mut().selector = Some("s1".into());
    let mut other = WildDuckItem::new(
        WildDuckEventType::MailboxDeleted,
        Some("0000000000000000000000aa"),
    );
    other.event_mut().path = Some("Junk".into());
    vec![
        (created, true),
        (
            WildDuckItem::new(WildDuckEventType::UserCreated, Some(USER)),
            false,
        ),
        (renamed, true),
        // Another user's mailbox: not for this subscription.
        (other, false),
        // Server-wide, but `dkim.*` is not subscribed to.
        (dkim, false),
    ]
}

/// Sends the items to a `mailbox.*` subscription of `USER` and checks that exactly the
/// matching ones arrive, parsed back as sent, and the others are counted as filtered.
async fn wildduck_round_trip(
    verifier: Verifier,
    url: impl FnOnce(&Receiver) -> String,
) -> Receiver {
    let receiver = Receiver::start(verifier).await;
    let endpoint = Endpoint::new(Scheme::WildDuck, &url(&receiver))
        .unwrap()
        .no_proxy();
    let format = WildDuckFormat::subscribe(["mailbox.*"], Some(USER)).unwrap();
    let sender = Sender::wildduck(endpoint, format)
        .policy(fast(DeliveryPolicy::wildduck()))
        .build()
        .unwrap();
    let mut outcomes = sender.subscribe();
    let items = wildduck_items();
    let tickets: Vec<_> = items
        .iter()
        .map(|(item, _)| sender.send(item.clone()).unwrap())
        .collect();
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert_eq!(
        (
            stats.submitted,
            stats.delivered,
            stats.filtered,
            stats.requests
        ),
        (5, 2, 3, 2),
        "{stats:?}"
    );
    assert_eq!(stats.pending(), 0);
    let mut filtered = Vec::new();
    while let Some(outcome) = outcomes.recv().await {
        if let DeliveryOutcome::Filtered { ticket } = outcome {
            filtered.push(ticket);
        }
    }
    let expected_filtered: Vec<_> = items
        .iter()
        .zip(&tickets)
        .filter(|((_, wanted), _)| !wanted)
        .map(|(_, ticket)| *ticket)
        .collect();
    assert_eq!(filtered, expected_filtered);
    for ticket in &expected_filtered {
        let record = log.get(*ticket).unwrap();
        assert_eq!(record.status, Status::Filtered);
        assert!(record.attempts.is_empty());
    }

    let received = receiver.received();
    let sent: Vec<_> = items.iter().filter(|(_, wanted)| *wanted).collect();
    assert_eq!(received.len(), sent.len());
    for (request, (item, _)) in received.iter().zip(sent) {
        assert_eq!(request.verified, Ok(()));
        assert!(request.headers.get("x-signature").is_none());
        let event: WildDuckPayload<'static> =
            parse_unverified(&request.body, ParseContext::new(MediaType::Json)).unwrap();
        let mut expected = item.event().clone();
        if expected.id.is_empty() {
            let (object_id, n) = event.id.split_once(':').unwrap();
            assert!(is_lower_hex(object_id, 24) && n == "1", "{}", event.id);
            expected.id = event.id.clone();
        }
        assert_eq!(event, expected);
        let text = std::str::from_utf8(&request.body).unwrap();
        assert!(
            text.starts_with(r#"{"id":""#)
                && text.contains(r#"","time":1700000000123,"ev":"mailbox."#),
            "{text}"
        );
    }
    receiver
}

#[tokio::test]
async fn wildduck_round_trip_basic_auth_from_url_and_subscription_filter() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .credentials(Credentials::basic("hook", Secret::new("p@ss")))
        .build()
        .unwrap();
    let receiver =
        wildduck_round_trip(verifier, |r| r.url_with_userinfo("hook:p%40ss", "/wd")).await;
    assert!(
        receiver.received()[0].headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
}

#[tokio::test]
async fn wildduck_round_trip_url_token() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .url_token(UrlToken::new("token", Secret::new("t0ken")))
        .build()
        .unwrap();
    let receiver = wildduck_round_trip(verifier, |r| r.url("/wd?token=t0ken")).await;
    assert!(
        receiver.received()[0]
            .headers
            .get("authorization")
            .is_none()
    );
}

#[tokio::test]
async fn wildduck_prefix_subscriptions_documented_and_compat() {
    // `address.user.*`: the documented meaning delivers `address.user.created`;
    // WildDuck's own matcher never does. `address.*` delivers under both.
    let cases = [
        (vec!["address.user.*"], false, 1),
        (vec!["address.user.*"], true, 0),
        (vec!["address.*"], true, 1),
        (vec!["*"], true, 1),
    ];
    for (types, compat, delivered) in cases {
        let verifier = Verifier::builder(Scheme::WildDuck)
            .url_token(UrlToken::new("token", Secret::new("t")))
            .build()
            .unwrap();
        let receiver = Receiver::start(verifier).await;
        let endpoint = Endpoint::new(Scheme::WildDuck, &receiver.url("/wd?token=t"))
            .unwrap()
            .no_proxy();
        let mut format = WildDuckFormat::subscribe(&types, None).unwrap();
        if compat {
            format = format.match_mode(webhook_core::filter::MatchMode::WildDuckCompat);
        }
        let sender = Sender::wildduck(endpoint, format)
            .policy(fast(DeliveryPolicy::wildduck()))
            .build()
            .unwrap();
        let mut item = WildDuckItem::new(WildDuckEventType::AddressUserCreated, Some(USER));
        item.event_mut().value = Some("jdoe@example.org".into());
        sender.send(item).unwrap();
        let stats = sender.close().await;
        assert_eq!(
            (stats.delivered, stats.filtered),
            (delivered, 1 - delivered),
            "{types:?} compat={compat}"
        );
        assert_eq!(receiver.received().len() as u64, delivered);
    }
}

// ---------------------------------------------------------------------------------
// Stalwart event filter
// ---------------------------------------------------------------------------------

async fn stalwart_filtered(filter: EventFilter, types: &[&str]) -> (Receiver, Stats, Vec<Status>) {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap();
    let receiver = Receiver::start(verifier).await;
    let endpoint = Endpoint::new(Scheme::Stalwart, &receiver.url("/s"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new("k"))
        .unwrap();
    let format = StalwartFormat::new(IdGenerator::new(IdStyle::Counter)).with_filter(filter);
    let sender = Sender::builder(
        endpoint,
        format,
        DeliveryPolicy::stalwart().with_throttle(Duration::from_millis(5)),
    )
    .clock(TokioClock::starting_at(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_755_784_905),
    ))
    .build()
    .unwrap();
    let tickets: Vec<_> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            let mut data = DataMap::new();
            data.push(Key::Id, Value::UInt(i as u64));
            sender
                .send(
                    StalwartEvent::from_map(*ty, &data)
                        .created_at(DateTime::from_timestamp(1_755_784_900, 0).unwrap()),
                )
                .unwrap()
        })
        .collect();
    let log = sender.log().clone();
    let stats = sender.close().await;
    let statuses = tickets
        .iter()
        .map(|t| log.get(*t).unwrap().status)
        .collect();
    (receiver, stats, statuses)
}

fn received_types(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .inspect(|r| assert_eq!(r.verified, Ok(())))
        .flat_map(|r| {
            let batch: WebhookEvents<'static> =
                parse_unverified(&r.body, ParseContext::new(MediaType::Json)).unwrap();
            batch
                .iter()
                .map(|e| e.event_type().as_str().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

const TYPES: [&str; 5] = [
    "auth.success",
    "smtp.connection-start",
    "auth.failed",
    "delivery.delivered",
    "telemetry.webhook-error",
];

#[tokio::test]
async fn stalwart_include_filter_delivers_matches_and_counts_the_rest() {
    let filter =
        EventFilter::parse(FilterPolicy::Include, ["auth.*", "telemetry.webhook-error"]).unwrap();
    let (receiver, stats, statuses) = stalwart_filtered(filter, &TYPES).await;
    assert_eq!(received_types(&receiver), ["auth.success", "auth.failed"]);
    assert_eq!(
        (stats.delivered, stats.filtered, stats.requests),
        (2, 3, 1),
        "{stats:?}"
    );
    use Status::{Delivered as D, Filtered as F};
    assert_eq!(statuses, [D, F, D, F, F]);
}

#[tokio::test]
async fn stalwart_exclude_filter_drops_matches_and_counts_them() {
    let filter = EventFilter::parse(FilterPolicy::Exclude, ["smtp.*", "auth.success"]).unwrap();
    let (receiver, stats, statuses) = stalwart_filtered(filter, &TYPES).await;
    assert_eq!(
        received_types(&receiver),
        ["auth.failed", "delivery.delivered"]
    );
    assert_eq!((stats.delivered, stats.filtered), (2, 3), "{stats:?}");
    use Status::{Delivered as D, Filtered as F};
    assert_eq!(statuses, [F, F, D, D, F]);
    // Nothing lost: every submission has an outcome.
    assert_eq!(stats.pending(), 0);
    assert_eq!(stats.finished(), stats.submitted);
}

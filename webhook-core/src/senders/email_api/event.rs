//! [`EmailApiPayload`]: the one event an email-API request carries, and its parts.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

use crate::events::fields::{
    CowVisitor, FromJson, IntoStatic, Marker, Mode, Plain, Rfc3339, Seed, json_object,
    parse_borrowed, string_enum,
};
use crate::events::{BorrowedPayload, ParseContext, ParseError, Payload, expect_json};

json_object! {
    /// One email-API event: the whole body of one request.
    pub struct EmailApiPayload<'a> (EMAIL_API_PAYLOAD_FIELDS, EmailApiPayloadBuilder, "an email-API event object") {
        required {
            /// The event id (`evt_…`): stable across retries, the deduplication key.
            id: Cow<'a, str> as Plain = "id",
            /// What happened.
            event_type: EmailApiEventType<'a> as Plain = "type",
            /// When it happened (RFC 3339).
            created_at: DateTime<Utc> as Rfc3339 = "created_at",
            /// The email the event is about.
            data: EmailData<'a> as Plain = "data",
        }
        optional {}
    }
}

json_object! {
    /// The `data` of an email-API event.
    pub struct EmailData<'a> (EMAIL_DATA_FIELDS, EmailDataBuilder, "an email-API event's data object") {
        required {
            /// The email's id (`msg_…`), as returned when it was sent.
            email_id: Cow<'a, str> as Plain = "email_id",
            /// The sender address.
            from: Cow<'a, str> as Plain = "from",
            /// The recipient(s).
            to: Recipients<'a> as Plain = "to",
        }
        optional {
            /// The subject (absent from bounce events).
            subject: Cow<'a, str> as Plain = "subject",
            /// When the email was delivered (`delivered`).
            delivered_at: DateTime<Utc> as Rfc3339 = "delivered_at",
            /// Permanent or temporary failure (`bounced`).
            bounce_type: BounceType<'a> as Plain = "bounce_type",
            /// The SMTP reply code of the bounce (`bounced`).
            bounce_code: BounceCode<'a> as Plain = "bounce_code",
            /// The SMTP reply text of the bounce (`bounced`).
            bounce_message: Cow<'a, str> as Plain = "bounce_message",
        }
    }
}

string_enum! {
    /// The `type` of an email-API event.
    pub enum EmailApiEventType<'a> {
        /// `queued`: the email was added to the sending queue.
        Queued = "queued",
        /// `sending`: the email is being sent.
        Sending = "sending",
        /// `delivered`: the receiving server accepted it.
        Delivered = "delivered",
        /// `bounced`: delivery failed (see [`EmailData::bounce_type`]).
        Bounced = "bounced",
        /// `complained`: the recipient marked it as spam.
        Complained = "complained",
        /// `opened`: the recipient opened it (with open tracking).
        Opened = "opened",
        /// `clicked`: the recipient clicked a link (with click tracking).
        Clicked = "clicked",
    }
}

string_enum! {
    /// Whether a bounce is permanent.
    pub enum BounceType<'a> {
        /// `hard`: permanent (unknown user, domain does not exist): stop sending.
        Hard = "hard",
        /// `soft`: temporary (mailbox full, greylisting).
        Soft = "soft",
    }
}

/// The `to` of an email: a single address (the documented form) or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients<'a> {
    /// `"to": "a@example.com"`.
    One(Cow<'a, str>),
    /// `"to": ["a@example.com", "b@example.com"]`.
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Recipients<'a> {
    /// The addresses.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let (one, many): (Option<&Cow<'a, str>>, &[Cow<'a, str>]) = match self {
            Self::One(address) => (Some(address), &[]),
            Self::Many(addresses) => (None, addresses),
        };
        RecipientsIter {
            one,
            many: many.iter(),
        }
    }

    /// How many addresses there are.
    pub fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(addresses) => addresses.len(),
        }
    }

    /// Whether there are none (only possible with an empty array).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The owned (`'static`) form.
    pub fn into_owned(self) -> Recipients<'static> {
        match self {
            Self::One(address) => Recipients::One(address.into_static()),
            Self::Many(addresses) => Recipients::Many(addresses.into_static()),
        }
    }
}

struct RecipientsIter<'r, 'a> {
    one: Option<&'r Cow<'a, str>>,
    many: std::slice::Iter<'r, Cow<'a, str>>,
}

impl<'r> Iterator for RecipientsIter<'r, '_> {
    type Item = &'r str;

    fn next(&mut self) -> Option<&'r str> {
        match self.one.take() {
            Some(address) => Some(address),
            None => self.many.next().map(|address| &**address),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = usize::from(self.one.is_some()) + self.many.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for RecipientsIter<'_, '_> {}

impl<'a> From<&'a str> for Recipients<'a> {
    fn from(address: &'a str) -> Self {
        Self::One(Cow::Borrowed(address))
    }
}

impl Serialize for Recipients<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(address) => serializer.serialize_str(address),
            Self::Many(addresses) => addresses.serialize(serializer),
        }
    }
}

impl<'a> FromJson<'a> for Recipients<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        struct V<'a, M>(Marker<'a, M>);

        impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for V<'a, M> {
            type Value = Recipients<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address or an array of addresses")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                CowVisitor::<M>::new()
                    .visit_borrowed_str(v)
                    .map(Recipients::One)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Recipients::One(Cow::Owned(v.to_owned())))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut addresses = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(1024));
                while let Some(address) = seq.next_element_seed(Seed::<M, Cow<'a, str>>::new())? {
                    addresses.push(address);
                }
                Ok(Recipients::Many(addresses))
            }
        }

        deserializer.deserialize_any(V::<M>(std::marker::PhantomData))
    }
}

impl IntoStatic for Recipients<'_> {
    type Static = Recipients<'static>;

    fn into_static(self) -> Recipients<'static> {
        self.into_owned()
    }
}

/// A bounce's SMTP code: a string as documented (`"550"`, or an enhanced code such as
/// `"5.1.1"`), or a number, which some senders of this shape write instead. Written
/// back in the form received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceCode<'a> {
    /// `"bounce_code": "550"`.
    Text(Cow<'a, str>),
    /// `"bounce_code": 550`.
    Number(u64),
}

impl BounceCode<'_> {
    /// The three-digit SMTP reply code, when the code is one (`550`, `"550"`); `None`
    /// for enhanced status codes such as `"5.1.1"`.
    pub fn smtp_code(&self) -> Option<u16> {
        match self {
            Self::Text(text) => text.trim().parse().ok(),
            Self::Number(number) => u16::try_from(*number).ok(),
        }
        .filter(|code| (100..1000).contains(code))
    }

    /// The owned (`'static`) form.
    pub fn into_owned(self) -> BounceCode<'static> {
        match self {
            Self::Text(text) => BounceCode::Text(text.into_static()),
            Self::Number(number) => BounceCode::Number(number),
        }
    }
}

impl fmt::Display for BounceCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Number(number) => write!(f, "{number}"),
        }
    }
}

impl Serialize for BounceCode<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Number(number) => serializer.serialize_u64(*number),
        }
    }
}

impl<'a> FromJson<'a> for BounceCode<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        struct V<'a, M>(Marker<'a, M>);

        impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for V<'a, M> {
            type Value = BounceCode<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bounce code (string or non-negative integer)")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BounceCode::Text(M::keep(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BounceCode::Text(Cow::Owned(v.to_owned())))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(BounceCode::Number(v))
            }
        }

        deserializer.deserialize_any(V::<M>(std::marker::PhantomData))
    }
}

impl IntoStatic for BounceCode<'_> {
    type Static = BounceCode<'static>;

    fn into_static(self) -> BounceCode<'static> {
        self.into_owned()
    }
}

impl<'a> BorrowedPayload<'a> for EmailApiPayload<'a> {
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError> {
        expect_json(context.media_type)?;
        parse_borrowed(body)
    }
}

impl Payload for EmailApiPayload<'static> {
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        EmailApiPayload::parse_borrowed(body, context).map(EmailApiPayload::into_owned)
    }
}

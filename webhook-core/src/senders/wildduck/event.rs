//! [`WildDuckPayload`]: the one event a WildDuck request carries.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};

use crate::events::fields::{
    Builder, FromJson, IntoStatic, IsoMillis, Marker, Mode, Plain, UnixMillis, json_object,
    parse_borrowed, string_enum, visit_entries,
};
use crate::events::{BorrowedPayload, ParseContext, ParseError, Payload, RawJson, expect_json};

json_object! {
    /// One WildDuck event: the whole body of one request.
    pub struct WildDuckPayload<'a> (WILDDUCK_PAYLOAD_FIELDS, WildDuckPayloadBuilder, "a WildDuck event object") {
        required {
            /// `<24-hex ObjectId>:<n>`: one ObjectId per event, `n` counts the
            /// matching subscriptions. Stable across retries: **the deduplication
            /// key**.
            id: Cow<'a, str> as Plain = "id",
            /// When it happened (`time`, milliseconds since the Unix epoch).
            time: DateTime<Utc> as UnixMillis = "time",
            /// What happened (`ev`).
            event_type: WildDuckEventType<'a> as Plain = "ev",
        }
        optional {
            /// The user's id (24 hex); absent on server-wide events (DKIM, certificates,
            /// domain aliases, forwarded addresses, domain renames).
            user: Cow<'a, str> as Plain = "user",
            /// The new user's username (`user.created`).
            username: Cow<'a, str> as Plain = "username",
            /// The new user's name (`user.created`).
            name: Cow<'a, str> as Plain = "name",
            /// The user's main address (`user.created`), or the address's id
            /// (`address.user.*`, `address.forwarded.*`).
            address: Cow<'a, str> as Plain = "address",
            /// The e-mail address (`address.user.*`, `address.forwarded.*`).
            value: Cow<'a, str> as Plain = "value",
            /// The deletion's result object, raw (`user.delete.*`).
            result: RawJson<'a> as Plain = "result",
            /// The old domain (`address.domain.renamed`) or mailbox path
            /// (`mailbox.renamed`).
            previous: Cow<'a, str> as Plain = "previous",
            /// The new domain (`address.domain.renamed`) or mailbox path
            /// (`mailbox.renamed`).
            current: Cow<'a, str> as Plain = "current",
            /// The domain alias's id (`domainalias.*`).
            domainalias: Cow<'a, str> as Plain = "domainalias",
            /// The alias domain (`domainalias.*`).
            alias: Cow<'a, str> as Plain = "alias",
            /// The domain (`domainalias.*`, `dkim.*`).
            domain: Cow<'a, str> as Plain = "domain",
            /// The DKIM key's id (`dkim.*`).
            dkim: Cow<'a, str> as Plain = "dkim",
            /// The DKIM selector (`dkim.*`).
            selector: Cow<'a, str> as Plain = "selector",
            /// The key's or certificate's fingerprint (`dkim.*`, `cert.*`).
            fingerprint: Cow<'a, str> as Plain = "fingerprint",
            /// The certificate's id (`cert.*`).
            cert: Cow<'a, str> as Plain = "cert",
            /// The certificate's server name (`cert.*`).
            servername: Cow<'a, str> as Plain = "servername",
            /// The filter's id (`filter.*`, `forward added` with type `filter`).
            filter: Cow<'a, str> as Plain = "filter",
            /// The application-specific password's id (`asp.*`).
            asp: Cow<'a, str> as Plain = "asp",
            /// The application-specific password's description (`asp.*`).
            description: Cow<'a, str> as Plain = "description",
            /// The WebAuthn credential (`mfa.webauthn.registered`: an object;
            /// `mfa.webauthn.removed`: its id).
            credential: Credential<'a> as Plain = "credential",
            /// The mailbox's id (`mailbox.*`, `marked.*`).
            mailbox: Cow<'a, str> as Plain = "mailbox",
            /// The mailbox's path (`mailbox.created`, `mailbox.deleted`).
            path: Cow<'a, str> as Plain = "path",
            /// The message's IMAP UID (`marked.*`).
            message: u32 as Plain = "message",
            /// The message's sender (`marked.*`).
            from: MailAddress<'a> as Plain = "from",
            /// The message's `To` (`marked.*`, when present).
            to: Vec<MailAddress<'a>> as Plain = "to",
            /// The message's `Cc` (`marked.*`, when present).
            cc: Vec<MailAddress<'a>> as Plain = "cc",
            /// The message's `Bcc` (`marked.*`, when present).
            bcc: Vec<MailAddress<'a>> as Plain = "bcc",
            /// The message's `Message-ID` (`marked.*`).
            message_id: Cow<'a, str> as Plain = "messageId",
            /// The message's subject (`marked.*`).
            subject: Cow<'a, str> as Plain = "subject",
            /// The message's date (`marked.*`).
            date: DateTime<Utc> as IsoMillis = "date",
            /// What the forward goes through (`forward added`: `type`).
            forward_type: ForwardType<'a> as Plain = "type",
            /// Where it forwards to (`forward added`).
            target: Cow<'a, str> as Plain = "target",
        }
    }
}

impl WildDuckPayload<'_> {
    /// The event's ObjectId: the part of [`id`](Self::id) before `:`, the same for
    /// every subscription the event was delivered to.
    pub fn source_event_id(&self) -> Option<&str> {
        self.id.split_once(':').map(|(object_id, _)| object_id)
    }

    /// Which matching subscription this delivery is for (`n` in `<ObjectId>:<n>`,
    /// from 1).
    pub fn delivery_index(&self) -> Option<u32> {
        self.id.split_once(':')?.1.parse().ok()
    }

    /// Whether the event concerns the whole server rather than one user (it has no
    /// `user`): WildDuck delivers those to user-scoped subscriptions too.
    pub fn is_server_wide(&self) -> bool {
        self.user.is_none()
    }
}

string_enum! {
    /// The `ev` of a WildDuck event: every type WildDuck publishes (1.45.x).
    pub enum WildDuckEventType<'a> {
        /// `user.created`.
        UserCreated = "user.created",
        /// `user.password.changed`.
        UserPasswordChanged = "user.password.changed",
        /// `user.delete.started`.
        UserDeleteStarted = "user.delete.started",
        /// `user.delete.completed`.
        UserDeleteCompleted = "user.delete.completed",
        /// `user.delete.cancelled`.
        UserDeleteCancelled = "user.delete.cancelled",
        /// `address.user.created`.
        AddressUserCreated = "address.user.created",
        /// `address.user.deleted`.
        AddressUserDeleted = "address.user.deleted",
        /// `address.forwarded.created`.
        AddressForwardedCreated = "address.forwarded.created",
        /// `address.forwarded.deleted`.
        AddressForwardedDeleted = "address.forwarded.deleted",
        /// `address.domain.renamed`.
        AddressDomainRenamed = "address.domain.renamed",
        /// `domainalias.created`.
        DomainAliasCreated = "domainalias.created",
        /// `domainalias.deleted`.
        DomainAliasDeleted = "domainalias.deleted",
        /// `dkim.created`.
        DkimCreated = "dkim.created",
        /// `dkim.updated`.
        DkimUpdated = "dkim.updated",
        /// `dkim.deleted`.
        DkimDeleted = "dkim.deleted",
        /// `cert.created`.
        CertCreated = "cert.created",
        /// `cert.updated`.
        CertUpdated = "cert.updated",
        /// `cert.deleted`.
        CertDeleted = "cert.deleted",
        /// `filter.created`.
        FilterCreated = "filter.created",
        /// `filter.deleted`.
        FilterDeleted = "filter.deleted",
        /// `asp.created`.
        AspCreated = "asp.created",
        /// `asp.deleted`.
        AspDeleted = "asp.deleted",
        /// `autoreply.user.enabled`.
        AutoreplyUserEnabled = "autoreply.user.enabled",
        /// `autoreply.user.disabled`.
        AutoreplyUserDisabled = "autoreply.user.disabled",
        /// `mfa.totp.enabled`.
        MfaTotpEnabled = "mfa.totp.enabled",
        /// `mfa.totp.disabled`.
        MfaTotpDisabled = "mfa.totp.disabled",
        /// `mfa.custom.enabled`.
        MfaCustomEnabled = "mfa.custom.enabled",
        /// `mfa.custom.disabled`.
        MfaCustomDisabled = "mfa.custom.disabled",
        /// `mfa.disabled`.
        MfaDisabled = "mfa.disabled",
        /// `mfa.webauthn.registered`.
        MfaWebauthnRegistered = "mfa.webauthn.registered",
        /// `mfa.webauthn.removed`: defined by WildDuck but, through a misspelt
        /// constant, not sent by 1.45.x; parsed anyway.
        MfaWebauthnRemoved = "mfa.webauthn.removed",
        /// `mailbox.created`.
        MailboxCreated = "mailbox.created",
        /// `mailbox.deleted`.
        MailboxDeleted = "mailbox.deleted",
        /// `mailbox.renamed`.
        MailboxRenamed = "mailbox.renamed",
        /// `marked.spam`: a message was moved to Junk.
        MarkedSpam = "marked.spam",
        /// `marked.ham`: a message was moved out of Junk.
        MarkedHam = "marked.ham",
        /// `forward added` (with a space and no dot, as WildDuck spells it).
        ForwardAdded = "forward added",
    }
}

string_enum! {
    /// What a forward added by `forward added` goes through.
    pub enum ForwardType<'a> {
        /// `user`: the user's own forwarding targets.
        User = "user",
        /// `filter`: a filter's forward action.
        Filter = "filter",
    }
}

json_object! {
    /// A parsed address of a message header: `{"name","address"}`.
    pub struct MailAddress<'a> (MAIL_ADDRESS_FIELDS, MailAddressBuilder, "an address object") {
        required {}
        optional {
            /// The display name (often empty).
            name: Cow<'a, str> as Plain = "name",
            /// The e-mail address.
            address: Cow<'a, str> as Plain = "address",
        }
    }
}

json_object! {
    /// A WebAuthn credential as `mfa.webauthn.registered` sends it.
    pub struct WebAuthnCredential<'a> (WEBAUTHN_CREDENTIAL_FIELDS, WebAuthnCredentialBuilder, "a credential object") {
        required {
            /// The credential's id in WildDuck.
            id: Cow<'a, str> as Plain = "id",
        }
        optional {
            /// The authenticator's credential id, hex (`rawId`).
            raw_id: Cow<'a, str> as Plain = "rawId",
            /// The user's description.
            description: Cow<'a, str> as Plain = "description",
            /// `platform` or `cross-platform` (`authenticatorAttachment`).
            authenticator_attachment: Cow<'a, str> as Plain = "authenticatorAttachment",
        }
    }
}

/// The `credential` of a WebAuthn event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential<'a> {
    /// The credential object (`mfa.webauthn.registered`).
    Registered(WebAuthnCredential<'a>),
    /// Only its id (`mfa.webauthn.removed`).
    Id(Cow<'a, str>),
}

impl Credential<'_> {
    /// The credential's id, either way.
    pub fn id(&self) -> &str {
        match self {
            Self::Registered(credential) => &credential.id,
            Self::Id(id) => id,
        }
    }

    /// The owned (`'static`) form.
    pub fn into_owned(self) -> Credential<'static> {
        match self {
            Self::Registered(credential) => Credential::Registered(credential.into_owned()),
            Self::Id(id) => Credential::Id(id.into_static()),
        }
    }
}

impl Serialize for Credential<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Registered(credential) => credential.serialize(serializer),
            Self::Id(id) => serializer.serialize_str(id),
        }
    }
}

impl<'a> FromJson<'a> for Credential<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        struct V<'a, M>(Marker<'a, M>);

        impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for V<'a, M> {
            type Value = Credential<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a credential object or id")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Credential::Id(M::keep(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Credential::Id(Cow::Owned(v.to_owned())))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut builder = WebAuthnCredentialBuilder::new();
                visit_entries::<M, _, A>(&mut builder, &mut map)?;
                builder.finish().map(Credential::Registered)
            }
        }

        deserializer.deserialize_any(V::<M>(PhantomData))
    }
}

impl IntoStatic for Credential<'_> {
    type Static = Credential<'static>;

    fn into_static(self) -> Credential<'static> {
        self.into_owned()
    }
}

impl<'a> BorrowedPayload<'a> for WildDuckPayload<'a> {
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError> {
        expect_json(context.media_type)?;
        parse_borrowed(body)
    }
}

impl Payload for WildDuckPayload<'static> {
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        WildDuckPayload::parse_borrowed(body, context).map(WildDuckPayload::into_owned)
    }
}

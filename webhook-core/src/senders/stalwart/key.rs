//! The names of Stalwart's event data keys (`Key::as_str` in its source, 66 of them).
//!
//! The same names have been used since v0.9 (`queueName` was added later). They are
//! listed here, in the spec's order, so that typed accessors and the reference sender
//! spell them once. A key this list does not know is still kept: [`super::DataMap`] is
//! keyed by text, not by this enum.

use std::{fmt, str::FromStr};

/// A known Stalwart data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Key {
    /// `accountName`
    AccountName,
    /// `accountId`
    AccountId,
    /// `blobId`
    BlobId,
    /// `causedBy`
    CausedBy,
    /// `changeId`
    ChangeId,
    /// `code`
    Code,
    /// `collection`
    Collection,
    /// `contents`
    Contents,
    /// `details`
    Details,
    /// `dkimFail`
    DkimFail,
    /// `dkimNone`
    DkimNone,
    /// `dkimPass`
    DkimPass,
    /// `dmarcNone`
    DmarcNone,
    /// `dmarcPass`
    DmarcPass,
    /// `dmarcQuarantine`
    DmarcQuarantine,
    /// `dmarcReject`
    DmarcReject,
    /// `documentId`
    DocumentId,
    /// `domain`
    Domain,
    /// `due`
    Due,
    /// `elapsed`
    Elapsed,
    /// `expires`
    Expires,
    /// `from`
    From,
    /// `hostname`
    Hostname,
    /// `id`
    Id,
    /// `key`
    Key,
    /// `limit`
    Limit,
    /// `listenerId`
    ListenerId,
    /// `localIp`
    LocalIp,
    /// `localPort`
    LocalPort,
    /// `mailboxName`
    MailboxName,
    /// `mailboxId`
    MailboxId,
    /// `messageId`
    MessageId,
    /// `nextDsn`
    NextDsn,
    /// `nextRetry`
    NextRetry,
    /// `path`
    Path,
    /// `policy`
    Policy,
    /// `queueId`
    QueueId,
    /// `rangeFrom`
    RangeFrom,
    /// `rangeTo`
    RangeTo,
    /// `reason`
    Reason,
    /// `remoteIp`
    RemoteIp,
    /// `remotePort`
    RemotePort,
    /// `reportId`
    ReportId,
    /// `result`
    Result,
    /// `size`
    Size,
    /// `source`
    Source,
    /// `spanId`
    SpanId,
    /// `spfFail`
    SpfFail,
    /// `spfNone`
    SpfNone,
    /// `spfPass`
    SpfPass,
    /// `strict`
    Strict,
    /// `tls`
    Tls,
    /// `to`
    To,
    /// `total`
    Total,
    /// `totalFailures`
    TotalFailures,
    /// `totalSuccesses`
    TotalSuccesses,
    /// `type`
    Type,
    /// `uid`
    Uid,
    /// `uidNext`
    UidNext,
    /// `uidValidity`
    UidValidity,
    /// `url`
    Url,
    /// `validFrom`
    ValidFrom,
    /// `validTo`
    ValidTo,
    /// `value`
    Value,
    /// `version`
    Version,
    /// `queueName`
    QueueName,
}

impl Key {
    /// Every known key, in the spec's order.
    pub const ALL: [Key; 66] = [
        Key::AccountName,
        Key::AccountId,
        Key::BlobId,
        Key::CausedBy,
        Key::ChangeId,
        Key::Code,
        Key::Collection,
        Key::Contents,
        Key::Details,
        Key::DkimFail,
        Key::DkimNone,
        Key::DkimPass,
        Key::DmarcNone,
        Key::DmarcPass,
        Key::DmarcQuarantine,
        Key::DmarcReject,
        Key::DocumentId,
        Key::Domain,
        Key::Due,
        Key::Elapsed,
        Key::Expires,
        Key::From,
        Key::Hostname,
        Key::Id,
        Key::Key,
        Key::Limit,
        Key::ListenerId,
        Key::LocalIp,
        Key::LocalPort,
        Key::MailboxName,
        Key::MailboxId,
        Key::MessageId,
        Key::NextDsn,
        Key::NextRetry,
        Key::Path,
        Key::Policy,
        Key::QueueId,
        Key::RangeFrom,
        Key::RangeTo,
        Key::Reason,
        Key::RemoteIp,
        Key::RemotePort,
        Key::ReportId,
        Key::Result,
        Key::Size,
        Key::Source,
        Key::SpanId,
        Key::SpfFail,
        Key::SpfNone,
        Key::SpfPass,
        Key::Strict,
        Key::Tls,
        Key::To,
        Key::Total,
        Key::TotalFailures,
        Key::TotalSuccesses,
        Key::Type,
        Key::Uid,
        Key::UidNext,
        Key::UidValidity,
        Key::Url,
        Key::ValidFrom,
        Key::ValidTo,
        Key::Value,
        Key::Version,
        Key::QueueName,
    ];

    /// The wire name (camelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            Key::AccountName => "accountName",
            Key::AccountId => "accountId",
            Key::BlobId => "blobId",
            Key::CausedBy => "causedBy",
            Key::ChangeId => "changeId",
            Key::Code => "code",
            Key::Collection => "collection",
            Key::Contents => "contents",
            Key::Details => "details",
            Key::DkimFail => "dkimFail",
            Key::DkimNone => "dkimNone",
            Key::DkimPass => "dkimPass",
            Key::DmarcNone => "dmarcNone",
            Key::DmarcPass => "dmarcPass",
            Key::DmarcQuarantine => "dmarcQuarantine",
            Key::DmarcReject => "dmarcReject",
            Key::DocumentId => "documentId",
            Key::Domain => "domain",
            Key::Due => "due",
            Key::Elapsed => "elapsed",
            Key::Expires => "expires",
            Key::From => "from",
            Key::Hostname => "hostname",
            Key::Id => "id",
            Key::Key => "key",
            Key::Limit => "limit",
            Key::ListenerId => "listenerId",
            Key::LocalIp => "localIp",
            Key::LocalPort => "localPort",
            Key::MailboxName => "mailboxName",
            Key::MailboxId => "mailboxId",
            Key::MessageId => "messageId",
            Key::NextDsn => "nextDsn",
            Key::NextRetry => "nextRetry",
            Key::Path => "path",
            Key::Policy => "policy",
            Key::QueueId => "queueId",
            Key::RangeFrom => "rangeFrom",
            Key::RangeTo => "rangeTo",
            Key::Reason => "reason",
            Key::RemoteIp => "remoteIp",
            Key::RemotePort => "remotePort",
            Key::ReportId => "reportId",
            Key::Result => "result",
            Key::Size => "size",
            Key::Source => "source",
            Key::SpanId => "spanId",
            Key::SpfFail => "spfFail",
            Key::SpfNone => "spfNone",
            Key::SpfPass => "spfPass",
            Key::Strict => "strict",
            Key::Tls => "tls",
            Key::To => "to",
            Key::Total => "total",
            Key::TotalFailures => "totalFailures",
            Key::TotalSuccesses => "totalSuccesses",
            Key::Type => "type",
            Key::Uid => "uid",
            Key::UidNext => "uidNext",
            Key::UidValidity => "uidValidity",
            Key::Url => "url",
            Key::ValidFrom => "validFrom",
            Key::ValidTo => "validTo",
            Key::Value => "value",
            Key::Version => "version",
            Key::QueueName => "queueName",
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a known Stalwart data key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known Stalwart data key")]
pub struct UnknownKey(pub String);

impl FromStr for Key {
    type Err = UnknownKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "accountName" => Key::AccountName,
            "accountId" => Key::AccountId,
            "blobId" => Key::BlobId,
            "causedBy" => Key::CausedBy,
            "changeId" => Key::ChangeId,
            "code" => Key::Code,
            "collection" => Key::Collection,
            "contents" => Key::Contents,
            "details" => Key::Details,
            "dkimFail" => Key::DkimFail,
            "dkimNone" => Key::DkimNone,
            "dkimPass" => Key::DkimPass,
            "dmarcNone" => Key::DmarcNone,
            "dmarcPass" => Key::DmarcPass,
            "dmarcQuarantine" => Key::DmarcQuarantine,
            "dmarcReject" => Key::DmarcReject,
            "documentId" => Key::DocumentId,
            "domain" => Key::Domain,
            "due" => Key::Due,
            "elapsed" => Key::Elapsed,
            "expires" => Key::Expires,
            "from" => Key::From,
            "hostname" => Key::Hostname,
            "id" => Key::Id,
            "key" => Key::Key,
            "limit" => Key::Limit,
            "listenerId" => Key::ListenerId,
            "localIp" => Key::LocalIp,
            "localPort" => Key::LocalPort,
            "mailboxName" => Key::MailboxName,
            "mailboxId" => Key::MailboxId,
            "messageId" => Key::MessageId,
            "nextDsn" => Key::NextDsn,
            "nextRetry" => Key::NextRetry,
            "path" => Key::Path,
            "policy" => Key::Policy,
            "queueId" => Key::QueueId,
            "rangeFrom" => Key::RangeFrom,
            "rangeTo" => Key::RangeTo,
            "reason" => Key::Reason,
            "remoteIp" => Key::RemoteIp,
            "remotePort" => Key::RemotePort,
            "reportId" => Key::ReportId,
            "result" => Key::Result,
            "size" => Key::Size,
            "source" => Key::Source,
            "spanId" => Key::SpanId,
            "spfFail" => Key::SpfFail,
            "spfNone" => Key::SpfNone,
            "spfPass" => Key::SpfPass,
            "strict" => Key::Strict,
            "tls" => Key::Tls,
            "to" => Key::To,
            "total" => Key::Total,
            "totalFailures" => Key::TotalFailures,
            "totalSuccesses" => Key::TotalSuccesses,
            "type" => Key::Type,
            "uid" => Key::Uid,
            "uidNext" => Key::UidNext,
            "uidValidity" => Key::UidValidity,
            "url" => Key::Url,
            "validFrom" => Key::ValidFrom,
            "validTo" => Key::ValidTo,
            "value" => Key::Value,
            "version" => Key::Version,
            "queueName" => Key::QueueName,
            _ => return Err(UnknownKey(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for key in Key::ALL {
            assert_eq!(key.as_str().parse::<Key>().unwrap(), key);
        }
        assert!("accountname".parse::<Key>().is_err());
    }
}

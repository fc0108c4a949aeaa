//! Event type names Stalwart used to send and no longer does, each mapped to the
//! current names that replaced it.
//!
//! A receiver that was set up against an older Stalwart (or that replays stored events)
//! still meets these names, so they parse into [`LegacyEventType`] instead of
//! [`EventType::Unknown`], and [`LegacyEventType::current_equivalents`] tells a handler
//! which current events to treat them like. The table below is written by hand from
//! `shared/spec/stalwart.md` §5 ("Old (v0.8) names → current" and "Renames from v0.15.5
//! to v0.16.0"); `tests/event_types.rs` checks that it holds exactly the names the data
//! files say were removed, and that every equivalent is a current name.
//!
//! Pairings follow the spec only. Where it names no successor (`housekeeper.*`,
//! `manage.*`, every `config.*` name, all `purge.*` but `purge.auto-expunge`) the list of
//! equivalents is empty: the spec says `config.*` was "partly replaced by `registry.*`"
//! but pairs no individual name, so none is guessed (not even the look-alike
//! `config.build-error` → `registry.build-error`).

use super::{
    AuthEvent, DeliveryEvent, DnsEvent, EventType, Family, IncomingReportEvent, LimitEvent,
    MessageIngestEvent, MilterEvent, MtaHookEvent, OutgoingReportEvent, QueueEvent, ResourceEvent,
    SecurityEvent, SieveEvent, SmtpEvent, StoreEvent, TaskManagerEvent, TelemetryEvent,
};

/// Declares [`LegacyEventType`] from one row per name: variant, wire spelling, current
/// equivalents. Keeping the three side by side is what keeps them from drifting apart.
macro_rules! legacy_event_types {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident = $name:literal => [$($equivalent:expr),* $(,)?],
    )+) => {
        /// An event type name an earlier Stalwart version sent and the current one does not.
        ///
        /// Covers the v0.8 webhook names that are gone (`auth.failure`, `dsn`,
        /// `report.incoming.dmarc`, …), v0.9.0's `store.ingest`, and the 51 v0.15.5 names
        /// removed or renamed in v0.16.0 (`queue.queue-message`, `task-queue.*`,
        /// `acme.dns-record-*`, …). Each keeps its legacy spelling
        /// ([`as_str`](Self::as_str)) and knows its current equivalents.
        ///
        /// ```
        /// use webhook_core::senders::stalwart::{AuthEvent, EventType, LegacyEventType};
        ///
        /// let old = EventType::from("auth.failure");
        /// assert_eq!(old, EventType::Legacy(LegacyEventType::AuthFailure));
        /// assert_eq!(old.as_str(), "auth.failure");
        /// assert_eq!(
        ///     old.current_equivalents(),
        ///     [EventType::Auth(AuthEvent::Failed), EventType::Auth(AuthEvent::TooManyAttempts)]
        /// );
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum LegacyEventType {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl LegacyEventType {
            /// Every legacy name: the v0.8 ones, then v0.9.0's, then the v0.15.5 ones.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The legacy wire spelling, e.g. `"queue.queue-message"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The current event types that took this name's place, as the spec pairs
            /// them: one for a plain rename, several for a split, none when the event
            /// was dropped without a successor.
            pub const fn current_equivalents(self) -> &'static [EventType] {
                match self {
                    $(Self::$variant => const { &[$($equivalent),*] },)+
                }
            }

            /// The legacy name spelled exactly `name`.
            pub(crate) fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

legacy_event_types! {
    // v0.8.x dedicated webhooks (seeds/stalwart-webhooks-toml-era.md; spec §5 "Old (v0.8)
    // names → current"). `auth.success` and `auth.error` still exist and are current.

    /// `auth.failure` (v0.8): authentication failure. Now `auth.failed`, and
    /// `auth.too-many-attempts` once the attempts limit is hit.
    AuthFailure = "auth.failure" => [
        EventType::Auth(AuthEvent::Failed),
        EventType::Auth(AuthEvent::TooManyAttempts),
    ],
    /// `auth.banned` (v0.8, and v0.9.0–v0.9.2): IP banned after repeated authentication
    /// failures. Now `security.authentication-ban`; the other bans (`security.abuse-ban`,
    /// `scan-ban`, `loiter-ban`, `ip-blocked`) are related but have other causes, so
    /// they are not listed.
    AuthBanned = "auth.banned" => [EventType::Security(SecurityEvent::AuthenticationBan)],
    /// `message.accepted` (v0.8): message accepted for delivery. Now
    /// `queue.message-queued` / `queue.authenticated-message-queued` (v0.9.3–v0.15.x:
    /// `queue.queue-message` / `queue.queue-message-authenticated`).
    MessageAccepted = "message.accepted" => [
        EventType::Queue(QueueEvent::MessageQueued),
        EventType::Queue(QueueEvent::AuthenticatedMessageQueued),
    ],
    /// `message.rejected` (v0.8): message rejected. Now split by cause; these are the
    /// spec's examples, not an exhaustive list of every rejection event.
    MessageRejected = "message.rejected" => [
        EventType::Smtp(SmtpEvent::MessageParseFailed),
        EventType::Smtp(SmtpEvent::LoopDetected),
        EventType::Smtp(SmtpEvent::DkimFail),
        EventType::Smtp(SmtpEvent::ArcFail),
        EventType::Smtp(SmtpEvent::DmarcFail),
        EventType::Milter(MilterEvent::ActionReject),
        EventType::MtaHook(MtaHookEvent::ActionReject),
        EventType::Sieve(SieveEvent::ActionReject),
        EventType::Sieve(SieveEvent::ActionDiscard),
        EventType::Queue(QueueEvent::QuotaExceeded),
    ],
    /// `message.appended` (v0.8): message appended to a mailbox. Now `message-ingest.ham`
    /// / `spam` (SMTP/LMTP delivery), `imap-append` and `jmap-append`.
    MessageAppended = "message.appended" => [
        EventType::MessageIngest(MessageIngestEvent::Ham),
        EventType::MessageIngest(MessageIngestEvent::Spam),
        EventType::MessageIngest(MessageIngestEvent::ImapAppend),
        EventType::MessageIngest(MessageIngestEvent::JmapAppend),
    ],
    /// `account.over-quota` (v0.8). Now `limit.quota` (also `limit.tenant-quota` and
    /// `limit.blob-quota`).
    AccountOverQuota = "account.over-quota" => [
        EventType::Limit(LimitEvent::Quota),
        EventType::Limit(LimitEvent::TenantQuota),
        EventType::Limit(LimitEvent::BlobQuota),
    ],
    /// `dsn` (v0.8): delivery status notification. Now `delivery.dsn-success`,
    /// `delivery.dsn-temp-fail`, `delivery.dsn-perm-fail`, and `queue.dsn-queued`.
    Dsn = "dsn" => [
        EventType::Delivery(DeliveryEvent::DsnSuccess),
        EventType::Delivery(DeliveryEvent::DsnTempFail),
        EventType::Delivery(DeliveryEvent::DsnPermFail),
        EventType::Queue(QueueEvent::DsnQueued),
    ],
    /// `double-bounce` (v0.8). Renamed `delivery.double-bounce`.
    DoubleBounce = "double-bounce" => [EventType::Delivery(DeliveryEvent::DoubleBounce)],
    /// `report.incoming.dmarc` (v0.8). Renamed `incoming-report.dmarc-report` (and
    /// `…-with-warnings`).
    ReportIncomingDmarc = "report.incoming.dmarc" => [
        EventType::IncomingReport(IncomingReportEvent::DmarcReport),
        EventType::IncomingReport(IncomingReportEvent::DmarcReportWithWarnings),
    ],
    /// `report.incoming.tls` (v0.8). Renamed `incoming-report.tls-report` (and
    /// `…-with-warnings`).
    ReportIncomingTls = "report.incoming.tls" => [
        EventType::IncomingReport(IncomingReportEvent::TlsReport),
        EventType::IncomingReport(IncomingReportEvent::TlsReportWithWarnings),
    ],
    /// `report.incoming.arf` (v0.8): incoming ARF report. Now split by feedback type.
    ReportIncomingArf = "report.incoming.arf" => [
        EventType::IncomingReport(IncomingReportEvent::AbuseReport),
        EventType::IncomingReport(IncomingReportEvent::AuthFailureReport),
        EventType::IncomingReport(IncomingReportEvent::FraudReport),
        EventType::IncomingReport(IncomingReportEvent::NotSpamReport),
        EventType::IncomingReport(IncomingReportEvent::VirusReport),
        EventType::IncomingReport(IncomingReportEvent::OtherReport),
    ],
    /// `report.outgoing` (v0.8): outgoing DMARC or TLS report. Now split into the
    /// `outgoing-report.*` events that mean a report went out (the spec's examples); the
    /// family's rate-limit and error events are not equivalents.
    ReportOutgoing = "report.outgoing" => [
        EventType::OutgoingReport(OutgoingReportEvent::DmarcAggregateReport),
        EventType::OutgoingReport(OutgoingReportEvent::TlsAggregate),
        EventType::OutgoingReport(OutgoingReportEvent::SpfReport),
        EventType::OutgoingReport(OutgoingReportEvent::DkimReport),
        EventType::OutgoingReport(OutgoingReportEvent::DmarcReport),
    ],

    // v0.9.0 (spec §5, `message.appended` row).

    /// `store.ingest` (v0.9.0): message ingested. Now the `message-ingest.*` delivery and
    /// append events, as for `message.appended`.
    StoreIngest = "store.ingest" => [
        EventType::MessageIngest(MessageIngestEvent::Ham),
        EventType::MessageIngest(MessageIngestEvent::Spam),
        EventType::MessageIngest(MessageIngestEvent::ImapAppend),
        EventType::MessageIngest(MessageIngestEvent::JmapAppend),
    ],

    // v0.15.5 names removed in v0.16.0, in the order of stalwart-event-types-v0.15.5.txt
    // (spec §5 "Renames from v0.15.5 to v0.16.0").

    /// `housekeeper.start` (v0.15.5). Family removed; no successor.
    HousekeeperStart = "housekeeper.start" => [],
    /// `housekeeper.stop` (v0.15.5). Family removed; no successor.
    HousekeeperStop = "housekeeper.stop" => [],
    /// `housekeeper.schedule` (v0.15.5). Family removed; no successor.
    HousekeeperSchedule = "housekeeper.schedule" => [],
    /// `housekeeper.run` (v0.15.5). Family removed; no successor.
    HousekeeperRun = "housekeeper.run" => [],
    /// `task-queue.task-acquired` (v0.15.5). Renamed `task-manager.task-acquired`.
    TaskQueueTaskAcquired = "task-queue.task-acquired" => [
        EventType::TaskManager(TaskManagerEvent::TaskAcquired),
    ],
    /// `task-queue.task-locked` (v0.15.5). Renamed `task-manager.task-locked`.
    TaskQueueTaskLocked = "task-queue.task-locked" => [
        EventType::TaskManager(TaskManagerEvent::TaskLocked),
    ],
    /// `task-queue.task-ignored` (v0.15.5). Renamed `task-manager.task-ignored`.
    TaskQueueTaskIgnored = "task-queue.task-ignored" => [
        EventType::TaskManager(TaskManagerEvent::TaskIgnored),
    ],
    /// `task-queue.task-failed` (v0.15.5). Renamed `task-manager.task-failed`.
    TaskQueueTaskFailed = "task-queue.task-failed" => [
        EventType::TaskManager(TaskManagerEvent::TaskFailed),
    ],
    /// `task-queue.blob-not-found` (v0.15.5). Renamed `task-manager.blob-not-found`.
    TaskQueueBlobNotFound = "task-queue.blob-not-found" => [
        EventType::TaskManager(TaskManagerEvent::BlobNotFound),
    ],
    /// `task-queue.metadata-not-found` (v0.15.5). Renamed `task-manager.metadata-not-found`.
    TaskQueueMetadataNotFound = "task-queue.metadata-not-found" => [
        EventType::TaskManager(TaskManagerEvent::MetadataNotFound),
    ],
    /// `queue.queue-message` (v0.9.3–v0.15.5). Renamed `queue.message-queued`.
    QueueQueueMessage = "queue.queue-message" => [EventType::Queue(QueueEvent::MessageQueued)],
    /// `queue.queue-message-authenticated` (v0.9.3–v0.15.5). Renamed
    /// `queue.authenticated-message-queued`.
    QueueQueueMessageAuthenticated = "queue.queue-message-authenticated" => [
        EventType::Queue(QueueEvent::AuthenticatedMessageQueued),
    ],
    /// `queue.queue-report` (v0.15.5). Renamed `queue.report-queued`.
    QueueQueueReport = "queue.queue-report" => [EventType::Queue(QueueEvent::ReportQueued)],
    /// `queue.queue-dsn` (v0.15.5). Renamed `queue.dsn-queued`.
    QueueQueueDsn = "queue.queue-dsn" => [EventType::Queue(QueueEvent::DsnQueued)],
    /// `queue.queue-autogenerated` (v0.15.5). Renamed `queue.autogenerated-queued`.
    QueueQueueAutogenerated = "queue.queue-autogenerated" => [
        EventType::Queue(QueueEvent::AutogeneratedQueued),
    ],
    /// `telemetry.alert` (v0.15.5). Split into `telemetry.alert-event` and
    /// `telemetry.alert-message`.
    TelemetryAlert = "telemetry.alert" => [
        EventType::Telemetry(TelemetryEvent::AlertEvent),
        EventType::Telemetry(TelemetryEvent::AlertMessage),
    ],
    /// `acme.dns-record-created` (v0.15.5). Renamed `dns.record-created`.
    AcmeDnsRecordCreated = "acme.dns-record-created" => [
        EventType::Dns(DnsEvent::RecordCreated),
    ],
    /// `acme.dns-record-creation-failed` (v0.15.5). Renamed `dns.record-creation-failed`.
    AcmeDnsRecordCreationFailed = "acme.dns-record-creation-failed" => [
        EventType::Dns(DnsEvent::RecordCreationFailed),
    ],
    /// `acme.dns-record-deletion-failed` (v0.15.5). Renamed `dns.record-deletion-failed`.
    AcmeDnsRecordDeletionFailed = "acme.dns-record-deletion-failed" => [
        EventType::Dns(DnsEvent::RecordDeletionFailed),
    ],
    /// `acme.dns-record-not-propagated` (v0.15.5). Renamed `dns.record-not-propagated`.
    AcmeDnsRecordNotPropagated = "acme.dns-record-not-propagated" => [
        EventType::Dns(DnsEvent::RecordNotPropagated),
    ],
    /// `acme.dns-record-lookup-failed` (v0.15.5). Renamed `dns.record-lookup-failed`.
    AcmeDnsRecordLookupFailed = "acme.dns-record-lookup-failed" => [
        EventType::Dns(DnsEvent::RecordLookupFailed),
    ],
    /// `acme.dns-record-propagated` (v0.15.5). Renamed `dns.record-propagated`.
    AcmeDnsRecordPropagated = "acme.dns-record-propagated" => [
        EventType::Dns(DnsEvent::RecordPropagated),
    ],
    /// `acme.dns-record-propagation-timeout` (v0.15.5). Renamed
    /// `dns.record-propagation-timeout`.
    AcmeDnsRecordPropagationTimeout = "acme.dns-record-propagation-timeout" => [
        EventType::Dns(DnsEvent::RecordPropagationTimeout),
    ],
    /// `purge.started` (v0.15.5). Family removed; no successor.
    PurgeStarted = "purge.started" => [],
    /// `purge.finished` (v0.15.5). Family removed; no successor.
    PurgeFinished = "purge.finished" => [],
    /// `purge.running` (v0.15.5). Family removed; no successor.
    PurgeRunning = "purge.running" => [],
    /// `purge.error` (v0.15.5). Family removed; no successor.
    PurgeError = "purge.error" => [],
    /// `purge.in-progress` (v0.15.5). Family removed; no successor.
    PurgeInProgress = "purge.in-progress" => [],
    /// `purge.auto-expunge` (v0.15.5). Renamed `store.auto-expunge`.
    PurgeAutoExpunge = "purge.auto-expunge" => [EventType::Store(StoreEvent::AutoExpunge)],
    /// `purge.blob-cleanup` (v0.15.5). Family removed; no successor named by the spec.
    PurgeBlobCleanup = "purge.blob-cleanup" => [],
    /// `config.parse-error` (v0.15.5). Family removed; no successor named by the spec.
    ConfigParseError = "config.parse-error" => [],
    /// `config.build-error` (v0.15.5). Family removed; no successor named by the spec.
    ConfigBuildError = "config.build-error" => [],
    /// `config.macro-error` (v0.15.5). Family removed; no successor named by the spec.
    ConfigMacroError = "config.macro-error" => [],
    /// `config.write-error` (v0.15.5). Family removed; no successor named by the spec.
    ConfigWriteError = "config.write-error" => [],
    /// `config.fetch-error` (v0.15.5). Family removed; no successor named by the spec.
    ConfigFetchError = "config.fetch-error" => [],
    /// `config.default-applied` (v0.15.5). Family removed; no successor named by the spec.
    ConfigDefaultApplied = "config.default-applied" => [],
    /// `config.missing-setting` (v0.15.5). Family removed; no successor named by the spec.
    ConfigMissingSetting = "config.missing-setting" => [],
    /// `config.unused-setting` (v0.15.5). Family removed; no successor named by the spec.
    ConfigUnusedSetting = "config.unused-setting" => [],
    /// `config.parse-warning` (v0.15.5). Family removed; no successor named by the spec.
    ConfigParseWarning = "config.parse-warning" => [],
    /// `config.build-warning` (v0.15.5). Family removed; no successor named by the spec.
    ConfigBuildWarning = "config.build-warning" => [],
    /// `config.import-external` (v0.15.5). Family removed; no successor named by the spec.
    ConfigImportExternal = "config.import-external" => [],
    /// `config.already-up-to-date` (v0.15.5). Family removed; no successor named by the
    /// spec.
    ConfigAlreadyUpToDate = "config.already-up-to-date" => [],
    /// `message-ingest.fts-index` (v0.15.5). Renamed `message-ingest.search-index`.
    MessageIngestFtsIndex = "message-ingest.fts-index" => [
        EventType::MessageIngest(MessageIngestEvent::SearchIndex),
    ],
    /// `manage.missing-parameter` (v0.15.5). Family removed; no successor.
    ManageMissingParameter = "manage.missing-parameter" => [],
    /// `manage.already-exists` (v0.15.5). Family removed; no successor.
    ManageAlreadyExists = "manage.already-exists" => [],
    /// `manage.assert-failed` (v0.15.5). Family removed; no successor.
    ManageAssertFailed = "manage.assert-failed" => [],
    /// `manage.not-found` (v0.15.5). Family removed; no successor.
    ManageNotFound = "manage.not-found" => [],
    /// `manage.not-supported` (v0.15.5). Family removed; no successor.
    ManageNotSupported = "manage.not-supported" => [],
    /// `manage.error` (v0.15.5). Family removed; no successor.
    ManageError = "manage.error" => [],
    /// `auth.missing-totp` (v0.15.5). Renamed `auth.mfa-required`.
    AuthMissingTotp = "auth.missing-totp" => [EventType::Auth(AuthEvent::MfaRequired)],
    /// `resource.webadmin-unpacked` (v0.15.5). Renamed `resource.application-unpacked`.
    ResourceWebadminUnpacked = "resource.webadmin-unpacked" => [
        EventType::Resource(ResourceEvent::ApplicationUnpacked),
    ],
}

impl LegacyEventType {
    /// The family of the current equivalents when they all share one
    /// (`auth.failure` → [`Family::Auth`], `store.ingest` → [`Family::MessageIngest`]),
    /// `None` when they span several (`message.rejected`, `dsn`) or there are none.
    pub fn family(self) -> Option<Family> {
        let mut families = self
            .current_equivalents()
            .iter()
            .filter_map(EventType::family);
        let first = families.next()?;
        families.all(|family| family == first).then_some(first)
    }
}

impl std::fmt::Display for LegacyEventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<LegacyEventType> for EventType {
    fn from(legacy: LegacyEventType) -> Self {
        Self::Legacy(legacy)
    }
}

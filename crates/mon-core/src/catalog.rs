//! The catalog of rule-snapshot variables: one table of name, kind, unit, source and
//! meaning, from which the [`vars`] name constants are generated.
//!
//! This is the documentation of the snapshot as data and the contract between the
//! producers that publish into a [`crate::snapshot::SnapshotHub`] and the rules that read
//! it: the rule validator rejects names it does not know, dashboards take their units
//! from it, and a test in each producer checks that every variable it publishes is
//! listed here with that producer as its source.

use serde::Serialize;

/// The part of mon that fills a snapshot variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VariableSource {
    /// The host collector, every collect interval.
    Host,
    /// Derived by [`crate::snapshot::SnapshotHub::set_checks`] from the latest check results.
    Health,
    /// Computed from events applications push (requests, calls, voice quality).
    Ingest,
    /// Computed from LiveKit webhooks and the LiveKit check.
    LiveKit,
}

impl VariableSource {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VariableSource::Host => "host",
            VariableSource::Health => "health",
            VariableSource::Ingest => "ingest",
            VariableSource::LiveKit => "livekit",
        }
    }
}

/// How a variable's value moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VariableKind {
    /// A level: the value now, or over the rule window; it goes up and down.
    Gauge,
    /// A running total since mon started; it only grows while mon runs.
    Counter,
}

impl VariableKind {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VariableKind::Gauge => "gauge",
            VariableKind::Counter => "counter",
        }
    }
}

/// The unit of a variable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unit {
    /// A share from 0 to 100.
    Percent,
    /// A share from 0 to 1.
    Ratio,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Occurrences per minute.
    PerMinute,
    /// A number of things.
    Count,
    /// A load average (runnable tasks).
    Load,
    /// US dollars.
    Usd,
    /// A mean opinion score of voice quality, from 1 to 5.
    Mos,
    /// A user's rating, from 1 to 5.
    Rating,
}

impl Unit {
    /// The snake_case name used in JSON and dashboards (`percent`, `bytes_per_second`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Ratio => "ratio",
            Unit::Bytes => "bytes",
            Unit::BytesPerSecond => "bytes_per_second",
            Unit::Milliseconds => "milliseconds",
            Unit::Seconds => "seconds",
            Unit::PerMinute => "per_minute",
            Unit::Count => "count",
            Unit::Load => "load",
            Unit::Usd => "usd",
            Unit::Mos => "mos",
            Unit::Rating => "rating",
        }
    }
}

/// One documented snapshot variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VariableInfo {
    /// The name rules and dashboards use, e.g. `cpu_percent`.
    pub name: &'static str,
    /// Whether the value is a level or a running total.
    pub kind: VariableKind,
    /// The unit of the value.
    pub unit: Unit,
    /// What the value means, one sentence.
    pub description: &'static str,
    /// Who fills it.
    pub source: VariableSource,
}

/// Generates [`CATALOG`] and the [`vars`] constants from one table, so that a name, its
/// constant and its documentation cannot drift apart.
macro_rules! catalog {
    ($($konst:ident = $name:literal, $kind:ident, $unit:ident, $source:ident, $description:literal;)*) => {
        /// Names of the rule-snapshot variables, as constants shared by producers and rules.
        ///
        /// Producers publish under these names and [`CATALOG`](crate::catalog::CATALOG) documents them, so a
        /// typo is a compile error rather than a rule that silently never fires.
        pub mod vars {
            $(
                #[doc = $description]
                pub const $konst: &str = $name;
            )*
        }

        /// Every variable of the rule snapshot, grouped by source.
        ///
        /// Variables of a source that is not running are absent from the snapshot (a rule
        /// over them has no data), never zero.
        pub const CATALOG: &[VariableInfo] = &[
            $(
                VariableInfo {
                    name: $name,
                    kind: VariableKind::$kind,
                    unit: Unit::$unit,
                    description: $description,
                    source: VariableSource::$source,
                },
            )*
        ];
    };
}

// One line per variable: constant = name, kind, unit, source, description.
catalog! {
    // host collector
    CPU_PERCENT = "cpu_percent", Gauge, Percent, Host, "Host CPU usage over the last collect interval, all cores.";
    MEMORY_PERCENT = "memory_percent", Gauge, Percent, Host, "Host memory in use (total minus available) as a share of total.";
    MEMORY_USED_BYTES = "memory_used_bytes", Gauge, Bytes, Host, "Host memory in use: total minus available.";
    MEMORY_AVAILABLE_BYTES = "memory_available_bytes", Gauge, Bytes, Host, "Host memory available for new work without swapping.";
    MEMORY_TOTAL_BYTES = "memory_total_bytes", Gauge, Bytes, Host, "Host physical memory.";
    SWAP_PERCENT = "swap_percent", Gauge, Percent, Host, "Host swap in use as a share of swap size; 0 when there is no swap.";
    DISK_PERCENT = "disk_percent", Gauge, Percent, Host, "Used space of the filesystem holding the data directory (or /).";
    DISK_FREE_BYTES = "disk_free_bytes", Gauge, Bytes, Host, "Space available to unprivileged users on that filesystem.";
    DISK_TOTAL_BYTES = "disk_total_bytes", Gauge, Bytes, Host, "Size of that filesystem.";
    LOAD_AVERAGE_1M = "load_average_1m", Gauge, Load, Host, "Host load average over 1 minute (runnable tasks).";
    LOAD_AVERAGE_5M = "load_average_5m", Gauge, Load, Host, "Host load average over 5 minutes (runnable tasks).";
    LOAD_AVERAGE_15M = "load_average_15m", Gauge, Load, Host, "Host load average over 15 minutes (runnable tasks).";
    NETWORK_RX_BYTES_PER_SECOND = "network_rx_bytes_per_second", Gauge, BytesPerSecond, Host, "Bytes received per second on all non-loopback interfaces.";
    NETWORK_TX_BYTES_PER_SECOND = "network_tx_bytes_per_second", Gauge, BytesPerSecond, Host, "Bytes sent per second on all non-loopback interfaces.";
    PROCESS_CPU_PERCENT = "process_cpu_percent", Gauge, Percent, Host, "CPU used by the mon process itself, as a share of the whole machine.";
    PROCESS_RESIDENT_MEMORY_BYTES = "process_resident_memory_bytes", Gauge, Bytes, Host, "Resident memory of the mon process itself.";
    // derived from check results
    HEALTH_PERCENTAGE = "health_percentage", Gauge, Percent, Health, "Share of checks whose latest status is healthy.";
    HEALTHY_CHECKS = "healthy_checks", Gauge, Count, Health, "Number of checks whose latest status is healthy.";
    TOTAL_CHECKS = "total_checks", Gauge, Count, Health, "Number of checks with a result in the snapshot.";
    DEGRADED_CHECKS = "degraded_checks", Gauge, Count, Health, "Number of checks whose latest status is degraded.";
    UNHEALTHY_CHECKS = "unhealthy_checks", Gauge, Count, Health, "Number of checks whose latest status is unhealthy.";
    CRITICAL_UNHEALTHY_CHECKS = "critical_unhealthy_checks", Gauge, Count, Health, "Number of checks marked critical whose latest status is unhealthy.";
    // application events (filled by the ingest pipeline)
    AVG_API_LATENCY_MS = "avg_api_latency_ms", Gauge, Milliseconds, Ingest, "Mean API request latency over the rule window.";
    P95_API_LATENCY_MS = "p95_api_latency_ms", Gauge, Milliseconds, Ingest, "95th percentile API request latency over the rule window.";
    ERROR_RATE_PERCENT = "error_rate_percent", Gauge, Percent, Ingest, "Share of API requests that failed over the rule window.";
    REQUEST_RATE_PER_MIN = "request_rate_per_min", Gauge, PerMinute, Ingest, "API requests per minute over the rule window.";
    ACTIVE_CALLS = "active_calls", Gauge, Count, Ingest, "Calls in progress.";
    CALL_SUCCESS_RATE = "call_success_rate", Gauge, Ratio, Ingest, "Share of calls that ended successfully over the rule window.";
    AVG_MOS = "avg_mos", Gauge, Mos, Ingest, "Mean voice quality (mean opinion score, 1 to 5) over the rule window.";
    P50_API_LATENCY_MS = "p50_api_latency_ms", Gauge, Milliseconds, Ingest, "Median API request latency over the rule window.";
    P99_API_LATENCY_MS = "p99_api_latency_ms", Gauge, Milliseconds, Ingest, "99th percentile API request latency over the rule window.";
    SLOW_REQUESTS = "slow_requests", Gauge, Count, Ingest, "Requests over the rule window at least metrics.slow_request_threshold long.";
    TOTAL_CALLS = "total_calls", Counter, Count, Ingest, "Calls started since mon started.";
    SUCCESSFUL_CALLS = "successful_calls", Counter, Count, Ingest, "Calls that ended successfully since mon started.";
    FAILED_CALLS = "failed_calls", Counter, Count, Ingest, "Calls that ended unsuccessfully since mon started.";
    AVG_CALL_DURATION_SECONDS = "avg_call_duration_seconds", Gauge, Seconds, Ingest, "Mean duration of the calls that ended over the rule window.";
    AVG_RESPONSE_TIME_MS = "avg_response_time_ms", Gauge, Milliseconds, Ingest, "Mean AI provider response time (STT, LLM, TTS) over the rule window.";
    CALLS_PER_MINUTE = "calls_per_minute", Gauge, PerMinute, Ingest, "Calls started per minute over the rule window.";
    TOTAL_ERRORS = "total_errors", Counter, Count, Ingest, "Application errors recorded since mon started.";
    ERRORS_PER_MINUTE = "errors_per_minute", Gauge, PerMinute, Ingest, "Application errors per minute over the rule window.";
    TRACKED_ERRORS_PER_MINUTE = "tracked_errors_per_minute", Gauge, PerMinute, Ingest, "Error occurrences tracked by fingerprint in the last minute (mon's own ERROR logs and ingested errors).";
    NEW_ERROR_KINDS = "new_error_kinds", Gauge, Count, Ingest, "Error groups (fingerprints) first seen in the last 5 minutes.";
    AVG_VOICE_LATENCY_MS = "avg_voice_latency_ms", Gauge, Milliseconds, Ingest, "Mean voice latency of voice-quality events over the rule window.";
    AVG_PACKET_LOSS = "avg_packet_loss", Gauge, Ratio, Ingest, "Mean packet loss of voice-quality events over the rule window.";
    AVG_JITTER_MS = "avg_jitter_ms", Gauge, Milliseconds, Ingest, "Mean jitter of voice-quality events over the rule window.";
    AVG_AUDIO_LEVEL = "avg_audio_level", Gauge, Ratio, Ingest, "Mean speech level heard (0 to 1) of voice-quality events that carry one, over the rule window.";
    AVG_NOISE_LEVEL = "avg_noise_level", Gauge, Ratio, Ingest, "Mean background noise level (0 to 1) of voice-quality events that carry one, over the rule window.";
    // user experience (session, feedback and feature events)
    ACTIVE_SESSIONS = "active_sessions", Gauge, Count, Ingest, "User sessions in progress: started and not ended.";
    TOTAL_SESSIONS = "total_sessions", Counter, Count, Ingest, "User sessions started since mon started.";
    SESSIONS_PER_MINUTE = "sessions_per_minute", Gauge, PerMinute, Ingest, "User sessions started per minute over the rule window.";
    AVG_SESSION_DURATION_SECONDS = "avg_session_duration_seconds", Gauge, Seconds, Ingest, "Mean duration of the user sessions that ended over the rule window.";
    AVG_SESSION_TURNS = "avg_session_turns", Gauge, Count, Ingest, "Mean conversation turns of the user sessions that ended over the rule window.";
    SESSION_ABANDONMENT_RATE = "session_abandonment_rate", Gauge, Ratio, Ingest, "Share of the user sessions that ended over the rule window with the outcome abandoned.";
    AVG_RATING = "avg_rating", Gauge, Rating, Ingest, "Mean feedback rating (1 to 5) over the rule window.";
    CSAT_PERCENT = "csat_percent", Gauge, Percent, Ingest, "Customer satisfaction: share of feedback over the rule window rated 4 or 5 (or a thumbs up when unrated).";
    FEEDBACK_PER_MINUTE = "feedback_per_minute", Gauge, PerMinute, Ingest, "Feedback received per minute over the rule window.";
    FEATURE_USES_PER_MINUTE = "feature_uses_per_minute", Gauge, PerMinute, Ingest, "Uses of the agent's features per minute over the rule window, all features.";
    AI_COST_USD = "ai_cost_usd", Counter, Usd, Ingest, "AI provider cost recorded since mon started, in US dollars.";
    // security: auth and security events, principal and ip of requests (security.failed_login_window)
    FAILED_LOGINS = "failed_logins", Gauge, Count, Ingest, "Failed authentications (auth events with success false) within security.failed_login_window.";
    TOP_IP_FAILED_LOGINS = "top_ip_failed_logins", Gauge, Count, Ingest, "Failed authentications from the worst client address within security.failed_login_window.";
    TOP_PRINCIPAL_FAILED_LOGINS = "top_principal_failed_logins", Gauge, Count, Ingest, "Failed authentications for the worst principal within security.failed_login_window.";
    RATE_LIMITED_PER_MIN = "rate_limited_per_min", Gauge, PerMinute, Ingest, "Requests refused by a rate limit (security events rate_limited) per minute over security.failed_login_window.";
    DENIED_IP_ATTEMPTS = "denied_ip_attempts", Gauge, Count, Ingest, "Attempts refused by an IP deny list (security events ip_denied) within security.failed_login_window.";
    SECURITY_EVENTS = "security_events", Gauge, Count, Ingest, "Security events of any kind within security.failed_login_window.";
    TOP_PRINCIPAL_IPS = "top_principal_ips", Gauge, Count, Ingest, "Distinct client addresses of the principal seen from the most addresses within security.failed_login_window.";
    NEW_PRINCIPAL_IPS = "new_principal_ips", Gauge, Count, Ingest, "Addresses first seen for an already known principal within security.failed_login_window, over every principal.";
    MAX_FAILED_LOGINS = "max_failed_logins", Gauge, Count, Ingest, "The configured security.max_failed_logins, published once security data is seen (brute-force threshold).";
    MAX_DENIED_IP_ATTEMPTS = "max_denied_ip_attempts", Gauge, Count, Ingest, "The configured security.max_denied_ip_attempts, published once security data is seen.";
    MAX_PRINCIPAL_IPS = "max_principal_ips", Gauge, Count, Ingest, "The configured security.max_principal_ips, published once security data is seen.";
    // LiveKit
    ACTIVE_ROOMS = "active_rooms", Gauge, Count, LiveKit, "LiveKit rooms open.";
    ACTIVE_PARTICIPANTS = "active_participants", Gauge, Count, LiveKit, "LiveKit participants connected.";
    CONNECTION_SUCCESS_RATE = "connection_success_rate", Gauge, Ratio, LiveKit, "Share of LiveKit connection attempts that succeeded over the rule window: joined / (joined + aborted), from webhooks.";
    ROOM_CREATION_FAILURES = "room_creation_failures", Gauge, Count, LiveKit, "Room-creation errors (LK1301) applications reported over the rule window.";
    ROOMS_STARTED = "rooms_started", Gauge, Count, LiveKit, "LiveKit rooms started over the rule window (room_started webhooks).";
    ROOMS_FINISHED = "rooms_finished", Gauge, Count, LiveKit, "LiveKit rooms finished over the rule window (room_finished webhooks).";
    PARTICIPANTS_JOINED = "participants_joined", Gauge, Count, LiveKit, "LiveKit participants joined over the rule window (participant_joined webhooks).";
    PARTICIPANTS_LEFT = "participants_left", Gauge, Count, LiveKit, "LiveKit participants left over the rule window (participant_left webhooks).";
    PARTICIPANTS_ABORTED = "participants_aborted", Gauge, Count, LiveKit, "LiveKit participant connections aborted over the rule window.";
    EGRESS_FAILURES = "egress_failures", Gauge, Count, LiveKit, "LiveKit egress that ended with EGRESS_FAILED over the rule window.";
    AVG_ROOM_DURATION_SECONDS = "avg_room_duration_seconds", Gauge, Seconds, LiveKit, "Mean duration of the LiveKit rooms that finished over the rule window.";
}

/// The catalog entry for `name`, if the variable is documented.
pub fn lookup(name: &str) -> Option<&'static VariableInfo> {
    CATALOG.iter().find(|v| v.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn catalog_has_no_duplicates_and_every_entry_is_documented() {
        let mut seen = BTreeSet::new();
        for v in CATALOG {
            assert!(seen.insert(v.name), "{} is listed twice", v.name);
            assert!(!v.description.is_empty(), "{} has no description", v.name);
            assert!(
                v.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not a snake_case identifier rules can use",
                v.name
            );
        }
    }

    #[test]
    fn design_names_are_in_the_catalog() {
        // Names that rule expressions and dashboards rely on.
        for (name, unit) in [
            ("cpu_percent", Unit::Percent),
            ("memory_percent", Unit::Percent),
            ("disk_percent", Unit::Percent),
            ("avg_api_latency_ms", Unit::Milliseconds),
            ("p95_api_latency_ms", Unit::Milliseconds),
            ("error_rate_percent", Unit::Percent),
            ("request_rate_per_min", Unit::PerMinute),
            ("active_calls", Unit::Count),
            ("call_success_rate", Unit::Ratio),
            ("active_rooms", Unit::Count),
            ("active_participants", Unit::Count),
            ("connection_success_rate", Unit::Ratio),
            ("room_creation_failures", Unit::Count),
            ("avg_mos", Unit::Mos),
            ("health_percentage", Unit::Percent),
        ] {
            let info = lookup(name).unwrap_or_else(|| panic!("{name} missing from CATALOG"));
            assert_eq!(info.unit, unit, "unit of {name}");
            assert_eq!(info.kind, VariableKind::Gauge, "kind of {name}");
        }
        assert_eq!(
            lookup(vars::TOTAL_CALLS).map(|v| v.kind),
            Some(VariableKind::Counter)
        );
        assert_eq!(lookup("no_such_variable"), None);
    }

    #[test]
    fn enums_serialise_as_their_names() {
        use VariableSource::{Health, Host, Ingest, LiveKit};
        let name = |v: serde_json::Value| v.as_str().map(str::to_owned);
        for source in [Host, Health, Ingest, LiveKit] {
            assert_eq!(
                name(serde_json::json!(source)).as_deref(),
                Some(source.as_str())
            );
        }
        for v in CATALOG {
            assert_eq!(
                name(serde_json::json!(v.unit)).as_deref(),
                Some(v.unit.as_str())
            );
            assert_eq!(
                name(serde_json::json!(v.kind)).as_deref(),
                Some(v.kind.as_str())
            );
        }
        assert_eq!(Unit::BytesPerSecond.as_str(), "bytes_per_second");
    }
}

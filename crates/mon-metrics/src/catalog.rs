//! The catalog of rule-snapshot variables: name, unit, meaning and who produces each.
//!
//! This is the documentation of the snapshot (DESIGN §7) as data: the API serves it,
//! the rule validator can warn on names it does not know, and a test checks that
//! every variable a producer publishes is listed here.

use crate::vars;
use serde::Serialize;

/// The part of mon that fills a snapshot variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VariableSource {
    /// The host collector ([`crate::HostCollector`]), every collect interval.
    Host,
    /// Derived by [`crate::SnapshotHub::set_checks`] from the latest check results.
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

/// One documented snapshot variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VariableInfo {
    /// The name rules and dashboards use, e.g. `cpu_percent`.
    pub name: &'static str,
    /// The unit of the value: `percent` (0–100), `ratio` (0–1), `bytes`,
    /// `bytes_per_second`, `milliseconds`, `seconds`, `per_minute`, `count`, `load`, `usd` or `mos` (1–5).
    pub unit: &'static str,
    /// What the value means, one sentence.
    pub description: &'static str,
    /// Who fills it.
    pub source: VariableSource,
}

const fn var(
    name: &'static str,
    unit: &'static str,
    source: VariableSource,
    description: &'static str,
) -> VariableInfo {
    VariableInfo {
        name,
        unit,
        description,
        source,
    }
}

use VariableSource::{Health, Host, Ingest, LiveKit};

/// Every variable of the rule snapshot, grouped by source.
///
/// Variables of a source that is not running are absent from the snapshot (a rule
/// over them has no data), never zero.
// Kept as a one-line-per-variable table: easier to read and review than rustfmt's layout.
#[rustfmt::skip]
pub const CATALOG: &[VariableInfo] = &[
    // host collector
    var(vars::CPU_PERCENT, "percent", Host, "Host CPU usage over the last collect interval, all cores."),
    var(vars::MEMORY_PERCENT, "percent", Host, "Host memory in use (total minus available) as a share of total."),
    var(vars::MEMORY_USED_BYTES, "bytes", Host, "Host memory in use: total minus available."),
    var(vars::MEMORY_AVAILABLE_BYTES, "bytes", Host, "Host memory available for new work without swapping."),
    var(vars::MEMORY_TOTAL_BYTES, "bytes", Host, "Host physical memory."),
    var(vars::SWAP_PERCENT, "percent", Host, "Host swap in use as a share of swap size; 0 when there is no swap."),
    var(vars::DISK_PERCENT, "percent", Host, "Used space of the filesystem holding the data directory (or /)."),
    var(vars::DISK_FREE_BYTES, "bytes", Host, "Space available to unprivileged users on that filesystem."),
    var(vars::DISK_TOTAL_BYTES, "bytes", Host, "Size of that filesystem."),
    var(vars::LOAD_AVERAGE_1M, "load", Host, "Host load average over 1 minute (runnable tasks)."),
    var(vars::LOAD_AVERAGE_5M, "load", Host, "Host load average over 5 minutes (runnable tasks)."),
    var(vars::LOAD_AVERAGE_15M, "load", Host, "Host load average over 15 minutes (runnable tasks)."),
    var(vars::NETWORK_RX_BYTES_PER_SECOND, "bytes_per_second", Host, "Bytes received per second on all non-loopback interfaces."),
    var(vars::NETWORK_TX_BYTES_PER_SECOND, "bytes_per_second", Host, "Bytes sent per second on all non-loopback interfaces."),
    var(vars::PROCESS_CPU_PERCENT, "percent", Host, "CPU used by the mon process itself, as a share of the whole machine."),
    var(vars::PROCESS_RESIDENT_MEMORY_BYTES, "bytes", Host, "Resident memory of the mon process itself."),
    // derived from check results
    var(vars::HEALTH_PERCENTAGE, "percent", Health, "Share of checks whose latest status is healthy."),
    var(vars::HEALTHY_CHECKS, "count", Health, "Number of checks whose latest status is healthy."),
    var(vars::TOTAL_CHECKS, "count", Health, "Number of checks with a result in the snapshot."),
    var(vars::DEGRADED_CHECKS, "count", Health, "Number of checks whose latest status is degraded."),
    var(vars::UNHEALTHY_CHECKS, "count", Health, "Number of checks whose latest status is unhealthy."),
    var(vars::CRITICAL_UNHEALTHY_CHECKS, "count", Health, "Number of checks marked critical whose latest status is unhealthy."),
    // application events (filled by the ingest pipeline)
    var(vars::AVG_API_LATENCY_MS, "milliseconds", Ingest, "Mean API request latency over the rule window."),
    var(vars::P95_API_LATENCY_MS, "milliseconds", Ingest, "95th percentile API request latency over the rule window."),
    var(vars::ERROR_RATE_PERCENT, "percent", Ingest, "Share of API requests that failed over the rule window."),
    var(vars::REQUEST_RATE_PER_MIN, "per_minute", Ingest, "API requests per minute over the rule window."),
    var(vars::ACTIVE_CALLS, "count", Ingest, "Calls in progress."),
    var(vars::CALL_SUCCESS_RATE, "ratio", Ingest, "Share of calls that ended successfully over the rule window."),
    var(vars::AVG_MOS, "mos", Ingest, "Mean voice quality (mean opinion score, 1 to 5) over the rule window."),
    var(vars::P50_API_LATENCY_MS, "milliseconds", Ingest, "Median API request latency over the rule window."),
    var(vars::P99_API_LATENCY_MS, "milliseconds", Ingest, "99th percentile API request latency over the rule window."),
    var(vars::SLOW_REQUESTS, "count", Ingest, "Requests over the rule window at least metrics.slow_request_threshold long."),
    var(vars::TOTAL_CALLS, "count", Ingest, "Calls started since mon started."),
    var(vars::SUCCESSFUL_CALLS, "count", Ingest, "Calls that ended successfully since mon started."),
    var(vars::FAILED_CALLS, "count", Ingest, "Calls that ended unsuccessfully since mon started."),
    var(vars::AVG_CALL_DURATION_SECONDS, "seconds", Ingest, "Mean duration of the calls that ended over the rule window."),
    var(vars::AVG_RESPONSE_TIME_MS, "milliseconds", Ingest, "Mean AI provider response time (STT, LLM, TTS) over the rule window."),
    var(vars::CALLS_PER_MINUTE, "per_minute", Ingest, "Calls started per minute over the rule window."),
    var(vars::TOTAL_ERRORS, "count", Ingest, "Application errors recorded since mon started."),
    var(vars::ERRORS_PER_MINUTE, "per_minute", Ingest, "Application errors per minute over the rule window."),
    var(vars::TRACKED_ERRORS_PER_MINUTE, "per_minute", Ingest, "Error occurrences tracked by fingerprint in the last minute (mon's own ERROR logs and ingested errors)."),
    var(vars::NEW_ERROR_KINDS, "count", Ingest, "Error groups (fingerprints) first seen in the last 5 minutes."),
    var(vars::AVG_VOICE_LATENCY_MS, "milliseconds", Ingest, "Mean voice latency of voice-quality events over the rule window."),
    var(vars::AVG_PACKET_LOSS, "ratio", Ingest, "Mean packet loss of voice-quality events over the rule window."),
    var(vars::AVG_JITTER_MS, "milliseconds", Ingest, "Mean jitter of voice-quality events over the rule window."),
    var(vars::AI_COST_USD, "usd", Ingest, "AI provider cost recorded since mon started, in US dollars."),
    // LiveKit
    var(vars::ACTIVE_ROOMS, "count", LiveKit, "LiveKit rooms open."),
    var(vars::ACTIVE_PARTICIPANTS, "count", LiveKit, "LiveKit participants connected."),
    var(vars::CONNECTION_SUCCESS_RATE, "ratio", LiveKit, "Share of LiveKit connection attempts that succeeded over the rule window: joined / (joined + aborted), from webhooks."),
    var(vars::ROOM_CREATION_FAILURES, "count", LiveKit, "Room-creation errors (LK1301) applications reported over the rule window."),
    var(vars::ROOMS_STARTED, "count", LiveKit, "LiveKit rooms started over the rule window (room_started webhooks)."),
    var(vars::ROOMS_FINISHED, "count", LiveKit, "LiveKit rooms finished over the rule window (room_finished webhooks)."),
    var(vars::PARTICIPANTS_JOINED, "count", LiveKit, "LiveKit participants joined over the rule window (participant_joined webhooks)."),
    var(vars::PARTICIPANTS_LEFT, "count", LiveKit, "LiveKit participants left over the rule window (participant_left webhooks)."),
    var(vars::PARTICIPANTS_ABORTED, "count", LiveKit, "LiveKit participant connections aborted over the rule window."),
    var(vars::EGRESS_FAILURES, "count", LiveKit, "LiveKit egress that ended with EGRESS_FAILED over the rule window."),
    var(vars::AVG_ROOM_DURATION_SECONDS, "seconds", LiveKit, "Mean duration of the LiveKit rooms that finished over the rule window."),
];

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
            assert!(!v.unit.is_empty(), "{} has no unit", v.name);
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
        // DESIGN §7 names that rule expressions and dashboards rely on.
        for (name, unit) in [
            ("cpu_percent", "percent"),
            ("memory_percent", "percent"),
            ("disk_percent", "percent"),
            ("avg_api_latency_ms", "milliseconds"),
            ("p95_api_latency_ms", "milliseconds"),
            ("error_rate_percent", "percent"),
            ("request_rate_per_min", "per_minute"),
            ("active_calls", "count"),
            ("call_success_rate", "ratio"),
            ("active_rooms", "count"),
            ("active_participants", "count"),
            ("connection_success_rate", "ratio"),
            ("room_creation_failures", "count"),
            ("avg_mos", "mos"),
            ("health_percentage", "percent"),
        ] {
            let info = lookup(name).unwrap_or_else(|| panic!("{name} missing from CATALOG"));
            assert_eq!(info.unit, unit, "unit of {name}");
        }
        assert_eq!(lookup("no_such_variable"), None);
    }

    #[test]
    fn sources_serialise_as_their_names() {
        for source in [Host, Health, Ingest, LiveKit] {
            assert_eq!(
                serde_json::to_value(source).ok(),
                Some(serde_json::Value::from(source.as_str()))
            );
        }
    }
}

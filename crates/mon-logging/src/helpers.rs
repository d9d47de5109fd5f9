//! Domain helpers for voice agents: [`log_api_call`], [`log_room_event`], [`log_sip_event`],
//! [`perf_timer`] (to the performance stream), [`audit_log`] (to the audit stream) and
//! [`record_error`] (to error tracking).

use crate::layer::{AUDIT_TARGET, PERF_TARGET};
use std::panic::Location;
use std::time::{Duration, Instant};

/// The target of [`record_error`] events.
pub const ERRORS_TARGET: &str = "mon::errors";

/// Logs an API call: `method`, `endpoint`, `status`, `duration_ms` and `details` (a JSON
/// object, masked). WARN for a 5xx status, INFO otherwise.
pub fn log_api_call(
    method: &str,
    endpoint: &str,
    status: u16,
    duration: Duration,
    details: &serde_json::Value,
) {
    let duration_ms = duration.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(target: "mon::api", method, endpoint, status, duration_ms, details = %details, "API call");
    } else {
        tracing::info!(target: "mon::api", method, endpoint, status, duration_ms, details = %details, "API call");
    }
}

/// Logs a LiveKit room event such as `room_created`.
pub fn log_room_event(event: &str, room_name: &str, details: &serde_json::Value) {
    tracing::info!(target: "mon::room", event, room_name, details = %details, "room event");
}

/// Logs a SIP event such as `call_connected`.
pub fn log_sip_event(event: &str, call_id: &str, details: &serde_json::Value) {
    tracing::info!(target: "mon::sip", event, call_id, details = %details, "SIP event");
}

/// Logs a business event to the audit stream (`audit/` files, kept a year). Audit lines
/// are never dropped.
pub fn audit_log(action: &str, details: &serde_json::Value) {
    tracing::info!(target: AUDIT_TARGET, details = %details, "{action}");
}

/// Reports an error to error tracking (and the log) with its kind, e.g. the error type
/// or a code: occurrences are grouped by kind, normalised message and the caller's
/// location.
#[track_caller]
pub fn record_error(kind: &str, error: &dyn std::error::Error) {
    let caller = Location::caller();
    let location = format!("{}:{}", caller.file(), caller.line());
    tracing::error!(target: ERRORS_TARGET, error_kind = kind, location = location.as_str(), "{error}");
}

/// Times an operation and logs its duration to the performance stream when dropped (or
/// [`PerfTimer::stop`]ped). (`mon_metrics::Recorder::operation_timer` is the metrics
/// counterpart: it records the duration in a Prometheus histogram instead.)
///
/// ```
/// {
///     let _timer = mon_logging::perf_timer("stt_transcription");
///     // ... transcribe ...
/// } // logs timer="stt_transcription" duration_ms=...
/// ```
pub fn perf_timer(name: &str) -> PerfTimer {
    PerfTimer {
        name: name.to_string(),
        started: Instant::now(),
        done: false,
    }
}

/// A running [`perf_timer`].
#[derive(Debug)]
#[must_use = "the timer logs when dropped; bind it to a variable such as `_timer`"]
pub struct PerfTimer {
    name: String,
    started: Instant,
    done: bool,
}

impl PerfTimer {
    /// Logs now and returns the duration.
    pub fn stop(mut self) -> Duration {
        self.log()
    }

    fn log(&mut self) -> Duration {
        let elapsed = self.started.elapsed();
        if !self.done {
            self.done = true;
            let duration_ms = elapsed.as_secs_f64() * 1000.0;
            tracing::info!(target: PERF_TARGET, timer = self.name.as_str(), duration_ms, "{} took {duration_ms:.1} ms", self.name);
        }
        elapsed
    }
}

impl Drop for PerfTimer {
    fn drop(&mut self) {
        self.log();
    }
}

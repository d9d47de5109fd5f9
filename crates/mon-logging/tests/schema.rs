//! The JSON line schema (docs/logging.md), pinned by a golden file, and the pretty format.

mod support;

use mon_logging::codes::livekit;
use mon_logging::{Format, LoggingConfig, call_scope, operation_scope};
use support::{handle, with_logs};

/// Replaces what changes from run to run (timestamp, operation id, line) after checking its shape.
fn stable(mut line: serde_json::Value) -> serde_json::Value {
    let timestamp = line["timestamp"].as_str().unwrap().to_string();
    let parsed = chrono::DateTime::parse_from_rfc3339(&timestamp).unwrap();
    assert_eq!(parsed.offset().local_minus_utc(), 0, "{timestamp}");
    // RFC 3339, UTC, microseconds: 2026-11-23T13:24:24.123456Z
    assert_eq!(timestamp.len(), 27, "{timestamp}");
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    line["timestamp"] = "<timestamp>".into();
    assert!(line["line"].as_u64().unwrap() > 0);
    line["line"] = 0.into();
    if let Some(id) = line.get("operation_id") {
        assert_eq!(id.as_str().unwrap().len(), 16);
        line["operation_id"] = "<operation_id>".into();
    }
    line
}

#[test]
fn json_lines_match_the_golden_schema() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Json);
    with_logs(&logs, "info", || {
        let _call = call_scope("ast-123-456").entered();
        tracing::info!(
            caller = "+1234567890",
            latency_ms = 42,
            ok = true,
            ratio = 0.5,
            count = 7u64,
            "call started"
        );
        let _op = operation_scope("room_creation", "livekit").entered();
        tracing::error!(error_code = %livekit::ROOM_CREATION_FAILED, room = "sip-call-1", "room creation failed");
        tracing::debug!("filtered out");
    });
    // Key order is part of the schema too (people read these lines).
    let raw = buffer.text();
    let second = raw.lines().nth(1).unwrap();
    let keys = [
        "\"timestamp\"",
        "\"level\"",
        "\"logger\"",
        "\"module\"",
        "\"line\"",
        "\"message\"",
        "\"app\"",
        "\"environment\"",
        "\"call_id\"",
        "\"operation\"",
        "\"operation_id\"",
        "\"service\"",
        "\"error_code\"",
        "\"fields\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            second
                .find(k)
                .unwrap_or_else(|| panic!("{k} missing: {second}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "keys out of order: {second}"
    );
    let lines: Vec<serde_json::Value> = buffer.json_lines().into_iter().map(stable).collect();
    let got = serde_json::to_string_pretty(&lines).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/json_lines.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        got, want,
        "the JSON schema changed; if on purpose, rerun with UPDATE_GOLDEN=1 and update docs/logging.md"
    );
    assert_eq!(logs.stats().code_count("LK1301"), 1);
}

#[test]
fn pretty_lines_are_human_readable_and_plain() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Pretty);
    with_logs(&logs, "warn", || {
        let _call = call_scope("c-1").entered();
        tracing::warn!(rule = "High CPU", "alert firing");
        tracing::info!("filtered out");
    });
    let text = buffer.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    for part in ["WARN", "alert firing", "rule=\"High CPU\"", "call_id=c-1"] {
        assert!(lines[0].contains(part), "{part} missing: {text}");
    }
    assert!(!lines[0].contains('\u{1b}'), "{text:?}");
}

#[test]
fn log_crate_records_are_forwarded_with_their_target() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Json);
    let _ = tracing_log::LogTracer::init();
    with_logs(&logs, "info", || {
        log::warn!(target: "legacy", "from the log crate");
    });
    let lines = buffer.json_lines();
    let line = lines
        .iter()
        .find(|l| l["message"] == "from the log crate")
        .unwrap();
    assert_eq!(line["logger"], "legacy");
    assert!(
        line.get("fields").is_none(),
        "log.* fields are not repeated: {line}"
    );
}

//! Hostile durations and times on every parameter that takes one: each is answered
//! 400 JSON naming the parameter (never a panic or a closed connection), and the
//! server keeps answering afterwards.

mod common;
use axum::http::StatusCode;
use common::{call, call_json, call_text, config, start};
use mon_server::App;
use serde_json::json;

const TOKEN: &str = common::ADMIN;

async fn app(dir: &tempfile::TempDir) -> App {
    let body = "checks:\n  - { name: host, type: system, interval: 1s, critical: false }\n";
    start(&config("", body), dir, &[]).await
}

/// The server still answers its liveness probe; then it stops cleanly.
async fn still_alive_then_stop(app: App) {
    let (status, body) = call(&app, "GET", "/health/live", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.shutdown().await;
}

/// Every endpoint and query parameter that reads a duration or a point in time:
/// `(path before the parameter, parameter)`.
const TIME_PARAMETERS: &[(&str, &str)] = &[
    ("/api/v1/checks/host/results?", "since"),
    ("/api/v1/errors?", "since"),
    ("/api/v1/logs?", "since"),
    ("/api/v1/logs?", "until"),
    ("/api/v1/alerts/stats?", "since"),
    ("/api/v1/alerts/quality?", "since"),
    ("/api/v1/metrics/query?name=cpu_percent&", "from"),
    ("/api/v1/metrics/query?name=cpu_percent&", "to"),
    ("/api/v1/metrics/query?name=cpu_percent&", "step"),
    ("/api/v1/metrics/range?name=cpu_percent&", "from"),
    ("/api/v1/metrics/range?name=cpu_percent&", "to"),
    ("/api/v1/metrics/range?name=cpu_percent&", "step"),
    ("/api/v1/dashboards/{dashboard}?", "from"),
    ("/api/v1/dashboards/{dashboard}?", "to"),
    ("/api/v1/dashboards/{dashboard}?", "range"),
];

/// Values that overflow a date, a duration or an integer, or are not durations at all.
const HOSTILE: &[&str] = &[
    "100000000000d",
    "300000y",
    "101y",
    "36526d",
    "9223372036854775807s",
    "18446744073709551615s",
    "99999999999999999999999999999ms",
    "-1h",
    "1e308s",
    "%2B262143-01-01T00:00:00Z",
    "9999-99-99T99:99:99Z",
    "",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_durations_and_times_are_400_naming_the_parameter() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    let token = Some(TOKEN);
    let (_, list) = call(&app, "GET", "/api/v1/dashboards", token).await;
    let dashboard = list["dashboards"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a built-in dashboard: {list}"))
        .to_string();
    for (path, param) in TIME_PARAMETERS {
        let path = path.replace("{dashboard}", &dashboard);
        for value in HOSTILE {
            let uri = format!("{path}{param}={value}");
            let (status, body) = call(&app, "GET", &uri, token).await;
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            assert_eq!(body["error"]["code"], "bad_request", "{uri}: {body}");
            assert!(
                message.contains(&format!("{param}=")),
                "{uri}: the message names {param}: {message}"
            );
        }
    }
    // The body's duration of a silence, and an end that would leave the calendar.
    for value in HOSTILE {
        let (status, body) = call_json(
            &app,
            "POST",
            "/api/v1/silences",
            token,
            Some(json!({
                "matchers": [{ "name": "check", "value": "host" }],
                "duration": value,
                "created_by": "ops",
            })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "duration={value}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("duration="), "{value}: {message}");
    }
    let (status, body) = call_json(
        &app,
        "POST",
        "/api/v1/silences",
        token,
        Some(json!({
            "matchers": [{ "name": "check", "value": "host" }],
            "starts_at": "9999-12-31T00:00:00Z",
            "duration": "100y",
            "created_by": "ops",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("duration=")),
        "{body}"
    );
    still_alive_then_stop(app).await;
}

/// Events stamped at the ends of what a time can hold are refused or stored, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_at_the_ends_of_time_are_answered() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    let events = [
        json!({"type": "request", "endpoint": "/x", "method": "GET", "status": 200, "latency_ms": 1.0}),
        json!({"type": "call_started", "call_id": "c1"}),
        json!({"type": "call_ended", "call_id": "c1", "duration_seconds": 1.0, "success": true}),
        json!({"type": "error", "kind": "LK1301", "message": "room failed"}),
        json!({"type": "log", "level": "error", "message": "x"}),
        json!({"type": "gauge", "name": "g", "value": 1.0}),
    ];
    for (timestamp, accepted) in [
        ("+262142-12-31T23:59:59Z", false),
        ("-262143-01-01T00:00:00Z", false),
        ("+10000-01-01T00:00:00Z", false),
        ("9999-12-31T23:59:59Z", true),
        ("0000-01-01T00:00:00Z", true),
    ] {
        for event in &events {
            let mut event = event.clone();
            event["timestamp"] = json!(timestamp);
            let (status, body) = call_json(
                &app,
                "POST",
                "/api/v1/events",
                Some(TOKEN),
                Some(event.clone()),
            )
            .await;
            if accepted {
                assert!(status.is_success(), "{event}: {status} {body}");
            } else {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{event}: {body}");
                assert!(body.to_string().contains("timestamp"), "{event}: {body}");
            }
        }
    }
    // What was accepted is processed by the background tasks without a panic.
    common::wait_for("the logged events", async || {
        call(&app, "GET", "/api/v1/logs?q=x", Some(TOKEN)).await.1["count"] == 2
    })
    .await;
    let (_, metrics) = call_text(&app, "/metrics", Some(TOKEN)).await;
    assert!(metrics.contains("# EOF"), "{metrics}");
    assert!(!metrics.contains("mon_task_restarts_total{"), "{metrics}");
    for uri in ["/api/v1/errors", "/api/v1/logs", "/api/v1/snapshot"] {
        let (status, body) = call(&app, "GET", uri, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    still_alive_then_stop(app).await;
}

/// The limits themselves are accepted: 100 years back, and the ends of RFC 3339 years.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_but_valid_times_are_answered() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    let token = Some(TOKEN);
    for uri in [
        "/api/v1/checks/host/results?since=100y",
        "/api/v1/errors?since=0000-01-01T00:00:00Z",
        "/api/v1/logs?since=100y&until=9999-12-31T23:59:59Z",
        "/api/v1/alerts/stats?since=0000-01-01T00:00:00Z",
        "/api/v1/alerts/quality?since=0000-01-01T00:00:00Z",
        "/api/v1/metrics/query?name=cpu_percent&from=100y&step=100y",
        "/api/v1/metrics/query?name=cpu_percent&from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59Z&step=1h",
    ] {
        let (status, body) = call(&app, "GET", uri, token).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{uri}: {status} {body}"
        );
    }
    still_alive_then_stop(app).await;
}

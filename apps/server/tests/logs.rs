//! Error tracking and log search end to end in one process: mon-server's own logs go
//! through mon-logging (installed globally here) into the store, and out of the API;
//! secrets reach neither the files, the database nor the API. Runs alone in its process
//! because it installs the global subscriber.

mod common;
use axum::body::Body;
use axum::http::StatusCode;
use common::{INGEST, READ, SELF_CHECK_OFF, call_json, config, load, send};
use mon_server::App;
use serde_json::Value;
use std::time::Duration;

/// Logs in `{dir}/logs`, secrets masked, errors tracked.
const BODY: &str = "
metrics:
  host: false
logging:
  format: json
  level: info
  dir: {dir}/logs
  mask_patterns: ['sk-[A-Za-z0-9]{16,}']
  errors: { ignored_kinds: [NotFoundError], max_samples: 2 }
  search: { level: warn }
";

/// A GET with the read token: status, the body as JSON (`Null` when it is not) and
/// as text; every answer carries a request id.
async fn get(app: &App, uri: &str) -> (StatusCode, Value, String) {
    let request = common::request("GET", uri, Some(READ)).body(Body::empty());
    let answer = send(app, request.expect("request")).await;
    assert!(answer.headers.contains_key("x-request-id"), "{uri}");
    (answer.status, answer.json(), answer.text)
}

/// Polls `uri` until `done` holds for its JSON body.
async fn wait_for(app: &App, uri: &str, done: impl Fn(&Value) -> bool) -> Value {
    let what = format!("{uri} to satisfy the condition");
    mon_tests::eventually_async(&what, Duration::from_secs(20), async || {
        let (status, body, _) = get(app, uri).await;
        if status == StatusCode::OK && done(&body) {
            Ok(body)
        } else {
            Err(body)
        }
    })
    .await
}

fn emit() {
    let _call = mon_logging::call_scope("call-9").entered();
    for seconds in [30, 45, 60] {
        tracing::error!(
            error_kind = "TimeoutError",
            "STT timeout after {seconds}s for room 'r-{seconds}'"
        );
    }
    tracing::error!(error_kind = "NotFoundError", "no such room");
    tracing::error!(
        error_code = "LK1301",
        error_kind = "NotFoundError",
        "room creation failed"
    );
    tracing::warn!(
        password = "pw-SECRET-1",
        token = "tk-SECRET-2",
        "login Bearer SECRETBEARER1 with key sk-SECRETSECRETSECRET9"
    );
    tracing::info!("below the search level");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_errors_and_logs_are_tracked_searchable_and_masked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = load(&config(SELF_CHECK_OFF, BODY), &dir, &[]);
    let logs = mon_logging::init(&config.logging).expect("logging");
    let app = App::start(config).await.expect("app starts");
    emit();

    // Errors: one group for the three timeouts, the ignored kind absent.
    let body = wait_for(&app, "/api/v1/errors", |b| {
        b["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|g| g["count"] == 3))
    })
    .await;
    let groups = body["errors"].as_array().expect("errors");
    assert!(
        groups.iter().all(|g| g["kind"] != "NotFoundError"),
        "{body}"
    );
    let group = groups
        .iter()
        .find(|g| g["kind"] == "TimeoutError")
        .expect("timeout group");
    assert_eq!(group["message"], "STT timeout after <n> for room <str>");
    let fingerprint = group["fingerprint"].as_str().expect("fingerprint");
    let (status, one, _) = get(&app, &format!("/api/v1/errors/{fingerprint}")).await;
    assert_eq!(status, StatusCode::OK);
    let samples = one["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 2, "bounded by max_samples: {one}");
    assert_eq!(samples[1]["call_id"], "call-9");
    // Each sample keeps its real message and when it happened (the drill-down shows both).
    assert!(
        samples[1]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("STT timeout after")),
        "{one}"
    );
    assert!(
        samples[1]["at"]
            .as_str()
            .is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()),
        "{one}"
    );
    let (status, _, _) = get(&app, "/api/v1/errors/0000000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Counts per error code, and dropped lines, on /metrics.
    let (status, _, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("mon_log_errors_total{code=\"LK1301\"} 1"),
        "{text}"
    );
    assert!(text.contains("mon_log_dropped_total 0"), "{text}");

    // The snapshot variables.
    wait_for(&app, "/api/v1/status", |b| {
        b["snapshot"]["tracked_errors_per_minute"]
            .as_f64()
            .is_some_and(|n| n >= 3.0)
            && b["snapshot"]["new_error_kinds"] == 1.0
    })
    .await;

    // Log search: WARN and above only, by text, level and call.
    let body = wait_for(&app, "/api/v1/logs?q=login&call_id=call-9", |b| {
        b["count"] == 1
    })
    .await;
    assert_eq!(body["logs"][0]["level"], "warn");
    assert_eq!(body["logs"][0]["source"], "mon");
    let body = wait_for(&app, "/api/v1/logs?q=timeout&level=error&limit=2", |b| {
        b["count"] == 2
    })
    .await;
    assert_eq!(body["logs"][0]["call_id"], "call-9");
    let (_, body, _) = get(&app, "/api/v1/logs?q=below").await;
    assert_eq!(body["count"], 0, "INFO is below the search level: {body}");
    for bad in [
        "/api/v1/logs?level=loud",
        // Only the documented names (the OpenAPI document's enum), as written.
        "/api/v1/logs?level=WARN",
        "/api/v1/logs?level=warning",
        "/api/v1/logs?level=",
        "/api/v1/logs?since=yesterday",
        "/api/v1/logs?limit=0",
        "/api/v1/logs?qq=x",
    ] {
        let (status, body, _) = get(&app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }

    // Ingested `error` and `log` events (POST /api/v1/events) join them, masked.
    let events = serde_json::json!([
        {"type": "error", "kind": "LK1601", "message": "SIP call 77 failed",
         "context": {"call_id": "call-ingest", "api_key": "SECRET-INGEST-KEY"}},
        {"type": "log", "level": "warning", "message": "jitter high with Bearer SECRETINGEST1",
         "call_id": "call-ingest", "fields": {"password": "SECRET-PW"}},
    ]);
    let (status, answer) =
        call_json(&app, "POST", "/api/v1/events", Some(INGEST), Some(events)).await;
    assert!(status.is_success(), "{status} {answer}");
    wait_for(&app, "/api/v1/errors", |b| {
        b["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|g| g["kind"] == "LK1601"))
    })
    .await;
    let body = wait_for(&app, "/api/v1/logs?call_id=call-ingest", |b| {
        b["count"] == 2
    })
    .await;
    assert!(
        body["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["source"] == "ingest"),
        "{body}"
    );

    // No secret anywhere: API answers, log files, the database.
    let mut seen = String::new();
    for uri in [
        "/api/v1/logs?limit=1000",
        "/api/v1/errors",
        &format!("/api/v1/errors/{fingerprint}"),
    ] {
        let (_, _, text) = get(&app, uri).await;
        seen.push_str(&text);
    }
    assert!(seen.contains("***"), "{seen}");
    logs.flush();
    app.shutdown().await;
    let mut files = vec![dir.path().join("mon.db"), dir.path().join("mon.db-wal")];
    for stream in ["app", "errors"] {
        for name in mon_logging::files::list_files(&dir.path().join("logs").join(stream)) {
            files.push(dir.path().join("logs").join(stream).join(name));
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let bytes = std::fs::read(&path).unwrap_or_default();
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(seen.contains("login"), "the warning was written");
    assert!(!seen.contains("SECRET"), "a secret leaked");
}

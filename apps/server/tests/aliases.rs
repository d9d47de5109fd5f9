//! The seeds' endpoint names answer as mon's own endpoints: each alias is requested
//! beside the endpoint it names, with the same token (or none), and gives the same status,
//! the same answer's shape and the same access.

mod common;
use axum::http::StatusCode;
use common::{READ, call_text, start_host, wait_for};
use serde_json::Value;
use std::collections::BTreeSet;

/// (alias, mon's endpoint, answers without a token by default).
const ALIASES: &[(&str, &str, bool)] = &[
    ("/health/", "/health", true),
    ("/monitoring/health", "/health", true),
    ("/health/liveness", "/health/live", true),
    ("/health/readiness", "/health/ready", true),
    ("/health/metrics", "/api/v1/snapshot", false),
    ("/monitoring/metrics", "/api/v1/snapshot", false),
    ("/monitoring/alerts", "/health/alerts", false),
    ("/monitoring/dashboard", "/", true),
];

/// The top-level keys of a JSON object answer, or the text itself for other answers.
fn shape(text: &str) -> Result<BTreeSet<String>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map.keys().cloned().collect()),
        _ => Err(text.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seed_alias_answers_as_the_endpoint_it_names() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_host(&dir).await;
    wait_for("every check has run", async || {
        call_text(&app, "/health/ready", None).await.0 == StatusCode::OK
    })
    .await;
    for (alias, own, open) in ALIASES {
        let (own_status, own_text) = call_text(&app, own, Some(READ)).await;
        let (status, text) = call_text(&app, alias, Some(READ)).await;
        assert_eq!(status, own_status, "{alias} vs {own}: {text}");
        assert_eq!(status, StatusCode::OK, "{alias}: {text}");
        assert_eq!(shape(&text), shape(&own_text), "{alias} vs {own}");
        if let Ok(keys) = shape(&text) {
            assert!(!keys.is_empty(), "{alias}: {text}");
        }
        // Without a token: as open (or as closed) as mon's own endpoint.
        let (anonymous, body) = call_text(&app, alias, None).await;
        let (own_anonymous, _) = call_text(&app, own, None).await;
        assert_eq!(anonymous, own_anonymous, "{alias} without a token: {body}");
        assert_eq!(
            anonymous == StatusCode::OK,
            *open,
            "{alias} without a token: {anonymous} {body}"
        );
    }
    // The same values, not only the same shape.
    let (_, text) = call_text(&app, "/health/", Some(READ)).await;
    let (_, own) = call_text(&app, "/health", Some(READ)).await;
    let (alias, own): (Value, Value) = (
        serde_json::from_str(&text).unwrap(),
        serde_json::from_str(&own).unwrap(),
    );
    assert_eq!(alias["status"], own["status"]);
    assert_eq!(alias["total_components"], own["total_components"]);
    let (_, text) = call_text(&app, "/health/liveness", None).await;
    assert_eq!(text, r#"{"status":"alive"}"#);
    let (_, metrics) = call_text(&app, "/monitoring/metrics", Some(READ)).await;
    let metrics: Value = serde_json::from_str(&metrics).unwrap();
    assert!(
        metrics["values"]["health_percentage"].is_number(),
        "{metrics}"
    );
}

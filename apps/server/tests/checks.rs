//! Checks through the real server: heartbeats pinged over the HTTP endpoint (with
//! their auth), `depends_on` reported as `dependency … down`, and uptime from the store.

mod common;
use axum::body::Body;
use axum::http::StatusCode;
use common::{SELF_CHECK_OFF, call, config, send};
use mon_server::App;
use serde_json::Value;
use std::time::Duration;

/// A heartbeat, a closed port and a site that depends on it.
const BODY: &str = "
checks:
  - name: nightly
    type: heartbeat
    period: 1h
    grace: 5m
    interval: 200ms
    failure_threshold: 1
    success_threshold: 1
  - name: redis
    type: tcp
    address: {closed}
    interval: 200ms
    timeout: 1s
  - name: api
    type: http
    url: http://{open}/
    interval: 200ms
    depends_on: [redis]
    critical: false
metrics:
  host: false
";

struct Harness {
    app: App,
    _dir: tempfile::TempDir,
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().expect("dir");
    let closed = mon_tests::free_port();
    let site = mon_tests::Capture::start();
    site.answer(mon_tests::Answer::status(200).body("ok"));
    let vars = [
        ("{closed}", format!("127.0.0.1:{closed}")),
        ("{open}", site.addr().to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = common::start(&config(SELF_CHECK_OFF, BODY), &dir, &vars).await;
    Harness { app, _dir: dir }
}

const READ: Option<&str> = Some(common::READ);
const INGEST: Option<&str> = Some(common::INGEST);

/// Polls `GET uri` until `condition` holds on the body.
async fn wait_for(app: &App, uri: &str, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
    mon_tests::eventually_async(what, Duration::from_secs(20), async || {
        let (_, body) = call(app, "GET", uri, READ).await;
        if condition(&body) {
            Ok(body)
        } else {
            Err(body)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_pinged_through_the_http_endpoint() {
    let h = start().await;
    let app = &h.app;
    let body = wait_for(app, "/health/checks/nightly", "the first run", |b| {
        b["observed_at"].is_string()
    })
    .await;
    assert_eq!(body["status"], "unknown", "{body}");
    assert_eq!(body["details"]["state"], "new", "{body}");

    // Pinging needs the ingest role.
    for (token, want) in [
        (None, StatusCode::UNAUTHORIZED),
        (READ, StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call(app, "POST", "/api/v1/heartbeat/nightly", token).await;
        assert_eq!(status, want, "{body}");
    }
    let (status, body) = call(app, "POST", "/api/v1/heartbeat/nightly/start", INGEST).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["details"]["running"], true, "{body}");
    let (status, body) = call(app, "POST", "/api/v1/heartbeat/nightly", INGEST).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "healthy", "{body}");
    assert_eq!(body["details"]["state"], "up", "{body}");
    assert!(body["details"]["last_run_ms"].as_f64().is_some(), "{body}");

    let (status, body) = call(app, "POST", "/api/v1/heartbeat/nightly/fail", INGEST).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "unhealthy", "{body}");
    // The scheduler keeps seeing the failure until the next successful ping.
    let body = wait_for(app, "/api/v1/checks/nightly", "a scheduled run", |b| {
        b["consecutive_failures"].as_u64().is_some_and(|n| n >= 2)
    })
    .await;
    assert_eq!(body["status"], "unhealthy", "{body}");
    let (_, body) = call(app, "POST", "/api/v1/heartbeat/nightly", INGEST).await;
    assert_eq!(body["status"], "healthy", "{body}");

    for uri in ["/api/v1/heartbeat/nope", "/api/v1/heartbeat/redis/start"] {
        let (status, body) = call(app, "POST", uri, INGEST).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{body}");
    }
    h.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_down_makes_its_dependants_unhealthy() {
    let h = start().await;
    let app = &h.app;
    let body = wait_for(
        app,
        "/health/checks/api",
        "api to run and be blocked by redis",
        |b| b["status"] == "unhealthy" && b["observed_status"] == "healthy",
    )
    .await;
    assert_eq!(body["observed_status"], "healthy", "{body}");
    assert_eq!(body["reason"], "dependency redis down", "{body}");
    assert_eq!(body["depends_on"], serde_json::json!(["redis"]), "{body}");

    // redis is critical and down: the whole system is unhealthy.
    let (status, body) = call(app, "GET", "/health/detailed", READ).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unhealthy", "{body}");

    let request = common::request("GET", "/metrics", None).header("accept", "text/plain");
    let metrics = send(app, request.body(Body::empty()).expect("request"))
        .await
        .text;
    assert!(
        metrics.contains("mon_check_up{check=\"api\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mon_check_up{check=\"redis\"} 0"),
        "{metrics}"
    );
    h.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uptime_comes_from_the_stored_results() {
    let h = start().await;
    let app = &h.app;
    let body = wait_for(app, "/api/v1/checks", "uptime figures", |b| {
        b["checks"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["uptime"]["1h"].is_number()))
    })
    .await;
    let checks = body["checks"].as_array().expect("checks");
    let uptime = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["uptime"].clone())
            .expect("the check")
    };
    // The closed port never answered; the web server always did (its own probe).
    assert_eq!(uptime("redis")["1h"], 0.0, "{body}");
    assert_eq!(uptime("api")["30d"], 100.0, "{body}");
    let body = wait_for(app, "/health/detailed", "uptime in detailed", |b| {
        b["checks"][0]["uptime"]["24h"].is_number()
    })
    .await;
    assert!(body["checks"][0]["uptime"]["7d"].is_number(), "{body}");
    h.app.shutdown().await;
}

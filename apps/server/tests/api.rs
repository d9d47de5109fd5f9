//! The HTTP handlers through the real router (`Router` + `oneshot`): health, auth,
//! check results, errors. The app runs on a real SQLite file in a temp dir.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::call;
use mon_config::{Config, Environment, load_text};
use mon_server::App;
use serde_json::Value;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const CONFIG: &str = "
server:
  listen: 127.0.0.1:0
  auth:
    tokens:
      - { name: ops, token: admin-token-123, role: admin }
      - { name: grafana, token: read-token-456, role: read }
storage:
  path: {dir}/mon.db
checks:
  - name: host
    type: system
    interval: 1s
    critical: false
metrics:
  interval: 1s
";

async fn app(dir: &tempfile::TempDir) -> App {
    let text = CONFIG.replace("{dir}", &dir.path().display().to_string());
    let config: Config =
        load_text(&text, "test.yaml", &Environment::default()).expect("valid config");
    App::start(config).await.expect("app starts")
}

/// Polls until `/health/ready` answers 200.
async fn wait_ready(app: &App) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while call(app, "GET", "/health/ready", None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "not ready in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_answer_in_the_documented_shapes() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    wait_ready(&app).await;
    let (status, body) = call(&app, "GET", "/health", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_components"], 2, "{body}"); // host + mon
    assert!(body["health_percentage"].as_f64().is_some());
    let (status, body) = call(&app, "GET", "/health/live", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("alive"))
    );
    // /health/detailed is not public: it needs a read token when tokens are configured.
    let (status, body) = call(&app, "GET", "/health/detailed", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, body) = call(&app, "GET", "/health/detailed", Some("read-token-456")).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["host", "mon"]);
    // Channels and exporters report in /health/detailed beside the checks.
    assert_eq!(body["channels"][0]["name"], "log", "{body}");
    assert!(
        body["channels"][0].get("consecutive_failures").is_some(),
        "{body}"
    );
    assert!(
        body["exporters"].is_array() || body["exporters"].is_object(),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_by_role_and_json_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    for (method, uri, token, want) in [
        ("GET", "/api/v1/status", None, StatusCode::UNAUTHORIZED),
        (
            "GET",
            "/api/v1/status",
            Some("wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "GET",
            "/api/v1/status",
            Some("read-token-456"),
            StatusCode::OK,
        ),
        (
            "GET",
            "/api/v1/status",
            Some("admin-token-123"),
            StatusCode::OK,
        ),
        ("GET", "/metrics", None, StatusCode::OK),
        (
            "POST",
            "/api/v1/status",
            Some("read-token-456"),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/v1/nothing",
            Some("read-token-456"),
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/v1/checks/nope",
            Some("read-token-456"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = call(&app, method, uri, token).await;
        assert_eq!(status, want, "{method} {uri} with {token:?}: {body}");
        if status != StatusCode::OK {
            assert!(
                body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                "{body}"
            );
            let text = body.to_string();
            assert!(
                !text.contains("admin-token-123") && !text.contains("read-token-456"),
                "{text}"
            );
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_results_with_since_and_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    let token = Some("read-token-456");
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (status, body) = call(&app, "GET", "/api/v1/checks/host/results?limit=2", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["count"] == 2 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "two results never arrived: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let first = body["results"][0]["observed_at"]
        .as_str()
        .expect("time")
        .to_string();
    let second = body["results"][1]["observed_at"]
        .as_str()
        .expect("time")
        .to_string();
    assert!(first > second, "newest first: {first} then {second}");
    let (_, body) = call(
        &app,
        "GET",
        "/api/v1/checks/host/results?since=2999-01-01T00:00:00Z",
        token,
    )
    .await;
    assert_eq!(body["count"], 0, "{body}");
    let (_, body) = call(&app, "GET", "/api/v1/checks/host/results?since=1h", token).await;
    assert!(body["count"].as_u64().expect("count") >= 2, "{body}");
    for bad in [
        "limit=0",
        "limit=abc",
        "limit=10001",
        "since=yesterday",
        "colour=blue",
    ] {
        let (status, body) = call(
            &app,
            "GET",
            &format!("/api/v1/checks/host/results?{bad}"),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{bad}: {body}");
    }
    let (status, body) = call(&app, "GET", "/api/v1/checks/host/results?limit=abc", token).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("limit=\"abc\""),
        "{status} {body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_refused_without_configured_tokens() {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "storage:\n  path: {}/mon.db\nchecks: []\n",
        dir.path().display()
    );
    let config = load_text(&text, "test.yaml", &Environment::default()).expect("valid");
    let app = App::start(config).await.expect("starts");
    let (status, _) = call(&app, "GET", "/api/v1/status", None).await;
    assert_eq!(status, StatusCode::OK, "reads are open without tokens");
    let (status, body) = call(&app, "POST", "/api/v1/checks", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("server.auth.tokens"),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_errors_are_json_too() {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "server:\n  limits:\n    max_body_bytes: 16\nstorage:\n  path: {}/mon.db\nchecks: []\n",
        dir.path().display()
    );
    let config = load_text(&text, "test.yaml", &Environment::default()).expect("valid");
    let app = App::start(config).await.expect("starts");
    // A state-changing method is refused when no admin token is configured.
    let (status, body) = call(&app, "DELETE", "/health/live", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}"); // state-changing method, no tokens configured
    let response = app
        .router()
        .oneshot(
            Request::builder()
                .method("GET")
                .uri("/health")
                .header("content-length", "32")
                .body(Body::from(vec![b'x'; 32]))
                .expect("req"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("a JSON error: {e}: {:?}", String::from_utf8_lossy(&bytes)));
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    app.shutdown().await;
}

//! `GET /api/v1/anomaly/{variable}` through the real router: the baseline the engine
//! learns from the host collector's `cpu_percent`, its band over a range, and the
//! refusals (a variable without a baseline, a bad `k=` or `step=`, no token).

mod common;

use axum::http::StatusCode;
use common::{call, wait_for};
use mon_config::{Config, Environment, load_text};
use mon_server::App;

const CONFIG: &str = "
server:
  listen: 127.0.0.1:0
  self_check: false
  auth:
    tokens:
      - { name: grafana, token: read-token-456, role: read }
storage:
  path: {dir}/mon.db
metrics:
  interval: 200ms
";
const READ: &str = "read-token-456";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_band_of_a_catalog_variable_and_the_refusals() {
    let dir = tempfile::tempdir().expect("dir");
    let text = CONFIG.replace("{dir}", &dir.path().display().to_string());
    let config: Config =
        load_text(&text, "test.yaml", &Environment::default()).expect("valid config");
    let app = App::start(config).await.expect("app starts");

    // The first host sample is the baseline's first sample.
    let uri = "/api/v1/anomaly/cpu_percent?from=2h&step=10m&k=3";
    wait_for("a first baseline sample of cpu_percent", async || {
        let (status, body) = call(&app, "GET", uri, Some(READ)).await;
        status == StatusCode::OK && body["samples"].as_u64() >= Some(1)
    })
    .await;
    let (_, body) = call(&app, "GET", uri, Some(READ)).await;
    assert_eq!(body["variable"], "cpu_percent");
    assert_eq!(body["k"], 3.0);
    assert_eq!(body["warm"], false, "one sample a minute: still warming up");
    assert_eq!(body["seasonal"], false);
    assert!(body["score"].is_null(), "no score while warming up: {body}");
    let band = body["band"].as_array().expect("band");
    // Two hours at 10 minutes: 13 points, each expected ± 3 deviations.
    assert_eq!(band.len(), 13, "{body}");
    for point in band {
        let (lower, expected, upper) = (
            point["lower"].as_f64().unwrap_or(f64::NAN),
            point["expected"].as_f64().unwrap_or(f64::NAN),
            point["upper"].as_f64().unwrap_or(f64::NAN),
        );
        assert!(lower < expected && expected < upper, "{point}");
        assert!(
            ((upper - expected) - (expected - lower)).abs() < 1e-9,
            "{point}"
        );
    }

    for (uri, want, code) in [
        ("/api/v1/anomaly/nope", StatusCode::NOT_FOUND, "not_found"),
        (
            "/api/v1/anomaly/cpu_percent?k=0",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/anomaly/cpu_percent?k=abc",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/anomaly/cpu_percent?step=fast",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/anomaly/cpu_percent?from=1h&to=2h",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/anomaly/cpu_percent?window=1h",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ] {
        let (status, body) = call(&app, "GET", uri, Some(READ)).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri}: {body}");
    }
    let (status, _) = call(&app, "GET", "/api/v1/anomaly/cpu_percent", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

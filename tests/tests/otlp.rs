//! End-to-end: OpenTelemetry in. A voice agent instrumented with the real OpenTelemetry
//! Python SDK (PyPI `opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http`:
//! protobuf, gzip) exports metrics, a log record and spans to the real `mon-server`
//! (`tests/python/otlp_agent.py`); what arrives is read back through mon's API and
//! `/metrics`. Then OTLP JSON, the partial success of invalid points, and the refusals
//! (no token, a foreign content type, a body that is not OTLP).

use mon_tests::{TestServer, eventually};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const INGEST: &str = "otlp-ingest-token";
const READ: &str = "otlp-read-token";

const CONFIG: &str = "
server:
  auth:
    tokens:
      - { name: agent, token: otlp-ingest-token, role: ingest }
      - { name: reader, token: otlp-read-token, role: read }
storage:
  path: '{dir}/mon.db'
metrics:
  otlp:
    prices:
      gpt-4o: { input_per_million: 2.5, output_per_million: 10.0 }
";

fn get(server: &TestServer, path: &str) -> String {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(READ)
        .send()
        .and_then(|r| r.text())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The value of the `/metrics` sample of `family` whose labels contain every one of
/// `labels` (`k="v"` each).
fn sample(server: &TestServer, family: &str, labels: &[&str]) -> Option<f64> {
    get(server, "/metrics").lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let name = series.split('{').next()?;
        (name == family && labels.iter().all(|l| series.contains(l))).then(|| value.parse().ok())?
    })
}

#[test]
fn the_opentelemetry_python_sdk_reaches_mon_through_otlp() {
    let server = TestServer::start(CONFIG);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/otlp_agent.py");
    let out = Command::new("python3")
        .arg(&script)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url())
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("Authorization=Bearer%20{INGEST}"),
        )
        .output()
        .expect(
            "python3 runs (pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http)",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the agent failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "metrics 1 True",
        "metrics 2 True",
        "traces True",
        "logs True",
    ] {
        assert!(stdout.contains(line), "{line} missing from: {stdout}");
    }

    // Metrics: a counter's increases (2, then 3 more), an up-down counter as a gauge,
    // and a histogram's count, sum and the median of its second interval.
    let service = "service=\"voice-agent\"";
    let version = "service_version=\"1.4.2\"";
    let provider = "provider=\"deepgram\"";
    assert_eq!(
        sample(&server, "agent_turns_total", &[service, version, provider]),
        Some(5.0)
    );
    assert_eq!(
        sample(&server, "agent_calls_active", &[service, version]),
        Some(1.0)
    );
    assert_eq!(
        sample(&server, "stt_latency_count_total", &[service, provider]),
        Some(13.0)
    );
    assert_eq!(
        sample(&server, "stt_latency_sum_total", &[service, provider]),
        Some(80.0 + 120.0 + 900.0 + 10.0 * 300.0)
    );
    // The SDK's default bounds put 300 ms in (250, 500]: 10 observations, the 5th of
    // them at 250 + 250 × 5/10.
    assert_eq!(
        sample(&server, "stt_latency_p50", &[service, provider]),
        Some(375.0)
    );

    // Spans: the server span as a request, the GenAI span as priced AI usage.
    assert_eq!(
        sample(
            &server,
            "mon_app_requests_total",
            &["endpoint=\"/rooms\"", "method=\"POST\"", "status=\"201\""]
        ),
        Some(1.0)
    );
    let cost = sample(
        &server,
        "mon_app_ai_cost_usd_total",
        &["provider=\"openai\"", "model=\"gpt-4o\""],
    )
    .expect("the AI cost family");
    assert!(
        (cost - 0.0045).abs() < 1e-9,
        "1000 in × $2.50/M + 200 out × $10/M, not {cost}"
    );
    assert_eq!(
        sample(&server, "mon_app_ai_units_total", &["provider=\"openai\""]),
        Some(1200.0)
    );

    // The new service version is a deployment marker.
    let deployments: Value = serde_json::from_str(&get(&server, "/api/v1/deployments")).unwrap();
    assert!(
        deployments["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["service"] == "voice-agent" && d["version"] == "1.4.2"),
        "{deployments}"
    );

    // The log record: stored for search, masked, with its trace and call ids.
    let logs: Value = eventually("the log record in search", Duration::from_secs(10), || {
        let logs: Value = serde_json::from_str(&get(&server, "/api/v1/logs?q=refund")).ok()?;
        (!logs["logs"].as_array()?.is_empty()).then_some(logs)
    });
    let record = &logs["logs"][0];
    let text = record.to_string();
    assert!(
        !text.contains("555 0100"),
        "the caller's number is stored: {text}"
    );
    assert_eq!(record["level"], "warn", "{record}");
    assert_eq!(record["call_id"], "otel-call-1", "{record}");
    let fields = &record["fields"];
    assert_eq!(fields["intent"], "refund", "{record}");
    assert_eq!(fields["service.name"], "voice-agent", "{record}");
    let trace_id = fields["trace_id"].as_str().unwrap_or_default();
    assert!(
        trace_id.len() == 32 && trace_id.chars().all(|c| c.is_ascii_hexdigit()),
        "{record}"
    );
}

#[test]
fn otlp_json_is_read_and_invalid_points_are_a_partial_success() {
    let server = TestServer::start(CONFIG);
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, content_type: &str, token: Option<&str>, body: String| {
        let mut request = client
            .post(format!("{}{path}", server.url()))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().expect("a request")
    };
    let too_long = "x".repeat(300);
    // OTLP JSON as the specification writes it: camelCase, integers as strings.
    let body = json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-agent"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "queue.depth", "gauge": {"dataPoints": [
                {"asInt": "7", "timeUnixNano": "1767225600000000000",
                 "attributes": [{"key": "queue", "value": {"stringValue": "stt"}}]},
                {"asInt": "9", "timeUnixNano": "1767225600000000000",
                 "attributes": [{"key": "queue", "value": {"stringValue": too_long}}]}
            ]}}
        ]}]
    }]});
    let answer = post(
        "/v1/metrics",
        "application/json",
        Some(INGEST),
        body.to_string(),
    );
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"],
        "application/json",
        "the answer in the request's encoding"
    );
    let answer: Value = answer.json().unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], 1,
        "{answer}"
    );
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("labels.queue"),
        "{answer}"
    );
    assert_eq!(
        sample(
            &server,
            "queue_depth",
            &["queue=\"stt\"", "service=\"json-agent\""]
        ),
        Some(7.0),
        "the valid point is kept"
    );

    for (token, content_type, body, status) in [
        (None, "application/json", "{}".to_owned(), 401),
        (Some(READ), "application/json", "{}".to_owned(), 403),
        (Some(INGEST), "text/plain", "{}".to_owned(), 415),
        (
            Some(INGEST),
            "application/json",
            "{\"resourceMetrics\": 3}".to_owned(),
            400,
        ),
        (
            Some(INGEST),
            "application/x-protobuf",
            "\u{1}not protobuf".to_owned(),
            400,
        ),
    ] {
        let answer = post("/v1/metrics", content_type, token, body);
        assert_eq!(answer.status(), status, "{token:?} {content_type}");
        let error: Value = answer.json().unwrap();
        assert!(error["error"]["message"].is_string(), "{error}");
    }
}

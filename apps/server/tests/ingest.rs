//! `POST /api/v1/events` through the real router on a real SQLite file: accepted batches
//! (JSON array, NDJSON, gzip) reach the snapshot, `/metrics` and the store; bad batches
//! are refused whole with the exact status and message; a saturated writer answers 429.

mod common;
use axum::body::Body;
use axum::http::StatusCode;
use common::{INGEST, READ, config, start, wait_for};
use mon_server::App;
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// The `server` lines: bodies up to 64 KiB.
const SERVER: &str = "  self_check: false\n  limits: { max_body_bytes: 65536 }\n";

/// The body; its first line continues `storage:` with the writer's queue.
const BODY: &str = "  queue_capacity: {queue}
metrics:
  host: false
  resolution: 1s
  slow_request_threshold: 500ms
";

async fn app(dir: &tempfile::TempDir, queue: usize) -> App {
    let queue = queue.to_string();
    start(&config(SERVER, BODY), dir, &[("{queue}", &queue)]).await
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    json: Value,
    text: String,
}

async fn send(
    app: &App,
    method: &str,
    uri: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut request = common::request(method, uri, Some(token));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let answer = common::send(app, request.body(Body::from(body)).expect("request")).await;
    Answer {
        status: answer.status,
        retry_after: answer
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned()),
        json: answer.json(),
        text: answer.text,
    }
}

async fn post(app: &App, body: &str) -> Answer {
    send(
        app,
        "POST",
        "/api/v1/events",
        INGEST,
        &[("content-type", "application/json")],
        body.as_bytes().to_vec(),
    )
    .await
}

async fn get(app: &App, uri: &str) -> Answer {
    send(app, "GET", uri, READ, &[], Vec::new()).await
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).expect("gzip");
    enc.finish().expect("gzip")
}

fn count_events(dir: &tempfile::TempDir) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join("mon.db")).expect("open db");
    conn.query_row("SELECT COUNT(*) FROM app_events", [], |r| r.get(0))
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_reach_the_snapshot_metrics_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, 256).await;

    let batch = json!([
        {"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":80.0},
        {"type":"request","endpoint":"/api/rooms","method":"POST","status":503,"latency_ms":900.0},
        {"type":"call_started","call_id":"c1"},
        {"type":"call_started","call_id":"c2"},
        {"type":"call_ended","call_id":"c1","duration_seconds":42.0,"success":true},
        {"type":"voice_quality","conversation_id":"c2","latency_ms":150.0,"packet_loss":0.01,"jitter_ms":5.0,"mos":4.2},
        {"type":"ai_usage","provider":"openai","service":"llm","model":"gpt-4o","units":900.0,"cost_usd":0.01,"latency_ms":700.0},
        {"type":"gauge","name":"queue_depth","value":3.0,"labels":{"queue":"stt"}},
        {"type":"counter","name":"retries_total","value":2.0},
        {"type":"error","kind":"STT_TIMEOUT","message":"speech recognition timed out","context":{"call_id":"c2"}}
    ]);
    let a = post(&app, &batch.to_string()).await;
    assert_eq!(
        (a.status, &a.json),
        (
            StatusCode::OK,
            &json!({"accepted": 10, "dropped": 0, "dropped_reasons": {}})
        ),
        "{}",
        a.text
    );

    // NDJSON, and gzip.
    let ndjson = "{\"type\":\"request\",\"endpoint\":\"/health\",\"method\":\"GET\",\"status\":200,\"latency_ms\":3.0}\n\n\
                  {\"type\":\"counter\",\"name\":\"retries\"}\n";
    assert_eq!(
        post(&app, ndjson).await.json,
        json!({"accepted": 2, "dropped": 0, "dropped_reasons": {}})
    );
    let gz = send(
        &app,
        "POST",
        "/api/v1/events",
        INGEST,
        &[
            ("content-encoding", "gzip"),
            ("content-type", "application/x-ndjson"),
        ],
        gzip(ndjson),
    )
    .await;
    assert_eq!(
        (gz.status, gz.json),
        (
            StatusCode::OK,
            json!({"accepted": 2, "dropped": 0, "dropped_reasons": {}})
        )
    );
    // Errors go to error tracking, not app_events: 9 + 2 + 2 rows.
    assert_eq!(count_events(&dir), 13);

    // The rule snapshot is published within a second; the report has per-endpoint maps.
    let mut snap = Value::Null;
    wait_for("ingest variables in the snapshot", async || {
        snap = get(&app, "/api/v1/snapshot").await.json;
        // A publish can fall between the batches: wait for one that saw all four requests.
        snap["values"]["active_calls"] == json!(1.0)
            && snap["values"]["request_rate_per_min"] == json!(4.0 / 5.0)
    })
    .await;
    let v = &snap["values"];
    assert_eq!(v["request_rate_per_min"], json!(4.0 / 5.0));
    assert_eq!(v["error_rate_percent"], json!(25.0));
    assert_eq!(v["call_success_rate"], json!(1.0));
    assert_eq!(v["total_calls"], json!(2.0));
    assert_eq!(v["avg_mos"], json!(4.2));
    assert_eq!(v["slow_requests"], json!(1.0));
    assert_eq!(snap["endpoints"]["/api/rooms"]["1m"]["count"], json!(2));
    assert_eq!(snap["endpoints"]["/api/rooms"]["1m"]["failures"], json!(1));
    assert_eq!(snap["slow_requests"][0]["latency_ms"], json!(900.0));
    assert_eq!(snap["errors_by_kind"]["STT_TIMEOUT"], json!(1));

    // /metrics: mon's own ingest counters and the application families.
    let m = get(&app, "/metrics").await;
    for line in [
        "mon_ingest_events_total{type=\"request\"} 4",
        "mon_app_requests_total{endpoint=\"/api/rooms\",method=\"POST\",status=\"503\"} 1",
        "mon_app_calls_active 1",
        "queue_depth{queue=\"stt\"} 3.0",
        "retries_total 4.0",
    ] {
        assert!(m.text.contains(line), "{line} not in\n{}", m.text);
    }

    // Time series: the sampler stores the recorder's variables every resolution (1s). A
    // sample can fall between the two requests of the batch: wait for one after both.
    const QUERY: &str = "/api/v1/metrics/query?name=endpoint_requests_per_min&labels=endpoint=/api/rooms&from=1h&step=1m";
    wait_for("a sampled point that saw both requests", async || {
        get(&app, QUERY).await.json["series"][0]["points"][0]["max"]
            .as_f64()
            .is_some_and(|m| m >= 2.0)
    })
    .await;
    let q = get(&app, QUERY).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let series = q.json["series"].as_array().expect("series");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["resolution"], "raw");
    let bad = get(&app, "/api/v1/metrics/query?labels=a=b").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batches_are_refused_whole_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, 256).await;
    let ok = r#"{"type":"call_started","call_id":"c1"}"#;
    let cases: &[(&str, StatusCode, &str, &str)] = &[
        (
            "[{\"type\":",
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body is not a JSON array of events: EOF while parsing",
        ),
        (
            "{\"type\":\"call_started\"\nnot json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "line 1 (event 0) is not a JSON object",
        ),
        (
            &format!(
                "[{ok},{{\"type\":\"request\",\"endpoint\":\"/\",\"method\":\"GET\",\"status\":\"200\",\"latency_ms\":1.0}}]"
            ),
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 1, field \"status\": invalid type: string \"200\", expected u16",
        ),
        (
            &format!("[{ok},{ok},{{\"type\":\"teleport\"}}]"),
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 2, field \"type\": unknown variant `teleport`",
        ),
        (
            "[{\"type\":\"call_ended\",\"call_id\":\"c\",\"success\":true}]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"duration_seconds\": missing field `duration_seconds`",
        ),
        (
            "[{\"type\":\"heartbeat\",\"name\":\"x\",\"extra\":1}]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"extra\": unknown field `extra`",
        ),
        (
            "[{\"type\":\"voice_quality\",\"conversation_id\":\"c\",\"latency_ms\":1,\"packet_loss\":0,\"jitter_ms\":1,\"mos\":7}]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"mos\": 7 is out of range [1, 5]",
        ),
        (
            "[{\"type\":\"gauge\",\"name\":\"mon_fake\",\"value\":1}]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"name\": metric \"mon_fake\": names starting with mon_ are reserved",
        ),
        (
            "[{\"type\":\"heartbeat\",\"name\":\"nightly\"}]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"name\": no heartbeat check named \"nightly\" is configured",
        ),
        (
            "[42]",
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "event 0, field \"type\": an event must be a JSON object",
        ),
        (
            "[]",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body holds no events",
        ),
    ];
    for (body, status, code, message) in cases {
        let a = post(&app, body).await;
        assert_eq!(a.status, *status, "{body}: {}", a.text);
        assert_eq!(a.json["error"]["code"], *code, "{body}: {}", a.text);
        let got = a.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            got.starts_with(message),
            "{body}:\n got {got}\nwant {message}"
        );
    }
    // Nothing of any refused batch was kept or recorded.
    assert_eq!(count_events(&dir), 0);
    assert_eq!(
        get(&app, "/api/v1/snapshot").await.json["calls"]["total_calls"],
        json!(0)
    );

    // Over the size limit (64 KiB): 413, plain and once decompressed.
    let big = format!("[{}]", vec![ok; 3000].join(","));
    let a = post(&app, &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.json["error"]["code"], "payload_too_large");
    let a = send(
        &app,
        "POST",
        "/api/v1/events",
        INGEST,
        &[("content-encoding", "gzip")],
        gzip(&big),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert!(
        a.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the decompressed body is over 65536 bytes")
    );
    let a = send(
        &app,
        "POST",
        "/api/v1/events",
        INGEST,
        &[("content-encoding", "gzip")],
        b"not gzip".to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the body is not valid gzip")
    );
    let a = send(
        &app,
        "POST",
        "/api/v1/events",
        INGEST,
        &[("content-encoding", "br")],
        b"[]".to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A read token may not ingest.
    let a = send(
        &app,
        "POST",
        "/api/v1/events",
        READ,
        &[],
        ok.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_writer_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = std::sync::Arc::new(app(&dir, 1).await);
    // Hold SQLite's write lock from another connection: the writer blocks on its next
    // batch, the one-batch queue fills, and the next batch cannot be queued.
    let lock = rusqlite::Connection::open(dir.path().join("mon.db")).expect("open");
    lock.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let body = r#"[{"type":"call_started","call_id":"c1"}]"#;
    let mut posts = Vec::new();
    for _ in 0..3 {
        let app = app.clone();
        posts.push(tokio::spawn(async move { post(&app, body).await }));
    }
    let answered = mon_tests::eventually_async(
        "a post answered while the writer was held",
        Duration::from_secs(30),
        async || posts.iter().position(|p| p.is_finished()),
    )
    .await;
    let busy = posts.remove(answered).await.expect("post task");
    assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS, "{}", busy.text);
    assert_eq!(busy.retry_after.as_deref(), Some("1"));
    assert_eq!(busy.json["error"]["code"], "busy");
    assert_eq!(
        busy.json["error"]["message"],
        "the store writer is saturated (1 batches queued); retry after 1 second"
    );
    lock.execute_batch("ROLLBACK").expect("release the lock");
    for p in posts {
        p.await.expect("post task");
    }
    // Once the writer has room again, ingest succeeds (mon's own writers — the sampler, log
    // search — share the one-batch queue, so an attempt may still meet it full).
    wait_for("an accepted batch after the lock is released", async || {
        post(&app, body).await.status == StatusCode::OK
    })
    .await;
    let m = get(&app, "/metrics").await.text;
    // One or two of the three posts found the queue full, depending on when the writer
    // took the first batch off it.
    assert!(
        m.contains("mon_ingest_rejected_batches_total{reason=\"busy\"} "),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_exporter_writes_the_report_and_status_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = config(SERVER, BODY)
        + "  exporters:\n    json: { path: {dir}/export/metrics.json, interval: 100ms }\n";
    let app = start(&text, &dir, &[("{queue}", "256")]).await;
    assert_eq!(
        post(&app, r#"{"type":"call_started","call_id":"x"}"#)
            .await
            .status,
        StatusCode::OK
    );
    let path = dir.path().join("export/metrics.json");
    wait_for("the exported report to show the call", async || {
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| v["calls"]["active_calls"] == json!(1))
    })
    .await;
    let status = get(&app, "/api/v1/status").await.json;
    let json_file = &status["exporters"]["json_file"];
    assert!(
        json_file["successes"].as_u64().is_some_and(|n| n >= 1),
        "{status}"
    );
    assert_eq!(json_file["failures"], json!(0));
    app.shutdown().await;
}
